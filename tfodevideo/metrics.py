"""Frame-quality metrics, with one convention comparable with the literature.

Every metric scores frames `(batch, T, H, W, C)` scaled to `[0, 1]` and clipped
to `[0, 1]` before scoring, and gives one value per frame `(batch, T)`:

- `mse_frame`: squared error summed over the H*W*C pixels of a frame (the
  OpenSTL / PhyDNet "MSE").
- `mae_frame`: absolute error summed over the pixels of a frame.
- `psnr`: `10 log10(1 / mean pixel MSE)` per frame (OpenSTL); a perfect frame
  is capped at 100 dB instead of infinity so that means stay finite.
- `ssim`: `tf.image.ssim(max_val=1.0)` (11x11 Gaussian window, sigma 1.5).
- `ssim_paper`: scikit-image's `structural_similarity` with its default 7x7
  uniform window, sample covariance and `data_range=2.0`, per 2-D frame (what
  OpenSTL with scikit-image <= 0.19 and PhyDNet computed on float frames).
  Computed here in TensorFlow; tests hold it to scikit-image.

Averages are over frames: `FrameMetric` does it for `compile()`,
`FrameScores` keeps per-frame-index curves for long horizons.
"""

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


def ssim(y_true, y_pred):
    """SSIM by `tf.image.ssim(max_val=1.0)` per frame, `(batch, T)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    values = tf.image.ssim(merge_time(y_true), merge_time(y_pred), max_val=1.0)
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
    # Channels become frames: scikit-image scores each 2-D plane on its own.
    x = tf.transpose(merge_time(y_true), [0, 3, 1, 2])[..., None]
    y = tf.transpose(merge_time(y_pred), [0, 3, 1, 2])[..., None]
    x = tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))
    y = tf.reshape(y, tf.concat([[-1], tf.shape(y)[2:]], 0))

    def mean(z):
        return tf.nn.avg_pool2d(z, size, 1, "VALID")

    ux, uy = mean(x), mean(y)
    covariance = size * size / (size * size - 1.0)
    vx = covariance * (mean(x * x) - ux * ux)
    vy = covariance * (mean(y * y) - uy * uy)
    vxy = covariance * (mean(x * y) - ux * uy)
    index = ((2 * ux * uy + c1) * (2 * vxy + c2)) / (
        (ux * ux + uy * uy + c1) * (vx + vy + c2)
    )
    per_plane = tf.reduce_mean(index, axis=[1, 2, 3])
    channels = tf.shape(y_true)[-1]
    per_frame = tf.reduce_mean(tf.reshape(per_plane, [-1, channels]), axis=1)
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
