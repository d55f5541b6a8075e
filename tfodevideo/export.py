"""SavedModel export for TF Serving, and its verification without a server.

`export_model` writes `<base_dir>/<name>/<version>/`, the layout TF Serving's
`--model_base_path=<base_dir>/<name>` watches, with two signatures:

- `serving_default(frames, input_times, query_times)` -> `frames`, `latents`
- `swap_appearance(frames, input_times, appearance_frames,
  appearance_input_times, query_times)` -> `frames`

`frames` are `(B, num_context, H, W, C)` float32 in `[0, 1]`, `input_times`
`(B, num_context)` and `query_times` `(T,)`, shared by the batch, any `T`.
The version is written to a hidden folder first and renamed into place when
complete, so a failed export never leaves a half-written version for the
server to load, and never touches the versions already there.

`verify_export` checks a version the way a server would meet it:
TensorFlow's `saved_model_cli show` and `run`, then a fresh Python process
that imports only TensorFlow, whose outputs must match the Keras model's.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfodevideo._checks import check_int
from tfodevideo.models.ode_video import ODEVideoModel

SIGNATURES = ("serving_default", "swap_appearance")

# Run in a fresh interpreter by `verify_export`: TensorFlow only, so the
# SavedModel is shown to need nothing of ours.
_RELOAD_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
assert "tfodevideo" not in sys.modules
inputs = dict(np.load(sys.argv[2]))
loaded = tf.saved_model.load(sys.argv[1])
serve = loaded.signatures["serving_default"]
outputs = serve(**{k: tf.constant(v) for k, v in inputs.items()})
np.savez(sys.argv[3], **{k: v.numpy() for k, v in outputs.items()})
"""


def _specs(model, prefix=""):
    context, (height, width), channels = model.num_context, model.image_size, model.channels
    return [
        tf.TensorSpec([None, context, height, width, channels], tf.float32, prefix + "frames"),
        tf.TensorSpec([None, context], tf.float32, prefix + "input_times"),
    ]


def _padded_shape(tensor, rank):
    """`tf.shape(tensor)` cut or zero-padded to `rank` entries: safe to index
    whatever the request's rank (no branch: conds run captured slices)."""
    return tf.concat([tf.shape(tensor), tf.zeros([rank], tf.int32)], 0)[:rank]


def _has_shape(tensor, expected):
    """A scalar bool: `tensor` has `len(expected)` axes, each as given (None: any).

    Where the signature fixes the rank, `tf.rank` is folded to that constant
    when traced, so a request of another rank is also caught by its element
    count: the product of the first `len(expected)` sizes must be all of it.
    """
    shape = _padded_shape(tensor, len(expected))
    checks = [tf.equal(tf.rank(tensor), len(expected)),
              tf.equal(tf.reduce_prod(shape), tf.size(tensor))]
    checks += [tf.equal(shape[i], size) for i, size in enumerate(expected) if size]
    return tf.reduce_all(tf.stack(checks))


def _check_request(model, frames, input_times, query_times, prefix=""):
    """Graph assertions on shapes: a bad request gets our message.

    A server does not hold a request to the signature's shapes, and the
    model's own checks ran on the traced (correct) shapes only. Returns the
    tensors made to wait for the check: otherwise another op may meet the
    bad shape first and fail with TensorFlow's own message.
    """
    context, (height, width), channels = model.num_context, model.image_size, model.channels
    valid = tf.reduce_all(tf.stack([
        _has_shape(frames, (None, context, height, width, channels)),
        _has_shape(input_times, (None, context)),
        _has_shape(query_times, (None,)),
    ]))
    same_batch = tf.equal(_padded_shape(frames, 1)[0], _padded_shape(input_times, 1)[0])
    valid = tf.logical_and(valid, same_batch)
    check = tf.debugging.Assert(valid, [
        f"`{prefix}frames` must be (batch, {context}, {height}, {width}, {channels}), "
        f"`{prefix}input_times` (batch, {context}) and `query_times` (T,). Received "
        "shapes:", tf.shape(frames), tf.shape(input_times), tf.shape(query_times),
    ])
    with tf.control_dependencies([check]):
        # The query times' rank is left open in the signature (so that the
        # check above sees it); from here on it is known to be 1.
        query_times = tf.ensure_shape(tf.identity(query_times), [None])
        return tf.identity(frames), tf.identity(input_times), query_times


def _serving_functions(model):
    """The two endpoint functions and their input signatures."""
    # Any rank, checked in the graph: a fixed rank would be assumed, not checked.
    query = tf.TensorSpec(None, tf.float32, "query_times")

    def serve(frames, input_times, query_times):
        frames, input_times, query_times = _check_request(
            model, frames, input_times, query_times
        )
        inputs = {"frames": frames, "input_times": input_times, "query_times": query_times}
        return model.forward(inputs, training=False, return_latents=True)

    def swap(frames, input_times, appearance_frames, appearance_input_times, query_times):
        frames, input_times, query_times = _check_request(
            model, frames, input_times, query_times
        )
        appearance_frames, appearance_input_times, query_times = _check_request(
            model, appearance_frames, appearance_input_times, query_times, "appearance_"
        )
        predicted = model.swap_appearance(
            {"frames": frames, "input_times": input_times, "query_times": query_times},
            {"frames": appearance_frames, "input_times": appearance_input_times},
        )
        return {"frames": predicted}

    endpoints = {"serving_default": (serve, [*_specs(model), query])}
    if getattr(model, "appearance_dim", 0):
        endpoints["swap_appearance"] = (
            swap, [*_specs(model), *_specs(model, "appearance_"), query]
        )
    return endpoints


def next_version(model_dir):
    """The next free version number under `model_dir` (1 for a new model)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
    return max(versions, default=0) + 1


def export_model(model, name, base_dir="saved_models", version=None, verify=False):
    """Writes a TF Serving SavedModel of a `VideoODE` or `LatentODE`.

    Args:
        model: the Keras model (built).
        name: the served model's name: a folder under `base_dir`.
        base_dir: folder holding one subfolder per served model.
        version: positive integer; by default the next free one. An
            existing version is never overwritten.
        verify: run `verify_export` before the version is put in place; a
            failed check leaves no new version behind.

    Returns:
        A dict with the version folder `path`, the `version` number and the
        `verification` report (None without `verify`).
    """
    if not isinstance(model, ODEVideoModel):
        raise ValueError(
            "`model` must be a tfodevideo VideoODE or LatentODE. Received: "
            f"{type(model).__name__}"
        )
    if not name or os.sep in name or name.startswith("."):
        raise ValueError(f"`name` must be a plain folder name. Received: {name!r}")
    model_dir = os.path.join(base_dir, name)
    if version is None:
        version = next_version(model_dir)
    version = check_int("version", version, minimum=1)
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target):
        raise ValueError(
            f"Version {version} of {name!r} already exists ({target}); versions are "
            f"never overwritten. Received: version={version}"
        )
    os.makedirs(model_dir, exist_ok=True)
    archive = keras.export.ExportArchive()
    # No `archive.track(model)`: the endpoints track the variables they use,
    # and tracking the model would also trace Keras' default signature,
    # which cannot know our dict of inputs.
    for endpoint, (fn, signature) in _serving_functions(model).items():
        archive.add_endpoint(endpoint, fn, input_signature=signature)
    # TF Serving only loads numeric folders: the hidden one is invisible to it
    # until the rename, which is atomic on one file system.
    staging = tempfile.mkdtemp(prefix=f".{version}-", dir=model_dir)
    try:
        archive.write_out(staging, verbose=False)
        _make_readable(staging)
        report = verify_export(staging, model) if verify else None
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if report:
        report["path"] = target
    return {"path": target, "version": version, "verification": report}


def _make_readable(folder):
    """Opens a written version to every user (0755 folders, 0644 files): the
    staging folder is made 0700, and a TF Serving process usually runs as
    another user than the one exporting."""
    os.chmod(folder, 0o755)
    for root, folders, files in os.walk(folder):
        for name in folders:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def example_request(model, num_queries=5, batch=1, seed=0):
    """A valid `serving_default` request as numpy arrays (random frames)."""
    rng = np.random.default_rng(seed)
    request = {k: v.numpy() for k, v in model.example_inputs(batch, num_queries).items()}
    request["frames"] = rng.uniform(size=request["frames"].shape).astype(np.float32)
    return request


def _saved_model_cli(*args):
    command = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(
            f"saved_model_cli {args[0]} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return result.stdout


def verify_export(path, model, num_queries=7, atol=1e-5):
    """Checks an exported version without a server; raises if anything fails.

    1. `saved_model_cli show --all` lists every signature.
    2. `saved_model_cli run` answers a request read from `.npy` files.
    3. A fresh process importing only TensorFlow loads the SavedModel and
       answers `num_queries` query times (a count no export-time trace saw);
       its frames must equal the Keras model's within `atol`.

    Returns:
        A dict of what was checked: the signatures and the largest difference.
    """
    shown = _saved_model_cli("show", "--dir", path, "--all")
    expected = [s for s in SIGNATURES if s == "serving_default" or model.appearance_dim]
    missing = [s for s in expected if f"signature_def['{s}']" not in shown]
    if missing:
        raise RuntimeError(f"saved_model_cli does not list the signatures {missing} in {path}")
    request = example_request(model, num_queries)
    with tempfile.TemporaryDirectory() as scratch:
        files = []
        for key, value in request.items():
            np.save(os.path.join(scratch, f"{key}.npy"), value)
            files.append(f"{key}={os.path.join(scratch, key + '.npy')}")
        _saved_model_cli(
            "run", "--dir", path, "--tag_set", "serve", "--signature_def",
            "serving_default", "--inputs", ";".join(files), "--outdir",
            os.path.join(scratch, "out"),
        )
        if not os.path.exists(os.path.join(scratch, "out", "frames.npy")):
            raise RuntimeError("saved_model_cli run wrote no `frames` output")
        np.savez(os.path.join(scratch, "request.npz"), **request)
        answer = os.path.join(scratch, "answer.npz")
        result = subprocess.run(
            [sys.executable, "-c", _RELOAD_SCRIPT, path,
             os.path.join(scratch, "request.npz"), answer],
            capture_output=True, text=True,
        )
        if result.returncode:
            raise RuntimeError(f"Reloading in a fresh process failed: {result.stderr[-2000:]}")
        served = dict(np.load(answer))
    expected_frames = model(request, training=False).numpy()
    difference = float(np.max(np.abs(served["frames"] - expected_frames)))
    if served["frames"].shape != expected_frames.shape or difference > atol:
        raise RuntimeError(
            f"The served frames differ from the Keras model's: shapes "
            f"{served['frames'].shape} vs {expected_frames.shape}, max difference "
            f"{difference:.3g} (allowed {atol})"
        )
    return {
        "path": path,
        "signatures": expected,
        "outputs": sorted(served),
        "num_queries": num_queries,
        "max_abs_difference": difference,
    }

