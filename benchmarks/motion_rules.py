"""The motion rules of a cut-out model, compared on the same weights.

A cut-out what/where model (`StackedHead(slot_appearance="cutout")`) learns
little: its walls, its glyphs' blur rate, a velocity correction. How it
turns the tracked glyphs into motion is a choice of rules: elastic or
clamping walls (`ReflectingWalls(rule=...)`), a least-squares line or the
lattice fit of whole-pixel positions (`velocity_fit`), one speed for every
object or each its own (`shared_speed`). This benchmark rebuilds one
trained model under each combination, copies its weights, and scores every
variant on the same held-out clips (per-frame PSNR, SSIM, mse_frame, with
black frames and copy-last beside them): the record behind the choice of
the `*_lattice` presets. Run it on `validation`; choosing on `test` is not
allowed.

The learned velocity correction and vector field were learned for the
model's own rules (a correction of least-squares lines is wrong for
another fit): every variant has them at zero, their starting point, so
that the rules alone differ; `as_trained` is the model itself.

`--rate-scales` also scores the model as trained with its glyphs' blur
rate (`GlyphDecoder(uncertainty=True)`) scaled: what a different blur
would buy near and far; `--variants` picks the rule combinations (none:
only the model and its scaled blurs). `--hypotheses` scores a lattice
model with each object drawn at that many of the motions its input pixels
allow (`VideoODE(hypotheses=H)`), at its trained blur and at each
`--rate-scales`: the weights are copied, the vector field is zero (its
input size changes with the slots), so `hypotheses_1` is the model with
a zero field, the control the other counts compare against.

Clamping walls start where the lattice preset puts them (`--clamp-extent`;
centred, or half a pixel lower for a model that cuts with
`cut_centre="centre_pixel"`), not where the elastic model learned them
(further out, to make up for the elastic bounce). The shared speed is
learned as in training: the head sees `--speed-clips` training clips in
training mode.

    python -m benchmarks.motion_rules --model saved_models/mmnist2_10to10.keras \\
        --dataset mmnist2 --clips 256 --horizon 90 \\
        --json benchmarks/results/motion_rules/mmnist2_10to10_validation.json
"""

import argparse
import sys
import time

import numpy as np
import tensorflow as tf

from benchmarks import common
from tfodevideo import baselines
from tfodevideo.data.registry import held_out_batches
from tfodevideo.data.pipelines import select_frames
from tfodevideo.data.registry import make_source
from tfodevideo.models import load_model
from tfodevideo.training.evaluation import score_predictors

# (wall rule, velocity fit, shared speed), the trained model's own first.
VARIANTS = (
    ("elastic", "line", False),
    ("clamp", "line", False),
    ("elastic", "lattice", False),
    ("clamp", "lattice", False),
    ("clamp", "line", True),
    ("clamp", "lattice", True),
)


def variant_name(rule, fit, shared):
    return f"{rule}_{fit}{'_shared_speed' if shared else ''}"


def with_blur_scaled(model, scale):
    """A copy of `model` whose glyphs blur `scale` times as fast."""
    copy = model.__class__.from_config(model.get_config())
    copy.build(None)
    copy.set_weights(model.get_weights())
    rate = float(tf.nn.softplus(model.decoder.rate_logit))
    copy.decoder.rate_logit.assign(float(np.log(np.expm1(rate * scale))))
    return copy


def with_hypotheses(model, count, scale=1.0):
    """A copy of lattice model `model` drawing each object at `count`
    motions (`VideoODE(hypotheses=count)`), its field zero, its blur rate
    times `scale`."""
    config = model.get_config()
    objects = config["dynamics_dim"] // 2 // config.get("hypotheses", 1)
    options = {k: v for k, v in config["decoder_options"].items() if k != "hypotheses"}
    config.update(dynamics_dim=2 * objects * count, hypotheses=count, decoder_options=options)
    copy = model.__class__.from_config(config)
    copy.build(None)
    for weight in copy.ode.weights:
        weight.assign(tf.zeros_like(weight))
    # The same layers in the same order, less the field (names are numbered
    # per session, so paths may differ).
    own, source = ([w for w in m.weights if id(w) not in {id(f) for f in m.ode.weights}]
                   for m in (copy, model))
    for target, value in zip(own, source, strict=True):
        target.assign(value)
    rate = float(tf.nn.softplus(model.decoder.rate_logit))
    copy.decoder.rate_logit.assign(float(np.log(np.expm1(rate * scale))))
    return copy


def rebuild(model, rule, fit, shared, clamp_extent, step_time, speed_batches):
    """`model` under other motion rules, its weights copied; a shared speed
    learned from `speed_batches` of training inputs."""
    config = model.get_config()
    if rule == "clamp":
        config["walls"] = {"extent": clamp_extent, "rule": "clamp", "step_time": step_time}
    else:
        extent = model.walls.extent
        config["walls"] = extent
    config.update(velocity_fit=fit, shared_speed=shared)
    variant = model.__class__.from_config(config)
    first = speed_batches[0]
    variant(first, training=False)
    own = [v for v in variant.weights if not v.path.endswith(("/speed", "/speed_batches"))]
    source = [v for v in model.weights if not v.path.endswith(("/speed", "/speed_batches"))]
    for target, value in zip(own, source, strict=True):
        target.assign(value)
    for weight in variant.ode.weights + variant.head.velocity_correction.weights:
        weight.assign(tf.zeros_like(weight))
    if rule == "clamp":  # The walls the lattice preset starts from.
        centre = [0.0, 0.0]
        if variant.head.cut_centre == "centre_pixel":  # Half a pixel lower, (x, y).
            height, width = variant.image_size
            centre = [-1.0 / (width - 1), -1.0 / (height - 1)]
        variant.walls.centre.assign(centre)
        variant.walls.half_width.assign([clamp_extent, clamp_extent])
    if shared:
        for inputs in speed_batches:
            frames = inputs["frames"]
            features = variant.encoder(variant.spatial(variant.head.encoder_images(frames)))
            variant.head(features, inputs["input_times"], frames=frames, training=True)
    return variant


def training_inputs(dataset, context, count, batch_size, seed):
    """Input dicts of `count` training clips, for the shared speed."""
    source = make_source(dataset, "train", num_frames=context + 1)
    batches = []
    for start in range(0, count, batch_size):
        clips = source.generate(min(batch_size, count - start), seed=seed, start=start)
        inputs, _ = select_frames(clips["frames"], tf.range(context), tf.constant([context]),
                                  source.frame_dt)
        batches.append(inputs)
    return batches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained cut-out model (.keras)")
    parser.add_argument("--dataset", default="mmnist2")
    parser.add_argument("--split", default="validation", choices=["validation", "test"])
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--horizon", type=int, default=90)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--clamp-extent", type=float, default=0.571)
    parser.add_argument("--speed-clips", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0, help="of the training clips' stream")
    parser.add_argument("--variants", nargs="*", default=[variant_name(*v) for v in VARIANTS],
                        choices=[variant_name(*v) for v in VARIANTS],
                        help="rule combinations to score (none: only the model as trained)")
    parser.add_argument("--rate-scales", nargs="*", type=float, default=[],
                        help="also score the model with its blur rate times each of these")
    parser.add_argument("--hypotheses", nargs="*", type=int, default=[],
                        help="also score the model drawing each object at this many "
                             "motions (its field zero; 1: the control)")
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    start = time.time()
    model = load_model(args.model)
    context = model.num_context
    step_time = make_source(args.dataset, "train").frame_dt
    speed_batches = training_inputs(args.dataset, context, args.speed_clips, 32, args.seed)
    batches = list(held_out_batches(args.dataset, context, args.horizon, args.clips,
                                    args.batch_size, args.split))
    data = [(inputs, targets) for inputs, targets, _ in batches]
    predictors = {**baselines.BASELINES,
                  "as_trained": lambda inputs, _: model(inputs, training=False)}
    speeds = {}
    for rule, fit, shared in VARIANTS:
        if variant_name(rule, fit, shared) not in args.variants:
            continue
        variant = rebuild(model, rule, fit, shared, args.clamp_extent, step_time,
                          speed_batches)
        name = variant_name(rule, fit, shared)
        predictors[name] = lambda inputs, _, m=variant: m(inputs, training=False)
        if shared:
            speeds[name] = float(variant.head.speed.numpy())
    for scale in args.rate_scales:
        scaled = with_blur_scaled(model, scale)
        predictors[f"as_trained_rate_x{scale:g}"] = (
            lambda inputs, _, m=scaled: m(inputs, training=False))
    for count in args.hypotheses:
        for scale in [1.0, *args.rate_scales]:
            drawn = with_hypotheses(model, count, scale)
            name = f"hypotheses_{count}" + ("" if scale == 1.0 else f"_rate_x{scale:g}")
            predictors[name] = lambda inputs, _, m=drawn: m(inputs, training=False)
    scores = score_predictors(predictors, data)
    curves = {name: {k: v.tolist() for k, v in s.curves().items()} for name, s in scores.items()}

    def mean_psnr(name, first, last):  # Frames after the inputs, 1-based.
        return float(np.mean(curves[name]["psnr"][first - 1:last]))

    near = min(10, args.horizon)
    ranges = [(1, near), (1, args.horizon)] + ([(near + 1, args.horizon)]
                                              if args.horizon > near else [])
    result = {
        "command": common.command("benchmarks.motion_rules", argv),
        "machine": common.machine(),
        "model": args.model,
        "split": args.split,
        "dataset": args.dataset,
        "num_clips": scores["black_frames"].count,
        "num_context": context,
        "horizon": args.horizon,
        "clamp_extent": args.clamp_extent,
        "blur_rate": float(tf.nn.softplus(model.decoder.rate_logit)),
        "shared_speed_pixels_per_frame": {name: speed * step_time
                                          for name, speed in speeds.items()},
        "summary": {name: s.summary() for name, s in scores.items()},
        "psnr_mean": {name: {f"frames_{a}_{b}": mean_psnr(name, a, b) for a, b in ranges}
                      for name in scores},
        "curves": curves,
        "seconds": time.time() - start,
    }
    common.save(result, args.json)
    for name, values in result["psnr_mean"].items():
        print(f"{name:34s} " + "  ".join(f"{k} {v:.2f}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
