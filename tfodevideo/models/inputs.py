"""The input contract of every video model, and its checks.

Every video model (continuous-time or frame-step) takes a dict with
`frames` `(B, num_context, H, W, C)`, `input_times` `(B, num_context)` and
`query_times` `(T,)` or `(B, T)`. A request that breaks the contract is
refused before any op runs: in eager calls with a `ValueError` naming the
input and the value received, inside compiled functions (`fit`, a served
SavedModel) with graph assertions carrying the same words, which a server
returns as INVALID_ARGUMENT. Otherwise an empty batch reaches a convolution
(TF 2.21's oneDNN conv2d returns the input's channels for a zero batch) and
equal input times reach a division by zero that surfaces as an ODE solver
failure with unrelated advice.
"""

import numpy as np
import tensorflow as tf

from tfodevideo._frames import unit_frames

INPUT_KEYS = ("frames", "input_times", "query_times")


def check_inputs(inputs, num_context, image_size, channels, dtype):
    """Checks a model's inputs dict; see the module docstring.

    Args:
        inputs: the dict passed to the model.
        num_context, image_size, channels: what the model reads.
        dtype: the model's compute dtype.

    Returns:
        `(frames, input_times, query_times)`: frames in `[0, 1]` (uint8 ones
        divided by 255) and both times cast to `dtype`.
    """
    if not isinstance(inputs, dict) or set(INPUT_KEYS) - set(inputs):
        raise ValueError(
            f"The inputs must be a dict with keys {list(INPUT_KEYS)}. Received: "
            f"{sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__}"
        )
    frames = tf.convert_to_tensor(inputs["frames"])
    input_times = tf.cast(inputs["input_times"], dtype)
    query_times = tf.cast(inputs["query_times"], dtype)
    expected = (num_context, *image_size, channels)
    if frames.shape.rank != 5 or tuple(frames.shape[1:]) != expected:
        raise ValueError(
            "`frames` must have shape (batch, num_context, H, W, C) = "
            f"(batch, {', '.join(map(str, expected))}). Received: shape "
            f"{tuple(frames.shape)}"
        )
    if input_times.shape.rank != 2 or input_times.shape[1] != num_context:
        raise ValueError(
            f"`input_times` must have shape (batch, {num_context}), one time per "
            f"input frame. Received: shape {tuple(input_times.shape)}"
        )
    if query_times.shape.rank not in (1, 2):
        raise ValueError(
            "`query_times` must be (T,) shared by the batch or (batch, T). "
            f"Received: shape {tuple(query_times.shape)}"
        )
    _check_static_sizes(frames, input_times, query_times)
    if tf.executing_eagerly():
        _check_time_values(input_times.numpy(), query_times.numpy())
    else:
        with tf.control_dependencies(_time_assertions(frames, input_times, query_times)):
            frames = tf.identity(frames)
            input_times, query_times = tf.identity(input_times), tf.identity(query_times)
    return unit_frames(frames, "frames", dtype), input_times, query_times


def _check_static_sizes(frames, input_times, query_times):
    """Empty batches and time grids, and batch mismatches, where shapes are known."""
    batch = frames.shape[0]
    if batch == 0:
        raise ValueError("`frames` holds no clips. Received: shape "
                         f"{tuple(frames.shape)}")
    if query_times.shape[-1] == 0:
        raise ValueError("`query_times` is empty: ask for at least one time. "
                         f"Received: shape {tuple(query_times.shape)}")
    shapes = {"input_times": input_times.shape}
    if query_times.shape.rank == 2:
        shapes["query_times"] = query_times.shape
    for name, shape in shapes.items():
        if None not in (batch, shape[0]) and shape[0] != batch:
            raise ValueError(
                f"`{name}` has {shape[0]} rows but `frames` holds {batch} clips. "
                f"Received: {name} shape {tuple(shape)}"
            )


def _check_time_values(input_times, query_times):
    for name, values in (("input_times", input_times), ("query_times", query_times)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`{name}` must be finite. Received: {name}={values.tolist()}")
    if np.any(np.diff(input_times, axis=-1) <= 0):
        raise ValueError(
            "Each row of `input_times` must be strictly increasing (one time per "
            f"input frame, oldest first). Received: input_times={input_times.tolist()}"
        )


def _time_assertions(frames, input_times, query_times):
    """The same checks as graph assertions (InvalidArgumentError, our words)."""
    return [
        tf.debugging.assert_positive(
            tf.shape(frames)[0], message="`frames` holds no clips (a batch of 0)."
        ),
        tf.debugging.assert_positive(
            tf.shape(query_times)[-1], message="`query_times` is empty."
        ),
        tf.debugging.assert_equal(
            tf.shape(input_times)[0], tf.shape(frames)[0],
            message="`input_times` must have one row per clip of `frames`.",
        ),
        tf.debugging.assert_all_finite(input_times, "`input_times` must be finite."),
        tf.debugging.assert_all_finite(query_times, "`query_times` must be finite."),
        tf.debugging.assert_positive(
            input_times[:, 1:] - input_times[:, :-1],
            message="Each row of `input_times` must be strictly increasing.",
        ),
    ]
