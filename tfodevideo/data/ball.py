"""Gaussian-ball videos (the report's section 5.2.1) with a choice of physics."""

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


class GaussianBall(VideoSource):
    """A ball drawn as a Gaussian blob, moving under a named physics.

    Initial position and velocity are drawn from `U(-1, 1)^2`. The trajectory
    is simulated in the box `[-1, 1]^2` (walls reflect) and mapped to pixels:
    with `normalise="box"` the box fills the image less a margin of `3 sigma`,
    so the blob is never cut by the border; `normalise="clip"` stretches each
    clip's own extent to that area, as the report does. Pixel `(i, j)` of
    frame `t` is `exp(-|(i, j) - c_t|^2 / (2 sigma^2))`, peak 1 (the report's
    `1 / (sqrt(2 pi) sigma)` factor is dropped so that frames span `[0, 1]`).

    Args:
        physics: a name from `tfodevideo.data.PHYSICS`.
        physics_params: optional dict overriding that physics' parameters.
        num_frames: frames per clip.
        image_size: an int or `(height, width)`.
        sigma: blob width in pixels.
        frame_dt: time between frames.
        substeps: Euler steps of the simulation per frame.
        normalise: `"box"` or `"clip"`.

    Call `render` on sampled parameters, or `generate(num_clips, seed)`, to get
    a dict with `frames` `(batch, T, H, W, 1)`, `positions` `(batch, T, 2)`
    (the true centre as `(x, y)` = (column, row) in pixels) and `states`
    `(batch, T, 4)` (position and velocity in the box, `y` up).

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
    ):
        self.physics, self.physics_params = get_physics(physics, physics_params)
        self.num_frames = check_int("num_frames", num_frames, minimum=1)
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
        self.sigma = check_float("sigma", sigma, minimum=0.0, strict_minimum=True)
        self.margin = 3.0 * self.sigma
        if min(self.image_size) - 1 <= 2 * self.margin:
            raise ValueError(
                f"`sigma` is too large for the image: a blob of sigma {self.sigma} "
                f"needs more than {2 * self.margin + 1:g} pixels per side. "
                f"Received: sigma={sigma!r}, image_size={image_size!r}"
            )
        self.frame_dt = check_float("frame_dt", frame_dt, minimum=0.0, strict_minimum=True)
        self.substeps = check_int("substeps", substeps, minimum=1)
        self.normalise = check_choice("normalise", normalise, NORMALISATIONS)

    def sample(self, seed):
        position_seed, velocity_seed = split_seed(seed, 2)
        return {
            "position": tf.random.stateless_uniform([2], position_seed, -1.0, 1.0),
            "velocity": tf.random.stateless_uniform([2], velocity_seed, -1.0, 1.0),
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
        # The Gaussian is separable: the frame is an outer product of profiles.
        rows = tf.exp(
            -tf.square(tf.range(height, dtype=tf.float32) - row[..., None])
            / (2.0 * self.sigma**2)
        )
        columns = tf.exp(
            -tf.square(tf.range(width, dtype=tf.float32) - column[..., None])
            / (2.0 * self.sigma**2)
        )
        frames = rows[..., :, None] * columns[..., None, :]
        return {
            "frames": frames[..., None],
            "positions": tf.stack([column, row], axis=-1),
            "states": states,
        }
