"""Mixed precision and cheaper decoders, side by side in one process.

For each preset and each variant (a precision and a decoder option):

- training sequences/s of `train_on_batch` on a batch in memory, and
  predicted frames/s at batch 8 (both medians of repeated runs);
- the decoder's FLOPs per frame (TensorFlow's profiler) and parameters;
- for every variant, where a training step's work happens: the matrix
  products and convolutions of the forward and gradient graphs counted by
  the dtype they compute in, and the casts between dtypes;
- and where its time goes: TensorFlow's profiler over a few training steps,
  every op's time summed by kind (products, casts, batch norm, upsampling,
  the ODE solver, the optimizer, the rest) and by op type.

Beside them, this machine's float32 and bfloat16 matmul rates, measured in
the same run, and which vector extensions its CPU reports: bfloat16 is only
fast where the cores have AVX512_BF16 (or AMX); elsewhere oneDNN converts
to float32 around every product.

With `--quality-steps N`, every variant of the first preset is also trained
N steps by `tfodevideo.training.train` (the same seed and clips) and scored
on the `validation` split after the last step.

    python -m benchmarks.precision --json benchmarks/results/precision/precision.json
    python -m benchmarks.precision --quality-steps 1500 --json ...
    python -m benchmarks.precision --small     # tiny models, a quick check (tests)
"""

import argparse
import collections
import glob
import os
import re
import sys
import tempfile

import keras
import tensorflow as tf

from benchmarks import common
from benchmarks.speed import SMALL
from benchmarks.speed import _batch
from benchmarks.speed import graph_flops
from tfodevideo.layers.conv_blocks import BATCH_NORMS
from tfodevideo.layers.conv_blocks import batch_norm_kind
from tfodevideo.losses import FrameLoss
from tfodevideo.precision import PRECISIONS
from tfodevideo.precision import optimizer_for
from tfodevideo.training.presets import resolve
from tfodevideo.training.trainer import build_model
from tfodevideo.training.trainer import train

PRESETS = ("mmnist2_10to10_cpu", "mmnist1_2to18_cpu", "ball_latent_ode")
# Decoder options of `ConvDecoder` compared with its default.
DECODERS = {
    "default": {},
    "subpixel2": {"subpixel": 2},
    "subpixel4_shallow": {"subpixel": 4, "convs_per_stage": 1},
}
# Products whose dtype decides the speed, in the forward and gradient graphs.
PRODUCTS = ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv2DBackpropInput",
            "Conv2DBackpropFilter", "_FusedConv2D", "_FusedMatMul", "Einsum")


def matmul_rate(dtype, size=2048, repeats=10):
    """FLOP/s of a `size x size` matmul in `dtype` on this machine."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))
    return 2.0 * size**3 / common.median_seconds(lambda: product().numpy(), repeats, warmup=2)


def variant_overrides(precision, decoder, small=False):
    """Preset overrides of a variant: `precision` and the decoder option."""
    overrides = {**(SMALL if small else {}), "precision": precision}
    if DECODERS[decoder]:
        overrides["model.decoder_options"] = DECODERS[decoder]
    return overrides


def step_profile(model, loss, inputs, targets):
    """Products by the dtype they compute in, casts, and fused batch norm
    ops (forward and gradient) of one training step.

    Counts nodes of the step's graph and of every function it calls (the
    ODE solver's loops and adjoint live in such functions); a node inside a
    loop is counted once, however often it runs.
    """
    variables = model.trainable_variables

    def step(x, y):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        return tape.gradient(value, variables)

    specs = ({k: tf.TensorSpec(v.shape, v.dtype) for k, v in inputs.items()},
             tf.TensorSpec(targets.shape, targets.dtype))
    definition = tf.function(step).get_concrete_function(*specs).graph.as_graph_def()
    nodes = list(definition.node)
    for function in definition.library.function:
        nodes += list(function.node_def)
    products, casts = collections.Counter(), collections.Counter()
    fused_norms = 0
    for node in nodes:
        fused_norms += node.op.startswith(("FusedBatchNorm", "_MklFusedBatchNorm"))
        if node.op in PRODUCTS and "T" in node.attr:
            products[f"{node.op}:{tf.dtypes.as_dtype(node.attr['T'].type).name}"] += 1
        elif node.op == "Cast":
            source = tf.dtypes.as_dtype(node.attr["SrcT"].type).name
            target = tf.dtypes.as_dtype(node.attr["DstT"].type).name
            casts[f"{source}->{target}"] += 1
    return {"products": dict(sorted(products.items())), "casts": dict(sorted(casts.items())),
            "fused_batch_norm_ops": fused_norms}


# Kinds of op time in a training step, the first that matches wins: a
# product is a product wherever it is; a cast is a cast.
TIME_KINDS = (
    ("products", lambda op, node: re.search("Conv|MatMul|Einsum", op) is not None),
    ("casts", lambda op, node: op == "Cast"),
    ("batch norm", lambda op, node: "batch_normalization" in node),
    ("upsampling", lambda op, node: "up_sampling" in node),
    ("ODE solver", lambda op, node: "dormand_prince" in node),
    ("optimizer", lambda op, node: node.startswith(("adam", "AddN")) or "/adam/" in node
     or op.startswith(("Assign", "ResourceApply"))),
    ("other", lambda op, node: True),
)
# Ops whose events span the ops they run (loops, calls): their own time
# would count their body twice.
_CONTAINERS = ("While", "StatelessWhile", "PartitionedCall", "StatefulPartitionedCall",
               "If", "StatelessIf", "Case", "StatelessCase")


def op_seconds(xplane_path):
    """Seconds of every `(node, op type)` in a profiler trace.

    Reads the host plane of TensorFlow's `.xplane.pb`: each executed op is
    an event named `node:OpType` on a compute thread (the executor's own
    `ExecutorState::Process` spans and the Python thread's are left out).
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as f:
        space.ParseFromString(f.read())
    seconds = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if line.name.startswith("python"):
                continue
            for event in line.events:
                match = re.match(r"^([^:]+):(\w+)$", plane.event_metadata[event.metadata_id].name)
                if match and match.group(2) not in _CONTAINERS:
                    seconds[match.group(1), match.group(2)] += event.duration_ps * 1e-12
    return seconds


def time_profile(model, inputs, targets, steps=2, top=12):
    """Where the time of `steps` compiled training steps goes, by kind
    (`TIME_KINDS`) and by op type: seconds per step and shares of all op
    time. Profiles after one warm-up step, so tracing is not counted."""
    model.train_on_batch(inputs, targets)
    with tempfile.TemporaryDirectory() as folder:
        tf.profiler.experimental.start(folder)
        try:
            for _ in range(steps):
                model.train_on_batch(inputs, targets)
        finally:
            tf.profiler.experimental.stop()
        seconds = op_seconds(glob.glob(os.path.join(folder, "**", "*.xplane.pb"),
                                       recursive=True)[0])
    kinds, types = collections.Counter(), collections.Counter()
    for (node, op), value in seconds.items():
        kinds[next(kind for kind, test in TIME_KINDS if test(op, node))] += value
        types[op] += value
    total = sum(seconds.values())
    return {
        "steps": steps,
        "op_seconds_per_step": total / steps,
        "kinds": {kind: {"seconds_per_step": kinds[kind] / steps,
                         "share": kinds[kind] / total if total else 0.0}
                  for kind, _ in TIME_KINDS},
        "top_op_types": {op: {"seconds_per_step": value / steps, "share": value / total}
                         for op, value in types.most_common(top)},
    }


def bench_variant(name, precision, decoder, small, batch_norm="fused"):
    """Speed, decoder cost and step profile of one variant."""
    preset = resolve(name, quick=small, overrides=variant_overrides(precision, decoder, small))
    keras.utils.set_random_seed(0)
    with batch_norm_kind(batch_norm):
        model = build_model(preset)
    loss = FrameLoss(**preset.loss)
    model.compile(optimizer_for(keras.optimizers.Adam(1e-3), precision), loss)
    repeats = 2 if small else 5
    inputs, targets = _batch(preset, preset.batch_size)
    train_seconds = common.median_seconds(lambda: model.train_on_batch(inputs, targets), repeats)
    batch = 2 if small else 8
    one, _ = _batch(preset, batch)
    predict = tf.function(lambda x: model(x, training=False))
    frames = batch * one["query_times"].shape[-1]
    predict_seconds = common.median_seconds(lambda: predict(one).numpy(), repeats)
    state, appearance = model.encode(one["frames"], one["input_times"], training=False)
    positions = model.integrate(state, one["query_times"], model.anchor_times(one["input_times"]))
    decoder_flops = graph_flops(
        lambda p, a: model.decode(p, a, training=False),
        tf.TensorSpec(positions.shape, positions.dtype),
        tf.TensorSpec(appearance.shape, appearance.dtype))
    return {
        "preset": name,
        "precision": precision,
        "decoder": decoder,
        "decoder_options": DECODERS[decoder],
        "batch_norm": batch_norm,
        "params": int(model.count_params()),
        "decoder_params": int(model.decoder.count_params()),
        "train_sequences_per_s": preset.batch_size / train_seconds,
        "predict_batch": batch,
        "predict_frames_per_s": frames / predict_seconds,
        "decoder_flops_per_frame": decoder_flops / frames,
        "step_profile": step_profile(model, loss, inputs, targets),
        "time_profile": time_profile(model, inputs, targets, steps=1 if small else 3),
    }


def quality(name, precision, decoder, steps, seed, small):
    """Validation scores of the variant trained `steps` steps by `train`."""
    overrides = variant_overrides(precision, decoder, small)
    epochs = max(1, steps // resolve(name, quick=small, overrides=overrides).steps_per_epoch)
    overrides.update(epochs=epochs, steps_per_epoch=steps // epochs)
    with tempfile.TemporaryDirectory() as workdir:
        record = train(name, os.path.join(workdir, "run"), quick=small, overrides=overrides,
                       verbose=0, seed=seed)
    metrics = record["final_metrics"]
    return {"preset": name, "precision": precision, "decoder": decoder, "seed": seed,
            "steps": epochs * (steps // epochs), "wall_seconds": record["wall_seconds"],
            **{key: metrics[key] for key in ("val_loss", "val_psnr", "val_ssim")
               if key in metrics}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=list(PRECISIONS))
    parser.add_argument("--decoders", nargs="+", default=list(DECODERS), choices=list(DECODERS))
    parser.add_argument("--batch-norms", nargs="+", default=["fused"], choices=list(BATCH_NORMS),
                        help="the conv blocks' batch norm: TensorFlow's fused kernel (the "
                             "library's) and/or Keras' layer, to measure what fusing saves")
    parser.add_argument("--quality-steps", type=int, default=0,
                        help="train each variant of the first preset this many steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the quality runs")
    parser.add_argument("--small", action="store_true", help="tiny models, quick check")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    if args.quality_steps < 0:
        raise SystemExit(f"`--quality-steps` must be >= 0. Received: {args.quality_steps}")
    size = 256 if args.small else 2048
    peaks = {dtype: matmul_rate(dtype, size) for dtype in ("float32", "bfloat16")}
    rows, trained = [], []
    # Saved after every variant: a stopped run keeps the rows it finished.
    result = {**common.machine(), "command": common.command("benchmarks.precision", argv),
              "matmul_flops_per_s": peaks, "rows": rows, "quality": trained,
              "finished": False}
    for name in args.presets:
        conv = resolve(name).model_args.get("decoder", "conv") == "conv"
        for decoder in args.decoders if conv else ["default"]:
            for precision in args.precisions:
                for batch_norm in args.batch_norms:
                    rows.append(bench_variant(name, precision, decoder, args.small, batch_norm))
                    print({k: v for k, v in rows[-1].items()
                           if k not in ("step_profile", "time_profile")}, flush=True)
                    common.save(result, args.json)
    for decoder in args.decoders if args.quality_steps else []:
        for precision in args.precisions:
            trained.append(quality(args.presets[0], precision, decoder, args.quality_steps,
                                   args.seed, args.small))
            print(trained[-1], flush=True)
            common.save(result, args.json)
    result["finished"] = True
    common.save(result, args.json)
    print_tables(result)
    return 0


def print_tables(result):
    """The figures as the Markdown tables of RESULTS.md."""
    peaks = result["matmul_flops_per_s"]
    print(f"\nmatmul: float32 {peaks['float32'] / 1e9:.1f} GFLOP/s, bfloat16 "
          f"{peaks['bfloat16'] / 1e9:.1f} GFLOP/s; CPU flags {result['cpu_flags']}")
    print("| preset | decoder | precision | batch norm | train seq/s | x float32 | frames/s | "
          "decoder MFLOP/frame | 16-bit products / all |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def key(row):  # Rows before `--batch-norms` used Keras' layer.
        return row["preset"], row["decoder"], row.get("batch_norm", "keras")

    base = {key(r): r for r in result["rows"] if r["precision"] == "float32"}
    for row in result["rows"]:
        reference = base.get(key(row))
        ratio = (row["train_sequences_per_s"] / reference["train_sequences_per_s"]
                 if reference else float("nan"))
        products = row["step_profile"]["products"]
        low = sum(n for k, n in products.items() if k.endswith(("bfloat16", "float16")))
        frames = row["predict_frames_per_s"]
        print(f"| {row['preset']} | {row['decoder']} | {row['precision']} | {key(row)[2]} | "
              f"{row['train_sequences_per_s']:.2f} | {ratio:.2f} | {frames:.0f} | "
              f"{row['decoder_flops_per_frame'] / 1e6:.1f} | {low} / {sum(products.values())} |")
    kinds = [kind for kind, _ in TIME_KINDS]
    print("\nShare of a training step's op time (profiler), by kind:")
    print("| preset | decoder | precision | op s/step | " + " | ".join(kinds) + " |")
    print("| --- | --- | --- | --- | " + " | ".join("---" for _ in kinds) + " |")
    for row in result["rows"]:
        if "time_profile" not in row:
            continue
        profile = row["time_profile"]
        shares = " | ".join(f"{profile['kinds'][kind]['share']:.0%}" for kind in kinds)
        print(f"| {row['preset']} | {row['decoder']} | {row['precision']} | "
              f"{profile['op_seconds_per_step']:.3f} | {shares} |")
    if result["quality"]:
        print("\n| preset | decoder | precision | steps | wall (s) | val PSNR | val SSIM |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in result["quality"]:
            print(f"| {row['preset']} | {row['decoder']} | {row['precision']} | {row['steps']} "
                  f"| {row['wall_seconds']:.0f} | {row.get('val_psnr', float('nan')):.2f} | "
                  f"{row.get('val_ssim', float('nan')):.3f} |")


if __name__ == "__main__":
    sys.exit(main())
