"""Prediction from files: read a clip, predict any times, write frames and pictures.

Clips are read from `.npy` / `.npz` arrays `(T, H, W)` or `(T, H, W, C)`
(uint8 0-255 or float 0-1; an `.npz` holds the clip as `frames` or as its only
array), from a GIF, or from a folder of PNG files taken in name order. Frame
`k` of a clip is at time `k * frame_dt`.
"""

import glob
import os

import imageio.v3 as iio
import numpy as np
import tensorflow as tf

from tfodevideo import viz


def read_clip(path, channels=1):
    """Reads one clip as float32 `(T, H, W, channels)` in `[0, 1]`."""
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "*.png")))
        if not files:
            raise ValueError(f"The folder {path!r} holds no .png files.")
        frames = np.stack([tf.io.decode_png(tf.io.read_file(f)).numpy() for f in files])
    elif not os.path.isfile(path):
        raise FileNotFoundError(f"No clip at {path!r}")
    elif path.endswith(".npz"):
        with np.load(path) as archive:
            keys = list(archive)
            key = "frames" if "frames" in keys else keys[0] if len(keys) == 1 else None
            if key is None:
                raise ValueError(
                    f"{path!r} must hold the clip as 'frames' or as its only array. "
                    f"Received keys: {keys}"
                )
            frames = archive[key]
    elif path.endswith(".npy"):
        frames = np.load(path)
    elif path.lower().endswith(".gif"):
        frames = iio.imread(path, index=None)
    else:
        raise ValueError(
            f"Cannot read {path!r}: expected .npy, .npz, .gif or a folder of PNGs."
        )
    return _to_unit_frames(np.asarray(frames), channels, path)


def _to_unit_frames(frames, channels, path):
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4:
        raise ValueError(
            f"A clip must be (T, H, W) or (T, H, W, C). Received: shape "
            f"{frames.shape} from {path!r}"
        )
    if frames.dtype == np.uint8:
        frames = frames.astype(np.float32) / 255.0
    frames = frames.astype(np.float32)
    if frames.shape[-1] == 4:  # Drop the alpha channel of RGBA images.
        frames = frames[..., :3]
    if frames.shape[-1] == 3 and channels == 1:
        frames = frames.mean(axis=-1, keepdims=True)
    if frames.shape[-1] != channels:
        raise ValueError(
            f"The model takes {channels} channel(s); {path!r} has {frames.shape[-1]}."
        )
    if not np.all(np.isfinite(frames)) or frames.min() < 0 or frames.max() > 1:
        raise ValueError(f"{path!r} holds values outside [0, 1] (or not finite).")
    return frames


def model_inputs(model, clip, query_times, frame_dt=0.1):
    """The inputs dict of one clip: its first `num_context` frames and times."""
    if len(clip) < model.num_context:
        raise ValueError(
            f"The model reads {model.num_context} input frames; the clip has {len(clip)}."
        )
    query = np.asarray(query_times, np.float32)
    return {
        "frames": clip[None, : model.num_context],
        "input_times": (np.arange(model.num_context, dtype=np.float32) * frame_dt)[None],
        "query_times": query[None],
    }


def predict_clip(model, clip, query_times, frame_dt=0.1):
    """Predicted frames `(T, H, W, C)` at `query_times` (any order is sorted)."""
    query = np.sort(np.asarray(query_times, np.float32))
    return model(model_inputs(model, clip, query, frame_dt), training=False).numpy()[0]


def write_prediction(frames, out_dir, name="prediction"):
    """Writes `name.npy`, `name.gif` and a `name.png` strip; returns the paths.

    The GIF shows each frame for 100 ms; its encoder merges identical
    consecutive frames into one shown longer, so the `.npy` is the one to
    read frames back from.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = [os.path.join(out_dir, f"{name}.{ext}") for ext in ("npy", "gif", "png")]
    np.save(paths[0], frames)
    pictures = viz.to_uint8(frames)
    iio.imwrite(paths[1], pictures[..., 0] if pictures.shape[-1] == 1 else pictures,
                duration=100, loop=0)
    viz.save_png(paths[2], viz.frame_grid(frames[None]))
    return paths


def swap_picture(model, clip_a, clip_b, query_times, frame_dt=0.1):
    """A frame grid: A's own prediction, A's motion with B's look, B's inputs.

    Returns:
        frames `(3, T, H, W, C)` for `viz.frame_grid`; B's row holds its input
        frames followed by black ones (cut to `T` frames).
    """
    own = predict_clip(model, clip_a, query_times, frame_dt)
    swapped = swap_clips(model, clip_a, clip_b, query_times, frame_dt)
    b_row = np.zeros_like(own)
    shown = min(len(own), model.num_context)
    b_row[:shown] = clip_b[:shown]
    return np.stack([own, swapped, b_row])


def swap_clips(model, clip_a, clip_b, query_times, frame_dt=0.1):
    """A's motion drawn with B's appearance, `(T, H, W, C)`."""
    inputs_a = model_inputs(model, clip_a, query_times, frame_dt)
    inputs_b = model_inputs(model, clip_b, query_times, frame_dt)
    return model.swap_appearance(inputs_a, inputs_b).numpy()[0]
