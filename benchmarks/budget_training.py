"""Trains one contestant of the quality benchmark for a budget of CPU time.

`benchmarks.quality` runs this once per training job, each process pinned to
its own share of the cores, so that contestants get the same compute whatever
else the machine runs. Run alone it trains one model:

    python -m benchmarks.budget_training --preset mmnist2_10to10_cpu \\
        --contestant simvp --size medium --seed 1 --minutes 20 --out runs/q

It writes `OUT/NAME.keras` and `OUT/NAME.json` (NAME = `job_name(...)`:
steps, sequences, seconds, cores, threads, the loss every 50 steps); both
appear only once training has finished, so a killed run leaves nothing
half-written.

The contestants are families of models, each in three widths (`SIZES`); the
benchmark picks each family's width on the `validation` split. How each is
trained:

- every family: the tfodevideo preset's stream, batch, loss (MSE) and Adam
  schedule, seeded weights and stream (`--seed`);
- `convlstm`: scheduled sampling as OpenSTL trains its recurrent models
  (teacher forcing from probability 1 falling linearly to 0 at half the
  budget, then free running, as at test time);
- `simvp`: SimVP-style, sized for a CPU: half-resolution first block, three
  dense Inception kernels (3, 5, 7) instead of four grouped ones (grouped
  convolutions run about 20x slower than dense ones on this CPU build of
  TensorFlow), four translator blocks.
"""

import argparse
import inspect
import json
import os
import sys

import keras
import tensorflow as tf

from benchmarks import common
from tfodevideo.data.registry import make_source
from tfodevideo.models import ConvLSTMBaseline
from tfodevideo.models import SimVPBaseline
from tfodevideo.models import VideoODE
from tfodevideo.models.frame_steps import with_teacher_frames
from tfodevideo.training.callbacks import TeacherForcingSchedule
from tfodevideo.training.callbacks import TimeBudget
from tfodevideo.training.presets import resolve
from tfodevideo.training.trainer import compiled_model
from tfodevideo.training.trainer import make_data

CONTESTANTS = ("tfodevideo", "convlstm", "simvp")
# Each family's widths: a factor on the preset's conv trunk (tfodevideo:
# 8/16/32, 16/32/64 and 32/64/128 channels for the `_cpu` presets), or the
# baselines' model arguments.
SIZES = {
    "tfodevideo": {"small": 0.5, "medium": 1.0, "large": 2.0},
    "convlstm": {
        "small": {"filters": (32, 32)},
        "medium": {"filters": (64, 64)},
        "large": {"filters": (128, 128)},
    },
    "simvp": {
        "small": {"spatial_channels": 8, "translator_channels": 32},
        "medium": {"spatial_channels": 16, "translator_channels": 64},
        "large": {"spatial_channels": 32, "translator_channels": 128},
    },
}
SIMVP_CPU = {"first_stride": 2, "kernel_sizes": (3, 5, 7), "groups": 1, "num_translator": 4}
# Tiny models for the small mode (tests): the quick presets, smaller still.
SMALL_VIDEO = {"model.encoder_channels": [4, 8], "model.field_units": 16,
               "model.dynamics_dim": 4, "model.appearance_dim": 4}
SMALL_MODELS = {"convlstm": {"filters": (8,)},
                "simvp": {"spatial_channels": 4, "translator_channels": 8,
                          "num_translator": 2}}
# Teacher forcing ends at this fraction of the budget.
TEACHER_FORCING_STOP = 0.5


def job_name(contestant, size, seed):
    """The file name of one training job's model and record."""
    return f"{contestant}-{size}-seed{seed}"


def contestant_preset(name, contestant="tfodevideo", size="medium", small=False):
    """The preset a contestant trains on (its data, loss and schedule)."""
    if small:
        overrides = SMALL_VIDEO
        if resolve(name).model_args.get("slot_appearance") == "cutout":
            # A cut-out model's sizes are tied to its frames.
            overrides = {key: value for key, value in SMALL_VIDEO.items()
                         if key not in ("model.dynamics_dim", "model.appearance_dim")}
        return resolve(name, quick=True, overrides=overrides)
    preset = resolve(name)
    if contestant != "tfodevideo":
        return preset
    trunk = preset.model_args.get("encoder_channels") or inspect.signature(
        VideoODE).parameters["encoder_channels"].default
    channels = [max(1, round(c * SIZES["tfodevideo"][size])) for c in trunk]
    return resolve(name, overrides={"model.encoder_channels": channels})


def build_contestant(contestant, preset, size="medium", small=False):
    """A compiled model: the preset's own, or a baseline on the same frames."""
    if contestant == "tfodevideo":
        return compiled_model(preset)
    source = make_source(preset.dataset)
    common_args = dict(image_size=source.image_size, channels=source.channels,
                       num_context=preset.data["num_context"])
    if contestant == "convlstm":
        args = SMALL_MODELS["convlstm"] if small else SIZES["convlstm"][size]
        model = ConvLSTMBaseline(**common_args, **args)
    else:
        args = {**SIMVP_CPU, **(SMALL_MODELS["simvp"] if small else SIZES["simvp"][size])}
        model = SimVPBaseline(**common_args, num_target=preset.data["num_target"], **args)
    model.build(None)
    return compiled_model(preset, model)


def train_for(contestant, preset_name, minutes, out_dir, size="medium", seed=0, small=False):
    """Trains for `minutes` of this process's CPU time; saves model and record.

    Returns:
        The record written to `NAME.json`.
    """
    preset = contestant_preset(preset_name, contestant, size, small)
    keras.utils.set_random_seed(seed)
    model = build_contestant(contestant, preset, size, small)
    train, _ = make_data(preset, seed=seed)
    budget = TimeBudget(60.0 * minutes, clock="cpu")
    callbacks = [budget]
    if contestant == "convlstm":
        train = with_teacher_frames(train)
        callbacks.append(TeacherForcingSchedule(lambda: budget.progress, TEACHER_FORCING_STOP))
    # No validation: it would spend the budget unevenly; quality.py scores
    # every contestant on the same frames afterwards.
    model.fit(train, epochs=10**9, steps_per_epoch=preset.steps_per_epoch,
              callbacks=callbacks, verbose=0)
    record = {
        **common.machine(),
        "contestant": contestant,
        "size": size,
        "seed": seed,
        "preset": preset_name,
        "small": small,
        "budget_minutes": minutes,
        "clock": "cpu",
        "seconds": budget.elapsed,
        "steps": budget.steps,
        "sequences": budget.steps * preset.batch_size,
        "batch_size": preset.batch_size,
        "params": int(model.count_params()),
        "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "loss_history": budget.history,
    }
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, job_name(contestant, size, seed))
    model.save(path + ".partial.keras")
    os.replace(path + ".partial.keras", path + ".keras")
    common.save(record, path + ".partial.json")
    os.replace(path + ".partial.json", path + ".json")
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, help="the setting's tfodevideo preset")
    parser.add_argument("--contestant", required=True, choices=CONTESTANTS)
    parser.add_argument("--size", default="medium", choices=sorted(SIZES["tfodevideo"]))
    parser.add_argument("--seed", type=int, default=0, help="weights and training stream")
    parser.add_argument("--minutes", required=True, type=float, help="CPU-time budget")
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
    record = train_for(args.contestant, args.preset, args.minutes, args.out, args.size,
                       args.seed, args.small)
    print(json.dumps({k: v for k, v in record.items() if k != "loss_history"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
