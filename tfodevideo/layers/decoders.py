"""The decoders a latent video model can draw its frames with, by name.

A decoder is a Keras layer built as
`Decoder(image_size, out_channels, channels, from_map, norm_momentum=...)`
that draws images `(N, H, W, out_channels)` in `[0, 1]` from latents
`(N, D)` (or maps `(N, h, w, c)` when `from_map`); `channels` are the
encoder's block channels, reversed. Registering one under a name makes it a
choice of `VideoODE(decoder=...)` and of a preset's model arguments:

    @register_decoder("mine")
    class MyDecoder(keras.layers.Layer):
        ...
"""

from tfodevideo._checks import check_choice
from tfodevideo.layers.conv_blocks import ConvDecoder

DECODERS = {"conv": ConvDecoder}


def register_decoder(name):
    """Class decorator: makes a decoder layer choosable as `decoder=name`."""

    def register(cls):
        DECODERS[name] = cls
        return cls

    return register


def make_decoder(name, image_size, out_channels, channels, from_map, norm_momentum):
    """The decoder registered under `name`, named "decoder"."""
    check_choice("decoder", name, tuple(DECODERS))
    return DECODERS[name](
        image_size, out_channels, channels, from_map, norm_momentum=norm_momentum,
        name="decoder",
    )
