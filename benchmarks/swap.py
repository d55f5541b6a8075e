"""The appearance swap and the disentanglement probes of a trained model.

Scores `swap_appearance` on generated pairs against the counterfactual truth
(`tfodevideo.training.swap_evaluation.score_swap`) and fits the linear probes
of `tfodevideo.latents.disentanglement_probes`, on `validation` while a
design is being chosen and on `test` once, for the record; writes one JSON
with the machine, the command and the issue's targets marked met or not,
and the picture of the first 8 pairs beside it.

    python -m benchmarks.swap --model runs/mmnist1_2to18_cutout/model.keras \\
        --dataset mmnist1 --split validation --pairs 256 --probe-clips 2000 \\
        --json benchmarks/results/swap/mmnist1_cutout_validation.json
"""

import argparse
import os
import sys
import time

from benchmarks import common
from tfodevideo.latents import disentanglement_probes
from tfodevideo.models import load_model
from tfodevideo.training.swap_evaluation import score_swap
from tfodevideo.training.swap_evaluation import swap_grid
from tfodevideo.viz import save_png

# The swap issue's targets (one-digit Moving MNIST 2 -> 18).
TARGETS = {
    "swap_within_1db_of_prediction": lambda r: abs(r["swap"]["gaps_db"]
                                                   ["swap_minus_prediction"]) <= 1.0,
    "swap_3db_above_ignoring_b": lambda r: r["swap"]["gaps_db"]
                                            ["swap_minus_own_vs_swap_truth"] >= 3.0,
    "class_from_appearance_at_least_90pc": lambda r: (r["probes"]["class_accuracy"]
                                                      ["appearance"] or 0) >= 0.90,
    "class_from_state_at_most_25pc": lambda r: r["probes"]["class_accuracy"]["dynamics"]
                                               <= 0.25,
    "position_r2_from_state_at_least_095": lambda r: r["probes"]["position_r2"]["dynamics"]
                                                     >= 0.95,
    "position_r2_from_appearance_at_most_02": lambda r: (r["probes"]["position_r2"]
                                                         ["appearance"] or 0) <= 0.2,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default="mmnist1")
    parser.add_argument("--split", default="validation", choices=["validation", "test"])
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--probe-clips", type=int, default=4000,
                        help="clips for the probes, half to fit them (1,000 fitting clips "
                        "read MNIST's class from raw pixels 1.5 points worse than 2,000)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    start = time.time()
    model = load_model(args.model)
    result = {
        "command": common.command("benchmarks.swap", argv),
        "machine": common.machine(),
        "model": args.model,
        "swap": score_swap(model, args.dataset, num_pairs=args.pairs,
                           batch_size=args.batch_size, split=args.split),
        "probes": disentanglement_probes(model, args.dataset, args.probe_clips,
                                         split=args.split),
    }
    if "class_accuracy" in result["probes"]:
        result["targets"] = {name: bool(check(result)) for name, check in TARGETS.items()}
    result["wall_seconds"] = time.time() - start
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    common.save(result, args.json)
    picture = swap_grid(model, args.dataset, split=args.split)
    save_png(os.path.splitext(args.json)[0] + "_grid.png", picture)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
