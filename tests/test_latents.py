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
