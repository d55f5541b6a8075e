import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tfodevideo.data import PHYSICS
from tfodevideo.data import GaussianBall


def centroids(frames):
    """Intensity centroid `(x, y)` = (column, row) of each frame."""
    frames = frames[..., 0]
    rows = np.arange(frames.shape[-2])[:, None]
    cols = np.arange(frames.shape[-1])[None, :]
    mass = frames.sum(axis=(-2, -1))
    return np.stack(
        [(frames * cols).sum(axis=(-2, -1)) / mass, (frames * rows).sum(axis=(-2, -1)) / mass],
        axis=-1,
    )


@pytest.mark.parametrize("physics", sorted(PHYSICS))
@pytest.mark.parametrize("normalise", ["box", "clip"])
def test_rendered_centroid_follows_the_trajectory(physics, normalise):
    clips = GaussianBall(physics, normalise=normalise).generate(8, seed=5)
    frames = clips["frames"].numpy()
    assert frames.shape == (8, 20, 28, 28, 1) and frames.dtype == np.float32
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    error = np.abs(centroids(frames) - clips["positions"].numpy())
    assert error.max() < 0.5


def test_walls_reflect_and_free_motion_keeps_its_speed():
    states = GaussianBall("free", num_frames=60).generate(16, seed=2)["states"].numpy()
    assert np.abs(states[..., :2]).max() <= 1.0
    speed = np.abs(states[..., 2:])
    np.testing.assert_allclose(speed, np.broadcast_to(speed[:, :1], speed.shape), rtol=1e-5)
    flips = np.sign(states[:, 1:, 2:]) != np.sign(states[:, :-1, 2:])
    assert flips.any(), "60 frames should see some bounces"


def test_gravity_pulls_down_by_g_per_unit_time():
    ball = GaussianBall("gravity", num_frames=30, frame_dt=0.1)
    states = ball.generate(16, seed=3)["states"].numpy()
    dvy = np.diff(states[..., 3], axis=1)
    no_bounce = np.isclose(dvy, -0.3, atol=1e-4)
    # Frames without a bounce lose exactly g * frame_dt = 0.3 of vertical speed;
    # a bounce flips the sign instead, so some frames must differ.
    assert 0.7 < no_bounce.mean() < 1.0


def test_spring_is_damped():
    states = GaussianBall("spring", num_frames=200).generate(8, seed=4)["states"].numpy()
    energy = 0.5 * (states[..., 2:] ** 2).sum(-1) + 0.5 * (np.pi**2) * (
        states[..., :2] ** 2
    ).sum(-1)
    assert np.all(energy[:, -1] < 0.5 * energy[:, 0])


def test_same_seed_same_clips_other_seed_other_clips():
    ball = GaussianBall()
    a, b, c = (ball.generate(4, seed=s)["frames"].numpy() for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_physics_parameters_change_the_motion():
    slow = GaussianBall("gravity", {"gravity": 0.0}).generate(2)["states"].numpy()
    assert np.allclose(np.abs(slow[..., 2:]), np.abs(slow[:, :1, 2:]), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"physics": "magnetic"}, "physics"),
        ({"physics_params": {"mass": 1.0}}, "mass"),
        ({"physics": "spring", "physics_params": {"stiffness": float("nan")}}, "stiffness"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": 5.0}, "sigma"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": (28, 28, 1)}, "image_size"),
        ({"num_frames": 0}, "num_frames"),
        ({"normalise": "minmax"}, "normalise"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GaussianBall(**kwargs)


@settings(max_examples=12, deadline=None)
@given(
    height=st.integers(12, 40),
    width=st.integers(12, 40),
    sigma=st.floats(0.5, 1.8),
    num_frames=st.integers(1, 6),
    physics=st.sampled_from(sorted(PHYSICS)),
)
def test_any_valid_ball_renders_in_range(height, width, sigma, num_frames, physics):
    clips = GaussianBall(
        physics, num_frames=num_frames, image_size=(height, width), sigma=sigma
    ).generate(2, seed=0)
    frames = clips["frames"].numpy()
    assert frames.shape == (2, num_frames, height, width, 1)
    assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1
    positions = clips["positions"].numpy()
    assert positions.min() >= 3 * sigma - 1e-4
    assert positions[..., 0].max() <= width - 1 - 3 * sigma + 1e-4
