"""Encode, integrate from the anchor time, decode: the one forward path of the
continuous-time video models, whatever head reads their inputs."""

import tensorflow as tf

from tfodevideo import losses
from tfodevideo._checks import check_float
from tfodevideo.layers import ConvField
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE
from tfodevideo.layers.conv_blocks import NORM_MOMENTUM
from tfodevideo.layers.conv_blocks import ConvEncoder
from tfodevideo.layers.conv_blocks import check_divisible
from tfodevideo.layers.decoders import make_decoder
from tfodevideo.layers.spatial_encoding import SpatialEncoding
from tfodevideo.layers.walls import ReflectingWalls
from tfodevideo.models.base import VideoModel


class ODEVideoModel(VideoModel):
    """A head reads the inputs into `Z0` and `z_a`; a second-order Neural ODE
    carries `Z0` to every query time; the decoder draws each position with
    `z_a`. `VideoODE` and `LatentODE` differ only in their head (see
    `tfodevideo.layers.heads`). A model with a new head is a subclass, as
    they are, that builds its head from its own (serialisable) arguments.

    Args:
        head: the encoder head layer (`StackedHead`, `PairDifferenceHead`).
        image_size, channels, num_context: see `VideoModel`.
        encoder_channels: channels of the encoder blocks; the decoder's
            mirror them.
        num_frequencies: sine/cosine octaves of the spatial encoding.
        field_units: width of the vector field (units, or filters for map
            latents).
        field_depth: hidden layers of the vector field.
        field_zero_start: start the field at zero (uniform motion; see
            `VectorField`).
        field_trainable: if False (with `field_zero_start`), the field stays
            zero: objects move uniformly between the walls, for motion whose
            rules the model holds already (the `*_lattice` presets: a field
            learned there bent long extrapolations).
        walls: for `latent="slots"`: the initial half-width of a box whose
            elastic walls the slots bounce off (`ReflectingWalls`, learned),
            or a dict of `ReflectingWalls` arguments (`{"extent": 0.6,
            "rule": "clamp", "step_time": 0.1}`); None for open space.
        decoder: name of a registered decoder (`tfodevideo.layers.decoders`).
        decoder_options: dict of further arguments of that decoder (e.g.
            `{"glyph_size": 32}` for `decoder="glyph"`).
        method, rtol, atol, max_num_steps: settings of the `NeuralODE`.
        latent_l2: weight of the L2 penalty on predicted positions.
        permutation_weight: weight of the permutation-invariance loss on the
            appearance (inputs shuffled in time must give the same `z_a`).
        appearance_ode: if True, a first-order Neural ODE (its own field,
            zero at the start) moves `z_a` from the anchor time, for looks
            that change over a clip (a ball that grows); the report's
            section 6.4. Untrained, the model is the one without it.
        norm_momentum: momentum of the encoder's and decoder's batch norms.
        **kwargs: standard `keras.Model` arguments.
    """

    def __init__(
        self, head, image_size=(64, 64), channels=1, num_context=10, *,
        encoder_channels=(64, 128, 256), num_frequencies=0, field_units=128,
        field_depth=2, field_zero_start=False, field_trainable=True, walls=None, decoder="conv", decoder_options=None,
        method="dopri5", rtol=1e-3,
        atol=1e-6, max_num_steps=1000, latent_l2=1e-5, permutation_weight=0.0,
        appearance_ode=False, norm_momentum=NORM_MOMENTUM, **kwargs,
    ):
        super().__init__(image_size, channels, num_context, **kwargs)
        self.head = head
        self.encoder_channels = tuple(encoder_channels)
        check_divisible(self.image_size, len(self.encoder_channels))
        self.num_frequencies = num_frequencies
        self.field_units, self.field_depth = field_units, field_depth
        self.field_zero_start = bool(field_zero_start)
        self.field_trainable = bool(field_trainable)
        if not (self.field_trainable or self.field_zero_start):
            raise ValueError(
                "A field that does not train stays as it starts: `field_trainable=False` "
                "needs `field_zero_start=True` (a zero field). Received: "
                f"field_trainable={field_trainable!r}, field_zero_start={field_zero_start!r}"
            )
        self.decoder_name = decoder
        self.decoder_options = dict(decoder_options or {})
        self.method, self.rtol, self.atol = method, rtol, atol
        self.max_num_steps = max_num_steps
        self.latent_l2 = check_float("latent_l2", latent_l2, minimum=0.0)
        self.permutation_weight = check_float(
            "permutation_weight", permutation_weight, minimum=0.0
        )
        self.norm_momentum = norm_momentum
        self.spatial = SpatialEncoding(num_frequencies, name="spatial_encoding")
        self.encoder = ConvEncoder(self.encoder_channels, norm_momentum=norm_momentum,
                                   name="encoder")
        from_map = head.latent == "map"
        field_class = ConvField if from_map else MLPField
        field = field_class(field_units, field_depth, second_order=True,
                            zero_start=self.field_zero_start, name="field")
        field.trainable = self.field_trainable
        self.ode = NeuralODE(
            field, method=method, rtol=rtol, atol=atol, max_num_steps=max_num_steps, name="ode",
        )
        self.walls = None
        if walls is not None:
            if head.latent != "slots":
                raise ValueError(
                    "`walls` fold object centres into a box: they need `latent='slots'`. "
                    f"Received: walls={walls!r}, latent={head.latent!r}"
                )
            options = dict(walls) if isinstance(walls, dict) else {"extent": walls}
            self.walls = ReflectingWalls(**options, name="walls")
        self.appearance_ode = None
        if appearance_ode and head.appearance_dim:
            self.appearance_ode = NeuralODE(
                MLPField(field_units, field_depth, zero_start=True, name="appearance_field"),
                method=method, rtol=rtol, atol=atol, max_num_steps=max_num_steps,
                name="appearance_ode",
            )
        elif appearance_ode:
            raise ValueError(
                "`appearance_ode=True` moves the appearance vector: the model needs "
                f"one. Received: appearance_dim={head.appearance_dim}"
            )
        self.decoder = make_decoder(
            decoder, self.image_size, self.channels, tuple(reversed(self.encoder_channels)),
            from_map, dynamics_dim=head.dynamics_dim, norm_momentum=norm_momentum,
            options=self.decoder_options,
        )

    @property
    def dynamics_dim(self):
        return self.head.dynamics_dim

    @property
    def appearance_dim(self):
        return self.head.appearance_dim

    @property
    def latent(self):
        return self.head.latent

    # The parts, usable on their own: encode, integrate, decode.

    def encode(self, frames, input_times, training=None):
        """Returns `(Z0, z_a)`: the initial dynamic state and the appearance."""
        images = self.spatial(self.head.encoder_images(frames))
        state, appearance = self.head(self.encoder(images, training=training), input_times,
                                      frames=frames, training=training)
        # Latents in the model's precision (float32 under a mixed policy),
        # whatever the head computed in.
        return (tf.cast(state, self.compute_dtype),
                tf.cast(appearance, self.compute_dtype))

    def anchor_times(self, input_times):
        """The time `(B,)` of each clip's initial state `Z0`."""
        return input_times[:, self.head.anchor_index]

    def integrate(self, state, query_times, anchor_times):
        """Latent positions `(B, T, ...)` at the query times."""
        states = self.ode(state, query_times, anchor_times)
        positions = states[..., : states.shape[-1] // 2]
        # The ODE carries the free motion; walls fold it into their box
        # (clamping walls step from the initial state).
        if self.walls is None:
            return positions
        half = state.shape[-1] // 2
        return self.walls(positions, start=state[:, :half], velocity=state[:, half:])

    def appearance_at(self, appearance, query_times, anchor_times):
        """`z_a` `(B, A)` as the decoder reads it: unchanged, or `(B, T, A)`
        at the query times when the model has an `appearance_ode`."""
        if self.appearance_ode is None:
            return appearance
        return self.appearance_ode(appearance, query_times, anchor_times)

    def decode(self, positions, appearance, training=None, elapsed=None):
        """Frames `(B, T, H, W, C)` from positions and one appearance per clip
        `(B, A)` (or per frame, `(B, T, A)`); `elapsed` `(B, T)`, the time of
        each frame since the anchor, for a decoder that reads it."""
        shape = tf.shape(positions)
        batch, steps = shape[0], shape[1]
        inner = positions.shape[2:]
        size = self.appearance_dim
        broadcast = tf.concat([shape[:-1], [size]], 0)
        per_frame = len(appearance.shape) == 3
        expanded = tf.reshape(appearance, [batch, steps if per_frame else 1]
                              + [1] * (len(inner) - 1) + [size])
        joined = tf.concat([positions, tf.broadcast_to(expanded, broadcast)], axis=-1)
        flat = tf.reshape(joined, [-1, *inner[:-1], inner[-1] + size])
        if getattr(self.decoder, "reads_elapsed", False):
            if elapsed is None:
                raise ValueError("This model's decoder reads the time since the anchor: "
                                 "pass `elapsed` to `decode`.")
            frames = self.decoder(flat, training=training,
                                  elapsed=tf.reshape(tf.cast(elapsed, flat.dtype), [-1]))
        else:
            frames = self.decoder(flat, training=training)
        return tf.reshape(frames, [batch, steps, *self.image_size, self.channels])

    def forward(self, inputs, training=None, return_latents=False):
        """Checked inputs -> encode -> integrate from the anchor times -> decode.

        The path `call`, export and the benchmarks share; unlike `call` it
        adds no regularisation losses, so it can run outside `fit`.

        Returns:
            Frames `(B, T, H, W, C)`; with `return_latents`, a dict of
            `frames` and `latents` (the positions `(B, T, ...)`).
        """
        predicted, positions, _ = self._run(inputs, training)
        if return_latents:
            return {"frames": predicted, "latents": positions}
        return predicted

    def call(self, inputs, training=None):
        predicted, positions, parts = self._run(inputs, training)
        self._add_losses(positions, *parts, training)
        return predicted

    def _run(self, inputs, training):
        frames, input_times, query_times = self.checked_inputs(inputs)
        state, appearance = self.encode(frames, input_times, training)
        anchors = self.anchor_times(input_times)
        positions = self.integrate(state, query_times, anchors)
        looks = self.appearance_at(appearance, query_times, anchors)
        predicted = self.decode(positions, looks, training,
                                elapsed=self.elapsed_times(query_times, anchors))
        return predicted, positions, (frames, input_times, appearance)

    def _add_losses(self, positions, frames, input_times, appearance, training):
        if self.latent_l2:
            self.add_loss(self.latent_l2 * losses.latent_l2(positions))
        if self.permutation_weight and self.appearance_dim and training:
            order = tf.random.shuffle(tf.range(self.num_context))
            _, shuffled = self.encode(
                tf.gather(frames, order, axis=1), tf.gather(input_times, order, axis=1),
                training,
            )
            self.add_loss(
                self.permutation_weight * losses.permutation_invariance(appearance, shuffled)
            )

    def swap_appearance(self, dynamics_inputs, appearance_inputs):
        """Draws the motion of one batch of clips with the look of another.

        Args:
            dynamics_inputs: inputs dict of the clips whose motion is kept
                (their `query_times` are used).
            appearance_inputs: inputs dict of the clips whose appearance
                vector is used; only `frames` and `input_times` are read.

        Returns:
            Frames `(B, T, H, W, C)`.
        """
        if not self.appearance_dim:
            return super().swap_appearance(dynamics_inputs, appearance_inputs)
        frames, input_times, query_times = self.checked_inputs(dynamics_inputs)
        other_frames, other_times, _ = self.checked_inputs(
            dict(appearance_inputs, query_times=query_times)
        )
        state, _ = self.encode(frames, input_times, training=False)
        _, appearance = self.encode(other_frames, other_times, training=False)
        anchors = self.anchor_times(input_times)
        positions = self.integrate(state, query_times, anchors)
        # B's look, changing (with an appearance ODE) as it would from A's anchor.
        looks = self.appearance_at(appearance, query_times, anchors)
        return self.decode(positions, looks, training=False,
                           elapsed=self.elapsed_times(query_times, anchors))

    @staticmethod
    def elapsed_times(query_times, anchor_times):
        """`(B, T)` time of each query since its clip's anchor: what `decode`
        takes as `elapsed`."""
        query = query_times if len(query_times.shape) == 2 else query_times[None]
        return query - anchor_times[:, None]

    def _walls_config(self):
        """`walls` as given: the extent alone for elastic walls (so that
        configurations saved before the rule existed read the same)."""
        if self.walls is None:
            return None
        if self.walls.rule == "elastic" and not self.walls.initial_centre:
            return self.walls.extent
        return {"extent": self.walls.extent, "rule": self.walls.rule,
                "step_time": self.walls.step_time, "centre": self.walls.initial_centre}

    def get_config(self):
        return {
            **super().get_config(),
            "encoder_channels": list(self.encoder_channels),
            "num_frequencies": self.num_frequencies,
            "field_units": self.field_units,
            "field_depth": self.field_depth,
            "field_zero_start": self.field_zero_start,
            "field_trainable": self.field_trainable,
            "walls": self._walls_config(),
            "decoder": self.decoder_name,
            "decoder_options": dict(self.decoder_options),
            "method": self.method,
            "rtol": self.rtol,
            "atol": self.atol,
            "max_num_steps": self.max_num_steps,
            "latent_l2": self.latent_l2,
            "permutation_weight": self.permutation_weight,
            "appearance_ode": self.appearance_ode is not None,
            "norm_momentum": self.norm_momentum,
        }
