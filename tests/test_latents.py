"""Latent diagnostics: PCA, linear decodability, encoded against integrated paths."""

import json
import os

import keras
import numpy as np

from tfodevideo.data.ball import GaussianBall
from tfodevideo.latents import latent_paths
from tfodevideo.latents import pca
from tfodevideo.latents import position_r2
from tfodevideo.latents import write_latent_report
from tfodevideo.models import LatentODE
from tfodevideo.models import VideoODE

TINY = dict(image_size=(28, 28), encoder_channels=(4, 8), field_units=8, dynamics_dim=3)


def test_pca_finds_the_axis_of_a_line():
    rng = np.random.default_rng(0)
    direction = np.array([3.0, 4.0, 0.0]) / 5
    points = rng.normal(size=(200, 1)) * direction + rng.normal(scale=1e-3, size=(200, 3))
    _, axes, ratio = pca(points, 2)
    assert abs(abs(axes[0] @ direction) - 1) < 1e-4 and ratio[0] > 0.999


def test_position_r2_tells_a_linear_code_from_noise():
    rng = np.random.default_rng(0)
    coordinates = rng.uniform(size=(20, 10, 2))
    code = coordinates @ rng.normal(size=(2, 6)) + 0.5
    assert position_r2(code, coordinates) > 0.9999
    assert position_r2(rng.normal(size=(20, 10, 6)), coordinates) < 0.2


def test_paths_meet_at_the_anchor_and_the_report_is_written(tmp_path):
    keras.utils.set_random_seed(0)
    clips = GaussianBall(num_frames=8).generate(6, seed=3)
    for model in (LatentODE(**TINY), VideoODE(num_context=3, appearance_dim=2, **TINY)):
        model.build(None)
        paths = latent_paths(model, clips["frames"], 0.1)
        assert paths["integrated"].shape == (6, 8, 3)
        assert paths["encoded"].shape == (6, 8 - model.num_context + 1, 3)
        # The first window's encoding is where the integration starts.
        anchor = np.searchsorted(paths["times"], paths["encoded_times"][0])
        np.testing.assert_allclose(
            paths["encoded"][:, 0], paths["integrated"][:, anchor], atol=1e-5
        )
    report = write_latent_report(model, clips, 0.1, str(tmp_path))
    assert all(os.path.getsize(path) > 1000 for path in report["figures"])
    saved = json.loads((tmp_path / "latents.json").read_text())
    assert np.isfinite([saved["position_r2_integrated"], saved["path_gap"]]).all()


def test_probes_read_class_from_cut_outs_and_position_from_the_state(data_dir):
    """A cut-out model's appearance is the digit's pixels around its centre of
    mass, its state that centre: even untrained, a linear probe reads the
    class from z_a and not from Z0, and the position from Z0 and not from z_a.
    """
    from tfodevideo.latents import disentanglement_probes

    model = VideoODE(num_context=2, dynamics_dim=2, appearance_dim=32 * 32, latent="slots",
                     slot_appearance="cutout", decoder="glyph", encoder_channels=(4, 8, 8),
                     field_units=8, field_depth=1)
    report = disentanglement_probes(model, "mmnist1", num_clips=300, split="validation")
    accuracy, r2 = report["class_accuracy"], report["position_r2"]
    assert report["train_clips"] == 150
    assert accuracy["appearance"] > accuracy["majority"] + 0.3, accuracy
    assert accuracy["dynamics"] < accuracy["majority"] + 0.15, accuracy
    assert r2["dynamics"] > 0.95 and r2["appearance"] < 0.3, r2
    # Cut from the latest input frame by its time: the frames' order is moot.
    assert report["appearance_order_sensitivity"] < 1e-6


def test_the_order_sensitivity_of_an_encoded_appearance(data_dir):
    """A learned `z_a` (untrained) changes when the input frames come in
    reverse order: what the permutation-invariance loss would remove."""
    from tfodevideo.latents import disentanglement_probes

    model = VideoODE(image_size=(28, 28), num_context=2, dynamics_dim=2, appearance_dim=3,
                     encoder_channels=(4, 8), field_units=8, field_depth=1)
    report = disentanglement_probes(model, "ball", num_clips=20, split="validation")
    assert report["appearance_order_sensitivity"] > 0.01


def test_probes_of_a_model_without_appearance(data_dir):
    from tfodevideo.data.files import load_mnist
    from tfodevideo.latents import disentanglement_probes

    model = LatentODE(image_size=(28, 28), dynamics_dim=4, encoder_channels=(4, 8),
                      field_units=8, field_depth=1)
    report = disentanglement_probes(model, "ball", num_clips=20, split="validation")
    assert report["position_r2"]["appearance"] is None
    assert report["appearance_order_sensitivity"] is None
    assert "class_accuracy" not in report  # A ball has no class.
    images, labels = load_mnist("validation", labels=True)
    assert len(images) == len(labels) == 10000 and set(np.unique(labels)) == set(range(10))
