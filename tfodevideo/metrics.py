"""Frame-quality metrics, with one convention comparable with the literature.

Every metric scores frames `(batch, T, H, W, C)` scaled to `[0, 1]` and clipped
to `[0, 1]` before scoring, and gives one value per frame `(batch, T)`:

- `mse_frame`: squared error summed over the H*W*C pixels of a frame (the
  OpenSTL / PhyDNet "MSE").
- `mae_frame`: absolute error summed over the pixels of a frame.
- `psnr`: `10 log10(1 / mean pixel MSE)` per frame (OpenSTL); a perfect frame
  is capped at 100 dB instead of infinity so that means stay finite.
- `ssim`: `tf.image.ssim(max_val=1.0)` (11x11 Gaussian window, sigma 1.5),
  computed by the faster `ssim_images`; tests hold it to `tf.image.ssim`.
- `ssim_paper`: scikit-image's `structural_similarity` with its default 7x7
  uniform window, sample covariance and `data_range=2.0`, per 2-D frame (what
  OpenSTL with scikit-image <= 0.19 and PhyDNet computed on float frames).
  Computed here in TensorFlow; tests hold it to scikit-image.

Averages are over frames: `FrameMetric` does it for `compile()`,
`FrameScores` keeps per-frame-index curves for long horizons. `centroids`
locates a single object in a frame (the ball's centre error, the motion a
swap keeps) and `widths` measures its size (a ball that grows).
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._frames import merge_time

# A frame predicted exactly has infinite PSNR; 100 dB stands in for it.
_MIN_PIXEL_MSE = 1e-10


def _prepare(y_true, y_pred):
    y_true = tf.clip_by_value(tf.cast(y_true, tf.float32), 0.0, 1.0)
    y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), 0.0, 1.0)
    return y_true, y_pred


def mse_frame(y_true, y_pred):
    """Squared error summed over each frame's pixels, `(batch, T)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return tf.reduce_sum(tf.square(y_true - y_pred), axis=[-3, -2, -1])


def mae_frame(y_true, y_pred):
    """Absolute error summed over each frame's pixels, `(batch, T)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return tf.reduce_sum(tf.abs(y_true - y_pred), axis=[-3, -2, -1])


def psnr(y_true, y_pred):
    """Peak signal-to-noise ratio per frame in dB (peak 1), `(batch, T)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    pixel_mse = tf.reduce_mean(tf.square(y_true - y_pred), axis=[-3, -2, -1])
    return 10.0 * tf.math.log(1.0 / tf.maximum(pixel_mse, _MIN_PIXEL_MSE)) / tf.math.log(10.0)


def window_mean(images, weights):
    """Valid 2-D filtering of `(N, H, W, C)` by the outer product of the 1-D
    `weights` with themselves, each channel on its own.

    Written as weighted sums of shifted slices, one axis after the other:
    on CPU this is 20-100x faster than `tf.nn.avg_pool2d` or the depthwise
    convolution inside `tf.image.ssim` (measured: 0.14 s against 2.7 s and
    13 s for 2,000 frames of 64x64), which made scoring the bottleneck of
    evaluation and of every training step's SSIM metric.
    """
    size = len(weights)
    height = tf.shape(images)[1] - size + 1
    width = tf.shape(images)[2] - size + 1
    rows = tf.add_n([w * images[:, k : k + height] for k, w in enumerate(weights)])
    return tf.add_n([w * rows[:, :, k : k + width] for k, w in enumerate(weights)])


def _gaussian_weights(size=11, sigma=1.5):
    """The 1-D factor of `tf.image.ssim`'s window (its 2-D kernel is a
    softmax over `-(x^2 + y^2) / (2 sigma^2)`, the outer product of these)."""
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    weights = np.exp(-0.5 * coords**2 / sigma**2)
    return [float(w) for w in weights / weights.sum()]


_GAUSSIAN = _gaussian_weights()


def ssim_images(x, y, max_val=1.0):
    """`tf.image.ssim(x, y, max_val)` for `(N, H, W, C)` images with sides of
    at least 11, computed with `window_mean`; returns `(N,)`."""
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    mean_x, mean_y = window_mean(x, _GAUSSIAN), window_mean(y, _GAUSSIAN)
    num0 = 2.0 * mean_x * mean_y
    den0 = tf.square(mean_x) + tf.square(mean_y)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = 2.0 * window_mean(x * y, _GAUSSIAN)
    den1 = window_mean(tf.square(x) + tf.square(y), _GAUSSIAN)
    contrast_structure = (num1 - num0 + c2) / (den1 - den0 + c2)
    return tf.reduce_mean(luminance * contrast_structure, axis=[1, 2, 3])


def ssim(y_true, y_pred):
    """SSIM as `tf.image.ssim(max_val=1.0)` computes it, per frame, `(batch, T)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    values = ssim_images(merge_time(y_true), merge_time(y_pred))
    return tf.reshape(values, tf.shape(y_true)[:2])


def ssim_paper(y_true, y_pred):
    """SSIM as scikit-image computes it by default with `data_range=2.0`.

    7x7 uniform windows, sample (N - 1) covariance, K1 = 0.01, K2 = 0.03,
    averaged over the windows that lie inside the frame and over channels.
    Returns `(batch, T)`.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    size, data_range = 7, 2.0
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    x, y = merge_time(y_true), merge_time(y_pred)
    uniform = [1.0 / size] * size

    def mean(z):
        return window_mean(z, uniform)

    ux, uy = mean(x), mean(y)
    covariance = size * size / (size * size - 1.0)
    vx = covariance * (mean(x * x) - ux * ux)
    vy = covariance * (mean(y * y) - uy * uy)
    vxy = covariance * (mean(x * y) - ux * uy)
    index = ((2 * ux * uy + c1) * (2 * vxy + c2)) / (
        (ux * ux + uy * uy + c1) * (vx + vy + c2)
    )
    # Each channel is scored as its own 2-D plane, then channels averaged.
    per_frame = tf.reduce_mean(index, axis=[1, 2, 3])
    return tf.reshape(per_frame, tf.shape(y_true)[:2])


FRAME_METRICS = {
    "mse_frame": mse_frame,
    "mae_frame": mae_frame,
    "psnr": psnr,
    "ssim": ssim,
    "ssim_paper": ssim_paper,
}


@keras.saving.register_keras_serializable(package="tfodevideo")
class FrameMetric(keras.metrics.Mean):
    """The mean of a frame metric over every frame seen, for `compile()`.

    Args:
        metric: a name from `FRAME_METRICS`.
        name: name in the logs; the metric's name by default.
        dtype: dtype of the result.

    Example:

    >>> model.compile(optimizer="adam", loss="mse",  # doctest: +SKIP
    ...               metrics=[FrameMetric("psnr"), FrameMetric("ssim")])
    """

    def __init__(self, metric="psnr", name=None, dtype=None):
        check_choice("metric", metric, FRAME_METRICS)
        super().__init__(name=name or metric, dtype=dtype)
        self.metric = metric

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = FRAME_METRICS[self.metric](y_true, y_pred)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "metric": self.metric}


class FrameScores:
    """Accumulates frame metrics per frame index over many batches.

    Args:
        metrics: names from `FRAME_METRICS`; all of them by default.

    Attributes:
        count: sequences scored so far.

    Example:

    >>> scores = FrameScores(["psnr"])
    >>> scores.update(np.zeros((2, 3, 8, 8, 1)), np.full((2, 3, 8, 8, 1), 0.1))
    >>> scores.summary()["psnr"]
    20.0
    """

    def __init__(self, metrics=None):
        self.metrics = list(metrics or FRAME_METRICS)
        for name in self.metrics:
            check_choice("metrics", name, FRAME_METRICS)
        self._sums = {name: None for name in self.metrics}
        self.count = 0

    def update(self, y_true, y_pred):
        """Adds a batch of frames `(batch, T, H, W, C)`."""
        for name in self.metrics:
            values = FRAME_METRICS[name](y_true, y_pred).numpy().astype(np.float64)
            column_sums = values.sum(axis=0)
            if self._sums[name] is None:
                self._sums[name] = column_sums
            elif len(self._sums[name]) != len(column_sums):
                raise ValueError(
                    "Every batch must have the same number of frames. Received "
                    f"{len(column_sums)} after {len(self._sums[name])}"
                )
            else:
                self._sums[name] += column_sums
        self.count += int(np.shape(y_true)[0])

    def curves(self):
        """Mean of each metric per frame index: a dict of arrays `(T,)`."""
        if not self.count:
            raise ValueError("No frames were scored yet: call `update` first.")
        return {name: total / self.count for name, total in self._sums.items()}

    def summary(self):
        """Mean of each metric over all frames: a dict of floats."""
        return {name: float(curve.mean()) for name, curve in self.curves().items()}


def _object_weights(frames, noise_sigmas):
    """Per-pixel weights `(..., H, W)` of what stands out of each frame's
    background (see `centroids`)."""
    frames = np.asarray(frames, np.float64)[..., 0]
    flat = frames.reshape(*frames.shape[:-2], -1)
    background = np.median(flat, axis=-1, keepdims=True)
    excess = flat - background
    above = np.where(excess > 0, excess, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Frames with nothing above.
        sigma = np.nan_to_num(np.nanmedian(above, axis=-1, keepdims=True) / 0.6745)
    return np.maximum(excess - noise_sigmas * sigma, 0.0).reshape(frames.shape)


def _weighted_moments(weights):
    """Centroid `(..., 2)` as `(x, y)` and the variance along each axis
    `(..., 2)` of weights `(..., H, W)`; NaN where all weights are 0."""
    height, width = weights.shape[-2:]
    columns, rows = np.arange(width), np.arange(height)[:, None]
    total = weights.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (weights * columns).sum(axis=(-2, -1)) / total
        y = (weights * rows).sum(axis=(-2, -1)) / total
        var_x = (weights * (columns - x[..., None, None]) ** 2).sum(axis=(-2, -1)) / total
        var_y = (weights * (rows - y[..., None, None]) ** 2).sum(axis=(-2, -1)) / total
    return np.stack([x, y], axis=-1), np.stack([var_x, var_y], axis=-1)


def centroids(frames, noise_sigmas=3.0):
    """Background-corrected intensity centroid `(x, y)` = (column, row) in
    pixels of frames `(..., H, W, 1)`; NaN where nothing stands out.

    Each frame's background (its median) is subtracted and only what exceeds
    it by `noise_sigmas` noise deviations counts, so a haze or noise over the
    whole frame does not pull the centroid towards the middle. The noise
    deviation is read from the pixels above the background (their median
    excess is 0.6745 sd for Gaussian noise), which stays right when the
    frames were clipped at 0 and half of the noise is gone.
    """
    return _weighted_moments(_object_weights(frames, noise_sigmas))[0]


def widths(frames, noise_sigmas=3.0):
    """Background-corrected RMS width in pixels of the single object in
    frames `(..., H, W, 1)`: the square root of the mean of its intensity's
    variances along rows and columns, which is `sigma` for a Gaussian blob
    `exp(-r^2 / (2 sigma^2))`; NaN where nothing stands out. The weights are
    those of `centroids`. Used to follow a ball whose width changes (the
    appearance ODE's benchmark)."""
    variances = _weighted_moments(_object_weights(frames, noise_sigmas))[1]
    return np.sqrt(variances.mean(axis=-1))
