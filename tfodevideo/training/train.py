"""Training a preset with `model.fit`: checkpoints, TensorBoard, resume, a record.

A run writes into its `workdir`:

- `backup/`: Keras `BackupAndRestore` state, saved every epoch; running the
  same command again after a kill resumes from the last finished epoch.
- `best.keras`: the model with the lowest validation loss so far.
- `logs/`: TensorBoard scalars (losses, PSNR, SSIM, the ODE's evaluations)
  and images of true over predicted frames each epoch.
- `model.keras` and `run.json` (preset, overrides, versions, wall time,
  final metrics) when the run ends; for video presets also
  `prediction.gif` / `.png` / `.npy` of one held-out clip and
  `true_over_predicted.png`.
"""

import dataclasses
import json
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf

import tfodevideo
from tfodevideo import viz
from tfodevideo._frames import merge_time
from tfodevideo.data.registry import make_dataset
from tfodevideo.inference import write_prediction
from tfodevideo.losses import FrameLoss
from tfodevideo.metrics import FrameMetric
from tfodevideo.models import ConvAutoEncoder
from tfodevideo.models import LatentODE
from tfodevideo.models import VideoODE
from tfodevideo.training import trajectories
from tfodevideo.training.callbacks import FrameImages
from tfodevideo.training.callbacks import StopOnNaN
from tfodevideo.training.presets import resolve

MODELS = {"VideoODE": VideoODE, "LatentODE": LatentODE, "ConvAutoEncoder": ConvAutoEncoder}
RUN_RECORD = "run.json"


def build_model(preset):
    """The preset's model, not yet compiled."""
    return MODELS[preset.model](**preset.model_args)


def make_data(preset):
    """`(train, validation)` pipelines of a video or auto-encoder preset."""
    common = dict(preset.data)
    train = make_dataset(preset.dataset, preset.batch_size, **common)
    validation = make_dataset(
        preset.dataset, preset.batch_size, split="test",
        num_clips=max(preset.validation_clips, preset.batch_size), **common
    )
    if preset.kind == "autoencoder":
        # Single frames: every target frame of a clip is one training image.
        def frames(inputs, targets):
            images = merge_time(targets)
            return images, images

        train, validation = train.map(frames), validation.map(frames)
    return train, validation


def _check_workdir(workdir, overwrite):
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, ".write_test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as error:
        raise ValueError(f"`workdir` cannot be written: {workdir!r} ({error})") from None
    if os.path.exists(os.path.join(workdir, RUN_RECORD)) and not overwrite:
        raise ValueError(
            f"`workdir` {workdir!r} holds a finished run ({RUN_RECORD}). Choose "
            "another workdir, or pass overwrite=True (--overwrite) to train anew."
        )


def _versions():
    return {
        "tfodevideo": tfodevideo.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def train(name, workdir, quick=False, overrides=None, overwrite=False, verbose=1):
    """Trains a preset and returns its run record (also saved as `run.json`).

    Args:
        name: a preset name (see `tfodevideo.training.presets.PRESETS`).
        workdir: folder of the run; see the module docstring.
        quick: use the preset's quick variant.
        overrides: dict of preset overrides, e.g. `{"epochs": 3}`.
        overwrite: train again over a finished run in `workdir`.
        verbose: Keras progress-bar verbosity.
    """
    preset = resolve(name, quick, overrides)
    _check_workdir(workdir, overwrite)
    start = time.perf_counter()
    if preset.kind == "trajectory":
        record = _train_trajectory(preset, workdir)
    else:
        record = _train_keras(preset, workdir, verbose)
    record.update(
        {
            "preset": dataclasses.asdict(preset),
            "quick": quick,
            "overrides": overrides or {},
            "versions": _versions(),
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
    )
    with open(os.path.join(workdir, RUN_RECORD), "w") as f:
        json.dump(record, f, indent=2, default=str)
    return record


def _train_keras(preset, workdir, verbose):
    train_data, validation = make_data(preset)
    model = build_model(preset)
    model.build(None)  # BackupAndRestore restores into built models only.
    schedule = keras.optimizers.schedules.ExponentialDecay(
        preset.learning_rate, preset.decay_steps, preset.decay_rate, staircase=True
    )
    metrics = [FrameMetric("psnr"), FrameMetric("ssim")] if preset.kind == "video" else []
    model.compile(keras.optimizers.Adam(schedule), FrameLoss(**preset.loss), metrics=metrics)
    best = os.path.join(workdir, "best.keras")
    nan_stop = StopOnNaN(best)
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(workdir, "backup")),
        keras.callbacks.ModelCheckpoint(best, monitor="val_loss", save_best_only=True),
        keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
        nan_stop,
    ]
    if preset.kind == "video":
        inputs, targets = next(iter(validation))
        callbacks.append(FrameImages(os.path.join(workdir, "logs", "frames"), inputs, targets))
    history = model.fit(
        train_data,
        epochs=preset.epochs,
        steps_per_epoch=preset.steps_per_epoch,
        validation_data=validation,
        callbacks=callbacks,
        verbose=verbose,
    )
    if nan_stop.message:
        raise RuntimeError(nan_stop.message)
    final = os.path.join(workdir, "model.keras")
    model.save(final)
    pictures = _picture_predictions(model, validation, workdir) if preset.kind == "video" else []
    return {
        "model": final,
        "pictures": pictures,
        "best_model": best,
        "epochs_run": len(history.epoch),
        "first_epoch": history.epoch[0] if history.epoch else None,
        "final_metrics": {k: float(v[-1]) for k, v in history.history.items()},
    }


def _picture_predictions(model, validation, workdir):
    """A GIF of one held-out clip's prediction and a true-over-predicted strip."""
    inputs, targets = next(iter(validation))
    predicted = model({k: v[:1] for k, v in inputs.items()}, training=False).numpy()[0]
    paths = write_prediction(predicted, workdir, "prediction")
    strip = viz.frame_grid(np.stack([targets[0].numpy(), predicted]))
    paths.append(viz.save_png(os.path.join(workdir, "true_over_predicted.png"), strip))
    return paths


def _train_trajectory(preset, workdir):
    config = trajectories.TrajectoryConfig(
        **preset.data, **preset.model_args, epochs=preset.epochs,
        learning_rate=preset.learning_rate,
    )
    run = trajectories.run_single if preset.model == "single" else trajectories.run_many
    result = run(config)
    final = os.path.join(workdir, "model.keras")
    result["model"].save(final)
    if preset.model == "single":
        trajectories.plot_single(result, os.path.join(workdir, "trajectory.png"))
    return {
        "model": final,
        "epochs_run": len(result["losses"]),
        "final_metrics": {
            "loss": result["losses"][-1],
            "extrapolation_rmse": result["rmse"],
            "constant_position_rmse": result["baseline_rmse"],
        },
    }
