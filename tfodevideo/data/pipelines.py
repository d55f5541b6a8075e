"""tf.data pipelines that feed the video models.

Every pipeline yields `(inputs, targets)` as `model.fit` expects:

- `inputs["frames"]`: context frames `(batch, num_context, H, W, C)` float32,
- `inputs["input_times"]`: their times `(batch, num_context)`,
- `inputs["query_times"]`: times to predict `(batch, num_target)`,
- `targets`: the true frames at the query times `(batch, num_target, H, W, C)`.

Times are always given per sample; with a shared grid all rows of a batch are
equal. Synthetic clips are keyed by their index in the stream, so the data is
the same whatever the batch size, parallelism or `tf.distribute` sharding.
"""

import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.constants import FRAME_DT
from tfodevideo.data.seeding import clip_and_grid_seeds
from tfodevideo.data.time_grids import GRIDS
from tfodevideo.data.time_grids import check_grid_args
from tfodevideo.data.time_grids import random_grid
from tfodevideo.data.time_grids import regular_grid


def select_frames(frames, context, target, frame_dt):
    """Builds `(inputs, targets)` from clips and frame indices.

    Args:
        frames: clips `(batch, num_frames, H, W, C)`.
        context, target: frame indices, shared `(n,)` or per sample `(batch, n)`.
        frame_dt: time between frames.
    """
    batch = tf.shape(frames)[0]
    per_sample = context.shape.rank == 2

    def take(indices):
        picked = tf.gather(frames, indices, axis=1, batch_dims=int(per_sample))
        times = tf.cast(indices, tf.float32) * frame_dt
        if not per_sample:
            times = tf.tile(times[None], [batch, 1])
        return picked, times

    context_frames, input_times = take(context)
    target_frames, query_times = take(target)
    inputs = {
        "frames": context_frames,
        "input_times": input_times,
        "query_times": query_times,
    }
    return inputs, target_frames


def video_dataset(
    source,
    batch_size,
    num_context,
    num_target,
    task="extrapolate",
    grid="regular",
    per_sample_grid=False,
    seed=0,
    num_clips=None,
    start=0,
):
    """A batched, prefetched stream of clips from a `VideoSource`.

    Args:
        source: a `VideoSource`, e.g. `MovingMNIST()` or `GaussianBall()`.
        batch_size: clips per batch; a last incomplete batch is dropped.
        num_context: input frames per clip.
        num_target: frames to predict per clip.
        task: `"extrapolate"` or `"interpolate"` (see `time_grids`).
        grid: `"regular"` (consecutive frames) or `"random"` (a random subset,
            so frames go missing and spacing is irregular).
        per_sample_grid: with `grid="random"`, draw one grid per clip instead
            of one per batch.
        seed: integer seed of the stream.
        num_clips: number of clips; None streams without end (fresh clips in
            every epoch: pass `steps_per_epoch` to `fit`).
        start: index of the first clip, to resume or to hold out a range.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`, see the module docstring.

    Example:

    >>> from tfodevideo.data import GaussianBall
    >>> ds = video_dataset(GaussianBall(), batch_size=4, num_context=2,
    ...                    num_target=18, num_clips=8)
    >>> inputs, targets = next(iter(ds))
    >>> inputs["frames"].shape, targets.shape
    (TensorShape([4, 2, 28, 28, 1]), TensorShape([4, 18, 28, 28, 1]))
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_choice("grid", grid, GRIDS)
    check_int("seed", seed)
    start = check_int("start", start, minimum=0)
    num_context, num_target = check_grid_args(
        source.num_frames, num_context, num_target, task
    )
    if num_clips is not None:
        num_clips = check_int("num_clips", num_clips, minimum=batch_size)
    if per_sample_grid and grid != "random":
        raise ValueError(
            "`per_sample_grid=True` needs `grid='random'`: a regular grid is the "
            f"same for every clip. Received: grid={grid!r}"
        )

    def random_indices(grid_seed):
        return random_grid(grid_seed, source.num_frames, num_context, num_target, task)

    def sample(index):
        clip_seed, grid_seed = clip_and_grid_seeds(seed, index)
        params = source.sample(clip_seed)
        grid_indices = random_indices(grid_seed) if per_sample_grid else ()
        return params, grid_seed, grid_indices

    def assemble(params, grid_seeds, grid_indices):
        frames = source.render(params)["frames"]
        if per_sample_grid:
            context, target = grid_indices
        elif grid == "random":
            # The batch shares the grid drawn for its first clip.
            context, target = random_indices(grid_seeds[0])
        else:
            context, target = regular_grid(
                source.num_frames, num_context, num_target, task
            )
        return select_frames(frames, context, target, source.frame_dt)

    if num_clips is None:
        indices = tf.data.Dataset.counter(start)
    else:
        indices = tf.data.Dataset.range(start, start + num_clips)
    dataset = (
        indices.map(sample, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=True)
        .map(assemble, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return _shard_by_data(dataset)


def array_dataset(clips, batch_size, num_context, num_target, frame_dt=FRAME_DT):
    """A pipeline over stored clips, e.g. the standard Moving MNIST test set.

    Args:
        clips: uint8 (0-255) or float (0-1) array `(N, num_frames, H, W, C)`.
        batch_size: clips per batch; the last batch may be smaller so that
            every clip is scored.
        num_context, num_target: consecutive frames from the start of each
            clip: context first, then targets (extrapolation).
        frame_dt: time between frames.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)` in clip order.
    """
    if clips.ndim != 5:
        raise ValueError(
            "`clips` must have shape (N, num_frames, height, width, channels). "
            f"Received: shape={clips.shape}"
        )
    batch_size = check_int("batch_size", batch_size, minimum=1)
    context, target = regular_grid(clips.shape[1], num_context, num_target)
    scale = 1.0 / 255.0 if clips.dtype == "uint8" else 1.0

    def assemble(batch):
        frames = tf.cast(batch, tf.float32) * scale
        return select_frames(frames, context, target, frame_dt)

    dataset = (
        tf.data.Dataset.from_tensor_slices(clips)
        .batch(batch_size)
        .map(assemble, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return _shard_by_data(dataset)


def _shard_by_data(dataset):
    """Under `tf.distribute`, workers split batches rather than files."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)
