import math

import numpy as np
import pytest

from tfodevideo.data import random_trajectories
from tfodevideo.data import spiral_trajectory
from tfodevideo.data import split_in_time


def test_circle_closes_after_one_period():
    traj = spiral_trajectory("circle", num_points=1001, dt=1e-3, dtype="float64")
    states = traj["states"].numpy()
    # Explicit Euler on a circle drifts outwards by O(dt); one turn ends near start.
    np.testing.assert_allclose(states[-1, :2], [1.0, 0.0], atol=0.02)
    radius = np.linalg.norm(states[:, :2] - [0.0, 0.0], axis=1)
    np.testing.assert_allclose(radius, 1.0, atol=0.02)


def test_spiral_follows_report_euler_scheme():
    w0, decay, dt = 2 * math.pi, 2.0, 1e-3
    traj = spiral_trajectory("spiral", num_points=200, dt=dt, dtype="float64")
    states = traj["states"].numpy()
    x, y = 1.0, 0.0
    for k in range(199):  # The report's eq. 4, written out as a loop.
        t = k * dt
        x, y = (
            x - dt * w0 * math.exp(-decay * t) * math.sin(w0 * t),
            y + dt * w0 * math.exp(-decay * t) * math.cos(w0 * t),
        )
    np.testing.assert_allclose(states[-1, :2], [x, y], rtol=1e-10)
    speed = np.linalg.norm(states[:, 2:], axis=1)
    np.testing.assert_allclose(speed, w0 * np.exp(-decay * traj["times"].numpy()))


def test_random_trajectories_match_an_euler_loop():
    w0, decay, dt = 3.0, 0.5, 0.01
    traj = random_trajectories(
        5, angular_velocity=w0, decay=decay, num_points=50, dt=dt, seed=3, dtype="float64"
    )
    states = traj["states"].numpy()
    x, v = states[:, 0, :2].copy(), states[:, 0, 2:].copy()
    for k in range(1, 50):
        turned = np.stack([-v[:, 1], v[:, 0]], axis=-1)
        x, v = x + dt * v, v + dt * (-decay * v + w0 * turned)
        np.testing.assert_allclose(states[:, k, :2], x, atol=1e-10)
        np.testing.assert_allclose(states[:, k, 2:], v, atol=1e-10)
    assert np.all(np.abs(states[:, 0]) <= 1.0)


def test_seeds_and_noise():
    a = random_trajectories(4, num_points=20, seed=1)
    b = random_trajectories(4, num_points=20, seed=1)
    c = random_trajectories(4, num_points=20, seed=2)
    np.testing.assert_array_equal(a["states"], b["states"])
    assert not np.allclose(a["states"], c["states"])
    np.testing.assert_array_equal(a["observed"], a["states"])
    noisy = random_trajectories(64, num_points=200, seed=1, noise_std=0.1)
    residual = (noisy["observed"] - noisy["states"]).numpy()
    assert abs(residual.std() - 0.1) < 0.005
    np.testing.assert_array_equal(noisy["states"], random_trajectories(
        64, num_points=200, seed=1)["states"])


def test_split_in_time_keeps_the_last_fifth_for_testing():
    traj = random_trajectories(3, num_points=1000)
    train, test = split_in_time(traj, 0.8)
    assert train["times"].shape == (800,) and test["times"].shape == (200,)
    assert train["states"].shape == (3, 800, 4) and test["observed"].shape == (3, 200, 4)
    assert float(test["times"][0]) > float(train["times"][-1])
    single_train, _ = split_in_time(spiral_trajectory(num_points=10), 0.8)
    assert single_train["states"].shape == (8, 4)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: spiral_trajectory("square"), "shape"),
        (lambda: spiral_trajectory(num_points=1), "num_points"),
        (lambda: spiral_trajectory(dt=0.0), "dt"),
        (lambda: spiral_trajectory(decay=-1.0), "decay"),
        (lambda: random_trajectories(0), "num_trajectories"),
        (lambda: random_trajectories(2, noise_std=-0.1), "noise_std"),
        (lambda: split_in_time(spiral_trajectory(num_points=10), 1.0), "train_fraction"),
    ],
)
def test_bad_arguments_name_themselves(call, name):
    with pytest.raises(ValueError, match=name):
        call()
