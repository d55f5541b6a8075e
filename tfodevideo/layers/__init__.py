"""Keras layers of tfodevideo: vector fields and the Neural ODE layer."""

from tfodevideo.layers.ode import NeuralODE as NeuralODE
from tfodevideo.layers.vector_fields import ConvField as ConvField
from tfodevideo.layers.vector_fields import MLPField as MLPField
from tfodevideo.layers.vector_fields import VectorField as VectorField

__all__ = ["ConvField", "MLPField", "NeuralODE", "VectorField"]
