"""The latent ODE video model of the report's section 5.3."""

import keras
import tensorflow as tf

from tfodevideo.models.video import VideoODE


@keras.saving.register_keras_serializable(package="tfodevideo")
class LatentODE(VideoODE):
    """Each frame encoded alone; velocity by a finite difference; no appearance.

    `z0 = E(I0)`, `v0 = (E(I1) - E(I0)) / (t1 - t0)` (the report prints
    `E(h0) - E(h0)`, a typo), `Z0 = [z0, v0]` at the first input time; a
    second-order Neural ODE carries it to the query times and the decoder
    draws each position. Only the first two input frames are read. Everything
    the latent moves, appearance included, is left to the ODE: the weakness
    that led the report to `VideoODE`.

    Args:
        All of `VideoODE`'s except `appearance_dim` (always 0),
        `permutation_weight` and `latent` (always a vector).
    """

    anchor_index = 0

    def __init__(self, num_context=2, **kwargs):
        for fixed in ("appearance_dim", "permutation_weight", "latent"):
            kwargs.pop(fixed, None)
        if num_context < 2:
            raise ValueError(
                "LatentODE takes its velocity from the first two frames: "
                f"`num_context` must be at least 2. Received: num_context={num_context}"
            )
        super().__init__(
            num_context=num_context, appearance_dim=0, permutation_weight=0.0,
            latent="vector", **kwargs
        )
        self.dynamics_head = keras.layers.Dense(self.dynamics_dim, name="dynamics_head")

    def encode(self, frames, input_times, training=None):
        """Returns `([z0, v0], empty appearance)` from the first two frames."""
        pair = tf.concat([frames[:, 0], frames[:, 1]], axis=0)
        features = self.flatten(self.encoder(self.spatial(pair), training=training))
        z0, z1 = tf.split(self.dynamics_head(features), 2, axis=0)
        step = (input_times[:, 1] - input_times[:, 0])[:, None]
        state = tf.concat([z0, (z1 - z0) / step], axis=-1)
        return state, self._appearance(z0)

    def get_config(self):
        config = super().get_config()
        for fixed in ("appearance_dim", "permutation_weight", "latent"):
            config.pop(fixed)
        return config
