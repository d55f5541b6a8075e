"""The physics a Gaussian-ball video can follow, chosen by name.

Each entry gives the acceleration of a ball at position `x` and velocity `v`
(both `(batch, 2)` in the box `[-1, 1]^2`, `y` pointing up) and its default
parameters. Walls at +-1 reflect the ball for every physics, so that a clip
never leaves the picture.
"""

import dataclasses
import math
from typing import Callable

import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float


def _rotate_quarter(v):
    """Turns each 2-D vector by +90 degrees: `(vx, vy) -> (-vy, vx)`."""
    return tf.stack([-v[..., 1], v[..., 0]], axis=-1)


@dataclasses.dataclass(frozen=True)
class Physics:
    """A named law of motion for the Gaussian ball.

    Attributes:
        name: registry name.
        description: one line for listings and docs.
        acceleration: `fn(x, v, params) -> a`, TF ops on `(batch, 2)` tensors.
        defaults: default parameters, a dict of floats.
    """

    name: str
    description: str
    acceleration: Callable
    defaults: dict


PHYSICS = {
    physics.name: physics
    for physics in (
        Physics(
            "free",
            "constant velocity, bouncing off the walls",
            lambda x, v, p: tf.zeros_like(v),
            {},
        ),
        Physics(
            "spring",
            "damped spring pulling towards the centre",
            lambda x, v, p: -p["stiffness"] * x - p["damping"] * v,
            {"stiffness": (2.0 * math.pi) ** 2 / 4.0, "damping": 0.5},
        ),
        Physics(
            "spiral",
            "the report's spiral: velocity turning at w0 and decaying",
            lambda x, v, p: -p["decay"] * v + p["angular_velocity"] * _rotate_quarter(v),
            {"angular_velocity": math.pi, "decay": 0.3},
        ),
        Physics(
            "gravity",
            "constant downward pull, bouncing off floor and walls",
            lambda x, v, p: tf.zeros_like(v) + tf.constant([0.0, -1.0], v.dtype) * p["gravity"],
            {"gravity": 3.0},
        ),
    )
}


def get_physics(name, params=None):
    """Looks up a physics by name and merges `params` into its defaults.

    Args:
        name: a key of `PHYSICS`.
        params: optional dict overriding some default parameters.

    Returns:
        `(physics, params)`: the `Physics` entry and the full parameter dict.
    """
    physics = PHYSICS[check_choice("physics", name, PHYSICS)]
    merged = dict(physics.defaults)
    for key, value in (params or {}).items():
        if key not in merged:
            raise ValueError(
                f"Unknown parameter {key!r} for physics {name!r}. Expected one "
                f"of: {sorted(merged) or 'none'}. Received: physics_params={params!r}"
            )
        merged[key] = check_float(f"physics_params[{key!r}]", value)
    return physics, merged


def simulate(physics, params, position, velocity, num_frames, frame_dt, substeps):
    """Integrates a physics with semi-implicit Euler and reflecting walls.

    Args:
        physics: a `Physics`.
        params: its parameter dict.
        position, velocity: `(batch, 2)` initial conditions in `[-1, 1]^2`.
        num_frames: number of frames; frame 0 is the initial condition.
        frame_dt: time between frames.
        substeps: Euler steps per frame.

    Returns:
        States `(batch, num_frames, 4)`: position and velocity at each frame.
    """
    dt = frame_dt / substeps

    def advance(state, _):
        x, v = state
        for _ in range(substeps):
            v = v + dt * physics.acceleration(x, v, params)
            x = x + dt * v
            # Mirror anything that crossed a wall and flip that velocity.
            over, under = x > 1.0, x < -1.0
            x = tf.where(over, 2.0 - x, tf.where(under, -2.0 - x, x))
            v = tf.where(over | under, -v, v)
        return x, v

    steps = tf.scan(advance, tf.zeros([num_frames - 1]), initializer=(position, velocity))
    xs = tf.concat([position[None], steps[0]], axis=0)
    vs = tf.concat([velocity[None], steps[1]], axis=0)
    return tf.transpose(tf.concat([xs, vs], axis=-1), [1, 0, 2])
