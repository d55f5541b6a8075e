"""Gaussian-ball videos (the report's section 5.2.1) with a choice of physics
and, optionally, of looks that vary between clips."""

import math

import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo.constants import FRAME_DT
from tfodevideo._checks import check_int
from tfodevideo.data.physics import get_physics
from tfodevideo.data.physics import simulate
from tfodevideo.data.seeding import split_seed
from tfodevideo.data.source import VideoSource

NORMALISATIONS = ("box", "clip")


def _gaussian(dy, dx, sigma):
    # Separable, as the original ball: an outer product of two profiles.
    return (tf.exp(-tf.square(dy) / (2.0 * sigma**2))[..., :, None]
            * tf.exp(-tf.square(dx) / (2.0 * sigma**2))[..., None, :])


def _ring(dy, dx, sigma):
    radius = tf.sqrt(tf.square(dy)[..., :, None] + tf.square(dx)[..., None, :])
    sigma = sigma[..., None]
    return tf.exp(-tf.square(radius - 1.5 * sigma) / (2.0 * (0.5 * sigma) ** 2))


def _square(dy, dx, sigma):
    # A square of side 3 sigma with edges soft over about a pixel.
    return (tf.sigmoid((1.5 * sigma - tf.abs(dy)) / 0.3)[..., :, None]
            * tf.sigmoid((1.5 * sigma - tf.abs(dx)) / 0.3)[..., None, :])


# The shapes a ball can have: intensity `(..., H, W)` of a ball of width
# `sigma` (`(..., 1)`) from the rows' and columns' offsets to its centre
# (`(..., H)`, `(..., W)`); each reaches no further than 3 sigma.
BALL_LOOKS = {"gaussian": _gaussian, "ring": _ring, "square": _square}


def _range(name, value):
    """`(low, high)` from a number or a pair, checked positive and ordered."""
    low, high = (value, value) if isinstance(value, (int, float)) else tuple(value)
    low = check_float(name, low, minimum=0.0, strict_minimum=True)
    high = check_float(name, high, minimum=low)
    return low, high


class GaussianBall(VideoSource):
    """A ball drawn as a Gaussian blob, moving under a named physics.

    Initial position and velocity are drawn from `U(-1, 1)^2`. The trajectory
    is simulated in the box `[-1, 1]^2` (walls reflect) and mapped to pixels:
    with `normalise="box"` the box fills the image less a margin of `3 sigma`,
    so the blob is never cut by the border; `normalise="clip"` stretches each
    clip's own extent to that area, as the report does. Pixel `(i, j)` of
    frame `t` is `exp(-|(i, j) - c_t|^2 / (2 sigma^2))`, peak 1 (the report's
    `1 / (sqrt(2 pi) sigma)` factor is dropped so that frames span `[0, 1]`).

    The look can vary between clips, drawn apart from the motion: the shape
    (a name of `BALL_LOOKS`), the width `sigma`, the brightness (peak) and a
    rate at which the width grows or shrinks (`sigma * exp(rate * t)`).
    The margin is that of the widest ball, so the motion in pixels does not
    depend on the look, and `counterfactual_pairs` can draw one clip's motion
    with another's look.

    Args:
        physics: a name from `tfodevideo.data.PHYSICS`.
        physics_params: optional dict overriding that physics' parameters.
        num_frames: frames per clip.
        image_size: an int or `(height, width)`.
        sigma: blob width in pixels, or a `(low, high)` range drawn per clip.
        frame_dt: time between frames.
        substeps: Euler steps of the simulation per frame.
        normalise: `"box"` or `"clip"`.
        looks: names from `BALL_LOOKS`, one drawn per clip.
        brightness: peak intensity in `(0, 1]`, or a `(low, high)` range.
        sigma_rate: growth rate of the width per unit time, or a
            `(low, high)` range (negative shrinks).

    Call `render` on sampled parameters, or `generate(num_clips, seed)`, to get
    a dict with `frames` `(batch, T, H, W, 1)`, `positions` `(batch, T, 2)`
    (the true centre as `(x, y)` = (column, row) in pixels), `states`
    `(batch, T, 4)` (position and velocity in the box, `y` up) and `sigmas`
    `(batch, T)` (the width in pixels).

    Example:

    >>> clips = GaussianBall("gravity", num_frames=8).generate(2, seed=0)
    >>> clips["frames"].shape
    TensorShape([2, 8, 28, 28, 1])
    """

    channels = 1

    def __init__(
        self,
        physics="free",
        physics_params=None,
        num_frames=20,
        image_size=28,
        sigma=1.5,
        frame_dt=FRAME_DT,
        substeps=10,
        normalise="box",
        looks=("gaussian",),
        brightness=1.0,
        sigma_rate=0.0,
    ):
        self.physics, self.physics_params = get_physics(physics, physics_params)
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        if len(image_size) != 2:
            raise ValueError(
                f"`image_size` must be an int or (height, width). Received: "
                f"image_size={image_size!r}"
            )
        self.image_size = tuple(
            check_int("image_size", side, minimum=1) for side in image_size
        )
        self.sigma = _range("sigma", sigma)
        self.brightness = _range("brightness", brightness)
        if self.brightness[1] > 1.0:
            raise ValueError(f"`brightness` must be in (0, 1]. Received: brightness={brightness!r}")
        rate = (sigma_rate, sigma_rate) if isinstance(sigma_rate, (int, float)) else sigma_rate
        self.sigma_rate = tuple(check_float("sigma_rate", r) for r in rate)
        if len(self.sigma_rate) != 2 or self.sigma_rate[0] > self.sigma_rate[1]:
            raise ValueError(f"`sigma_rate` must be a number or (low, high). Received: "
                             f"sigma_rate={sigma_rate!r}")
        if isinstance(looks, str) or not looks:
            raise ValueError(
                f"`looks` must be a non-empty list of names. Received: looks={looks!r}")
        self.looks = tuple(check_choice("looks", look, BALL_LOOKS) for look in looks)
        self.frame_dt = check_float("frame_dt", frame_dt, minimum=0.0, strict_minimum=True)
        self.num_frames = check_int("num_frames", num_frames, minimum=1)
        # The widest ball any clip can hold, at any frame.
        span = (self.num_frames - 1) * self.frame_dt
        widest = self.sigma[1] * max(1.0, math.exp(max(abs(r) for r in self.sigma_rate) * span))
        self.margin = 3.0 * widest
        if min(self.image_size) - 1 <= 2 * self.margin:
            raise ValueError(
                f"`sigma` is too large for the image: a blob of sigma up to {widest:g} "
                f"needs more than {2 * self.margin + 1:g} pixels per side. "
                f"Received: sigma={sigma!r}, sigma_rate={sigma_rate!r}, "
                f"image_size={image_size!r}"
            )
        self.substeps = check_int("substeps", substeps, minimum=1)
        self.normalise = check_choice("normalise", normalise, NORMALISATIONS)

    appearance_keys = ("look", "sigma", "brightness", "sigma_rate")

    def sample(self, seed):
        position_seed, velocity_seed = split_seed(seed, 2)
        # The look's seeds are folded apart, so that a ball of one fixed look
        # keeps the motion it had before looks could vary.
        look_seeds = split_seed(tf.random.experimental.stateless_fold_in(seed, 1), 4)
        return {
            "position": tf.random.stateless_uniform([2], position_seed, -1.0, 1.0),
            "velocity": tf.random.stateless_uniform([2], velocity_seed, -1.0, 1.0),
            "look": tf.random.stateless_uniform(
                [], look_seeds[0], 0, len(self.looks), dtype=tf.int32),
            "sigma": tf.random.stateless_uniform([], look_seeds[1], *self.sigma),
            "brightness": tf.random.stateless_uniform([], look_seeds[2], *self.brightness),
            "sigma_rate": tf.random.stateless_uniform([], look_seeds[3], *self.sigma_rate),
        }

    def render(self, params):
        states = simulate(
            self.physics,
            self.physics_params,
            params["position"],
            params["velocity"],
            self.num_frames,
            self.frame_dt,
            self.substeps,
        )
        unit = (states[..., :2] + 1.0) / 2.0
        if self.normalise == "clip":
            low = tf.reduce_min(unit, axis=1, keepdims=True)
            extent = tf.reduce_max(unit, axis=1, keepdims=True) - low
            # A coordinate that never moves sits in the middle of the picture.
            unit = tf.math.divide_no_nan(unit - low, extent) + tf.where(
                extent > 0, 0.0, 0.5
            )
        height, width = self.image_size
        column = self.margin + unit[..., 0] * (width - 1 - 2 * self.margin)
        row = self.margin + (1.0 - unit[..., 1]) * (height - 1 - 2 * self.margin)
        times = tf.range(self.num_frames, dtype=tf.float32) * self.frame_dt
        sigmas = params["sigma"][:, None] * tf.exp(params["sigma_rate"][:, None] * times)
        dy = tf.range(height, dtype=tf.float32) - row[..., None]
        dx = tf.range(width, dtype=tf.float32) - column[..., None]
        shapes = tf.stack(
            [BALL_LOOKS[look](dy, dx, sigmas[..., None]) for look in self.looks], axis=2
        )  # (batch, T, looks, H, W)
        frames = tf.gather(shapes, params["look"], axis=2, batch_dims=1)
        frames = frames * params["brightness"][:, None, None, None]
        return {
            "frames": frames[..., None],
            "positions": tf.stack([column, row], axis=-1),
            "states": states,
            "sigmas": sigmas,
        }
