"""Keras layers of tfodevideo: vector fields and the Neural ODE layer."""

from tfodevideo.layers.conv_blocks import ConvDecoder as ConvDecoder
from tfodevideo.layers.conv_blocks import ConvEncoder as ConvEncoder
from tfodevideo.layers.ode import NeuralODE as NeuralODE
from tfodevideo.layers.spatial_encoding import SpatialEncoding as SpatialEncoding
from tfodevideo.layers.vector_fields import ConvField as ConvField
from tfodevideo.layers.vector_fields import MLPField as MLPField
from tfodevideo.layers.vector_fields import VectorField as VectorField

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "ConvField",
    "MLPField",
    "NeuralODE",
    "SpatialEncoding",
    "VectorField",
]
