"""Trivial predictors that every quality number is printed beside.

A model that cannot beat drawing black frames, or repeating the last frame it
was given, has learned nothing useful; on Moving MNIST black frames already
score SSIM 0.72 (see `docs` and `metrics.md`), so these two are scored on the
same frames as every model.
"""

import tensorflow as tf


def black_frames(inputs, num_target):
    """Predicts all-zero frames: `(batch, num_target, H, W, C)`."""
    shape = tf.shape(inputs["frames"])
    return tf.zeros(tf.concat([shape[:1], [num_target], shape[2:]], 0), inputs["frames"].dtype)


def copy_last(inputs, num_target):
    """Repeats the last input frame `num_target` times."""
    return tf.repeat(inputs["frames"][:, -1:], num_target, axis=1)


BASELINES = {"black_frames": black_frames, "copy_last": copy_last}
