import json
import subprocess
import sys

import keras
import pytest
from test_metrics import PUBLISHED_BASELINES

from helpers import HANG_GUARD_S
from tfodevideo.models import VideoODE
from tfodevideo.training.evaluation import evaluate


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    model = VideoODE(num_context=10, dynamics_dim=2, appearance_dim=2,
                     encoder_channels=(2, 4, 4), field_units=4, field_depth=1)
    model.build(None)
    path = str(folder / "tiny.keras")
    model.save(path)
    return path


def test_report_holds_the_published_baselines(saved_model, tmp_path):
    report = evaluate(saved_model, out_dir=str(tmp_path), batch_size=111)
    assert report["num_sequences"] == 999 and report["horizon"] == 10
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert set(saved["summary"]) == {"model", "black_frames", "copy_last"}
    for name, expected in PUBLISHED_BASELINES.items():
        for metric, value in expected.items():
            digits = len(str(value).split(".")[1])
            assert saved["summary"][name][metric] == pytest.approx(value, abs=0.5 * 10**-digits)
    rows = (tmp_path / "per_frame.csv").read_text().splitlines()
    assert rows[0].startswith("predictor,frame,mse_frame") and len(rows) == 1 + 3 * 10
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_long_horizons_on_generated_clips(saved_model):
    report = evaluate(saved_model, test_set="generated", horizon=30, num_sequences=8,
                      batch_size=4)
    assert report["num_sequences"] == 8
    assert all(len(curve) == 30 for curve in report["curves"]["copy_last"].values())
    with pytest.raises(ValueError, match="generated"):
        evaluate(saved_model, horizon=30)


def test_files_that_are_not_our_models(tmp_path):
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    plain.save(str(tmp_path / "plain.keras"))
    with pytest.raises(ValueError, match="not a tfodevideo video model"):
        evaluate(str(tmp_path / "plain.keras"))
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.keras"):
        evaluate(str(tmp_path / "junk.keras"))
    result = subprocess.run(
        [sys.executable, "-m", "tfodevideo.cli", "evaluate", str(tmp_path / "absent.keras")],
        capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert result.returncode == 2 and "absent.keras" in result.stderr
    assert "Traceback" not in result.stderr
