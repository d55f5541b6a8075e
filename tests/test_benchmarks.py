"""The benchmark scripts keep running and report every field (not their figures)."""

import json

import numpy as np
import pytest

from benchmarks import data_throughput


def test_data_throughput_small_mode(tmp_path):
    out = tmp_path / "result.json"
    assert data_throughput.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result) >= {
        "dataset", "batch_size", "sequences_per_second_median", "cpu_cores", "tensorflow",
    }
    assert result["sequences_per_second_median"] > 0


def test_ode_speed_small_mode(tmp_path):
    from benchmarks import ode_speed

    out = tmp_path / "ode.json"
    assert ode_speed.main(["--small", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {row["method"] for row in rows} == {"dopri5", "rk4"}
    for row in rows:
        assert row["forward_nfe"] > 0
        # The adjoint solves again backwards; rk4 backpropagates through its steps.
        more = row["forward_backward_nfe"] - row["forward_nfe"]
        assert more > 0 if row["method"] == "dopri5" else more == 0
        assert row["forward_ms"] > 0 and row["forward_backward_ms"] > 0


def test_speed_small_mode(tmp_path):
    from benchmarks import speed

    out = tmp_path / "speed.json"
    assert speed.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["matmul_peak_flops_per_s"] > 0
    ode, convlstm = result["rows"]
    for row in (ode, convlstm):
        assert row["train_sequences_per_s"] > 0 and row["latency_ms_batch1"] > 0
        assert row["predict_frames_per_s_batch1"] > 0 and row["predict_frames_per_s_batch4"] > 0
        assert row["flops_per_sequence"] > 0
        for key in ("", "_batch1"):
            assert row[f"fraction_of_matmul_peak{key}"] > 0
        assert row["train_fraction_of_matmul_peak_est"] > 0
    assert set(ode["split_seconds"]) == {"encoder", "ode", "decoder"} and ode["ode_nfe"] > 0
    assert [row["frames"] for row in ode["scaling"]] == [18, 100]


def test_centroids_find_the_true_ball_centre():
    from benchmarks.quality import centroids
    from tfodevideo.data import GaussianBall

    clips = GaussianBall(num_frames=6).generate(4, seed=3)
    error = np.linalg.norm(centroids(clips["frames"]) - clips["positions"].numpy(), axis=-1)
    assert error.max() < 0.05
    assert np.isnan(centroids(np.zeros((1, 8, 8, 1)))).all()


def test_quality_small_mode_trains_scores_and_resumes(tmp_path):
    from benchmarks import quality

    workdir = tmp_path / "quality"
    # The ball runs the path of mmnist1 (generated test clips) and more.
    settings = ["mmnist2_10to10", "ball_2to18"]
    argv = ["--small", "--budget-minutes", "0.05", "--workdir", str(workdir)]
    assert quality.main(argv + ["--settings", *settings]) == 0
    result = json.loads((workdir / "quality.json").read_text())
    predictors = {"tfodevideo", "convlstm", "black_frames", "copy_last"}
    for name in settings:
        setting = quality.SETTINGS[name]
        scored = result["results"][name]
        assert set(scored["table"]) == predictors
        for scores in scored["table"].values():
            assert set(scores) == {"mse_frame", "mae_frame", "psnr", "ssim", "ssim_paper"}
        assert all(len(c["psnr"]) == setting.long_horizon for c in scored["curves"].values())
        for contestant in ("tfodevideo", "convlstm"):
            record = result["training"][name][contestant]
            assert record["steps"] > 0
            assert record["seconds"] >= 60 * result["budgets_minutes"][name]
        for picture in ("frames.png", "curves.png", "per_frame.csv"):
            assert (workdir / name / picture).stat().st_size > 0
    assert result["results"]["mmnist2_10to10"]["table_sequences"] == 8
    centre = result["results"]["ball_2to18"]["centre_error_px"]
    assert centre["black_frames"] is None and centre["ground_truth"]["at_2x"] < 0.05
    assert set(centre["tfodevideo"]) == {"at_1x", "at_2x", "mean_1x", "mean_beyond_1x"}
    assert len(result["targets"]) == 3

    # A rerun finds every contestant trained and only scores again.
    models = sorted(workdir.glob("*/*.keras"))
    stamps = [path.stat().st_mtime_ns for path in models]
    assert quality.main(argv + ["--settings", "ball_2to18"]) == 0
    assert [path.stat().st_mtime_ns for path in models] == stamps
    # Another budget in the same folder would mix runs: refused, named.
    with pytest.raises(ValueError, match="0.05 minutes"):
        quality.main(["--small", "--budget-minutes", "0.2", "--workdir", str(workdir),
                      "--settings", *settings])
