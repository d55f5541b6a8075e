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
    assert set(ode["split_seconds"]) == {"encoder", "ode", "decoder"} and ode["ode_nfe"] > 0
    assert 0 < ode["fraction_of_matmul_peak"] and ode["flops_per_sequence"] > 0
    assert [row["frames"] for row in ode["scaling"]] == [18, 100]
