"""Spatial encoding channels: where each pixel is, stacked onto the image."""

import math

import keras
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_int


@keras.saving.register_keras_serializable(package="tfodevideo")
class SpatialEncoding(layers.Layer):
    """Appends position channels to images (the report's section 5.2.2).

    Adds two linear ramps, `i / H` down the rows and `j / W` across the
    columns, and for `l = 1 .. num_frequencies` the NeRF-style channels
    `sin(2^(l-1) pi u)` and `cos(2^(l-1) pi u)` of both normalised coordinates
    `u`. Without them a convolutional auto-encoder could not learn the Gaussian
    ball from scratch in the report: convolutions cannot tell where they are.

    Args:
        num_frequencies: number of sine/cosine octaves; 0 adds the ramps only.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        images: `(batch, H, W, C)`.

    Returns:
        `(batch, H, W, C + 2 + 4 * num_frequencies)`.

    References:
        Mildenhall et al., "NeRF: Representing scenes as neural radiance
        fields for view synthesis", ECCV 2020.
    """

    def __init__(self, num_frequencies=0, **kwargs):
        super().__init__(**kwargs)
        self.num_frequencies = check_int("num_frequencies", num_frequencies, minimum=0)

    @property
    def num_channels(self):
        """Channels this layer adds."""
        return 2 + 4 * self.num_frequencies

    def call(self, images):
        shape = tf.shape(images)
        height, width = shape[1], shape[2]
        rows = tf.cast(tf.range(height), images.dtype) / tf.cast(height, images.dtype)
        cols = tf.cast(tf.range(width), images.dtype) / tf.cast(width, images.dtype)
        rows = tf.broadcast_to(rows[:, None], [height, width])
        cols = tf.broadcast_to(cols[None, :], [height, width])
        channels = [rows, cols]
        for level in range(self.num_frequencies):
            frequency = (2.0**level) * math.pi
            for grid in (rows, cols):
                channels += [tf.sin(frequency * grid), tf.cos(frequency * grid)]
        encoding = tf.stack(channels, axis=-1)[None]
        encoding = tf.broadcast_to(encoding, [shape[0], height, width, len(channels)])
        return tf.concat([images, encoding], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.num_channels,)

    def get_config(self):
        return {**super().get_config(), "num_frequencies": self.num_frequencies}
