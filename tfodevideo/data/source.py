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
    `frame_dt` (the time between frames), and `appearance_keys`: the
    parameters that make a clip's look and nothing of its motion (a source
    whose look never varies has none), which `counterfactual_pairs` swaps.
    """

    num_frames: int
    frame_dt: float
    image_size: tuple
    channels: int
    appearance_keys: tuple = ()

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
        return self.render(self.sample_clips(num_clips, seed, start))

    def sample_clips(self, num_clips, seed=0, start=0):
        """The parameters of clips `start .. start + num_clips - 1` of the
        stream `seed`, batched (what `generate` renders)."""
        num_clips = check_int("num_clips", num_clips, minimum=1)
        indices = tf.range(start, start + num_clips, dtype=tf.int64)
        return tf.map_fn(
            lambda i: self.sample(clip_and_grid_seeds(seed, i)[0]),
            indices,
            fn_output_signature=self.param_signature(),
        )

    def counterfactual_pairs(self, num_pairs, seed=0, start=0):
        """Pairs of clips and the truth of drawing one's motion with the other's look.

        Pair `k` is clip `2k` (A, whose motion is kept) and clip `2k + 1`
        (B, whose look is used) of the stream `seed`; the counterfactual
        clip has A's parameters with B's `appearance_keys`, rendered as any
        clip: what a perfect appearance swap of A and B would show.

        Args:
            num_pairs: pairs to draw.
            seed: the stream.
            start: index of the first pair.

        Returns:
            A dict of the source's render dicts: `a`, `b` and `swapped`.
        """
        if not self.appearance_keys:
            raise ValueError(
                f"{type(self).__name__} has no look that varies between clips: "
                "there is nothing to swap."
            )
        num_pairs = check_int("num_pairs", num_pairs, minimum=1)
        params = self.sample_clips(2 * num_pairs, seed, 2 * start)
        a = {key: value[0::2] for key, value in params.items()}
        b = {key: value[1::2] for key, value in params.items()}
        swapped = {key: b[key] if key in self.appearance_keys else value
                   for key, value in a.items()}
        return {"a": self.render(a), "b": self.render(b), "swapped": self.render(swapped)}

    def param_signature(self):
        """The `tf.TensorSpec` dict of one element's parameters."""
        params = self.sample(tf.constant([0, 0], tf.int64))
        return tf.nest.map_structure(tf.TensorSpec.from_tensor, params)
