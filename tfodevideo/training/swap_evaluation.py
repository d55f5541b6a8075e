"""Scoring an appearance swap against the truth.

A generated data set knows both the motion and the look of every clip, so
it can draw clip A's motion with clip B's look
(`VideoSource.counterfactual_pairs`): what a perfect
`swap_appearance(A, B)` shows. `score_swap` scores the model's swap against
that truth beside three references on the same frames:

- `own_vs_swap_truth`: A's own prediction against the swap's truth, what a
  model that ignored B's look would score;
- `prediction`: A's own prediction against A's truth, the model's ordinary
  prediction quality;
- the baselines of `tfodevideo.baselines` (black frames, A's last input
  frame repeated) against the swap's truth.

For sources with one object per clip it also measures the motion the swap
keeps: the distance in pixels between the intensity centroids (background
subtracted) of the swapped frames and of their truth; a blank swapped frame
counts as the image's diagonal.
"""

import json
import os

import numpy as np

from tfodevideo import viz
from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.baselines import BASELINES
from tfodevideo.data.pipelines import select_frames
from tfodevideo.data.registry import HELD_OUT_SEEDS
from tfodevideo.data.registry import get_spec
from tfodevideo.data.registry import make_source
from tfodevideo.data.time_grids import regular_grid
from tfodevideo.metrics import FrameScores
from tfodevideo.metrics import centroids

REFERENCES = ("swap", "own_vs_swap_truth", "prediction", *BASELINES)


def swap_batches(model, dataset, num_pairs, batch_size, split="test", seed=None, horizon=None,
                 first_pair=0):
    """Pairs of held-out clips with their swap truth, batched in pair order.

    Yields:
        Dicts of `inputs_a`, `inputs_b` (model inputs: the first
        `num_context` frames, then `horizon` query frames), `truth_a`,
        `truth_swap` (the frames at the query times) and `single_object`,
        from pair `first_pair` on.
    """
    check_choice("split", split, tuple(HELD_OUT_SEEDS))
    num_pairs = check_int("num_pairs", num_pairs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if horizon is None:  # Up to the data set's clip length.
        spec = get_spec(dataset)
        horizon = spec.num_context + spec.num_target - model.num_context
    horizon = check_int("horizon", horizon, minimum=1)
    seed = HELD_OUT_SEEDS[split] if seed is None else seed
    source = make_source(dataset, split, num_frames=model.num_context + horizon)
    context, target = regular_grid(source.num_frames, model.num_context, horizon)
    single = getattr(source, "num_digits", 1) == 1
    for start in range(0, num_pairs, batch_size):
        pairs = source.counterfactual_pairs(min(batch_size, num_pairs - start), seed,
                                            first_pair + start)
        inputs_a, truth_a = select_frames(pairs["a"]["frames"], context, target,
                                          source.frame_dt)
        inputs_b, _ = select_frames(pairs["b"]["frames"], context, target, source.frame_dt)
        _, truth_swap = select_frames(pairs["swapped"]["frames"], context, target,
                                      source.frame_dt)
        yield {"inputs_a": inputs_a, "inputs_b": inputs_b, "truth_a": truth_a,
               "truth_swap": truth_swap, "single_object": single}


def score_swap(model, dataset, num_pairs=256, batch_size=32, split="test", seed=None,
               horizon=None, first_pair=0):
    """Scores `model.swap_appearance` on generated pairs against the truth.

    Args:
        model: a model with an appearance vector (`VideoODE`).
        dataset: a generated data set whose look varies (`mmnist1`,
            `mmnist2`, `ball_looks`).
        num_pairs: pairs scored (pair `k` is clips `2k` and `2k + 1` of the
            split's stream).
        batch_size: pairs per batch.
        split: `"test"` (for the record) or `"validation"` (for choices).
        seed: stream of the split (default: the split's own seed).
        horizon: frames predicted after the inputs (default: up to the data
            set's clip length, 20 frames).
        first_pair: index of the first pair scored.

    Returns:
        A dict: `summary` and `curves` (per frame index) of every metric for
        each of `REFERENCES`; `centre_error_px` (mean and per frame) where
        clips hold one object; `gaps_db`: swap PSNR minus ordinary
        prediction PSNR, and swap PSNR minus `own_vs_swap_truth` PSNR.
    """
    scores = {name: FrameScores() for name in REFERENCES}
    errors = []
    for batch in swap_batches(model, dataset, num_pairs, batch_size, split, seed, horizon,
                              first_pair):
        swapped = model.swap_appearance(batch["inputs_a"], batch["inputs_b"])
        own = model(batch["inputs_a"], training=False)
        truth = batch["truth_swap"]
        scores["swap"].update(truth, swapped)
        scores["own_vs_swap_truth"].update(truth, own)
        scores["prediction"].update(batch["truth_a"], own)
        for name, baseline in BASELINES.items():
            scores[name].update(truth, baseline(batch["inputs_a"], truth.shape[1]))
        if batch["single_object"]:
            # No noise threshold: a digit's own pixels are not noise (the
            # threshold would read them as such); the background is still
            # subtracted, so a haze does not pull the centre to the middle.
            errors.append(np.linalg.norm(
                centroids(swapped, noise_sigmas=0.0) - centroids(truth, noise_sigmas=0.0),
                axis=-1))
    summary = {name: s.summary() for name, s in scores.items()}
    report = {
        "dataset": dataset,
        "split": split,
        "seed": HELD_OUT_SEEDS[split] if seed is None else seed,
        "num_pairs": scores["swap"].count,
        "num_context": model.num_context,
        "horizon": len(scores["swap"].curves()["psnr"]),
        "summary": summary,
        "curves": {name: {k: v.tolist() for k, v in s.curves().items()}
                   for name, s in scores.items()},
        "gaps_db": {
            "swap_minus_prediction": summary["swap"]["psnr"] - summary["prediction"]["psnr"],
            "swap_minus_own_vs_swap_truth":
                summary["swap"]["psnr"] - summary["own_vs_swap_truth"]["psnr"],
        },
    }
    if errors:
        # NaN where a swapped frame is blank: no centre to measure.
        error = np.concatenate(errors)
        blank = np.isnan(error)
        # A blank frame has no centre: it counts as missing the whole image.
        error = np.where(blank, float(np.hypot(*truth.shape[2:4])), error)
        report["centre_error_px"] = {
            "mean": float(error.mean()),
            "per_frame": error.mean(axis=0).tolist(),
            "blank_frames": int(blank.sum()),
        }
    return report


def swap_grid(model, dataset, num_pairs=8, split="test", seed=None, horizon=None,
              frame_stride=3, first_pair=0):
    """A picture of `num_pairs` consecutive pairs from `first_pair` (none
    picked by hand): per pair, A's inputs, A's truth, B's inputs, the swap
    and its truth, every `frame_stride`-th predicted frame.

    Returns:
        uint8 RGB image.
    """
    batch = next(swap_batches(model, dataset, num_pairs, num_pairs, split, seed, horizon,
                              first_pair))
    swapped = model.swap_appearance(batch["inputs_a"], batch["inputs_b"]).numpy()
    truth = batch["truth_swap"].numpy()
    times = batch["inputs_a"]["query_times"].numpy()[0]
    shown = slice(None, None, frame_stride)
    labels = viz.time_labels(times[shown])
    input_labels = viz.time_labels(batch["inputs_a"]["input_times"].numpy()[0])
    blocks = []
    for k in range(len(swapped)):
        blocks += [
            viz.labelled_strip(batch["inputs_a"]["frames"].numpy()[k], input_labels,
                               f"pair {first_pair + k}:\nA inputs"),
            viz.labelled_strip(batch["truth_a"].numpy()[k][shown], labels, "A truth"),
            viz.labelled_strip(batch["inputs_b"]["frames"].numpy()[k], input_labels,
                               "B inputs"),
            viz.labelled_strip(swapped[k][shown], labels, "A's motion,\nB's look"),
            viz.labelled_strip(truth[k][shown], labels, "swap truth"),
        ]
    return viz.stack_images(blocks)


def write_swap_report(report, out_dir, picture=None):
    """Writes `swap.json` (and `swap_grid.png`); returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = [os.path.join(out_dir, "swap.json")]
    with open(paths[0], "w") as f:
        json.dump(report, f, indent=2)
    if picture is not None:
        paths.append(viz.save_png(os.path.join(out_dir, "swap_grid.png"), picture))
    return paths
