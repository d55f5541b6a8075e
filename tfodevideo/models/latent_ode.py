"""The latent ODE video model of the report's section 5.3."""

import keras

from tfodevideo.layers.conv_blocks import NORM_MOMENTUM
from tfodevideo.layers.heads import PairDifferenceHead
from tfodevideo.models.ode_video import ODEVideoModel


@keras.saving.register_keras_serializable(package="tfodevideo")
class LatentODE(ODEVideoModel):
    """Each frame encoded alone; velocity by a finite difference; no appearance.

    A `PairDifferenceHead` reads the first two input frames one at a time:
    `z0 = E(I0)`, `v0 = (E(I1) - E(I0)) / (t1 - t0)`, `Z0 = [z0, v0]` at the
    first input time; the same second-order Neural ODE and decoder as
    `VideoODE` carry it to the query times and draw each position. Everything
    the latent moves, appearance included, is left to the ODE: the weakness
    that led the report to `VideoODE`.

    Args:
        image_size, channels: of the frames.
        num_context: input frames (at least 2; only the first two are read).
        dynamics_dim: size of the position `z` (the state holds `2x` that).
        encoder_channels, num_frequencies, field_units, field_depth, decoder,
            method, rtol, atol, max_num_steps, latent_l2, norm_momentum: as
            `VideoODE`'s.
        **kwargs: standard `keras.Model` arguments.

    Call arguments and returns: as `VideoODE`'s.
    """

    def __init__(
        self, image_size=(64, 64), channels=1, num_context=2, *, dynamics_dim=48,
        encoder_channels=(64, 128, 256), num_frequencies=0, field_units=128,
        field_depth=2, decoder="conv", decoder_options=None, method="dopri5", rtol=1e-3,
        atol=1e-6, max_num_steps=1000, latent_l2=1e-5, norm_momentum=NORM_MOMENTUM, **kwargs,
    ):
        # Saved configurations of earlier versions held these fixed values.
        for fixed in ("appearance_dim", "permutation_weight", "latent", "map_channels",
                      "appearance_ode"):
            kwargs.pop(fixed, None)
        if num_context < 2:
            raise ValueError(
                "LatentODE takes its velocity from the first two frames: "
                f"`num_context` must be at least 2. Received: num_context={num_context}"
            )
        super().__init__(
            PairDifferenceHead(dynamics_dim, name="head"), image_size, channels,
            num_context, encoder_channels=encoder_channels,
            num_frequencies=num_frequencies, field_units=field_units,
            field_depth=field_depth, decoder=decoder, decoder_options=decoder_options,
            method=method, rtol=rtol,
            atol=atol, max_num_steps=max_num_steps, latent_l2=latent_l2,
            norm_momentum=norm_momentum, **kwargs,
        )

    def get_config(self):
        config = {**super().get_config(), "dynamics_dim": self.head.dynamics_dim}
        config.pop("permutation_weight")
        config.pop("appearance_ode")
        return config
