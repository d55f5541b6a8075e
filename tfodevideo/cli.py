"""The `tfodevideo` command.

User errors (bad arguments, missing or malformed files) print one line and
exit with status 2; anything else is a bug and keeps its traceback.
"""

import argparse
import json
import sys

import numpy as np

# OSError covers a full or read-only disk and unreadable files.
USER_ERRORS = (ValueError, OSError)


def _parse_overrides(pairs):
    """`["model.dynamics_dim=8", "loss.mae=0.5"]` -> dict, values read as JSON."""
    overrides = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"`--set` takes KEY=VALUE. Received: {pair!r}")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


def _split_cpu(replicas):
    """Splits the CPU into `replicas` logical devices, before TF starts."""
    import tensorflow as tf

    if replicas < 1:
        raise ValueError(f"`--cpu-replicas` must be at least 1. Received: {replicas}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
    )


def _train(args):
    if args.cpu_replicas:
        _split_cpu(args.cpu_replicas)
    from tfodevideo.training.train import train

    overrides = _parse_overrides(args.set)
    for flag in ("epochs", "steps_per_epoch", "batch_size"):
        if getattr(args, flag) is not None:
            overrides[flag] = getattr(args, flag)
    record = train(
        args.preset,
        args.workdir or f"runs/{args.preset}{'_quick' if args.quick else ''}",
        quick=args.quick,
        overrides=overrides,
        overwrite=args.overwrite,
        verbose=1 if sys.stdout.isatty() else 2,
        strategy=args.strategy,
        seed=args.seed,
    )
    keys = ("model", "pictures", "epochs_run", "replicas", "final_metrics", "wall_seconds")
    print(json.dumps({k: record[k] for k in keys if k in record}, indent=2))
    return 0


def _evaluate(args):
    from tfodevideo.training.evaluate import evaluate

    report = evaluate(
        args.model,
        test_set=args.test_set,
        horizon=args.horizon,
        num_sequences=args.num_sequences,
        batch_size=args.batch_size,
        dataset=args.dataset,
        out_dir=args.out,
    )
    print(
        f"{report['dataset']}, {report['num_context']} -> {report['horizon']}, "
        f"{report['num_sequences']} sequences"
    )
    names = list(next(iter(report["summary"].values())))
    print(f"{'predictor':14s}" + "".join(f"{n:>12s}" for n in names))
    for predictor, values in report["summary"].items():
        print(f"{predictor:14s}" + "".join(f"{values[n]:12.4f}" for n in names))
    if args.out:
        print(f"wrote {args.out}/evaluation.json, per_frame.csv, curves.png")
    return 0


def _query_times(args, model):
    """`--times 1,1.05` or `--until T --step S` after the last input frame."""
    if args.times:
        try:
            return [float(t) for t in args.times.split(",")]
        except ValueError:
            raise ValueError(f"`--times` takes numbers separated by commas. Received: {args.times!r}")
    last = (model.num_context - 1) * args.frame_dt
    until = args.until if args.until is not None else last + 18 * args.frame_dt
    step = args.step or args.frame_dt
    if step <= 0 or until <= last:
        raise ValueError(f"Need --until > {last} and --step > 0. Received: {until}, {step}")
    return list(np.arange(last + step, until + step / 2, step))


def _predict(args):
    from tfodevideo import inference
    from tfodevideo.training.evaluate import load_video_model

    model = load_video_model(args.model)
    clip = inference.read_clip(args.input, model.channels)
    frames = inference.predict_clip(model, clip, _query_times(args, model), args.frame_dt)
    for path in inference.write_prediction(frames, args.out):
        print(f"wrote {path}")
    return 0


def _swap(args):
    from tfodevideo import inference
    from tfodevideo import viz
    from tfodevideo.training.evaluate import load_video_model

    model = load_video_model(args.model)
    clip_a = inference.read_clip(args.clip_a, model.channels)
    clip_b = inference.read_clip(args.clip_b, model.channels)
    rows = inference.swap_picture(model, clip_a, clip_b, _query_times(args, model), args.frame_dt)
    path = viz.save_png(args.out, viz.frame_grid(rows))
    print(f"wrote {path}")
    return 0


def _export(args):
    from tfodevideo.export import export_model
    from tfodevideo.training.evaluate import load_video_model

    model = load_video_model(args.model)
    result = export_model(model, args.name, args.base_dir, args.version, verify=args.verify)
    print(json.dumps(result, indent=2))
    return 0


def _tune(args):
    from tfodevideo.training.tuning import tune

    result = tune(
        args.preset, args.directory or f"tuning/{args.preset}", tuner=args.tuner,
        max_trials=args.max_trials, quick=args.quick, overrides=_parse_overrides(args.set),
        objective=args.objective, tune_learning_rate=args.tune_learning_rate,
        tune_tolerance=args.tune_tolerance, tune_batch_size=args.tune_batch_size,
        seed=args.seed,
    )
    rows = result["rows"]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    print("  ".join(columns))
    for row in rows:
        print("  ".join(f"{row.get(c):.4g}" if isinstance(row.get(c), float)
                        else str(row.get(c)) for c in columns))
    print(json.dumps({k: result[k] for k in ("summary", "best_model", "best")}, indent=2))
    return 0


def _latents(args):
    from tfodevideo.data.registry import TEST_SEED
    from tfodevideo.data.registry import make_source
    from tfodevideo.latents import write_latent_report
    from tfodevideo.training.evaluate import load_video_model

    model = load_video_model(args.model)
    source = make_source(args.dataset, "test")
    clips = source.generate(args.num_clips, seed=TEST_SEED)
    report = write_latent_report(model, clips, source.frame_dt, args.out)
    print(json.dumps(report, indent=2))
    return 0


def _presets(args):
    from tfodevideo.training.presets import PRESETS

    for name, preset in PRESETS.items():
        print(f"{name:16s} {preset.description}")
    return 0


def _preview(args):
    from tfodevideo.preview import write_previews

    written, skipped = write_previews(
        args.out, num_clips=args.num_clips, seed=args.seed, data_dir=args.data_dir
    )
    for path in written:
        print(f"wrote {path}")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    return 0


def _add_export(commands):
    export = commands.add_parser(
        "export", help="write a TF Serving SavedModel (saved_models/NAME/VERSION)"
    )
    export.add_argument("model", help="a .keras file of a VideoODE or LatentODE")
    export.add_argument("--name", required=True, help="the served model's name")
    export.add_argument("--version", type=int, help="default: the next free number")
    export.add_argument("--base-dir", default="saved_models",
                        help="folder of served models (TF Serving's base path is BASE_DIR/NAME)")
    export.add_argument(
        "--verify", action="store_true",
        help="check with saved_model_cli and a TensorFlow-only reload before the "
        "version is put in place",
    )
    export.set_defaults(run=_export)


def _add_tune(commands):
    tune = commands.add_parser("tune", help="search a video preset's hyperparameters")
    tune.add_argument("preset", help="a video preset from `tfodevideo presets`")
    tune.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
    tune.add_argument("--max-trials", type=int, default=10,
                      help="trials (for hyperband: iterations of its brackets)")
    tune.add_argument("--directory", help="search folder, resumed if it exists "
                      "(default tuning/PRESET)")
    tune.add_argument("--quick", action="store_true", help="the minutes-long variant")
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a preset field, as for train")
    tune.add_argument("--objective", default="val_psnr",
                      choices=["val_psnr", "val_ssim", "val_loss"])
    tune.add_argument("--tune-learning-rate", action="store_true")
    tune.add_argument("--tune-tolerance", action="store_true", help="search the ODE's rtol")
    tune.add_argument("--tune-batch-size", action="store_true")
    tune.add_argument("--seed", type=int, default=0,
                      help="seeds the tuner, every trial's weights and its training stream")
    tune.set_defaults(run=_tune)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfodevideo",
        description="Continuous-time video models with latent Neural ODEs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser(
        "preview", help="write a PNG strip of every data set"
    )
    preview.add_argument("--out", default="preview", help="output folder")
    preview.add_argument(
        "--num-clips", type=int, default=4, help="clips per data set"
    )
    preview.add_argument("--seed", type=int, default=0, help="data seed")
    preview.add_argument(
        "--data-dir",
        default=None,
        help="folder holding mnist.npz and the Moving MNIST test file "
        "(default: $TFODEVIDEO_DATA_DIR, else download MNIST through Keras)",
    )
    preview.set_defaults(run=_preview)

    listing = commands.add_parser("presets", help="list the named experiments")
    listing.set_defaults(run=_presets)

    train = commands.add_parser("train", help="train a preset with model.fit")
    train.add_argument("preset", help="a name from `tfodevideo presets`")
    train.add_argument("--quick", action="store_true", help="the minutes-long variant")
    train.add_argument("--epochs", type=int)
    train.add_argument("--steps-per-epoch", type=int)
    train.add_argument("--batch-size", type=int, help="clips per replica")
    train.add_argument("--workdir", help="run folder (default runs/PRESET)")
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a preset field, e.g. model.dynamics_dim=8 or loss.mae=0.5",
    )
    train.add_argument("--seed", type=int, default=0,
                       help="seeds the weights and the training stream (recorded in run.json)")
    train.add_argument("--overwrite", action="store_true",
                       help="train anew over a finished run in the workdir")
    train.add_argument(
        "--strategy", default="default", choices=["default", "mirrored", "multi_worker"],
        help="tf.distribute strategy; multi_worker reads the cluster from TF_CONFIG",
    )
    train.add_argument(
        "--cpu-replicas", type=int, metavar="N",
        help="split the CPU into N logical devices (to try mirrored without GPUs)",
    )
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate", help="score a model beside the black-frame and copy-last baselines"
    )
    evaluate.add_argument("model", help="a .keras file of a VideoODE or LatentODE")
    evaluate.add_argument("--test-set", default="standard", choices=["standard", "generated"])
    evaluate.add_argument("--horizon", type=int, help="frames to predict (default: to frame 20)")
    evaluate.add_argument("--num-sequences", type=int)
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--dataset", default="mmnist2",
                          help="data set of generated test clips")
    evaluate.add_argument("--out", help="folder for evaluation.json, per_frame.csv, curves.png")
    evaluate.set_defaults(run=_evaluate)

    def add_times(command):
        command.add_argument("--times", help="query times, e.g. 1.0,1.05,2.5")
        command.add_argument("--until", type=float, help="predict up to this time")
        command.add_argument("--step", type=float, help="time between predicted frames")
        command.add_argument("--frame-dt", type=float, default=0.1,
                             help="time between the clip's frames")

    predict = commands.add_parser("predict", help="predict frames at any times from a clip")
    predict.add_argument("model")
    predict.add_argument("input", help=".npy, .npz, .gif or a folder of PNGs")
    predict.add_argument("--out", default="prediction", help="output folder")
    add_times(predict)
    predict.set_defaults(run=_predict)

    swap = commands.add_parser("swap", help="draw clip A's motion with clip B's look")
    swap.add_argument("model")
    swap.add_argument("clip_a")
    swap.add_argument("clip_b")
    swap.add_argument("--out", default="swap.png", help="output PNG")
    add_times(swap)
    swap.set_defaults(run=_swap)
    _add_export(commands)
    _add_tune(commands)
    latents = commands.add_parser(
        "latents", help="PCA figures: latent against true positions, encoded against integrated"
    )
    latents.add_argument("model", help="a .keras file of a VideoODE or LatentODE")
    latents.add_argument("--dataset", default="ball", help="data set of the clips (ball, mmnist1...)")
    latents.add_argument("--num-clips", type=int, default=32)
    latents.add_argument("--out", default="latents", help="output folder")
    latents.set_defaults(run=_latents)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"tfodevideo: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
