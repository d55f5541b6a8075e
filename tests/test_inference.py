import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from PIL import ImageSequence

from helpers import HANG_GUARD_S
from tfodevideo import inference


def cli(*args):
    result = subprocess.run([sys.executable, "-m", "tfodevideo.cli", *args],
                            capture_output=True, text=True, timeout=HANG_GUARD_S)
    return result


def test_read_clip_formats(tmp_path, standard_test):
    clip = standard_test[0, ..., 0]  # (20, 64, 64) uint8
    np.save(tmp_path / "clip.npy", clip)
    np.savez(tmp_path / "clip.npz", frames=clip)
    iio.imwrite(tmp_path / "clip.gif", clip, duration=100, loop=0)
    (tmp_path / "pngs").mkdir()
    for k, frame in enumerate(clip):
        tf.io.write_file(str(tmp_path / "pngs" / f"{k:03d}.png"), tf.io.encode_png(frame[..., None]))
    expected = clip[..., None].astype(np.float32) / 255.0
    for name in ("clip.npy", "clip.npz", "clip.gif", "pngs"):
        frames = inference.read_clip(str(tmp_path / name))
        assert frames.shape == (20, 64, 64, 1), name
        np.testing.assert_allclose(frames, expected, atol=1.5 / 255, err_msg=name)


def test_read_clip_refuses_bad_files(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((5, 5)))
    np.save(tmp_path / "bright.npy", np.full((3, 8, 8), 7.0))
    (tmp_path / "clip.txt").write_text("frames")
    for name, match in [("flat.npy", "shape"), ("bright.npy", r"\[0, 1\]"),
                        ("clip.txt", "expected .npy")]:
        with pytest.raises(ValueError, match=match):
            inference.read_clip(str(tmp_path / name))
    with pytest.raises(FileNotFoundError):
        inference.read_clip(str(tmp_path / "absent.npy"))
    with pytest.raises(ValueError, match="channel"):
        np.save(tmp_path / "rgb.npy", np.zeros((3, 8, 8, 3)))
        inference.read_clip(str(tmp_path / "rgb.npy"), channels=2)


def test_train_evaluate_predict_swap_round_trip(tmp_path, standard_test):
    run = tmp_path / "run"
    trained = cli("train", "mmnist1_2to18", "--quick", "--workdir", str(run),
                  "--epochs", "1", "--steps-per-epoch", "2", "--set", "validation_clips=8")
    assert trained.returncode == 0, trained.stderr[-2000:]
    model = str(run / "model.keras")
    assert json.loads((run / "run.json").read_text())["epochs_run"] == 1
    assert (run / "prediction.gif").exists() and (run / "true_over_predicted.png").exists()

    evaluated = cli("evaluate", model, "--num-sequences", "16", "--out", str(tmp_path / "eval"))
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "black_frames" in evaluated.stdout and "copy_last" in evaluated.stdout

    np.save(tmp_path / "a.npy", standard_test[0])
    np.save(tmp_path / "b.npy", standard_test[1])
    predicted = cli("predict", model, str(tmp_path / "a.npy"), "--out", str(tmp_path / "p"),
                    "--times", "0.05,0.5,2.5,4.0")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    frames = np.load(tmp_path / "p" / "prediction.npy")
    assert frames.shape == (4, 64, 64, 1)
    # One second of clip time per second: the median step, 1.5, per frame.
    with Image.open(tmp_path / "p" / "prediction.gif") as gif:
        shown = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    assert shown == [1500] * 4

    swapped = cli("swap", model, str(tmp_path / "a.npy"), str(tmp_path / "b.npy"),
                  "--out", str(tmp_path / "swap.png"), "--until", "1.0")
    assert swapped.returncode == 0, swapped.stderr[-2000:]
    assert os.path.getsize(tmp_path / "swap.png") > 0

    bad = cli("predict", model, str(tmp_path / "a.npy"), "--times", "soon")
    assert bad.returncode == 2 and "--times" in bad.stderr and "Traceback" not in bad.stderr


def test_the_truth_is_shown_beside_a_prediction_of_frames_the_clip_holds(tmp_path,
                                                                         standard_test):
    clip = standard_test[0].astype(np.float32) / 255.0  # 20 frames, t = 0.0 ... 1.9.
    truth = inference.frames_at(clip, [1.0, 1.9, 1.2])
    np.testing.assert_array_equal(truth, clip[[10, 19, 12]])
    assert inference.frames_at(clip, [1.0, 1.05]) is None  # Between two frames.
    assert inference.frames_at(clip, [1.0, 2.0]) is None  # Past the clip.
    predicted = clip[10:14][::-1]  # Any frames in the prediction's place.
    times = [1.0, 1.1, 1.2, 1.3]
    plain = inference.write_prediction(predicted, str(tmp_path / "plain"), times)
    shown = inference.write_prediction(predicted, str(tmp_path / "truth"), times,
                                       truth=inference.frames_at(clip, times))
    strip, with_truth = iio.imread(plain[2]), iio.imread(shown[2])
    assert with_truth.shape[0] > strip.shape[0]  # A row of true frames more.
    gif, side_by_side = iio.imread(plain[3]), iio.imread(shown[3])
    assert side_by_side.shape[0] == gif.shape[0] == 4
    assert side_by_side.shape[2] > 1.9 * gif.shape[2]  # True | predicted.
    np.testing.assert_array_equal(np.load(shown[0]), predicted)
