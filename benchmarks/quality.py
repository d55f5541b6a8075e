"""Prediction quality at equal compute: tfodevideo against its peers and trivial predictors.

The contestants are three families, each in three widths
(`benchmarks.budget_training.SIZES`): tfodevideo (the setting's preset), a
ConvLSTM (scheduled sampling) and a SimVP-style CNN. The protocol, per
setting:

1. **Sweep**: every family x width trains for `--sweep-minutes` (seed 0);
   each is scored on generated `validation` clips; each family's width with
   the lowest validation `mse_frame` goes on. The test clips play no part.
2. **Runs**: each family's chosen width trains for `--budget-minutes` with
   every seed of `--seeds`, and is scored on the test frames, beside the
   black-frame and copy-last predictors. Tables give mean +- standard
   deviation over seeds (sample standard deviation, n - 1).

Settings, each with its own tfodevideo preset (for Moving MNIST the `_cpu`
presets, whose conv trunk an hour of CPU can train; `--preset SETTING=NAME`
races another preset of the same data and frame counts, e.g. the what/where
model `mmnist2_10to10_cutout`):

- `mmnist2_10to10`: two-digit Moving MNIST, 10 -> 10, scored on the first
  999 sequences of the standard test set (metrics.md conventions); the
  per-frame curve 10 -> 90 on generated test clips.
- `mmnist1_2to18`: one digit, 2 -> 18 on generated clips of MNIST test
  digits (seed `TEST_SEED`); the curve 2 -> 38.
- `ball_2to18`: the Gaussian ball, 2 -> 18, and the error of the ball's
  centre in pixels (background-corrected intensity centroid of each
  predicted frame against the true centre) at 1x and 2x the training
  horizon (frames 18 and 38).

Budgets count each training process's CPU time, and every process is pinned
to its own core (as many run at once as there are cores), so contestants get
the same compute whatever else the machine does. Trained jobs are kept in
`--workdir`: a killed run resumes at the jobs not yet finished; a different
budget, or records made with other core or thread counts, are refused.

    python -m benchmarks.quality --budget-minutes 20 --sweep-minutes 4 --seeds 0 1 2
    python -m benchmarks.quality --budget-minutes 10 --widths medium \
        --contestants tfodevideo --settings mmnist2_10to10 \
        --preset mmnist2_10to10=mmnist2_10to10_cutout
    python -m benchmarks.quality --small --budget-minutes 0.05   # tests

Writes `WORKDIR/quality.json`, and per setting `sweep.json`,
`per_frame.csv`, `curves.png` (long horizon, mean over seeds) and
`frames.png` (ground truth, then each family's seed-0 model, then black and
copy-last), prints the tables and checks the targets.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks.budget_training import CONTESTANTS
from benchmarks.budget_training import SIZES
from benchmarks.budget_training import job_name
from tfodevideo import baselines  # The package import registers the models.
from tfodevideo.data.files import load_moving_mnist_test
from tfodevideo.data.pipelines import array_dataset
from tfodevideo.data.registry import TEST_SEED
from tfodevideo.data.registry import held_out_batches
from tfodevideo.data.registry import VALIDATION_SEED
from tfodevideo.metrics import FrameScores
from tfodevideo.metrics import centroids
from tfodevideo.training.evaluation import score_predictors
from tfodevideo.viz import plot_curves
from tfodevideo.viz import write_per_frame_csv
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


def with_presets(pairs):
    """The settings, with the tfodevideo preset of each `SETTING=PRESET` of
    `pairs` in place of its own.

    Raises:
        ValueError: a pair not of that form, an unknown setting or preset,
            or a preset of other data, input or predicted frame counts than
            the setting's (its scores would not compare), named.
    """
    settings = dict(SETTINGS)
    for pair in pairs or ():
        name, sep, preset = pair.partition("=")
        if not sep or name not in SETTINGS:
            raise ValueError(f"--preset takes SETTING=PRESET with SETTING one of "
                             f"{sorted(SETTINGS)}. Received: {pair!r}")
        own, other = resolve(SETTINGS[name].preset), resolve(preset)
        if (other.dataset, other.data) != (own.dataset, own.data):
            raise ValueError(
                f"--preset {pair}: the setting {name!r} trains on {own.dataset} with "
                f"{own.data}; {preset!r} on {other.dataset} with {other.data}. "
                f"Received: {pair!r}")
        settings[name] = dataclasses.replace(SETTINGS[name], preset=preset)
    return settings


def core_shares(count, cores=None):
    """Splits the usable cores into `count` disjoint, equal shares."""
    if cores is None:
        cores = usable_cores()
    if not count:
        return []
    if len(cores) < count:
        return [None] * count  # Too few cores to pin: share them all.
    size = len(cores) // count
    return [cores[i * size : (i + 1) * size] for i in range(count)]


def usable_cores():
    """The cores this process may run on."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def check_records(records, minutes, small, preset):
    """Refuses to mix training jobs of another budget, mode, tfodevideo
    preset, core or thread count."""
    expected = {"budget_minutes": minutes, "small": small, "preset": preset}
    kinds = set()
    for path, record in records.items():
        for key, value in expected.items():
            if record[key] != value:
                raise ValueError(
                    f"{path} was trained with {key}={record[key]}, not {value}. Use a "
                    "fresh --workdir to change the budget, the mode or the preset."
                )
        cores = record.get("cores")
        kinds.add((None if cores is None else len(cores), record.get("intra_op_threads"),
                   record.get("inter_op_threads"), tuple(record.get("cpu_flags") or ())))
    if len(kinds) > 1:
        raise ValueError(
            "The trained jobs in this workdir ran with different (cores, intra-op "
            f"threads, inter-op threads, CPU vector flags): {sorted(kinds, key=str)}; "
            "their budgets are not comparable. Use a fresh --workdir."
        )


def run_jobs(jobs, preset, minutes, folder, small):
    """Trains `(contestant, size, seed)` jobs, one per core at a time, skipping
    finished ones.

    Returns:
        Each job's training record (`benchmarks.budget_training`), by job.
    """
    os.makedirs(folder, exist_ok=True)

    def path(job):
        return os.path.join(folder, job_name(*job) + ".json")

    def read(job):
        with open(path(job)) as f:
            return json.load(f)

    done = {job: read(job) for job in jobs if os.path.exists(path(job))}
    check_records({path(job): record for job, record in done.items()}, minutes, small, preset)
    todo = [job for job in jobs if job not in done]
    free = core_shares(max(1, min(len(todo), len(usable_cores()))))
    running = []
    while todo or running:
        while todo and free:
            job, cores = todo.pop(0), free.pop(0)
            command = [sys.executable, "-m", "benchmarks.budget_training", "--preset", preset,
                       "--contestant", job[0], "--size", job[1], "--seed", str(job[2]),
                       "--minutes", str(minutes), "--out", folder]
            if cores:
                command += ["--threads", str(len(cores))]
            if small:
                command.append("--small")
            log = open(os.path.join(folder, job_name(*job) + ".log"), "w")
            pin = (lambda c=cores: os.sched_setaffinity(0, c)) if cores else None
            print(f"[{os.path.basename(folder)}] training {job_name(*job)} for {minutes:g} "
                  f"CPU-min on cores {cores or 'all'}", flush=True)
            running.append((job, cores, log, subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin, cwd=ROOT)))
        time.sleep(0.2)
        for entry in [entry for entry in running if entry[3].poll() is not None]:
            job, cores, log, process = entry
            running.remove(entry)
            log.close()
            if process.returncode:
                for _, _, other_log, other in running:
                    other.kill()
                    other_log.close()
                raise RuntimeError(f"Training {job_name(*job)} failed (exit "
                                   f"{process.returncode}); see {log.name}.")
            done[job] = read(job)
            free.append(cores)
    check_records({path(job): record for job, record in done.items()}, minutes, small, preset)
    return {job: done[job] for job in jobs}


def _model_predictor(path):
    model = keras.saving.load_model(path)
    # One trace per shape: the table, its last partial batch, the long horizon.
    call = tf.function(lambda inputs: model(inputs, training=False))
    return lambda inputs, num_target: call(inputs)


def generated_batches(dataset, num_context, num_target, num_sequences, batch_size, seed,
                      split="test"):
    """`(inputs, targets, centres)` of generated held-out clips, in clip order."""
    for inputs, targets, clips in held_out_batches(dataset, num_context, num_target,
                                                   num_sequences, batch_size, split, seed):
        yield inputs, targets, clips["positions"][:, num_context:]


def _table_data(setting, dataset, num_context, sizes):
    if setting.standard_test:
        clips = load_moving_mnist_test(num_sequences=sizes["standard"])
        return array_dataset(clips[:, : num_context + setting.horizon], sizes["batch"],
                             num_context, setting.horizon)
    batches = generated_batches(dataset, num_context, setting.horizon, sizes["table"],
                                sizes["batch"], TEST_SEED)
    return ((inputs, targets) for inputs, targets, _ in batches)


def _validation_data(setting, dataset, num_context, sizes):
    batches = generated_batches(dataset, num_context, setting.horizon, sizes["validation"],
                                sizes["batch"], VALIDATION_SEED, split="validation")
    return ((inputs, targets) for inputs, targets, _ in batches)


def sweep(setting, minutes, folder, sizes, small, widths=None, contestants=CONTESTANTS):
    """Trains every family x width for `minutes` and picks each family's width
    by validation `mse_frame`. Returns the sweep's record (also `sweep.json`).

    With a single width there is nothing to choose: nothing is trained."""
    widths, contestants = list(widths or SIZES[CONTESTANTS[0]]), list(contestants)
    if len(widths) == 1:
        return {"minutes": 0, "small": small, "widths": widths, "scores": {},
                "chosen": {c: widths[0] for c in contestants}}
    path = os.path.join(folder, "sweep.json")
    if os.path.exists(path):
        with open(path) as f:
            record = json.load(f)
        if (record["minutes"], record["small"], record["widths"], list(record["chosen"])) == (
                minutes, small, widths, contestants):
            return record
    jobs = [(c, size, 0) for c in contestants for size in widths]
    training = run_jobs(jobs, setting.preset, minutes, os.path.join(folder, "sweep"), small)
    preset = resolve(setting.preset)
    predictors = {job: _model_predictor(os.path.join(folder, "sweep", job_name(*job) + ".keras"))
                  for job in jobs}
    scores = score_predictors(predictors, _validation_data(
        setting, preset.dataset, preset.data["num_context"], sizes))
    table = {c: {size: {**scores[(c, size, 0)].summary(),
                        "steps": training[(c, size, 0)]["steps"],
                        "params": training[(c, size, 0)]["params"]}
                 for size in widths} for c in contestants}
    record = {
        "minutes": minutes,
        "small": small,
        "widths": widths,
        "seed": 0,
        "validation_sequences": scores[jobs[0]].count,
        "validation_seed": VALIDATION_SEED,
        "selected_by": "lowest validation mse_frame",
        "scores": table,
        "chosen": {c: min(table[c], key=lambda size: table[c][size]["mse_frame"])
                   for c in contestants},
    }
    common.save(record, path)
    return record


def spread(values):
    """Mean, sample standard deviation (0 for one value) and the values."""
    values = [float(v) for v in values]
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "std": std, "per_seed": values}


def score_setting(setting, chosen, seeds, folder, sizes):
    """Scores every seed of every family on the test frames, beside the trivial
    predictors; writes CSV and PNGs to `folder`."""
    preset = resolve(setting.preset)
    dataset, num_context = preset.dataset, preset.data["num_context"]
    runs = os.path.join(folder, "runs")
    predictors = {(c, seed): _model_predictor(
        os.path.join(runs, job_name(c, chosen[c], seed) + ".keras"))
        for c in chosen for seed in seeds}
    predictors.update(baselines.BASELINES)
    scores = score_predictors(predictors, _table_data(setting, dataset, num_context, sizes))
    table = {}
    for c in chosen:
        summaries = [scores[(c, seed)].summary() for seed in seeds]
        table[c] = {m: spread(s[m] for s in summaries) for m in summaries[0]}
    for name in baselines.BASELINES:
        table[name] = scores[name].summary()

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
            shown = (targets, {name if isinstance(name, str) else name[0]: frames
                               for name, frames in predicted.items()
                               if isinstance(name, str) or name[1] == seeds[0]})
    mean_curves, beyond = {}, {}
    black = curves["black_frames"].curves()["psnr"]
    for c in chosen:
        per_seed = [curves[(c, seed)].curves() for seed in seeds]
        mean_curves[c] = {m: np.mean([p[m] for p in per_seed], axis=0).tolist()
                          for m in per_seed[0]}
        # Past the trained horizon, per seed: what the protocol's "every
        # seed" rule needs (the mean curve hides a seed that falls).
        beyond[c] = {
            "psnr_mean": spread(float(np.mean(p["psnr"][setting.horizon:])) for p in per_seed),
            "lowest_margin_over_black": spread(float(np.min(p["psnr"] - black))
                                               for p in per_seed),
        }
    for name in baselines.BASELINES:
        beyond[name] = {"psnr_mean": float(np.mean(
            curves[name].curves()["psnr"][setting.horizon:]))}
    for name in baselines.BASELINES:
        mean_curves[name] = {k: v.tolist() for k, v in curves[name].curves().items()}
    result = {
        "setting": setting.name,
        "dataset": "moving_mnist_standard_test" if setting.standard_test else dataset,
        "num_context": num_context,
        "horizon": setting.horizon,
        "seeds": list(seeds),
        "chosen_sizes": chosen,
        "table_sequences": scores["copy_last"].count,
        "table": table,
        "long_horizon": setting.long_horizon,
        "long_sequences": curves["copy_last"].count,
        "curves": mean_curves,
        "beyond_horizon": beyond,
    }
    if setting.centre_error:
        result["centre_error_px"] = centre_summary(errors, setting.horizon,
                                                   setting.long_horizon, seeds)
    write_setting(result, shown, folder, sizes["shown"])
    return result


def centre_summary(errors, horizon, long_horizon, seeds):
    """Mean centre error at the last frame of the training horizon (1x), at
    the last frame of the long horizon (2x: clips twice as long as in
    training), and over the frames within and beyond the training horizon;
    for the families, mean +- standard deviation over seeds."""

    def one(batches):
        per_frame = np.concatenate(batches)  # (sequences, frames)
        if np.isnan(per_frame).any():  # Black frames have no centroid.
            return None
        mean = per_frame.mean(axis=0)
        return {"at_1x": float(mean[horizon - 1]), "at_2x": float(mean[long_horizon - 1]),
                "mean_1x": float(mean[:horizon].mean()),
                "mean_beyond_1x": float(mean[horizon:].mean())}

    summary = {name: one(batches) for name, batches in errors.items()
               if isinstance(name, str)}
    for c in dict.fromkeys(name[0] for name in errors if not isinstance(name, str)):
        per_seed = [one(errors[(c, seed)]) for seed in seeds]
        summary[c] = (None if None in per_seed else
                      {k: spread(p[k] for p in per_seed) for k in per_seed[0]})
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


# Metrics where lower is better; the others are higher-is-better.
LOWER_IS_BETTER = ("mse_frame", "mae_frame")


def compare(ours, other, metric):
    """Whether `ours` beats `other` on `metric`, and by which rule.

    `ours` is a `spread` over seeds; `other` a `spread` or a plain number (a
    deterministic predictor). Met when every seed of ours beats every seed
    of the other ("every seed"), or else when the mean difference exceeds
    twice the pooled standard deviation ("2 pooled sd").
    """
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    theirs = other if isinstance(other, dict) else {"mean": other, "std": 0.0,
                                                     "per_seed": [other]}
    if min(sign * v for v in ours["per_seed"]) > max(sign * v for v in theirs["per_seed"]):
        return True, "every seed"
    pooled = np.sqrt((ours["std"] ** 2 + theirs["std"] ** 2) / 2.0)
    if sign * (ours["mean"] - theirs["mean"]) > 2.0 * pooled:
        return True, "2 pooled sd"
    return False, "not met"


def check_targets(main):
    """The targets on the main setting: a list of `(target, met, rule)`."""
    table = main["table"]
    if "tfodevideo" not in table:
        return []
    ours = table["tfodevideo"]
    targets = []
    for peer in [name for name in table if name != "tfodevideo"]:
        for metric in ("mse_frame", "psnr", "ssim"):
            met, rule = compare(ours[metric], table[peer][metric], metric)
            targets.append((f"tfodevideo {metric} better than {peer}'s", met, rule))
    black = table["black_frames"]["psnr"] + BLACK_PSNR_MARGIN_DB
    met, rule = compare(ours["psnr"], black, "psnr")
    targets.append((f"tfodevideo PSNR at least {BLACK_PSNR_MARGIN_DB:g} dB above black frames "
                    f"({black:.2f} dB)", met, rule))
    return targets


def _cell(value, digits):
    if isinstance(value, dict):
        return f"{value['mean']:.{digits}f} +- {value['std']:.{digits}f}"
    return f"{value:.{digits}f}"


def print_tables(results, budgets, sweeps, training):
    for name, result in results.items():
        sweep_record = sweeps[name]
        if not sweep_record["scores"]:
            print(f"\n## {name}: no width sweep, every family at {sweep_record['widths'][0]}")
        else:
            print(f"\n## {name}: width sweep, {sweep_record['minutes']:g} CPU-min each, seed 0, "
                  f"{sweep_record['validation_sequences']} validation sequences")
            print("| family/width | params | steps | mse_frame | psnr | ssim | chosen |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
        for family, widths in sweep_record["scores"].items():
            for width, s in widths.items():
                chosen = "yes" if sweep_record["chosen"][family] == width else ""
                print(f"| {family}/{width} | {s['params']:,} | {s['steps']} | "
                      f"{s['mse_frame']:.2f} | {s['psnr']:.2f} | {s['ssim']:.4f} | {chosen} |")
        print(f"\n## {name}: {result['num_context']} -> {result['horizon']} on "
              f"{result['table_sequences']} sequences of {result['dataset']} "
              f"({budgets[name]:g} CPU-min each, seeds {result['seeds']}, mean +- sd)")
        print("| predictor | steps | mse_frame | mae_frame | psnr | ssim | ssim_paper |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for predictor, s in result["table"].items():
            steps = [r["steps"] for job, r in training[name].items() if job[0] == predictor]
            print(f"| {predictor} | {' / '.join(map(str, steps)) or '-'} | "
                  f"{_cell(s['mse_frame'], 2)} | {_cell(s['mae_frame'], 2)} | "
                  f"{_cell(s['psnr'], 2)} | {_cell(s['ssim'], 4)} | {_cell(s['ssim_paper'], 4)} |")
        if "centre_error_px" in result:
            h, long = result["horizon"], result["long_horizon"]
            print(f"\nCentre error in pixels on {result['long_sequences']} sequences: "
                  f"predictor | frame {h} (1x) | frame {long} (2x) | mean 1-{h} | "
                  f"mean {h + 1}-{long}")
            for predictor, e in result["centre_error_px"].items():
                cells = (" | ".join(_cell(e[k], 2) for k in
                                    ("at_1x", "at_2x", "mean_1x", "mean_beyond_1x"))
                         if e else "no centroid (black frames)")
                print(f"| {predictor} | {cells} |")
    if MAIN_SETTING in results:
        print("\nTargets (main setting; met when every seed meets it, or the mean "
              "difference exceeds twice the pooled sd):")
        for target, met, rule in check_targets(results[MAIN_SETTING]):
            print(f"- {target}: {'met (' + rule + ')' if met else 'MISSED'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="CPU minutes per training run in the main setting")
    parser.add_argument("--side-budget-minutes", type=float, default=None,
                        help="CPU minutes per training run in the other settings "
                             "(default: a sixth of --budget-minutes)")
    parser.add_argument("--sweep-minutes", type=float, default=None,
                        help="CPU minutes per width in the sweeps (default: a fifth of "
                             "each setting's budget)")
    parser.add_argument("--widths", nargs="+", default=list(SIZES[CONTESTANTS[0]]),
                        choices=list(SIZES[CONTESTANTS[0]]),
                        help="widths swept per family (one width: no sweep)")
    parser.add_argument("--contestants", nargs="+", default=list(CONTESTANTS),
                        choices=CONTESTANTS, help="the families that train")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the runs at the full budget")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--preset", action="append", default=[], metavar="SETTING=PRESET",
                        help="the tfodevideo contestant's preset in a setting (default: "
                             "the setting's own)")
    parser.add_argument("--workdir", default="runs/quality",
                        help="trained contestants and outputs; a rerun resumes here")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--small", action="store_true",
                        help="tiny models and few test sequences: a quick check (tests)")
    args = parser.parse_args(argv)
    side = args.side_budget_minutes or args.budget_minutes / 6
    for flag, value in (("--budget-minutes", args.budget_minutes),
                        ("--side-budget-minutes", side),
                        ("--sweep-minutes", args.sweep_minutes or 1.0)):
        if not value > 0:
            parser.error(f"{flag} must be positive. Received: {value}")
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error(f"--seeds must be distinct non-negative integers. Received: {args.seeds}")
    try:
        settings = with_presets(args.preset)
    except ValueError as error:
        parser.error(str(error))
    # "standard": None scores all 999 sequences of the standard test file.
    sizes = ({"standard": 8, "table": 8, "validation": 8, "long": 4, "batch": 4, "shown": 2}
             if args.small else {"standard": None, "table": 1000, "validation": 256,
                                 "long": 256, "batch": 32, "shown": 3})
    budgets = {name: args.budget_minutes if name == MAIN_SETTING else side
               for name in args.settings}
    results, sweeps, training = {}, {}, {}
    for name in args.settings:
        setting, folder = settings[name], os.path.join(args.workdir, name)
        sweep_minutes = args.sweep_minutes or budgets[name] / 5
        sweeps[name] = sweep(setting, sweep_minutes, folder, sizes, args.small, args.widths,
                             args.contestants)
        chosen = sweeps[name]["chosen"]
        jobs = [(c, chosen[c], seed) for c in args.contestants for seed in args.seeds]
        training[name] = run_jobs(jobs, setting.preset, budgets[name],
                                  os.path.join(folder, "runs"), args.small)
        results[name] = score_setting(setting, chosen, args.seeds, folder, sizes)
    print_tables(results, budgets, sweeps, training)
    report = {
        **common.machine(),
        "budget_clock": "cpu",
        "budgets_minutes": budgets,
        "seeds": args.seeds,
        "presets": {name: settings[name].preset for name in args.settings},
        "sweeps": sweeps,
        "training": {name: {job_name(*job): record for job, record in jobs.items()}
                     for name, jobs in training.items()},
        "results": results,
    }
    if MAIN_SETTING in results:
        report["targets"] = [{"target": t, "met": met, "rule": rule}
                             for t, met, rule in check_targets(results[MAIN_SETTING])]
    common.save(report, os.path.join(args.workdir, "quality.json"))
    common.save(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
