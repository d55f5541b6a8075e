import itertools
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import tensorflow as tf
import pytest

from helpers import HANG_GUARD_S
from tfodevideo.training.callbacks import TimeBudget
from tfodevideo.training.presets import PRESETS
from tfodevideo.training.presets import resolve
from tfodevideo.training.trainer import compiled_model
from tfodevideo.training.trainer import train

ONE_SHORT_EPOCH = {"epochs": 1, "steps_per_epoch": 2, "validation_clips": 8, "batch_size": 4}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_quick_preset_runs_a_short_epoch(name, tmp_path):
    overrides = dict(ONE_SHORT_EPOCH)
    if PRESETS[name].task == "trajectory":
        overrides = {"epochs": 3}
    record = train(name, str(tmp_path), quick=True, overrides=overrides, verbose=0)
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["preset"]["name"] == name and saved["quick"] is True
    assert saved["versions"]["tensorflow"] and saved["wall_seconds"] > 0
    assert os.path.exists(record["model"])
    keras.saving.load_model(record["model"])
    metrics = record["final_metrics"]
    assert "loss" in metrics or "extrapolation_rmse" in metrics, metrics
    assert all(isinstance(v, float) and np.isfinite(v) for v in metrics.values())


def test_the_same_seed_gives_the_same_weights(tmp_path):
    def weights(seed, folder):
        # Each run in a fresh Keras session, as each CLI run is. Within one
        # session Keras' global state carries over (it numbers layers on:
        # conv2d, conv2d_1, ...), and a later same-seed run's last bits
        # moved (of three runs the first and third were bitwise equal, the
        # second up to 2e-5 off after two Adam steps); after clear_session
        # all three are bitwise equal.
        keras.backend.clear_session()
        record = train("ball_latent_ode", str(tmp_path / folder), quick=True,
                       overrides=ONE_SHORT_EPOCH, verbose=0, seed=seed)
        assert json.loads((tmp_path / folder / "run.json").read_text())["seed"] == seed
        return keras.saving.load_model(record["model"]).get_weights()

    first, again, other = weights(3, "a"), weights(3, "b"), weights(4, "c")
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # Bitwise.
    # Another seed moves every weight by more than 1e-2.
    assert max(np.abs(a - c).max() for a, c in zip(first, other)) > 1e-2
    # Training moved the weights away from the seed's initial ones.
    keras.utils.set_random_seed(3)
    fresh = compiled_model(resolve("ball_latent_ode", quick=True, overrides=ONE_SHORT_EPOCH))
    assert max(np.abs(a - f).max() for a, f in zip(first, fresh.get_weights())) > 1e-4


def test_overrides_and_their_errors():
    preset = resolve("mmnist2_10to10", quick=True,
                     overrides={"epochs": 5, "model.dynamics_dim": 3, "loss.mae": 0.5})
    assert preset.epochs == 5 and preset.model_args["dynamics_dim"] == 3
    assert preset.loss == {"mse": 1.0, "mae": 0.5}
    assert PRESETS["mmnist2_10to10"].model_args["dynamics_dim"] == 48  # Untouched.
    with pytest.raises(ValueError, match="epoch"):
        resolve("mmnist2_10to10", overrides={"epoch": 5})
    with pytest.raises(ValueError, match="preset"):
        resolve("kth_10to10")


def test_a_finished_run_is_not_overwritten(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(ValueError, match="finished run"):
        train("ball_latent_ode", str(tmp_path), quick=True)


def cli(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "tfodevideo.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


def test_a_killed_run_resumes_from_its_last_epoch(tmp_path):
    args = ["train", "ball_latent_ode", "--quick", "--workdir", str(tmp_path),
            "--epochs", "3", "--steps-per-epoch", "4"]
    first = cli(*args)
    metadata = tmp_path / "backup" / "training_metadata.json"
    # Wait until one epoch is backed up, then kill without warning.
    hung = time.monotonic() + HANG_GUARD_S
    while first.poll() is None and not metadata.exists() and time.monotonic() < hung:
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[1][-2000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (tmp_path / "run.json").exists()
    second = cli(*args)
    _, err = second.communicate(timeout=HANG_GUARD_S)
    assert second.returncode == 0, err[-2000:]
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["first_epoch"] >= 1 and record["epochs_run"] <= 2
    # The resumed stream goes on with new clips instead of replaying the first.
    batch = record["preset"]["batch_size"]
    assert record["first_clip"] == record["first_epoch"] * 4 * batch
    # The best model's record spans both processes.
    best = json.loads((tmp_path / "best.json").read_text())
    assert record["best_epoch"] == best["epoch"] and 1 <= best["epoch"] <= 3


def test_a_backup_cut_short_by_a_kill_restarts_the_run(tmp_path, capsys):
    from tfodevideo.training.callbacks import SafeBackupAndRestore

    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n half written")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0,
                        callbacks=[SafeBackupAndRestore(str(backup))])
    assert history.epoch == [0, 1] and "starting afresh" in capsys.readouterr().out


def test_a_compiled_preset_has_its_optimizer_slots_before_the_first_step():
    # Slots made inside the first traced step would make TensorFlow trace
    # the whole step (solver and adjoint) a second time.
    model = compiled_model(resolve("ball_latent_ode", quick=True))
    assert model.optimizer.built
    slots = {v.path for v in model.optimizer.variables}
    assert len(slots) >= 2 * len(model.trainable_variables)


def test_the_best_model_survives_a_resume(tmp_path):
    from tfodevideo.training.callbacks import BestCheckpoint
    from tfodevideo.training.callbacks import read_best_record

    path = str(tmp_path / "best.keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")

    def epoch_end(checkpoint, epoch, val_loss):
        # Each epoch's weights carry its number, to tell which one was saved.
        model.layers[0].kernel.assign(np.full((2, 1), epoch, np.float32))
        checkpoint.set_model(model)
        checkpoint.on_epoch_end(epoch, {"val_loss": val_loss})

    def saved_epoch():
        return float(keras.models.load_model(path).layers[0].kernel.numpy()[0, 0])

    first = BestCheckpoint(path, resume=False)
    for epoch, val_loss in enumerate([3.0, 1.0, 2.0]):
        epoch_end(first, epoch, val_loss)
    assert read_best_record(path) == {"monitor": "val_loss", "value": 1.0, "epoch": 2}
    # A resumed run does not let a worse epoch overwrite the best model
    # (Keras' own checkpoint did: it starts each fit with no best)...
    resumed = BestCheckpoint(path, resume=True)
    epoch_end(resumed, 3, 1.5)
    assert saved_epoch() == 1 and read_best_record(path)["epoch"] == 2
    # ...but keeps a better one, and a new run starts from scratch.
    epoch_end(resumed, 4, 0.5)
    assert saved_epoch() == 4
    assert read_best_record(path) == {"monitor": "val_loss", "value": 0.5, "epoch": 5}
    fresh = BestCheckpoint(path, resume=False)
    epoch_end(fresh, 0, float("nan"))  # A diverged epoch is never the best.
    assert saved_epoch() == 4
    epoch_end(fresh, 0, 9.0)
    assert saved_epoch() == 0 and read_best_record(path)["value"] == 9.0
    # Saved beside its place and swapped in: nothing else is left in the folder.
    assert sorted(os.listdir(tmp_path)) == ["best.json", "best.keras"]
    with pytest.raises(KeyError, match="val_psnr"):
        BestCheckpoint(path, resume=False, monitor="val_psnr").on_epoch_end(0, {"loss": 1.0})

    # A run killed while writing a better model keeps the previous one whole.
    def killed_while_saving(filepath, overwrite=True):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    model.save = killed_while_saving
    with pytest.raises(KeyboardInterrupt):
        epoch_end(fresh, 1, 0.1)
    del model.save
    assert saved_epoch() == 0 and read_best_record(path)["value"] == 9.0


def test_cli_user_errors(tmp_path):
    for args, expected in [
        (["train", "nope"], "preset"),
        (["train", "ball_latent_ode", "--set", "model.units"], "KEY=VALUE"),
        (["train", "ball_latent_ode", "--set", "colour=red"], "colour"),
    ]:
        process = cli(*args, "--workdir", str(tmp_path / "w"))
        _, err = process.communicate(timeout=HANG_GUARD_S)
        assert process.returncode == 2 and expected in err and "Traceback" not in err


def test_nan_loss_stops_and_names_the_last_good_model(tmp_path):
    from tfodevideo.training.callbacks import StopOnNaN

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", lambda y, p: tf.math.log(-tf.abs(p) - 1.0))  # Always NaN.
    guard = StopOnNaN(str(tmp_path / "best.keras"))
    history = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, epochs=3,
                        callbacks=[guard], verbose=0)
    assert guard.message and "best.keras" in guard.message and "nan" in guard.message
    assert len(history.epoch) == 1


def test_an_unwritable_workdir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="workdir"):
        train("ball_latent_ode", str(blocker / "run"), quick=True)


def test_time_budget_stops_fit_once_spent():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    ticks = itertools.count()
    # A fake clock: every reading is a quarter second later, whatever the machine does.
    budget = TimeBudget(1.0, log_every=2, clock=lambda: 0.25 * next(ticks))
    x, y = np.zeros((8, 4)), np.zeros((8, 1))
    model.fit(x, y, batch_size=1, epochs=1000, callbacks=[budget], verbose=0)
    # Readings: 0 at the start, then 0.25 per step; the 4th step spends 1 s.
    assert budget.steps == 4 and budget.elapsed == 1.0 and budget.progress == 1.0
    assert [entry[1] for entry in budget.history] == [2, 4]
    with pytest.raises(ValueError, match="seconds=0"):
        TimeBudget(0)
    with pytest.raises(ValueError, match="clock"):
        TimeBudget(1, clock="sundial")
