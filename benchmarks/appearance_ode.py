"""Appearance that changes: a model with an appearance ODE against one without.

The report proposes a Neural ODE on the appearance vector for looks that
change over a clip (its section 6.4; `VideoODE(appearance_ode=True)`). The
`ball_growing` data set draws a Gaussian ball whose width grows or shrinks
over the clip, which a fixed appearance vector cannot follow: a what/where
model (`ball_glyph`) draws one glyph per clip, so without the appearance
ODE its ball keeps one width. This benchmark scores groups of trained
models (e.g. with and without the ODE, one model per seed) on the same
held-out clips: the frame metrics per predicted frame beside black frames
and copy-last, the predicted ball's width (`metrics.widths`) against the
true width the generator drew, in pixels, and whether the predicted width
follows the true one across clips (`width_following`): a lower frame error
alone does not say that the look changes as it should. Choose on `validation`;
`test` is scored once.

    python -m benchmarks.appearance_ode \\
        --group appearance_ode runs/growing/ode_true_s0/best.keras runs/growing/ode_true_s1/best.keras \\
        --group fixed runs/growing/ode_false_s0/best.keras runs/growing/ode_false_s1/best.keras \\
        --split validation --clips 256 \\
        --json benchmarks/results/appearance_ode/ball_growing_validation.json
"""

import argparse
import sys
import time
import warnings

import numpy as np

from benchmarks import common
from benchmarks.seeds import spread
from tfodevideo import baselines
from tfodevideo.data.registry import held_out_batches
from tfodevideo.metrics import FrameScores, widths
from tfodevideo.models import load_model
from tfodevideo.training.evaluation import score_predictors


def score_model(model, batches):
    """Frame scores and widths of one model on `batches` of
    `(inputs, targets, clips)`.

    Returns:
        `(FrameScores, predicted, truth)`: the predicted ball's width and the
        true one `(clips, T)` in pixels (NaN where the prediction shows no
        ball).
    """
    scores, predicted_widths, true_widths = FrameScores(), [], []
    context = model.num_context
    for inputs, targets, clips in batches:
        predicted = model(inputs, training=False)
        scores.update(targets, predicted)
        predicted_widths.append(widths(np.asarray(predicted)))
        true_widths.append(clips["sigmas"].numpy()[:, context:])
    return scores, np.concatenate(predicted_widths), np.concatenate(true_widths)


def width_following(predicted, truth):
    """How far the predicted widths follow the true ones across clips:
    the correlation of predicted and true width at the first predicted
    frame (does the model read the width?), and the slope and correlation
    of the predicted change over the predicted frames against the true
    change (does it follow the growth? 1 and 1 when it does; a fixed look
    gives a slope near 0). Clips with a frame without a ball are left out."""
    kept = np.isfinite(predicted[:, 0]) & np.isfinite(predicted[:, -1])
    if kept.sum() < 3:
        return {"clips": int(kept.sum())}
    first = np.corrcoef(predicted[kept, 0], truth[kept, 0])[0, 1]
    change, true_change = (predicted[kept, -1] - predicted[kept, 0],
                           truth[kept, -1] - truth[kept, 0])
    return {"clips": int(kept.sum()),
            "first_frame_corr": float(first),
            "change_slope": float(np.polyfit(true_change, change, 1)[0]),
            "change_corr": float(np.corrcoef(change, true_change)[0, 1])}


def nan_mean(values, axis=None):
    """Mean over what is not NaN, as floats with None for NaN (a frame in
    which no prediction showed a ball), so that the JSON stays valid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # All NaN: no ball.
        mean = np.nanmean(values, axis=axis)
    if np.ndim(mean) == 0:
        return None if np.isnan(mean) else float(mean)
    return [None if np.isnan(v) else float(v) for v in mean]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", nargs="+", action="append", required=True,
                        metavar=("NAME", "MODEL"),
                        help="a name, then the trained models (.keras) of that setting, "
                             "one per seed; repeat for each setting")
    parser.add_argument("--dataset", default="ball_growing")
    parser.add_argument("--split", default="validation", choices=["validation", "test"])
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--horizon", type=int, default=18,
                        help="frames predicted after the inputs (the data set's: 18)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    for group in args.group:
        if len(group) < 2:
            parser.error(f"--group takes a name and at least one model. Received: {group}")
    start = time.time()
    models = {name: [load_model(path) for path in paths] for name, *paths in args.group}
    contexts = {m.num_context for group in models.values() for m in group}
    if len(contexts) != 1:
        raise ValueError(f"The models read different numbers of input frames: {contexts}. "
                         "Compare models of one setting.")
    context = contexts.pop()
    batches = list(held_out_batches(args.dataset, context, args.horizon, args.clips,
                                    args.batch_size, args.split))
    results, groups = {}, {}
    for name, paths in ((n, p) for n, *p in args.group):
        for path, model in zip(paths, models[name]):
            scores, predicted, truth = score_model(model, batches)
            error = np.abs(predicted - truth)
            results[path] = {
                "group": name,
                "summary": scores.summary(),
                "curves": {k: v.tolist() for k, v in scores.curves().items()},
                "width_error_px": {"mean": nan_mean(error),
                                   "last_frame": nan_mean(error[:, -1]),
                                   "per_frame": nan_mean(error, axis=0),
                                   "no_ball_frames": int(np.isnan(error).sum())},
                "width_following": width_following(predicted, truth),
            }
        rows = [results[path] for path in paths]
        groups[name] = {
            "models": paths,
            "psnr": spread([r["summary"]["psnr"] for r in rows]),
            "ssim_paper": spread([r["summary"]["ssim_paper"] for r in rows]),
            "mse_frame": spread([r["summary"]["mse_frame"] for r in rows]),
            "width_error_px": spread([r["width_error_px"]["mean"] for r in rows]),
            "width_error_last_frame_px": spread([r["width_error_px"]["last_frame"]
                                                 for r in rows]),
            **{f"width_{key}": spread([r["width_following"].get(key) for r in rows])
               for key in ("first_frame_corr", "change_slope", "change_corr")},
        }
    baseline_scores = score_predictors(baselines.BASELINES,
                                       [(inputs, targets) for inputs, targets, _ in batches])
    references = {name: {"summary": scores.summary(),
                         "curves": {k: v.tolist() for k, v in scores.curves().items()}}
                  for name, scores in baseline_scores.items()}
    # The width a fixed look would keep at best: the true width at the last
    # input frame, held.
    held = np.concatenate([
        np.abs(sigmas[:, context:] - sigmas[:, context - 1:context])
        for sigmas in (clips["sigmas"].numpy() for _, _, clips in batches)])
    result = {
        "command": common.command("benchmarks.appearance_ode", argv),
        "machine": common.machine(),
        "dataset": args.dataset,
        "split": args.split,
        "num_clips": int(held.shape[0]),
        "num_context": context,
        "horizon": args.horizon,
        "groups": groups,
        "models": results,
        "references": references,
        "width_error_if_held_px": {"mean": float(held.mean()),
                                   "last_frame": float(held[:, -1].mean())},
        "seconds": time.time() - start,
    }
    common.save(result, args.json)
    for name, row in groups.items():
        print(f"{name:16s} psnr {row['psnr']['mean']:.2f} +- {row['psnr']['std']:.2f}  "
              f"width error {row['width_error_px']['mean']} +- {row['width_error_px']['std']} "
              f"px (last frame {row['width_error_last_frame_px']['mean']}); width follows: "
              f"first-frame corr {row['width_first_frame_corr']['mean']}, change slope "
              f"{row['width_change_slope']['mean']}, corr {row['width_change_corr']['mean']}")
    for name, row in references.items():
        print(f"{name:16s} psnr {row['summary']['psnr']:.2f}")
    print(f"width held from the last input: error {result['width_error_if_held_px']['mean']:.3f} px "
          f"(last frame {result['width_error_if_held_px']['last_frame']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
