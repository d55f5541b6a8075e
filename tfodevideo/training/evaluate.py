"""Evaluating a trained video model with the metric conventions of metrics.md.

Every report scores the black-frame and copy-last predictors on the same
frames as the model, overall and per frame index.
"""

import csv
import json
import os

import keras
import numpy as np

from tfodevideo import baselines
from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.data.files import load_moving_mnist_test
from tfodevideo.data.pipelines import array_dataset
from tfodevideo.data.pipelines import video_dataset
from tfodevideo.data.registry import TEST_SEED
from tfodevideo.data.registry import make_source
from tfodevideo.metrics import FrameScores
from tfodevideo.models import VideoODE

TEST_SETS = ("standard", "generated")
STANDARD_FRAMES = 20


def load_video_model(path):
    """Loads a `.keras` file and checks it holds a tfodevideo video model."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}")
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # Keras raises many kinds for foreign files.
        raise ValueError(f"{path!r} is not a Keras model file this version can read: {error}")
    if not isinstance(model, VideoODE):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a tfodevideo video model "
            "(VideoODE or LatentODE)."
        )
    return model


def test_pipeline(model, test_set, horizon, num_sequences, batch_size, dataset, seed):
    """The `(inputs, targets)` pipeline to score `model` on, and its horizon."""
    context = model.num_context
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
    source = make_source(dataset, split="test", num_frames=context + horizon)
    count = num_sequences or 1000
    count -= count % batch_size
    return video_dataset(source, batch_size, context, horizon, seed=seed,
                         num_clips=max(count, batch_size)), horizon


def evaluate(
    model_path,
    test_set="standard",
    horizon=None,
    num_sequences=None,
    batch_size=32,
    dataset="mmnist2",
    seed=TEST_SEED,
    out_dir=None,
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

    Returns:
        A dict with `summary` and `curves` for `model`, `black_frames` and
        `copy_last`.
    """
    check_choice("test_set", test_set, TEST_SETS)
    if horizon is not None:
        check_int("horizon", horizon, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    model = load_video_model(model_path)
    data, horizon = test_pipeline(model, test_set, horizon, num_sequences, batch_size,
                                  dataset, seed)
    image_shape = (*model.image_size, model.channels)

    def predict(inputs, num_target):
        if tuple(inputs["frames"].shape[2:]) != image_shape:
            raise ValueError(
                f"The model takes frames of {image_shape}; the test set has "
                f"{tuple(inputs['frames'].shape[2:])}."
            )
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
    write_per_frame_csv(report["curves"], os.path.join(out_dir, "per_frame.csv"))
    plot_curves(report, os.path.join(out_dir, "curves.png"))


def write_per_frame_csv(curves, path):
    """One row per predictor and frame index; a column per metric.

    Args:
        curves: dict of predictor name to a dict of metric name to values
            per frame index, as `FrameScores.curves()` gives them.
    """
    metrics = list(next(iter(curves.values())))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["predictor", "frame"] + metrics)
        for name, values in curves.items():
            for index in range(len(values[metrics[0]])):
                writer.writerow([name, index + 1] + [values[m][index] for m in metrics])


def plot_curves(report, path):
    """PSNR and SSIM per predicted frame, the model beside both baselines."""
    import matplotlib

    matplotlib.use("Agg")  # Files only; no display on servers.
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    frames = np.arange(1, report["horizon"] + 1)
    for axis, metric, label in zip(axes, ("psnr", "ssim"), ("PSNR (dB)", "SSIM (tf.image)")):
        for name, curves in report["curves"].items():
            axis.plot(frames, curves[metric], label=name, marker="o", markersize=3)
        axis.set_xlabel("predicted frame")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(
        f"{report['dataset']}: {report['num_context']} -> {report['horizon']}, "
        f"{report['num_sequences']} sequences"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
