"""Clips from files and back: arrays, PNG folders, GIF and video files.

A clip is read from a `.npy` / `.npz` array `(T, H, W)` or `(T, H, W, C)`
(an `.npz` holds it as `frames` or as its only array), from a folder of
PNG files taken in natural order (`frame2.png` before `frame10.png`), or
from a GIF or video file (MP4, AVI, MOV, MKV, WebM, through imageio's
ffmpeg plugin, whose `imageio-ffmpeg` package ships its own binary).

uint8 pixels are divided by 255 and uint16 ones by 65535; floats must
already lie in `[0, 1]`. Colour clips are averaged to grey for a
one-channel model (and grey repeated for a colour one); alpha channels are
dropped. Each conversion is reported in `notes`, so a command can say what
it did. Every problem raises a one-line `ValueError` naming the file.
"""

import os
import re

import imageio.v3 as iio
import numpy as np
import tensorflow as tf

from tfodevideo import viz
from tfodevideo._checks import check_image_size

VIDEO_EXTENSIONS = (".gif", ".mp4", ".avi", ".mov", ".mkv", ".webm")
ARRAY_EXTENSIONS = (".npy", ".npz")


def read_clip(path, channels=1, image_size=None, notes=None):
    """Reads one clip as float32 `(T, H, W, channels)` in `[0, 1]`.

    Args:
        path: a `.npy`, `.npz`, GIF or video file, or a folder of PNGs.
        channels: the channels the model takes.
        image_size: `(H, W)` to resize the frames to (area averaging when
            shrinking, bilinear when enlarging); None keeps their size.
        notes: a list that receives one line per conversion made.

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: a file that is not what its name says, frames of mixed
            sizes, a shape that is not a clip, values out of range.
    """
    notes = [] if notes is None else notes
    if os.path.isdir(path):
        frames = _read_png_folder(path)
    elif not os.path.isfile(path):
        raise FileNotFoundError(f"No clip at {path!r}")
    else:
        extension = os.path.splitext(path)[1].lower()
        if extension in ARRAY_EXTENSIONS:
            frames = _read_array(path, extension)
        elif extension in VIDEO_EXTENSIONS:
            frames = _read_video(path, extension)
        else:
            raise ValueError(
                f"Cannot read {path!r}: expected {', '.join(ARRAY_EXTENSIONS + VIDEO_EXTENSIONS)} "
                "or a folder of PNGs."
            )
    frames = _to_unit_frames(np.asarray(frames), channels, path, notes)
    if image_size is not None:
        frames = _resize(frames, check_image_size(image_size), path, notes)
    return frames


def _natural_key(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _read_png_folder(path):
    names = sorted((n for n in os.listdir(path) if n.lower().endswith(".png")),
                   key=_natural_key)
    if not names:
        raise ValueError(f"The folder {path!r} holds no .png files.")
    frames = []
    for name in names:
        try:
            frames.append(tf.io.decode_png(tf.io.read_file(os.path.join(path, name))).numpy())
        except tf.errors.OpError:
            raise ValueError(f"{os.path.join(path, name)!r} is not a readable PNG image.") from None
    shapes = [frame.shape for frame in frames]
    odd = next((k for k, shape in enumerate(shapes) if shape != shapes[0]), None)
    if odd is not None:
        (h0, w0, c0), (h1, w1, c1) = shapes[0], shapes[odd]
        raise ValueError(
            f"The PNGs in {path!r} differ in size: {names[0]} is {w0}x{h0} with {c0} "
            f"channel(s), {names[odd]} is {w1}x{h1} with {c1}."
        )
    return np.stack(frames)


def _read_array(path, extension):
    kind = "NumPy array file (.npy)" if extension == ".npy" else "NumPy archive (.npz)"
    refusal = ValueError(f"{path!r} is not a {kind} of numbers.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception:  # A corrupt header or zip raises many kinds.
        raise refusal from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded as archive:
        keys = list(archive.files)
        key = "frames" if "frames" in keys else keys[0] if len(keys) == 1 else None
        if key is None:
            raise ValueError(
                f"{path!r} must hold the clip as 'frames' or as its only array. "
                f"Received keys: {keys}"
            )
        try:
            return archive[key]
        except Exception:  # A pickled member, or a corrupt one.
            raise refusal from None


def _read_video(path, extension):
    try:
        if extension == ".gif":
            return iio.imread(path, index=None, plugin="pillow")
        return iio.imread(path, index=None)
    except Exception:  # Each plugin has its own errors for a file it cannot read.
        raise ValueError(f"{path!r} is not a readable {extension[1:].upper()} file.") from None


def _to_unit_frames(frames, channels, path, notes):
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError(
            f"A clip must be (T, H, W) or (T, H, W, C) with T >= 1. Received: shape "
            f"{frames.shape} from {path!r}"
        )
    frames = _to_unit_range(frames, path, notes)
    if frames.shape[-1] in (2, 4):
        frames = frames[..., :-1]
        notes.append(f"{path}: dropped the alpha channel.")
    if frames.shape[-1] == 3 and channels == 1:
        if np.ptp(frames, axis=-1).max() > 0:  # Grey stored as RGB needs no note.
            notes.append(f"{path}: converted colour frames to grey (the model takes 1 channel).")
        frames = frames.mean(axis=-1, keepdims=True)
    elif frames.shape[-1] == 1 and channels == 3:
        frames = np.repeat(frames, 3, axis=-1)
        notes.append(f"{path}: repeated grey frames into 3 channels (the model takes 3).")
    if frames.shape[-1] != channels:
        raise ValueError(
            f"The model takes {channels} channel(s); {path!r} has {frames.shape[-1]}."
        )
    return frames


def _to_unit_range(frames, path, notes):
    if frames.dtype == np.uint8:
        return frames.astype(np.float32) / 255.0
    if frames.dtype == np.uint16:
        notes.append(f"{path}: read 16-bit pixels, divided by 65535.")
        return frames.astype(np.float32) / 65535.0
    if frames.dtype == np.bool_:
        return frames.astype(np.float32)
    if not np.issubdtype(frames.dtype, np.number) or np.iscomplexobj(frames):
        raise ValueError(f"{path!r} holds {frames.dtype} values, not pixel numbers.")
    frames = frames.astype(np.float32)
    if not np.all(np.isfinite(frames)):
        raise ValueError(f"{path!r} holds NaN or infinite pixels.")
    low, high = float(frames.min()), float(frames.max())
    if low < 0 or high > 1:
        hint = ""
        if low >= 0 and high <= 255:
            hint = " They look like 0-255 pixels: divide by 255, or save them as uint8."
        elif low >= 0 and high <= 65535:
            hint = " They look like 16-bit pixels: divide by 65535, or save them as uint16."
        raise ValueError(
            f"{path!r} holds values in [{low:g}, {high:g}]; pixels must lie in [0, 1] "
            f"(or be uint8 / uint16).{hint}"
        )
    return frames


def _resize(frames, image_size, path, notes):
    if tuple(frames.shape[1:3]) == image_size:
        return frames
    shrink = frames.shape[1] * frames.shape[2] > image_size[0] * image_size[1]
    notes.append(
        f"{path}: resized {frames.shape[2]}x{frames.shape[1]} frames to "
        f"{image_size[1]}x{image_size[0]}."
    )
    resized = tf.image.resize(frames, image_size, method="area" if shrink else "bilinear")
    return np.clip(resized.numpy(), 0.0, 1.0).astype(np.float32)


def write_video(path, frames, labels, fps):
    """Writes frames `(T, H, W, C)` in `[0, 1]` as a GIF or MP4 (by extension),
    enlarged and labelled (see `viz.labelled_frames`), at `fps` frames per second.

    GIF frame durations are whole hundredths of a second, so rates above
    100 fps, or whose period is not a whole number of hundredths, play
    approximately.
    """
    pictures = viz.labelled_frames(frames, labels)
    if path.lower().endswith(".gif"):
        iio.imwrite(path, pictures, duration=1000.0 / fps, loop=0, plugin="pillow")
    else:
        iio.imwrite(path, pictures, fps=fps, macro_block_size=16)
    return path
