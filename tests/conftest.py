"""Shared fixtures: the data folder, seeded sources with tiny shapes, and one
seed for every test."""

import os

import keras
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# CI places the project's data folder (MNIST, the Moving MNIST test set) beside
# the checkout; an explicit $TFODEVIDEO_DATA_DIR takes precedence.
os.environ.setdefault(
    "TFODEVIDEO_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared", "data")
)

import gc  # noqa: E402

import tensorflow_probability  # noqa: E402, F401  (frozen below with the rest)

from tfodevideo import data  # noqa: E402  (needs the environment above)
from tfodevideo import models  # noqa: E402, F401
from tfodevideo import training  # noqa: E402, F401
from tfodevideo._gradients import released_gradients  # noqa: E402

# TensorFlow, Keras and TFP leave about 460,000 Python objects alive once
# imported, and every full garbage collection walks them all: Keras'
# `clear_session` after each test collects (a test's teardown took 0.8 s
# for that alone on 2 cores; 0.05-0.2 s frozen), and tracing a model sets
# off more. Frozen, they are skipped; what a test makes is still collected.
gc.collect()
gc.freeze()


@pytest.fixture(scope="session")
def data_dir():
    folder = os.environ["TFODEVIDEO_DATA_DIR"]
    if not os.path.isfile(os.path.join(folder, "mnist.npz")):
        pytest.fail(f"The test data folder has no mnist.npz: {folder}")
    return folder


@pytest.fixture(scope="session")
def mnist_train(data_dir):
    return data.load_mnist("train")


@pytest.fixture(scope="session")
def standard_test(data_dir):
    return data.load_moving_mnist_test()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same Python, NumPy and TensorFlow seeds, so
    its random weights do not depend on which tests ran before it."""
    keras.utils.set_random_seed(0)


@pytest.fixture(autouse=True)
def released():
    """What a test traced goes with it: the solver's and Keras's custom
    gradients (`tfodevideo._gradients`) and Keras's session. A test worker
    traces hundreds of models; without this one grew past 12 GiB and the
    kernel killed it on a 24 GiB machine."""
    with released_gradients():
        yield
    keras.backend.clear_session()  # Also collects garbage.
