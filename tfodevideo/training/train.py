"""Training a preset with `model.fit`: checkpoints, TensorBoard, resume, a record.

A run writes into its `workdir`:

- `backup/`: Keras `BackupAndRestore` state, saved every epoch; running the
  same command again after a kill resumes from the last finished epoch.
- `best.keras`: the model with the lowest loss on the `validation` split so
  far (never the `test` split: that one is scored for the record only).
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
from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo._frames import merge_time
from tfodevideo.data.registry import make_dataset
from tfodevideo.inference import write_prediction
from tfodevideo.losses import FrameLoss
from tfodevideo.metrics import FrameMetric
from tfodevideo.models import ConvAutoEncoder
from tfodevideo.models import LatentODE
from tfodevideo.models import VideoODE
from tfodevideo.training import distributed
from tfodevideo.training import trajectories
from tfodevideo.training.callbacks import FrameImages
from tfodevideo.training.callbacks import SafeBackupAndRestore
from tfodevideo.training.callbacks import StopOnNaN
from tfodevideo.training.presets import resolve

MODELS = {"VideoODE": VideoODE, "LatentODE": LatentODE, "ConvAutoEncoder": ConvAutoEncoder}
RUN_RECORD = "run.json"


def build_model(preset):
    """The preset's model, not yet compiled."""
    return MODELS[preset.model](**preset.model_args)


def make_data(preset, start_epoch=0, batch_size=None, seed=0):
    """`(train, validation)` pipelines of a video or auto-encoder preset.

    The training stream of `start_epoch` begins at the clip that epoch would
    have reached, so a resumed run sees new clips, not the first ones again.
    `batch_size` (default: the preset's) is the global batch; `seed` picks
    the training stream. Validation clips come from the `validation` split,
    the same for every seed.
    """
    common = dict(preset.data)
    batch_size = batch_size or preset.batch_size
    start = start_epoch * preset.steps_per_epoch * batch_size
    train = make_dataset(preset.dataset, batch_size, start=start, seed=seed, **common)
    validation = make_dataset(
        preset.dataset, batch_size, split="validation",
        num_clips=max(preset.validation_clips, batch_size), **common
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


def train(
    name, workdir, quick=False, overrides=None, overwrite=False, verbose=1,
    strategy="default", seed=0,
):
    """Trains a preset and returns its run record (also saved as `run.json`).

    Args:
        name: a preset name (see `tfodevideo.training.presets.PRESETS`).
        workdir: folder of the run; see the module docstring.
        quick: use the preset's quick variant.
        overrides: dict of preset overrides, e.g. `{"epochs": 3}`.
        overwrite: train again over a finished run in `workdir`.
        verbose: Keras progress-bar verbosity.
        strategy: `"default"`, `"mirrored"` or `"multi_worker"` (see
            `tfodevideo.training.distributed`); the preset's batch size is
            per replica. Trajectory presets train on one device.
        seed: seeds the weights' initialisation (`keras.utils.set_random_seed`)
            and picks the training stream; the same seed gives the same
            weights on the same machine and thread settings, up to the
            last bits of float32 sums (about 1e-8 after a few steps, with or
            without TensorFlow's op determinism).
    """
    preset = resolve(name, quick, overrides)
    check_choice("strategy", strategy, distributed.STRATEGIES)
    seed = check_int("seed", seed, minimum=0)
    _check_workdir(workdir, overwrite)
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    if preset.kind == "trajectory":
        record = _train_trajectory(preset, workdir)
    else:
        record = _train_keras(preset, workdir, verbose, strategy, seed)
    record.update(
        {
            "preset": dataclasses.asdict(preset),
            "quick": quick,
            "overrides": overrides or {},
            "seed": seed,
            "versions": _versions(),
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
    )
    # Beside the model: a non-chief worker writes in its own subfolder.
    with open(os.path.join(os.path.dirname(record["model"]), RUN_RECORD), "w") as f:
        json.dump(record, f, indent=2, default=str)
    return record


def _backed_up_epoch(backup_dir):
    """The epoch `BackupAndRestore` will resume at (0 for a new run)."""
    path = os.path.join(backup_dir, "training_metadata.json")
    try:
        with open(path) as f:
            return int(json.load(f).get("epoch", 0))
    except (OSError, ValueError):  # No backup yet, or one cut short by a kill.
        return 0


def compiled_model(preset, model=None):
    """The preset's model, built and compiled (in the current strategy scope)
    with its loss, the report's Adam schedule and, for video, PSNR and SSIM.

    `model` (default: `build_model(preset)`) is compiled instead when given,
    e.g. a baseline to train exactly as the preset's model is trained."""
    if model is None:
        model = build_model(preset)
    model.build(None)  # BackupAndRestore restores into built models only.
    schedule = keras.optimizers.schedules.ExponentialDecay(
        preset.learning_rate, preset.decay_steps, preset.decay_rate, staircase=True
    )
    metrics = [FrameMetric("psnr"), FrameMetric("ssim")] if preset.kind == "video" else []
    model.compile(keras.optimizers.Adam(schedule), FrameLoss(**preset.loss), metrics=metrics)
    return model


def _train_keras(preset, workdir, verbose, strategy_name, seed):
    strategy = distributed.make_strategy(strategy_name)
    multi_worker = strategy_name == "multi_worker"
    out = distributed.worker_dir(workdir, strategy) if multi_worker else workdir
    backup = os.path.join(out, "backup")
    start_epoch = 0 if multi_worker else _backed_up_epoch(backup)
    # `preset.batch_size` clips on every replica.
    batch_size = distributed.replicated_batch_size(preset.batch_size, strategy)
    train_data, validation = make_data(preset, start_epoch, batch_size, seed)
    with strategy.scope():
        model = compiled_model(preset)
    if multi_worker:
        history = distributed.fit_multi_worker(
            model, model.optimizer, model.loss, strategy, train_data, preset.epochs,
            preset.steps_per_epoch, validation, backup, verbose,
        )
        epochs = history.pop("epoch")
        history = {key: values for key, values in history.items() if values}
    else:
        history = _fit(model, preset, train_data, validation, workdir, backup, verbose)
        epochs = history.epoch
        history = history.history
    final = os.path.join(out, "model.keras")
    model.save(final)
    pictures = _picture_predictions(model, validation, out) if preset.kind == "video" else []
    return {
        "model": final,
        "pictures": pictures,
        "best_model": None if multi_worker else os.path.join(workdir, "best.keras"),
        "epochs_run": len(epochs),
        "first_epoch": epochs[0] if epochs else None,
        "first_clip": start_epoch * preset.steps_per_epoch * batch_size,
        "strategy": strategy_name,
        "replicas": strategy.num_replicas_in_sync,
        "global_batch_size": batch_size,
        "final_metrics": {k: float(v[-1]) for k, v in history.items()},
    }


def _fit(model, preset, train_data, validation, workdir, backup, verbose):
    """`model.fit` with the run's callbacks; returns its `History`."""
    best = os.path.join(workdir, "best.keras")
    nan_stop = StopOnNaN(best)
    callbacks = [
        SafeBackupAndRestore(backup),
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
    return history


def _picture_predictions(model, validation, workdir):
    """A GIF of one held-out clip's prediction and labelled strips of it."""
    inputs, targets = next(iter(validation))
    first = {k: v[:1] for k, v in inputs.items()}
    predicted = model(first, training=False).numpy()[0]
    times = np.broadcast_to(first["query_times"], [1, len(predicted)])[0]
    paths = write_prediction(
        predicted, workdir, times, inputs=first["frames"].numpy()[0],
        input_times=first["input_times"].numpy()[0], name="prediction",
    )
    labels = viz.time_labels(times)
    strip = viz.stack_images([viz.labelled_strip(targets[0].numpy(), labels, "true"),
                              viz.labelled_strip(predicted, labels, "predicted")])
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
