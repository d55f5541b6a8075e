"""Constants shared by the library and the command line (no TensorFlow here)."""

# Time between consecutive frames of every built-in data set, and the
# spacing assumed for a clip given without times.
FRAME_DT = 0.1

# Keras dtype policies of `--precision` (see `tfodevideo.precision`).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
