"""Elastic walls for object centres: the free motion folded into a box.

Objects in a closed scene (Moving MNIST digits, a ball in a box) move freely
between collisions with the walls and bounce off them. A smooth learned
field can only approximate a bounce by a stiff force, which an adaptive
solver pays for with many small steps on every clip of a batch (one clip's
bounce shrinks the step of all), and which a field that starts at zero has
to discover from the pixels. A perfectly elastic wall is instead a fold of
space: the reflected path is the free path mirrored at the wall, so the ODE
carries the unobstructed motion and `ReflectingWalls` folds its positions
into the box, exactly and at no cost to the solver. Only the walls are
learned: where they stand along each axis.
"""

import keras
import tensorflow as tf
from keras import layers
from keras import ops

from tfodevideo._checks import check_float
from tfodevideo.precision import default_full_precision

# Narrowest box a training step can leave, in image coordinates; the fold
# divides by the width.
MIN_WIDTH = 1e-3


def fold(positions, low, high):
    """`positions` reflected into `[low, high]`, as often as it takes.

    A triangle wave of period `2 (high - low)`: the identity inside the box,
    mirrored at `high` beyond it, back again at the next wall, and so on.
    """
    width = high - low
    phase = ops.mod(positions - low, 2.0 * width)  # In [0, 2 * width).
    return low + width - ops.abs(phase - width)


@keras.saving.register_keras_serializable(package="tfodevideo")
class ReflectingWalls(layers.Layer):
    """Folds object centres into a learned box: elastic bounces off its walls.

    For slot states (`latent="slots"`): the positions `(..., 2 * slots)` hold
    each slot's `(x, y)` in image coordinates (`[-1, 1]` at the border
    pixels' centres). The same box holds every slot: its walls are where an
    object's centre turns, half an object inside the frame's border. The
    layer learns the box's centre and half-widths along `x` and `y`.

    Args:
        extent: initial half-width of the box along both axes, in image
            coordinates: for objects of size `s` on a canvas of `n` pixels
            whose centres turn half an object from the border,
            `(n - s) / (n - 1)` (Moving MNIST: `(64 - 28) / 63 = 0.571`).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        positions: `(..., 2 * slots)` free positions.

    Returns:
        The folded positions, same shape: inside the box they are unchanged.

    Example:

    >>> walls = ReflectingWalls(extent=0.5)
    >>> walls(keras.ops.convert_to_tensor([[0.2, 0.7, -0.6, 1.4]]))  # doctest: +SKIP
    [[0.2, 0.3, -0.4, -0.4]]
    """

    def __init__(self, extent=0.5, **kwargs):
        # Float32 under a mixed policy: positions are sub-pixel image coordinates.
        super().__init__(**default_full_precision(kwargs))
        self.extent = check_float("extent", extent, minimum=MIN_WIDTH, strict_minimum=True)

    def build(self, positions_shape):
        if positions_shape[-1] is None or positions_shape[-1] % 2:
            raise ValueError(
                "ReflectingWalls folds (x, y) centres: the positions' last axis must be "
                f"even. Received: positions shape {positions_shape}"
            )
        self.centre = self.add_weight(shape=(2,), initializer="zeros", name="centre")
        self.half_width = self.add_weight(
            shape=(2,), initializer=keras.initializers.Constant(self.extent), name="half_width")

    def call(self, positions):
        half = ops.maximum(ops.abs(self.half_width), MIN_WIDTH / 2)
        low, high = self.centre - half, self.centre + half
        shape = tf.shape(positions)
        pairs = tf.reshape(positions, tf.concat([shape[:-1], [-1, 2]], axis=0))
        return tf.reshape(fold(pairs, low, high), shape)

    def compute_output_shape(self, positions_shape):
        return positions_shape

    def get_config(self):
        return {**super().get_config(), "extent": self.extent}
