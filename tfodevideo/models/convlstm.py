"""A ConvLSTM next-frame predictor: the usual discrete-time baseline.

Shi et al.'s design as video-prediction benchmarks use it: frames cut into
`patch x patch` blocks stacked as channels (space-to-depth, as PredRNN does,
so the recurrent convolutions work on a 16x16 grid for 64x64 frames), a stack
of `ConvLSTM2D` layers, and a 1x1 convolution with a sigmoid that draws the
next frame. After reading the input frames it runs free: each predicted frame
is the next input.
"""

import keras
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_image_size
from tfodevideo._checks import check_int
from tfodevideo._frames import unit_frames

INPUT_KEYS = ("frames", "input_times", "query_times")


@keras.saving.register_keras_serializable(package="tfodevideo")
class ConvLSTMBaseline(keras.Model):
    """Stacked ConvLSTM2D layers predicting one frame at a time.

    It takes the same inputs as `VideoODE`, so losses, metrics, `fit` and
    `evaluate` treat both alike; but it knows only frame steps: it predicts
    as many frames as there are query times, at the frame rate of the
    inputs, right after the last input frame (the times' values are not
    used, so it cannot interpolate or change the frame rate).

    Args:
        image_size: `(H, W)`, each side divisible by `patch`.
        channels: channels of the frames.
        num_context: number of input frames.
        filters: filters of each ConvLSTM2D layer.
        kernel_size: kernel of the recurrent convolutions.
        patch: side of the blocks folded into channels.
        **kwargs: standard `keras.Model` arguments.

    Call arguments:
        inputs: a dict with `frames` `(B, num_context, H, W, C)`,
            `input_times` and `query_times` (only its length `T` is used).

    Returns:
        Predicted frames `(B, T, H, W, C)` in `[0, 1]`.

    References:
        Shi et al., "Convolutional LSTM network: a machine learning approach
        for precipitation nowcasting", NeurIPS 2015.
    """

    def __init__(
        self, image_size=(64, 64), channels=1, num_context=10, filters=(64, 64),
        kernel_size=3, patch=4, **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1)
        self.num_context = check_int("num_context", num_context, minimum=1)
        self.filters = tuple(check_int("filters", f, minimum=1) for f in filters)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.patch = check_int("patch", patch, minimum=1)
        if any(side % self.patch for side in self.image_size):
            raise ValueError(
                f"Each image side must be divisible by `patch`={self.patch}. Received: "
                f"image_size={self.image_size}"
            )
        self.cells = [
            layers.ConvLSTM2D(
                f, self.kernel_size, padding="same", return_sequences=True,
                return_state=True, name=f"convlstm_{i}",
            )
            for i, f in enumerate(self.filters)
        ]
        self.head = layers.Conv2D(
            self.patch**2 * self.channels, 1, activation="sigmoid", name="head",
            bias_initializer=keras.initializers.Constant(-3.9),  # Start dark, as ConvDecoder.
        )

    def _step(self, frame, states):
        """One frame in, the next frame out; `states` per layer `[h, c]`."""
        x = tf.nn.space_to_depth(frame, self.patch)[:, None]
        new_states = []
        for cell, state in zip(self.cells, states):
            x, h, c = cell(x, initial_state=state)
            new_states.append([h, c])
        return tf.nn.depth_to_space(self.head(x[:, 0]), self.patch), new_states

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict) or set(INPUT_KEYS) - set(inputs):
            raise ValueError(
                f"The inputs must be a dict with keys {list(INPUT_KEYS)}. Received: "
                f"{sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__}"
            )
        frames = tf.convert_to_tensor(inputs["frames"])
        expected = (self.num_context, *self.image_size, self.channels)
        if frames.shape.rank != 5 or tuple(frames.shape[1:]) != expected:
            raise ValueError(
                f"`frames` must have shape (batch, {', '.join(map(str, expected))}). "
                f"Received: shape {tuple(frames.shape)}"
            )
        frames = unit_frames(frames, "frames", self.compute_dtype)
        query_times = inputs["query_times"]
        steps = query_times.shape[-1]
        if steps is None:
            raise ValueError("The ConvLSTM baseline needs a static number of query times.")
        batch = tf.shape(frames)[0]
        grid = (self.image_size[0] // self.patch, self.image_size[1] // self.patch)
        states = [
            [tf.zeros([batch, *grid, f], self.compute_dtype)] * 2 for f in self.filters
        ]
        for t in range(self.num_context):  # Read the inputs.
            predicted, states = self._step(frames[:, t], states)
        outputs = [predicted]
        for _ in range(steps - 1):  # Then run free on its own frames.
            predicted, states = self._step(predicted, states)
            outputs.append(predicted)
        return tf.stack(outputs, axis=1)

    def build(self, inputs_shape):
        if self.built:
            return
        self.call({
            "frames": tf.zeros([1, self.num_context, *self.image_size, self.channels]),
            "input_times": tf.zeros([1, self.num_context]),
            "query_times": tf.zeros([1, 1]),
        })
        self.built = True

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "channels": self.channels,
            "num_context": self.num_context,
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "patch": self.patch,
        }
