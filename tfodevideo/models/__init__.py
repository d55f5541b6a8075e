"""Models wired from tfodevideo layers."""

from tfodevideo.models.autoencoder import ConvAutoEncoder as ConvAutoEncoder
from tfodevideo.models.base import VideoModel as VideoModel
from tfodevideo.models.convlstm import ConvLSTMBaseline as ConvLSTMBaseline
from tfodevideo.models.latent_ode import LatentODE as LatentODE
from tfodevideo.models.loading import load_model as load_model
from tfodevideo.models.ode_video import ODEVideoModel as ODEVideoModel
from tfodevideo.models.simvp import SimVPBaseline as SimVPBaseline
from tfodevideo.models.trajectory import trajectory_model as trajectory_model
from tfodevideo.models.video import VideoODE as VideoODE

# Every video and image model a preset can name (`Preset.model`).
MODELS = {
    cls.__name__: cls
    for cls in (VideoODE, LatentODE, ConvAutoEncoder, ConvLSTMBaseline, SimVPBaseline)
}

__all__ = [
    "ConvAutoEncoder",
    "ConvLSTMBaseline",
    "LatentODE",
    "MODELS",
    "ODEVideoModel",
    "SimVPBaseline",
    "VideoModel",
    "VideoODE",
    "load_model",
    "trajectory_model",
]
