"""The report's ball auto-encoder with and without spatial encoding.

    python scripts/autoencoder_experiment.py [--epochs 20] [--latent-dim 8] [--out DIR]

The `ball_autoencoder` preset trained by `train`, once without and once with
the spatial-encoding channels (the same as `tfodevideo train
ball_autoencoder --set model.spatial_encoding=false ...`). Prints, for both,
the reconstruction MSE of the validation frames beside the black-frame MSE
on the same frames, and the mean peak brightness of the reconstructions
(about 0 when the model collapsed to black frames); adds them under
`spatialX_seedS` to `OUT/autoencoder.json` (one file for every run in OUT).
"""

import argparse
import json
import os
import sys

from trajectory_experiment import merge_into

from tfodevideo.training import train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--latent-dim", type=int, default=8)
    parser.add_argument("--latent-l2", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/autoencoder", help="folder of the runs")
    args = parser.parse_args(argv)
    for spatial in (False, True):
        overrides = {
            "model.spatial_encoding": spatial, "model.latent_dim": args.latent_dim,
            "model.latent_l2": args.latent_l2, "epochs": args.epochs,
        }
        if args.steps_per_epoch:
            overrides["steps_per_epoch"] = args.steps_per_epoch
        name = f"spatial{int(spatial)}_seed{args.seed}"
        record = train("ball_autoencoder", os.path.join(args.out, name), overrides=overrides,
                       overwrite=True, verbose=0, seed=args.seed)
        row = {
            "overrides": overrides,
            "seed": args.seed,
            **{k: record["final_metrics"][k]
               for k in ("heldout_mse", "black_frame_mse", "mean_peak", "loss")},
            "wall_seconds": record["wall_seconds"],
        }
        print(json.dumps(row))
        merge_into(os.path.join(args.out, "autoencoder.json"), name, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
