import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tfodevideo.data import MovingMNIST
from tfodevideo.data.seeding import clip_and_grid_seeds


@pytest.fixture(scope="module")
def two_digits(mnist_train):
    return MovingMNIST(num_digits=2, digits=mnist_train)


def sampled(source, num, seed=0):
    params = [source.sample(clip_and_grid_seeds(seed, i)[0]) for i in range(num)]
    return {k: tf.stack([p[k] for p in params]) for k in params[0]}


def reference_trajectory(x, y, theta, length, step=0.1):
    """Srivastava et al.'s GetRandomTrajectory, one digit, as published."""
    v_y, v_x = math.sin(theta), math.cos(theta)
    out = []
    for _ in range(length):
        y += v_y * step
        x += v_x * step
        if x <= 0:
            x, v_x = 0.0, -v_x
        if x >= 1.0:
            x, v_x = 1.0, -v_x
        if y <= 0:
            y, v_y = 0.0, -v_y
        if y >= 1.0:
            y, v_y = 1.0, -v_y
        out.append((x, y))
    return np.array(out)


def test_trajectories_and_frames_match_the_original_generator(two_digits, mnist_train):
    params = sampled(two_digits, 6)
    clips = two_digits.render(params)
    np.testing.assert_array_equal(clips["frames"], two_digits.generate(6)["frames"])
    frames, positions = clips["frames"].numpy(), clips["positions"].numpy()
    assert frames.shape == (6, 20, 64, 64, 1) and positions.shape == (6, 20, 2, 2)
    for b in range(6):
        canvas = np.zeros((20, 64, 64), np.uint8)
        for d in range(2):
            x, y = params["position"][b, d].numpy()
            ref = reference_trajectory(x, y, float(params["angle"][b, d]), 20)
            np.testing.assert_allclose(positions[b, :, d] / 36.0, ref, atol=1e-5)
            digit = mnist_train[int(params["digit"][b, d])]
            for t in range(20):
                # Corners are truncated to whole pixels, as in the original.
                left, top = np.floor(positions[b, t, d]).astype(int)
                window = canvas[t, top : top + 28, left : left + 28]
                np.maximum(window, digit, out=window)
        np.testing.assert_allclose(frames[b, ..., 0], canvas / 255.0, atol=1e-6)


def test_digits_move_3_6_pixels_per_frame_and_stay_on_canvas(two_digits):
    positions = two_digits.generate(32, seed=1)["positions"].numpy()
    assert positions.min() >= 0.0 and positions.max() <= 36.0
    steps = np.linalg.norm(np.diff(positions, axis=1), axis=-1)
    inside = (positions > 0).all(-1) & (positions < 36).all(-1)
    free = inside[:, 1:] & inside[:, :-1]
    np.testing.assert_allclose(steps[free], 3.6, atol=1e-4)
    assert free.mean() > 0.5


def test_walls_turn_the_digit_back(two_digits):
    positions = two_digits.generate(32, seed=2)["positions"].numpy()
    hits = 0
    for axis in range(2):
        at_wall = (positions[:, 1:-1, :, axis] == 0) | (positions[:, 1:-1, :, axis] == 36)
        before = positions[:, :-2, :, axis] - positions[:, 1:-1, :, axis]
        after = positions[:, 2:, :, axis] - positions[:, 1:-1, :, axis]
        # After touching a wall the digit moves back the way it came.
        assert np.all(np.sign(before[at_wall]) == np.sign(after[at_wall]))
        hits += at_wall.sum()
    assert hits > 0


def test_mean_intensity_matches_the_standard_test_set(two_digits, standard_test):
    generated = two_digits.generate(256, seed=3)["frames"].numpy().mean()
    standard = standard_test.mean() / 255.0
    assert abs(standard - 0.0495) < 0.0005
    assert abs(generated - standard) < 0.1 * standard


def test_seeds_splits_and_lengths(two_digits):
    a = two_digits.generate(3, seed=7)["frames"].numpy()
    np.testing.assert_array_equal(a, two_digits.generate(3, seed=7)["frames"])
    assert not np.allclose(a, two_digits.generate(3, seed=8)["frames"])
    # Clip i is the same whichever range it is generated in.
    np.testing.assert_array_equal(a[2], two_digits.generate(1, seed=7, start=2)["frames"][0])
    held_out = MovingMNIST(num_digits=3, num_frames=100, split="test")
    assert held_out.digits.shape[0] == 10000
    assert held_out.generate(1)["frames"].shape == (1, 100, 64, 64, 1)


def test_splits_draw_disjoint_digits(data_dir):
    drawn = {}
    for split in ("train", "validation", "test"):
        source = MovingMNIST(num_digits=2, num_frames=2, split=split)
        params = source.generate(1)  # Builds the parameter signature once.
        indices = tf.map_fn(
            lambda i: source.sample(tf.stack([tf.constant(3, tf.int64), i]))["mnist_index"],
            tf.range(2000, dtype=tf.int64),
        )
        drawn[split] = set(indices.numpy().ravel().tolist())
        assert params["frames"].shape == (1, 2, 64, 64, 1)
    assert min(drawn["train"]) >= 0 and max(drawn["train"]) < 50000
    assert min(drawn["validation"]) >= 50000 and max(drawn["validation"]) < 60000
    assert min(drawn["test"]) >= 60000
    assert not drawn["train"] & drawn["validation"]
    assert not drawn["train"] & drawn["test"] and not drawn["validation"] & drawn["test"]


def test_resized_digits():
    small = MovingMNIST(num_digits=1, image_size=32, digit_size=14)
    frames = small.generate(2)["frames"].numpy()
    assert frames.shape == (2, 20, 32, 32, 1) and frames.max() > 0.5


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"digit_size": 70}, "digit_size"),
        ({"num_digits": 0}, "num_digits"),
        ({"step_length": -0.1}, "step_length"),
        ({"split": "val"}, "split"),
        ({"digits": np.zeros((4, 28, 28), np.float32)}, "digits"),
        ({"digits": np.zeros((0, 28, 28), np.uint8)}, "digits"),
        ({"data_dir": "/nonexistent/folder"}, "data_dir"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    error = FileNotFoundError if "data_dir" in kwargs else ValueError
    with pytest.raises(error, match=name):
        MovingMNIST(**kwargs)


@settings(max_examples=10, deadline=None)
@given(
    num_digits=st.integers(1, 3),
    num_frames=st.integers(1, 30),
    image_size=st.integers(28, 64),
    step_length=st.floats(0.0, 0.4),
)
def test_any_valid_configuration_stays_on_canvas(
    mnist_train, num_digits, num_frames, image_size, step_length
):
    source = MovingMNIST(
        num_digits, num_frames, image_size, step_length=step_length, digits=mnist_train[:50]
    )
    clips = source.generate(2, seed=num_frames)
    frames, positions = clips["frames"].numpy(), clips["positions"].numpy()
    assert frames.shape == (2, num_frames, image_size, image_size, 1)
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    assert positions.min() >= 0 and positions.max() <= image_size - 28
