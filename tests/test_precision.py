"""Mixed precision: what computes in 16 bits, what stays float32, and that
mixed models train, save, load and serve with float32 frames."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import test_ode
from tfodevideo.export import export_model
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE
from tfodevideo.losses import FrameLoss
from tfodevideo.models import LatentODE
from tfodevideo.models import VideoODE
from tfodevideo.models import load_model
from tfodevideo.precision import model_precision
from tfodevideo.precision import optimizer_for
from tfodevideo.precision import precision_scope
from tfodevideo.precision import with_precision
from tfodevideo.training.presets import resolve

TINY = dict(image_size=(16, 16), encoder_channels=(4, 8), field_units=8, field_depth=1)
MODELS = {
    "video": lambda: VideoODE(num_context=2, dynamics_dim=4, appearance_dim=4, **TINY),
    "latent": lambda: LatentODE(dynamics_dim=4, **TINY),
    "cutout": lambda: VideoODE(
        num_context=2, dynamics_dim=4, appearance_dim=72, latent="slots", decoder="glyph",
        slot_appearance="cutout", decoder_options={"glyph_size": 6, "hidden_units": 8},
        walls=0.5, cut_from="clearest", **TINY),
}


@pytest.fixture(autouse=True)
def global_policy_restored():
    """Every test leaves the global policy as it found it (float32)."""
    yield
    assert keras.config.dtype_policy().name == "float32"
    keras.config.set_dtype_policy("float32")


def batch(model, size=4, seed=0):
    """Blobs moving right over 2 inputs and 3 targets: something to learn."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((size, 5, 16, 16, 1), "float32")
    for i in range(size):
        row, col = rng.integers(3, 9, 2)
        for t in range(5):
            frames[i, t, row:row + 4, col + t:col + t + 4] = 1.0
    inputs = {"frames": frames[:, :2],
              "input_times": np.tile(np.float32([0.0, 0.1]), (size, 1)),
              "query_times": np.tile(np.float32([0.2, 0.3, 0.4]), (size, 1))}
    return inputs, frames[:, 2:]


@pytest.mark.parametrize("kind, precision", [
    ("video", "mixed_bfloat16"), ("latent", "mixed_bfloat16"), ("cutout", "mixed_bfloat16"),
    ("video", "mixed_float16"),
])
def test_mixed_models_train_and_predict_float32_frames(kind, precision):
    with precision_scope(precision):
        model = MODELS[kind]()
        model.build(None)
    assert model_precision(model) == precision
    # The parts that must stay float32 do, whatever the policy.
    for layer in (model, model.ode, model.ode.vector_field, model.head):
        assert layer.compute_dtype == "float32", layer.name
    assert model.encoder.compute_dtype == precision.split("_")[1]
    model.compile(optimizer_for(keras.optimizers.Adam(3e-3), precision), FrameLoss())
    inputs, targets = batch(model)
    losses = [model.train_on_batch(inputs, targets, return_dict=True)["loss"]
              for _ in range(8)]
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-2:]) < np.mean(losses[:2])
    frames = model(inputs, training=False)
    assert frames.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(frames)) <= float(tf.reduce_max(frames)) <= 1.0


def test_mixed_float16_scales_the_loss_and_bfloat16_does_not():
    adam = keras.optimizers.Adam()
    assert isinstance(optimizer_for(adam, "mixed_float16"), keras.optimizers.LossScaleOptimizer)
    assert optimizer_for(adam, "mixed_bfloat16") is adam
    with pytest.raises(ValueError, match="precision.*'bfloat16'"):
        optimizer_for(adam, "bfloat16")


def test_the_scope_restores_the_policy_after_an_error():
    with pytest.raises(RuntimeError):
        with precision_scope("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("inside")
    assert keras.config.dtype_policy().name == "float32"


def test_the_ode_keeps_a_float32_state_under_a_mixed_policy():
    with precision_scope("mixed_bfloat16"):
        ode = NeuralODE(test_ode.Spring(second_order=True), rtol=1e-6, atol=1e-8)
        state = tf.constant([[1.0, 0.0, 0.0, 1.0]], tf.bfloat16)
        out = ode(state, tf.constant(np.linspace(0.5, 3.0, 6), tf.float32))
    assert ode.compute_dtype == ode.vector_field.compute_dtype == "float32"
    assert out.dtype == tf.float32
    # Float32 accuracy, not bfloat16's (which would miss by about 1e-2).
    times = np.linspace(0.5, 3.0, 6)
    np.testing.assert_allclose(out.numpy()[0, :, 0], np.cos(2.0 * times), atol=1e-5)


@pytest.mark.parametrize("test", [
    test_ode.test_linear_system_matches_matrix_exponential,
    test_ode.test_riccati_time_dependent_field,
    test_ode.test_second_order_oscillator_conserves_energy,
    test_ode.test_adjoint_gradients_match_finite_differences,
], ids=lambda test: test.__name__)
def test_closed_forms_still_hold_under_a_mixed_policy(test):
    with precision_scope("mixed_bfloat16"):
        test()


def test_an_mlp_field_made_under_a_mixed_policy_computes_in_float32():
    with precision_scope("mixed_bfloat16"):
        field = MLPField(8)
        field.build((2, 4))
        out = field(tf.constant(0.0), tf.ones((2, 4)))
    assert out.dtype == tf.float32
    assert all(layer.compute_dtype == "float32" for layer in field.network_layers)


@pytest.mark.parametrize("kind", ["video", "cutout"])
def test_a_mixed_model_saves_loads_and_exports_with_float32_frames(kind, tmp_path):
    with precision_scope("mixed_bfloat16"):
        model = MODELS[kind]()
        model.build(None)
    inputs, _ = batch(model, size=2)
    expected = model(inputs, training=False).numpy()
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    restored = load_model(path)  # Under the float32 global policy.
    assert model_precision(restored) == "mixed_bfloat16"
    np.testing.assert_array_equal(restored(inputs, training=False).numpy(), expected)
    # `tests/test_export.py` checks the layout with TensorFlow's tools; here
    # the dtypes and values a mixed model serves.
    result = export_model(restored, "mixed", str(tmp_path / "served"), verify=False)
    served = tf.saved_model.load(result["path"])
    frames = served.signatures["serving_default"](
        frames=tf.constant(inputs["frames"]), input_times=tf.constant(inputs["input_times"]),
        query_times=tf.constant(inputs["query_times"][0]))["frames"]
    assert frames.dtype == tf.float32
    # One graph against another: float32 sums may round differently, and a
    # cut-out slot's centre (pixels, ~1e-6 apart) moves a glyph's sub-pixel
    # weights by that much times its steepest edge (up to 1 per pixel).
    np.testing.assert_allclose(frames.numpy(), expected, atol=5e-5)
    if kind == "video":
        swap = served.signatures["swap_appearance"]
        keys = {k: tf.constant(v) for k, v in inputs.items() if k != "query_times"}
        swapped = swap(**keys, appearance_frames=keys["frames"][::-1],
                       appearance_input_times=keys["input_times"],
                       query_times=tf.constant(inputs["query_times"][0]))["frames"]
        assert swapped.dtype == tf.float32


def test_with_precision_copies_weights_and_changes_only_the_compute_dtype():
    model = MODELS["video"]()
    model.build(None)
    inputs, _ = batch(model, size=2)
    expected = model(inputs, training=False).numpy()
    same = with_precision(model, "float32")
    np.testing.assert_array_equal(same(inputs, training=False).numpy(), expected)
    # A trained-looking model: weights moved off their start, so that
    # the two precisions draw different, but close, frames.
    for weight in model.trainable_weights:
        weight.assign(weight + 0.05 * np.sign(np.random.default_rng(0).normal(
            size=weight.shape)).astype("float32"))
    expected = model(inputs, training=False).numpy()
    mixed = with_precision(model, "mixed_bfloat16")
    assert model_precision(mixed) == "mixed_bfloat16" and model_precision(model) == "float32"
    frames = mixed(inputs, training=False).numpy()
    assert frames.dtype == np.float32
    difference = np.abs(frames - expected).max()
    assert 0.0 < difference < 0.05


def test_a_preset_takes_a_precision_and_refuses_others():
    assert resolve("ball_latent_ode").precision == "float32"
    assert resolve("ball_latent_ode", overrides={"precision": "mixed_bfloat16"}).precision \
        == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision.*'float8'"):
        resolve("ball_latent_ode", overrides={"precision": "float8"})


def test_train_records_the_precision_and_builds_a_mixed_model(tmp_path):
    from tfodevideo.training.trainer import train

    record = train("ball_latent_ode", str(tmp_path / "run"), quick=True, verbose=0, overrides={
        "precision": "mixed_bfloat16", "epochs": 1, "steps_per_epoch": 3,
        "validation_clips": 8, "model.encoder_channels": [4, 8], "model.field_units": 8})
    assert record["precision"] == "mixed_bfloat16"
    with open(tmp_path / "run" / "run.json") as f:
        assert json.load(f)["precision"] == "mixed_bfloat16"
    assert model_precision(load_model(record["model"])) == "mixed_bfloat16"
    assert np.isfinite(record["final_metrics"]["loss"])


def test_trajectory_presets_refuse_a_mixed_precision(tmp_path):
    from tfodevideo.training.presets import PRESETS
    from tfodevideo.training.trainer import train

    name = next(n for n, p in PRESETS.items() if p.task == "trajectory")
    with pytest.raises(ValueError, match="precision"):
        train(name, str(tmp_path / "run"), quick=True, overrides={"precision": "mixed_float16"})
