"""Counterfactual clips: one clip's motion drawn with another clip's look."""

import numpy as np
import pytest

from tfodevideo.data import GaussianBall
from tfodevideo.data import MovingMNIST
from tfodevideo.data import make_source

LOOKS = dict(looks=("gaussian", "ring", "square"), sigma=(1.0, 2.0), brightness=(0.5, 1.0))


def test_a_ball_of_one_look_is_the_ball_it_always_was():
    """The look's random draws are folded apart from the motion's: a fixed
    look gives the same motion as a ball of varied looks, and the original
    Gaussian frames."""
    fixed = GaussianBall(num_frames=6).generate(5, seed=2)
    varied = GaussianBall(num_frames=6, **LOOKS).generate(5, seed=2)
    # Same box positions; pixels differ only through the wider margin.
    np.testing.assert_array_equal(fixed["states"], varied["states"])
    frames, centres = fixed["frames"].numpy()[..., 0], fixed["positions"].numpy()
    rows, cols = np.arange(28)[:, None], np.arange(28)[None, :]
    x, y = centres[..., 0, None, None], centres[..., 1, None, None]
    expected = np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(frames, expected, atol=1e-5)


def test_ball_looks_vary_between_clips_and_stay_in_range():
    clips = GaussianBall(num_frames=4, **LOOKS).generate(32, seed=0)
    frames = clips["frames"].numpy()
    assert 0.0 <= frames.min() and frames.max() <= 1.0
    peaks = frames.max(axis=(1, 2, 3, 4))
    assert peaks.min() < 0.7 and peaks.max() > 0.9  # Brightness varies.
    lit = (frames[:, 0, ..., 0] > 0.25).sum(axis=(1, 2))
    assert lit.max() > 2 * lit.min()  # So do width and shape.


def test_a_growing_ball_changes_width_over_time():
    ball = GaussianBall(num_frames=20, sigma=(1.0, 1.5), sigma_rate=(-0.25, 0.25))
    sigmas = ball.generate(16, seed=1)["sigmas"].numpy()
    ratio = sigmas[:, -1] / sigmas[:, 0]
    assert ratio.min() < 0.9 and ratio.max() > 1.1
    assert 3 * sigmas.max() <= ball.margin + 1e-5


@pytest.mark.parametrize("name", ["ball_looks", "mmnist1", "mmnist2"])
def test_counterfactual_keeps_a_motion_and_takes_b_look(name, data_dir):
    source = make_source(name, "validation", num_frames=6)
    pairs = source.counterfactual_pairs(3, seed=5)
    a, b, swapped = pairs["a"], pairs["b"], pairs["swapped"]
    np.testing.assert_array_equal(swapped["positions"], a["positions"])
    assert not np.array_equal(swapped["frames"], a["frames"])
    # The pairs are clips 2k and 2k + 1 of the stream.
    clips = source.generate(6, seed=5)["frames"].numpy()
    # (Up to float rounding: the physics runs on batches of other sizes.)
    np.testing.assert_allclose(a["frames"], clips[0::2], atol=1e-5)
    np.testing.assert_allclose(b["frames"], clips[1::2], atol=1e-5)
    # Each swapped clip is a clip: swapped back, it is A again.
    params = source.sample_clips(6, seed=5)
    back = {k: v[0::2] for k, v in params.items()}
    np.testing.assert_allclose(source.render(back)["frames"], a["frames"], atol=1e-6)


def test_swapped_digits_are_b_digits_on_a_paths(data_dir):
    source = make_source("mmnist1", "test", num_frames=3)
    pairs = source.counterfactual_pairs(2, seed=7)
    params = source.sample_clips(4, seed=7)
    digits = source.digits.numpy()[params["digit"].numpy()[1::2, 0]] / 255.0
    corner = np.floor(pairs["a"]["positions"].numpy()).astype(int)
    for k in range(2):
        x, y = corner[k, 0, 0]
        np.testing.assert_allclose(
            pairs["swapped"]["frames"].numpy()[k, 0, y:y + 28, x:x + 28, 0], digits[k],
            atol=1e-6)


def test_a_ball_of_one_fixed_look_swaps_into_itself():
    pairs = GaussianBall(num_frames=4).counterfactual_pairs(2, seed=1)
    np.testing.assert_array_equal(pairs["swapped"]["frames"], pairs["a"]["frames"])
    assert MovingMNIST.appearance_keys == ("digit", "mnist_index")
