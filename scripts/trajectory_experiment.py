"""The report's coordinate experiments (section 5.1) from the command line.

    python scripts/trajectory_experiment.py single --shape circle --out runs/traj
    python scripts/trajectory_experiment.py single --shape circle --noise-std 0.05
    python scripts/trajectory_experiment.py many --shape spiral

Prints the extrapolation RMSE beside the constant-position baseline as JSON
and, for `single`, writes a PNG of truth vs prediction.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

from tfodevideo.training.trajectories import TrajectoryConfig
from tfodevideo.training.trajectories import plot_single
from tfodevideo.training.trajectories import run_many
from tfodevideo.training.trajectories import run_single


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
    parser.add_argument("--out", default=None, help="folder for the PNG and JSON")
    args = parser.parse_args(argv)
    window = args.window if args.window is not None else (10 if args.experiment == "single" else None)
    config = TrajectoryConfig(
        shape=args.shape, noise_std=args.noise_std, epochs=args.epochs,
        window=window, seed=args.seed,
    )
    start = time.perf_counter()
    result = (run_single if args.experiment == "single" else run_many)(config)
    summary = {
        "experiment": args.experiment,
        "config": dataclasses.asdict(config),
        "extrapolation_rmse": result["rmse"],
        "constant_position_rmse": result["baseline_rmse"],
        "final_loss": result["losses"][-1],
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        name = f"{args.experiment}_{args.shape}_noise{args.noise_std:g}"
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(summary, f, indent=2)
        if args.experiment == "single":
            print("wrote", plot_single(result, os.path.join(args.out, name + ".png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
