"""Moving MNIST generated on the fly, following Srivastava et al. (2015)."""

import math

import numpy as np
import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo._checks import check_int
from tfodevideo.constants import FRAME_DT
from tfodevideo.data.files import MNIST_SPLITS
from tfodevideo.data.files import load_mnist
from tfodevideo.data.files import mnist_offset
from tfodevideo.data.seeding import split_seed
from tfodevideo.data.source import VideoSource


class MovingMNIST(VideoSource):
    """Bouncing MNIST digits on a black canvas, as in the standard benchmark.

    Follows the original generator exactly: each digit starts at a uniform
    random position in `[0, 1)^2` of the free area (canvas less digit) with a
    uniform random direction, moves `step_length` of that area per frame
    (`0.1 * 36 = 3.6` pixels on the 64 x 64 canvas), and on reaching an edge is
    clamped to it and has that velocity component flipped. The first frame is
    taken after the first step, as in the original. The top-left corner is the
    position truncated to whole pixels; overlapping digits combine by `max`.

    Args:
        num_digits: digits per clip.
        num_frames: frames per clip (20 in the benchmark; 100 for long runs).
        image_size: side of the square canvas in pixels.
        digit_size: side of a digit in pixels (MNIST's 28 unless resized).
        step_length: distance per frame as a fraction of the free area.
        split: `"train"` draws the first 50,000 MNIST training digits,
            `"validation"` the last 10,000, `"test"` MNIST's test digits.
        digits: optional uint8 array `(N, h, w)` of digit images to use instead
            of MNIST (then `split` only labels the clips).
        data_dir: folder holding `mnist.npz` (see `tfodevideo.data.load_mnist`).
        frame_dt: time between frames, used to label the frames' times.

    A clip's look is its digits (`appearance_keys`): `counterfactual_pairs`
    draws one clip's digits on another's paths.

    `sample` draws `digit` (an index into the split's digits) and
    `mnist_index` (the same digit's index in MNIST's train images followed by
    its test images, so that the splits' digits can be told apart).
    `render` returns a dict with `frames` `(batch, T, S, S, 1)` and `positions`
    `(batch, T, num_digits, 2)`: each digit's top-left corner `(x, y)` =
    (column, row) in pixels before truncation.

    References:
        Srivastava, Mansimov and Salakhutdinov, "Unsupervised learning of video
        representations using LSTMs", ICML 2015.
    """

    channels = 1
    appearance_keys = ("digit", "mnist_index")

    def __init__(
        self,
        num_digits=2,
        num_frames=20,
        image_size=64,
        digit_size=28,
        step_length=0.1,
        split="train",
        digits=None,
        data_dir=None,
        frame_dt=FRAME_DT,
    ):
        self.num_digits = check_int("num_digits", num_digits, minimum=1)
        self.num_frames = check_int("num_frames", num_frames, minimum=1)
        side = check_int("image_size", image_size, minimum=1)
        self.image_size = (side, side)
        self.digit_size = check_int("digit_size", digit_size, minimum=1)
        if self.digit_size > side:
            raise ValueError(
                f"`digit_size` ({digit_size}) must not exceed `image_size` "
                f"({image_size}): a digit larger than the canvas cannot move."
            )
        self.step_length = check_float("step_length", step_length, minimum=0.0)
        self.frame_dt = check_float("frame_dt", frame_dt, minimum=0.0, strict_minimum=True)
        self.split = check_choice("split", split, MNIST_SPLITS)
        # Offsets the digit index into one numbering of all MNIST images.
        self.digit_offset = mnist_offset(split) if digits is None else 0
        if digits is None:
            digits = load_mnist(split, data_dir)
        digits = np.asarray(digits)
        if digits.ndim != 3 or digits.dtype != np.uint8 or len(digits) == 0:
            raise ValueError(
                "`digits` must be a non-empty uint8 array (N, height, width). "
                f"Received: shape={digits.shape}, dtype={digits.dtype}"
            )
        digits = tf.constant(digits)
        if digits.shape[1:] != (self.digit_size, self.digit_size):
            digits = tf.cast(
                tf.round(
                    tf.image.resize(digits[..., None], [self.digit_size] * 2)[..., 0]
                ),
                tf.uint8,
            )
        # Kept as uint8 (47 MB for MNIST): clips gather and convert their digits.
        self.digits = digits

    def sample(self, seed):
        digit_seed, position_seed, angle_seed = split_seed(seed, 3)
        digit = tf.random.stateless_uniform(
            [self.num_digits], digit_seed, 0, self.digits.shape[0], dtype=tf.int64
        )
        return {
            "digit": digit,
            "mnist_index": digit + self.digit_offset,
            "position": tf.random.stateless_uniform([self.num_digits, 2], position_seed),
            "angle": tf.random.stateless_uniform(
                [self.num_digits], angle_seed, 0.0, 2.0 * math.pi
            ),
        }

    def _trajectory(self, position, angle):
        """Unit-square positions `(batch, T, digits, 2)` by the original rule."""
        velocity = tf.stack([tf.cos(angle), tf.sin(angle)], axis=-1)

        def step(state, _):
            x, v = state
            x = x + self.step_length * v
            hit = (x <= 0.0) | (x >= 1.0)
            return tf.clip_by_value(x, 0.0, 1.0), tf.where(hit, -v, v)

        xs, _ = tf.scan(
            step, tf.zeros([self.num_frames]), initializer=(position, velocity)
        )
        return tf.transpose(xs, [1, 0, 2, 3])

    def render(self, params):
        side, size = self.image_size[0], self.digit_size
        positions = self._trajectory(params["position"], params["angle"]) * (side - size)
        corner = tf.cast(tf.floor(positions), tf.int32)
        # Placing digit d at corner (left, top) is canvas = R @ digit @ C^T with
        # one-hot shift matrices R (rows) and C (columns). As a batched matmul
        # it is exact and several times faster on CPU than gathering pixels.
        canvas_index = tf.range(side)
        shift_rows = tf.one_hot(canvas_index - corner[..., 1:2], size)
        shift_cols = tf.one_hot(canvas_index - corner[..., 0:1], size)
        images = tf.cast(tf.gather(self.digits, params["digit"]), tf.float32) / 255.0
        placed = tf.matmul(
            tf.matmul(shift_rows, images[:, None]), shift_cols, transpose_b=True
        )
        frames = tf.reduce_max(placed, axis=2)[..., None]
        return {"frames": frames, "positions": positions}
