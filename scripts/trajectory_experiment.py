"""The report's coordinate experiments (section 5.1) from the command line.

    python scripts/trajectory_experiment.py single --shape circle --out runs/traj
    python scripts/trajectory_experiment.py single --shape circle --noise-std 0.05
    python scripts/trajectory_experiment.py many --shape spiral

The `trajectories` preset trained by `train` with these overrides (the same
as `tfodevideo train trajectories --set data.shape=circle ...`). Prints the
extrapolation RMSE beside the constant-position baseline as JSON and adds it
under the run's NAME to `OUT/trajectories.json` (one file for every run in
OUT, the table of benchmarks/RESULTS.md); the run itself (model, run.json
and, for `single`, a PNG of truth vs prediction) goes to `OUT/NAME/`.
"""

import argparse
import json
import os
import sys

from tfodevideo.training import train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["single", "many"])
    parser.add_argument("--shape", default="circle", choices=["circle", "spiral"])
    parser.add_argument("--noise-std", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--window", type=int, default=None,
                        help="points per training window (default: 10 for single, "
                        "the whole training part for many)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/trajectories", help="folder of the runs")
    args = parser.parse_args(argv)
    window = args.window if args.window is not None else (10 if args.experiment == "single" else None)
    overrides = {
        "data.experiment": args.experiment, "data.shape": args.shape,
        "data.noise_std": args.noise_std, "data.window": window, "epochs": args.epochs,
    }
    name = f"{args.experiment}_{args.shape}_noise{args.noise_std:g}_seed{args.seed}"
    record = train("trajectories", os.path.join(args.out, name), overrides=overrides,
                   overwrite=True, verbose=0, seed=args.seed)
    summary = {
        "experiment": args.experiment,
        "overrides": overrides,
        "seed": args.seed,
        "extrapolation_rmse": record["final_metrics"]["extrapolation_rmse"],
        "constant_position_rmse": record["final_metrics"]["constant_position_rmse"],
        "final_loss": record["final_metrics"]["loss"],
        "wall_seconds": record["wall_seconds"],
        "pictures": [os.path.relpath(path, args.out) for path in record["pictures"]],
    }
    print(json.dumps(summary, indent=2))
    merge_into(os.path.join(args.out, "trajectories.json"), name, summary)
    return 0


def merge_into(path, key, entry):
    """Adds `entry` under `key` to the JSON dict at `path` (made if missing)."""
    table = {}
    if os.path.exists(path):
        with open(path) as f:
            table = json.load(f)
    table[key] = entry
    with open(path, "w") as f:
        json.dump(table, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    sys.exit(main())
