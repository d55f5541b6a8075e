"""Probes behind the choices and causes stated in RESULTS.md (quality and speed).

- `trunks`: seconds per training step (batch 16, two-digit 10 -> 10) of the
  disentangled model with conv trunks of 16/32/64 and 32/64/128 channels and
  of the ConvLSTM baseline, on the threads given (1: one core, as each
  contestant of `benchmarks.quality` has).
- `threads`: seconds of one batch-1 and one batch-32 prediction of
  `mmnist2_10to10_cpu` on the threads given.
- `batchnorm`: training step and batch-1 prediction of `mmnist2_10to10_cpu`
  with synchronized batch norm on and off.

    python -m benchmarks.cpu_probes trunks --threads 1
    python -m benchmarks.cpu_probes threads --threads 1   # then --threads 2
    python -m benchmarks.cpu_probes batchnorm
"""

import argparse
import sys

import tensorflow as tf

PROBES = ("trunks", "threads", "batchnorm")


def _training_batch(preset, batch_size=None):
    from tfodevideo.training.trainer import make_data

    train, _ = make_data(preset, batch_size=batch_size)
    return next(iter(train))


def trunks():
    from benchmarks import common
    from benchmarks.budget_training import build_contestant
    from tfodevideo.training.presets import resolve

    for name, channels in (("tfodevideo", [16, 32, 64]), ("tfodevideo", [32, 64, 128]),
                           ("convlstm", None)):
        overrides = {"model.encoder_channels": channels} if channels else None
        preset = resolve("mmnist2_10to10", overrides=overrides)
        model = build_contestant(name, preset)
        x, y = _training_batch(preset)
        seconds = common.median_seconds(lambda: model.train_on_batch(x, y), 5, warmup=2)
        print(f"{name} trunk={channels}: {seconds:.3f} s per step of {preset.batch_size}")


def threads():
    from benchmarks import common
    from tfodevideo.training.presets import resolve
    from tfodevideo.training.trainer import compiled_model

    preset = resolve("mmnist2_10to10_cpu")
    model = compiled_model(preset)
    x, _ = _training_batch(preset, batch_size=32)
    predict = tf.function(lambda inputs: model(inputs, training=False))
    for size in (1, 32):
        inputs = {k: v[:size] for k, v in x.items()}
        seconds = common.median_seconds(lambda: predict(inputs).numpy(), 10)
        print(f"threads={tf.config.threading.get_intra_op_parallelism_threads()} "
              f"batch {size}: {seconds:.4f} s per prediction")


def batchnorm():
    import keras

    from benchmarks import common
    from tfodevideo.training.presets import resolve
    from tfodevideo.training.trainer import compiled_model

    preset = resolve("mmnist2_10to10_cpu")
    x, y = _training_batch(preset)
    one = {k: v[:1] for k, v in x.items()}
    for synchronized in (True, False):
        keras.utils.set_random_seed(0)
        model = compiled_model(preset)
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = synchronized
        step = common.median_seconds(lambda: model.train_on_batch(x, y), 6, warmup=2)
        predict = tf.function(lambda inputs: model(inputs, training=False))
        latency = common.median_seconds(lambda: predict(one).numpy(), 20)
        print(f"synchronized={synchronized}: training step {step:.3f} s, "
              f"batch-1 prediction {1000 * latency:.1f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=PROBES)
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow intra- and inter-op threads (default: TF's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    {"trunks": trunks, "threads": threads, "batchnorm": batchnorm}[args.probe]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
