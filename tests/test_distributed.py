"""Training under tf.distribute: two logical CPUs, and two localhost workers."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import tfodevideo.models  # noqa: F401  (registers the classes of saved models)
from helpers import HANG_GUARD_S
from tfodevideo.training.distributed import make_strategy

# The learning rate is pinned: the bounds below are written for Adam at 1e-3.
SHORT = ["--quick", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2",
         "--set", "validation_clips=4", "--set", "learning_rate=0.001"]


def _command(*args):
    return [sys.executable, "-m", "tfodevideo.cli", "train", "ball_latent_ode", *SHORT, *args]


def test_two_replicas_at_batch_b_match_one_device_at_batch_2b(tmp_path):
    mirrored, single = tmp_path / "mirrored", tmp_path / "single"
    runs = [
        _command("--workdir", str(mirrored), "--strategy", "mirrored", "--cpu-replicas", "2"),
        # The same seed and stream on one device, with the global batch of 4.
        _command("--workdir", str(single)) + ["--batch-size", "4"],
    ]
    for command in runs:
        process = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD_S)
        assert process.returncode == 0, process.stderr[-2000:]
    record = json.loads((mirrored / "run.json").read_text())
    assert record["replicas"] == 2 and record["global_batch_size"] == 4
    assert np.isfinite(record["final_metrics"]["loss"])
    assert np.isfinite(record["final_metrics"]["val_loss"])
    assert json.loads((single / "run.json").read_text())["global_batch_size"] == 4
    two = keras.saving.load_model(mirrored / "model.keras")
    one = keras.saving.load_model(single / "model.keras")
    keras.utils.set_random_seed(0)  # The runs' seed: the weights they started from.
    start = type(one).from_config(one.get_config())
    start.build(None)
    pairs = list(zip(two.trainable_weights, one.trainable_weights, start.trainable_weights,
                     strict=True))
    largest = max(float(np.abs(b.numpy() - c.numpy()).max()) for _, b, c in pairs)
    moved = np.mean([np.abs(b.numpy() - c.numpy()).mean() for _, b, c in pairs])
    apart = np.mean([np.abs(a.numpy() - b.numpy()).mean() for a, b, _ in pairs])
    # Each of the two Adam steps (learning rate 1e-3) moves a weight by at
    # most about 1e-3: the weights moved, from the seed's initial values.
    assert 5e-4 < largest < 2.5e-3, largest
    # The two runs took nearly the same steps. Not exactly: each replica's
    # Dormand-Prince solve picks its step sizes for its own two clips, and
    # Adam's first steps turn small gradient differences into whole steps
    # where a gradient is near zero. Replicas that did not average their
    # gradients, or read other clips, would be apart by about `moved`.
    assert apart < 0.1 * moved, (apart, moved)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_finish_with_identical_weights(tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config)}
        processes.append(subprocess.Popen(
            _command("--workdir", str(tmp_path), "--strategy", "multi_worker"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        ))
    for process in processes:
        _, err = process.communicate(timeout=HANG_GUARD_S)
        assert process.returncode == 0, err[-2000:]
    # The chief writes the run's files; the other worker its own subfolder.
    chief = keras.saving.load_model(tmp_path / "model.keras")
    other = keras.saving.load_model(tmp_path / "worker_1" / "model.keras")
    for a, b in zip(chief.weights, other.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["replicas"] == 2 and record["strategy"] == "multi_worker"


def test_strategy_errors(monkeypatch):
    with pytest.raises(ValueError, match="strategy"):
        make_strategy("parameter_server")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_strategy("multi_worker")
