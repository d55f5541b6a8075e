"""The SimVP-style peer: all frames in one pass, same inputs as VideoODE."""

import keras
import numpy as np
import pytest

from helpers import run_model_saving_test
from tfodevideo.losses import FrameLoss
from tfodevideo.models.simvp import SimVPBaseline


def _inputs(batch=2, context=4, targets=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "frames": rng.uniform(size=(batch, context, size, size, 1)).astype("float32"),
        "input_times": np.tile(np.arange(context, dtype="float32") * 0.1, (batch, 1)),
        "query_times": np.tile(np.arange(context, context + targets, dtype="float32") * 0.1,
                               (batch, 1)),
    }


def _tiny(**kwargs):
    args = dict(image_size=16, num_context=4, spatial_channels=4, translator_channels=8,
                num_translator=2, kernel_sizes=(3, 5))
    return SimVPBaseline(**{**args, **kwargs})


@pytest.mark.parametrize("first_stride", [1, 2])
def test_it_predicts_one_frame_per_query_time_and_reloads(tmp_path, first_stride):
    keras.utils.set_random_seed(0)
    model = _tiny(first_stride=first_stride)
    inputs = _inputs(targets=4)
    predicted = model(inputs).numpy()
    assert predicted.shape == (2, 4, 16, 16, 1)
    assert predicted.min() >= 0 and predicted.max() <= 1
    run_model_saving_test(model, inputs, str(tmp_path / "simvp.keras"), atol=1e-6)


def test_longer_horizons_are_predicted_pass_after_pass():
    keras.utils.set_random_seed(0)
    model = _tiny(num_context=4, num_target=3)
    inputs = _inputs(targets=7)
    predicted = model(inputs).numpy()
    assert predicted.shape == (2, 7, 16, 16, 1)
    # The first pass does not depend on how many frames follow.
    np.testing.assert_allclose(
        model(dict(inputs, query_times=inputs["query_times"][:, :3])).numpy(),
        predicted[:, :3], atol=1e-6)
    # The second pass reads the last input frame and the first three predicted.
    fed = np.concatenate([inputs["frames"][:, -1:], predicted[:, :3]], axis=1)
    second = model(dict(inputs, frames=fed, query_times=inputs["query_times"][:, :3])).numpy()
    np.testing.assert_allclose(second, predicted[:, 3:6], atol=1e-5)


def test_it_learns_a_fixed_pattern_with_fit():
    keras.utils.set_random_seed(0)
    model = _tiny()
    model.compile(keras.optimizers.Adam(1e-2), FrameLoss())
    inputs = _inputs(batch=4)
    targets = np.zeros((4, 4, 16, 16, 1), "float32")
    targets[:, :, 4:8, 4:8] = 1.0
    history = model.fit(inputs, targets, epochs=60, batch_size=4, verbose=0)
    black_frame_mse = float(np.mean(targets**2))
    assert history.history["loss"][-1] < 0.25 * black_frame_mse, history.history["loss"][-5:]


def test_bad_inputs_and_settings_are_named():
    model = _tiny()
    with pytest.raises(ValueError, match="frames"):
        model(dict(_inputs(), frames=np.zeros((2, 3, 16, 16, 1), "float32")))
    with pytest.raises(ValueError, match="image_size"):
        _tiny(image_size=18)
    with pytest.raises(ValueError, match="first_stride"):
        _tiny(first_stride=3)
