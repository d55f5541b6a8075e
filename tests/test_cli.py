import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from helpers import HANG_GUARD_S
from tfodevideo import viz


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfodevideo.cli", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )


def test_preview_writes_a_png_per_data_set(tmp_path):
    result = run_cli("preview", "--out", str(tmp_path), "--num-clips", "2")
    assert result.returncode == 0, result.stderr
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(
        ["trajectories.png", "ball_free.png", "ball_spring.png", "ball_spiral.png",
         "ball_gravity.png", "mmnist1.png", "mmnist2.png", "moving_mnist_standard_test.png"]
    )
    strip = tf.io.decode_png(tf.io.read_file(str(tmp_path / "mmnist2.png"))).numpy()
    # Two labelled rows of 20 frames; the frames themselves are drawn as they are.
    rows = np.stack([viz.labelled_strip(clip, [""] * 20, "", per_row=20)
                     for clip in np.zeros((2, 20, 64, 64, 1))])
    assert strip.shape == (2 * rows.shape[1] + 2, rows.shape[2], 3)


def test_user_errors_give_one_line_and_status_2(tmp_path):
    result = run_cli("preview", "--out", str(tmp_path), "--num-clips", "0")
    assert result.returncode == 2
    assert "num_clips" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("preview", "--data-dir", str(tmp_path / "missing"))
    assert result.returncode == 2 and "data_dir" in result.stderr


def test_frame_grid_layout():
    rows = np.zeros((3, 4, 5, 6, 1), np.float32)
    rows[1, 2] = 2.0  # Out of range: clipped to white.
    image = viz.frame_grid(rows)
    assert image.shape == (3 * 7 - 2, 4 * 8 - 2, 1)
    assert image[7:12, 16:22].min() == 255 and image[0:5, 0:6].max() == 0
