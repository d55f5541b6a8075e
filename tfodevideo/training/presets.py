"""Named experiments of the method, each with its data, model, loss and schedule.

One registry, in Python: `PRESETS[name]` is a frozen `Preset`;
`resolve(name, quick=False, overrides=None)` applies the `--quick` variant
and command-line overrides (`{"epochs": 3, "model.dynamics_dim": 8}`),
refusing unknown keys.
"""

import dataclasses
from typing import Optional

from tfodevideo._checks import check_choice
from tfodevideo.constants import FRAME_DT
from tfodevideo.precision import check_precision


@dataclasses.dataclass(frozen=True)
class Preset:
    """One experiment.

    Attributes:
        name: registry name.
        description: one line for listings.
        task: a key of `tfodevideo.training.tasks.TASKS`: `"video"` (a
            video model on clips), `"autoencoder"` (`ConvAutoEncoder` on
            single frames) or `"trajectory"` (the coordinate experiments).
        dataset: a name of `tfodevideo.data.DATASETS` (not for trajectories).
        data: arguments of `make_dataset` (`num_context`, `num_target`,
            `source_args`, `task`, `grid`...), or for trajectories of
            `run_single` / `run_many` with `experiment` choosing which.
        model: a name of `tfodevideo.models.MODELS` (`"VideoODE"`,
            `"LatentODE"`, `"ConvAutoEncoder"`...); `"trajectory_model"`
            for trajectories.
        model_args: the model's keyword arguments (for trajectories, the
            vector field's `units` and `depth`).
        loss: arguments of `FrameLoss`.
        batch_size, epochs, steps_per_epoch: the `fit` schedule.
        validation_clips: held-out clips scored after each epoch.
        learning_rate, decay_rate, decay_steps: Adam with the report's
            staircase decay (x0.9 every `decay_steps` steps).
        precision: `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`: the
            Keras dtype policy the model is built and trained under (see
            `tfodevideo.precision`); video presets only.
        quick: overrides of the `--quick` variant (minutes on 2 CPU cores).
    """

    name: str
    description: str
    task: str
    dataset: Optional[str]
    data: dict
    model: str
    model_args: dict
    loss: dict = dataclasses.field(default_factory=lambda: {"mse": 1.0})
    batch_size: int = 16
    epochs: int = 20
    steps_per_epoch: int = 200
    validation_clips: int = 64
    learning_rate: float = 1e-3
    decay_rate: float = 0.9
    decay_steps: int = 1000
    precision: str = "float32"
    quick: dict = dataclasses.field(default_factory=dict)


_TINY_VIDEO = {
    "model.encoder_channels": [8, 16],
    "model.field_units": 32,
    "model.dynamics_dim": 8,
    "model.appearance_dim": 8,
    "batch_size": 8,
    "epochs": 2,
    "steps_per_epoch": 10,
    "validation_clips": 16,
}

# The README's first command: about 3 minutes on 2 CPU cores, long enough
# that the prediction follows the ball (210 steps; validation MSE 0.0048
# against 0.0090 for black frames, measured on one seed). A faster learning
# rate and batch-norm statistics that forget their start (momentum 0.9: the
# default 0.99 still holds 12 % of the initial statistics after 210 steps)
# are what make so short a run useful; the full preset keeps the defaults.
_QUICK_BALL = {
    "model.encoder_channels": [16, 32],
    "model.field_units": 32,
    "model.norm_momentum": 0.9,
    "learning_rate": 3e-3,
    "batch_size": 16,
    "epochs": 3,
    "steps_per_epoch": 70,
    "validation_clips": 32,
}

# The report's conv trunk (64/128/256 channels) costs about 2.4 GFLOP per
# decoded 64x64 frame, so an hour of a 2-core CPU trains it for only a few
# hundred steps. Halving every channel count twice cuts the convolutions'
# FLOPs 16x (benchmarks/RESULTS.md has both speeds).
_CPU_TRUNK = (16, 32, 64)


# The what/where model of a clip with N digits: N slots, 32 appearance values
# each, glyphs of 32x32 (a 28x28 digit and a margin), on the CPU trunk.
_GLYPH_CODE = 32


def _what_where(name, dataset, num_context, num_target, num_digits, description,
                cutout=False, glyph_pixels=32 * 32, walls=False, lattice=False, rules=False):
    """A `VideoODE` preset with slot centres and the glyph decoder: glyphs
    learned from a code (`name_glyph`) or cut out of the last input frame
    (`name_cutout`, `glyph_pixels` per slot); `walls`: the digits bounce
    off a learned box and are drawn at whole pixels, as the generator
    draws them; `lattice` (`name_lattice`): by the generator's own rules
    (see below); `rules` (`name_rules`): those rules and nothing learned
    on top of them (see below)."""
    model_args = {"num_context": num_context, "latent": "slots", "decoder": "glyph",
                  "dynamics_dim": 2 * num_digits, "appearance_dim": _GLYPH_CODE * num_digits,
                  "encoder_channels": list(_CPU_TRUNK), "latent_l2": 0.0}
    loss = {"mse": 1.0}
    quick = _TINY_VIDEO
    if cutout:
        # Drawn sharp, a glyph a few pixels off costs twice a missing one: a
        # run without the growing blur (uncertainty) learned to move its
        # glyph off the digit, to about black-frame error.
        model_args.update(slot_appearance="cutout", appearance_dim=glyph_pixels * num_digits,
                          field_zero_start=True, decoder_options={"uncertainty": True})
        if walls:
            # A digit's centre turns (64 - 28) / 63 = 0.571 from the middle;
            # the generator stops a digit at the wall for the rest of a
            # frame, which an elastic wall 0.9 px further out matches best.
            model_args.update(walls=0.6, decoder_options={"uncertainty": True,
                                                          "whole_pixels": True})
            # Two digits that touch in the last input frame cut as pieces of
            # both: cut from the latest frame where they stand apart (on 256
            # validation clips, 87.1 -> 72.6 mse_frame with the same weights).
            model_args.update(cut_from="clearest")
            # The glyphs' blur trades mse for SSIM: on 256 validation clips
            # the blur rate MSE settles at (2.17 px per unit time, after
            # 2,400 steps) gave 72.6 mse_frame and SSIM(paper) 0.840, half
            # of it 81.0 and 0.860, a quarter 94.7 and 0.861. An SSIM term
            # of this weight puts the best loss near half.
            loss = {"mse": 1.0, "ssim": 0.3}
        if lattice:
            # The generator's rules: a digit's position is truncated to
            # whole pixels, every digit moves 3.6 pixels per frame, and a
            # step that ends past a wall ends on it. The elastic preset's
            # shipped weights (version 1) under each combination of the rules
            # (benchmarks/motion_rules.py, 128 validation clips, 10 -> 90):
            # mean PSNR over the first 10 predicted frames 19.0 dB with the
            # elastic preset's rules, 25.5 with all three; over all 90,
            # 15.4 and 16.8.
            # Each cut-out's window follows its digit's nearest pixel, so
            # every digit sits where its 28x28 box does (MNIST centres a
            # digit by mass): with the nearest half pixel, half the digits
            # sat a pixel further in, which cost the swap 1.8 dB and put
            # the walls a pixel off for them. A lattice position is then the
            # box's corner plus 13 pixels (the box's centre less the fit's
            # half pixel): the walls stand at 13 and 49, centre -1/63.
            model_args.update(
                walls={"extent": 0.571, "rule": "clamp", "step_time": FRAME_DT,
                       "centre": -1.0 / 63.0},
                velocity_fit="lattice", shared_speed=True, cut_centre="centre_pixel")
        if rules:
            # With ten input frames the lattice fit pins a digit's motion
            # and the rules carry it: a learned field only bends long
            # extrapolations, and the blur hedges errors that are no longer
            # made. The lattice preset's weights after 400 steps (blur rate
            # 0.77 px per unit time, learned from 1.0) on 64 validation
            # clips, 10 -> 90, mean PSNR over frames 11-90: 16.03 dB as
            # trained, 16.13 with the field zero, 21.65 with the field zero
            # and the blur at 0.05 of its rate (benchmarks/motion_rules.py
            # --hypotheses 1 --rate-scales; RESULTS.md). So: a field that
            # stays zero and a blur near none. (A Gaussian this narrow puts
            # no weight on a neighbouring pixel, so its rate gets no
            # gradient: in effect the blur is fixed.)
            model_args.update(field_trainable=False, decoder_options={
                "uncertainty": True, "whole_pixels": True, "initial_rate": 0.04})
        # The sizes are tied to the frames: the quick run keeps them.
        quick = {key: value for key, value in _TINY_VIDEO.items()
                 if key not in ("model.dynamics_dim", "model.appearance_dim")}
    kind = "cut-out glyphs" if cutout else "learned glyphs"
    if walls:
        kind += " bouncing off learned walls"
    if lattice:
        kind += " by the generator's rules (whole pixels, one speed, clamped bounces)"
    if rules:
        kind += ", no learned field, sharp"
    suffix = "rules" if rules else "lattice" if lattice else "cutout" if cutout else "glyph"
    return Preset(
        f"{name}_{suffix}",
        f"what/where model, {description}, one slot per digit, {kind}, 16/32/64 trunk",
        "video",
        dataset,
        {"num_context": num_context, "num_target": num_target},
        "VideoODE",
        model_args,
        loss=loss,
        quick=quick,
    )


def _ball_what_where(name, description, **model_args):
    """A one-slot what/where `VideoODE` preset on the Gaussian ball, 2 -> 18."""
    return Preset(
        name,
        f"what/where model on the Gaussian ball, 2 -> 18: {description}",
        "video",
        "ball",
        {"num_context": 2, "num_target": 18},
        "VideoODE",
        {"image_size": [28, 28], "num_context": 2, "latent": "slots", "decoder": "glyph",
         "dynamics_dim": 2, "encoder_channels": [16, 32], "latent_l2": 0.0, **model_args},
        quick=_QUICK_BALL,
    )


def _disentangled(name, dataset, num_context, num_target, description, cpu=False,
                  spatial=False):
    """A `VideoODE` preset: the report's final model on one data set, or with
    a conv trunk sized for CPU budgets (`cpu=True`, name ending in `_cpu`),
    or that trunk with a feature map as the dynamic state (`spatial=True`,
    name ending in `_map`: Vid-ODE's idea, moved by a `ConvField`)."""
    model_args = {"num_context": num_context, "dynamics_dim": 48, "appearance_dim": 64,
                  "latent_l2": 1e-5}
    if cpu or spatial:
        name = f"{name}_{'map' if spatial else 'cpu'}"
        description += ", 16/32/64-channel trunk for CPUs"
        model_args["encoder_channels"] = list(_CPU_TRUNK)
    if spatial:
        description += ", a spatial latent"
        model_args["latent"] = "map"
    return Preset(
        name,
        f"disentangled model, {description}",
        "video",
        dataset,
        {"num_context": num_context, "num_target": num_target},
        "VideoODE",
        model_args,
        quick=_TINY_VIDEO,
    )


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            "trajectories",
            "Neural ODE on coordinates: one spiral, extrapolate the last 20 % (report 5.1)",
            "trajectory",
            None,
            {"experiment": "single", "shape": "spiral"},
            "trajectory_model",
            {"units": 64, "depth": 2},
            epochs=300,
            # Full-batch steps on one trajectory: 1e-3 leaves the spiral and the
            # many-trajectory physics below holding still after 300 steps.
            learning_rate=1e-2,
            quick={"epochs": 30},
        ),
        Preset(
            "ball_autoencoder",
            "conv auto-encoder with spatial encoding on Gaussian-ball frames (report 5.2)",
            "autoencoder",
            "ball",
            {"num_context": 2, "num_target": 18},
            "ConvAutoEncoder",
            {"latent_dim": 8, "latent_l2": 0.0, "encoder_channels": [32, 64]},
            batch_size=8,
            quick={"epochs": 2, "steps_per_epoch": 10, "model.encoder_channels": [8, 16]},
        ),
        Preset(
            "ball_latent_ode",
            "latent ODE on the Gaussian ball, 2 -> 18 (report 5.3)",
            "video",
            "ball",
            {"num_context": 2, "num_target": 18},
            "LatentODE",
            {"image_size": [28, 28], "dynamics_dim": 8, "encoder_channels": [32, 64],
             "num_frequencies": 0, "latent_l2": 1e-5},
            quick=_QUICK_BALL,
        ),
        _ball_what_where("ball_glyph", "one slot, its centre in pixels", appearance_dim=8),
        # The ball's centre stays 3 sigma = 4.5 px inside the 28 px frame:
        # walls at 1 - 2 * 4.5 / 27 = 0.67 in image coordinates.
        _ball_what_where("ball_cutout", "a cut-out of the ball, moved by its last step, "
                         "bouncing off learned walls", appearance_dim=14 * 14,
                         slot_appearance="cutout", field_zero_start=True, walls=0.67,
                         decoder_options={"uncertainty": True}),
        _disentangled("mmnist1_2to18", "mmnist1", 2, 18,
                      "one-digit Moving MNIST, 2 -> 18 (report 6.2, the swap demo)"),
        _disentangled("mmnist2_10to10", "mmnist2", 10, 10,
                      "two-digit Moving MNIST, 10 -> 10 (report 6.3, benchmark)"),
        _disentangled("mmnist2_2to18", "mmnist2", 2, 18,
                      "two-digit Moving MNIST, 2 -> 18 (report 6.3)"),
        _disentangled("mmnist1_2to18", "mmnist1", 2, 18, "one-digit Moving MNIST, 2 -> 18",
                      cpu=True),
        _disentangled("mmnist2_10to10", "mmnist2", 10, 10,
                      "two-digit Moving MNIST, 10 -> 10", cpu=True),
        _disentangled("mmnist2_10to10", "mmnist2", 10, 10,
                      "two-digit Moving MNIST, 10 -> 10", spatial=True),
        _what_where("mmnist1_2to18", "mmnist1", 2, 18, 1, "one-digit Moving MNIST, 2 -> 18"),
        _what_where("mmnist2_10to10", "mmnist2", 10, 10, 2,
                    "two-digit Moving MNIST, 10 -> 10"),
        _what_where("mmnist1_2to18", "mmnist1", 2, 18, 1, "one-digit Moving MNIST, 2 -> 18",
                    cutout=True),
        _what_where("mmnist2_10to10", "mmnist2", 10, 10, 2,
                    "two-digit Moving MNIST, 10 -> 10", cutout=True, walls=True),
        _what_where("mmnist2_10to10", "mmnist2", 10, 10, 2,
                    "two-digit Moving MNIST, 10 -> 10", cutout=True, walls=True, lattice=True),
        _what_where("mmnist2_10to10", "mmnist2", 10, 10, 2, "two-digit Moving MNIST, 10 -> 10",
                    cutout=True, walls=True, lattice=True, rules=True),
        _what_where("mmnist2_2to18", "mmnist2", 2, 18, 2,
                    "two-digit Moving MNIST, 2 -> 18", cutout=True, walls=True, lattice=True),
        _what_where("mmnist1_2to18", "mmnist1", 2, 18, 1,
                    "one-digit Moving MNIST, 2 -> 18", cutout=True, walls=True, lattice=True),
    )
}

# Dotted override prefixes and the dict field each one updates.
_NESTED = {"data": "data", "model": "model_args", "loss": "loss"}


def resolve(name, quick=False, overrides=None):
    """Returns a preset with its quick variant and overrides applied.

    Args:
        name: a key of `PRESETS`.
        quick: apply the preset's `quick` overrides first.
        overrides: dict of `field` or `data.key` / `model.key` / `loss.key`
            to value.

    Raises:
        ValueError: an unknown preset or override key, or a value of another
            type than the preset's (a number for a number, text for text, a
            list for a list) or out of range for the schedule, named, before
            anything is built or trained.
    """
    preset = PRESETS[check_choice("preset", name, PRESETS)]
    changes = {**(preset.quick if quick else {}), **(overrides or {})}
    fields = {f.name for f in dataclasses.fields(Preset)} - {"name", "task", "quick"}
    updates = {}
    for key, value in changes.items():
        prefix, _, inner = key.partition(".")
        if inner and prefix in _NESTED:
            field = _NESTED[prefix]
            current = getattr(preset, field).get(inner)
            updates.setdefault(field, dict(getattr(preset, field)))[inner] = _checked(
                key, value, current
            )
        elif not inner and key in fields:
            updates[key] = _checked(key, value, getattr(preset, key))
        else:
            raise ValueError(
                f"Unknown override {key!r} for preset {name!r}. Expected one of "
                f"{sorted(fields)} or data.KEY, model.KEY, loss.KEY."
            )
    return dataclasses.replace(preset, **updates)


# Schedule fields and the smallest value each takes: `fit` with 0 steps per
# epoch waits forever, with 0 epochs saves an untrained model.
_POSITIVE_INTS = ("batch_size", "epochs", "steps_per_epoch", "validation_clips", "decay_steps")
_POSITIVE_FLOATS = ("learning_rate", "decay_rate")


def _checked(key, value, current):
    """`value` if it has the kind of the preset's `current` value (None: any)."""
    kinds = [
        ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
        ("true or false", lambda v: isinstance(v, bool)),
        ("text", lambda v: isinstance(v, str)),
        ("a list such as [8, 16]", lambda v: isinstance(v, (list, tuple))),
        ("a JSON object such as {\"a\": 1}", lambda v: isinstance(v, dict)),
    ]
    for kind, matches in kinds:
        if current is not None and matches(current):
            if not matches(value):
                raise ValueError(
                    f"`{key}` takes {kind}, like the preset's {current!r}. "
                    f"Received: {key}={value!r}"
                )
            break
    if key in _POSITIVE_INTS and value < 1:
        raise ValueError(f"`{key}` must be at least 1. Received: {key}={value!r}")
    if key == "precision":
        check_precision(value)
    if key in _POSITIVE_FLOATS and not 0 < value < float("inf"):
        raise ValueError(f"`{key}` must be a positive number. Received: {key}={value!r}")
    return value
