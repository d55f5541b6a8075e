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
