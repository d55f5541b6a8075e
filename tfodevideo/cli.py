"""The `tfodevideo` command.

User errors (bad arguments, missing or malformed files) print one line and
exit with status 2; anything else is a bug, reported in one line with exit
status 1 (`--debug` shows its traceback). `--help` answers before
TensorFlow is imported; TensorFlow's own log lines are hidden unless
`--verbose`.

Commands that write files refuse to replace earlier output without
`--overwrite`, and a command that fails removes the output folder it
created (a training run keeps it once it holds a backup to resume from).
"""

import argparse
import json
import math
import os
import re
import shutil
import sys

from tfodevideo.constants import FRAME_DT
from tfodevideo.constants import PRECISIONS
from tfodevideo.training.choices import OBJECTIVES
from tfodevideo.training.choices import STRATEGIES
from tfodevideo.training.choices import TEST_SETS
from tfodevideo.training.choices import TUNERS

# OSError covers a full or read-only disk and unreadable files.
USER_ERRORS = (ValueError, OSError)
# `tfodevideo.data.files.DATA_DIR_ENV`, which `--data-dir` sets (that
# module's package imports TensorFlow, which `--help` must not).
DATA_DIR_ENV = "TFODEVIDEO_DATA_DIR"
# Most frames `predict` and `swap` make unless `--max-frames` says otherwise.
MAX_FRAMES = 2000
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def _one_line(error):
    """The message of `error` on one line: Keras wraps a layer's error in a
    multi-line report with the message in bold; keep that message only."""
    text = str(error)
    bold = re.search(r"\x1b\[1m(.*?)\x1b\[0m", text, re.S)
    if bold:
        text = bold.group(1)
    return " ".join(_ANSI.sub("", text).split()) or type(error).__name__


def _quiet_tensorflow(verbose):
    """Imports TensorFlow with its C++ log lines hidden (CUDA probes, CPU
    feature notes, written to the process's stderr before any setting can
    stop them) and silences its later logs and Python warnings."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    tf.get_logger().setLevel("ERROR")


def _train_workdir(args):
    return args.workdir or f"runs/{args.preset}{'_quick' if args.quick else ''}"


def _train(args):
    if args.cpu_replicas:
        from tfodevideo.training.distributed import split_cpu

        split_cpu(args.cpu_replicas)
    from tfodevideo.training.trainer import train

    overrides = _parse_overrides(args.set)
    for flag in ("epochs", "steps_per_epoch", "batch_size", "precision"):
        if getattr(args, flag) is not None:
            overrides[flag] = getattr(args, flag)
    record = train(
        args.preset,
        _train_workdir(args),
        quick=args.quick,
        overrides=overrides,
        overwrite=args.overwrite,
        verbose=1 if sys.stdout.isatty() else 2,
        strategy=args.strategy,
        seed=args.seed,
    )
    keys = ("model", "epochs_run", "replicas", "final_metrics", "wall_seconds")
    print(json.dumps({k: record[k] for k in keys if k in record}, indent=2))
    for path in record.get("pictures", []):
        print(f"wrote {path}")
    return 0


def _evaluate_swap(args):
    from tfodevideo.models import load_model
    from tfodevideo.training import swap_evaluation

    if args.test_set != "generated":
        raise ValueError(
            "`--swap` scores against clips drawn with another clip's look, which only "
            "generated clips have: pass --test-set generated. Received: "
            f"--test-set {args.test_set}"
        )
    model = load_model(args.model, args.precision)
    report = swap_evaluation.score_swap(
        model, args.dataset, num_pairs=args.num_sequences or 256,
        batch_size=args.batch_size, horizon=args.horizon,
    )
    report["model_path"] = args.model
    print(f"{report['dataset']} test pairs, {report['num_context']} -> {report['horizon']}, "
          f"{report['num_pairs']} pairs")
    names = list(report["summary"]["swap"])
    print(f"{'scored':20s}" + "".join(f"{n:>12s}" for n in names))
    for scored, values in report["summary"].items():
        print(f"{scored:20s}" + "".join(f"{values[n]:12.4f}" for n in names))
    gaps = report["gaps_db"]
    print(f"swap PSNR - prediction PSNR: {gaps['swap_minus_prediction']:+.2f} dB; "
          f"swap - own prediction vs swap truth: {gaps['swap_minus_own_vs_swap_truth']:+.2f} dB")
    if "centre_error_px" in report:
        print(f"centre of the swap vs its truth: {report['centre_error_px']['mean']:.2f} px")
    if args.out:
        picture = swap_evaluation.swap_grid(model, args.dataset, horizon=args.horizon)
        for path in swap_evaluation.write_swap_report(report, args.out, picture):
            print(f"wrote {path}")
    return 0


def _evaluate(args):
    from tfodevideo.training.evaluation import evaluate

    _check_output(args.out, args.overwrite)
    if args.swap:
        return _evaluate_swap(args)
    report = evaluate(
        args.model,
        test_set=args.test_set,
        horizon=args.horizon,
        num_sequences=args.num_sequences,
        batch_size=args.batch_size,
        dataset=args.dataset,
        out_dir=args.out,
        precision=args.precision,
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


def _times_from_flag(text):
    try:
        times = [float(t) for t in text.split(",")]
    except ValueError:
        raise ValueError(
            f"`--times` takes numbers separated by commas. Received: --times {text!r}"
        ) from None
    if not all(math.isfinite(t) for t in times):
        raise ValueError(f"`--times` must be finite numbers. Received: --times {text!r}")
    repeated = sorted({t for t in times if times.count(t) > 1})
    if repeated:
        raise ValueError(f"`--times` repeats {repeated}. Received: --times {text!r}")
    return times


def _check_time_flags(args):
    """The checks of the time flags that need no model, run before loading
    one; returns the `--times` list, or None for `--until`/`--step`."""
    if not (args.frame_dt > 0 and math.isfinite(args.frame_dt)):
        raise ValueError(f"`--frame-dt` must be a positive number. Received: --frame-dt {args.frame_dt}")
    if args.max_frames < 1:
        raise ValueError(f"`--max-frames` must be at least 1. Received: --max-frames {args.max_frames}")
    if args.step is not None and not (args.step > 0 and math.isfinite(args.step)):
        raise ValueError(f"`--step` must be a positive number. Received: --step {args.step}")
    if args.times is None:
        return None
    if args.until is not None or args.step is not None:
        raise ValueError(
            "Pass either `--times` or `--until`/`--step`, not both. Received: "
            f"--times {args.times!r} --until {args.until} --step {args.step}"
        )
    if not args.times.strip():
        raise ValueError("`--times` is empty: give times such as --times 1.0,1.5")
    times = _times_from_flag(args.times)
    if len(times) > args.max_frames:
        raise ValueError(
            f"`--times` asks for {len(times)} frames; the limit is {args.max_frames} "
            "(raise it with --max-frames)."
        )
    return times


def _query_times(args, model):
    """`--times 1,1.05` (in the order given) or `--until T --step S` after
    the last input frame; at most `--max-frames` of them."""
    times = _check_time_flags(args)
    if times is not None:
        return times
    last = (model.num_context - 1) * args.frame_dt
    step = args.step if args.step is not None else args.frame_dt
    until = args.until if args.until is not None else last + 18 * args.frame_dt
    if not (until > last and math.isfinite(until)):
        raise ValueError(
            f"`--until` must come after the last input frame, at t={last:g}. "
            f"Received: --until {until}"
        )
    count = int(math.floor((until - last) / step + 1e-6))
    if count > args.max_frames:
        raise ValueError(
            f"--until {until:g} --step {step:g} asks for {count} frames; the limit is "
            f"{args.max_frames} (raise it with --max-frames)."
        )
    if not count:
        raise ValueError(
            f"No frame fits between t={last:g} and --until {until:g} at --step {step:g}."
        )
    return [last + step * k for k in range(1, count + 1)]


def _check_output(path, overwrite, file_suffix=None):
    """Refuses to replace earlier output without `--overwrite`."""
    if not path:
        return
    if file_suffix:
        if os.path.isdir(path):
            raise ValueError(f"`--out` is a folder; give a {file_suffix} file. Received: --out {path}")
        if not path.lower().endswith(file_suffix):
            raise ValueError(f"`--out` must name a {file_suffix} file. Received: --out {path}")
        exists = os.path.exists(path)
    else:
        if os.path.isfile(path):
            raise ValueError(f"`--out` is a file; give a folder. Received: --out {path}")
        exists = os.path.isdir(path) and bool(os.listdir(path))
    if exists and not overwrite:
        raise ValueError(f"{path} already exists; pass --overwrite to replace it.")


def _read_clips(args, model, *paths):
    from tfodevideo.clip_io import read_clip

    notes = []
    size = model.image_size if args.resize else None
    clips = [read_clip(path, model.channels, image_size=size, notes=notes) for path in paths]
    for note in notes:
        print(f"tfodevideo: note: {note}", file=sys.stderr)
    return clips


def _predict(args):
    import numpy as np

    from tfodevideo import inference
    from tfodevideo.models import load_model

    _check_output(args.out, args.overwrite)
    _check_time_flags(args)
    if args.fps is not None and not 0 < args.fps <= 100:
        raise ValueError(f"`--fps` must be in (0, 100]. Received: --fps {args.fps}")
    model = load_model(args.model, args.precision)
    times = _query_times(args, model)
    (clip,) = _read_clips(args, model, args.input)
    frames = inference.predict_clip(model, clip, times, args.frame_dt)
    input_times = np.arange(model.num_context) * args.frame_dt
    for path in inference.write_prediction(
        frames, args.out, times, inputs=clip[: model.num_context], input_times=input_times,
        fps=args.fps, video=args.video, truth=inference.frames_at(clip, times, args.frame_dt),
    ):
        print(f"wrote {path}")
    return 0


def _swap(args):
    from tfodevideo import inference
    from tfodevideo import viz
    from tfodevideo.models import load_model

    _check_output(args.out, args.overwrite, file_suffix=".png")
    _check_time_flags(args)
    if args.pair is not None:
        return _swap_pair(args)
    if args.clip_a is None or args.clip_b is None:
        raise ValueError(
            "Give two clips (tfodevideo swap MODEL A B) or a generated test pair "
            "(--dataset NAME --pair K)."
        )
    model = load_model(args.model)
    times = sorted(_query_times(args, model))
    clip_a, clip_b = _read_clips(args, model, args.clip_a, args.clip_b)
    picture = inference.swap_picture(model, clip_a, clip_b, times, args.frame_dt)
    print(f"wrote {viz.save_png(args.out, picture)}")
    return 0


def _swap_pair(args):
    """`swap --dataset D --pair K`: test pair K with its counterfactual truth."""
    from tfodevideo import viz
    from tfodevideo.models import load_model
    from tfodevideo.training.evaluation import check_frames_fit
    from tfodevideo.training.swap_evaluation import score_swap
    from tfodevideo.training.swap_evaluation import swap_grid

    if args.clip_a is not None or args.times or args.until is not None:
        raise ValueError(
            "`--pair` draws both clips and predicts at their frame times: give no "
            "clip files, --times or --until with it."
        )
    if args.pair < 0:
        raise ValueError(f"`--pair` must be at least 0. Received: --pair {args.pair}")
    if args.dataset is None:
        raise ValueError("`--pair` needs the data set to draw from: pass --dataset NAME.")
    model = load_model(args.model)
    check_frames_fit(model, "generated", args.dataset, flags="--dataset")
    picture = swap_grid(model, args.dataset, num_pairs=1, first_pair=args.pair, frame_stride=1)
    report = score_swap(model, args.dataset, num_pairs=1, first_pair=args.pair)
    scores = report["summary"]["swap"]
    print(f"pair {args.pair} of {args.dataset}'s test clips: swap against its truth: "
          f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}; A's own prediction "
          f"against it: PSNR {report['summary']['own_vs_swap_truth']['psnr']:.2f} dB")
    print(f"wrote {viz.save_png(args.out, picture)}")
    return 0


def _export(args):
    from tfodevideo.export import export_model
    from tfodevideo.models import load_model

    model = load_model(args.model)
    result = export_model(model, args.name, args.base_dir, args.version, verify=args.verify)
    print(json.dumps(result, indent=2))
    return 0


def _tune(args):
    from tfodevideo.training.tuning import tune

    overrides = _parse_overrides(args.set)
    if args.precision is not None:
        overrides["precision"] = args.precision
    result = tune(
        args.preset, args.directory or f"tuning/{args.preset}", tuner=args.tuner,
        max_trials=args.max_trials, quick=args.quick, overrides=overrides,
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
    from tfodevideo.latents import held_out_latent_report
    from tfodevideo.models import load_model
    from tfodevideo.training.evaluation import check_frames_fit

    _check_output(args.out, args.overwrite)
    if args.num_clips < 2:
        raise ValueError(
            "`--num-clips` must be at least 2 (the latent-to-position map is fitted on "
            f"half the clips and scored on the rest). Received: --num-clips {args.num_clips}"
        )
    model = load_model(args.model)
    check_frames_fit(model, "generated", args.dataset, flags="--dataset")
    if args.probe_clips and args.probe_clips < 4:
        raise ValueError(
            "`--probe-clips` must be 0 (no probes) or at least 4 (the probes are fitted "
            f"on half the clips and scored on the rest). Received: --probe-clips "
            f"{args.probe_clips}"
        )
    report = held_out_latent_report(model, args.dataset, args.num_clips, args.out,
                                    probe_clips=args.probe_clips)
    print(json.dumps(report, indent=2))
    return 0


def _presets(args):
    from tfodevideo.training.presets import PRESETS

    for name, preset in PRESETS.items():
        print(f"{name:16s} {preset.description}")
    return 0


def _preview(args):
    from tfodevideo.preview import write_previews

    _check_output(args.out, args.overwrite)
    written, skipped = write_previews(
        args.out, num_clips=args.num_clips, seed=args.seed, data_dir=args.data_dir
    )
    for path in written:
        print(f"wrote {path}")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    return 0


def _add_export(commands, common):
    export = commands.add_parser(
        "export", parents=[common], help="write a TF Serving SavedModel (saved_models/NAME/VERSION)"
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
    export.set_defaults(run=_export)  # Writes atomically: nothing to clean up.


def _add_tune(commands, common):
    tune = commands.add_parser("tune", parents=[common], help="search a video preset's hyperparameters")
    tune.add_argument("preset", help="a video preset from `tfodevideo presets`")
    tune.add_argument("--tuner", default="random", choices=list(TUNERS))
    tune.add_argument("--max-trials", type=int, default=10,
                      help="trials (for hyperband: iterations of its brackets)")
    tune.add_argument("--directory", help="search folder, resumed if it exists "
                      "(default tuning/PRESET)")
    tune.add_argument("--quick", action="store_true", help="the minutes-long variant")
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a preset field, as for train")
    tune.add_argument("--objective", default="val_psnr",
                      choices=list(OBJECTIVES))
    tune.add_argument("--tune-learning-rate", action="store_true")
    _add_precision(tune, "build and train every trial in this precision")
    tune.add_argument("--tune-tolerance", action="store_true", help="search the ODE's rtol")
    tune.add_argument("--tune-batch-size", action="store_true")
    tune.add_argument("--seed", type=int, default=0,
                      help="seeds the tuner, every trial's weights and its training stream")
    tune.set_defaults(run=_tune)


def _common_options(default):
    """`--verbose`, `--debug` and `--data-dir`, accepted before or after the
    command; `default=argparse.SUPPRESS` on the commands' copy keeps a value
    given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow's log lines and warnings")
    common.add_argument("--debug", action="store_true", default=default,
                        help="show the traceback of an error")
    common.add_argument(
        "--data-dir", default=default,
        help="folder holding mnist.npz and the Moving MNIST test file "
        "(default: $TFODEVIDEO_DATA_DIR, else download MNIST through Keras)",
    )
    return common


def _add_times(command):
    command.add_argument("--times", help="query times in any order, e.g. 1.0,1.05,2.5")
    command.add_argument("--until", type=float, help="predict up to this time")
    command.add_argument("--step", type=float,
                         help="time between predicted frames (default: --frame-dt)")
    command.add_argument("--frame-dt", type=float, default=FRAME_DT,
                         help="time between the clip's frames")
    command.add_argument("--max-frames", type=int, default=MAX_FRAMES,
                         help="refuse to predict more frames than this")
    command.add_argument("--resize", action="store_true",
                         help="resize the clip's frames to the model's size")
    command.add_argument("--overwrite", action="store_true", help="replace earlier output")


def _add_preview(commands, common):
    preview = commands.add_parser("preview", parents=[common],
                                  help="write a PNG strip of every data set")
    preview.add_argument("--out", default="preview", help="output folder")
    preview.add_argument("--num-clips", type=int, default=4, help="clips per data set")
    preview.add_argument("--seed", type=int, default=0, help="data seed")
    preview.add_argument("--overwrite", action="store_true", help="replace earlier output")
    preview.set_defaults(run=_preview, outputs=lambda args: [args.out])


def _add_precision(parser, text):
    parser.add_argument("--precision", choices=list(PRECISIONS), help=text)


def _add_train(commands, common):
    train = commands.add_parser("train", parents=[common], help="train a preset with model.fit")
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
    _add_precision(train, "compute in this precision (default: the preset's; run.json "
                   "records it)")
    train.add_argument("--overwrite", action="store_true",
                       help="train anew over a finished run in the workdir")
    train.add_argument(
        "--strategy", default="default", choices=list(STRATEGIES),
        help="tf.distribute strategy; multi_worker reads the cluster from TF_CONFIG",
    )
    train.add_argument(
        "--cpu-replicas", type=int, metavar="N",
        help="split the CPU into N logical devices (to try mirrored without GPUs)",
    )
    train.set_defaults(run=_train, outputs=lambda args: [_train_workdir(args)])


def _add_evaluate(commands, common):
    evaluate = commands.add_parser(
        "evaluate", parents=[common],
        help="score a model beside the black-frame and copy-last baselines",
    )
    evaluate.add_argument("model", help="a .keras file of a VideoODE or LatentODE")
    evaluate.add_argument("--test-set", default="standard", choices=list(TEST_SETS))
    evaluate.add_argument("--horizon", type=int, help="frames to predict (default: to frame 20)")
    evaluate.add_argument("--num-sequences", type=int,
                          help="sequences to score (default: all, or 1000 generated)")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--dataset", default="mmnist2",
                          help="data set of generated test clips")
    evaluate.add_argument("--swap", action="store_true",
                          help="score swap_appearance on pairs of generated test clips "
                               "against the clip drawn with the other's look "
                               "(--num-sequences pairs, default 256); writes swap.json "
                               "and swap_grid.png")
    evaluate.add_argument("--out", help="folder for evaluation.json, per_frame.csv, curves.png")
    _add_precision(evaluate, "compute in this precision (default: the one it was saved with)")
    evaluate.add_argument("--overwrite", action="store_true", help="replace earlier output")
    evaluate.set_defaults(run=_evaluate, outputs=lambda args: [args.out])


def _add_predict(commands, common):
    predict = commands.add_parser("predict", parents=[common],
                                  help="predict frames at any times from a clip")
    predict.add_argument("model")
    predict.add_argument("input", help="a .npy, .npz, GIF or video file (MP4...), "
                         "or a folder of PNGs; where it holds a frame at every time "
                         "asked, those are shown as the truth")
    predict.add_argument("--out", default="prediction", help="output folder")
    predict.add_argument("--fps", type=float,
                         help="frames per second of the animation (default: 1 / step)")
    predict.add_argument("--video", default="gif", choices=["gif", "mp4", "both"],
                         help="animation format")
    _add_times(predict)
    _add_precision(predict, "compute in this precision (default: the one it was saved with)")
    predict.set_defaults(run=_predict, outputs=lambda args: [args.out])


def _add_swap(commands, common):
    swap = commands.add_parser("swap", parents=[common],
                               help="draw clip A's motion with clip B's look")
    swap.add_argument("model")
    swap.add_argument("clip_a", nargs="?", help="the clip whose motion is drawn")
    swap.add_argument("clip_b", nargs="?", help="the clip whose look is used")
    swap.add_argument("--dataset", help="with --pair: the generated data set")
    swap.add_argument("--pair", type=int,
                      help="instead of clips: test pair K of --dataset (clips 2K and "
                           "2K+1), drawn beside the truth and scored")
    swap.add_argument("--out", default="swap.png", help="output PNG")
    _add_times(swap)
    swap.set_defaults(run=_swap, outputs=lambda args: [args.out])


def _add_latents(commands, common):
    latents = commands.add_parser(
        "latents", parents=[common],
        help="PCA figures: latent against true positions, encoded against integrated",
    )
    latents.add_argument("model", help="a .keras file of a VideoODE or LatentODE")
    latents.add_argument("--dataset", default="ball",
                         help="data set of the clips (ball, mmnist1...)")
    latents.add_argument("--num-clips", type=int, default=32)
    latents.add_argument("--probe-clips", type=int, default=0,
                         help="also fit linear probes of digit class and positions from "
                              "z_a and from Z0 on this many test clips (e.g. 2000)")
    latents.add_argument("--out", default="latents", help="output folder")
    latents.add_argument("--overwrite", action="store_true", help="replace earlier output")
    latents.set_defaults(run=_latents, outputs=lambda args: [args.out])


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfodevideo", parents=[_common_options(False)],
        description="Continuous-time video models with latent Neural ODEs.",
    )
    parser.set_defaults(data_dir=None)
    common = _common_options(argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_preview(commands, common)
    listing = commands.add_parser("presets", parents=[common], help="list the named experiments")
    listing.set_defaults(run=_presets)
    _add_train(commands, common)
    _add_evaluate(commands, common)
    _add_predict(commands, common)
    _add_swap(commands, common)
    _add_export(commands, common)
    _add_tune(commands, common)
    _add_latents(commands, common)
    return parser


def _created(paths):
    """Which of `paths` do not exist yet: the outputs a failure must remove."""
    return [path for path in paths if path and not os.path.exists(path)]


def _remove_failed_outputs(paths):
    for path in paths:
        if os.path.isdir(path) and not os.path.isdir(os.path.join(path, "backup")):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.isfile(path):
            os.remove(path)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.run is not _presets:
        _quiet_tensorflow(args.verbose)
    if args.data_dir is not None:
        os.environ[DATA_DIR_ENV] = args.data_dir
    created = _created(getattr(args, "outputs", lambda args: [])(args))
    try:
        return args.run(args)
    except (Exception, KeyboardInterrupt) as error:
        _remove_failed_outputs(created)
        if args.debug or isinstance(error, KeyboardInterrupt):
            raise
        if isinstance(error, USER_ERRORS):
            print(f"tfodevideo: error: {_one_line(error)}", file=sys.stderr)
            return 2
        print(f"tfodevideo: internal error: {type(error).__name__}: {_one_line(error)} "
              "(run again with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
