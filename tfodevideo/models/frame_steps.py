"""The contract shared by the discrete-time baselines (ConvLSTM, SimVP).

They take the same dict inputs as the continuous-time models, so losses,
metrics, `fit`, `evaluate` and the benchmarks treat every model alike; but
they know only frame steps: they predict as many frames as there are query
times, at the frame rate of the inputs, right after the last input frame.
The times' values are not used, so they cannot interpolate or change the
frame rate.
"""

import keras
import tensorflow as tf

from tfodevideo._checks import check_image_size
from tfodevideo._checks import check_int
from tfodevideo.models.inputs import check_inputs

# Training pipelines may add the true target frames under this key, for
# models that learn with teacher forcing (see `with_teacher_frames`).
TEACHER_KEY = "teacher_frames"


def with_teacher_frames(dataset):
    """Adds the targets to the inputs of a `(inputs, targets)` pipeline, for
    models trained with scheduled sampling (`ConvLSTMBaseline`)."""
    return dataset.map(lambda inputs, targets: ({**inputs, TEACHER_KEY: targets}, targets))


class FrameStepModel(keras.Model):
    """Base of models that predict frame after frame.

    Args:
        image_size: `(H, W)` of the frames.
        channels: channels of the frames.
        num_context: number of input frames.
        **kwargs: standard `keras.Model` arguments.
    """

    def __init__(self, image_size=(64, 64), channels=1, num_context=10, **kwargs):
        super().__init__(**kwargs)
        self.image_size = check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1)
        self.num_context = check_int("num_context", num_context, minimum=1)

    def checked_inputs(self, inputs):
        """The checked frames in `[0, 1]` and the static number of query times."""
        frames, _, query_times = check_inputs(
            inputs, self.num_context, self.image_size, self.channels, self.compute_dtype
        )
        steps = query_times.shape[-1]
        if steps is None:
            raise ValueError(
                f"{type(self).__name__} needs a static number of query times."
            )
        return frames, steps

    def build(self, inputs_shape):
        if self.built:
            return
        self.call({
            "frames": tf.zeros([1, self.num_context, *self.image_size, self.channels]),
            "input_times": tf.range(self.num_context, dtype=tf.float32)[None],
            "query_times": tf.zeros([1, 1]),
        })
        self.built = True

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "channels": self.channels,
            "num_context": self.num_context,
        }
