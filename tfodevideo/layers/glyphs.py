"""The what/where decoder: each object slot's glyph drawn at its position.

A frame of Moving MNIST is a few fixed pictures (the digits) at moving
places. `GlyphDecoder` draws frames that way: the latent position of a frame
holds, per object slot, the slot's centre `(x, y)` in image coordinates; the
appearance vector holds, per slot, a code that decodes into a glyph (a small
picture); every frame places each slot's glyph at its centre by a
differentiable sub-pixel translation and keeps the brightest slot at each
pixel, as the Moving MNIST generator combines its digits.

Why: a frame then costs two small matrix products per slot instead of a
full-resolution convolution stack, the latent positions are pixels (directly
comparable to a true centre), and drawing one clip's motion with another
clip's look is exact by construction: the glyphs do not move, the centres
carry no look.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo._checks import check_int
from tfodevideo.precision import default_full_precision

# Glyphs start as a soft bump (peak 0.5, standard deviation a third of the
# glyph) on a dark ground, so that from the first step moving a slot changes
# the frame and its position gets a gradient; a glyph starting flat and dark
# would give its position none until it had learned a shape.
INITIAL_PEAK, INITIAL_GROUND, BUMP_WIDTH = 0.5, 0.01, 1 / 3
# How a slot's code becomes its glyph: a learned MLP, or the code is the
# glyph's pixels (a cut-out of an input frame, `StackedHead(slot_appearance=
# "cutout")`).
GLYPH_CODES = ("learned", "pixels")


def place(glyphs, centres, image_size, sigmas=None):
    """Draws each glyph with its centre at a sub-pixel position.

    The glyph row `s` lands on canvas row `i` with the bilinear (tent)
    weight `max(0, 1 - |i - (y + s - (S - 1) / 2)|)`, and likewise for
    columns, so placing is `R @ glyph @ C^T`: exact at whole pixels,
    linear in between, differentiable in the centre.

    Args:
        glyphs: `(..., S_h, S_w, C)` pictures.
        centres: `(..., 2)` pixel coordinates `(x, y)` of each glyph's centre
            (column, row; `(0, 0)` is the centre of the top-left pixel).
        image_size: `(H, W)` of the canvas.
        sigmas: optional `(...)` standard deviations in pixels: each glyph is
            drawn blurred by that Gaussian (the mean picture of a glyph whose
            centre is only known to within `sigma`), by blurring `R` and `C`.

    Returns:
        `(..., H, W, C)` canvases, zero where no glyph reaches.
    """
    glyph_h, glyph_w = glyphs.shape[-3], glyphs.shape[-2]
    rows = _tent_weights(centres[..., 1], image_size[0], glyph_h, glyphs.dtype)
    cols = _tent_weights(centres[..., 0], image_size[1], glyph_w, glyphs.dtype)
    if sigmas is not None:
        rows = tf.matmul(_gaussian_matrix(sigmas, image_size[0], glyphs.dtype), rows)
        cols = tf.matmul(_gaussian_matrix(sigmas, image_size[1], glyphs.dtype), cols)
    # Channels ahead of the two image axes: (..., C, S_h, S_w).
    rank = len(glyphs.shape)
    perm = list(range(rank - 3)) + [rank - 1, rank - 3, rank - 2]
    pictures = tf.transpose(glyphs, perm)
    placed = tf.matmul(tf.matmul(rows[..., None, :, :], pictures),
                       cols[..., None, :, :], transpose_b=True)
    inverse = list(range(rank - 3)) + [rank - 2, rank - 1, rank - 3]
    return tf.transpose(placed, inverse)


def cut_out(images, centres, size):
    """The patches of `images` centred at sub-pixel positions: `place`'s adjoint.

    Patch pixel `(s, r)` is the bilinear read of the image at the point
    `place` would draw it to, so placing a cut-out at the centre it was cut
    at gives back the image there (exactly at whole pixels).

    Args:
        images: `(B, H, W, C)`.
        centres: `(B, K, 2)` pixel coordinates `(x, y)` of `K` patch centres.
        size: `(S_h, S_w)` of a patch.

    Returns:
        `(B, K, S_h, S_w, C)` patches, zero where they reach past the image.
    """
    height, width = images.shape[1], images.shape[2]
    rows = _tent_weights(centres[..., 1], height, size[0], images.dtype)  # (B, K, H, S)
    cols = _tent_weights(centres[..., 0], width, size[1], images.dtype)
    pictures = tf.transpose(images, [0, 3, 1, 2])[:, None]  # (B, 1, C, H, W)
    patches = tf.matmul(tf.matmul(rows[:, :, None], pictures, transpose_a=True),
                        cols[:, :, None])  # (B, K, C, S_h, S_w)
    return tf.transpose(patches, [0, 1, 3, 4, 2])


def snap(centres, size):
    """Centres `(..., 2)` `(x, y)` moved to the nearest ones at which a glyph
    of `size` `(S_h, S_w)` covers whole pixels (`place` and `cut_out` then
    copy pixels, with no interpolation): whole pixels for odd sides, half
    pixels for even ones."""
    offset = tf.constant([((size[1] - 1) / 2.0) % 1.0, ((size[0] - 1) / 2.0) % 1.0],
                         centres.dtype)
    return tf.floor(centres - offset + 0.5) + offset


def snap_to_centre_pixel(centres, size):
    """Centres `(..., 2)` `(x, y)` moved so that the pixel nearest each one
    is the middle pixel of a glyph of `size` `(S_h, S_w)` (for an even side,
    the pixel just past the middle), where the glyph covers whole pixels.

    For odd sides this is `snap`. For even ones `snap` takes the nearest half
    pixel, so an object sits one pixel further into its window when its
    centroid falls just past a pixel's centre than just before it: two
    objects drawn at the same whole pixels (a generator's 28x28 box at the
    same corner) can be cut a pixel apart. Here the window follows the
    centroid's nearest pixel, as for odd sides: MNIST digits, centred by mass
    in their box, sit at the same place in their windows.
    """
    offset = tf.constant([((size[1] - 1) / 2.0) % 1.0, ((size[0] - 1) / 2.0) % 1.0],
                         centres.dtype)
    return tf.floor(centres + 0.5) - offset


def _gaussian_matrix(sigmas, size, dtype):
    """`(..., size, size)`: column `j` spreads pixel `j` over the canvas by a
    Gaussian of `sigma` (weights summing to 1, as far as the canvas reaches);
    the identity at `sigma` 0."""
    index = tf.range(size, dtype=dtype)
    distance = tf.square(index[:, None] - index[None, :])
    sigma = tf.maximum(tf.cast(sigmas, dtype), 1e-3)[..., None, None]
    weights = tf.exp(-distance / (2.0 * tf.square(sigma)))
    return weights / tf.reduce_sum(weights, axis=-2, keepdims=True)


def _tent_weights(centre, canvas, size, dtype):
    """`(..., canvas, size)` weights of glyph index `s` on canvas index `i`."""
    canvas_index = tf.range(canvas, dtype=dtype)[:, None]
    glyph_index = tf.range(size, dtype=dtype)[None, :] - (size - 1) / 2.0
    target = tf.cast(centre, dtype)[..., None, None] + glyph_index
    return tf.nn.relu(1.0 - tf.abs(canvas_index - target))


def initial_glyph_logits(size, channels):
    """Logits `(S_h, S_w, C)` of the starting bump (see `INITIAL_PEAK`)."""
    grid = [np.arange(s) - (s - 1) / 2.0 for s in size]
    squared = grid[0][:, None] ** 2 + grid[1][None, :] ** 2
    sigma = max(size) * BUMP_WIDTH
    bump = INITIAL_GROUND + (INITIAL_PEAK - INITIAL_GROUND) * np.exp(-squared / (2 * sigma**2))
    logits = np.log(bump / (1 - bump))
    return np.repeat(logits[..., None], channels, axis=-1).astype("float32")


@keras.saving.register_keras_serializable(package="tfodevideo")
class GlyphDecoder(layers.Layer):
    """What and where apart: `num_slots` glyphs placed at their centres.

    The latent of a frame is `[positions, appearance]`: the positions are
    `dynamics_dim = 2 * num_slots` values, `(x, y)` per slot; times
    `position_scale` they are image coordinates in `[-1, 1]` (`-1` and `1`
    are the centres of the border pixels; `centres` gives pixels). The
    appearance is one code per slot (`appearance_dim` split evenly; none:
    each slot learns one fixed glyph).
    A small MLP shared by all slots maps a slot's code to its glyph's
    logits; the glyph is placed by `place`, and the slots are combined by a
    pixel-wise maximum.

    Args:
        image_size: `(H, W)` of the output.
        out_channels: channels of the output images.
        channels: the encoder's block channels (unused: no convolutions).
        from_map: must be False: a glyph needs a position, not a map.
        dynamics_dim: size of the position part of the latent, two per slot.
        norm_momentum: unused (no batch norm).
        glyph_size: `(S_h, S_w)` of a glyph, or one int; defaults to half the
            image (32x32 for 64x64 frames, room for a 28x28 digit).
        hidden_units: width of the hidden layer of the glyph MLP.
        position_scale: image coordinates per latent unit: 1 for a head
            that gives image coordinates (`VideoODE(latent="slots")`).
            A dense head (`latent="vector"`, `LatentODE`) untrained gives
            positions and velocities of order 1 (in training mode, where
            batch norm scales the features to unit variance); read as image
            coordinates they put most slots off the canvas, where a slot gets
            no gradient (a ball model trained to black frames that way);
            0.1 starts them on it.
        canvas_weight: weight of a loss on how far slots stray past the
            canvas border (squared, in image coordinates), which brings a
            slot that left back to where the frames can move it.
        glyph_code: `"learned"` (the MLP above) or `"pixels"`: a slot's code
            is its glyph, `S_h * S_w * out_channels` values in `[0, 1]`
            (clipped), and the decoder has no weights.
        uncertainty: if True, each glyph is drawn blurred by a Gaussian
            whose width grows in proportion to the time since the anchor
            (`sigma = rate * |t - t0|`, the rate learned, `initial_rate`
            pixels per unit time at the start): the picture of a position
            known less well the further it is extrapolated, which a pixel
            loss prefers to a sharp glyph in the wrong place (or none).
            The model passes the time since the anchor (`elapsed`).
        initial_rate: the starting rate of `uncertainty`.
        hypotheses: slots per object: `H` slots in a row are places of one
            object (one glyph, one code), drawn there and averaged, before
            the objects are combined (the mean picture of several motions
            the inputs allow; `StackedHead(hypotheses=H)`).
        whole_pixels: if True, glyphs are drawn at the nearest centre where
            they cover whole pixels (`snap`; differentiated as if drawn
            where they are), as a renderer that draws objects at whole
            pixels does (Moving MNIST truncates its digits' positions): a
            glyph drawn between pixels is a blurred copy of itself. A cut-out
            model then cuts at such centres too.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        latent: `(N, dynamics_dim + appearance)` per frame.
        elapsed: `(N,)` time of each frame since the anchor, read with
            `uncertainty`.

    Returns:
        Images `(N, H, W, out_channels)` in `[0, 1]`.
    """

    def __init__(
        self, image_size, out_channels=1, channels=(), from_map=False, *, dynamics_dim,
        norm_momentum=None, glyph_size=None, hidden_units=256, position_scale=1.0,
        canvas_weight=1.0, glyph_code="learned", uncertainty=False, initial_rate=1.0,
        whole_pixels=False, hypotheses=1, **kwargs
    ):
        # Float32 under a mixed policy: it places glyphs at sub-pixel
        # positions (bfloat16 keeps 8 bits) and costs little.
        super().__init__(**default_full_precision(kwargs))
        del channels, norm_momentum  # The glyph decoder has neither.
        if from_map:
            raise ValueError(
                "The glyph decoder places each slot at a position: it needs "
                "`latent='vector'`. Received: from_map=True"
            )
        self.image_size = tuple(check_int("image_size", s, minimum=1) for s in image_size)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.dynamics_dim = check_int("dynamics_dim", dynamics_dim, minimum=2)
        if self.dynamics_dim % 2:
            raise ValueError(
                "The glyph decoder reads an (x, y) position per slot: `dynamics_dim` "
                f"must be even. Received: dynamics_dim={dynamics_dim}"
            )
        self.num_slots = self.dynamics_dim // 2
        self.hypotheses = check_int("hypotheses", hypotheses, minimum=1)
        if self.num_slots % self.hypotheses:
            raise ValueError(
                f"The glyph decoder draws each object at `hypotheses` places: the "
                f"{self.num_slots} slots must be a multiple of it. Received: "
                f"hypotheses={hypotheses}, dynamics_dim={dynamics_dim}"
            )
        self.num_objects = self.num_slots // self.hypotheses
        if glyph_size is None:
            glyph_size = self.default_glyph_size(self.image_size)
        elif isinstance(glyph_size, int):
            glyph_size = (glyph_size, glyph_size)
        self.glyph_size = tuple(check_int("glyph_size", s, minimum=1) for s in glyph_size)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1)
        self.position_scale = check_float("position_scale", position_scale, minimum=0.0,
                                          strict_minimum=True)
        self.canvas_weight = check_float("canvas_weight", canvas_weight, minimum=0.0)
        self.glyph_code = check_choice("glyph_code", glyph_code, GLYPH_CODES)
        self.uncertainty = bool(uncertainty)
        self.whole_pixels = bool(whole_pixels)
        self.initial_rate = check_float("initial_rate", initial_rate, minimum=0.0,
                                        strict_minimum=True)
        if self.uncertainty:
            # softplus(logit) = initial_rate.
            logit = float(np.log(np.expm1(self.initial_rate)))
            self.rate_logit = self.add_weight(
                shape=(), name="uncertainty_rate", initializer=keras.initializers.Constant(logit))
        self.hidden = layers.Dense(self.hidden_units, "relu", name="glyph_hidden",
                                   dtype=self.dtype_policy)
        self.glyph_logits = layers.Dense(
            math.prod(self.glyph_size) * self.out_channels, name="glyph_logits",
            dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            bias_initializer=keras.initializers.Constant(
                initial_glyph_logits(self.glyph_size, self.out_channels).ravel()
            ),
        )

    @staticmethod
    def default_glyph_size(image_size):
        """Half the image per side: room for a 28x28 digit on 64x64 frames."""
        return tuple(max(1, int(side) // 2) for side in image_size)

    def build(self, latent_shape):
        appearance = latent_shape[-1] - self.dynamics_dim
        if appearance < 0 or appearance % self.num_objects:
            raise ValueError(
                f"The glyph decoder splits the appearance evenly among {self.num_objects} "
                f"objects: the latent after the {self.dynamics_dim} position values must "
                f"hold a multiple of {self.num_objects}. Received: latent size "
                f"{latent_shape[-1]}"
            )
        self.code_size = appearance // self.num_objects
        pixels = math.prod(self.glyph_size) * self.out_channels
        if self.glyph_code == "pixels" and self.code_size != pixels:
            raise ValueError(
                f"With `glyph_code='pixels'` a slot's code is its {self.glyph_size} glyph "
                f"with {self.out_channels} channel(s): {pixels} values per slot, "
                f"{pixels * self.num_objects} after the positions. Received: latent size "
                f"{latent_shape[-1]}"
            )
        if self.glyph_code == "pixels":
            return
        if self.code_size:
            self.hidden.build((None, self.code_size))
            self.glyph_logits.build((None, self.hidden_units))
        else:
            # No appearance: each slot owns one learned glyph.
            start = initial_glyph_logits(self.glyph_size, self.out_channels)
            self.fixed_logits = self.add_weight(
                shape=(self.num_objects, *start.shape), name="fixed_glyph_logits",
                initializer=keras.initializers.Constant(np.broadcast_to(
                    start, (self.num_objects, *start.shape)).copy()),
            )

    def glyphs(self, appearance):
        """Glyphs `(N, num_objects, S_h, S_w, C)` in `[0, 1]` from appearance `(N, A)`."""
        batch = tf.shape(appearance)[0]
        shape = (*self.glyph_size, self.out_channels)
        if not self.code_size:
            return tf.broadcast_to(
                tf.sigmoid(self.fixed_logits)[None], [batch, self.num_objects, *shape]
            )
        if self.glyph_code == "pixels":
            glyphs = tf.clip_by_value(appearance, 0.0, 1.0)
            return tf.reshape(glyphs, [batch, self.num_objects, *shape])
        codes = tf.reshape(appearance, [-1, self.code_size])
        logits = self.glyph_logits(self.hidden(codes))
        return tf.reshape(tf.sigmoid(logits), [batch, self.num_objects, *shape])

    def centres(self, positions):
        """Pixel centres `(..., num_slots, 2)` as `(x, y)` from positions `(..., 2K)`."""
        pairs = tf.reshape(positions, tf.concat([tf.shape(positions)[:-1],
                                                 [self.num_slots, 2]], 0))
        extent = tf.constant([self.image_size[1] - 1, self.image_size[0] - 1], pairs.dtype)
        return (pairs * self.position_scale + 1.0) / 2.0 * extent

    @property
    def reads_elapsed(self):
        """Whether the model must pass `elapsed` (see `uncertainty`)."""
        return self.uncertainty

    def call(self, latent, training=None, elapsed=None):
        positions = latent[:, : self.dynamics_dim]
        if self.canvas_weight and training:
            beyond = tf.nn.relu(tf.abs(positions * self.position_scale) - 1.0)
            self.add_loss(self.canvas_weight * tf.reduce_mean(tf.square(beyond)))
        glyphs = self.glyphs(latent[:, self.dynamics_dim:])
        if self.hypotheses > 1:
            glyphs = tf.repeat(glyphs, self.hypotheses, axis=1)  # One per slot.
        sigmas = None
        if self.uncertainty:
            if elapsed is None:
                raise ValueError("`uncertainty=True` needs the time since the anchor: "
                                 "pass `elapsed`.")
            rate = tf.nn.softplus(tf.cast(self.rate_logit, latent.dtype))
            sigmas = tf.broadcast_to(rate * tf.abs(tf.cast(elapsed, latent.dtype))[:, None],
                                     [tf.shape(latent)[0], self.num_slots])
        centres = self.centres(positions)
        slots = place(glyphs, centres, self.image_size, sigmas)
        if self.whole_pixels:
            # Drawn at the snapped centres, differentiated as drawn between
            # pixels: at a whole pixel the tent weights have no slope.
            snapped = place(glyphs, snap(centres, self.glyph_size), self.image_size, sigmas)
            slots = slots + tf.stop_gradient(snapped - slots)
        if self.hypotheses > 1:
            shape = tf.concat([[tf.shape(slots)[0], self.num_objects, self.hypotheses],
                               tf.shape(slots)[2:]], axis=0)
            slots = tf.reduce_mean(tf.reshape(slots, shape), axis=2)
        # Interpolation weights sum to 1 up to rounding: a white glyph pixel
        # may come out at 1 + 5e-7, outside the frames' range.
        return tf.minimum(tf.reduce_max(slots, axis=1), 1.0)

    def compute_output_shape(self, latent_shape):
        return (latent_shape[0], *self.image_size, self.out_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "out_channels": self.out_channels,
            "dynamics_dim": self.dynamics_dim,
            "glyph_size": list(self.glyph_size),
            "hidden_units": self.hidden_units,
            "position_scale": self.position_scale,
            "canvas_weight": self.canvas_weight,
            "glyph_code": self.glyph_code,
            "uncertainty": self.uncertainty,
            "initial_rate": self.initial_rate,
            "whole_pixels": self.whole_pixels,
            "hypotheses": self.hypotheses,
        }
