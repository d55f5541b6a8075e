"""Synthetic videos, coordinate trajectories, the standard test set, pipelines."""

from tfodevideo.data.ball import GaussianBall as GaussianBall
from tfodevideo.data.files import load_mnist as load_mnist
from tfodevideo.data.files import load_moving_mnist_test as load_moving_mnist_test
from tfodevideo.data.moving_mnist import MovingMNIST as MovingMNIST
from tfodevideo.data.physics import PHYSICS as PHYSICS
from tfodevideo.data.pipelines import array_dataset as array_dataset
from tfodevideo.data.pipelines import video_dataset as video_dataset
from tfodevideo.data.registry import DATASETS as DATASETS
from tfodevideo.data.registry import make_dataset as make_dataset
from tfodevideo.data.registry import make_source as make_source
from tfodevideo.data.source import VideoSource as VideoSource
from tfodevideo.data.time_grids import random_grid as random_grid
from tfodevideo.data.time_grids import regular_grid as regular_grid
from tfodevideo.data.trajectories import random_trajectories as random_trajectories
from tfodevideo.data.trajectories import spiral_trajectory as spiral_trajectory
from tfodevideo.data.trajectories import split_in_time as split_in_time

__all__ = [
    "DATASETS",
    "GaussianBall",
    "MovingMNIST",
    "PHYSICS",
    "VideoSource",
    "array_dataset",
    "load_mnist",
    "load_moving_mnist_test",
    "make_dataset",
    "make_source",
    "random_grid",
    "random_trajectories",
    "regular_grid",
    "spiral_trajectory",
    "split_in_time",
    "video_dataset",
]
