"""Trains one contestant of the quality benchmark for a wall-clock budget.

`benchmarks.quality` runs this once per learned contestant, each process
pinned to its own share of the cores, so that contestants train side by side
on the same machine for the same minutes. Run alone it trains one model:

    python -m benchmarks.budget_training --preset mmnist2_10to10 \\
        --contestant convlstm --minutes 60 --out runs/quality/mmnist2_10to10

It writes `OUT/CONTESTANT.keras` and `OUT/CONTESTANT.json` (steps,
sequences, seconds, threads, the loss every 50 steps); both appear only
once training has finished, so a killed run leaves nothing half-written.
"""

import argparse
import json
import os
import sys

import keras
import tensorflow as tf

from benchmarks import common
from tfodevideo.data.registry import make_source
from tfodevideo.models import ConvLSTMBaseline
from tfodevideo.training.callbacks import TimeBudget
from tfodevideo.training.presets import resolve
from tfodevideo.training.train import compiled_model
from tfodevideo.training.train import make_data

CONTESTANTS = ("tfodevideo", "convlstm")
# Tiny models for the small mode: the quick presets, smaller still.
SMALL_VIDEO = {"model.encoder_channels": [4, 8], "model.field_units": 16,
               "model.dynamics_dim": 4, "model.appearance_dim": 4}
SMALL_CONVLSTM = (8,)


def contestant_preset(name, small=False):
    """The preset a contestant trains on (its data, loss and schedule)."""
    if not small:
        return resolve(name)
    return resolve(name, quick=True, overrides=SMALL_VIDEO)


def build_contestant(contestant, preset, small=False):
    """A compiled model: the preset's own, or a ConvLSTM on the same frames."""
    if contestant == "tfodevideo":
        return compiled_model(preset)
    source = make_source(preset.dataset)
    baseline = ConvLSTMBaseline(
        image_size=source.image_size,
        channels=source.channels,
        num_context=preset.data["num_context"],
        filters=SMALL_CONVLSTM if small else (64, 64),
    )
    baseline.build(None)
    return compiled_model(preset, baseline)


def train_for(contestant, preset_name, minutes, out_dir, small=False):
    """Trains for `minutes` of wall-clock time and saves the model and record.

    Returns:
        The record written to `CONTESTANT.json`.
    """
    preset = contestant_preset(preset_name, small)
    keras.utils.set_random_seed(0)
    model = build_contestant(contestant, preset, small)
    train, _ = make_data(preset)
    budget = TimeBudget(60.0 * minutes)
    # No validation: it would spend the budget unevenly; quality.py scores
    # every contestant on the same test frames afterwards.
    model.fit(train, epochs=10**9, steps_per_epoch=preset.steps_per_epoch,
              callbacks=[budget], verbose=0)
    record = {
        **common.machine(),
        "contestant": contestant,
        "preset": preset_name,
        "small": small,
        "budget_minutes": minutes,
        "seconds": budget.elapsed,
        "steps": budget.steps,
        "sequences": budget.steps * preset.batch_size,
        "batch_size": preset.batch_size,
        "params": int(model.count_params()),
        "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "loss_history": budget.history,
    }
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, contestant)
    model.save(path + ".partial.keras")
    os.replace(path + ".partial.keras", path + ".keras")
    common.save(record, path + ".partial.json")
    os.replace(path + ".partial.json", path + ".json")
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, help="the setting's tfodevideo preset")
    parser.add_argument("--contestant", required=True, choices=CONTESTANTS)
    parser.add_argument("--minutes", required=True, type=float, help="wall-clock budget")
    parser.add_argument("--out", required=True, help="folder for the model and its record")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow threads (default: the cores this process may use)")
    parser.add_argument("--small", action="store_true", help="tiny models (tests)")
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error(f"--minutes must be positive. Received: {args.minutes}")
    threads = args.threads or (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    )
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    record = train_for(args.contestant, args.preset, args.minutes, args.out, args.small)
    print(json.dumps({k: v for k, v in record.items() if k != "loss_history"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
