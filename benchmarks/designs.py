"""Races the model designs of one setting at equal CPU time, on validation.

Each design is a preset of the same frames (say `mmnist2_10to10_cpu`, the
vector latent; `mmnist2_10to10_map`, a feature map moved by a `ConvField`;
`mmnist2_10to10_glyph`, learned what/where glyphs; the cut-out presets).
Every design trains for `--minutes` of CPU time per seed, one pinned core
per process (`benchmarks.budget_training`, as in `benchmarks.quality`), and
is scored on generated `validation` clips: at the trained horizon, and past
it (`--long-horizon` frames, mean PSNR over the frames after the trained
ones). The winner is the design with the highest mean PSNR at the trained
horizon; every metric is in the JSON, so a reader can rank by another. The
test clips play no part: the winner then goes to `benchmarks.quality`.

    python -m benchmarks.designs --presets mmnist2_10to10_cpu mmnist2_10to10_map \\
        mmnist2_10to10_glyph mmnist2_10to10_lattice mmnist2_10to10_rules \\
        --minutes 2 --seeds 0 1 --workdir runs/designs \\
        --json benchmarks/results/designs/mmnist2_10to10.json

A killed run resumes at the trainings not yet finished (their records are
kept under `--workdir`, one folder per design).
"""

import argparse
import os
import sys
import time

import numpy as np

from benchmarks import common
from benchmarks.budget_training import job_name
from benchmarks.quality import _model_predictor
from benchmarks.quality import generated_batches
from benchmarks.quality import run_jobs
from benchmarks.quality import spread
from tfodevideo import baselines
from tfodevideo.data.registry import VALIDATION_SEED
from tfodevideo.training.evaluation import score_predictors
from tfodevideo.training.presets import resolve

SIZE = "medium"  # The presets' own trunks: designs differ, not widths.


def check_presets(names):
    """The presets, which must all be video presets of the same frames."""
    presets = [resolve(name) for name in names]
    frames = {(p.dataset, p.data["num_context"], p.data["num_target"]) for p in presets}
    if len(frames) != 1 or any(p.task != "video" for p in presets):
        raise ValueError("--presets must be video presets of one data set and frame counts. "
                         f"Received: {', '.join(names)}")
    return presets


def score(names, seeds, workdir, dataset, num_context, horizon, clips, long_horizon,
          long_clips, batch_size):
    """Validation scores of every design and seed beside the trivial predictors."""
    predictors = {(name, seed): _model_predictor(os.path.join(
        workdir, name, job_name("tfodevideo", SIZE, seed) + ".keras"))
        for name in names for seed in seeds}
    predictors.update(baselines.BASELINES)

    def data(num_target, count):
        batches = generated_batches(dataset, num_context, num_target, count, batch_size,
                                    VALIDATION_SEED, split="validation")
        return ((inputs, targets) for inputs, targets, _ in batches)

    near = score_predictors(predictors, data(horizon, clips))
    far = score_predictors(predictors, data(long_horizon, long_clips))

    def beyond(scores):
        return float(np.mean(scores.curves()["psnr"][horizon:]))

    table = {}
    for name in names:
        summaries = [near[(name, seed)].summary() for seed in seeds]
        table[name] = {m: spread(s[m] for s in summaries) for m in summaries[0]}
        table[name]["psnr_beyond"] = spread(beyond(far[(name, seed)]) for seed in seeds)
    for name in baselines.BASELINES:
        table[name] = {**near[name].summary(), "psnr_beyond": beyond(far[name])}
    return table, near[(names[0], seeds[0])].count, far[(names[0], seeds[0])].count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", required=True, help="the designs")
    parser.add_argument("--minutes", type=float, required=True, help="CPU time per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--clips", type=int, default=256, help="validation clips")
    parser.add_argument("--long-horizon", type=int, default=90)
    parser.add_argument("--long-clips", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workdir", default="runs/designs")
    parser.add_argument("--json", required=True)
    parser.add_argument("--small", action="store_true", help="tiny models (tests)")
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error(f"--minutes must be positive. Received: {args.minutes}")
    try:
        presets = check_presets(args.presets)
    except ValueError as error:
        parser.error(str(error))
    horizon = presets[0].data["num_target"]
    if args.long_horizon <= horizon:
        parser.error(f"--long-horizon must exceed the trained horizon ({horizon}). "
                     f"Received: {args.long_horizon}")
    start = time.time()
    training = {}
    for name in args.presets:
        jobs = [("tfodevideo", SIZE, seed) for seed in args.seeds]
        done = run_jobs(jobs, name, args.minutes, os.path.join(args.workdir, name), args.small)
        training[name] = {f"seed{job[2]}": {"steps": r["steps"], "seconds": r["seconds"],
                                            "params": r["params"]}
                          for job, r in done.items()}
    table, count, long_count = score(
        args.presets, args.seeds, args.workdir, presets[0].dataset,
        presets[0].data["num_context"], horizon, args.clips, args.long_horizon,
        args.long_clips, args.batch_size)
    winner = max(args.presets, key=lambda name: table[name]["psnr"]["mean"])
    record = {
        **common.machine(),
        "command": "python -m benchmarks.designs " + " ".join(argv or sys.argv[1:]),
        "budget_minutes": args.minutes,
        "clock": "cpu",
        "seeds": args.seeds,
        "split": "validation",
        "validation_seed": VALIDATION_SEED,
        "horizon": horizon,
        "clips": count,
        "long_horizon": args.long_horizon,
        "long_clips": long_count,
        "psnr_beyond": f"mean PSNR over predicted frames {horizon + 1}-{args.long_horizon}",
        "selected_by": "highest mean validation PSNR at the trained horizon",
        "winner": winner,
        "training": training,
        "table": table,
        "seconds": time.time() - start,
    }
    common.save(record, args.json)
    for name, row in table.items():
        cells = "  ".join(
            f"{m} {v['mean']:.3f}+-{v['std']:.3f}" if isinstance(v, dict) else f"{m} {v:.3f}"
            for m, v in row.items())
        print(f"{name:28s} {cells}")
    print(f"winner (validation PSNR): {winner}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
