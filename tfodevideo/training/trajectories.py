"""The report's coordinate experiments (its section 5.1): fit, extrapolate, score.

`run_single` learns one circle or spiral from its first 80 % and predicts the
whole span; `run_many` learns one second-order physics from many random
initial conditions and predicts held-out ones. Training integrates short
windows that start at every observed point of the training part (as
torchdiffeq's demo does): gradients through short solves are well behaved,
while one solve over the whole span from the first point trains slowly and
got stuck in a probe here (RMSE 2.1 against a 0.7 baseline after 150 steps).
Predictions always start from the initial state alone. Both score the extrapolation
part by position RMSE beside a constant-position baseline (the last position
seen in training held still), computed on the same points.
"""

import keras
import numpy as np

from tfodevideo import viz
from tfodevideo._checks import check_int
from tfodevideo.data.trajectories import random_trajectories
from tfodevideo.data.trajectories import spiral_trajectory
from tfodevideo.data.trajectories import split_in_time
from tfodevideo.models.trajectory import trajectory_model


def _rmse(prediction, truth):
    return float(np.sqrt(np.mean(np.sum((prediction - truth) ** 2, axis=-1))))


def _fit(model, observed, times, window, epochs, learning_rate):
    """Fits on windows of `window` points starting at every point (None: the
    whole training part from its first point).

    Args:
        observed: training states `(num_trajectories, T, state_size)`.
        times: their times `(T,)`.
    """
    window = len(times) if window is None else window
    window = check_int("window", window, minimum=2, maximum=len(times))
    starts = range(len(times) - window + 1)
    initial_states = np.concatenate([observed[:, k] for k in starts])
    targets = np.concatenate([observed[:, k : k + window] for k in starts])
    offsets = times[:window] - times[0]
    model.compile(keras.optimizers.Adam(learning_rate), "mse")
    history = model.fit(
        {
            "initial_state": initial_states,
            "times": np.tile(offsets, (len(initial_states), 1)),
        },
        targets,
        batch_size=len(initial_states),
        epochs=check_int("epochs", epochs, minimum=1),
        verbose=0,
    )
    return history.history["loss"]


def run_single(
    *, shape="circle", num_points=1000, dt=1e-3, train_fraction=0.8, noise_std=0.0,
    stride=10, window=10, units=64, depth=2, epochs=300, learning_rate=1e-2, seed=0,
):
    """Learns one trajectory from its first part; predicts and scores the rest.

    Args:
        shape: `"circle"` or `"spiral"`.
        num_points, dt: the trajectory's time grid (report: 1000 x 0.001).
        train_fraction: leading fraction of the time axis used for training.
        noise_std: Gaussian noise on the training points.
        stride: keep every `stride`-th training point (the ODE cost does not
            depend on it; the loss is just as informative at 100 points).
        window: points per training window (after `stride`); None trains on
            the whole training part from its first point only.
        units, depth: the MLP vector field.
        epochs: full-batch gradient steps.
        learning_rate: Adam's learning rate.
        seed: seed of the data, the noise and the weights.

    Returns:
        A dict with `rmse` and `baseline_rmse` on the extrapolated part, the
        training `losses`, `times`, `truth`, `observed`, `prediction`
        positions `(num_points, 2)`, the index `split` where testing starts
        and the trained `model`.
    """
    keras.utils.set_random_seed(seed)
    trajectory = spiral_trajectory(
        shape, num_points=num_points, dt=dt, noise_std=noise_std, seed=seed
    )
    train, test = split_in_time(trajectory, train_fraction)
    stride = check_int("stride", stride, minimum=1)
    times = train["times"].numpy()[::stride]
    observed = train["observed"].numpy()[None, ::stride, :2]
    start = trajectory["states"].numpy()[:1, :2]
    model = trajectory_model(state_size=2, units=units, depth=depth)
    losses = _fit(model, observed, times, window, epochs, learning_rate)
    all_times = trajectory["times"].numpy()
    prediction = model.predict(
        {"initial_state": start, "times": all_times[None]}, verbose=0
    )[0]
    split = len(train["times"])
    truth = trajectory["states"].numpy()[:, :2]
    held_still = np.broadcast_to(truth[split - 1], truth[split:].shape)
    return {
        "rmse": _rmse(prediction[split:], truth[split:]),
        "baseline_rmse": _rmse(held_still, truth[split:]),
        "losses": losses,
        "times": all_times,
        "truth": truth,
        "observed": trajectory["observed"].numpy()[:, :2],
        "prediction": prediction,
        "split": split,
        "model": model,
    }


def run_many(
    *, shape="spiral", num_points=1000, dt=1e-3, train_fraction=0.8, noise_std=0.0,
    stride=10, window=None, num_trajectories=64, num_test_trajectories=16, units=64,
    depth=2, epochs=300, learning_rate=1e-2, seed=0,
):
    """Learns a second-order physics from many trajectories; tests new ones.

    The state is `(x, y, vx, vy)`; the field gives the acceleration. Training
    sees the first `train_fraction` of `num_trajectories` trajectories; the
    test predicts the whole span of `num_test_trajectories` others from their
    initial states alone and scores positions on the last part.

    Args:
        num_trajectories: training trajectories.
        num_test_trajectories: held-out initial conditions.
        The others: as `run_single`'s.

    Returns:
        A dict with `rmse`, `baseline_rmse`, `losses`, test `truth` and
        `prediction` positions `(num_test_trajectories, num_points, 2)` and
        the trained `model`.
    """
    keras.utils.set_random_seed(seed)
    common = dict(shape=shape, num_points=num_points, dt=dt)
    trajectories = random_trajectories(
        num_trajectories, noise_std=noise_std, seed=seed, **common
    )
    held_out = random_trajectories(num_test_trajectories, seed=seed + 1, **common)
    train, _ = split_in_time(trajectories, train_fraction)
    stride = check_int("stride", stride, minimum=1)
    times = train["times"].numpy()[::stride]
    model = trajectory_model(state_size=4, units=units, depth=depth, second_order=True)
    losses = _fit(model, train["observed"].numpy()[:, ::stride], times, window, epochs,
                  learning_rate)
    all_times = trajectories["times"].numpy()
    truth = held_out["states"].numpy()
    prediction = model.predict(
        {
            "initial_state": truth[:, 0],
            "times": np.tile(all_times, (len(truth), 1)),
        },
        verbose=0,
    )
    split = len(train["times"])
    held_still = np.broadcast_to(truth[:, split - 1 : split, :2], truth[:, split:, :2].shape)
    return {
        "rmse": _rmse(prediction[:, split:, :2], truth[:, split:, :2]),
        "baseline_rmse": _rmse(held_still, truth[:, split:, :2]),
        "losses": losses,
        "truth": truth[..., :2],
        "prediction": prediction[..., :2],
        "split": split,
        "model": model,
    }


def plot_single(result, path):
    """Draws truth (training part, test part), noisy points and prediction.

    Colours follow `viz.plot_tracks`: blue training truth, orange test truth,
    green prediction over the whole span, red the observed (noisy) points.
    """
    split = result["split"]
    tracks = [result["truth"][:split], result["truth"][split:], result["prediction"]]
    if not np.array_equal(result["observed"], result["truth"]):
        tracks.append(result["observed"][:split])
    return viz.save_png(path, viz.plot_tracks(tracks))
