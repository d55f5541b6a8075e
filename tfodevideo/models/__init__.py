"""Models wired from tfodevideo layers with the Keras functional API."""

from tfodevideo.models.trajectory import trajectory_model as trajectory_model

__all__ = ["trajectory_model"]
