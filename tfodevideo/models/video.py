"""The disentangled latent-ODE video model: the report's final method (6.1)."""

import keras
import tensorflow as tf
from keras import layers

from tfodevideo import losses
from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo._checks import check_image_size
from tfodevideo._checks import check_int
from tfodevideo.layers import ConvField
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE
from tfodevideo.layers.conv_blocks import ConvDecoder
from tfodevideo.layers.conv_blocks import NORM_MOMENTUM
from tfodevideo.layers.conv_blocks import ConvEncoder
from tfodevideo.layers.conv_blocks import check_divisible
from tfodevideo.layers.spatial_encoding import SpatialEncoding
from tfodevideo.models.inputs import check_inputs

LATENTS = ("vector", "map")


@keras.saving.register_keras_serializable(package="tfodevideo")
class VideoODE(keras.Model):
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
        latent: `"vector"` or `"map"`.
        map_channels: channels of the position map for `latent="map"`.
        field_units: width of the vector field (units or filters).
        field_depth: hidden layers of the vector field.
        method, rtol, atol, max_num_steps: settings of the `NeuralODE`.
        latent_l2: weight of the L2 penalty on predicted positions (report 1e-5).
        permutation_weight: weight of the permutation-invariance loss on `z_a`
            (inputs shuffled in time must give the same appearance).
        norm_momentum: momentum of the encoder's and decoder's batch-norm
            statistics (lower for runs of a few hundred steps).
        **kwargs: standard `keras.Model` arguments.

    Call arguments:
        inputs: a dict with `frames` `(B, num_context, H, W, C)` float in
            `[0, 1]` (uint8 frames are divided by 255), `input_times`
            `(B, num_context)` and `query_times` `(B, T)` or `(T,)`.
        training: Keras' training flag.

    Returns:
        Predicted frames `(B, T, H, W, C)` in `[0, 1]`.

    References:
        Chen et al., "Neural Ordinary Differential Equations", NeurIPS 2018.
        Le Guen and Thome, "Disentangling physical dynamics from unknown
        factors for unsupervised video prediction", CVPR 2020.
    """

    def __init__(
        self,
        image_size=(64, 64),
        channels=1,
        num_context=10,
        dynamics_dim=48,
        appearance_dim=64,
        encoder_channels=(64, 128, 256),
        num_frequencies=0,
        latent="vector",
        map_channels=16,
        field_units=128,
        field_depth=2,
        method="dopri5",
        rtol=1e-3,
        atol=1e-6,
        max_num_steps=1000,
        latent_l2=1e-5,
        permutation_weight=0.0,
        norm_momentum=NORM_MOMENTUM,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1)
        self.num_context = check_int("num_context", num_context, minimum=1)
        self.dynamics_dim = check_int("dynamics_dim", dynamics_dim, minimum=1)
        self.appearance_dim = check_int("appearance_dim", appearance_dim, minimum=0)
        self.encoder_channels = tuple(encoder_channels)
        check_divisible(self.image_size, len(self.encoder_channels))
        self.num_frequencies = num_frequencies
        self.latent = check_choice("latent", latent, LATENTS)
        self.map_channels = check_int("map_channels", map_channels, minimum=1)
        self.field_units = field_units
        self.field_depth = field_depth
        self.method, self.rtol, self.atol = method, rtol, atol
        self.max_num_steps = max_num_steps
        self.latent_l2 = check_float("latent_l2", latent_l2, minimum=0.0)
        self.permutation_weight = check_float(
            "permutation_weight", permutation_weight, minimum=0.0
        )

        self.spatial = SpatialEncoding(num_frequencies, name="spatial_encoding")
        self.norm_momentum = norm_momentum
        self.encoder = ConvEncoder(self.encoder_channels, norm_momentum=norm_momentum,
                                   name="encoder")
        self.flatten = layers.Flatten(name="flatten")
        if self.appearance_dim:
            self.appearance_head = layers.Dense(appearance_dim, name="appearance_head")
        decoder_channels = tuple(reversed(self.encoder_channels))
        if self.latent == "vector":
            self.dynamics_head = layers.Dense(2 * dynamics_dim, name="dynamics_head")
            field = MLPField(field_units, field_depth, second_order=True, name="field")
        else:
            self.dynamics_head = layers.Conv2D(2 * map_channels, 1, name="dynamics_head")
            field = ConvField(field_units, field_depth, second_order=True, name="field")
        self.decoder = ConvDecoder(
            self.image_size,
            self.channels,
            decoder_channels,
            from_map=self.latent == "map",
            norm_momentum=norm_momentum,
            name="decoder",
        )
        self.ode = NeuralODE(
            field, method=method, rtol=rtol, atol=atol, max_num_steps=max_num_steps,
            name="ode",
        )

    # The parts, usable on their own: encode, integrate, decode.

    def encode(self, frames, input_times, training=None):
        """Returns `(Z0, z_a)`: the initial dynamic state and the appearance."""
        shape = tf.shape(frames)
        stacked = tf.reshape(
            tf.transpose(frames, [0, 2, 3, 1, 4]),
            [shape[0], shape[2], shape[3], self.num_context * self.channels],
        )
        features = self.encoder(self.spatial(stacked), training=training)
        flat = self.flatten(features)
        # The dynamics head also sees when the frames were taken, relative to
        # the last one, so irregular input spacing changes the velocity.
        relative = input_times - input_times[:, -1:]
        if self.latent == "vector":
            state = self.dynamics_head(tf.concat([flat, relative], axis=-1))
        else:
            fshape = tf.shape(features)
            times_map = tf.broadcast_to(
                relative[:, None, None, :],
                [fshape[0], fshape[1], fshape[2], self.num_context],
            )
            state = self.dynamics_head(tf.concat([features, times_map], axis=-1))
        return state, self._appearance(flat)

    def _appearance(self, flat_features):
        if not self.appearance_dim:
            return tf.zeros([tf.shape(flat_features)[0], 0], flat_features.dtype)
        return self.appearance_head(flat_features)

    def integrate(self, state, query_times, anchor_times):
        """Latent positions `(B, T, ...)` at the query times."""
        states = self.ode(state, query_times, anchor_times)
        return states[..., : states.shape[-1] // 2]

    def decode(self, positions, appearance, training=None):
        """Frames `(B, T, H, W, C)` from positions and one appearance per clip."""
        shape = tf.shape(positions)
        batch, steps = shape[0], shape[1]
        inner = positions.shape[2:]
        broadcast = tf.concat([shape[:-1], [self.appearance_dim]], 0)
        expanded = tf.reshape(
            appearance, [batch, 1] + [1] * (len(inner) - 1) + [self.appearance_dim]
        )
        joined = tf.concat([positions, tf.broadcast_to(expanded, broadcast)], axis=-1)
        flat = tf.reshape(joined, [-1, *inner[:-1], inner[-1] + self.appearance_dim])
        frames = self.decoder(flat, training=training)
        return tf.reshape(frames, [batch, steps, *self.image_size, self.channels])

    # The input frame whose time the initial state `Z0` belongs to.
    anchor_index = -1

    def call(self, inputs, training=None):
        frames, input_times, query_times = self._prepare(inputs)
        state, appearance = self.encode(frames, input_times, training)
        positions = self.integrate(state, query_times, input_times[:, self.anchor_index])
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
        return self.decode(positions, appearance, training)

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
            raise ValueError("This model has no appearance vector (appearance_dim=0).")
        frames, input_times, query_times = self._prepare(dynamics_inputs)
        other = dict(appearance_inputs, query_times=query_times)
        other_frames, other_times, _ = self._prepare(other)
        state, _ = self.encode(frames, input_times, training=False)
        _, appearance = self.encode(other_frames, other_times, training=False)
        positions = self.integrate(state, query_times, input_times[:, self.anchor_index])
        return self.decode(positions, appearance, training=False)

    def build(self, inputs_shape):
        # Running the graph once on zeros builds every sublayer with its real
        # shapes, so that a reloaded model restores all weights.
        if self.built:
            return
        batch = 1
        dummy = {
            "frames": tf.zeros([batch, self.num_context, *self.image_size, self.channels]),
            "input_times": tf.range(self.num_context, dtype=tf.float32)[None] * 0.1,
            "query_times": tf.constant([[self.num_context * 0.1]]),
        }
        self.call(dummy, training=False)
        self.built = True

    def _prepare(self, inputs):
        """Checks the inputs and converts uint8 frames; see the class docstring."""
        return check_inputs(
            inputs, self.num_context, self.image_size, self.channels, self.compute_dtype
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": list(self.image_size),
                "channels": self.channels,
                "num_context": self.num_context,
                "dynamics_dim": self.dynamics_dim,
                "appearance_dim": self.appearance_dim,
                "encoder_channels": list(self.encoder_channels),
                "num_frequencies": self.num_frequencies,
                "latent": self.latent,
                "map_channels": self.map_channels,
                "field_units": self.field_units,
                "field_depth": self.field_depth,
                "method": self.method,
                "rtol": self.rtol,
                "atol": self.atol,
                "max_num_steps": self.max_num_steps,
                "latent_l2": self.latent_l2,
                "permutation_weight": self.permutation_weight,
                "norm_momentum": self.norm_momentum,
            }
        )
        return config
