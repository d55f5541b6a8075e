import os
import numpy as np
import pytest

from tfodevideo.data import load_mnist
from tfodevideo.data import load_moving_mnist_test


def test_mnist_splits(data_dir, mnist_train):
    assert mnist_train.shape == (50000, 28, 28) and mnist_train.dtype == np.uint8
    validation = load_mnist("validation")
    assert validation.shape == (10000, 28, 28)
    assert load_mnist("test").shape == (10000, 28, 28)
    # Validation is the tail of MNIST's training images, which training never sees.
    with np.load(os.path.join(data_dir, "mnist.npz")) as archive:
        np.testing.assert_array_equal(archive["x_train"][50000:], validation)
        np.testing.assert_array_equal(archive["x_train"][:50000], mnist_train)


def test_standard_test_set_is_batch_first(standard_test):
    assert standard_test.shape == (999, 20, 64, 64, 1)
    assert standard_test.dtype == np.uint8
    head = load_moving_mnist_test(num_sequences=3)
    np.testing.assert_array_equal(head, standard_test[:3])


def test_toronto_npy_layout_is_transposed(tmp_path, rng):
    frames = rng.integers(0, 256, (20, 5, 64, 64), dtype=np.uint8)
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, frames)
    loaded = load_moving_mnist_test(str(path))
    assert loaded.shape == (5, 20, 64, 64, 1)
    np.testing.assert_array_equal(loaded[3, 7, ..., 0], frames[7, 3])
    # The full file is preferred over the 999-sequence one in the same folder.
    assert load_moving_mnist_test(data_dir=str(tmp_path)).shape[0] == 5


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((20, 2, 64, 64), np.float32), "uint8"),
        (np.zeros((20, 64, 64), np.uint8), "shape"),
    ],
)
def test_malformed_test_files_are_refused(tmp_path, array, match):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(ValueError, match=match):
        load_moving_mnist_test(str(path))


def test_missing_files_and_keys(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_moving_mnist_test(str(tmp_path / "absent.npy"))
    with pytest.raises(FileNotFoundError, match="mnist_test_seq.npy"):
        load_moving_mnist_test(data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        load_mnist("train", data_dir=str(tmp_path))
    np.savez(tmp_path / "frames.npz", video=np.zeros((20, 1, 64, 64), np.uint8))
    with pytest.raises(ValueError, match="'data'"):
        load_moving_mnist_test(str(tmp_path / "frames.npz"))
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="x_test"):
        load_mnist("test", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="split"):
        load_mnist("val")
    with pytest.raises(ValueError, match="num_sequences"):
        load_moving_mnist_test(num_sequences=0)


def test_data_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TFODEVIDEO_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="TFODEVIDEO_DATA_DIR"):
        load_mnist()
