"""How fast the models train and predict, where the time goes, and how far from the limit.

For every video preset at full size (and the ConvLSTM baseline, 10 -> 10):

- training throughput (sequences/s) of `train_on_batch` on batches already
  in memory (the pipeline's own speed is `benchmarks.data_throughput`);
- inference throughput (predicted frames/s) at batch 1 and 32, and the
  latency of one prediction at batch 1;
- for the ODE models, the split of one batch-32 prediction into encoder, ODE
  solve (with its field evaluations) and decoder;
- FLOPs per predicted sequence, counted by TensorFlow's profiler on the
  encoder, decoder and one field evaluation (times the evaluations the
  solver made), divided by the measured time, as a fraction of this
  machine's float32 matmul peak measured in the same run, and of its
  theoretical peak (`benchmarks.common.theoretical_peak`: cores x clock x
  vector width). The profiler counts every tap of a "same"-padded
  convolution, also those on the zero padding, so small feature maps are
  credited a little more work than they do;
- the cost of predicting 18, 100 and 1000 frames over the same time span.

    python -m benchmarks.speed [--json speed.json]
    python -m benchmarks.speed --small     # tiny models, a quick check (tests)
"""

import argparse
import sys

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.profiler import model_analyzer
from tensorflow.python.profiler import option_builder

from benchmarks import common
from tfodevideo.data.registry import make_dataset
from tfodevideo.losses import FrameLoss
from tfodevideo.models import ConvLSTMBaseline
from tfodevideo.training.presets import resolve
from tfodevideo.training.trainer import build_model

PRESETS = ("ball_latent_ode", "mmnist1_2to18", "mmnist2_10to10", "mmnist2_2to18",
           "mmnist1_2to18_cpu", "mmnist2_10to10_cpu")
SMALL = {"model.encoder_channels": [4, 8], "model.field_units": 16, "model.dynamics_dim": 4}


def matmul_peak(size=2048, repeats=10):
    """This machine's float32 matmul rate (FLOP/s) on `size x size` matrices."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    return 2.0 * size**3 / common.median_seconds(lambda: product().numpy(), repeats, warmup=2)


def graph_flops(fn, *specs):
    """Float operations of one call of `fn` on fully defined `specs`."""
    concrete = tf.function(fn).get_concrete_function(*specs)
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(model_analyzer.profile(concrete.graph, options=options).total_float_ops)


def _spec(x):
    return tf.TensorSpec(x.shape, x.dtype)


def _batch(preset, batch_size, num_target=None):
    data = dict(preset.data)
    if num_target:
        data["num_target"] = num_target
    dataset = make_dataset(preset.dataset, batch_size, split="test", num_clips=batch_size, **data)
    return next(iter(dataset))


def ode_split(model, inputs):
    """Seconds of encoder, ODE and decoder for one prediction, and its FLOPs."""
    frames = tf.convert_to_tensor(inputs["frames"])
    input_times, query_times = inputs["input_times"], inputs["query_times"]
    anchor = model.anchor_times(input_times)
    encode = tf.function(lambda f, t: model.encode(f, t, training=False))
    state, appearance = encode(frames, input_times)
    integrate = tf.function(lambda s, q, a: model.integrate(s, q, a))
    positions = integrate(state, query_times, anchor)
    decode = tf.function(lambda p, a: model.decode(p, a, training=False))
    model.ode.nfe_tracker.reset_state()
    integrate(state, query_times, anchor)
    nfe = float(model.ode.nfe_tracker.result())
    field = model.ode.vector_field
    flops = {
        "encoder": graph_flops(lambda f, t: model.encode(f, t, training=False),
                               _spec(frames), _spec(input_times)),
        "decoder": graph_flops(lambda p, a: model.decode(p, a, training=False),
                               _spec(positions), _spec(appearance)),
        "field_evaluation": graph_flops(lambda y: field(tf.constant(0.0), y), _spec(state)),
    }
    flops["ode"] = int(flops["field_evaluation"] * nfe)
    seconds = {
        "encoder": common.median_seconds(lambda: encode(frames, input_times)[0].numpy(), 3),
        "ode": common.median_seconds(lambda: integrate(state, query_times, anchor).numpy(), 3),
        "decoder": common.median_seconds(lambda: decode(positions, appearance).numpy(), 3),
    }
    return seconds, flops, nfe


def bench_model(name, model, preset, peak, small):
    """All figures of one model."""
    batch = 4 if small else 32
    repeats = 2 if small else 5
    row = {"model": name, "params": int(model.count_params())}
    inputs, targets = _batch(preset, preset.batch_size)
    model.compile(keras.optimizers.Adam(1e-3), FrameLoss(**preset.loss))
    step = lambda: model.train_on_batch(inputs, targets)  # noqa: E731
    row["train_sequences_per_s"] = preset.batch_size / common.median_seconds(step, repeats)
    predict = tf.function(lambda x: model(x, training=False))
    seconds = {}
    for size in (1, batch):
        one, _ = _batch(preset, size)
        frames = one["query_times"].shape[-1] * size
        seconds[size] = common.median_seconds(lambda: predict(one).numpy(), repeats)
        row[f"predict_frames_per_s_batch{size}"] = frames / seconds[size]
    row["latency_ms_batch1"] = 1000 * seconds[1]
    if hasattr(model, "ode"):
        split, flops, nfe = ode_split(model, one)
        row.update({"split_seconds": split, "ode_nfe": nfe})
        row["tolerance_cost"] = tolerance_cost(model, preset, 4 if small else 8, repeats)
        total_flops = flops["encoder"] + flops["ode"] + flops["decoder"]
        row["scaling"] = scaling(model, one, small)
    else:  # Its loop is unrolled in the graph: every step is counted.
        total_flops = graph_flops(lambda x: model(x, training=False),
                                  {k: _spec(v) for k, v in one.items()})
    per_sequence = total_flops / batch
    row.update({
        "flops_per_sequence": per_sequence,
        "fraction_of_matmul_peak": per_sequence * batch / seconds[batch] / peak,
        "fraction_of_matmul_peak_batch1": per_sequence / seconds[1] / peak,
        # A training step costs about 3x the forward pass (forward, and the
        # gradients with respect to activations and weights): an estimate.
        "train_fraction_of_matmul_peak_est": 3 * per_sequence * row["train_sequences_per_s"] / peak,
    })
    return row


def tolerance_cost(model, preset, batch, repeats):
    """What the ODE's tight inference tolerance costs and buys.

    For the training tolerances and the inference ones (`NeuralODE.tolerances`):
    the seconds and field evaluations of one prediction of `batch` clips, and
    the largest per-pixel difference between those clips predicted together
    and each alone (Dormand-Prince takes one step sequence for the batch).
    """
    inputs, _ = _batch(preset, batch)
    ode = model.ode
    saved = (ode.inference_rtol, ode.inference_atol)
    rows = {}
    for label, tight in (("training_tolerance", False), ("inference_tolerance", True)):
        ode.inference_rtol, ode.inference_atol = saved if tight else (None, None)
        # A fresh function per setting: tolerances are read when a graph is traced.
        predict = tf.function(lambda x: model(x, training=False))
        together = predict(inputs).numpy()
        ode.nfe_tracker.reset_state()
        predict(inputs)
        nfe = float(ode.nfe_tracker.result())
        alone = np.concatenate([
            predict({k: v[i : i + 1] for k, v in inputs.items()}).numpy() for i in range(batch)
        ])
        rows[label] = {
            "rtol_atol": list(ode.tolerances(training=not tight)),
            "seconds": common.median_seconds(lambda: predict(inputs).numpy(), repeats),
            "nfe": nfe,
            "max_batch_dependence": float(np.abs(together - alone).max()),
        }
    ode.inference_rtol, ode.inference_atol = saved
    return {"batch": batch, **rows}


def scaling(model, inputs, small):
    """Seconds of the ODE and the decoder for 18, 100 and 1000 frames, same span."""
    state, appearance = model.encode(inputs["frames"], inputs["input_times"], training=False)
    anchor = model.anchor_times(inputs["input_times"])
    start = float(anchor[0])
    integrate = tf.function(lambda s, q, a: model.integrate(s, q, a))
    decode = tf.function(lambda p, a: model.decode(p, a, training=False))
    rows = []
    for count in (18, 100) if small else (18, 100, 1000):
        query = start + tf.linspace(0.1, 1.8, count)
        positions = integrate(state[:1], query, anchor[:1])
        rows.append({
            "frames": count,
            "ode_seconds": common.median_seconds(lambda: integrate(state[:1], query, anchor[:1]).numpy(), 3),
            "decoder_seconds": common.median_seconds(lambda: decode(positions, appearance[:1]).numpy(), 3),
        })
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny models, quick check")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    peak = matmul_peak(512 if args.small else 2048)
    rows = []
    names = PRESETS[:1] if args.small else PRESETS
    for name in names:
        preset = resolve(name, quick=args.small, overrides=SMALL if args.small else None)
        model = build_model(preset)
        model.build(None)
        rows.append(bench_model(name, model, preset, peak, args.small))
        print(rows[-1], flush=True)
    preset = resolve("mmnist2_10to10", quick=args.small)
    convlstm = ConvLSTMBaseline(num_context=10, filters=(8,) if args.small else (64, 64))
    convlstm.build(None)
    rows.append(bench_model("convlstm_10to10", convlstm, preset, peak, args.small))
    print(rows[-1], flush=True)
    # The peak again after the models, in case the first figure caught the
    # machine busy: fractions use the higher of the two.
    peak_after = matmul_peak(512 if args.small else 2048)
    if peak_after > peak:
        scale = peak / peak_after
        for row in rows:
            for key in [k for k in row if "fraction_of_matmul_peak" in k]:
                row[key] *= scale
    theory = common.theoretical_peak()
    if theory["fp32_flops_per_s"]:
        # The same FLOP counts against the machine's theoretical peak.
        for row in rows:
            row["fraction_of_theoretical_peak"] = (
                row["fraction_of_matmul_peak"] * max(peak, peak_after)
                / theory["fp32_flops_per_s"])
    result = {**common.machine(), "matmul_peak_flops_per_s": max(peak, peak_after),
              "matmul_peak_before_and_after": [peak, peak_after],
              "theoretical_peak": theory, "rows": rows}
    common.save(result, args.json)
    print_tables(result)
    return 0


def print_tables(result):
    """The figures as the Markdown tables of RESULTS.md."""
    print(f"\nfloat32 matmul peak: {result['matmul_peak_flops_per_s'] / 1e9:.1f} GFLOP/s")
    theory = result.get("theoretical_peak") or {}
    if theory.get("fp32_flops_per_s"):
        bf16 = theory["bf16_flops_per_s"]
        print(f"theoretical peak ({theory['how']}): float32 "
              f"{theory['fp32_flops_per_s'] / 1e9:.1f} GFLOP/s, bfloat16 "
              f"{f'{bf16 / 1e9:.1f} GFLOP/s' if bf16 else 'no AVX512_BF16'}")
    print("| model | params | train seq/s | frames/s b1 | frames/s b32 | latency b1 (ms) "
          "| GFLOP/seq | peak fraction b32 | b1 | train (est.) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in result["rows"]:
        batch = [k for k in row if k.startswith("predict_frames_per_s_batch")][-1]
        print(f"| {row['model']} | {row['params']:,} | {row['train_sequences_per_s']:.2f} | "
              f"{row['predict_frames_per_s_batch1']:.0f} | {row[batch]:.0f} | "
              f"{row['latency_ms_batch1']:.1f} | {row['flops_per_sequence'] / 1e9:.2f} | "
              f"{row['fraction_of_matmul_peak']:.2f} | "
              f"{row['fraction_of_matmul_peak_batch1']:.2f} | "
              f"{row['train_fraction_of_matmul_peak_est']:.2f} |")
    print("\n| model | encoder (s) | ODE (s) | NFE | decoder (s) | scaling: frames -> "
          "ODE s / decoder s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in result["rows"]:
        if "split_seconds" not in row:
            continue
        split = row["split_seconds"]
        scale = ", ".join(f"{r['frames']} -> {r['ode_seconds']:.4f} / {r['decoder_seconds']:.3f}"
                          for r in row["scaling"])
        print(f"| {row['model']} | {split['encoder']:.4f} | {split['ode']:.4f} | "
              f"{row['ode_nfe']:.0f} | {split['decoder']:.3f} | {scale} |")
    print("\n| model | clips | tolerance (rtol, atol) | prediction (s) | NFE | "
          "largest change from batch companions |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in result["rows"]:
        cost = row.get("tolerance_cost")
        for label in ("training_tolerance", "inference_tolerance") if cost else ():
            entry = cost[label]
            print(f"| {row['model']} | {cost['batch']} | {label.split('_')[0]} "
                  f"{tuple(entry['rtol_atol'])} | {entry['seconds']:.3f} | {entry['nfe']:.0f} "
                  f"| {entry['max_batch_dependence']:.1e} |")


if __name__ == "__main__":
    sys.exit(main())
