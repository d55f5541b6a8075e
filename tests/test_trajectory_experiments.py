"""Small versions of the report's coordinate experiments (section 5.1)."""

import numpy as np

from tfodevideo.training.trajectories import plot_single
from tfodevideo.training.trajectories import run_many
from tfodevideo.training.trajectories import run_single


def test_circle_extrapolation_beats_holding_still(tmp_path):
    result = run_single(shape="circle", epochs=100)
    assert result["losses"][-1] < 0.01 * result["losses"][0]
    # The last fifth of the turn: the prediction must stay far closer to the
    # circle than the last training position held still.
    assert result["rmse"] < 0.35 * result["baseline_rmse"], result["rmse"]
    assert result["prediction"].shape == (1000, 2)
    plot_single(result, str(tmp_path / "circle.png"))
    assert (tmp_path / "circle.png").stat().st_size > 0


def test_many_trajectories_second_order_runs_end_to_end():
    result = run_many(
        shape="spiral", num_points=100, dt=1e-2, stride=2, window=None,
        num_trajectories=8, num_test_trajectories=4, units=16, epochs=5,
    )
    assert result["prediction"].shape == result["truth"].shape == (4, 100, 2)
    assert np.isfinite(result["rmse"]) and result["losses"][-1] < result["losses"][0]
