"""Training a preset with `model.fit`: checkpoints, TensorBoard, resume, a record.

A run writes into its `workdir`:

- `backup/`: Keras `BackupAndRestore` state, saved every epoch; running the
  same command again after a kill resumes from the last finished epoch.
- `best.keras`: the model with the lowest loss on the `validation` split so
  far (never the `test` split: that one is scored for the record only), and
  `best.json`, its epoch and loss, which a resumed run starts from.
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
import tensorflow as tf

import tfodevideo
from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.losses import FrameLoss
from tfodevideo.precision import optimizer_for
from tfodevideo.precision import precision_scope
from tfodevideo.training import distributed
from tfodevideo.training.callbacks import BestCheckpoint
from tfodevideo.training.callbacks import SafeBackupAndRestore
from tfodevideo.training.callbacks import StopOnNaN
from tfodevideo.training.presets import resolve
from tfodevideo.training.tasks import task_of

RUN_RECORD = "run.json"


def build_model(preset):
    """The preset's model, not yet compiled, built under its `precision`.

    Layers take their dtype policy when they are made (some in `build`),
    so the model is made and built inside `precision_scope`; a mixed model
    keeps its policies after the scope, also when saved and loaded."""
    task = task_of(preset)
    with precision_scope(preset.precision):
        model = task.build_model(preset)
        if task.uses_fit:
            model.build(None)
    return model


def make_data(preset, start_epoch=0, batch_size=None, seed=0):
    """`(train, validation)` pipelines of a preset trained with `fit`.

    The training stream of `start_epoch` begins at the clip that epoch would
    have reached, so a resumed run sees new clips, not the first ones again.
    `batch_size` (default: the preset's) is the global batch; `seed` picks
    the training stream. Validation clips come from the `validation` split,
    the same for every seed.
    """
    batch_size = batch_size or preset.batch_size
    start = start_epoch * preset.steps_per_epoch * batch_size
    return task_of(preset).data(preset, batch_size, start, seed)


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
            per replica. Trajectory presets train on one device, with
            their own loop.
        seed: seeds the weights' initialisation (`keras.utils.set_random_seed`)
            and picks the training stream; the same seed gives bitwise the
            same weights on the same machine and thread settings in a fresh
            process or Keras session (`keras.backend.clear_session()`):
            within one session Keras' global state carries over (layer
            names are numbered on) and moves a later run's last bits.
    """
    preset = resolve(name, quick, overrides)
    check_choice("strategy", strategy, distributed.STRATEGIES)
    seed = check_int("seed", seed, minimum=0)
    _check_workdir(workdir, overwrite)
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    task = task_of(preset)
    if not task.uses_fit:
        if preset.precision != "float32":
            raise ValueError(
                f"`precision` {preset.precision!r} applies to models trained with "
                f"`fit`; preset {name!r} trains its own way in float32."
            )
        record = task.run(preset, workdir, seed)
    else:
        with precision_scope(preset.precision):
            record = _train_keras(preset, workdir, verbose, strategy, seed)
    record.update(
        {
            "preset": dataclasses.asdict(preset),
            "precision": preset.precision,
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
    with its loss, the report's Adam schedule and its task's metrics.

    `model` (default: `build_model(preset)`) is compiled instead when given,
    e.g. a baseline to train exactly as the preset's model is trained (make
    it inside `precision_scope(preset.precision)` for a mixed preset). The
    optimizer scales the loss for `mixed_float16`."""
    if model is None:
        model = build_model(preset)
    model.build(None)  # BackupAndRestore restores into built models only.
    schedule = keras.optimizers.schedules.ExponentialDecay(
        preset.learning_rate, preset.decay_steps, preset.decay_rate, staircase=True
    )
    optimizer = optimizer_for(keras.optimizers.Adam(schedule), preset.precision)
    model.compile(optimizer, FrameLoss(**preset.loss),
                  metrics=task_of(preset).metrics())
    # Adam's slots now, not inside the first traced step: variables made in
    # a trace make TensorFlow trace the whole step (ODE solver, adjoint) again.
    optimizer.build(model.trainable_variables)
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
        best = None
    else:
        history, best = _fit(model, preset, train_data, validation, workdir, backup,
                             verbose, resume=start_epoch > 0)
        epochs = history.epoch
        history = history.history
    final = os.path.join(out, "model.keras")
    model.save(final)
    pictures, extra = task_of(preset).finish(model, validation, out)
    return {
        "model": final,
        "pictures": pictures,
        "best_model": None if multi_worker else os.path.join(workdir, "best.keras"),
        # Epoch (from 1) and validation loss of best.keras, over the whole
        # run, resumes included.
        "best_epoch": None if best is None else best["epoch"],
        "best_val_loss": None if best is None else best["value"],
        "epochs_run": len(epochs),
        "first_epoch": epochs[0] if epochs else None,
        "first_clip": start_epoch * preset.steps_per_epoch * batch_size,
        "strategy": strategy_name,
        "replicas": strategy.num_replicas_in_sync,
        "global_batch_size": batch_size,
        "final_metrics": {**{k: float(v[-1]) for k, v in history.items()}, **extra},
    }


def _fit(model, preset, train_data, validation, workdir, backup, verbose, resume):
    """`model.fit` with the run's callbacks; returns its `History` and the
    best-model record (`BestCheckpoint.record`, None before any epoch)."""
    best = os.path.join(workdir, "best.keras")
    nan_stop = StopOnNaN(best)
    checkpoint = BestCheckpoint(best, resume)
    callbacks = [
        SafeBackupAndRestore(backup),
        checkpoint,
        keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
        nan_stop,
    ]
    callbacks += task_of(preset).callbacks(validation, workdir)
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
    return history, checkpoint.record
