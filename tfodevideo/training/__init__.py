"""Training and evaluation of tfodevideo models.

The public names: `PRESETS` and `resolve` (the named experiments), `train`
and `compiled_model`, `evaluate`, `tune`. They load on first use, so that
the command line can read `tfodevideo.training.choices` without starting
TensorFlow.
"""

import importlib

# Public name -> the module that defines it.
_NAMES = {
    "PRESETS": "tfodevideo.training.presets",
    "resolve": "tfodevideo.training.presets",
    "train": "tfodevideo.training.trainer",
    "compiled_model": "tfodevideo.training.trainer",
    "evaluate": "tfodevideo.training.evaluation",
    "tune": "tfodevideo.training.tuning",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module 'tfodevideo.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(_NAMES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
