"""Latent diagnostics: does the latent track the objects, and does the ODE follow the encoder?

The report's figures 4, 5 and 7. For a batch of clips with known object
positions:

- the *integrated* path: the ODE's latent positions at every frame time,
  started from the first input window;
- the *encoded* path: the position the encoder reads from each sliding
  window of input frames, placed at that window's anchor time.

Both are projected on the two principal components of the integrated
latents. `position_r2` says how much of the true coordinates a linear map of
the latent explains on held-out clips (1 = the latent holds the position
linearly); `path_gap` how far the encoded path lies from the integrated one,
relative to the latent's spread (0 = the ODE moves exactly as the encoder
reads).
"""

import json
import os

import numpy as np

from tfodevideo import viz
from tfodevideo._checks import check_int
from tfodevideo.data.files import load_mnist
from tfodevideo.data.registry import HELD_OUT_SEEDS
from tfodevideo.data.registry import held_out_clips
from tfodevideo.data.registry import make_source


def latent_paths(model, frames, frame_dt):
    """Integrated and encoded latent paths of whole clips.

    Args:
        model: a `VideoODE` or `LatentODE`.
        frames: `(B, T, H, W, C)` clips of at least `num_context` frames.
        frame_dt: time between frames.

    Returns:
        A dict of numpy arrays: `times` `(T,)`, `integrated` `(B, T, D)`,
        `encoded_times` `(T - num_context + 1,)` and `encoded`
        `(B, T - num_context + 1, D)`, with map latents flattened to `D`.
    """
    frames = np.asarray(frames, np.float32)
    batch, steps = frames.shape[:2]
    context = model.num_context
    if steps < context:
        raise ValueError(
            f"`frames` must hold at least num_context={context} frames. Received: "
            f"shape {frames.shape}"
        )
    times = np.arange(steps, dtype=np.float32) * frame_dt

    def window(start):
        return {
            "frames": frames[:, start : start + context],
            "input_times": np.tile(times[start : start + context], (batch, 1)),
            "query_times": times,
        }

    integrated = model.forward(window(0), training=False, return_latents=True)["latents"]
    encoded, encoded_times = [], []
    for start in range(steps - context + 1):
        inputs = window(start)
        state, _ = model.encode(inputs["frames"], inputs["input_times"], training=False)
        encoded.append(_positions(state))
        encoded_times.append(float(model.anchor_times(inputs["input_times"])[0]))
    return {
        "times": times,
        "integrated": np.asarray(integrated).reshape(batch, steps, -1),
        "encoded_times": np.asarray(encoded_times, np.float32),
        "encoded": np.stack(encoded, axis=1).reshape(batch, len(encoded), -1),
    }


def _positions(state):
    """The position half of a second-order state `[z, v]` (last axis)."""
    state = np.asarray(state)
    return state[..., : state.shape[-1] // 2]


def pca(points, num_components=2):
    """Principal axes of `(N, D)` points.

    Returns:
        `(mean (D,), components (k, D), explained variance ratio (k,))`.
    """
    points = np.asarray(points, np.float64)
    mean = points.mean(axis=0)
    _, singular, axes = np.linalg.svd(points - mean, full_matrices=False)
    variance = singular**2
    ratio = variance / max(variance.sum(), 1e-300)
    return mean, axes[:num_components], ratio[:num_components]


def position_r2(latents, coordinates, train_fraction=0.5):
    """Held-out R^2 of a least-squares linear map from latents to coordinates.

    Args:
        latents: `(B, T, D)`.
        coordinates: `(B, T, K)` true object coordinates.
        train_fraction: share of the clips the map is fitted on; the rest
            score it.

    Returns:
        R^2 over all coordinates of the held-out clips (can be negative).
    """
    latents = np.asarray(latents, np.float64)
    coordinates = np.asarray(coordinates, np.float64)
    if len(latents) < 2:
        raise ValueError(
            "The held-out R^2 needs at least 2 clips: some to fit the map, the "
            f"others to score it. Received: {len(latents)} clip(s)"
        )
    split = max(1, min(len(latents) - 1, int(round(len(latents) * train_fraction))))

    def design(x):
        flat = x.reshape(-1, x.shape[-1])
        return np.concatenate([flat, np.ones((len(flat), 1))], axis=1)

    weights, *_ = np.linalg.lstsq(
        design(latents[:split]), coordinates[:split].reshape(-1, coordinates.shape[-1]),
        rcond=None,
    )
    truth = coordinates[split:].reshape(-1, coordinates.shape[-1])
    residual = np.sum((design(latents[split:]) @ weights - truth) ** 2)
    total = np.sum((truth - truth.mean(axis=0)) ** 2)
    return float(1.0 - residual / max(total, 1e-300))


def path_gap(paths):
    """Mean distance between the encoded and integrated paths at the same
    times, divided by the integrated latents' standard deviation."""
    times = paths["times"]
    index = np.searchsorted(times, paths["encoded_times"])
    integrated = paths["integrated"][:, index]
    distance = np.linalg.norm(paths["encoded"] - integrated, axis=-1).mean()
    spread = np.sqrt(paths["integrated"].reshape(-1, integrated.shape[-1]).var(0).sum())
    return float(distance / max(spread, 1e-12))


def write_latent_report(model, clips, frame_dt, out, num_shown=4):
    """Writes `latent_vs_true.png`, `encoded_vs_integrated.png`, `latents.json`.

    Args:
        model: a `VideoODE` or `LatentODE`.
        clips: dict with `frames` `(B, T, H, W, C)` and `positions`
            `(B, T, ...)` true object coordinates (of any trailing shape).
        frame_dt: time between frames.
        out: output folder.
        num_shown: clips drawn in the figures.

    Returns:
        The dict written to `latents.json`.
    """
    num_shown = check_int("num_shown", num_shown, minimum=1)
    os.makedirs(out, exist_ok=True)
    paths = latent_paths(model, clips["frames"], frame_dt)
    coordinates = np.asarray(clips["positions"], np.float64)
    coordinates = coordinates.reshape(*coordinates.shape[:2], -1)
    mean, axes, ratio = pca(paths["integrated"].reshape(-1, paths["integrated"].shape[-1]))
    project = lambda x: (x - mean) @ axes.T  # noqa: E731
    integrated, encoded = project(paths["integrated"]), project(paths["encoded"])
    if integrated.shape[-1] < 2:  # A 1-D latent: draw it against zeros.
        integrated = np.pad(integrated, [(0, 0), (0, 0), (0, 1)])
        encoded = np.pad(encoded, [(0, 0), (0, 0), (0, 1)])
    first = viz.plot_latent_vs_true(
        coordinates, integrated, ratio, os.path.join(out, "latent_vs_true.png"), num_shown
    )
    second = viz.plot_encoded_vs_integrated(
        integrated[:num_shown], encoded[:num_shown],
        os.path.join(out, "encoded_vs_integrated.png"),
    )

    report = {
        "num_clips": int(len(paths["integrated"])),
        "latent_dim": int(paths["integrated"].shape[-1]),
        "pca_explained_variance": [float(r) for r in ratio],
        "position_r2_integrated": position_r2(paths["integrated"], coordinates),
        "position_r2_encoded": position_r2(
            paths["encoded"], coordinates[:, np.searchsorted(paths["times"], paths["encoded_times"])]
        ),
        "path_gap": path_gap(paths),
        "figures": [first, second],
    }
    with open(os.path.join(out, "latents.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


def held_out_latent_report(model, dataset, num_clips, out, probe_clips=0):
    """`write_latent_report` on the first `num_clips` whole test clips of the
    data set named `dataset` (a key of `tfodevideo.data.DATASETS`), with
    `disentanglement_probes` on `probe_clips` test clips when positive."""
    source = make_source(dataset, "test")
    clips = next(held_out_clips(source, num_clips, num_clips))
    report = write_latent_report(model, clips, source.frame_dt, out)
    if probe_clips:
        report["probes"] = disentanglement_probes(model, dataset, probe_clips)
        with open(os.path.join(out, "latents.json"), "w") as f:
            json.dump(report, f, indent=2)
    return report


def disentanglement_probes(model, dataset, num_clips=4000, split="test", batch_size=100,
                           train_fraction=0.5):
    """Linear probes of what the initial state `Z0` and the appearance `z_a` hold.

    On held-out clips, read by `model.encode` from their input frames:

    - the class of each clip's first digit (Moving MNIST), predicted by a
      logistic regression (scikit-learn, standardised features) from `z_a`
      and, apart, from `Z0`: accuracy on the clips it was not fitted on;
    - the true positions of every object at the anchor frame (the input
      frame `Z0` belongs to), predicted by ridge regression (standardised
      features, penalty chosen by cross-validation on the fitting clips)
      from each: R^2 on the other clips, averaged over the coordinates.

    A disentangled model holds the class in `z_a` and not in `Z0`, and the
    positions in `Z0` and not in `z_a`.

    Args:
        model: a `VideoODE` or `LatentODE` (no `z_a`: its entries are None).
        dataset: a generated data set (`mmnist1`, `mmnist2`, `ball_looks`...).
        num_clips: clips in all; `train_fraction` of them fit the probes. A
            linear read of a 32x32 cut-out's class needs a few thousand: with
            1,000 fitting clips it scores about 1.5 points lower than with 2,000.
        split: `"test"` or `"validation"`.
        batch_size: clips encoded at once.

    Returns:
        A dict of `num_clips`, `class_accuracy` (`appearance`, `dynamics`,
        and `majority`, the share of the most common class) where the data
        set has digit classes, `position_r2` (`appearance`, `dynamics`), and
        `appearance_order_sensitivity`: the mean square change of `z_a` when
        the input frames come in reverse order, over its variance across
        clips (what the permutation-invariance loss drives to 0; None
        without `z_a`).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    num_clips = check_int("num_clips", num_clips, minimum=4)
    source = make_source(dataset, split)
    context = model.num_context
    times = np.tile(np.arange(context, dtype=np.float32) * source.frame_dt, (batch_size, 1))
    anchor = model.head.anchor_index % context  # The input frame Z0 belongs to.
    states, looks, reversed_looks, positions, digits = [], [], [], [], []
    for start in range(0, num_clips, batch_size):
        count = min(batch_size, num_clips - start)
        params = source.sample_clips(count, HELD_OUT_SEEDS[split], start)
        clips = source.render(params)
        frames = clips["frames"][:, :context]
        state, appearance = model.encode(frames, times[:count], training=False)
        states.append(np.asarray(state).reshape(count, -1))
        looks.append(np.asarray(appearance).reshape(count, -1))
        if looks[-1].shape[-1]:  # The input frames in reverse order, with their times.
            _, backwards = model.encode(frames[:, ::-1], times[:count, ::-1], training=False)
            reversed_looks.append(np.asarray(backwards).reshape(count, -1))
        positions.append(np.asarray(clips["positions"])[:, anchor].reshape(count, -1))
        if "digit" in params:
            digits.append(np.asarray(params["digit"])[:, 0])
    states, looks = np.concatenate(states), np.concatenate(looks)
    positions = np.concatenate(positions)
    split_at = max(2, min(num_clips - 2, int(round(num_clips * train_fraction))))
    features = {"dynamics": states, "appearance": looks if looks.shape[-1] else None}
    r2 = {}
    for name, x in features.items():
        if x is None:
            r2[name] = None
            continue
        probe = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 4, 8)))
        probe.fit(x[:split_at], positions[:split_at])
        r2[name] = float(probe.score(x[split_at:], positions[split_at:]))
    report = {"num_clips": num_clips, "split": split, "train_clips": split_at,
              "position_r2": r2, "appearance_order_sensitivity": None}
    if reversed_looks:
        # What the permutation-invariance loss asks for: the share of z_a's
        # spread over clips that changes when the input frames come in
        # reverse order (0: z_a ignores the order).
        change = np.mean(np.square(looks - np.concatenate(reversed_looks)))
        spread = np.mean(np.square(looks - looks.mean(axis=0)))
        report["appearance_order_sensitivity"] = float(change / spread) if spread else 0.0
    if digits:
        _, labels = load_mnist(source.split, labels=True)
        classes = labels[np.concatenate(digits)]
        accuracy = {}
        for name, x in features.items():
            if x is None:
                accuracy[name] = None
                continue
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            probe.fit(x[:split_at], classes[:split_at])
            accuracy[name] = float(probe.score(x[split_at:], classes[split_at:]))
        accuracy["majority"] = float(np.bincount(classes[split_at:]).max()
                                     / len(classes[split_at:]))
        report["class_accuracy"] = accuracy
    return report
