"""What every benchmark records beside its figures, and how it saves them."""

import json
import os
import platform

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
