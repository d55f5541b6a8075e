"""The ConvLSTM baseline: free-running prediction, same inputs as VideoODE."""

import keras
import numpy as np
import pytest

from helpers import run_model_saving_test
from tfodevideo.losses import FrameLoss
from tfodevideo.models.convlstm import ConvLSTMBaseline
from tfodevideo.training.callbacks import TeacherForcingSchedule


def _inputs(batch=2, context=3, targets=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "frames": rng.uniform(size=(batch, context, 16, 16, 1)).astype("float32"),
        "input_times": np.tile(np.arange(context, dtype="float32") * 0.1, (batch, 1)),
        "query_times": np.tile(np.arange(context, context + targets, dtype="float32") * 0.1,
                               (batch, 1)),
    }


def test_it_predicts_one_frame_per_query_time_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    model = ConvLSTMBaseline(image_size=16, num_context=3, filters=(4, 4), patch=4)
    inputs = _inputs()
    predicted = model(inputs).numpy()
    assert predicted.shape == (2, 4, 16, 16, 1)
    assert predicted.min() >= 0 and predicted.max() <= 1
    # Free running: the first frames do not depend on how many follow.
    shorter = model(dict(inputs, query_times=inputs["query_times"][:, :2])).numpy()
    np.testing.assert_allclose(shorter, predicted[:, :2], atol=1e-6)
    run_model_saving_test(model, inputs, str(tmp_path / "convlstm.keras"), atol=1e-6)


def test_it_trains_with_fit():
    keras.utils.set_random_seed(0)
    model = ConvLSTMBaseline(image_size=16, num_context=3, filters=(8,), patch=4)
    model.compile(keras.optimizers.Adam(1e-2), FrameLoss())
    inputs = _inputs(batch=4)
    targets = np.zeros((4, 4, 16, 16, 1), "float32")
    targets[:, :, 4:8, 4:8] = 1.0  # A fixed square to learn.
    history = model.fit(inputs, targets, epochs=60, batch_size=4, verbose=0)
    black_frame_mse = float(np.mean(targets**2))
    assert history.history["loss"][-1] < 0.25 * black_frame_mse, history.history["loss"][-5:]


def test_bad_inputs_are_named():
    model = ConvLSTMBaseline(image_size=16, num_context=3, filters=(4,), patch=4)
    with pytest.raises(ValueError, match="frames"):
        model(dict(_inputs(), frames=np.zeros((2, 2, 16, 16, 1), "float32")))
    with pytest.raises(ValueError, match="patch"):
        ConvLSTMBaseline(image_size=18, patch=4)


def test_scheduled_sampling_feeds_true_frames_only_in_training():
    keras.utils.set_random_seed(0)
    model = ConvLSTMBaseline(image_size=16, num_context=3, filters=(4,), patch=4)
    inputs = _inputs()
    rng = np.random.default_rng(1)
    teacher = [rng.uniform(size=(2, 4, 16, 16, 1)).astype("float32") for _ in range(2)]
    free = model(inputs, training=True).numpy()

    def run(frames, probability):
        model.teacher_forcing.assign(probability)
        return model(dict(inputs, teacher_frames=frames), training=True).numpy()

    # Probability 0: the true frames are never fed.
    np.testing.assert_allclose(run(teacher[0], 0.0), free, atol=1e-6)
    # Probability 1: every step after the first reads the true previous frame.
    forced = run(teacher[0], 1.0)
    np.testing.assert_allclose(forced[:, 0], free[:, 0], atol=1e-6)
    assert np.abs(forced[:, 1:] - free[:, 1:]).max() > 1e-4
    assert np.abs(run(teacher[1], 1.0)[:, 1:] - forced[:, 1:]).max() > 1e-4
    # At test time the key is ignored, whatever the probability.
    np.testing.assert_allclose(
        model(dict(inputs, teacher_frames=teacher[0]), training=False).numpy(), free,
        atol=1e-6)


def test_teacher_forcing_schedule_falls_to_zero_at_its_stop():
    model = ConvLSTMBaseline(image_size=16, num_context=3, filters=(4,), patch=4)
    progress = iter([0.0, 0.25, 0.5, 0.9])
    schedule = TeacherForcingSchedule(lambda: next(progress), stop=0.5)
    schedule.set_model(model)
    seen = []
    for step in range(4):
        schedule.on_train_batch_begin(step)
        seen.append(float(model.teacher_forcing.numpy()))
    assert seen == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ValueError, match="stop"):
        TeacherForcingSchedule(lambda: 0.0, stop=0.0)
