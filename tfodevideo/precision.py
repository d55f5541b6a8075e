"""Mixed precision: which parts compute in 16 bits and which stay float32.

`--precision mixed_bfloat16` (or `mixed_float16`) sets Keras' global dtype
policy while a model is built, so its convolutions and dense layers compute
in 16 bits with float32 variables. Some parts must stay float32, and the
layers that own them ask for it themselves through `full_precision`:

- the Neural ODE's state and its vector field: Dormand-Prince accepts or
  rejects a step from an error norm near `rtol` (1e-3), below bfloat16's
  resolution (8 bits of mantissa, about 4e-3), so a bfloat16 field would
  make the step control chase rounding noise; the field is 1-5 % of a
  prediction's cost (`benchmarks/speed.py`), so float32 costs little;
- each decoder's output layer and its sigmoid, so frames come out float32
  and losses and metrics see full-precision pixels;
- the losses a model adds itself (`add_loss`), which Keras sums with the
  float32 frame loss.

`mixed_float16` also wraps the optimizer in Keras' `LossScaleOptimizer`
(float16 gradients underflow without it); bfloat16 has float32's exponent
range and needs none.
"""

import contextlib

import keras

from tfodevideo._checks import check_choice
from tfodevideo.constants import PRECISIONS


def check_precision(precision):
    """`precision` if it is one of `PRECISIONS`, else a `ValueError`."""
    return check_choice("precision", precision, PRECISIONS)


def precision_scope(precision):
    """Sets Keras' global dtype policy to `precision` inside the block and
    restores the previous one after it, also on error.

    Models made inside compute in that precision; a model loaded from a
    `.keras` file keeps the one it was saved with, whatever the scope.
    """
    return _policy_scope(check_precision(precision))


@contextlib.contextmanager
def _policy_scope(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class RecordsPrecision:
    """Model mixin: remembers the global policy it was made under.

    A model's layers are made in its constructor (some in `build`), not
    read from its config, so a mixed model saved to `.keras` would come
    back float32. The precision goes into the config instead, and
    `from_config` and `build` run under it again. Call `record_precision`
    in `__init__`, before making layers.
    """

    def record_precision(self):
        self.precision = keras.config.dtype_policy().name

    def precision_scope(self):
        """The global policy of this model's making, while the block runs."""
        return _policy_scope(self.precision)

    def get_config(self):
        return {**super().get_config(), "precision": self.precision}

    @classmethod
    def from_config(cls, config):
        # Models saved before precisions were recorded are float32.
        config = dict(config)
        with _policy_scope(config.pop("precision", "float32")):
            return super().from_config(config)


def full_precision(policy=None):
    """The policy that computes in `policy`'s variable dtype: float32 for
    `mixed_bfloat16` and `mixed_float16`, `policy` itself otherwise.

    Args:
        policy: a `keras.DTypePolicy`, a policy name, or None for the global
            policy.
    """
    if policy is None:
        policy = keras.config.dtype_policy()
    if isinstance(policy, str):
        policy = keras.DTypePolicy(policy)
    if policy.compute_dtype == policy.variable_dtype:
        return policy
    return keras.DTypePolicy(policy.variable_dtype)


def default_full_precision(kwargs):
    """Layer keyword arguments with `dtype` set to `full_precision()` unless
    the caller chose one: for the layers that must stay float32."""
    if kwargs.get("dtype") is None:
        kwargs = {**kwargs, "dtype": full_precision()}
    return kwargs


def model_precision(model):
    """The precision `model`'s layers compute in: the mixed policy any of
    them has, else the model's own policy name (`"float32"`)."""
    for layer in model._flatten_layers():
        if layer.dtype_policy.compute_dtype != layer.dtype_policy.variable_dtype:
            return layer.dtype_policy.name
    return model.dtype_policy.name


def with_precision(model, precision):
    """A copy of `model` computing in `precision`, with the same weights.

    A saved model keeps the precision it was made in (`RecordsPrecision`);
    this rebuilds it from its config with `precision` recorded instead (its
    layers take their policies when made, those that must stay float32
    choose so again) and copies the weights, which are float32 in every
    precision. With the model's own precision the copy predicts exactly as
    the model does.

    Args:
        model: a built Keras model of this package.
        precision: one of `PRECISIONS`.
    """
    config = keras.saving.serialize_keras_object(model)
    config["config"]["precision"] = check_precision(precision)
    copy = keras.saving.deserialize_keras_object(config)
    copy.build(None)
    copy.set_weights(model.get_weights())
    return copy


def optimizer_for(optimizer, precision):
    """`optimizer`, wrapped in a `LossScaleOptimizer` for `mixed_float16`."""
    if check_precision(precision) == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
