"""tfodevideo: continuous-time video models with latent Neural ODEs.

The names a user needs are here: the models (`VideoODE`, `LatentODE`), the
Neural ODE layer and its fields (`NeuralODE`, `MLPField`, `ConvField`),
training and scoring (`FrameLoss`, `FrameMetric`), data (`make_dataset`),
and saved models (`load_model`, `predict_clip`). Training lives in
`tfodevideo.training`.

Names load on first use, so that `import tfodevideo` (and the command's
`--help`) does not start TensorFlow. A saved `.keras` model of ours is read
with `tfodevideo.load_model`, or with `keras.saving.load_model` once a
model class has been touched (`tfodevideo.models` registers them all).
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_NAMES = {
    "VideoODE": "tfodevideo.models",
    "LatentODE": "tfodevideo.models",
    "load_model": "tfodevideo.models",
    "NeuralODE": "tfodevideo.layers",
    "MLPField": "tfodevideo.layers",
    "ConvField": "tfodevideo.layers",
    "FrameLoss": "tfodevideo.losses",
    "FrameMetric": "tfodevideo.metrics",
    "make_dataset": "tfodevideo.data",
    "predict_clip": "tfodevideo.inference",
}
_SUBMODULES = ("data", "layers", "losses", "metrics", "models", "training")

__all__ = sorted(_NAMES) + list(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"tfodevideo.{name}")
    else:
        raise AttributeError(f"module 'tfodevideo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
