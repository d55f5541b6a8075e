"""Learned vector fields `dy/dt = f(t, y)`, each a Keras layer called as `(t, y)`.

The fields know nothing of solvers: `tfodevideo.layers.NeuralODE` integrates
whichever field it is given. Smooth activations (softplus by default) keep the
field smooth, which keeps adaptive solvers from taking tiny steps; ReLU fields
have kinks that make Dormand-Prince reject steps.

With `second_order=True` the state is `Z = (z, dz/dt)`, split in two halves
along its last axis; the network reads all of `Z` and returns the acceleration
`d2z/dt2`, and the field returns `(dz/dt, d2z/dt2)`. This is how the report
learns physics of position and velocity (its eq. 6).
"""

import keras
from keras import layers
from keras import ops

from tfodevideo._checks import check_int
from tfodevideo.precision import default_full_precision


class VectorField(layers.Layer):
    """Base class: handles the second-order split and the time input.

    Subclasses create and build `self.network_layers` in
    `build_network(input_shape, output_size)`; `network` applies them in turn.

    Args:
        time_dependent: if True, the time `t` is given to the network as an
            extra input feature; otherwise the field is autonomous.
        second_order: if True, the state holds position and velocity halves
            and the network gives the acceleration.
        zero_start: if True, the network's last layer starts at zero, so the
            untrained field is zero: a second-order state then moves in
            straight lines at its initial velocity, which is right for
            objects between collisions (the cut-out slot models use it).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        t: scalar time.
        y: state `(batch, ...)`.

    Returns:
        `dy/dt`, same shape as `y`.
    """

    def __init__(self, *, time_dependent=False, second_order=False, zero_start=False,
                 **kwargs):
        # Float32 under a mixed policy: the solver's step control needs it.
        super().__init__(**default_full_precision(kwargs))
        self.time_dependent = bool(time_dependent)
        self.second_order = bool(second_order)
        self.zero_start = bool(zero_start)

    def build(self, y_shape):
        size = y_shape[-1]
        if self.second_order and (size is None or size % 2):
            raise ValueError(
                "A second-order field needs a state whose last axis is even "
                f"(position and velocity halves). Received: state shape {y_shape}"
            )
        output_size = size // 2 if self.second_order else size
        input_shape = tuple(y_shape[:-1]) + (size + int(self.time_dependent),)
        self.build_network(input_shape, output_size)
        # Layers made here are trainable whatever the field was set to before
        # they existed (Keras passes `trainable` on to existing sublayers only).
        for layer in self.network_layers:
            layer.trainable = self.trainable

    def call(self, t, y):
        features = y
        if self.time_dependent:
            time = ops.cast(t, y.dtype) * ops.ones_like(y[..., :1])
            features = ops.concatenate([y, time], axis=-1)
        derivative = self.network(features)
        if self.second_order:
            velocity = y[..., y.shape[-1] // 2 :]
            derivative = ops.concatenate([velocity, derivative], axis=-1)
        return derivative

    def build_network(self, input_shape, output_size):
        """Creates and builds `self.network_layers`; subclasses implement it."""
        raise NotImplementedError

    def network(self, features):
        for layer in self.network_layers:
            features = layer(features)
        return features

    def get_config(self):
        config = super().get_config()
        config.update(
            {"time_dependent": self.time_dependent, "second_order": self.second_order,
             "zero_start": self.zero_start}
        )
        return config

    def _output_initializers(self):
        """Keyword arguments of the last layer: zeros with `zero_start`."""
        if self.zero_start:
            return {"kernel_initializer": "zeros", "bias_initializer": "zeros"}
        return {}


@keras.saving.register_keras_serializable(package="tfodevideo")
class MLPField(VectorField):
    """A vector field given by a multilayer perceptron, for flat states.

    Args:
        units: width of each hidden layer.
        depth: number of hidden layers.
        activation: hidden activation; smooth ones suit adaptive solvers.
        time_dependent, second_order, zero_start: see `VectorField`.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:

    >>> field = MLPField(units=32, second_order=True)
    >>> field(0.0, keras.ops.ones((2, 8))).shape
    (2, 8)
    """

    def __init__(
        self,
        units=64,
        depth=2,
        *,
        activation="softplus",
        time_dependent=False,
        second_order=False,
        zero_start=False,
        **kwargs,
    ):
        super().__init__(time_dependent=time_dependent, second_order=second_order,
                         zero_start=zero_start, **kwargs)
        self.units = check_int("units", units, minimum=1)
        self.depth = check_int("depth", depth, minimum=0)
        self.activation = keras.activations.get(activation)

    def build_network(self, input_shape, output_size):
        self.network_layers = [
            layers.Dense(self.units, self.activation, dtype=self.dtype_policy)
            for _ in range(self.depth)
        ] + [layers.Dense(output_size, dtype=self.dtype_policy,
                          **self._output_initializers())]
        for layer in self.network_layers:
            layer.build(input_shape)
            input_shape = input_shape[:-1] + (layer.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "depth": self.depth,
                "activation": keras.activations.serialize(self.activation),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="tfodevideo")
class ConvField(VectorField):
    """A convolutional vector field, for spatial latent maps `(batch, h, w, c)`.

    Each position's derivative depends on its neighbourhood, so several objects
    in a scene can move independently (a flat vector mixes them up).

    Args:
        filters: channels of each hidden convolution.
        depth: number of hidden convolutions.
        kernel_size: side of the square kernels.
        activation: hidden activation.
        time_dependent, second_order, zero_start: see `VectorField`; the
            state's channels hold the position and velocity halves.
        **kwargs: standard `keras.layers.Layer` arguments.
    """

    def __init__(
        self,
        filters=32,
        depth=2,
        *,
        kernel_size=3,
        activation="softplus",
        time_dependent=False,
        second_order=False,
        zero_start=False,
        **kwargs,
    ):
        super().__init__(time_dependent=time_dependent, second_order=second_order,
                         zero_start=zero_start, **kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        self.depth = check_int("depth", depth, minimum=0)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.activation = keras.activations.get(activation)

    def build(self, y_shape):
        if len(y_shape) != 4:
            raise ValueError(
                "ConvField needs states of shape (batch, height, width, channels). "
                f"Received: state shape {y_shape}"
            )
        super().build(y_shape)

    def build_network(self, input_shape, output_size):
        self.network_layers = [
            layers.Conv2D(
                self.filters,
                self.kernel_size,
                padding="same",
                activation=self.activation,
                dtype=self.dtype_policy,
            )
            for _ in range(self.depth)
        ] + [
            layers.Conv2D(
                output_size, self.kernel_size, padding="same", dtype=self.dtype_policy,
                **self._output_initializers(),
            )
        ]
        for layer in self.network_layers:
            layer.build(input_shape)
            input_shape = input_shape[:-1] + (layer.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "depth": self.depth,
                "kernel_size": self.kernel_size,
                "activation": keras.activations.serialize(self.activation),
            }
        )
        return config
