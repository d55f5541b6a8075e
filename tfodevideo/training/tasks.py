"""What a preset trains: each task owns its data, model, metrics and pictures.

`TASKS[preset.task]` says how a preset's run differs from another's, so
`train` and `tune` never compare names:

- `video`: a video model (`preset.model`, a name of
  `tfodevideo.models.MODELS`) on clips; PSNR and SSIM; pictures of a
  held-out clip's prediction.
- `autoencoder`: `ConvAutoEncoder` on single frames of the clips; held-out
  reconstruction error beside black frames.
- `trajectory`: the coordinate experiments (`preset.data["experiment"]`:
  `"single"` or `"many"`), trained by their own full-batch loop.

A new task is a subclass of `Task` added to `TASKS`.
"""

import os

import numpy as np

from tfodevideo import viz
from tfodevideo._checks import check_choice
from tfodevideo._frames import merge_time
from tfodevideo.data.registry import make_dataset
from tfodevideo.inference import write_prediction
from tfodevideo.metrics import FrameMetric
from tfodevideo.models import MODELS
from tfodevideo.training import trajectories
from tfodevideo.training.callbacks import FrameImages


class Task:
    """A kind of experiment trained with `model.fit` on a preset's data set."""

    # Whether `train` may hand the model to a `tf.distribute` strategy.
    uses_fit = True

    def build_model(self, preset):
        """The preset's model, not yet built or compiled."""
        name = check_choice("model", preset.model, tuple(MODELS))
        return MODELS[name](**preset.model_args)

    def data(self, preset, batch_size, start=0, seed=0):
        """`(train, validation)` pipelines of `(inputs, targets)`.

        The training stream begins at clip `start` of the stream `seed`;
        validation clips come from the `validation` split, the same for
        every seed.
        """
        common = dict(preset.data)
        train = make_dataset(preset.dataset, batch_size, start=start, seed=seed, **common)
        validation = make_dataset(
            preset.dataset, batch_size, split="validation",
            num_clips=max(preset.validation_clips, batch_size), **common
        )
        return train, validation

    def metrics(self):
        """Metrics compiled beside the loss."""
        return []

    def callbacks(self, validation, workdir):
        """Callbacks of `fit` beyond the checkpoints every run has."""
        return []

    def finish(self, model, validation, out):
        """After training: `(paths of pictures written, extra final metrics)`."""
        return [], {}


class VideoTask(Task):
    """Clips in, frames at other times out."""

    def metrics(self):
        return [FrameMetric("psnr"), FrameMetric("ssim")]

    def callbacks(self, validation, workdir):
        inputs, targets = next(iter(validation))
        return [FrameImages(os.path.join(workdir, "logs", "frames"), inputs, targets)]

    def finish(self, model, validation, out):
        """A GIF of one held-out clip's prediction and labelled strips of it."""
        inputs, targets = next(iter(validation))
        first = {k: v[:1] for k, v in inputs.items()}
        predicted = model(first, training=False).numpy()[0]
        times = np.broadcast_to(first["query_times"], [1, len(predicted)])[0]
        paths = write_prediction(
            predicted, out, times, inputs=first["frames"].numpy()[0],
            input_times=first["input_times"].numpy()[0], name="prediction",
        )
        labels = viz.time_labels(times)
        strip = viz.stack_images([viz.labelled_strip(targets[0].numpy(), labels, "true"),
                                  viz.labelled_strip(predicted, labels, "predicted")])
        paths.append(viz.save_png(os.path.join(out, "true_over_predicted.png"), strip))
        return paths, {}


class AutoEncoderTask(Task):
    """Single frames in, the same frames out: every target frame of a clip is
    one image."""

    def data(self, preset, batch_size, start=0, seed=0):
        def frames(inputs, targets):
            images = merge_time(targets)
            return images, images

        train, validation = super().data(preset, batch_size, start, seed)
        return train.map(frames), validation.map(frames)

    def finish(self, model, validation, out):
        """Held-out MSE beside black frames', and the mean brightest pixel of
        the reconstructions (about 0 for a model collapsed to black frames)."""
        images = np.concatenate([x.numpy() for x, _ in validation])
        reconstructed = model.predict(images, verbose=0)
        return [], {
            "heldout_mse": float(np.mean((reconstructed - images) ** 2)),
            "black_frame_mse": float(np.mean(images**2)),
            "mean_peak": float(reconstructed.reshape(len(images), -1).max(axis=1).mean()),
        }


class TrajectoryTask(Task):
    """The coordinate experiments: one trajectory, or many of one physics."""

    uses_fit = False
    EXPERIMENTS = {"single": trajectories.run_single, "many": trajectories.run_many}

    def run(self, preset, workdir, seed=0):
        """Trains and scores; returns the run record's task part."""
        data = dict(preset.data)
        experiment = check_choice("data.experiment", data.pop("experiment", "single"),
                                  tuple(self.EXPERIMENTS))
        result = self.EXPERIMENTS[experiment](
            **data, **preset.model_args, epochs=preset.epochs,
            learning_rate=preset.learning_rate, seed=seed,
        )
        final = os.path.join(workdir, "model.keras")
        result["model"].save(final)
        pictures = []
        if experiment == "single":
            pictures.append(trajectories.plot_single(result, os.path.join(workdir, "trajectory.png")))
        return {
            "model": final,
            "pictures": pictures,
            "epochs_run": len(result["losses"]),
            "final_metrics": {
                "loss": result["losses"][-1],
                "extrapolation_rmse": result["rmse"],
                "constant_position_rmse": result["baseline_rmse"],
            },
        }


TASKS = {"video": VideoTask(), "autoencoder": AutoEncoderTask(), "trajectory": TrajectoryTask()}


def task_of(preset):
    """The `Task` that trains `preset`."""
    return TASKS[check_choice("task", preset.task, tuple(TASKS))]
