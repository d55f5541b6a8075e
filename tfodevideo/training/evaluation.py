"""Evaluating a trained video model with the metric conventions of metrics.md.

Every report scores the black-frame and copy-last predictors on the same
frames as the model, overall and per frame index.
"""

import json
import os

from tfodevideo import baselines
from tfodevideo import viz
from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.data.files import load_moving_mnist_test
from tfodevideo.data.pipelines import array_dataset
from tfodevideo.data.registry import DATASETS
from tfodevideo.data.registry import TEST_SEED
from tfodevideo.data.registry import frame_shape
from tfodevideo.data.registry import held_out_batches
from tfodevideo.metrics import FrameScores
from tfodevideo.models import load_model
from tfodevideo.precision import model_precision
from tfodevideo.training.choices import TEST_SETS

STANDARD_FRAMES = 20
STANDARD_SHAPE = (64, 64, 1)
# Generated test clips scored when `num_sequences` is not given.
GENERATED_SEQUENCES = 1000


def test_pipeline(model, test_set, horizon, num_sequences, batch_size, dataset, seed):
    """The `(inputs, targets)` batches to score `model` on, and its horizon."""
    context = model.num_context
    check_frames_fit(model, test_set, dataset)
    if test_set == "standard":
        horizon = horizon or STANDARD_FRAMES - context
        if context + horizon > STANDARD_FRAMES:
            raise ValueError(
                f"The standard test clips have {STANDARD_FRAMES} frames: a model with "
                f"{context} input frames can be scored on at most "
                f"{STANDARD_FRAMES - context}. Received: horizon={horizon}. Use "
                "--test-set generated for longer horizons."
            )
        clips = load_moving_mnist_test(num_sequences=num_sequences)
        return array_dataset(clips[:, : context + horizon], batch_size, context, horizon), horizon
    horizon = horizon or STANDARD_FRAMES - context
    count = num_sequences or GENERATED_SEQUENCES
    batches = held_out_batches(dataset, context, horizon, count, batch_size, seed=seed)
    return ((inputs, targets) for inputs, targets, _ in batches), horizon


def _frame_shape(test_set, dataset):
    return STANDARD_SHAPE if test_set == "standard" else frame_shape(dataset)


def check_frames_fit(model, test_set, dataset, flags="--test-set generated --dataset"):
    """Refuses a test set of another frame size than `model`'s, naming the
    `flags` and data sets that fit."""
    wanted = (*model.image_size, model.channels)
    if _frame_shape(test_set, dataset) == wanted:
        return
    fitting = [name for name in DATASETS if _frame_shape("generated", name) == wanted]
    where = "the standard test set" if test_set == "standard" else f"data set {dataset!r}"
    advice = (f"pass {flags} {' or '.join(fitting)}" if fitting
              else "no data set of tfodevideo has frames of that size")
    size = "x".join(map(str, _frame_shape(test_set, dataset)[:2]))
    raise ValueError(
        f"The model takes {wanted[0]}x{wanted[1]} frames with {wanted[2]} channel(s); "
        f"{where} has {size}: {advice}."
    )


def evaluate(
    model_path,
    test_set="standard",
    horizon=None,
    num_sequences=None,
    batch_size=32,
    dataset="mmnist2",
    seed=TEST_SEED,
    out_dir=None,
    precision=None,
):
    """Scores a model and both baselines; writes JSON, CSV and PNG to `out_dir`.

    Args:
        model_path: a `.keras` file of a `VideoODE` or `LatentODE`.
        test_set: `"standard"` (the Moving MNIST test file, see
            `load_moving_mnist_test`) or `"generated"` (clips of MNIST test
            digits from a fixed seed, for horizons beyond 20 frames).
        horizon: frames to predict after the inputs (default: up to frame 20).
        num_sequences: score only this many sequences.
        batch_size: sequences per batch.
        dataset: the generated data set (`mmnist1`, `mmnist2`, `ball`).
        seed: seed of the generated test clips.
        out_dir: where to write `evaluation.json`, `per_frame.csv` and
            `curves.png`; nothing is written when None.
        precision: compute in this precision instead of the saved one (see
            `load_model`); recorded in the report.

    Returns:
        A dict with `summary` and `curves` for `model`, `black_frames` and
        `copy_last`.
    """
    check_choice("test_set", test_set, TEST_SETS)
    if horizon is not None:
        check_int("horizon", horizon, minimum=1)
    if num_sequences is not None:
        check_int("num_sequences", num_sequences, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    model = load_model(model_path, precision)
    data, horizon = test_pipeline(model, test_set, horizon, num_sequences, batch_size,
                                  dataset, seed)

    def predict(inputs, num_target):
        return model(inputs, training=False)

    scores = score_predictors({"model": predict, **baselines.BASELINES}, data)
    count = scores["model"].count
    report = {
        "model_path": model_path,
        "test_set": test_set,
        "dataset": dataset if test_set == "generated" else "moving_mnist_standard_test",
        "num_context": model.num_context,
        "horizon": horizon,
        "num_sequences": count,
        "precision": model_precision(model),
        "summary": {name: s.summary() for name, s in scores.items()},
        "curves": {name: {k: v.tolist() for k, v in s.curves().items()}
                   for name, s in scores.items()},
    }
    if out_dir:
        write_report(report, out_dir)
    return report


def score_predictors(predictors, data):
    """Scores several predictors on the same frames, per frame index.

    Args:
        predictors: dict of name to a callable `(inputs, num_target) ->
            frames`, e.g. `baselines.BASELINES` or a wrapped model.
        data: batches of `(inputs, targets)` as the pipelines give them.

    Returns:
        A dict of name to `FrameScores`.
    """
    scores = {name: FrameScores() for name in predictors}
    for inputs, targets in data:
        for name, predictor in predictors.items():
            scores[name].update(targets, predictor(inputs, int(targets.shape[1])))
    return scores


def write_report(report, out_dir):
    """Writes `evaluation.json`, `per_frame.csv` and `curves.png`."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "evaluation.json"), "w") as f:
        json.dump(report, f, indent=2)
    viz.write_per_frame_csv(report["curves"], os.path.join(out_dir, "per_frame.csv"))
    viz.plot_curves(report, os.path.join(out_dir, "curves.png"))
