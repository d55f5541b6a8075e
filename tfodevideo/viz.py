"""Pictures of clips and trajectories: PNG strips, written with TensorFlow alone."""

import os

import numpy as np
import tensorflow as tf

# Gap between tiles, in pixels, drawn in mid grey so black frames stay visible.
_GAP = 2
_GAP_VALUE = 128
_TRACK_COLOURS = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189]],
    np.uint8,
)


def to_uint8(frames):
    """Converts frames in `[0, 1]` to uint8, clipping what lies outside."""
    return np.round(np.clip(np.asarray(frames, np.float32), 0.0, 1.0) * 255).astype(
        np.uint8
    )


def frame_grid(rows):
    """Tiles clips into one image: one clip per row, time from left to right.

    Args:
        rows: frames `(num_rows, T, H, W, C)` in `[0, 1]`.

    Returns:
        uint8 image `(num_rows * (H + gap) - gap, T * (W + gap) - gap, C)`.
    """
    rows = to_uint8(rows)
    num_rows, num_frames, height, width, channels = rows.shape
    image = np.full(
        (
            num_rows * (height + _GAP) - _GAP,
            num_frames * (width + _GAP) - _GAP,
            channels,
        ),
        _GAP_VALUE,
        np.uint8,
    )
    for r in range(num_rows):
        for t in range(num_frames):
            top, left = r * (height + _GAP), t * (width + _GAP)
            image[top : top + height, left : left + width] = rows[r, t]
    return image


def plot_tracks(tracks, size=256, margin=8):
    """Rasterises 2-D point tracks onto a white square, one colour per track.

    Args:
        tracks: a list of arrays `(N, 2)` of `(x, y)` points, `y` up.
        size: side of the image in pixels.

    Returns:
        uint8 RGB image `(size, size, 3)`.
    """
    points = np.concatenate([np.asarray(t, np.float64) for t in tracks])
    low, high = points.min(axis=0), points.max(axis=0)
    scale = (size - 1 - 2 * margin) / max(float(np.max(high - low)), 1e-12)
    image = np.full((size, size, 3), 255, np.uint8)
    for k, track in enumerate(tracks):
        pixels = np.round((np.asarray(track) - low) * scale + margin).astype(int)
        image[size - 1 - pixels[:, 1], pixels[:, 0]] = _TRACK_COLOURS[
            k % len(_TRACK_COLOURS)
        ]
    return image


def save_png(path, image):
    """Writes a uint8 image `(H, W)` or `(H, W, C)` as PNG, making folders."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(image))
    return path
