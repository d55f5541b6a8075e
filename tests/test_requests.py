"""Requests a model answers the same whatever its batch, or refuses in our words."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfodevideo.data import make_dataset
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE
from tfodevideo.models import ConvLSTMBaseline
from tfodevideo.models import SimVPBaseline
from tfodevideo.models import VideoODE
from tfodevideo.models import load_model

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "saved_models", "ball_latent_ode.keras")
SIZE = dict(image_size=(16, 16), num_context=2)


def test_a_prediction_does_not_depend_on_its_batch_companions():
    model = load_model(SHIPPED)
    inputs, _ = next(iter(make_dataset("ball", 8, split="test", num_clips=8)))
    # Far past the trained horizon, where the solver takes the most steps.
    inputs = dict(inputs, query_times=np.arange(2, 60, dtype=np.float32) * 0.1)
    batched = model(inputs, training=False).numpy()
    alone = np.concatenate([
        model({key: value[k : k + 1] if key != "query_times" else value
               for key, value in inputs.items()}, training=False).numpy()
        for k in range(8)
    ])
    # Measured 6e-6 (at the training rtol of 1e-3 it was 6e-3).
    assert np.abs(batched - alone).max() < 1e-4


def test_inference_solves_tighter_than_training():
    keras.utils.set_random_seed(0)
    ode = NeuralODE(MLPField(8), rtol=1e-3, atol=1e-6)
    assert ode.tolerances(training=True) == (1e-3, 1e-6)
    assert ode.tolerances(training=False) == (1e-6, 1e-8)
    # A tolerance tighter than the inference one is kept.
    assert NeuralODE(MLPField(8), rtol=1e-9).tolerances()[0] == 1e-9
    assert NeuralODE(MLPField(8), inference_rtol=None).tolerances()[0] == 1e-3
    y0, times = tf.ones((2, 3)) * 2.0, tf.constant([0.5, 1.0, 3.0])
    costs = []
    for training in (True, False):
        ode.nfe_tracker.reset_state()
        ode(y0, times, training=training)
        costs.append(float(ode.nfe_tracker.result()))
    assert costs[1] > costs[0]
    with pytest.raises(ValueError, match="inference_rtol"):
        NeuralODE(MLPField(8), inference_rtol=0.0)


def valid_request(batch=2):
    return {
        "frames": np.full((batch, 2, 16, 16, 1), 0.5, np.float32),
        "input_times": np.tile(np.float32([0.0, 0.1]), (batch, 1)),
        "query_times": np.float32([0.2, 0.3]),
    }


BAD_REQUESTS = [
    ({"query_times": np.zeros(0, np.float32)}, "`query_times` is empty"),
    ({"frames": np.zeros((0, 2, 16, 16, 1), np.float32),
      "input_times": np.zeros((0, 2), np.float32)}, "`frames` holds no clips"),
    ({"query_times": np.zeros((1, 1, 2), np.float32)}, r"`query_times` must be \(T,\)"),
    ({"query_times": np.float32(0.5)}, r"`query_times` must be \(T,\)"),
    ({"query_times": np.zeros((3, 2), np.float32)}, "`query_times` has 3 rows"),
    ({"input_times": np.float32([[0.1, 0.1], [0.0, 0.1]])}, "strictly increasing"),
    ({"input_times": np.float32([[0.2, 0.1], [0.0, 0.1]])}, "strictly increasing"),
    ({"input_times": np.float32([[np.nan, 0.1], [0.0, 0.1]])}, "`input_times` must be finite"),
    ({"query_times": np.float32([0.2, np.inf])}, "`query_times` must be finite"),
    ({"input_times": np.zeros((3, 2), np.float32)}, "`input_times` has 3 rows"),
]


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    return [
        VideoODE(dynamics_dim=2, appearance_dim=2, encoder_channels=(4, 8), field_units=8,
                 **SIZE),
        ConvLSTMBaseline(filters=(4,), patch=4, **SIZE),
        SimVPBaseline(spatial_channels=4, translator_channels=8, num_spatial=2, num_translator=2,
                      kernel_sizes=(3,), groups=2, **SIZE),
    ]


@pytest.mark.parametrize("change, match", BAD_REQUESTS)
def test_every_model_refuses_a_bad_request_in_our_words(models, change, match):
    for model in models:
        with pytest.raises(ValueError, match=match):
            model(dict(valid_request(), **change), training=False)


def test_compiled_calls_refuse_bad_times_with_our_words(models):
    model = models[0]
    call = tf.function(lambda inputs: model(inputs, training=False))
    request = {k: tf.constant(v) for k, v in valid_request().items()}
    assert call(request).shape == (2, 2, 16, 16, 1)
    bad = dict(request, input_times=tf.constant([[0.1, 0.1], [0.0, 0.1]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="strictly increasing"):
        call(bad)
