"""Pictures: PNG strips of clips, labelled frames, tracks, and the matplotlib
figures of evaluations and latents (with the CSV beside the curves)."""

import csv
import functools
import math
import os

import numpy as np
import tensorflow as tf
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

# Gap between tiles, in pixels, drawn in mid grey so black frames stay visible.
_GAP = 2
_GAP_VALUE = 128
# Frames are enlarged (nearest neighbour) to at least this many pixels a side,
# so that a 28x28 prediction and its time label can be read.
MIN_SIDE = 64
# Frames per row of a labelled strip; longer predictions wrap.
FRAMES_PER_ROW = 10
_LABEL_HEIGHT = 14
_TITLE_WIDTH = 120
_BACKGROUND = 40
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


def enlarge(frames, min_side=MIN_SIDE):
    """Repeats pixels (nearest neighbour) so the smaller side is at least
    `min_side`; frames `(..., H, W, C)` of any dtype."""
    factor = max(1, math.ceil(min_side / min(frames.shape[-3:-1])))
    return np.repeat(np.repeat(frames, factor, axis=-3), factor, axis=-2)


@functools.cache
def _font():
    return ImageFont.load_default(size=11)


def _draw_texts(image, texts):
    """Writes `[((x, y), text), ...]` in white on a uint8 RGB image, in place,
    through one PIL canvas for all of them."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for xy, text in texts:
        draw.text(xy, text, fill=(255, 255, 255), font=_font())
    image[...] = np.asarray(canvas)


def _rgb_tiles(frames):
    """Frames in `[0, 1]` as enlarged uint8 RGB tiles `(T, H', W', 3)`."""
    tiles = enlarge(to_uint8(frames))
    return np.repeat(tiles, 3, axis=-1) if tiles.shape[-1] == 1 else tiles


def labelled_strip(frames, labels, title, per_row=FRAMES_PER_ROW):
    """One titled block of frames, each with its label (e.g. its time) below.

    Args:
        frames: `(T, H, W, C)` in `[0, 1]`.
        labels: `T` short strings.
        title: the block's name, written on its left.
        per_row: frames per row; a longer clip wraps into more rows.

    Returns:
        uint8 RGB image.
    """
    tiles = _rgb_tiles(frames)
    count, height, width = tiles.shape[:3]
    per_row = max(1, min(per_row, count))
    rows = math.ceil(count / per_row)
    cell_h, cell_w = height + _LABEL_HEIGHT + _GAP, width + _GAP
    image = np.full((rows * cell_h, _TITLE_WIDTH + per_row * cell_w, 3), _BACKGROUND, np.uint8)
    texts = [((4, 2), title)]
    for k, (tile, label) in enumerate(zip(tiles, labels)):
        top = (k // per_row) * cell_h
        left = _TITLE_WIDTH + (k % per_row) * cell_w
        image[top : top + height, left : left + width] = tile
        texts.append(((left + 1, top + height), label))
    _draw_texts(image, texts)
    return image


def stack_images(images):
    """Stacks RGB images vertically, padding narrower ones on the right."""
    width = max(image.shape[1] for image in images)
    padded = [np.pad(image, [(0, _GAP), (0, width - image.shape[1]), (0, 0)],
                     constant_values=_BACKGROUND) for image in images]
    return np.concatenate(padded)[:-_GAP]


def time_labels(times):
    """`["t=0.10", ...]`, with as many decimals as the times need (up to 4)."""
    times = np.asarray(times, np.float64)
    for decimals in range(1, 5):
        if np.allclose(np.round(times, decimals), times, atol=1e-6):
            break
    return [f"t={t:.{decimals}f}" for t in times]


def labelled_frames(frames, labels):
    """Each frame enlarged, with its label drawn below: for GIF and MP4 frames.

    The label also keeps identical predictions apart, which a GIF encoder
    would otherwise merge into one long frame.

    Returns:
        uint8 `(T, H', W', 3)` with `H'` and `W'` multiples of 16 (what video
        codecs need).
    """
    tiles = _rgb_tiles(frames)
    count, height, width = tiles.shape[:3]
    out_h = 16 * math.ceil((height + _LABEL_HEIGHT) / 16)
    out_w = 16 * math.ceil(width / 16)
    out = np.zeros((count, out_h, out_w, 3), np.uint8)
    out[:, :height, :width] = tiles
    for frame, label in zip(out, labels):
        _draw_texts(frame, [((1, height), label)])
    return out


def _pyplot():
    """matplotlib's pyplot drawing to files only (no display on servers)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def write_per_frame_csv(curves, path):
    """One row per predictor and frame index; a column per metric.

    Args:
        curves: dict of predictor name to a dict of metric name to values
            per frame index, as `FrameScores.curves()` gives them.
    """
    metrics = list(next(iter(curves.values())))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["predictor", "frame"] + metrics)
        for name, values in curves.items():
            for index in range(len(values[metrics[0]])):
                writer.writerow([name, index + 1] + [values[m][index] for m in metrics])
    return path


def plot_curves(report, path):
    """PSNR and SSIM per predicted frame, the model beside both baselines.

    Args:
        report: dict with `curves` (as `write_per_frame_csv`), `horizon`,
            `dataset`, `num_context` and `num_sequences`.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    frames = np.arange(1, report["horizon"] + 1)
    for axis, metric, label in zip(axes, ("psnr", "ssim"), ("PSNR (dB)", "SSIM (tf.image)")):
        for name, curves in report["curves"].items():
            axis.plot(frames, curves[metric], label=name, marker="o", markersize=3)
        axis.set_xlabel("predicted frame")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(
        f"{report['dataset']}: {report['num_context']} -> {report['horizon']}, "
        f"{report['num_sequences']} sequences"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_latent_vs_true(coordinates, integrated, explained, path, num_shown=4):
    """True positions and the latent's first two principal components of the
    first `num_shown` clips, and one against the other for all clips.

    Args:
        coordinates: `(N, T, >=2)` true coordinates (first object first).
        integrated: `(N, T, 2)` projected latent paths.
        explained: explained variance ratio of the projection.
    """
    plt = _pyplot()
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    for i in range(min(num_shown, len(integrated))):
        left.plot(coordinates[i, :, 0], coordinates[i, :, 1], ".-", label=f"clip {i}")
        middle.plot(integrated[i, :, 0], integrated[i, :, 1], ".-")
    left.set(title="true position (first object)", xlabel="x (px)", ylabel="y (px)")
    left.invert_yaxis()
    left.legend(fontsize="small")
    middle.set(title=f"latent, PCA ({np.sum(explained):.0%} of variance)", xlabel="PC 1",
               ylabel="PC 2")
    right.scatter(coordinates[..., 0].ravel(), integrated[..., 0].ravel(), s=3, label="PC 1 vs x")
    right.scatter(coordinates[..., 1].ravel(), integrated[..., 1].ravel(), s=3, label="PC 2 vs y")
    right.set(title="latent against true coordinates", xlabel="pixels", ylabel="PC value")
    right.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_encoded_vs_integrated(integrated, encoded, path):
    """Integrated latent paths (lines) and encoded positions (circles), `(N, T, 2)`."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 5))
    for i in range(len(integrated)):
        (line,) = axis.plot(integrated[i, :, 0], integrated[i, :, 1], "-", lw=1.5)
        axis.plot(encoded[i, :, 0], encoded[i, :, 1], "o", ms=4, mfc="none",
                  color=line.get_color())
    axis.set(title="integrated (lines) and encoded (circles) latent paths",
             xlabel="PC 1", ylabel="PC 2")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
