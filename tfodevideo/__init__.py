"""tfodevideo: continuous-time video models with latent Neural ODEs.

The public API is small: `tfodevideo.data` for data sets and pipelines.
"""

from tfodevideo import data as data

__version__ = "0.1.0"

__all__ = ["data", "__version__"]
