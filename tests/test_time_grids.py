import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tfodevideo.data import random_grid
from tfodevideo.data import regular_grid


def as_lists(pair):
    return [x.numpy().tolist() for x in pair]


def test_regular_grids():
    assert as_lists(regular_grid(20, 10, 10)) == [list(range(10)), list(range(10, 20))]
    assert as_lists(regular_grid(20, 2, 18, "interpolate")) == [[0, 19], list(range(1, 19))]
    assert as_lists(regular_grid(20, 3, 4, "interpolate")) == [[0, 3, 6], [1, 2, 4, 5]]


@settings(max_examples=25, deadline=None)
@given(
    num_frames=st.integers(4, 60),
    num_context=st.integers(2, 6),
    num_target=st.integers(1, 10),
    task=st.sampled_from(["extrapolate", "interpolate"]),
    seed=st.integers(0, 10**6),
)
def test_random_grids_are_sorted_subsets_split_by_task(
    num_frames, num_context, num_target, task, seed
):
    if num_context + num_target > num_frames:
        with pytest.raises(ValueError, match="num_frames"):
            random_grid([0, seed], num_frames, num_context, num_target, task)
        return
    context, target = as_lists(random_grid([0, seed], num_frames, num_context, num_target, task))
    assert len(context) == num_context and len(target) == num_target
    chosen = sorted(context + target)
    assert len(set(chosen)) == len(chosen) and 0 <= chosen[0] and chosen[-1] < num_frames
    assert context == sorted(context) and target == sorted(target)
    if task == "extrapolate":
        assert max(context) < min(target)
    else:
        assert min(context) < min(target) and max(target) < max(context)
    again = as_lists(random_grid([0, seed], num_frames, num_context, num_target, task))
    assert again == [context, target]


def test_random_grids_drop_frames_differently_per_seed():
    grids = {tuple(random_grid([0, s], 40, 4, 4)[0].numpy()) for s in range(10)}
    assert len(grids) > 5


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: regular_grid(20, 1, 5, "interpolate"), "num_context"),
        (lambda: regular_grid(20, 2, 5, "forecast"), "task"),
        (lambda: regular_grid(20, 0, 5), "num_context"),
        (lambda: regular_grid(20, 15, 6), "num_target"),
    ],
)
def test_bad_arguments_name_themselves(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_grid_indices_are_int64():
    context, _ = random_grid(tf.constant([3, 4], tf.int64), 10, 2, 2)
    assert context.dtype == tf.int64
