"""Prediction quality at equal compute: tfodevideo against a ConvLSTM and trivial predictors.

Three settings, each with its own tfodevideo preset (for Moving MNIST the
`_cpu` presets, whose conv trunk an hour of CPU can train):

- `mmnist2_10to10`: two-digit Moving MNIST, 10 -> 10, scored on the first
  999 sequences of the standard test set (metrics.md conventions); the
  per-frame curve 10 -> 90 on generated test clips.
- `mmnist1_2to18`: one digit, 2 -> 18 on generated clips of MNIST test
  digits (seed `TEST_SEED`); the curve 2 -> 38.
- `ball_2to18`: the Gaussian ball, 2 -> 18, and the error of the ball's
  centre in pixels (intensity centroid of each predicted frame against the
  true centre) at 1x and 2x the training horizon (frames 18 and 38).

In each setting the tfodevideo model and a ConvLSTM baseline train on the
same generated stream for the same wall-clock budget, side by side, each
process pinned to its own half of the cores (`benchmarks.budget_training`);
then both are scored beside the black-frame and copy-last predictors on the
same frames. Trained contestants are kept in `--workdir`, so a killed run
resumes at the contestant it was training.

    python -m benchmarks.quality --budget-minutes 60 [--side-budget-minutes 10]
    python -m benchmarks.quality --small --budget-minutes 0.1   # tests

Writes `WORKDIR/quality.json`, and per setting `per_frame.csv`,
`curves.png` (long horizon) and `frames.png` (ground truth vs each
contestant), and prints the tables with the issue's targets checked.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks.budget_training import CONTESTANTS
from tfodevideo import baselines  # The package import registers the models.
from tfodevideo.data.files import load_moving_mnist_test
from tfodevideo.data.pipelines import array_dataset
from tfodevideo.data.pipelines import select_frames
from tfodevideo.data.registry import TEST_SEED
from tfodevideo.data.registry import make_source
from tfodevideo.data.time_grids import regular_grid
from tfodevideo.metrics import FrameScores
from tfodevideo.training.evaluate import plot_curves
from tfodevideo.training.evaluate import score_predictors
from tfodevideo.training.evaluate import write_per_frame_csv
from tfodevideo.training.presets import resolve
from tfodevideo.viz import frame_grid
from tfodevideo.viz import save_png

# Seeds of the long-horizon clips differ from the table's so the two sets
# are independent draws.
LONG_SEED = TEST_SEED + 1
BLACK_PSNR_MARGIN_DB = 3.0
# Training runs as `python -m benchmarks.budget_training` from the checkout.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Setting:
    """One benchmark setting.

    Attributes:
        name: the setting's name, also the tfodevideo preset's.
        preset: the tfodevideo contestant's preset.
        standard_test: score the table on the standard Moving MNIST test
            file (else on generated test clips).
        horizon: frames predicted in the table (the training horizon).
        long_horizon: frames of the per-frame curves.
        centre_error: measure the ball centre error.
    """

    name: str
    preset: str
    standard_test: bool
    horizon: int
    long_horizon: int
    centre_error: bool = False


SETTINGS = {
    s.name: s
    for s in (
        Setting("mmnist2_10to10", "mmnist2_10to10_cpu", True, 10, 90),
        Setting("mmnist1_2to18", "mmnist1_2to18_cpu", False, 18, 38),
        Setting("ball_2to18", "ball_latent_ode", False, 18, 38, centre_error=True),
    )
}
MAIN_SETTING = "mmnist2_10to10"


def core_shares(count, cores=None):
    """Splits the usable cores into `count` disjoint, equal shares."""
    if cores is None:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not count:
        return []
    if len(cores) < count:
        return [None] * count  # Too few cores to pin: share them all.
    size = len(cores) // count
    return [cores[i * size : (i + 1) * size] for i in range(count)]


def train_contestants(setting, minutes, folder, small):
    """Trains the learned contestants side by side, skipping finished ones.

    Returns:
        Each contestant's training record (`benchmarks.budget_training`).
    """
    os.makedirs(folder, exist_ok=True)

    def record_path(name):
        return os.path.join(folder, f"{name}.json")

    def read_record(name):
        with open(record_path(name)) as f:
            return json.load(f)

    records = {name: read_record(name) for name in CONTESTANTS
               if os.path.exists(record_path(name))}
    for name, record in records.items():
        if record["budget_minutes"] != minutes or record["small"] != small:
            raise ValueError(
                f"{record_path(name)} was trained for {record['budget_minutes']} minutes "
                f"(small={record['small']}), not {minutes} (small={small}). Use a "
                "fresh --workdir to change the budget."
            )
    todo = [name for name in CONTESTANTS if name not in records]
    processes = []
    for name, cores in zip(todo, core_shares(len(todo))):
        command = [sys.executable, "-m", "benchmarks.budget_training",
                   "--preset", setting.preset, "--contestant", name,
                   "--minutes", str(minutes), "--out", folder]
        if small:
            command.append("--small")
        log = open(os.path.join(folder, f"{name}.log"), "w")
        pin = (lambda c=cores: os.sched_setaffinity(0, c)) if cores else None
        print(f"[{setting.name}] training {name} for {minutes:g} min on cores "
              f"{cores or 'all'}", flush=True)
        processes.append((name, log, subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin, cwd=ROOT)))
    for name, log, process in processes:
        process.wait()
        log.close()
        if process.returncode:
            raise RuntimeError(
                f"Training {name} for {setting.name} failed (exit {process.returncode}); "
                f"see {log.name}."
            )
    records.update({name: read_record(name) for name in todo})
    return {name: records[name] for name in CONTESTANTS}


def _model_predictor(path):
    model = keras.saving.load_model(path)
    # One trace per shape: the table, its last partial batch, the long horizon.
    call = tf.function(lambda inputs: model(inputs, training=False))
    return lambda inputs, num_target: call(inputs)


def generated_batches(dataset, num_context, num_target, num_sequences, batch_size, seed):
    """`(inputs, targets, centres)` of generated test clips, in clip order."""
    source = make_source(dataset, split="test", num_frames=num_context + num_target)
    context, target = regular_grid(source.num_frames, num_context, num_target)
    for start in range(0, num_sequences, batch_size):
        clips = source.generate(min(batch_size, num_sequences - start), seed=seed, start=start)
        inputs, targets = select_frames(clips["frames"], context, target, source.frame_dt)
        yield inputs, targets, tf.gather(clips["positions"], target, axis=1)


def centroids(frames):
    """Intensity centroid `(x, y)` = (column, row) in pixels of frames
    `(..., H, W, 1)`; NaN for an all-black frame."""
    weights = np.asarray(frames, np.float64)[..., 0]
    height, width = weights.shape[-2:]
    total = weights.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (weights * np.arange(width)).sum(axis=(-2, -1)) / total
        y = (weights * np.arange(height)[:, None]).sum(axis=(-2, -1)) / total
    return np.stack([x, y], axis=-1)


def _table_data(setting, dataset, num_context, sizes):
    if setting.standard_test:
        clips = load_moving_mnist_test(num_sequences=sizes["standard"])
        return array_dataset(clips[:, : num_context + setting.horizon], sizes["batch"],
                             num_context, setting.horizon)
    batches = generated_batches(dataset, num_context, setting.horizon, sizes["table"],
                                sizes["batch"], TEST_SEED)
    return ((inputs, targets) for inputs, targets, _ in batches)


def score_setting(setting, folder, sizes):
    """Scores every contestant of a setting; writes CSV and PNGs to `folder`."""
    preset = resolve(setting.preset)
    dataset, num_context = preset.dataset, preset.data["num_context"]
    predictors = {name: _model_predictor(os.path.join(folder, f"{name}.keras"))
                  for name in CONTESTANTS}
    predictors.update(baselines.BASELINES)
    table = score_predictors(predictors, _table_data(setting, dataset, num_context, sizes))

    curves = {name: FrameScores() for name in predictors}
    errors = {name: [] for name in predictors}
    shown = None
    for inputs, targets, centres in generated_batches(
        dataset, num_context, setting.long_horizon, sizes["long"], sizes["batch"], LONG_SEED
    ):
        predicted = {name: p(inputs, setting.long_horizon) for name, p in predictors.items()}
        for name, frames in predicted.items():
            curves[name].update(targets, frames)
            if setting.centre_error:
                errors[name].append(np.linalg.norm(centroids(frames) - centres, axis=-1))
        if setting.centre_error:
            errors.setdefault("ground_truth", []).append(
                np.linalg.norm(centroids(targets) - centres, axis=-1))
        if shown is None:
            shown = (targets, predicted)
    result = {
        "setting": setting.name,
        "dataset": "moving_mnist_standard_test" if setting.standard_test else dataset,
        "num_context": num_context,
        "horizon": setting.horizon,
        "table_sequences": table["copy_last"].count,
        "table": {name: s.summary() for name, s in table.items()},
        "long_horizon": setting.long_horizon,
        "long_sequences": curves["copy_last"].count,
        "curves": {name: {k: v.tolist() for k, v in s.curves().items()}
                   for name, s in curves.items()},
    }
    if setting.centre_error:
        result["centre_error_px"] = centre_summary(errors, setting.horizon,
                                                   setting.long_horizon)
    write_setting(result, shown, folder, sizes["shown"])
    return result


def centre_summary(errors, horizon, long_horizon):
    """Mean centre error at the last frame of the training horizon (1x), at
    the last frame of the long horizon (2x: clips twice as long as in
    training), and over the frames within and beyond the training horizon."""
    summary = {}
    for name, batches in errors.items():
        per_frame = np.concatenate(batches)  # (sequences, frames)
        if np.isnan(per_frame).any():  # Black frames have no centroid.
            summary[name] = None
            continue
        mean = per_frame.mean(axis=0)
        summary[name] = {
            "at_1x": float(mean[horizon - 1]),
            "at_2x": float(mean[long_horizon - 1]),
            "mean_1x": float(mean[:horizon].mean()),
            "mean_beyond_1x": float(mean[horizon:].mean()),
        }
    return summary


def write_setting(result, shown, folder, num_shown):
    """`per_frame.csv`, `curves.png` and `frames.png` of one setting."""
    write_per_frame_csv(result["curves"], os.path.join(folder, "per_frame.csv"))
    plot_curves({"curves": result["curves"], "horizon": result["long_horizon"],
                 "dataset": result["setting"], "num_context": result["num_context"],
                 "num_sequences": result["long_sequences"]},
                os.path.join(folder, "curves.png"))
    targets, predicted = shown
    frames = min(result["horizon"], targets.shape[1])
    rows = []
    for i in range(min(num_shown, targets.shape[0])):
        rows.append(targets[i, :frames])
        rows.extend(np.asarray(predicted[name][i, :frames]) for name in predicted)
    save_png(os.path.join(folder, "frames.png"), frame_grid(np.stack(rows)))


def check_targets(main):
    """The issue's targets on the main setting: a list of `(target, met)`."""
    table = main["table"]
    ours, convlstm, black = table["tfodevideo"], table["convlstm"], table["black_frames"]
    return [
        ("tfodevideo mse_frame below ConvLSTM's", ours["mse_frame"] < convlstm["mse_frame"]),
        ("tfodevideo ssim above ConvLSTM's", ours["ssim"] > convlstm["ssim"]),
        (f"tfodevideo PSNR at least {BLACK_PSNR_MARGIN_DB:g} dB above black frames "
         f"({black['psnr'] + BLACK_PSNR_MARGIN_DB:.2f} dB)",
         ours["psnr"] >= black["psnr"] + BLACK_PSNR_MARGIN_DB),
    ]


def print_tables(results, budgets, training):
    for name, result in results.items():
        print(f"\n## {name}: {result['num_context']} -> {result['horizon']} on "
              f"{result['table_sequences']} sequences of {result['dataset']} "
              f"(training budget {budgets[name]:g} min each)")
        print("| predictor | steps | sequences seen | mse_frame | mae_frame | psnr | ssim | ssim_paper |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for predictor, s in result["table"].items():
            record = training[name].get(predictor)
            seen = (f"{record['steps']} | {record['sequences']}" if record else "- | -")
            print(f"| {predictor} | {seen} | {s['mse_frame']:.2f} | {s['mae_frame']:.2f} | "
                  f"{s['psnr']:.2f} | {s['ssim']:.4f} | {s['ssim_paper']:.4f} |")
        if "centre_error_px" in result:
            h, long = result["horizon"], result["long_horizon"]
            print(f"\nCentre error in pixels on {result['long_sequences']} sequences: "
                  f"predictor | frame {h} (1x) | frame {long} (2x) | mean 1-{h} | "
                  f"mean {h + 1}-{long}")
            for predictor, e in result["centre_error_px"].items():
                cells = (" | ".join(f"{e[k]:.2f}" for k in
                                    ("at_1x", "at_2x", "mean_1x", "mean_beyond_1x"))
                         if e else "no centroid (black frames)")
                print(f"| {predictor} | {cells} |")
    if MAIN_SETTING in results:
        print("\nTargets (main setting):")
        for target, met in check_targets(results[MAIN_SETTING]):
            print(f"- {target}: {'met' if met else 'MISSED'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="training minutes per contestant in the main setting")
    parser.add_argument("--side-budget-minutes", type=float, default=None,
                        help="training minutes per contestant in the other settings "
                             "(default: a sixth of --budget-minutes)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--workdir", default="runs/quality",
                        help="trained contestants and outputs; a rerun resumes here")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--small", action="store_true",
                        help="tiny models and few test sequences: a quick check (tests)")
    args = parser.parse_args(argv)
    side = args.side_budget_minutes or args.budget_minutes / 6
    for flag, value in (("--budget-minutes", args.budget_minutes),
                        ("--side-budget-minutes", side)):
        if not value > 0:
            parser.error(f"{flag} must be positive. Received: {value}")
    # "standard": None scores all 999 sequences of the standard test file.
    sizes = ({"standard": 8, "table": 8, "long": 4, "batch": 4, "shown": 2} if args.small
             else {"standard": None, "table": 1000, "long": 256, "batch": 32, "shown": 3})
    budgets = {name: args.budget_minutes if name == MAIN_SETTING else side
               for name in args.settings}
    results, training = {}, {}
    for name in args.settings:
        folder = os.path.join(args.workdir, name)
        training[name] = train_contestants(SETTINGS[name], budgets[name], folder, args.small)
        results[name] = score_setting(SETTINGS[name], folder, sizes)
    print_tables(results, budgets, training)
    report = {**common.machine(), "budgets_minutes": budgets, "training": training,
              "results": results}
    if MAIN_SETTING in results:
        report["targets"] = dict(check_targets(results[MAIN_SETTING]))
    common.save(report, os.path.join(args.workdir, "quality.json"))
    common.save(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
