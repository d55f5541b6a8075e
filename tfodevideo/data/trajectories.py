"""Coordinate trajectories of the report's first experiment: circle and spiral.

A single trajectory follows the report's Euler scheme (its eq. 4):

    x(t + dt) = x(t) - dt * w0 * exp(-decay * t) * sin(w0 * t)
    y(t + dt) = y(t) + dt * w0 * exp(-decay * t) * cos(w0 * t)

The velocity of eq. 4 obeys the autonomous law `dv/dt = -decay * v + w0 * R v`,
where `R` turns a vector by +90 degrees. `random_trajectories` integrates that law
(position and velocity, the second-order state `Z = (X, dX/dt)` of the report's
eq. 6) from random initial conditions, so that many trajectories share one
physics.
"""

import math

import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo._checks import check_int
from tfodevideo.data.seeding import split_seed

# Named shapes: `decay = 0` closes a circle in one time unit; `decay > 0` spirals in.
SHAPES = {
    "circle": {"angular_velocity": 2.0 * math.pi, "decay": 0.0},
    "spiral": {"angular_velocity": 2.0 * math.pi, "decay": 2.0},
}


def _shape_params(shape, angular_velocity, decay):
    params = dict(SHAPES[check_choice("shape", shape, SHAPES)])
    if angular_velocity is not None:
        params["angular_velocity"] = check_float("angular_velocity", angular_velocity)
    if decay is not None:
        params["decay"] = check_float("decay", decay, minimum=0.0)
    return params["angular_velocity"], params["decay"]


def _add_noise(states, noise_std, seed, dtype):
    if noise_std == 0.0:
        return states
    noise = tf.random.stateless_normal(tf.shape(states), seed, dtype=dtype)
    return states + noise_std * noise


def spiral_trajectory(
    shape="spiral",
    num_points=1000,
    dt=1e-3,
    angular_velocity=None,
    decay=None,
    start=(1.0, 0.0),
    noise_std=0.0,
    seed=0,
    dtype="float32",
):
    """One circle or spiral trajectory by the report's Euler scheme (eq. 4).

    Args:
        shape: `"circle"` or `"spiral"`, which picks default `angular_velocity`
            and `decay` from `SHAPES`.
        num_points: number of time points.
        dt: time step of the Euler scheme.
        angular_velocity: `w0`; overrides the shape's default.
        decay: exponential decay `lambda` of the speed; overrides the default.
        start: initial position `(x0, y0)`.
        noise_std: standard deviation of Gaussian noise added to `observed`.
        seed: integer seed of the noise.
        dtype: float dtype of the returned tensors.

    Returns:
        A dict with `times` `(num_points,)`, `states` `(num_points, 4)` holding
        position and velocity `(x, y, vx, vy)`, and `observed`: `states` plus
        noise (equal to `states` when `noise_std` is 0).

    Example:

    >>> traj = spiral_trajectory("circle", num_points=100, dt=0.01)
    >>> traj["states"].shape
    TensorShape([100, 4])
    """
    w0, decay = _shape_params(shape, angular_velocity, decay)
    num_points = check_int("num_points", num_points, minimum=2)
    dt = check_float("dt", dt, minimum=0.0, strict_minimum=True)
    noise_std = check_float("noise_std", noise_std, minimum=0.0)
    if len(start) != 2:
        raise ValueError(f"`start` must hold two coordinates. Received: start={start!r}")
    times = tf.range(num_points, dtype=dtype) * dt
    speed = w0 * tf.exp(-decay * times)
    velocities = tf.stack(
        [-speed * tf.sin(w0 * times), speed * tf.cos(w0 * times)], axis=-1
    )
    # Position k is the start plus the Euler increments of steps 0..k-1.
    positions = tf.constant(start, dtype=dtype) + tf.cumsum(
        dt * velocities, axis=0, exclusive=True
    )
    states = tf.concat([positions, velocities], axis=-1)
    return {
        "times": times,
        "states": states,
        "observed": _add_noise(states, noise_std, [seed, 0], dtype),
    }


def random_trajectories(
    num_trajectories,
    shape="spiral",
    num_points=1000,
    dt=1e-3,
    angular_velocity=None,
    decay=None,
    noise_std=0.0,
    seed=0,
    dtype="float32",
):
    """Many trajectories of one physics from random initial conditions.

    Initial positions and velocities are drawn from `U(-1, 1)^2`. The state
    `(x, y, vx, vy)` follows `dX/dt = V`, `dV/dt = -decay * V + w0 * R V` by the
    Euler scheme with step `dt`. The velocity update is a scaled rotation, so
    the whole path is computed in closed form without a loop.

    Args:
        num_trajectories: number of trajectories.
        shape, num_points, dt, angular_velocity, decay, noise_std, dtype: as in
            `spiral_trajectory`.
        seed: integer seed of the initial conditions and the noise.

    Returns:
        A dict with `times` `(num_points,)` and `states` and `observed`, both
        `(num_trajectories, num_points, 4)`.
    """
    w0, decay = _shape_params(shape, angular_velocity, decay)
    num_trajectories = check_int("num_trajectories", num_trajectories, minimum=1)
    num_points = check_int("num_points", num_points, minimum=2)
    dt = check_float("dt", dt, minimum=0.0, strict_minimum=True)
    noise_std = check_float("noise_std", noise_std, minimum=0.0)
    init_seed, noise_seed = split_seed(tf.constant([seed, 1], tf.int64), 2)
    init = tf.random.stateless_uniform(
        [num_trajectories, 4], init_seed, minval=-1.0, maxval=1.0, dtype=dtype
    )
    # One Euler step multiplies V by (1 - decay dt) I + w0 dt R, which is a
    # rotation by `phi` scaled by `radius`; step k applies it k times.
    radius = math.hypot(1.0 - decay * dt, w0 * dt)
    phi = math.atan2(w0 * dt, 1.0 - decay * dt)
    steps = tf.range(num_points, dtype=dtype)
    scale = tf.pow(tf.constant(radius, dtype), steps)[None, :]
    cos, sin = tf.cos(phi * steps)[None, :], tf.sin(phi * steps)[None, :]
    vx0, vy0 = init[:, 2:3], init[:, 3:4]
    velocities = tf.stack(
        [scale * (cos * vx0 - sin * vy0), scale * (sin * vx0 + cos * vy0)], axis=-1
    )
    positions = init[:, None, :2] + tf.cumsum(dt * velocities, axis=1, exclusive=True)
    states = tf.concat([positions, velocities], axis=-1)
    return {
        "times": steps * dt,
        "states": states,
        "observed": _add_noise(states, noise_std, noise_seed, dtype),
    }


def split_in_time(trajectory, train_fraction=0.8):
    """Splits a trajectory dict along time for an extrapolation experiment.

    Args:
        trajectory: a dict from `spiral_trajectory` or `random_trajectories`.
        train_fraction: fraction of the time points, from the start, that go to
            the training part; the rest is the test part.

    Returns:
        `(train, test)`, two dicts with the same keys as `trajectory`.
    """
    train_fraction = check_float(
        "train_fraction", train_fraction, minimum=0.0, maximum=1.0
    )
    num_points = int(trajectory["times"].shape[0])
    cut = int(round(train_fraction * num_points))
    if not 0 < cut < num_points:
        raise ValueError(
            "`train_fraction` leaves an empty part for "
            f"{num_points} points. Received: train_fraction={train_fraction}"
        )
    train = {"times": trajectory["times"][:cut]}
    test = {"times": trajectory["times"][cut:]}
    for key in ("states", "observed"):
        train[key] = trajectory[key][..., :cut, :]
        test[key] = trajectory[key][..., cut:, :]
    return train, test
