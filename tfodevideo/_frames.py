"""Frame tensors shared by models, losses and metrics: checks and reshapes."""

import numpy as np
import tensorflow as tf


def merge_time(frames):
    """Folds time into the batch: `(batch, T, H, W, C) -> (batch * T, H, W, C)`."""
    return tf.reshape(frames, tf.concat([[-1], tf.shape(frames)[-3:]], 0))


def unit_frames(frames, name, dtype):
    """Returns frames as `dtype` in `[0, 1]`, refusing anything else.

    uint8 frames are divided by 255. Non-finite pixels or values outside
    `[0, 1]` raise a `ValueError` naming the argument in eager calls, and fail
    graph assertions with the same text inside compiled functions.
    """
    frames = tf.convert_to_tensor(frames)
    if frames.dtype == tf.uint8:
        frames = tf.cast(frames, tf.float32) / 255.0
    frames = tf.cast(frames, dtype)
    if tf.executing_eagerly():
        values = frames.numpy()
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`{name}` must be finite. Received NaN or infinite pixels.")
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"`{name}` must lie in [0, 1] (uint8 frames are divided by 255 for "
                f"you). Received values in [{low}, {high}]"
            )
        return frames
    checks = [
        tf.debugging.assert_all_finite(frames, f"`{name}` must be finite."),
        tf.debugging.assert_greater_equal(
            tf.reduce_min(frames), tf.cast(0.0, frames.dtype),
            message=f"`{name}` must lie in [0, 1].",
        ),
        tf.debugging.assert_less_equal(
            tf.reduce_max(frames), tf.cast(1.0, frames.dtype),
            message=f"`{name}` must lie in [0, 1].",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(frames)
