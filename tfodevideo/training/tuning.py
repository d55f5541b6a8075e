"""Hyperparameter searches over a preset with keras-tuner.

`PresetHyperModel` turns a video preset into a `keras_tuner.HyperModel`:
`build(hp)` returns the preset's compiled model with tuned latent sizes and
regularisation (and optionally the learning rate and the ODE tolerance);
`fit(hp, model, ...)` trains it on the preset's pipelines (optionally with a
tuned batch size). `tune` runs a search that resumes from its directory,
writes a CSV summary of the trials and saves the best model as `.keras`.

The objective is a validation metric of ours: `val_psnr` (maximised) by
default, or `val_loss` / `val_ssim`.
"""

import csv
import dataclasses
import inspect
import os

import keras
import keras_tuner

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo._gradients import released_gradients
from tfodevideo.models import MODELS
from tfodevideo.models.ode_video import ODEVideoModel
from tfodevideo.training.choices import OBJECTIVES
from tfodevideo.training.choices import TUNERS
from tfodevideo.training.presets import resolve
from tfodevideo.training.trainer import compiled_model
from tfodevideo.training.trainer import make_data

SUMMARY = "trials.csv"
# The models whose latent sizes the search varies.
_ODE_MODELS = {name for name, cls in MODELS.items() if issubclass(cls, ODEVideoModel)}


class PresetHyperModel(keras_tuner.HyperModel):
    """A video preset whose latent sizes and regularisation are searched.

    Args:
        preset: a resolved `Preset` of the video task with a latent ODE
            model (`VideoODE` or `LatentODE`).
        tune_learning_rate: also search the learning rate (log scale).
        tune_tolerance: also search the ODE's relative tolerance.
        tune_batch_size: also search the batch size in `fit`.
        seed: seeds every trial's weights and picks its training stream, so
            trials differ only in their hyperparameters.
    """

    def __init__(
        self, preset, tune_learning_rate=False, tune_tolerance=False, tune_batch_size=False,
        seed=0,
    ):
        super().__init__(name=preset.name)
        if preset.model not in _ODE_MODELS:
            raise ValueError(
                "Tuning searches the latent ODE video models "
                f"({', '.join(sorted(_ODE_MODELS))}); preset {preset.name!r} trains "
                f"a {preset.model} ({preset.task} task)."
            )
        self.preset = preset
        self.tune_learning_rate = tune_learning_rate
        self.tune_tolerance = tune_tolerance
        self.tune_batch_size = tune_batch_size
        self.seed = seed

    def build(self, hp):
        preset = self.preset
        args = dict(preset.model_args)
        # The search space follows the arguments the model takes.
        takes = inspect.signature(MODELS[preset.model]).parameters
        if args.get("latent", "vector") == "map":
            args["map_channels"] = hp.Choice("map_channels", [4, 8, 16, 32])
        else:
            args["dynamics_dim"] = hp.Choice("dynamics_dim", [4, 8, 16, 32, 48, 64])
        args["latent_l2"] = hp.Choice("latent_l2", [0.0, 1e-6, 1e-5, 1e-4])
        if "appearance_dim" in takes:
            args["appearance_dim"] = hp.Choice("appearance_dim", [8, 16, 32, 64])
            args["permutation_weight"] = hp.Choice("permutation_weight", [0.0, 0.01, 0.1, 1.0])
        if self.tune_tolerance:
            args["rtol"] = hp.Choice("rtol", [1e-4, 1e-3, 1e-2])
        learning_rate = preset.learning_rate
        keras.utils.set_random_seed(self.seed)
        if self.tune_learning_rate:
            learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
        return compiled_model(
            dataclasses.replace(preset, model_args=args, learning_rate=learning_rate)
        )

    def fit(self, hp, model, *args, **kwargs):
        batch_size = self.preset.batch_size
        if self.tune_batch_size:
            batch_size = hp.Choice("batch_size", [4, 8, 16, 32])
        train, validation = make_data(self.preset, batch_size=batch_size, seed=self.seed)
        kwargs.setdefault("epochs", self.preset.epochs)  # Hyperband sets its own.
        kwargs.setdefault("verbose", 0)
        # The trial's model is done with when fit returns (the tuner keeps
        # its weights on disk): its traces must not outlive it.
        with released_gradients():
            return model.fit(
                train, validation_data=validation,
                steps_per_epoch=self.preset.steps_per_epoch, **kwargs,
            )


def make_tuner(hypermodel, tuner, directory, max_trials, objective="val_psnr", seed=0):
    """A keras-tuner tuner that resumes from `directory` when it exists.

    For `"hyperband"`, `max_trials` is the number of Hyperband iterations,
    each a full round of brackets up to the preset's epochs.
    """
    check_choice("tuner", tuner, TUNERS)
    check_choice("objective", objective, tuple(OBJECTIVES))
    max_trials = check_int("max_trials", max_trials, minimum=1)
    common = dict(
        hypermodel=hypermodel,
        objective=keras_tuner.Objective(objective, OBJECTIVES[objective]),
        seed=seed,
        directory=directory,
        project_name="search",
        overwrite=False,
        max_consecutive_failed_trials=1,
    )
    if tuner == "random":
        return keras_tuner.RandomSearch(max_trials=max_trials, **common)
    if tuner == "bayesian":
        return keras_tuner.BayesianOptimization(
            max_trials=max_trials, num_initial_points=min(2, max_trials), **common
        )
    return keras_tuner.Hyperband(
        max_epochs=hypermodel.preset.epochs, factor=3, hyperband_iterations=max_trials,
        **common,
    )


def trial_rows(tuner):
    """One dict per trial: id, status, score, best step and hyperparameters."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        rows.append({
            "trial": trial_id,
            "status": trial.status,
            "score": trial.score,
            "best_step": trial.best_step,
            **trial.hyperparameters.values,
        })
    return rows


def write_summary(rows, path):
    """Writes the trial rows as CSV (the union of their columns)."""
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def tune(
    name, directory, tuner="random", max_trials=10, quick=False, overrides=None,
    objective="val_psnr", tune_learning_rate=False, tune_tolerance=False,
    tune_batch_size=False, seed=0,
):
    """Searches a video preset's hyperparameters; resumes an interrupted search.

    Args:
        name: a video preset name.
        directory: the search folder. Running again with the same folder
            goes on where the search stopped: finished trials are kept.
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        max_trials: trials (for Hyperband: iterations).
        quick, overrides: as for `train`.
        objective: `"val_psnr"`, `"val_ssim"` or `"val_loss"`.
        tune_learning_rate, tune_tolerance, tune_batch_size: widen the search.
        seed: seed of the tuner's sampling, of every trial's weights and of
            the training stream. Trials score on the `validation` split.

    Returns:
        A dict with the trial `rows`, the `summary` CSV path, the best
        model's path (`best_model`) and its hyperparameters (`best`).
    """
    preset = resolve(name, quick, overrides)
    hypermodel = PresetHyperModel(
        preset, tune_learning_rate, tune_tolerance, tune_batch_size, seed
    )
    os.makedirs(directory, exist_ok=True)
    search = make_tuner(hypermodel, tuner, directory, max_trials, objective, seed)
    search.search()
    rows = trial_rows(search)
    summary = write_summary(rows, os.path.join(directory, SUMMARY))
    best_model = None
    completed = [row for row in rows if row["status"] == "COMPLETED"]
    if completed:
        best_model = os.path.join(directory, "best.keras")
        search.get_best_models(1)[0].save(best_model)
    return {
        "rows": rows,
        "summary": summary,
        "best_model": best_model,
        "best": search.get_best_hyperparameters(1)[0].values if completed else None,
    }
