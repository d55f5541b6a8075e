"""Prediction from a clip: predict any times, write frames, times and pictures.

Frame `k` of a clip is at time `k * frame_dt`. Clips are read by
`tfodevideo.clip_io.read_clip` (arrays, PNG folders, GIF and video files).
"""

import json
import os

import numpy as np

from tfodevideo import viz
from tfodevideo.clip_io import read_clip  # noqa: F401  (part of this module's API)
from tfodevideo.clip_io import write_video
from tfodevideo.constants import FRAME_DT


def model_inputs(model, clip, query_times, frame_dt=FRAME_DT):
    """The request of one clip: its first `num_context` frames, their times
    `k * frame_dt`, and `query_times` `(T,)`; numpy arrays, the inputs of the
    model and of the served `serving_default` signature alike."""
    if len(clip) < model.num_context:
        raise ValueError(
            f"The model reads {model.num_context} input frames; the clip has {len(clip)}."
        )
    if tuple(clip.shape[1:3]) != tuple(model.image_size):
        (height, width), (clip_h, clip_w) = model.image_size, clip.shape[1:3]
        raise ValueError(
            f"The model takes {width}x{height} frames, the clip is {clip_w}x{clip_h}: "
            "pass --resize (or read_clip(..., image_size=model.image_size))."
        )
    query = np.asarray(query_times, np.float32)
    return {
        "frames": clip[None, : model.num_context],
        "input_times": (np.arange(model.num_context, dtype=np.float32) * frame_dt)[None],
        "query_times": query.reshape(-1),
    }


def predict_clip(model, clip, query_times, frame_dt=FRAME_DT):
    """Predicted frames `(T, H, W, C)` at `query_times`, in the order asked
    (any order; a repeated time gets the same frame)."""
    query = np.asarray(query_times, np.float64).reshape(-1)
    if not len(query):
        raise ValueError("`query_times` is empty: ask for at least one time.")
    unique, order = np.unique(query.astype(np.float32), return_inverse=True)
    predicted = model(model_inputs(model, clip, unique, frame_dt), training=False)
    return predicted.numpy()[0][order.reshape(-1)]


def frames_at(clip, times, frame_dt=FRAME_DT):
    """The clip's own frames at `times` `(T,)`, or None unless every time is
    one of its frames (`k * frame_dt` for a `k` it holds): the truth beside
    a prediction of a clip's later frames."""
    steps = np.asarray(times, np.float64).reshape(-1) / frame_dt
    index = np.round(steps).astype(np.int64)
    if not len(index) or not np.allclose(steps, index, atol=1e-4):
        return None
    if index.min() < 0 or index.max() >= len(clip):
        return None
    return clip[index]


def write_prediction(frames, out_dir, times, inputs=None, input_times=None,
                     name="prediction", fps=None, video="gif", truth=None):
    """Writes the frames, their times and labelled pictures; returns the paths.

    Args:
        frames: predicted frames `(T, H, W, C)` in `[0, 1]`.
        out_dir: output folder (made if missing).
        times: the `T` times of `frames`.
        inputs, input_times: the model's input frames and times, shown
            above the prediction in the strip.
        name: stem of the files.
        fps: frames per second of the animation; default: one second of
            clip time per second (`1 / step` between predicted times).
        video: `"gif"`, `"mp4"` or `"both"`.
        truth: the true frames at `times` `(T, H, W, C)`, or None: shown
            between the inputs and the prediction in the strip, and on the
            left of each animation frame.

    Returns:
        Paths of `name.npy` (frames), `name_times.json`, the strip `name.png`
        (input, true and predicted frames labelled with their times, wrapped
        into rows) and the animation(s) (true | predicted with a truth).
    """
    times = [float(t) for t in times]
    if len(times) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(times)} times.")
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, name)
    np.save(f"{stem}.npy", frames)
    with open(f"{stem}_times.json", "w") as handle:
        json.dump({"times": times, "frames": f"{name}.npy"}, handle, indent=1)
    labels = viz.time_labels(times)
    blocks = []
    if inputs is not None:
        blocks.append(viz.labelled_strip(inputs, viz.time_labels(input_times), "input"))
    shown, shown_labels = frames, labels
    if truth is not None:
        truth = np.asarray(truth, np.float32).reshape(frames.shape)
        blocks.append(viz.labelled_strip(truth, labels, "truth"))
        # Side by side, a one-pixel white rule between.
        rule = np.ones((*frames.shape[:2], 1, frames.shape[3]), np.float32)
        shown = np.concatenate([truth, rule, frames], axis=2)
        shown_labels = [f"{label} true|pred" for label in labels]
    blocks.append(viz.labelled_strip(frames, labels, "predicted"))
    paths = [f"{stem}.npy", f"{stem}_times.json",
             viz.save_png(f"{stem}.png", viz.stack_images(blocks))]
    fps = fps or default_fps(times)
    for extension in {"gif": ["gif"], "mp4": ["mp4"], "both": ["gif", "mp4"]}[video]:
        paths.append(write_video(f"{stem}.{extension}", shown, shown_labels, fps))
    return paths


def default_fps(times):
    """One second of clip time per second: 1 / the median step (10 fps for
    one frame)."""
    steps = np.diff(np.sort(np.asarray(times, np.float64)))
    steps = steps[steps > 0]
    return float(np.clip(1.0 / np.median(steps), 0.1, 100.0)) if len(steps) else 10.0


def swap_picture(model, clip_a, clip_b, query_times, frame_dt=FRAME_DT):
    """A labelled picture: A's inputs, A's own prediction, A's motion drawn with
    B's look, and B's inputs, each frame with its time.

    Returns:
        uint8 RGB image.
    """
    context = model.num_context
    input_labels = viz.time_labels(np.arange(context) * frame_dt)
    labels = viz.time_labels(query_times)
    return viz.stack_images([
        viz.labelled_strip(clip_a[:context], input_labels, "A: inputs"),
        viz.labelled_strip(predict_clip(model, clip_a, query_times, frame_dt), labels,
                           "A: predicted"),
        viz.labelled_strip(swap_clips(model, clip_a, clip_b, query_times, frame_dt), labels,
                           "A's motion,\nB's look"),
        viz.labelled_strip(clip_b[:context], input_labels, "B: inputs"),
    ])


def swap_clips(model, clip_a, clip_b, query_times, frame_dt=FRAME_DT):
    """A's motion drawn with B's appearance, `(T, H, W, C)`, at increasing
    `query_times`."""
    inputs_a = model_inputs(model, clip_a, query_times, frame_dt)
    inputs_b = model_inputs(model, clip_b, query_times, frame_dt)
    return model.swap_appearance(inputs_a, inputs_b).numpy()[0]
