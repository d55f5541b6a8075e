"""The interface every synthetic video generator implements."""

import abc

import tensorflow as tf

from tfodevideo._checks import check_int
from tfodevideo.data.seeding import clip_and_grid_seeds


class VideoSource(abc.ABC):
    """A deterministic generator of video clips, split in two stages for speed.

    `sample` draws one clip's random parameters from its own stateless seed
    (cheap, run per element so that element `i` never depends on the batch);
    `render` turns a batch of parameters into frames with vectorised TF ops
    (the expensive part, run once per batch).

    Subclasses set `num_frames`, `image_size` `(H, W)`, `channels` and
    `frame_dt` (the time between frames).
    """

    num_frames: int
    frame_dt: float
    image_size: tuple
    channels: int

    @abc.abstractmethod
    def sample(self, seed):
        """Returns a dict of one clip's random parameters from a `(2,)` seed."""

    @abc.abstractmethod
    def render(self, params):
        """Renders a batch of parameters.

        Returns:
            A dict with at least `frames` `(batch, num_frames, H, W, C)` float32
            in `[0, 1]` and `positions` of the moving objects in pixels.
        """

    def generate(self, num_clips, seed=0, start=0):
        """Renders clips `start .. start + num_clips - 1` of the stream `seed`.

        The same clips come out of `tfodevideo.data.video_dataset` for the same
        seed and indices.
        """
        num_clips = check_int("num_clips", num_clips, minimum=1)
        indices = tf.range(start, start + num_clips, dtype=tf.int64)
        params = tf.map_fn(
            lambda i: self.sample(clip_and_grid_seeds(seed, i)[0]),
            indices,
            fn_output_signature=self.param_signature(),
        )
        return self.render(params)

    def param_signature(self):
        """The `tf.TensorSpec` dict of one element's parameters."""
        params = self.sample(tf.constant([0, 0], tf.int64))
        return tf.nest.map_structure(tf.TensorSpec.from_tensor, params)
