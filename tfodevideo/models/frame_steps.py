"""The contract shared by the discrete-time baselines (ConvLSTM, SimVP).

They take the same dict inputs as the continuous-time models, so losses,
metrics, `fit`, `evaluate` and the benchmarks treat every model alike; but
they know only frame steps: they predict as many frames as there are query
times, at the frame rate of the inputs, right after the last input frame.
The times' values are not used, so they cannot interpolate or change the
frame rate.
"""

from tfodevideo.models.base import VideoModel

# Training pipelines may add the true target frames under this key, for
# models that learn with teacher forcing (see `with_teacher_frames`).
TEACHER_KEY = "teacher_frames"


def with_teacher_frames(dataset):
    """Adds the targets to the inputs of a `(inputs, targets)` pipeline, for
    models trained with scheduled sampling (`ConvLSTMBaseline`)."""
    return dataset.map(lambda inputs, targets: ({**inputs, TEACHER_KEY: targets}, targets))


class FrameStepModel(VideoModel):
    """Base of models that predict frame after frame.

    Subclasses write `predict_steps`; the inputs are checked here.

    Args:
        image_size: `(H, W)` of the frames.
        channels: channels of the frames.
        num_context: number of input frames.
        **kwargs: standard `keras.Model` arguments.
    """

    def forward(self, inputs, training=None, return_latents=False):
        """Predicted frames, one per query time; these models have no latents."""
        if return_latents:
            raise ValueError(
                f"{type(self).__name__} predicts frame after frame and has no latent "
                "positions. Received: return_latents=True"
            )
        frames, _, query_times = self.checked_inputs(inputs)
        steps = query_times.shape[-1]
        if steps is None:
            raise ValueError(
                f"{type(self).__name__} needs a static number of query times."
            )
        return self.predict_steps(frames, steps, inputs, training)

    def predict_steps(self, frames, steps, inputs, training=None):
        """`steps` frames `(B, steps, H, W, C)` after the checked input `frames`;
        `inputs` is the whole dict (for extra keys such as teacher frames)."""
        raise NotImplementedError
