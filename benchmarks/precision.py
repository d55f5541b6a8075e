"""Mixed precision and cheaper decoders, side by side in one process.

For each preset and each variant (a precision and a decoder option):

- training sequences/s of `train_on_batch` on a batch in memory, and
  predicted frames/s at batch 8 (both medians of repeated runs). A
  preset's variants are built first and their training steps timed in
  `--rounds` alternating rounds; the speed-up over float32 is given as the
  median and range of the per-round ratios, since a neighbour's load
  moves both precisions' figures by more than the difference sought;
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
on the `validation` split after the last step, beside black frames and
copy-last scored on the same clips with the same metrics (`--baselines`
scores those alone, with `--no-speed` and no training).

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
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks.speed import SMALL
from benchmarks.speed import _batch
from benchmarks.speed import graph_flops
from tfodevideo import baselines
from tfodevideo.layers.conv_blocks import BATCH_NORMS
from tfodevideo.layers.conv_blocks import batch_norm_kind
from tfodevideo.losses import FrameLoss
from tfodevideo.precision import PRECISIONS
from tfodevideo.precision import optimizer_for
from tfodevideo.training.evaluation import score_predictors
from tfodevideo.training.presets import resolve
from tfodevideo.training.trainer import build_model
from tfodevideo.training.trainer import make_data
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


def build_variant(name, precision, decoder, small, batch_norm="fused"):
    """The compiled model of one variant, with a training batch and a
    prediction batch in memory."""
    preset = resolve(name, quick=small, overrides=variant_overrides(precision, decoder, small))
    keras.utils.set_random_seed(0)
    with batch_norm_kind(batch_norm):
        model = build_model(preset)
    loss = FrameLoss(**preset.loss)
    optimizer = optimizer_for(keras.optimizers.Adam(1e-3), precision)
    model.compile(optimizer, loss)
    optimizer.build(model.trainable_variables)  # Else the first step traces twice.
    inputs, targets = _batch(preset, preset.batch_size)
    one, _ = _batch(preset, 2 if small else 8)
    return {"name": name, "precision": precision, "decoder": decoder, "batch_norm": batch_norm,
            "preset": preset, "model": model, "loss": loss, "inputs": inputs,
            "targets": targets, "one": one}


def training_seconds(variant, repeats):
    """Median seconds of `repeats` training steps of a built variant."""
    return common.median_seconds(
        lambda: variant["model"].train_on_batch(variant["inputs"], variant["targets"]),
        repeats, warmup=0)


def bench_variant(variant, step_seconds, small, profile=True):
    """Speed, decoder cost and step profile of one built variant, whose
    training steps took `step_seconds` (one median per round)."""
    preset, model, one = variant["preset"], variant["model"], variant["one"]
    repeats = 2 if small else 5
    predict = tf.function(lambda x: model(x, training=False))
    frames = one["frames"].shape[0] * one["query_times"].shape[-1]
    predict_seconds = common.median_seconds(lambda: predict(one).numpy(), repeats)
    state, appearance = model.encode(one["frames"], one["input_times"], training=False)
    anchors = model.anchor_times(one["input_times"])
    positions = model.integrate(state, one["query_times"], anchors)
    # The time since the anchor, for decoders that read it (a glyph's blur).
    elapsed = model.elapsed_times(tf.convert_to_tensor(one["query_times"]), anchors)
    decoder_flops = graph_flops(
        lambda p, a, e: model.decode(p, a, training=False, elapsed=e),
        tf.TensorSpec(positions.shape, positions.dtype),
        tf.TensorSpec(appearance.shape, appearance.dtype),
        tf.TensorSpec(elapsed.shape, elapsed.dtype))
    row = {
        "preset": variant["name"],
        "precision": variant["precision"],
        "decoder": variant["decoder"],
        "decoder_options": DECODERS[variant["decoder"]],
        "batch_norm": variant["batch_norm"],
        "params": int(model.count_params()),
        "decoder_params": int(model.decoder.count_params()),
        "train_sequences_per_s": preset.batch_size / float(np.median(step_seconds)),
        "train_sequences_per_s_rounds": [preset.batch_size / s for s in step_seconds],
        "predict_batch": int(one["frames"].shape[0]),
        "predict_frames_per_s": frames / predict_seconds,
        "decoder_flops_per_frame": decoder_flops / frames,
        "step_profile": step_profile(model, variant["loss"], variant["inputs"],
                                     variant["targets"]),
    }
    if profile:
        row["time_profile"] = time_profile(model, variant["inputs"], variant["targets"],
                                           steps=1 if small else 3)
    return row


def bench_preset(name, precisions, decoders, batch_norms, rounds, small, profile=True):
    """Rows of every variant of preset `name`. The variants are built
    first and their training steps timed in `rounds` alternating rounds,
    so that a change in the machine's load (the other core, the clock)
    falls on every variant alike rather than on whichever ran last."""
    conv = resolve(name).model_args.get("decoder", "conv") == "conv"
    variants = [build_variant(name, precision, decoder, small, batch_norm)
                for decoder in (decoders if conv else ["default"])
                for precision in precisions for batch_norm in batch_norms]
    # Warm-up steps (tracing, oneDNN's first-call set-up) once every variant
    # is built: `set_random_seed` in a later build would retrace the others.
    for variant in variants:
        for _ in range(2):
            variant["model"].train_on_batch(variant["inputs"], variant["targets"])
    repeats = 2 if small else 5
    seconds = [[] for _ in variants]
    for _ in range(rounds):
        for variant, times in zip(variants, seconds):
            times.append(training_seconds(variant, repeats))
    return [bench_variant(variant, times, small, profile)
            for variant, times in zip(variants, seconds)]


def speedups(rows):
    """Each low-precision row's training speed over its float32 twin's
    (same preset, decoder and batch norm): the median and range of the
    per-round ratios, or None where no float32 twin was measured."""
    def key(row):  # Rows before `--batch-norms` used Keras' layer.
        return row["preset"], row["decoder"], row.get("batch_norm", "keras")

    base = {key(r): r for r in rows if r["precision"] == "float32"}
    result = []
    for row in rows:
        reference = base.get(key(row))
        if reference is None:
            result.append(None)
            continue
        ours = row.get("train_sequences_per_s_rounds", [row["train_sequences_per_s"]])
        theirs = reference.get("train_sequences_per_s_rounds",
                               [reference["train_sequences_per_s"]])
        ratios = [a / b for a, b in zip(ours, theirs)]
        result.append({"median": float(np.median(ratios)), "min": min(ratios),
                       "max": max(ratios)})
    return result


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


def baseline_quality(name, small):
    """Black frames and copy-last scored as the quality rows are: the same
    `validation` clips (the same for every seed) and the mean over every
    frame of the metrics that `fit` logs as `val_psnr` and `val_ssim`."""
    preset = resolve(name, quick=small, overrides=variant_overrides("float32", "default", small))
    _, validation = make_data(preset)
    scores = score_predictors(baselines.BASELINES, validation)
    return [{"preset": name, "predictor": predictor, "val_psnr": summary["psnr"],
             "val_ssim": summary["ssim"]}
            for predictor, summary in ((p, s.summary()) for p, s in scores.items())]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=list(PRECISIONS))
    parser.add_argument("--decoders", nargs="+", default=list(DECODERS), choices=list(DECODERS))
    parser.add_argument("--batch-norms", nargs="+", default=["fused"], choices=list(BATCH_NORMS),
                        help="the conv blocks' batch norm: TensorFlow's fused kernel (the "
                             "library's) and/or Keras' layer, to measure what fusing saves")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of timing over a preset's variants")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the profiler's time split (faster, for many presets)")
    parser.add_argument("--quality-steps", type=int, default=0,
                        help="train each variant of the first preset this many steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the quality runs")
    parser.add_argument("--baselines", action="store_true",
                        help="score black frames and copy-last on the quality runs' "
                             "validation clips (implied by --quality-steps)")
    parser.add_argument("--no-speed", dest="speed", action="store_false",
                        help="skip the speed rows (quality runs and baselines only)")
    parser.add_argument("--small", action="store_true", help="tiny models, quick check")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    if args.quality_steps < 0:
        raise SystemExit(f"`--quality-steps` must be >= 0. Received: {args.quality_steps}")
    if args.rounds < 1:
        raise SystemExit(f"`--rounds` must be >= 1. Received: {args.rounds}")
    size = 256 if args.small else 2048
    peaks = {dtype: matmul_rate(dtype, size) for dtype in ("float32", "bfloat16")}
    rows, trained = [], []
    # Saved after every variant: a stopped run keeps the rows it finished.
    result = {**common.machine(), "command": common.command("benchmarks.precision", argv),
              "matmul_flops_per_s": peaks, "rows": rows, "quality": trained,
              "finished": False}
    if args.baselines or args.quality_steps:
        result["quality_baselines"] = baseline_quality(args.presets[0], args.small)
        common.save(result, args.json)
    for name in args.presets if args.speed else []:
        for row in bench_preset(name, args.precisions, args.decoders, args.batch_norms,
                                args.rounds, args.small, args.profile):
            rows.append(row)
            print({k: v for k, v in row.items()
                   if k not in ("step_profile", "time_profile")}, flush=True)
        result["speedups"] = speedups(rows)
        for row, speedup in zip(rows, result["speedups"]):
            row["speedup_over_float32"] = speedup  # Keyed by its row, for tables.
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
    if result["rows"]:
        print_speed_tables(result)
    if result["quality"] or result.get("quality_baselines"):
        print("\n| preset | predictor | precision | steps | wall (s) | val PSNR | val SSIM |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in result["quality"]:
            print(f"| {row['preset']} | {row['decoder']} decoder | {row['precision']} | "
                  f"{row['steps']} | {row['wall_seconds']:.0f} | "
                  f"{row.get('val_psnr', float('nan')):.2f} | "
                  f"{row.get('val_ssim', float('nan')):.3f} |")
        for row in result.get("quality_baselines", []):
            print(f"| {row['preset']} | {row['predictor']} | | | | {row['val_psnr']:.2f} | "
                  f"{row['val_ssim']:.3f} |")


def print_speed_tables(result):
    """The speed rows and the profiler's time split, as Markdown tables."""
    print("| preset | decoder | precision | batch norm | train seq/s | x float32 (rounds) | "
          "frames/s | decoder MFLOP/frame | 16-bit products / all |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row, ratio in zip(result["rows"], speedups(result["rows"])):
        ratio = (f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"
                 if ratio else "n/a")
        products = row["step_profile"]["products"]
        low = sum(n for k, n in products.items() if k.endswith(("bfloat16", "float16")))
        frames = row["predict_frames_per_s"]
        print(f"| {row['preset']} | {row['decoder']} | {row['precision']} | "
              f"{row.get('batch_norm', 'keras')} | "
              f"{row['train_sequences_per_s']:.2f} | {ratio} | {frames:.0f} | "
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


if __name__ == "__main__":
    sys.exit(main())
