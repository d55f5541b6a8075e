"""The benchmark scripts keep running and report every field (not their figures)."""

import json

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
