"""SavedModel export: layout, signatures, TensorFlow-only reload, bad requests."""

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import HANG_GUARD_S
from tfodevideo.export import example_request
from tfodevideo.export import export_model
from tfodevideo.models import LatentODE
from tfodevideo.models import VideoODE

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "serving_request.py")
TINY = dict(image_size=(16, 16), encoder_channels=(4, 8), field_units=8)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    video = VideoODE(num_context=2, dynamics_dim=4, appearance_dim=4, **TINY)
    video.build(None)
    return video


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    return export_model(model, "tiny", str(base), verify=True), base


def test_export_writes_a_verified_serving_layout(exported):
    result, base = exported
    assert result["path"] == os.path.join(str(base), "tiny", "1") and result["version"] == 1
    assert os.path.isfile(os.path.join(result["path"], "saved_model.pb"))
    report = result["verification"]
    assert report["signatures"] == ["serving_default", "swap_appearance"]
    assert report["outputs"] == ["frames", "latents"] and report["max_abs_difference"] <= 1e-5
    # Nothing but the version folder: no staging leftovers for the server.
    assert os.listdir(os.path.join(str(base), "tiny")) == ["1"]


def test_the_served_function_takes_any_number_of_query_times(model, exported):
    served = tf.saved_model.load(exported[0]["path"]).signatures["serving_default"]
    # 40 query times: more than the ODE's direct-solve limit, so the knot path.
    for count in (1, 40):
        request = example_request(model, num_queries=count, batch=3)
        outputs = served(**{k: tf.constant(v) for k, v in request.items()})
        assert outputs["frames"].shape == (3, count, 16, 16, 1)
        assert outputs["latents"].shape == (3, count, 4)
        np.testing.assert_allclose(outputs["frames"], model(request), atol=1e-5)


def test_the_swap_signature_matches_the_model(model, exported):
    swap = tf.saved_model.load(exported[0]["path"]).signatures["swap_appearance"]
    a, b = example_request(model, batch=2, seed=1), example_request(model, batch=2, seed=2)
    outputs = swap(
        frames=a["frames"], input_times=a["input_times"], query_times=a["query_times"],
        appearance_frames=b["frames"], appearance_input_times=b["input_times"],
    )
    np.testing.assert_allclose(outputs["frames"], model.swap_appearance(a, b), atol=1e-5)


def test_bad_requests_fail_with_our_message(model, exported):
    served = tf.saved_model.load(exported[0]["path"]).signatures["serving_default"]
    request = {k: tf.constant(v) for k, v in example_request(model, 4).items()}
    backwards = dict(request, query_times=tf.constant([0.5, 0.4, 0.6, 0.7]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="strictly increasing"):
        served(**backwards)
    twice = tf.concat([request["input_times"]] * 2, 0)  # Batch 2 against frames' 1.
    for bad in ({"frames": request["frames"][0]}, {"input_times": request["input_times"][0]},
                {"input_times": twice}):
        with pytest.raises(tf.errors.InvalidArgumentError, match="must be \\(batch, 2"):
            served(**dict(request, **bad))
    times = request["input_times"].numpy()
    for bad, match in [
        ({"query_times": tf.zeros([0])}, "`query_times` is empty"),
        ({"query_times": tf.zeros([1, 4])}, "`query_times` \\(T,\\)"),
        ({"query_times": tf.constant(0.5)}, "`query_times` \\(T,\\)"),
        ({"frames": request["frames"][:0], "input_times": request["input_times"][:0]},
         "`frames` holds no clips"),
        ({"input_times": tf.constant(times[:, :1].repeat(2, 1))}, "strictly increasing"),
        ({"input_times": tf.constant(times[:, ::-1].copy())}, "strictly increasing"),
        ({"input_times": tf.constant([[np.nan, 0.1]])}, "`input_times` must be finite"),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            served(**dict(request, **bad))


def test_an_exported_version_is_readable_by_other_users(exported):
    for root, folders, files in os.walk(exported[0]["path"]):
        assert os.stat(root).st_mode & 0o777 == 0o755, root
        for name in files:
            assert os.stat(os.path.join(root, name)).st_mode & 0o777 == 0o644, name


def test_versions_are_never_overwritten_and_a_failed_export_leaves_them(
    model, exported, monkeypatch
):
    base = str(exported[1])
    with pytest.raises(ValueError, match="version=1"):
        export_model(model, "tiny", base, version=1)

    def fail(path, model):
        assert os.path.isfile(os.path.join(path, "saved_model.pb"))  # Written, hidden.
        raise RuntimeError("verification failed")

    # A version that fails its checks is never put where the server looks.
    monkeypatch.setattr("tfodevideo.export.verify_export", fail)
    with pytest.raises(RuntimeError, match="verification failed"):
        export_model(model, "tiny", base, verify=True)
    assert os.listdir(os.path.join(base, "tiny")) == ["1"]
    with pytest.raises(ValueError, match="VideoODE"):
        export_model(keras.Sequential([keras.layers.Dense(1)]), "tiny", base)


def test_cli_exports_a_latent_ode_and_saved_model_cli_lists_it(tmp_path):
    keras.utils.set_random_seed(0)
    latent = LatentODE(dynamics_dim=4, **TINY)
    latent.build(None)
    latent.save(tmp_path / "latent.keras")
    command = [sys.executable, "-m", "tfodevideo.cli", "export", str(tmp_path / "latent.keras"),
               "--name", "latent", "--base-dir", str(tmp_path / "served")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert result.returncode == 0, result.stderr[-2000:]
    shown = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show",
         "--dir", str(tmp_path / "served" / "latent" / "1"), "--all"],
        capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert "signature_def['serving_default']" in shown.stdout
    assert "swap_appearance" not in shown.stdout  # No appearance vector to swap.

    # The REST body written by the script answers through the signature.
    clip = np.random.default_rng(0).uniform(size=(5, 16, 16, 1)).astype("float32")
    np.save(tmp_path / "clip.npy", clip)
    spec = importlib.util.spec_from_file_location("serving_request", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        script.main([str(tmp_path / "latent.keras"), str(tmp_path / "clip.npy"),
                     "--times", "0.2,0.35,0.5"])
    body = json.loads(out.getvalue())
    served = tf.saved_model.load(str(tmp_path / "served" / "latent" / "1"))
    answer = served.signatures[body["signature_name"]](
        **{k: tf.constant(v, tf.float32) for k, v in body["inputs"].items()}
    )
    assert answer["frames"].shape == (1, 3, 16, 16, 1)
