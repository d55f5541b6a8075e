"""A look at every data set: one PNG per data set, written by `tfodevideo preview`."""

import os

import numpy as np

from tfodevideo import viz
from tfodevideo.constants import FRAME_DT
from tfodevideo._checks import check_int
from tfodevideo.data import files
from tfodevideo.data.ball import GaussianBall
from tfodevideo.data.physics import PHYSICS
from tfodevideo.data.registry import DATASETS
from tfodevideo.data.registry import make_source
from tfodevideo.data.trajectories import SHAPES
from tfodevideo.data.trajectories import random_trajectories
from tfodevideo.data.trajectories import spiral_trajectory


def write_previews(out_dir, num_clips=4, seed=0, data_dir=None):
    """Writes PNG previews of each data set and returns their paths.

    Moving MNIST needs MNIST (see `tfodevideo.data.load_mnist`); the standard
    test set is shown when its file is found. Without MNIST those previews are
    skipped and named in the returned `skipped` dict.

    Returns:
        `(written, skipped)`: a list of paths, and a dict name -> reason.
    """
    num_clips = check_int("num_clips", num_clips, minimum=1)
    # A folder that was named but does not exist is an error, not a skip.
    data_dir = files.resolve_data_dir(data_dir)
    written, skipped = [], {}

    def save(name, image):
        written.append(viz.save_png(os.path.join(out_dir, f"{name}.png"), image))

    def strips(frames, frame_dt):
        """One labelled row per clip, each frame with its time."""
        frames = np.asarray(frames, np.float32)
        labels = viz.time_labels(np.arange(frames.shape[1]) * frame_dt)
        return viz.stack_images([
            viz.labelled_strip(clip, labels, f"clip {k}", per_row=len(clip))
            for k, clip in enumerate(frames)
        ])

    tracks = [spiral_trajectory(shape)["states"][:, :2] for shape in SHAPES]
    many = random_trajectories(num_clips, "spiral", seed=seed)["states"]
    save("trajectories", viz.plot_tracks(tracks + list(many[..., :2].numpy())))
    for physics in PHYSICS:
        source = GaussianBall(physics)
        clips = source.generate(num_clips, seed=seed)
        save(f"ball_{physics}", strips(clips["frames"], source.frame_dt))
    for name, spec in DATASETS.items():
        if spec.source is GaussianBall:
            continue
        try:
            source = make_source(name, data_dir=data_dir)
        except (FileNotFoundError, ValueError) as error:
            skipped[name] = str(error)
            continue
        save(name, strips(source.generate(num_clips, seed=seed)["frames"], source.frame_dt))
    try:
        test = files.load_moving_mnist_test(data_dir=data_dir, num_sequences=num_clips)
        save("moving_mnist_standard_test", strips(test / 255.0, FRAME_DT))
    except (FileNotFoundError, ValueError) as error:
        skipped["moving_mnist_standard_test"] = str(error)
    return written, skipped
