"""What every benchmark records beside its figures, and how it saves them."""

import json
import os
import platform
import time

import numpy as np
import tensorflow as tf


def machine():
    """The facts that make a figure comparable: cores, processor, versions."""
    return {
        "cpu_cores": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "tensorflow": tf.__version__,
    }


def save(result, path):
    """Writes `result` as JSON to `path` when a path is given."""
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)


def median_seconds(fn, repeats, warmup=1):
    """Median wall time of `fn()` over `repeats` runs after `warmup` runs
    (the first of which traces any `tf.function`)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
