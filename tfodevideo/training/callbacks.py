"""Callbacks of a training run: frame images, a NaN stop, a kill-safe backup,
a best-model checkpoint that survives a resume, a time budget."""

import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfodevideo._checks import check_choice


class FrameImages(keras.callbacks.Callback):
    """Writes predicted and true frames of a fixed batch to TensorBoard each epoch.

    Args:
        log_dir: the TensorBoard folder of the run.
        inputs, targets: one batch of held-out clips.
        max_clips: clips shown.
    """

    def __init__(self, log_dir, inputs, targets, max_clips=3):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.inputs = {k: v[:max_clips] for k, v in inputs.items()}
        self.targets = targets[:max_clips]

    def on_epoch_end(self, epoch, logs=None):
        predicted = self.model(self.inputs, training=False)
        # One image per clip: true frames above predicted ones, time across.
        pair = tf.concat([self.targets, tf.clip_by_value(predicted, 0.0, 1.0)], axis=2)
        strip = tf.concat(tf.unstack(pair, axis=1), axis=2)
        with self.writer.as_default():
            tf.summary.image("true_over_predicted", strip, step=epoch, max_outputs=len(strip))
        self.writer.flush()


class StopOnNaN(keras.callbacks.Callback):
    """Stops training at a non-finite loss and says which checkpoint to use.

    Args:
        checkpoint: path of the best-model checkpoint written so far.
    """

    def __init__(self, checkpoint):
        super().__init__()
        self.checkpoint = checkpoint
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(np.asarray(loss))):
            self.message = (
                f"Training stopped: the loss became {loss} at batch {batch}. The "
                f"last good model is {self.checkpoint}. Lower the learning rate "
                "or tighten the ODE tolerance, then run again."
            )
            self.model.stop_training = True


class SafeBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that survives a kill in the middle of a backup.

    Keeps the previous backup beside the latest (Keras' `double_checkpoint`)
    and falls back to it when the latest cannot be read. A run killed while
    its very first backup was being written has nothing to fall back to; it
    then starts afresh, having lost only the epoch in progress, instead of
    failing on the half-written file at every restart.
    """

    def __init__(self, backup_dir):
        super().__init__(backup_dir, double_checkpoint=True)

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except OSError as error:
            print(f"Unreadable backup in {self.backup_dir} ({error}); starting afresh.")
            for path in (self._weights_path, self._training_metadata_path):
                if os.path.exists(path):
                    os.remove(path)
            self.model._initial_epoch = 0


def best_record_path(checkpoint):
    """Where `BestCheckpoint` records the epoch and score of `checkpoint`:
    `best.keras` -> `best.json`."""
    return os.path.splitext(checkpoint)[0] + ".json"


def read_best_record(checkpoint):
    """The record `BestCheckpoint` wrote beside `checkpoint`, or None."""
    try:
        with open(best_record_path(checkpoint)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever `monitor` improves, remembering the best
    across a resumed run.

    Keras' `ModelCheckpoint` starts every `fit` with no best value, so the
    first epoch after a resume overwrote the best model whatever it scored.
    This one writes `{"monitor", "value", "epoch"}` (epoch counted from 1)
    to `best.json` beside `best.keras` each time it saves, and a resumed run
    starts from that value: the model file is always the best epoch the run
    has seen. Both files are written beside their places and swapped in
    one after the other, so a run killed while saving keeps the previous
    best model and its record, never half a file (Keras' checkpoint writes
    the model file in place, for seconds on a large model).

    Args:
        filepath: the `.keras` file of the best model.
        resume: whether the run goes on from a backup; a new run ignores
            (and replaces) a record left in the folder.
        monitor: the logged value to minimise.

    Attributes:
        best: the lowest value seen (None before any); `record`: the record
            of the saved model (None before any).
    """

    def __init__(self, filepath, resume, monitor="val_loss"):
        super().__init__()
        record = read_best_record(filepath) if resume else None
        if record is not None and record.get("monitor") != monitor:
            record = None  # Another quantity's best says nothing about this one.
        self.filepath = filepath
        self.monitor = monitor
        self.record = record
        self.best = None if record is None else record["value"]

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise KeyError(f"BestCheckpoint monitors {self.monitor!r}, which this run does "
                           f"not log. Logged: {sorted(logs or {})}")
        current = float(current)
        if not math.isfinite(current) or (self.best is not None and not current < self.best):
            return
        self.best = current
        self.record = {"monitor": self.monitor, "value": current, "epoch": epoch + 1}
        record_path = best_record_path(self.filepath)
        # Keras names the format by the suffix: the temporary file keeps it.
        staged = os.path.splitext(self.filepath)[0] + ".tmp.keras"
        self.model.save(staged, overwrite=True)
        with open(record_path + ".tmp", "w") as f:
            json.dump(self.record, f)
        # Two renames, microseconds apart: the only window in which a kill
        # leaves a model newer than its record.
        os.replace(staged, self.filepath)
        os.replace(record_path + ".tmp", record_path)


# Clocks a `TimeBudget` can count: wall-clock time, or the CPU time of this
# process (all its threads), which other processes on the machine do not eat.
CLOCKS = {"wall": time.monotonic, "cpu": time.process_time}


class TimeBudget(keras.callbacks.Callback):
    """Stops training once a time budget is spent, at the end of a step.

    The clock starts when training begins, so graph tracing counts against
    the budget as it does for a user waiting on `fit`. Comparisons at equal
    compute (`benchmarks.quality`) train every contestant with one, counting
    CPU time: a process pinned to one core then gets the same compute
    whatever else runs on the machine.

    Args:
        seconds: the budget.
        log_every: record `(seconds, step, loss)` every this many steps.
        clock: `"wall"`, `"cpu"` (see `CLOCKS`), or any function returning
            seconds (tests pass a fake one).

    Attributes:
        steps: training steps run.
        seconds: the budget; `elapsed`: seconds actually used.
        history: the recorded `(seconds, step, loss)` triples.
    """

    def __init__(self, seconds, log_every=50, clock="wall"):
        super().__init__()
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"`seconds` must be a positive number. Received: seconds={seconds!r}")
        if not callable(clock):
            clock = CLOCKS[check_choice("clock", clock, CLOCKS)]
        self.clock = clock
        self.seconds = float(seconds)
        self.log_every = log_every
        self.steps = 0
        self.elapsed = 0.0
        self.history = []
        self._start = None

    @property
    def progress(self):
        """The fraction of the budget spent, in `[0, 1]`."""
        return min(self.elapsed / self.seconds, 1.0)

    def on_train_begin(self, logs=None):
        self._start = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.elapsed = self.clock() - self._start
        if self.steps % self.log_every == 0 or self.elapsed >= self.seconds:
            loss = (logs or {}).get("loss")
            loss = None if loss is None else float(np.asarray(loss))
            self.history.append((round(self.elapsed, 2), self.steps, loss))
        if self.elapsed >= self.seconds:
            self.model.stop_training = True


class TeacherForcingSchedule(keras.callbacks.Callback):
    """Lowers a model's `teacher_forcing` probability from 1 to 0 (scheduled
    sampling, as OpenSTL trains recurrent predictors).

    The probability falls linearly with `progress()`, a function returning
    the fraction of training done in `[0, 1]` (e.g. a `TimeBudget`'s
    `progress`, or steps over planned steps), and is 0 from `stop` on, so
    the last part of training runs free as the model will at test time.

    Args:
        progress: callable returning the fraction of training done.
        stop: the fraction at which teacher forcing ends.
    """

    def __init__(self, progress, stop=0.5):
        super().__init__()
        if not 0.0 < stop <= 1.0:
            raise ValueError(f"`stop` must lie in (0, 1]. Received: stop={stop!r}")
        self.progress = progress
        self.stop = stop

    def on_train_batch_begin(self, batch, logs=None):
        self.model.teacher_forcing.assign(max(0.0, 1.0 - self.progress() / self.stop))
