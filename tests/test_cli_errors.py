"""Bad command lines end in one line and exit status 2: no traceback, no hang,
nothing silently wrong, no earlier output replaced, nothing half-written."""

import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image
from PIL import ImageSequence

from helpers import HANG_GUARD_S
from tfodevideo import cli

ROOT = os.path.join(os.path.dirname(__file__), "..", "saved_models")
MODEL = os.path.join(ROOT, "ball_latent_ode.keras")
CLIP = os.path.join(ROOT, "examples", "ball_clip.npy")


def run(capsys, *argv):
    """`tfodevideo ARGV` in this process: (status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def refused(capsys, match, *argv):
    status, _, err = run(capsys, *argv)
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfodevideo: error:"), err
    assert match in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def files(tmp_path):
    """Clips a user might hand us, good and bad."""
    rng = np.random.default_rng(0)
    clip = np.load(CLIP)
    (tmp_path / "noise.bin").write_bytes(rng.bytes(300))
    for name in ("noise.npy", "noise.npz", "noise.gif", "noise.mp4", "noise.keras"):
        (tmp_path / name).write_bytes(rng.bytes(300))
    np.save(tmp_path / "scaled.npy", clip.astype(np.float32))  # 0-255 as floats.
    np.save(tmp_path / "big.npy", np.repeat(np.repeat(clip, 2, 1), 2, 2))  # 56x56.
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    iio.imwrite(mixed / "a.png", clip[0, ..., 0])
    iio.imwrite(mixed / "b.png", clip[1, :20, :, 0])
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    iio.imwrite(corrupt / "0.png", clip[0, ..., 0])
    (corrupt / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.bytes(100))
    return tmp_path


def test_predict_refuses_bad_times_in_one_line(capsys, tmp_path):
    out = tmp_path / "out"
    cases = [
        ("--times", "soon"), ("--times", ""), ("--times", "1.0,1.0"),
        ("--times", "1.0", "--until", "3"), ("--until", "1.0", "--step", "0"),
        ("--frame-dt", "0"), ("--until", "1e6", "--step", "0.1"),
        ("--until", "10", "--step", "1e-6"), ("--until", "0.05"),
    ]
    words = ["--times", "--times", "repeats", "either", "--step", "--frame-dt",
             "9999999 frames", "frames; the limit is 2000", "--until"]
    for flags, word in zip(cases, words):
        refused(capsys, word, "predict", MODEL, CLIP, "--out", out, *flags)
    assert not out.exists()  # A refused run leaves nothing behind.


def test_predict_returns_frames_in_the_order_asked_and_records_times(capsys, tmp_path):
    status, _, err = run(capsys, "predict", MODEL, CLIP, "--out", tmp_path / "p",
                         "--times", "1.0,0.5,0.3")
    assert status == 0, err
    frames = np.load(tmp_path / "p" / "prediction.npy")
    times = json.loads((tmp_path / "p" / "prediction_times.json").read_text())["times"]
    assert times == [1.0, 0.5, 0.3]
    status, _, err = run(capsys, "predict", MODEL, CLIP, "--out", tmp_path / "q",
                         "--times", "0.3,0.5,1.0")
    assert status == 0, err
    np.testing.assert_allclose(frames[::-1], np.load(tmp_path / "q" / "prediction.npy"),
                               atol=1e-5)
    # Earlier output is kept unless --overwrite.
    refused(capsys, "--overwrite", "predict", MODEL, CLIP, "--out", tmp_path / "p")
    assert run(capsys, "predict", MODEL, CLIP, "--out", tmp_path / "p", "--overwrite")[0] == 0


def test_bad_files_are_named_in_one_line(capsys, files):
    out = files / "out"
    for name, word in [("noise.npy", "not a NumPy array file"),
                       ("noise.npz", "not a NumPy archive"), ("noise.gif", "GIF"),
                       ("noise.mp4", "MP4"), ("noise.bin", "expected .npy"),
                       ("mixed", "b.png is 28x20"), ("corrupt", "1.png' is not a readable PNG"),
                       ("scaled.npy", "divide by 255"), ("big.npy", "pass --resize")]:
        line = refused(capsys, word, "predict", MODEL, files / name, "--out", out)
        assert "allow_pickle" not in line and "plugin" not in line
    refused(capsys, "not a Keras model file", "predict", files / "noise.keras", CLIP,
            "--out", out)
    assert not out.exists()
    status, _, err = run(capsys, "predict", MODEL, files / "big.npy", "--out", out,
                         "--resize", "--until", "0.5")
    assert status == 0 and "resized 56x56 frames to 28x28" in err


def test_swap_evaluate_latents_and_train_refuse_in_one_line(capsys, tmp_path):
    refused(capsys, "is a folder", "swap", MODEL, CLIP, CLIP, "--out", tmp_path)
    refused(capsys, "--test-set generated --dataset ball", "evaluate", MODEL)
    refused(capsys, "num_sequences", "evaluate", MODEL, "--test-set", "generated",
            "--dataset", "ball", "--num-sequences", "0")
    refused(capsys, "--num-clips", "latents", MODEL, "--num-clips", "1",
            "--out", tmp_path / "l")
    refused(capsys, "--dataset ball", "latents", MODEL, "--dataset", "mmnist1",
            "--out", tmp_path / "l")
    work = tmp_path / "run"
    for flags, word in [(("--steps-per-epoch", "0"), "steps_per_epoch"),
                        (("--epochs", "0"), "epochs"),
                        (("--set", "epochs=abc"), "whole number"),
                        (("--set", "learning_rate=fast"), "takes a number"),
                        (("--set", "model.encoder_channels=8"), "a list")]:
        refused(capsys, word, "train", "ball_latent_ode", "--workdir", work, *flags)
    assert not work.exists()
    assert not (tmp_path / "l").exists()


def test_evaluate_scores_exactly_the_sequences_asked(capsys, tmp_path):
    status, out, err = run(capsys, "evaluate", MODEL, "--test-set", "generated",
                           "--dataset", "ball", "--num-sequences", "10", "--batch-size", "4",
                           "--out", tmp_path / "e")
    assert status == 0, err
    assert "10 sequences" in out
    report = json.loads((tmp_path / "e" / "evaluation.json").read_text())
    assert report["num_sequences"] == 10


def test_gif_plays_at_the_asked_rate_and_keeps_equal_frames_apart(capsys, tmp_path):
    status, _, err = run(capsys, "predict", MODEL, CLIP, "--out", tmp_path / "p",
                         "--until", "1.1", "--step", "0.05", "--video", "both")
    assert status == 0, err
    with Image.open(tmp_path / "p" / "prediction.gif") as gif:
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    # 20 frames 0.05 apart: one second of clip time per second, 50 ms each,
    # none merged (each frame carries its time label).
    assert durations == [50] * 20
    video = iio.imread(tmp_path / "p" / "prediction.mp4", index=None)
    assert video.shape[0] == 20 and video.shape[1] >= 28 * 3
    # An MP4 reads back as a clip: predict from the video just written.
    status, _, err = run(capsys, "predict", MODEL, tmp_path / "p" / "prediction.mp4",
                         "--out", tmp_path / "q", "--resize", "--until", "0.5")
    assert status == 0, err


def test_failed_runs_remove_what_they_created(capsys, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        os.makedirs(tmp_path / "p", exist_ok=True)
        raise ValueError("disk trouble")

    monkeypatch.setattr("tfodevideo.inference.write_prediction", fail)
    refused(capsys, "disk trouble", "predict", MODEL, CLIP, "--out", tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_help_answers_without_tensorflow_and_errors_hide_its_logs(tmp_path):
    code = ("import sys; from tfodevideo import cli; "
            "cli.build_parser().format_help(); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=HANG_GUARD_S)
    # A run that would hang in fit refuses at once, and TensorFlow's C++ log
    # lines (CUDA probes) stay hidden.
    result = subprocess.run(
        [sys.executable, "-m", "tfodevideo.cli", "train", "ball_latent_ode",
         "--steps-per-epoch", "0", "--workdir", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tfodevideo: error: `steps_per_epoch` must be at least 1. Received: steps_per_epoch=0"
    ]
