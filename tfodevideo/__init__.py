"""tfodevideo: continuous-time video models with latent Neural ODEs.

The public API is small: `tfodevideo.data` for data sets and pipelines,
`tfodevideo.layers` for the vector fields and the `NeuralODE` layer,
`tfodevideo.models` for the functional models, `tfodevideo.losses` and
`tfodevideo.metrics` for training and scoring. Importing the package
registers every class a saved `.keras` model of ours may hold.
"""

from tfodevideo import data as data
from tfodevideo import layers as layers
from tfodevideo import losses as losses
from tfodevideo import metrics as metrics
from tfodevideo import models as models
from tfodevideo.layers import MLPField as MLPField
from tfodevideo.layers import NeuralODE as NeuralODE

__version__ = "0.1.0"

__all__ = [
    "MLPField", "NeuralODE", "data", "layers", "losses", "metrics", "models", "__version__"
]
