"""Reading the data files the project uses: MNIST and the Moving MNIST test set.

Files are looked up in `data_dir` when given, else in the folder named by the
`TFODEVIDEO_DATA_DIR` environment variable. Without either, MNIST comes from
`keras.datasets.mnist.load_data()` (downloaded once to `~/.keras/datasets`).
The Moving MNIST test set is the Toronto file `mnist_test_seq.npy`
(https://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy),
or an `.npz` holding it as `data`.
"""

import os

import numpy as np

DATA_DIR_ENV = "TFODEVIDEO_DATA_DIR"
MNIST_FILE = "mnist.npz"
# In order of preference: the full standard file, then its first 999 sequences.
MOVING_MNIST_TEST_FILES = ("mnist_test_seq.npy", "moving_mnist_test_first1000.npz")
# Each split's digits: (array in mnist.npz, first index, end index or None).
# Validation digits are the last 10,000 of MNIST's training set, which the
# training split therefore never draws; test digits are MNIST's test set, as
# in the standard Moving MNIST test file.
MNIST_SPLITS = {
    "train": ("x_train", 0, 50000),
    "validation": ("x_train", 50000, None),
    "test": ("x_test", 0, None),
}
# Where each split's first digit sits in MNIST's train then test images, so
# that digit indices of all splits can be compared (see `mnist_offset`).
MNIST_TRAIN_SIZE = 60000


# Said by every error about a missing data file.
WHERE_TO_GET = (
    f"Set ${DATA_DIR_ENV} or pass --data-dir (Python: `data_dir`) to a folder "
    f"holding {MNIST_FILE} (Keras' file, https://storage.googleapis.com/tensorflow/"
    "tf-keras-datasets/mnist.npz) and, for the standard test set, "
    "mnist_test_seq.npy (http://www.cs.toronto.edu/~nitish/unsupervised_video/)."
)


def resolve_data_dir(data_dir=None):
    """Returns the data folder: `data_dir`, else `$TFODEVIDEO_DATA_DIR`, else None."""
    folder = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if folder is not None and not os.path.isdir(folder):
        raise FileNotFoundError(
            f"The data folder does not exist. Received: data_dir={folder!r}"
            + (f" (from ${DATA_DIR_ENV})" if data_dir is None else "")
        )
    return folder


def mnist_offset(split):
    """Index of a split's first digit in MNIST's train images followed by its
    test images: the splits' digit indices plus their offsets never meet."""
    key, first, _ = MNIST_SPLITS[split]
    return first + (MNIST_TRAIN_SIZE if key == "x_test" else 0)


def load_mnist(split="train", data_dir=None, labels=False):
    """Loads MNIST digit images of one split (and their classes).

    Args:
        split: `"train"` (the first 50,000 training digits), `"validation"`
            (the last 10,000 training digits) or `"test"` (MNIST's test
            digits, which the standard Moving MNIST test set is made of).
            Train on `"train"`, choose on `"validation"`, report on `"test"`.
        data_dir: folder holding `mnist.npz` in Keras' layout. See the module
            docstring for where it is looked up otherwise.
        labels: also return the digits' classes.

    Returns:
        uint8 array `(N, 28, 28)`; with `labels`, also the classes `(N,)`.
    """
    if split not in MNIST_SPLITS:
        raise ValueError(
            f"Unknown `split`: {split!r}. Expected one of {sorted(MNIST_SPLITS)}."
        )
    key, first, end = MNIST_SPLITS[split]
    folder = resolve_data_dir(data_dir)
    if folder is None:
        import keras  # Deferred: only this fallback needs Keras.

        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as error:
            raise FileNotFoundError(
                f"MNIST could not be downloaded ({error}). {WHERE_TO_GET}"
            ) from None
        images, classes = (x_train, y_train) if key == "x_train" else (x_test, y_test)
    else:
        path = os.path.join(folder, MNIST_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No {MNIST_FILE} in the data folder: {path!r}. {WHERE_TO_GET}")
        with np.load(path) as archive:
            if key not in archive:
                raise ValueError(
                    f"{path!r} is not MNIST in Keras' layout: it has no "
                    f"{key!r}. Received keys: {sorted(archive)}"
                )
            images = archive[key]
            classes = archive["y" + key[1:]] if labels else None
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            "MNIST images must be uint8 of shape (N, height, width). Received: "
            f"shape={images.shape}, dtype={images.dtype}"
        )
    if labels:
        return images[first:end], np.asarray(classes)[first:end]
    return images[first:end]


def load_moving_mnist_test(path=None, data_dir=None, num_sequences=None):
    """Loads the standard Moving MNIST test set, batch-first.

    Args:
        path: a `.npy` file in the Toronto layout `(20, N, 64, 64)` uint8
            (time-major), or an `.npz` holding that array as `data`. When None,
            the files of `MOVING_MNIST_TEST_FILES` are looked up in the data
            folder, in that order.
        data_dir: the data folder, see `resolve_data_dir()`.
        num_sequences: keep only the first sequences (the `.npy` is read
            through a memory map, so the 819 MB file is not read whole).

    Returns:
        uint8 array `(N, 20, 64, 64, 1)`: sequences first, then time.
    """
    if path is None:
        folder = resolve_data_dir(data_dir)
        candidates = [
            os.path.join(folder, name) for name in MOVING_MNIST_TEST_FILES
        ] if folder else []
        found = [name for name in candidates if os.path.isfile(name)]
        if not found:
            raise FileNotFoundError(
                f"No Moving MNIST test file ({' or '.join(MOVING_MNIST_TEST_FILES)}) "
                f"in the data folder {folder!r}. {WHERE_TO_GET}"
            )
        path = found[0]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The Moving MNIST test file does not exist: {path!r}")
    if path.endswith(".npz"):
        with np.load(path) as archive:
            if "data" not in archive:
                raise ValueError(
                    f"{path!r} must hold the frames as 'data'. Received keys: "
                    f"{sorted(archive)}"
                )
            frames = archive["data"]
    else:
        frames = np.load(path, mmap_mode="r")
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise ValueError(
            f"{path!r} must hold uint8 frames of shape (time, sequences, height, "
            f"width). Received: shape={frames.shape}, dtype={frames.dtype}"
        )
    if num_sequences is not None:
        if num_sequences < 1:
            raise ValueError(
                f"`num_sequences` must be at least 1. Received: {num_sequences!r}"
            )
        frames = frames[:, :num_sequences]
    return np.ascontiguousarray(np.transpose(frames, (1, 0, 2, 3)))[..., None]
