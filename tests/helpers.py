"""Shared checks of layers and models (KerasHub's `TestCase` idea).

Each runs the real Keras machinery (config round trip, `.keras` save and
load) and compares outputs, so a class that loses a setting or a weight on
the way fails here whatever test uses it.
"""

import keras
import numpy as np

# Seconds a command run by a test may take before it counts as hung. Not a
# speed check: on a busy machine a short training run took 9 minutes (the
# whole suite once 32 minutes), so this only stops a run that never ends.
HANG_GUARD_S = 1800


def run_serialization_test(instance):
    """`from_config(get_config())` gives an equal config; returns the copy."""
    config = instance.get_config()
    again = type(instance).from_config(config)
    assert again.get_config() == config
    return again


def run_layer_test(layer, inputs, expected_shape):
    """Calls `layer` on `inputs`, checks the output shape, the config round
    trip and that the copy built from the config has the same weight shapes."""
    output = layer(*inputs) if isinstance(inputs, tuple) else layer(inputs)
    assert tuple(output.shape) == tuple(expected_shape)
    again = run_serialization_test(layer)
    _ = again(*inputs) if isinstance(inputs, tuple) else again(inputs)
    assert [w.shape for w in again.weights] == [w.shape for w in layer.weights]
    return output


def run_model_saving_test(model, inputs, path, atol=0.0, compare_configs=True):
    """Saves `model` to `path` (`.keras`), loads it with Keras, and checks
    the config and the predictions on `inputs` (equal within `atol`).

    `compare_configs=False` for functional models: rebuilt in the same
    process, their layers take fresh names, so equal configs mean nothing.

    Returns:
        The reloaded model.
    """
    if compare_configs:
        run_serialization_test(model)
    # Called, not `predict`: inputs may share query times over the batch.
    expected = np.asarray(model(inputs, training=False))
    model.save(path)
    restored = keras.saving.load_model(path)
    assert not compare_configs or restored.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(restored(inputs, training=False)), expected,
                               atol=atol, rtol=0)
    return restored
