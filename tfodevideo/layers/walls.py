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

Some scenes are not elastic. The Moving MNIST generator moves a digit one
step per frame and, where a step ends past a wall, puts the digit on the
wall and reverses it: the rest of that step is lost, so the digit waits at
the wall for part of a frame. An elastic fold gains the lost distance at
every bounce; twenty frames later the two paths stand pixels apart.
`rule="clamp"` is that generator's rule in closed form (`stepwise_bounce`),
for a state moving at a constant step per frame.
"""

import keras
import tensorflow as tf
from keras import layers
from keras import ops

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo.precision import default_full_precision

# Narrowest box a training step can leave, in image coordinates; the fold
# divides by the width.
MIN_WIDTH = 1e-3
# How an object leaves a wall: mirrored (elastic) or stopped on it for the
# rest of its step (the Moving MNIST generator's clamp).
RULES = ("elastic", "clamp")
# Steps shorter than this (image coordinates per frame) do not reach a wall
# in any clip length we draw: the object moves freely, clamped to the box.
MIN_STEP = 1e-6


def fold(positions, low, high):
    """`positions` reflected into `[low, high]`, as often as it takes.

    A triangle wave of period `2 (high - low)`: the identity inside the box,
    mirrored at `high` beyond it, back again at the next wall, and so on.
    """
    width = high - low
    phase = ops.mod(positions - low, 2.0 * width)  # In [0, 2 * width).
    return low + width - ops.abs(phase - width)


def stepwise_bounce(start, step, moved, low, high):
    """Where an object is after its free motion `moved` from `start`, moved
    in steps of `step` by the rule "step, and where the step ends beyond a
    wall, stop on the wall and turn".

    The rule in closed form, continuous between steps: the object reaches
    the wall ahead after `k1 = ceil(D / s)` steps (`D` its distance, `s` the
    step's length), and waits there for the rest of the `k1`-th step; from
    then on it crosses the box (width `W`) in `m = ceil(W / s)` steps,
    waiting at each wall in the same way. At whole steps it is exactly where
    the Moving MNIST generator puts a digit.

    Args:
        start: positions at the start, broadcastable to `moved`, inside
            `[low, high]` (positions outside are first clamped onto the box).
        step: signed displacement per step, the shape of `start`.
        moved: free displacement from the start, read as a distance along
            the first step's direction (`step * steps` for uniform motion).
        low, high: the walls, broadcastable to `start`.

    Returns:
        Positions, the shape of `moved`.
    """
    width = high - low
    start = ops.clip(start, low, high)
    ahead = ops.where(step >= 0, ops.ones_like(step), -ops.ones_like(step))
    travelled = moved * ahead
    length = ops.maximum(ops.abs(step), MIN_STEP)
    distance = ops.where(ahead > 0, high - start, start - low)
    # Free distance at the first contact (a whole number of steps, at least one).
    contact = ops.maximum(ops.ceil(distance / length), 1.0) * length
    crossing = ops.maximum(ops.ceil(width / length), 1.0) * length
    before = start + ahead * ops.minimum(travelled, distance)
    since = ops.maximum(travelled - contact, 0.0)
    legs = ops.floor(since / crossing)
    into_leg = ops.minimum(since - legs * crossing, width)
    first_wall = ops.where(ahead > 0, high, low)
    other_wall = ops.where(ahead > 0, low, high)
    # Even legs leave the first wall it hit, odd legs the other one.
    after = ops.where(ops.mod(legs, 2.0) < 0.5,
                      first_wall - ahead * into_leg, other_wall + ahead * into_leg)
    return ops.clip(ops.where(travelled <= contact, before, after), low, high)


@keras.saving.register_keras_serializable(package="tfodevideo")
class ReflectingWalls(layers.Layer):
    """Folds object centres into a learned box: bounces off its walls.

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
        rule: `"elastic"`: the free motion mirrored at the walls (`fold`);
            `"clamp"`: an object moved in steps of `step_time` stops on the
            wall where a step ends beyond it, and turns (`stepwise_bounce`:
            the Moving MNIST generator's rule). `"clamp"` reads the free
            path as a distance travelled from the start, in steps of the
            start's velocity.
        step_time: for `"clamp"`: the time of one step (the data's time
            between frames).
        centre: initial centre of the box along both axes, in image
            coordinates (where the model's positions put the objects' boxes
            off the frame's centre).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        positions: `(..., 2 * slots)` free positions; for `"clamp"`
            `(B, T, 2 * slots)`.
        start: `(B, 2 * slots)` positions at the start, read by `"clamp"`.
        velocity: `(B, 2 * slots)` velocities at the start, read by
            `"clamp"`.

    Returns:
        The folded positions, same shape: inside the box they are unchanged.

    Example:

    >>> walls = ReflectingWalls(extent=0.5)
    >>> walls(keras.ops.convert_to_tensor([[0.2, 0.7, -0.6, 1.4]]))  # doctest: +SKIP
    [[0.2, 0.3, -0.4, -0.4]]
    """

    def __init__(self, extent=0.5, rule="elastic", step_time=None, centre=0.0, **kwargs):
        # Float32 under a mixed policy: positions are sub-pixel image coordinates.
        super().__init__(**default_full_precision(kwargs))
        self.extent = check_float("extent", extent, minimum=MIN_WIDTH, strict_minimum=True)
        self.initial_centre = check_float("centre", centre, minimum=-1.0, maximum=1.0)
        self.rule = check_choice("rule", rule, RULES)
        self.step_time = None
        if rule == "clamp" or step_time is not None:
            self.step_time = check_float("step_time", step_time, minimum=0.0,
                                         strict_minimum=True)

    def build(self, positions_shape):
        if positions_shape[-1] is None or positions_shape[-1] % 2:
            raise ValueError(
                "ReflectingWalls folds (x, y) centres: the positions' last axis must be "
                f"even. Received: positions shape {positions_shape}"
            )
        self.centre = self.add_weight(
            shape=(2,), initializer=keras.initializers.Constant(self.initial_centre),
            name="centre")
        self.half_width = self.add_weight(
            shape=(2,), initializer=keras.initializers.Constant(self.extent), name="half_width")

    def call(self, positions, start=None, velocity=None):
        half = ops.maximum(ops.abs(self.half_width), MIN_WIDTH / 2)
        low, high = self.centre - half, self.centre + half
        shape = tf.shape(positions)

        def pairs(values):
            return tf.reshape(values, tf.concat([tf.shape(values)[:-1], [-1, 2]], axis=0))

        if self.rule == "elastic":
            return tf.reshape(fold(pairs(positions), low, high), shape)
        if start is None or velocity is None:
            raise ValueError("`rule='clamp'` steps from the start: pass `start` and `velocity`. "
                             f"Received: start={start!r}, velocity={velocity!r}")
        start = pairs(start)[:, None]
        step = pairs(velocity)[:, None] * self.step_time
        return tf.reshape(stepwise_bounce(start, step, pairs(positions) - start, low, high),
                          shape)

    def compute_output_shape(self, positions_shape):
        return positions_shape

    def get_config(self):
        return {**super().get_config(), "extent": self.extent, "rule": self.rule,
                "step_time": self.step_time, "centre": self.initial_centre}
