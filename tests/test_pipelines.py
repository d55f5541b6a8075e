import numpy as np
import pytest
import tensorflow as tf

from tfodevideo.data import GaussianBall
from tfodevideo.data import MovingMNIST
from tfodevideo.data import array_dataset
from tfodevideo.data import make_dataset
from tfodevideo.data import video_dataset
from tfodevideo.data.registry import TEST_SEED
from tfodevideo.data.registry import VALIDATION_SEED


def first(dataset):
    return next(iter(dataset))


def test_structure_shapes_and_times():
    inputs, targets = first(make_dataset("mmnist2", batch_size=3, num_clips=6))
    assert set(inputs) == {"frames", "input_times", "query_times"}
    assert inputs["frames"].shape == (3, 10, 64, 64, 1) and targets.shape == (3, 10, 64, 64, 1)
    assert inputs["frames"].dtype == tf.float32 and targets.dtype == tf.float32
    np.testing.assert_allclose(inputs["input_times"], np.tile(np.arange(10) * 0.1, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(inputs["query_times"], np.tile(np.arange(10, 20) * 0.1, (3, 1)), atol=1e-6)
    assert 0.0 <= float(tf.reduce_min(targets)) and float(tf.reduce_max(targets)) <= 1.0


def test_frames_are_those_of_the_generated_clips_at_their_times():
    ball = GaussianBall(num_frames=30)
    clips = ball.generate(4, seed=9)["frames"].numpy()
    dataset = video_dataset(
        ball, 4, 3, 5, task="interpolate", grid="random", per_sample_grid=True, seed=9, num_clips=4
    )
    inputs, targets = first(dataset)
    for key, frames in (("input_times", inputs["frames"]), ("query_times", targets)):
        indices = np.round(inputs[key].numpy() / 0.1).astype(int)
        for b in range(4):
            # Eager and tf.data rendering may differ in denormals, nothing more.
            np.testing.assert_allclose(frames[b], clips[b, indices[b]], atol=1e-6)
    # Interpolation: every query lies between the first and last input times.
    assert np.all(inputs["query_times"].numpy().min(1) > inputs["input_times"].numpy().min(1))
    assert np.all(inputs["query_times"].numpy().max(1) < inputs["input_times"].numpy().max(1))


def test_clips_do_not_depend_on_batch_size():
    ball = GaussianBall(num_frames=6)
    small = [t.numpy() for _, t in video_dataset(ball, 2, 2, 4, num_clips=8, seed=1)]
    large = [t.numpy() for _, t in video_dataset(ball, 4, 2, 4, num_clips=8, seed=1)]
    np.testing.assert_array_equal(np.concatenate(small), np.concatenate(large))


def test_shared_and_per_sample_random_grids():
    ball = GaussianBall(num_frames=40)
    shared, _ = first(video_dataset(ball, 8, 4, 4, grid="random", num_clips=8))
    rows = shared["input_times"].numpy()
    assert (rows == rows[0]).all() and rows[0, -1] > 0.35  # Frames were dropped.
    own, _ = first(video_dataset(ball, 8, 4, 4, grid="random", per_sample_grid=True, num_clips=8))
    assert len({tuple(r) for r in own["query_times"].numpy()}) > 1


def test_streams_without_end_and_with_offsets(mnist_train):
    source = MovingMNIST(num_digits=1, num_frames=4, digits=mnist_train)
    stream = video_dataset(source, 2, 2, 2)
    batches = [t for _, t in stream.take(3)]
    assert len(batches) == 3
    later = first(video_dataset(source, 2, 2, 2, start=4))[1]
    np.testing.assert_array_equal(batches[2], later)


@pytest.mark.parametrize("name", ["ball", "mmnist1"])
def test_the_three_splits_hold_different_clips(name):
    clips = {split: first(make_dataset(name, batch_size=4, split=split, num_clips=4))[1].numpy()
             for split in ("train", "validation", "test")}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        for clip in clips[a]:
            assert not any(np.allclose(clip, other) for other in clips[b]), (a, b)
    # Held-out splits are the same whatever the training seed.
    again = first(make_dataset(name, batch_size=4, split="validation", num_clips=4))[1]
    np.testing.assert_array_equal(clips["validation"], again)


def test_training_may_not_use_a_held_out_seed():
    with pytest.raises(ValueError, match="seed=2015"):
        make_dataset("ball", 2, seed=TEST_SEED)
    with pytest.raises(ValueError, match="seed=1789"):
        make_dataset("ball", 2, seed=VALIDATION_SEED)


def test_longer_clips():
    longer = first(make_dataset("ball", 2, num_clips=2, source_args={"num_frames": 40},
                                num_target=38))[1]
    assert longer.shape == (2, 38, 28, 28, 1)


def test_distributed_workers_split_by_data():
    dataset = make_dataset("ball", batch_size=2, num_clips=4)
    policy = dataset.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA


def test_standard_test_set_pipeline(standard_test):
    batches = list(array_dataset(standard_test, 100, 10, 10))
    assert sum(t.shape[0] for _, t in batches) == 999 and batches[-1][1].shape[0] == 99
    inputs, targets = batches[0]
    np.testing.assert_allclose(targets[5, 0], standard_test[5, 10] / 255.0, atol=1e-7)
    np.testing.assert_allclose(inputs["frames"][5, 9], standard_test[5, 9] / 255.0, atol=1e-7)
    np.testing.assert_allclose(inputs["query_times"][0], np.arange(10, 20) * 0.1, atol=1e-6)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: make_dataset("kth", 2), "dataset"),
        (lambda: make_dataset("ball", 0), "batch_size"),
        (lambda: make_dataset("ball", 2, split="val"), "split"),
        (lambda: make_dataset("ball", 2, num_context=10, num_target=11), "num_target"),
        (lambda: make_dataset("ball", 2, per_sample_grid=True), "per_sample_grid"),
        (lambda: make_dataset("ball", 2, grid="poisson"), "grid"),
        (lambda: make_dataset("ball", 4, num_clips=2), "num_clips"),
        (lambda: make_dataset("ball", 2, source_args={"colour": "red"}), "colour"),
        (lambda: array_dataset(np.zeros((2, 20, 64, 64), np.uint8), 2, 10, 10), "clips"),
    ],
)
def test_bad_arguments_name_themselves(call, name):
    with pytest.raises(ValueError, match=name):
        call()
