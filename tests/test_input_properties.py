"""Property tests: whatever arrays, dtypes, shapes, times or file bytes a user
hands us, the outcome is a valid result or our `ValueError`, never another
exception type."""

import os
import tempfile

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tfodevideo.clip_io import read_clip
from tfodevideo.models import VideoODE

DTYPES = [np.uint8, np.uint16, np.int64, np.float32, np.float64, np.bool_, np.complex64]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def arrays(max_rank=5, max_side=5):
    return st.sampled_from(DTYPES).flatmap(
        lambda dtype: hnp.arrays(
            dtype, hnp.array_shapes(min_dims=0, max_dims=max_rank, min_side=0,
                                    max_side=max_side),
            elements=None if dtype in (np.bool_, np.complex64) else
            hnp.from_dtype(np.dtype(dtype), allow_nan=True, allow_infinity=True),
        )
    )


@SETTINGS
@given(array=arrays(), channels=st.sampled_from([1, 3]))
def test_any_array_file_reads_as_a_clip_or_is_refused(array, channels):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "clip.npy")
        np.save(path, array)
        try:
            clip = read_clip(path, channels)
        except ValueError:
            event("refused")
            return
    event("read")
    assert clip.dtype == np.float32 and clip.ndim == 4 and clip.shape[-1] == channels
    assert len(clip) >= 1 and np.all((clip >= 0) & (clip <= 1))


@SETTINGS
@given(data=st.binary(max_size=400),
       suffix=st.sampled_from([".npy", ".npz", ".gif", ".mp4", ".png", ".txt"]))
def test_any_file_bytes_read_as_a_clip_or_are_refused(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        if suffix == ".png":  # PNGs are read from a folder.
            path = folder
            name = os.path.join(folder, "frame.png")
        else:
            path = name = os.path.join(folder, "clip" + suffix)
        with open(name, "wb") as handle:
            handle.write(data)
        try:
            clip = read_clip(path)
        except ValueError:
            return
    assert clip.ndim == 4 and clip.dtype == np.float32


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return VideoODE(image_size=(8, 8), num_context=2, dynamics_dim=2, appearance_dim=2,
                    encoder_channels=(4,), field_units=4, field_depth=1)


@st.composite
def requests(draw):
    """Mostly well-formed requests with some part bent: any batch (0 too),
    dtype, pixel values, input times (equal, decreasing, NaN) and query times
    (any rank, length 0, repeated, unsorted, infinite)."""
    batch = draw(st.sampled_from([1, 1, 2, 0]))
    times = st.floats(-3, 3, width=32) | st.sampled_from([np.nan, np.inf, 0.0, 0.1])
    frames_dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64, np.int64]))
    frames = draw(hnp.arrays(frames_dtype, (batch, 2, 8, 8, 1),
                             elements=hnp.from_dtype(np.dtype(frames_dtype), min_value=0,
                                                     max_value=draw(st.sampled_from([1, 1, 1, 2])))))
    # One part bent at a time, mostly: valid times are drawn three times in four.
    valid_inputs = st.just(np.tile(np.float32([0.0, 0.1]), (batch, 1)))
    input_times = draw(st.one_of(valid_inputs, valid_inputs, valid_inputs,
                                 hnp.arrays(np.float32, (batch, 2), elements=times)))
    query_shape = draw(st.sampled_from([(), (0,), (3,), (batch, 3), (batch + 1, 2), (1, 1, 2)]))
    valid_query = st.just(np.float32([0.2, 0.5, 1.0]))
    query_times = draw(st.one_of(valid_query, valid_query, valid_query,
                                 hnp.arrays(np.float32, query_shape, elements=times)))
    return {"frames": frames, "input_times": input_times, "query_times": query_times}


@SETTINGS
@given(inputs=requests() | requests() | requests() | st.fixed_dictionaries({
    "frames": arrays(max_rank=6, max_side=3), "input_times": arrays(3, 3),
    "query_times": arrays(3, 3)}))
def test_any_request_is_answered_or_refused_in_our_words(model, inputs):
    try:
        predicted = model(inputs, training=False)
    except ValueError:
        event("refused")
        return
    event("answered")
    assert predicted.shape[0] == inputs["frames"].shape[0]
    assert np.all(np.isfinite(predicted.numpy()))
