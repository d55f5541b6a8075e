"""The disentangled latent-ODE video model: the report's final method (6.1)."""

import keras

from tfodevideo._checks import check_int
from tfodevideo.layers.conv_blocks import NORM_MOMENTUM
from tfodevideo.layers.glyphs import GlyphDecoder
from tfodevideo.layers.heads import StackedHead
from tfodevideo.models.ode_video import ODEVideoModel


@keras.saving.register_keras_serializable(package="tfodevideo")
class VideoODE(ODEVideoModel):
    """Dynamics and appearance apart: a latent ODE moves only the dynamics.

    All input frames are stacked as channels with the spatial-encoding
    channels and read by one convolutional encoder. A dynamics head gives the
    initial state `Z0 = [z0, v0]` (position and velocity) at the last input
    time; an appearance head gives `z_a`. A second-order Neural ODE carries
    `Z0` to every query time, before, between or after the inputs; each
    position `z_i` is joined with `z_a` and decoded into a frame. Because
    `z_a` does not move, one clip's motion can be drawn with another clip's
    look (`swap_appearance`).

    With `latent="map"` the dynamic state is a small feature map moved by a
    convolutional field, for scenes with several objects, where one flat
    vector blurs them together; `z_a` is then broadcast over the map.

    Args:
        image_size: `(H, W)`; each side divisible by `2 ** len(encoder_channels)`.
        channels: channels of the frames.
        num_context: number of input frames (fixed: they are stacked).
        dynamics_dim: size of the position `z` (the state holds `2x` that),
            for `latent="vector"`.
        appearance_dim: size of `z_a`; 0 for no appearance vector.
        encoder_channels: channels of the encoder blocks (the report's
            64 / 128 / 256); the decoder mirrors them.
        num_frequencies: sine/cosine octaves of the spatial encoding.
        latent: `"vector"`, `"map"` or `"slots"` (objects' centres in image
            coordinates, for `decoder="glyph"`; see `StackedHead`).
        map_channels: channels of the position map for `latent="map"`.
        slot_appearance: for `latent="slots"`: `"code"` (learned from the
            encoder's features) or `"cutout"`: each slot's appearance is the
            patch of the last input frame around its centre, the size of the
            glyph decoder's glyphs, which then draws those pixels
            (`glyph_code="pixels"` unless `decoder_options` says otherwise);
            `appearance_dim` must be `slots * glyph pixels * channels`.
        cut_from: for `"cutout"` with several slots: cut them from the
            `"last"` input frame or from the `"clearest"`, the latest one in
            which the objects stand apart (see `StackedHead`).
        cut_centre: for `"cutout"` drawn at whole pixels: `"nearest"` or
            `"centre_pixel"`, where each cut-out's window goes (see
            `StackedHead`; `"centre_pixel"` for a swap that lands right).
        field_units: width of the vector field (units or filters).
        field_depth: hidden layers of the vector field.
        field_zero_start: start the field at zero, so that untrained motion
            is uniform (see `VectorField`).
        field_trainable: False keeps a zero-start field at zero (uniform
            motion between the walls; see `ODEVideoModel`).
        velocity_fit: for `"cutout"`: `"line"` (least squares) or
            `"lattice"` (for objects drawn at whole pixels; see `StackedHead`).
        shared_speed: for `"cutout"`: every slot moves at one speed learned
            from the training clips, in its own direction (see `StackedHead`).
        hypotheses: for the lattice fit at the shared speed: each object is
            drawn at this many of the motions its input pixels allow and the
            pictures averaged (see `StackedHead`); `dynamics_dim` then holds
            `2 * objects * hypotheses`, `appearance_dim` one cut-out per
            object.
        walls: for `latent="slots"`: initial half-width, in image
            coordinates, of a learned box whose walls the slots bounce off
            elastically (`tfodevideo.layers.walls`), or a dict of
            `ReflectingWalls` arguments (another `rule`); None: open space.
        decoder: name of a registered decoder (`tfodevideo.layers.decoders`).
        decoder_options: dict of further arguments of that decoder.
        method, rtol, atol, max_num_steps: settings of the `NeuralODE`.
        latent_l2: weight of the L2 penalty on predicted positions (report 1e-5).
        permutation_weight: weight of the permutation-invariance loss on `z_a`
            (inputs shuffled in time must give the same appearance).
        appearance_ode: move `z_a` with a first-order Neural ODE of its own
            (zero field at the start), for looks that change over a clip.
        norm_momentum: momentum of the encoder's and decoder's batch-norm
            statistics (lower for runs of a few hundred steps).
        **kwargs: standard `keras.Model` arguments.

    Call arguments:
        inputs: a dict with `frames` `(B, num_context, H, W, C)` float in
            `[0, 1]` (uint8 frames are divided by 255), `input_times`
            `(B, num_context)` and `query_times` `(B, T)` or `(T,)`.
        training: Keras' training flag.

    Returns:
        Predicted frames `(B, T, H, W, C)` in `[0, 1]`; `forward(inputs,
        return_latents=True)` also gives the latent positions.

    References:
        Chen et al., "Neural Ordinary Differential Equations", NeurIPS 2018.
        Le Guen and Thome, "Disentangling physical dynamics from unknown
        factors for unsupervised video prediction", CVPR 2020.
    """

    def __init__(
        self, image_size=(64, 64), channels=1, num_context=10, *, dynamics_dim=48,
        appearance_dim=64, encoder_channels=(64, 128, 256), num_frequencies=0,
        latent="vector", map_channels=16, slot_appearance="code", cut_from="last",
        cut_centre="nearest", velocity_fit="line", shared_speed=False, hypotheses=1,
        field_units=128,
        field_depth=2, decoder="conv", decoder_options=None, method="dopri5", rtol=1e-3, atol=1e-6,
        max_num_steps=1000, latent_l2=1e-5, permutation_weight=0.0, appearance_ode=False,
        norm_momentum=NORM_MOMENTUM, **kwargs,
    ):
        if latent == "slots" and num_context < 2:
            raise ValueError(
                "`latent='slots'` takes the velocity from the last two input frames: "
                f"`num_context` must be at least 2. Received: num_context={num_context}"
            )
        hypotheses = check_int("hypotheses", hypotheses, minimum=1)
        cutout_size = None
        if slot_appearance == "cutout":
            decoder_options, cutout_size = _cutout_options(
                image_size, channels, dynamics_dim, appearance_dim, decoder, decoder_options,
                hypotheses)
        head = StackedHead(
            dynamics_dim, appearance_dim, latent=latent, map_channels=map_channels,
            slot_appearance=slot_appearance, cutout_size=cutout_size, name="head",
            # Cut where the decoder draws: at whole pixels if it does.
            whole_pixels=bool(cutout_size and decoder_options.get("whole_pixels")),
            cut_from=cut_from, cut_centre=cut_centre, velocity_fit=velocity_fit,
            shared_speed=shared_speed, hypotheses=hypotheses,
        )
        super().__init__(
            head, image_size, channels, num_context, encoder_channels=encoder_channels,
            num_frequencies=num_frequencies, field_units=field_units,
            field_depth=field_depth, decoder=decoder, decoder_options=decoder_options,
            method=method, rtol=rtol,
            atol=atol, max_num_steps=max_num_steps, latent_l2=latent_l2,
            permutation_weight=permutation_weight, appearance_ode=appearance_ode,
            norm_momentum=norm_momentum,
            **kwargs,
        )

    @property
    def map_channels(self):
        return self.head.map_channels

    def get_config(self):
        return {
            **super().get_config(),
            "dynamics_dim": self.head.dynamics_dim,
            "appearance_dim": self.head.appearance_dim,
            "latent": self.head.latent,
            "map_channels": self.head.map_channels,
            "slot_appearance": self.head.slot_appearance,
            "cut_from": self.head.cut_from,
            "cut_centre": self.head.cut_centre,
            "velocity_fit": self.head.velocity_fit,
            "shared_speed": self.head.shared_speed,
            "hypotheses": self.head.hypotheses,
        }


def _cutout_options(image_size, channels, dynamics_dim, appearance_dim, decoder, options,
                    hypotheses=1):
    """The glyph decoder's options and the cut-out size of a `"cutout"` model,
    checked against `appearance_dim`; the decoder averages each object's
    `hypotheses` slots."""
    if decoder != "glyph":
        raise ValueError(
            "`slot_appearance='cutout'` draws the cut-outs with the glyph decoder: pass "
            f"decoder='glyph'. Received: decoder={decoder!r}"
        )
    options = {"glyph_code": "pixels", **(options or {})}
    if options.get("hypotheses", hypotheses) != hypotheses:
        raise ValueError(
            "The decoder draws the head's hypotheses: leave `hypotheses` out of "
            f"`decoder_options`. Received: hypotheses={hypotheses}, decoder_options "
            f"hypotheses={options['hypotheses']}"
        )
    if (dynamics_dim // 2) % hypotheses:
        raise ValueError(
            f"Each object is drawn at `hypotheses` slots: the {dynamics_dim // 2} slots "
            f"(`dynamics_dim / 2`) must be a multiple of it. Received: "
            f"hypotheses={hypotheses}, dynamics_dim={dynamics_dim}"
        )
    if hypotheses != 1:
        options["hypotheses"] = hypotheses
    size = options.get("glyph_size") or GlyphDecoder.default_glyph_size(image_size)
    size = (size, size) if isinstance(size, int) else tuple(size)
    objects = dynamics_dim // 2 // max(hypotheses, 1)
    expected = objects * size[0] * size[1] * channels
    if appearance_dim != expected:
        raise ValueError(
            f"With `slot_appearance='cutout'` each of the {objects} object(s) "
            f"holds a {size[0]}x{size[1]} cut-out with {channels} channel(s): "
            f"`appearance_dim` must be {expected}. Received: appearance_dim={appearance_dim}"
        )
    return options, size
