"""Loading a saved video model, with errors that say what the file is."""

import os
import zipfile

import keras

# Saved models also hold our losses and metrics: importing registers them.
from tfodevideo import losses  # noqa: F401
from tfodevideo import metrics  # noqa: F401
from tfodevideo.models.ode_video import ODEVideoModel
from tfodevideo.precision import with_precision


def load_model(path, precision=None):
    """Loads a `.keras` file holding a tfodevideo video model.

    Importing this module registers every class a saved model of ours may
    hold, so Keras can rebuild it.

    Args:
        path: a `.keras` file of a `VideoODE` or `LatentODE`.
        precision: None keeps the precision the model was saved with;
            `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"` rebuilds it
            to compute in that one (`tfodevideo.precision.with_precision`).

    Returns:
        The model, built.

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: a file that is not a Keras model, or another model.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}")
    # A `.keras` file is a zip archive; Keras reports anything else as
    # "File not found", which sends the user looking in the wrong place.
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a Keras model file (.keras): damaged or another format.")
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # Keras raises many kinds for foreign files.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"{path!r} is not a Keras model file this version can read: {first_line}"
        ) from None
    if not isinstance(model, ODEVideoModel):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a tfodevideo video model "
            "(VideoODE or LatentODE)."
        )
    if precision is not None:
        model = with_precision(model, precision)
    return model
