"""Losses on predicted frames, and the latent regularisers the models add.

Frame losses are `keras.losses.Loss` subclasses usable in `compile()`; the
latent terms need the model's internals, so the video models add them
themselves (`add_loss`) with the weights given in their config:

- `latent_l2(latents)`: mean square of the predicted latent positions
  (the report uses weight 1e-5).
- `permutation_invariance(appearance, shuffled_appearance)`: the appearance
  vector must not depend on the order of the input frames (report 6.4.1).
"""

import keras
import tensorflow as tf

from tfodevideo._checks import check_float
from tfodevideo._frames import merge_time
from tfodevideo.metrics import ssim_images

# Blur widths (pixels) of `FrameLoss(coarse=...)`: the widest reaches about
# 3 x 8 = 24 pixels, most of a digit's width beyond it.
COARSE_SIGMAS = (2.0, 4.0, 8.0)


@keras.saving.register_keras_serializable(package="tfodevideo")
class FrameLoss(keras.losses.Loss):
    """A weighted mix of MSE, MAE and the structural term `1 - SSIM`.

    The report found MSE alone blurs and MAE alone does not converge; a mix,
    optionally with a structural term, is its suggested fix (section 6.4.2).

    Args:
        mse: weight of the mean squared error.
        mae: weight of the mean absolute error.
        ssim: weight of `1 - tf.image.ssim(max_val=1)` (frames of at least
            11x11 pixels).
        coarse: weight of the squared error of the frames blurred by
            Gaussians of `COARSE_SIGMAS` pixels (the mean over the widths).
            Why: a pixel loss stops pulling a drawn object towards the true
            one once they no longer overlap; blurred they still do, so a
            model that misplaces an object far keeps a gradient that brings
            it back.
        name: loss name.

    Call arguments:
        y_true, y_pred: frames `(batch, T, H, W, C)` in `[0, 1]`.
    """

    def __init__(self, mse=1.0, mae=0.0, ssim=0.0, coarse=0.0, name="frame_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.mse = check_float("mse", mse, minimum=0.0)
        self.mae = check_float("mae", mae, minimum=0.0)
        self.ssim = check_float("ssim", ssim, minimum=0.0)
        self.coarse = check_float("coarse", coarse, minimum=0.0)
        if self.mse + self.mae + self.ssim + self.coarse == 0:
            raise ValueError(
                "At least one of `mse`, `mae`, `ssim` and `coarse` must be positive.")

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, y_pred.dtype)
        error = y_pred - y_true
        # One value per clip: Keras then averages over the batch.
        axes = list(range(1, len(y_pred.shape)))
        loss = self.mse * tf.reduce_mean(tf.square(error), axis=axes)
        if self.mae:
            loss += self.mae * tf.reduce_mean(tf.abs(error), axis=axes)
        if self.ssim:
            similarity = ssim_images(merge_time(y_true), merge_time(y_pred))
            per_clip = tf.reduce_mean(tf.reshape(similarity, [tf.shape(y_pred)[0], -1]), 1)
            loss += self.ssim * (1.0 - per_clip)
        if self.coarse:
            loss += self.coarse * coarse_error(y_true, y_pred)
        return loss

    def get_config(self):
        return {**super().get_config(), "mse": self.mse, "mae": self.mae, "ssim": self.ssim,
                "coarse": self.coarse}


def coarse_error(y_true, y_pred, sigmas=None):
    """Per clip `(batch,)`: the mean over `sigmas` of the mean squared error
    of frames `(batch, T, H, W, C)` blurred by a Gaussian of that standard
    deviation in pixels (zero beyond the border, as a black background)."""
    error = merge_time(y_pred - tf.cast(y_true, y_pred.dtype))
    channels = error.shape[-1]
    levels = []
    for sigma in sigmas or COARSE_SIGMAS:
        radius = int(3 * sigma)
        taps = tf.exp(-tf.square(tf.range(-radius, radius + 1, dtype=error.dtype))
                      / (2.0 * sigma**2))
        taps = tf.tile((taps / tf.reduce_sum(taps))[:, None, None], [1, channels, 1])
        blurred = tf.nn.depthwise_conv2d(error, taps[:, None], [1, 1, 1, 1], "SAME")
        blurred = tf.nn.depthwise_conv2d(blurred, taps[None], [1, 1, 1, 1], "SAME")
        levels.append(tf.reduce_mean(tf.square(blurred), axis=[1, 2, 3]))
    per_frame = tf.add_n(levels) / len(levels)
    return tf.reduce_mean(tf.reshape(per_frame, [tf.shape(y_pred)[0], -1]), axis=1)


# The model-added losses are float32 whatever the layers computed in: Keras
# sums them with the float32 frame loss (see `tfodevideo.precision`).


def latent_l2(latents):
    """Mean square of latent values: keeps the latent space small and smooth."""
    return tf.reduce_mean(tf.square(tf.cast(latents, tf.float32)))


def permutation_invariance(appearance, shuffled_appearance):
    """Mean square difference of two appearance vectors of the same clip."""
    difference = tf.cast(appearance, tf.float32) - tf.cast(shuffled_appearance, tf.float32)
    return tf.reduce_mean(tf.square(difference))
