"""Which frames a model sees and which it must predict, and at what times.

A clip holds `num_frames` frames at times `k * frame_dt`. A grid picks
`num_context` input frames and `num_target` query frames among them:

- `task="extrapolate"`: every context frame comes before every target frame.
- `task="interpolate"`: the context frames are spread over the chosen frames,
  first and last included, and the targets lie between them.

A regular grid takes consecutive frames from the start of the clip; a random
grid takes a random sorted subset of the clip's frames, so frames go missing
and the spacing becomes irregular.
"""

import numpy as np
import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int

TASKS = ("extrapolate", "interpolate")
GRIDS = ("regular", "random")


def check_grid_args(num_frames, num_context, num_target, task):
    """Validates a grid request; raises a `ValueError` naming the argument."""
    check_choice("task", task, TASKS)
    num_context = check_int("num_context", num_context, minimum=1)
    num_target = check_int("num_target", num_target, minimum=1)
    if task == "interpolate" and num_context < 2:
        raise ValueError(
            "Interpolation needs at least two context frames to lie between. "
            f"Received: num_context={num_context}"
        )
    if num_context + num_target > num_frames:
        raise ValueError(
            f"A clip of {num_frames} frames cannot hold num_context + num_target "
            f"= {num_context} + {num_target} frames. Received: "
            f"num_frames={num_frames}, num_context={num_context}, "
            f"num_target={num_target}"
        )
    return num_context, num_target


def _context_positions(num_chosen, num_context, task):
    """Positions, within the chosen frames, of the context frames."""
    if task == "extrapolate":
        return np.arange(num_context)
    return np.round(np.linspace(0, num_chosen - 1, num_context)).astype(np.int64)


def split_chosen(chosen, num_context, task):
    """Splits sorted chosen frame indices `(..., n)` into context and target.

    Returns:
        `(context, target)` index tensors `(..., num_context)` and
        `(..., n - num_context)`.
    """
    num_chosen = chosen.shape[-1]
    is_context = np.zeros(num_chosen, bool)
    is_context[_context_positions(num_chosen, num_context, task)] = True
    context = tf.gather(chosen, np.flatnonzero(is_context), axis=-1)
    target = tf.gather(chosen, np.flatnonzero(~is_context), axis=-1)
    return context, target


def regular_grid(num_frames, num_context, num_target, task="extrapolate"):
    """Frame indices of a regular grid: the first `num_context + num_target`.

    Returns:
        `(context, target)`: int64 tensors `(num_context,)`, `(num_target,)`.

    Example:

    >>> context, target = regular_grid(20, 2, 3, task="interpolate")
    >>> context.numpy().tolist(), target.numpy().tolist()
    ([0, 4], [1, 2, 3])
    """
    num_context, num_target = check_grid_args(num_frames, num_context, num_target, task)
    chosen = tf.range(num_context + num_target, dtype=tf.int64)
    return split_chosen(chosen, num_context, task)


def random_grid(seed, num_frames, num_context, num_target, task="extrapolate"):
    """Frame indices of a random grid: a random sorted subset of the clip.

    The frames not chosen are the missing ones; the chosen ones are split as
    `task` says. Deterministic for a given stateless `seed` `(2,)`.

    Returns:
        `(context, target)`: int64 tensors `(num_context,)`, `(num_target,)`.
    """
    num_context, num_target = check_grid_args(num_frames, num_context, num_target, task)
    scores = tf.random.stateless_uniform([num_frames], seed)
    _, picked = tf.math.top_k(scores, k=num_context + num_target)
    chosen = tf.sort(tf.cast(picked, tf.int64))
    return split_chosen(chosen, num_context, task)
