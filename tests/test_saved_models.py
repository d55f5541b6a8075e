"""The shipped model loads, predicts better than the baselines, and serves."""

import json
import os

import numpy as np
import tensorflow as tf

from tfodevideo.inference import read_clip
from tfodevideo.training.evaluate import load_video_model

ROOT = os.path.join(os.path.dirname(__file__), "..", "saved_models")


def test_the_shipped_ball_model_predicts_and_serves():
    model = load_video_model(os.path.join(ROOT, "ball_latent_ode.keras"))
    clip = read_clip(os.path.join(ROOT, "examples", "ball_clip.npy"))
    times = np.arange(20, dtype=np.float32) * 0.1
    inputs = {"frames": clip[None, :2], "input_times": times[None, :2],
              "query_times": times[2:]}
    predicted = model(inputs, training=False).numpy()[0]
    truth = clip[2:]
    error = np.mean((predicted - truth) ** 2)
    assert error < 0.25 * np.mean(truth**2)  # Black frames.
    assert error < 0.25 * np.mean((truth - clip[1]) ** 2)  # Copy last.

    with open(os.path.join(ROOT, "examples", "ball_request.json")) as f:
        body = json.load(f)
    served = tf.saved_model.load(os.path.join(ROOT, "ball_latent_ode", "1"))
    request = {k: tf.constant(v, tf.float32) for k, v in body["inputs"].items()}
    answer = served.signatures[body["signature_name"]](**request)["frames"].numpy()
    np.testing.assert_allclose(answer, model(request, training=False).numpy(), atol=1e-5)
