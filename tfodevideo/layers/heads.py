"""Encoder heads: how a video model reads its input frames into a latent.

A head decides which images the shared convolutional encoder sees and turns
the encoder's features into the two things a latent video model needs: the
initial state `Z0 = [z0, v0]` of its second-order ODE and an appearance
vector `z_a` that does not move. A new way of reading the inputs is a new
head; the ODE and the decoder stay as they are.

Every head has:

- `encoder_images(frames)`: the images `(N, H, W, C')` the encoder reads,
  from frames `(B, K, H, W, C)`;
- `call(features, input_times, frames=None)` -> `(state, appearance)`, with
  the encoder's features of those images (and the input frames themselves,
  for a head that reads pixels);
- `anchor_index`: the input frame whose time `Z0` belongs to;
- `appearance_dim` and `latent` (`"vector"` or `"map"`), which the decoder
  is built for.
"""

import keras
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.layers.glyphs import snap
from tfodevideo.layers.glyphs import snap_to_centre_pixel
from tfodevideo.layers.tracking import centre_on_mass
from tfodevideo.layers.tracking import clearest_frame
from tfodevideo.layers.tracking import cut_out_each
from tfodevideo.layers.tracking import fit_lattice
from tfodevideo.layers.tracking import fit_last_run
from tfodevideo.layers.tracking import lattice_runs
from tfodevideo.layers.tracking import find_objects
from tfodevideo.layers.tracking import nearest_masks
from tfodevideo.layers.tracking import track_from
from tfodevideo.precision import default_full_precision

LATENTS = ("vector", "map", "slots")
# What a slot's appearance is: a code read from the encoder's features, or
# the pixels of an input frame around the slot's centre.
SLOT_APPEARANCES = ("code", "cutout")
# Which input frame cut-out slots are cut from: the last, or the latest one
# in which the objects stand apart (`tracking.clearest_frame`).
CUT_FROM = ("last", "clearest")
CUT_CENTRES = ("nearest", "centre_pixel")
# How cut-out slots turn their track into a position and a velocity: a
# least-squares line, or every line whole-pixel positions allow.
VELOCITY_FITS = ("line", "lattice")
# Largest move between two consecutive input frames that a cut-out slot
# can follow, in pixels (Moving MNIST digits move 3.6, the ball about 1);
# each frame followed costs (2 * 5 + 1)^2 = 121 cut-outs.
MATCH_RADIUS = 5
# Batches whose median speed the shared speed averages with equal weight;
# later batches move it as a running mean of that length.
SPEED_MEMORY = 1000


@keras.saving.register_keras_serializable(package="tfodevideo")
class StackedHead(layers.Layer):
    """All input frames at once, stacked as channels: motion and appearance.

    The encoder reads the `K` frames as one image of `K x C` channels; a
    dynamics head maps its features (and the input times relative to the
    last one, so that irregular spacing changes the velocity) to `Z0` at the
    last input time; an appearance head maps them to `z_a`. The report's
    final method (section 6.1).

    With `latent="slots"` (for the what/where decoder, `decoder="glyph"`)
    the state holds `dynamics_dim / 2` objects' centres and velocities in
    image coordinates (`[-1, 1]`). Each slot has two heat maps over the
    feature grid: a spatial softmax of each, averaged over the grid's cell
    centres, gives the slot's centre at the last input frame and at the one
    before (a soft arg-max, as in unsupervised keypoint models); their
    difference over the time step is the velocity. The slot's appearance
    code reads the features its last-frame map attends to. Why: a 1x1
    convolution scoring "an object is here" is the same at every place, so
    what it learns at one position holds at all, where a dense layer on
    flattened features must learn every position apart (with that head,
    the what/where model of a ball stalled at half the black-frame error).
    With `slot_appearance="cutout"` a slot's appearance is instead the patch
    of an input frame (the last unless `cut_from` says otherwise) around its
    centre (`cutout_size`, flattened):
    the glyph is copied, not learned, so it is sharp from the first step.
    Nothing learned finds the slots: they are the clusters of the last
    frame's bright pixels (`tracking.find_objects`; one object's window is
    then moved onto its intensity centroid so that it holds all of it),
    each cut-out holds only the pixels nearer to its slot than to the
    others, and it is followed through every other input frame
    (`tfodevideo.layers.tracking`). With `cut_from="clearest"` several
    slots are cut from the latest input frame in which their objects stand
    apart, not from the last one, where two digits that touch would each
    come out as a piece of both. The slot's position and velocity are a
    straight line fitted to its centres since it last turned
    (`fit_last_run`: with two input frames, the last position and step),
    plus a learned velocity correction (zero at the start) from the
    velocities the displacements to all earlier frames give: it can learn
    what the frames cannot tell. With `velocity_fit="lattice"` (for
    objects drawn at whole pixels) the track is followed by whole-pixel
    shifts and the line is the centre of every line those whole pixels
    allow (`fit_lattice`). With `shared_speed=True` every slot moves at
    one speed, the running mean over training batches of the fitted
    speeds' median: where a generator gives every object the same speed
    (Moving MNIST: 3.6 pixels per frame), a speed error of a tenth of a
    pixel per frame is eight pixels after eighty frames; the slot's
    direction is its own line's (the lattice fit: the centre of the
    directions both axes allow at that speed). With `hypotheses=H` as
    well, each object is drawn at `H` motions, the middles of `H` slices
    of equal weight of the directions its pixels allow (`fit_lattice`),
    and the decoder averages them (`GlyphDecoder(hypotheses=H)`): the mean
    picture of the motions the input frames allow, where one direction
    plus a round blur draws it where most of them are not (two input
    frames leave an arc of directions open). Learned heat
    maps were tried first: through the prediction loss they learned to hide
    a glyph they could not place well (a cut-out of empty canvas draws
    black frames, which a pixel loss prefers to a glyph a few pixels off),
    and with a loss of their own (the cut-outs drawn back must give the
    last frame) a quarter of the one-digit slots still missed their digit;
    the heat maps remain only as the fallback of a blank frame.

    Args:
        dynamics_dim: size of the position `z` (the state holds twice
            that), for `latent="vector"`; `2 * slots` for `"slots"` (with
            `hypotheses`, a slot per object and hypothesis).
        appearance_dim: size of `z_a`; 0 for none; for `"slots"` a multiple
            of the number of objects (slots over `hypotheses`).
        latent: `"vector"`; `"map"`: the state is a feature map of
            `2 * map_channels` channels at the encoder's resolution (a 1x1
            convolution instead of a dense layer); or `"slots"` (above).
        map_channels: channels of the position map for `latent="map"`.
        slot_appearance: `"code"` or `"cutout"` (above), for `"slots"`.
        cutout_size: `(S_h, S_w)` of a cut-out, for `"cutout"`; then
            `appearance_dim` is `slots * S_h * S_w * channels`.
        whole_pixels: for `"cutout"`: cut at the nearest centre where the
            cut-out covers whole pixels (`glyphs.snap`), for a decoder that
            draws there (`GlyphDecoder(whole_pixels=True)`): the cut-out is
            then the frame's pixels, not an interpolation of them.
        cut_from: for `"cutout"`: `"last"` (the last input frame) or
            `"clearest"` (above; one slot is always cut from the last).
        cut_centre: for `whole_pixels`: where the window goes, `"nearest"`
            (the nearest whole-pixel centre, `glyphs.snap`: the rule of
            models saved before the option) or `"centre_pixel"` (the
            centroid's nearest pixel is the window's middle one,
            `glyphs.snap_to_centre_pixel`): every object then sits at the
            same place in its window, so one clip's cut-out drawn in
            another's place lands where that clip's object would be (the
            appearance swap), and walls meet every object at the same
            distance. The two differ only for an even cut-out side.
        velocity_fit: for `"cutout"`: `"line"` or `"lattice"` (above).
        shared_speed: for `"cutout"`: every slot moves at the learned
            shared speed (above); before any training step, at its own.
        hypotheses: motions per object (above): slots `H` in a row are one
            object's; more than 1 needs `velocity_fit="lattice"` and
            `shared_speed=True`.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        features: encoder features `(B, h, w, c)` of `encoder_images(frames)`.
        input_times: `(B, K)` times of the input frames.
        frames: `(B, K, H, W, C)` input frames, read by `"cutout"`.

    Returns:
        `(state, appearance)`: `(B, 2 * dynamics_dim)` (or `(B, h, w,
        2 * map_channels)`) and `(B, appearance_dim)`.
    """

    anchor_index = -1

    def __init__(self, dynamics_dim, appearance_dim=0, *, latent="vector", map_channels=16,
                 slot_appearance="code", cutout_size=None, whole_pixels=False,
                 cut_from="last", cut_centre="nearest", velocity_fit="line",
                 shared_speed=False, hypotheses=1, **kwargs):
        # Float32 under a mixed policy: it finds sub-pixel centres, cheaply.
        super().__init__(**default_full_precision(kwargs))
        self.dynamics_dim = check_int("dynamics_dim", dynamics_dim, minimum=1)
        self.appearance_dim = check_int("appearance_dim", appearance_dim, minimum=0)
        self.latent = check_choice("latent", latent, LATENTS)
        self.map_channels = check_int("map_channels", map_channels, minimum=1)
        self.slot_appearance = check_choice("slot_appearance", slot_appearance,
                                            SLOT_APPEARANCES)
        self.whole_pixels = bool(whole_pixels)
        self.cut_from = check_choice("cut_from", cut_from, CUT_FROM)
        self.cut_centre = check_choice("cut_centre", cut_centre, CUT_CENTRES)
        if self.cut_centre != "nearest" and not self.whole_pixels:
            raise ValueError(
                "`cut_centre` places whole-pixel cut-outs: it needs `whole_pixels=True` "
                "(a glyph decoder with `whole_pixels`). Received: "
                f"cut_centre={cut_centre!r}, whole_pixels={whole_pixels!r}"
            )
        self.velocity_fit = check_choice("velocity_fit", velocity_fit, VELOCITY_FITS)
        self.shared_speed = bool(shared_speed)
        self.hypotheses = check_int("hypotheses", hypotheses, minimum=1)
        if self.hypotheses > 1 and (velocity_fit != "lattice" or not self.shared_speed):
            raise ValueError(
                "`hypotheses` are directions at the shared speed that the lattice fit "
                "allows: they need `velocity_fit='lattice'` and `shared_speed=True`. "
                f"Received: hypotheses={hypotheses}, velocity_fit={velocity_fit!r}, "
                f"shared_speed={shared_speed!r}"
            )
        self.cutout_size = None if cutout_size is None else tuple(
            check_int("cutout_size", side, minimum=1) for side in cutout_size)
        if self.slot_appearance == "cutout" and (latent != "slots" or not cutout_size):
            raise ValueError(
                "`slot_appearance='cutout'` cuts a patch around each slot: it needs "
                f"`latent='slots'` and a `cutout_size`. Received: latent={latent!r}, "
                f"cutout_size={cutout_size!r}"
            )
        dtype = self.dtype_policy
        self.flatten = layers.Flatten(name="flatten", dtype=dtype)
        if self.latent == "vector":
            self.dynamics_head = layers.Dense(2 * self.dynamics_dim, name="dynamics_head",
                                              dtype=dtype)
        elif self.latent == "map":
            self.dynamics_head = layers.Conv2D(2 * self.map_channels, 1, name="dynamics_head",
                                               dtype=dtype)
        else:
            self.num_slots = self._check_slots()
            self.num_objects = self.num_slots // self.hypotheses
            # Heat maps of every slot now, then one frame before.
            self.dynamics_head = layers.Conv2D(2 * self.num_objects, 1, name="dynamics_head",
                                               dtype=dtype)
        if (self.shared_speed or velocity_fit != "line") and self.slot_appearance != "cutout":
            raise ValueError(
                "`shared_speed` and `velocity_fit` fit the tracks of cut-out slots: they need "
                f"`slot_appearance='cutout'`. Received: slot_appearance={slot_appearance!r}"
            )
        if self.shared_speed:
            # In pixels per unit time. A statistic of the training data, not
            # trained by the loss: float32, averaged over replicas like
            # batch-norm moments.
            self.speed = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         autocast=False, aggregation="mean", name="speed")
            self.speed_batches = self.add_weight(
                shape=(), initializer="zeros", trainable=False, autocast=False,
                aggregation="mean", name="speed_batches")
        if self.slot_appearance == "cutout":
            self.velocity_hidden = layers.Dense(32, "relu", name="velocity_hidden", dtype=dtype)
            self.velocity_correction = layers.Dense(
                2, kernel_initializer="zeros", name="velocity_correction", dtype=dtype)
        if self.appearance_dim and self.slot_appearance == "code":
            units = self.appearance_dim
            if self.latent == "slots":
                units //= self.num_objects
            self.appearance_head = layers.Dense(units, name="appearance_head", dtype=dtype)

    def _check_slots(self):
        """The number of slots of `latent="slots"`, checked against the sizes."""
        slots = self.dynamics_dim // 2
        objects = slots // self.hypotheses
        if (self.dynamics_dim % 2 or slots % self.hypotheses
                or self.appearance_dim % max(objects, 1)):
            raise ValueError(
                "`latent='slots'` holds an (x, y) centre per slot, `hypotheses` slots per "
                "object, and splits the appearance evenly among the objects: "
                "`dynamics_dim` must be even, `dynamics_dim / 2` a multiple of "
                "`hypotheses`, and `appearance_dim` a multiple of the objects. Received: "
                f"dynamics_dim={self.dynamics_dim}, hypotheses={self.hypotheses}, "
                f"appearance_dim={self.appearance_dim}"
            )
        return slots

    def build(self, features_shape):
        # The heads' input sizes depend on the other call arguments too (the
        # input times, the frames), so the first call builds them; the
        # model's own `build` makes that call on example inputs. Defined
        # only so that Keras does not warn of unbuilt state here.
        self.built = True

    def encoder_images(self, frames):
        """`(B, K, H, W, C)` -> `(B, H, W, K * C)`, frame by frame in the channels."""
        shape = tf.shape(frames)
        return tf.reshape(
            tf.transpose(frames, [0, 2, 3, 1, 4]),
            [shape[0], shape[2], shape[3], frames.shape[1] * frames.shape[4]],
        )

    def call(self, features, input_times, frames=None, training=None):
        if self.latent == "slots":
            return self._slots(features, input_times, frames, training)
        flat = self.flatten(features)
        relative = input_times - input_times[:, -1:]
        if self.latent == "vector":
            state = self.dynamics_head(tf.concat([flat, relative], axis=-1))
        else:
            fshape = tf.shape(features)
            times_map = tf.broadcast_to(
                relative[:, None, None, :],
                [fshape[0], fshape[1], fshape[2], input_times.shape[-1]],
            )
            state = self.dynamics_head(tf.concat([features, times_map], axis=-1))
        if not self.appearance_dim:
            return state, tf.zeros([tf.shape(flat)[0], 0], flat.dtype)
        return state, self.appearance_head(flat)

    def _slots(self, features, input_times, frames, training=None):
        """Soft arg-max centres, their velocity, and per-slot appearance codes."""
        shape = tf.shape(features)
        batch, height, width = shape[0], features.shape[1], features.shape[2]
        heat = tf.reshape(self.dynamics_head(features), [batch, height * width, -1])
        attention = tf.nn.softmax(heat, axis=1)  # Over the grid, per map.
        # Cell centres in image coordinates, -1 and 1 at the border pixels'
        # centres (cell j of w covers pixels j*s .. (j+1)*s - 1).
        xs = (tf.range(width, dtype=features.dtype) + 0.5) / width * 2.0 - 1.0
        ys = (tf.range(height, dtype=features.dtype) + 0.5) / height * 2.0 - 1.0
        grid = tf.reshape(tf.stack(tf.meshgrid(xs, ys), axis=-1), [height * width, 2])
        centres = tf.einsum("bnm,nc->bmc", attention, grid)  # (B, 2K, 2)
        now, before = centres[:, : self.num_objects], centres[:, self.num_objects :]
        step = (input_times[:, -1] - input_times[:, -2])[:, None, None]
        if self.slot_appearance == "cutout":
            return self._cutout_slots(frames, now, input_times, training)
        velocity = (now - before) / step
        state = tf.concat(
            [tf.reshape(now, [batch, -1]), tf.reshape(velocity, [batch, -1])], axis=-1
        )
        if not self.appearance_dim:
            return state, tf.zeros([batch, 0], features.dtype)
        pooled = tf.einsum(
            "bnk,bnc->bkc", attention[..., : self.num_objects],
            tf.reshape(features, [batch, height * width, features.shape[-1]]),
        )
        return state, tf.reshape(self.appearance_head(pooled), [batch, self.appearance_dim])

    def _cutout_slots(self, frames, now, input_times, training=None):
        """Centred cut-outs of an input frame (the last, or the clearest), and
        velocities from following them through the other input frames (see
        the class docstring)."""
        frames = tf.cast(frames, now.dtype)
        last = frames[:, -1]
        size = self.num_objects * self.cutout_size[0] * self.cutout_size[1] * last.shape[-1]
        if size != self.appearance_dim:
            raise ValueError(
                f"{self.num_objects} cut-outs of {self.cutout_size} with {last.shape[-1]} "
                f"channel(s) hold {size} values: `appearance_dim` must be that. "
                f"Received: appearance_dim={self.appearance_dim}"
            )
        extent = tf.constant([last.shape[2] - 1, last.shape[1] - 1], now.dtype)
        start = (now + 1.0) / 2.0 * extent
        # Where the objects are: a clustering of the frame's bright pixels
        # (the heat maps are only the fallback for a blank frame). Learned
        # maps missed: one put a quarter of the one-digit validation slots
        # where the window held none of the digit, two-digit ones had not
        # found the digits after 200 steps.
        batch, count = tf.shape(now)[0], frames.shape[1]
        if self.num_objects > 1 and self.cut_from == "clearest":
            anchor, pixels = clearest_frame(frames, self.num_objects, start)
            source = tf.gather(frames, anchor, batch_dims=1)
        else:
            anchor, source = tf.fill([batch], count - 1), last
            pixels = find_objects(last, self.num_objects, start)
        if self.num_objects == 1:
            # The window onto the whole object (several would pull at each
            # other's neighbours: the clusters' centres are better).
            pixels = centre_on_mass(last, pixels, self.cutout_size)
        if self.whole_pixels:
            place = snap if self.cut_centre == "nearest" else snap_to_centre_pixel
            pixels = place(pixels, self.cutout_size)
        # Each slot's cut-out holds only its cluster's pixels, not a piece
        # of a neighbour that would move with it.
        glyphs = cut_out_each(source, nearest_masks(source, pixels), pixels, self.cutout_size)
        # Nothing here is learned: the slots' positions, looks and
        # velocities come from the frames (plus the learned correction).
        pixels, glyphs = tf.stop_gradient(pixels), tf.stop_gradient(glyphs)
        lattice = self.velocity_fit == "lattice"
        track = track_from(frames, glyphs, anchor, pixels, MATCH_RADIUS,  # (B, K, slots, 2)
                           refine=not lattice)
        gaps = (input_times[:, -1:] - input_times[:, -2::-1])[:, :, None, None]
        # Velocities from each earlier frame, in image coordinates per time.
        estimates = (track[:, -1:] - track[:, -2::-1]) / gaps * 2.0 / extent
        # Static sizes from here on: a serving signature's unknown batch
        # leaves the tracking's slot axis unknown.
        features = tf.reshape(tf.transpose(estimates, [0, 2, 1, 3]),
                              [batch, self.num_objects, 2 * (count - 1)])
        if lattice:
            # The slots' own velocities, then (once the shared speed has
            # learned from them) the fit at that speed, from one search.
            runs = lattice_runs(track, input_times)
            if self.shared_speed and training:
                self._learn_speed(runs["velocity"])
            position, velocity = fit_lattice(
                track, input_times, self.speed if self.shared_speed else None, runs=runs,
                hypotheses=self.hypotheses if self.hypotheses > 1 else None)
        else:
            position, velocity = fit_last_run(track, input_times)
            if self.shared_speed and training:
                self._learn_speed(velocity)
        correction = self.velocity_correction(self.velocity_hidden(features))
        if self.hypotheses > 1:  # (B, objects, H, 2): each object's correction for all.
            correction = correction[:, :, None]
        velocity = velocity * 2.0 / extent + correction
        if self.shared_speed and not lattice:
            velocity = self._at_shared_speed(velocity, self.speed * 2.0 / extent[0])
        state = tf.concat([tf.reshape(position * 2.0 / extent - 1.0, [batch, self.dynamics_dim]),
                           tf.reshape(velocity, [batch, self.dynamics_dim])], axis=-1)
        return state, tf.reshape(glyphs, [batch, size])

    def _learn_speed(self, velocity):
        """The batch's median speed `(B, slots, 2)` (pixels per unit time)
        joins the running mean of the shared speed."""
        # The median: clips whose digits cross are followed badly.
        speeds = tf.sort(tf.reshape(tf.norm(velocity, axis=-1), [-1]))
        median = speeds[tf.size(speeds) // 2]
        batches = self.speed_batches + 1.0
        self.speed.assign(self.speed + (median - self.speed) / tf.minimum(batches, SPEED_MEMORY))
        self.speed_batches.assign(batches)

    def _at_shared_speed(self, velocity, shared):
        """`velocity` `(B, slots, 2)` rescaled to the speed `shared`."""
        speed = tf.sqrt(tf.reduce_sum(tf.square(velocity), axis=-1, keepdims=True) + 1e-12)
        # A slot that barely moves has no direction to keep: it keeps its
        # velocity, as every slot does before the first training step.
        keep = (self.speed_batches < 0.5) | (speed < 0.1 * shared)
        return tf.where(keep, velocity, velocity * (shared / speed))

    def get_config(self):
        return {
            **super().get_config(),
            "dynamics_dim": self.dynamics_dim,
            "appearance_dim": self.appearance_dim,
            "latent": self.latent,
            "map_channels": self.map_channels,
            "slot_appearance": self.slot_appearance,
            "cutout_size": None if self.cutout_size is None else list(self.cutout_size),
            "whole_pixels": self.whole_pixels,
            "cut_from": self.cut_from,
            "cut_centre": self.cut_centre,
            "velocity_fit": self.velocity_fit,
            "shared_speed": self.shared_speed,
            "hypotheses": self.hypotheses,
        }


@keras.saving.register_keras_serializable(package="tfodevideo")
class PairDifferenceHead(layers.Layer):
    """Each of the first two frames alone; the velocity by a finite difference.

    `z0 = E(I0)`, `v0 = (E(I1) - E(I0)) / (t1 - t0)` (the report prints
    `E(h0) - E(h0)`, a typo), `Z0 = [z0, v0]` at the first input time; no
    appearance vector. The report's section 5.3.

    Args:
        dynamics_dim: size of the position `z`.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        features: encoder features `(2B, h, w, c)` of `encoder_images(frames)`:
            the first frames of the batch, then the second ones.
        input_times: `(B, K)` times of the input frames, `K >= 2`.

    Returns:
        `(state (B, 2 * dynamics_dim), appearance (B, 0))`.
    """

    anchor_index = 0
    appearance_dim = 0
    latent = "vector"

    def __init__(self, dynamics_dim, **kwargs):
        # Float32 under a mixed policy: its output is the ODE's initial state,
        # which is float32, and its layers are small.
        super().__init__(**default_full_precision(kwargs))
        self.dynamics_dim = check_int("dynamics_dim", dynamics_dim, minimum=1)
        self.flatten = layers.Flatten(name="flatten", dtype=self.dtype_policy)
        self.dynamics_head = layers.Dense(self.dynamics_dim, name="dynamics_head",
                                          dtype=self.dtype_policy)

    def encoder_images(self, frames):
        """`(B, K, H, W, C)` -> `(2B, H, W, C)`: the first frames, then the second."""
        return tf.concat([frames[:, 0], frames[:, 1]], axis=0)

    def call(self, features, input_times, frames=None):
        del frames  # Reads features only.
        z0, z1 = tf.split(self.dynamics_head(self.flatten(features)), 2, axis=0)
        step = (input_times[:, 1] - input_times[:, 0])[:, None]
        state = tf.concat([z0, (z1 - z0) / step], axis=-1)
        return state, tf.zeros([tf.shape(z0)[0], 0], z0.dtype)

    def get_config(self):
        return {**super().get_config(), "dynamics_dim": self.dynamics_dim}
