"""A ConvLSTM next-frame predictor: the usual discrete-time baseline.

Shi et al.'s design as video-prediction benchmarks use it: frames cut into
`patch x patch` blocks stacked as channels (space-to-depth, as PredRNN does,
so the recurrent convolutions work on a 16x16 grid for 64x64 frames), a stack
of `ConvLSTM2D` layers, and a 1x1 convolution with a sigmoid that draws the
next frame. After reading the input frames it runs free: each predicted frame
is the next input. In training it can learn by scheduled sampling (Bengio et
al. 2015, as OpenSTL trains its ConvLSTM): with probability
`teacher_forcing` a step is fed the true previous frame instead.
"""

import keras
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_int
from tfodevideo.models.frame_steps import TEACHER_KEY
from tfodevideo.models.frame_steps import FrameStepModel
from tfodevideo.precision import full_precision


@keras.saving.register_keras_serializable(package="tfodevideo")
class ConvLSTMBaseline(FrameStepModel):
    """Stacked ConvLSTM2D layers predicting one frame at a time.

    It takes the same inputs as `VideoODE` (see
    `tfodevideo.models.frame_steps`), so losses, metrics, `fit` and
    `evaluate` treat both alike; it predicts one frame per query time at the
    inputs' frame rate.

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
            `input_times` and `query_times` (only its length `T` is used);
            in training, optionally `teacher_frames` `(B, T, H, W, C)`, the
            true frames, fed back in place of the model's own with
            probability `teacher_forcing` (a non-trainable variable that a
            schedule lowers from 1 to 0; see `TeacherForcingSchedule`).
        training: Python bool.

    Returns:
        Predicted frames `(B, T, H, W, C)` in `[0, 1]`.

    References:
        Shi et al., "Convolutional LSTM network: a machine learning approach
        for precipitation nowcasting", NeurIPS 2015. Bengio et al.,
        "Scheduled sampling for sequence prediction with recurrent neural
        networks", NeurIPS 2015.
    """

    def __init__(
        self, image_size=(64, 64), channels=1, num_context=10, filters=(64, 64),
        kernel_size=3, patch=4, **kwargs,
    ):
        super().__init__(image_size, channels, num_context, **kwargs)
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
            dtype=full_precision(),
            bias_initializer=keras.initializers.Constant(-3.9),  # Start dark, as ConvDecoder.
        )
        self.teacher_forcing = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="teacher_forcing"
        )
        self.sampling_seed = keras.random.SeedGenerator(0)

    def _step(self, frame, states):
        """One frame in, the next frame out; `states` per layer `[h, c]`."""
        x = tf.nn.space_to_depth(frame, self.patch)[:, None]
        new_states = []
        for cell, state in zip(self.cells, states):
            x, h, c = cell(x, initial_state=state)
            new_states.append([h, c])
        return tf.nn.depth_to_space(self.head(x[:, 0]), self.patch), new_states

    def predict_steps(self, frames, steps, inputs, training=None):
        teacher = inputs.get(TEACHER_KEY) if training else None
        batch = tf.shape(frames)[0]
        grid = (self.image_size[0] // self.patch, self.image_size[1] // self.patch)
        states = [
            [tf.zeros([batch, *grid, f], self.compute_dtype)] * 2 for f in self.filters
        ]
        for t in range(self.num_context):  # Read the inputs.
            predicted, states = self._step(frames[:, t], states)
        outputs = [predicted]
        for t in range(steps - 1):  # Then run on its own frames, or the true ones.
            fed = predicted
            if teacher is not None:
                draw = keras.random.uniform([batch, 1, 1, 1], seed=self.sampling_seed)
                true = tf.cast(teacher[:, t], predicted.dtype)
                fed = tf.where(draw < tf.cast(self.teacher_forcing, draw.dtype), true, predicted)
            predicted, states = self._step(fed, states)
            outputs.append(predicted)
        return tf.stack(outputs, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "patch": self.patch,
        }
