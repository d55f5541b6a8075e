"""The base of every video model: one input contract, one build, one forward path.

Continuous-time models (`VideoODE`, `LatentODE`) and frame-step baselines
(`ConvLSTMBaseline`, `SimVPBaseline`) take the same dict of inputs (see
`tfodevideo.models.inputs`), so losses, metrics, `fit`, `evaluate`, export
and the benchmarks treat every model alike through this class.
"""

import keras
import tensorflow as tf

from tfodevideo._checks import check_image_size
from tfodevideo._checks import check_int
from tfodevideo.constants import FRAME_DT
from tfodevideo.models.inputs import check_inputs
from tfodevideo.precision import RecordsPrecision
from tfodevideo.precision import default_full_precision


class VideoModel(RecordsPrecision, keras.Model):
    """Frames at some times in, frames at other times out.

    Subclasses write `forward`; `call` returns its frames. A model made
    inside `tfodevideo.precision.precision_scope("mixed_bfloat16")` computes
    its convolutions in bfloat16, keeps its ODE, heads and output float32,
    and records the precision in its config, so that it loads as it was.

    Args:
        image_size: `(H, W)` of the frames.
        channels: channels of the frames.
        num_context: number of input frames.
        **kwargs: standard `keras.Model` arguments.

    Call arguments:
        inputs: a dict with `frames` `(B, num_context, H, W, C)` float in
            `[0, 1]` (uint8 frames are divided by 255), `input_times`
            `(B, num_context)` and `query_times` `(B, T)` or `(T,)`.
        training: Keras' training flag.

    Returns:
        Predicted frames `(B, T, H, W, C)` in `[0, 1]`.
    """

    def __init__(self, image_size=(64, 64), channels=1, num_context=10, **kwargs):
        # The model itself computes in float32 under a mixed policy, so its
        # times and frames are checked and returned in full precision; its
        # layers compute in the policy they were built under.
        super().__init__(**default_full_precision(kwargs))
        self.record_precision()
        self.image_size = check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1)
        self.num_context = check_int("num_context", num_context, minimum=1)

    def checked_inputs(self, inputs):
        """`(frames, input_times, query_times)` checked, frames in `[0, 1]`."""
        return check_inputs(
            inputs, self.num_context, self.image_size, self.channels, self.compute_dtype
        )

    def example_inputs(self, batch_size=1, num_query=1):
        """Zero frames at the default frame spacing, and the next times."""
        times = tf.range(self.num_context, dtype=tf.float32) * FRAME_DT
        return {
            "frames": tf.zeros([batch_size, self.num_context, *self.image_size, self.channels]),
            "input_times": tf.tile(times[None], [batch_size, 1]),
            "query_times": (self.num_context + tf.range(num_query, dtype=tf.float32)) * FRAME_DT,
        }

    def forward(self, inputs, training=None, return_latents=False):
        """Predicted frames, and with `return_latents` a dict of them and the
        latent positions (models that have latents)."""
        raise NotImplementedError

    def call(self, inputs, training=None):
        return self.forward(inputs, training=training)

    def swap_appearance(self, dynamics_inputs, appearance_inputs):
        """Draws one batch's motion with another's look; see `VideoODE`."""
        raise ValueError(f"{type(self).__name__} has no appearance vector to swap.")

    def build(self, inputs_shape=None):
        # Running the graph once on zeros builds every sublayer with its real
        # shapes, so that a reloaded model restores all weights.
        if self.built:
            return
        with self.precision_scope():  # Layers made while building take it too.
            self.call(self.example_inputs(), training=False)
        self.built = True

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "channels": self.channels,
            "num_context": self.num_context,
        }
