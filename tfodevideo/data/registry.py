"""The named data sets: their generator, clip shape and context/target lengths.

One place holds each data set's constants, so nothing elsewhere guesses them
from a name. `make_source` builds the generator; `make_dataset` the pipeline.
"""

import dataclasses
import inspect

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_image_size
from tfodevideo._checks import check_int
from tfodevideo.data.ball import GaussianBall
from tfodevideo.data.moving_mnist import MovingMNIST
from tfodevideo.data.pipelines import select_frames
from tfodevideo.data.pipelines import video_dataset
from tfodevideo.data.time_grids import regular_grid

SPLITS = ("train", "validation", "test")
# Held-out splits draw their own streams of clips. Training streams may use
# any other seed (`make_dataset` refuses these two for `split="train"`).
VALIDATION_SEED = 1789
TEST_SEED = 2015
HELD_OUT_SEEDS = {"validation": VALIDATION_SEED, "test": TEST_SEED}


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A named data set.

    Attributes:
        name: registry name.
        description: one line for listings.
        source: the `VideoSource` class.
        source_args: keyword arguments of the source.
        num_context: default number of input frames.
        num_target: default number of frames to predict.
    """

    name: str
    description: str
    source: type
    source_args: dict
    num_context: int
    num_target: int


DATASETS = {
    spec.name: spec
    for spec in (
        DataSpec(
            "ball",
            "Gaussian ball, 28x28, free motion bouncing off walls, 20 frames",
            GaussianBall,
            {"physics": "free", "num_frames": 20},
            2,
            18,
        ),
        DataSpec(
            "ball_looks",
            "Gaussian ball whose look varies between clips (gaussian, ring or square; "
            "width 1-2 px; brightness 0.5-1), 28x28, free motion, 20 frames",
            GaussianBall,
            {"physics": "free", "num_frames": 20, "looks": ["gaussian", "ring", "square"],
             "sigma": [1.0, 2.0], "brightness": [0.5, 1.0]},
            2,
            18,
        ),
        DataSpec(
            "ball_growing",
            "Gaussian ball whose width grows or shrinks over the clip (rate -0.25 to 0.25 "
            "per unit time from 1-1.5 px), 28x28, free motion, 20 frames",
            GaussianBall,
            {"physics": "free", "num_frames": 20, "sigma": [1.0, 1.5],
             "sigma_rate": [-0.25, 0.25]},
            2,
            18,
        ),
        DataSpec(
            "mmnist1",
            "one-digit Moving MNIST, 64x64, 20 frames",
            MovingMNIST,
            {"num_digits": 1, "num_frames": 20},
            2,
            18,
        ),
        DataSpec(
            "mmnist2",
            "two-digit Moving MNIST, 64x64, 20 frames (the standard benchmark)",
            MovingMNIST,
            {"num_digits": 2, "num_frames": 20},
            10,
            10,
        ),
    )
}


def get_spec(name):
    """Returns the `DataSpec` of a registered data set."""
    return DATASETS[check_choice("dataset", name, DATASETS)]


def frame_shape(name):
    """`(H, W, C)` of a registered data set's frames, without building its
    source (which for Moving MNIST reads MNIST)."""
    spec = get_spec(name)
    size = spec.source_args.get(
        "image_size", inspect.signature(spec.source).parameters["image_size"].default
    )
    return (*check_image_size(size), spec.source.channels)


def make_source(name, split="train", **overrides):
    """Builds the generator of a named data set.

    Args:
        name: a key of `DATASETS`.
        split: `"train"`, `"validation"` or `"test"`; for Moving MNIST it
            picks the disjoint slice of MNIST the digits come from.
        **overrides: source arguments replacing the registry's, e.g.
            `num_frames=100` or `physics="gravity"`.
    """
    spec = get_spec(name)
    check_choice("split", split, SPLITS)
    args = {**spec.source_args, **overrides}
    if spec.source is MovingMNIST:
        args["split"] = split
    try:
        return spec.source(**args)
    except TypeError as error:
        raise ValueError(
            f"Bad override for data set {name!r}: {error}. Received: {overrides!r}"
        ) from None


def make_dataset(
    name,
    batch_size,
    split="train",
    num_context=None,
    num_target=None,
    seed=None,
    source_args=None,
    **pipeline_args,
):
    """The tf.data pipeline of a named data set.

    Args:
        name: a key of `DATASETS`.
        batch_size: clips per batch.
        split: `"train"` (fit on it), `"validation"` (checkpoints, early
            stopping, tuning, every design choice) or `"test"` (scored for
            the record only). Each uses its own MNIST digits (for Moving
            MNIST) and its own seed: `VALIDATION_SEED`, `TEST_SEED`.
        num_context, num_target: override the data set's defaults.
        seed: integer seed of the stream (default 0 for training, the
            split's seed for held-out splits). A training stream may not use
            a held-out split's seed: its clips would be that split's.
        source_args: dict of overrides for the source, see `make_source`.
        **pipeline_args: further arguments of `video_dataset` (`task`, `grid`,
            `per_sample_grid`, `num_clips`, `start`).

    Example:

    >>> ds = make_dataset("ball", batch_size=8, num_clips=16)
    >>> inputs, targets = next(iter(ds))
    >>> targets.shape
    TensorShape([8, 18, 28, 28, 1])
    """
    spec = get_spec(name)
    source = make_source(name, split, **(source_args or {}))
    check_choice("split", split, SPLITS)
    if seed is None:
        seed = HELD_OUT_SEEDS.get(split, 0)
    elif split == "train" and seed in HELD_OUT_SEEDS.values():
        raise ValueError(
            f"Seed {seed} is reserved for held-out clips ({HELD_OUT_SEEDS}); train "
            f"on another. Received: seed={seed}"
        )
    return video_dataset(
        source,
        batch_size,
        num_context=spec.num_context if num_context is None else num_context,
        num_target=spec.num_target if num_target is None else num_target,
        seed=seed,
        **pipeline_args,
    )


def held_out_clips(source, num_clips, batch_size, split="test", seed=None):
    """Batches of clips of a held-out split's stream, in clip order.

    The one convention of scored clips: clip `k` is index `k` of the split's
    stream whatever the batch size, and the last batch holds the remainder.

    Args:
        source: the split's source (`make_source(name, split, ...)`).
        num_clips: clips in all.
        batch_size: clips per batch.
        split: `"test"` or `"validation"`.
        seed: stream of the split (default: the split's own seed).

    Yields:
        The source's dicts (`frames`, `positions`...) of each batch.
    """
    check_choice("split", split, tuple(HELD_OUT_SEEDS))
    num_clips = check_int("num_clips", num_clips, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = HELD_OUT_SEEDS[split] if seed is None else seed
    for start in range(0, num_clips, batch_size):
        yield source.generate(min(batch_size, num_clips - start), seed=seed, start=start)


def held_out_batches(name, num_context, num_target, num_clips, batch_size, split="test",
                     seed=None):
    """`(inputs, targets, clips)` batches of held-out clips, in clip order
    (see `held_out_clips`): the scored clips of evaluation and benchmarks,
    with the source's dict of each batch for measures beyond frames.

    Args:
        name: a key of `DATASETS`.
        num_context, num_target: input frames, then predicted ones (a regular
            grid from each clip's first frame).
        num_clips, batch_size, split, seed: as `held_out_clips`.
    """
    source = make_source(name, split, num_frames=num_context + num_target)
    context, target = regular_grid(source.num_frames, num_context, num_target)
    for clips in held_out_clips(source, num_clips, batch_size, split, seed):
        inputs, targets = select_frames(clips["frames"], context, target, source.frame_dt)
        yield inputs, targets, clips
