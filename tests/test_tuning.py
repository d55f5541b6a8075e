"""keras-tuner searches: every tuner completes its trials, a finished trial is
released, a killed search resumes."""

import csv
import gc
import json
import signal
import subprocess
import sys
import time
import weakref

import keras
import pytest

from helpers import HANG_GUARD_S
import tfodevideo.models  # noqa: F401  (registers the classes of saved models)
from tfodevideo.training.presets import resolve
from tfodevideo.training.tuning import PresetHyperModel
from tfodevideo.training.tuning import tune

TINY = {
    "epochs": 1, "steps_per_epoch": 1, "batch_size": 2, "validation_clips": 4,
    "model.encoder_channels": [4, 8], "model.field_units": 8,
}


@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_a_two_trial_search_completes_every_trial(tuner, tmp_path):
    result = tune("ball_latent_ode", str(tmp_path), tuner=tuner, max_trials=2,
                  quick=True, overrides=TINY)
    # keras-tuner marks a trial FAILED and still returns: check each one.
    assert [row["status"] for row in result["rows"]] == ["COMPLETED", "COMPLETED"]
    with open(result["summary"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {"score", "dynamics_dim", "latent_l2"} <= set(rows[0])
    best = keras.saving.load_model(result["best_model"])
    assert best.dynamics_dim == result["best"]["dynamics_dim"]


def test_the_hypermodel_tunes_the_disentangled_model():
    import keras_tuner

    preset = resolve("mmnist1_2to18", quick=True, overrides=TINY)
    hp = keras_tuner.HyperParameters()
    model = PresetHyperModel(preset, tune_learning_rate=True, tune_tolerance=True).build(hp)
    assert {"appearance_dim", "permutation_weight", "learning_rate", "rtol"} <= set(hp.values)
    assert model.appearance_dim == hp.values["appearance_dim"]
    with pytest.raises(ValueError, match="video"):
        PresetHyperModel(resolve("ball_autoencoder", quick=True))


def test_a_finished_trial_leaves_neither_its_model_nor_its_traces():
    import keras_tuner

    from tfodevideo._gradients import _gradient_table

    table = _gradient_table()  # Where tf.custom_gradient registers.
    preset = resolve("ball_latent_ode", quick=True, overrides=TINY)
    hypermodel = PresetHyperModel(preset)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    before = set(table)
    hypermodel.fit(hp, model)
    assert set(table) == before
    # Without the release, the solver's gradient entries keep the model.
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def _trial_status(path):
    """The status in a keras-tuner ``trial.json``, or None while it is absent or half written."""
    try:
        return json.loads(path.read_text())["status"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def test_a_killed_search_resumes_with_only_the_remaining_trials(tmp_path):
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={json.dumps(value)}")]
    command = [sys.executable, "-m", "tfodevideo.cli", "tune", "ball_latent_ode", "--quick",
               "--tuner", "random", "--max-trials", "2", "--directory", str(tmp_path), *sets]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trial = tmp_path / "search" / "trial_0" / "trial.json"
    # The kill must land after trial 0 is recorded, however long that takes
    # on a busy machine: wait on the search, not on a clock.
    hung = time.monotonic() + HANG_GUARD_S
    while (first.poll() is None and _trial_status(trial) != "COMPLETED"
           and time.monotonic() < hung):
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[1][-2000:]
    assert _trial_status(trial) == "COMPLETED"
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.count("Running Trial #") == 1
    with open(tmp_path / "trials.csv") as f:
        assert [row["status"] for row in csv.DictReader(f)] == ["COMPLETED", "COMPLETED"]
