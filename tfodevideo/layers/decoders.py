"""The decoders a latent video model can draw its frames with, by name.

A decoder is a Keras layer built as
`Decoder(image_size, out_channels, channels, from_map, *, dynamics_dim,
norm_momentum, **options)` that draws images `(N, H, W, out_channels)` in
`[0, 1]` from latents `(N, D)` (or maps `(N, h, w, c)` when `from_map`);
`channels` are the encoder's block channels, reversed; the first
`dynamics_dim` values of a latent vector are the position, the rest the
appearance; `options` are the model's `decoder_options`. Registering one
under a name makes it a choice of `VideoODE(decoder=...)` and of a preset's
model arguments:

    @register_decoder("mine")
    class MyDecoder(keras.layers.Layer):
        ...
"""

from tfodevideo._checks import check_choice
from tfodevideo.layers.conv_blocks import ConvDecoder
from tfodevideo.layers.glyphs import GlyphDecoder

DECODERS = {"conv": ConvDecoder, "glyph": GlyphDecoder}


def register_decoder(name):
    """Class decorator: makes a decoder layer choosable as `decoder=name`."""

    def register(cls):
        DECODERS[name] = cls
        return cls

    return register


def make_decoder(name, image_size, out_channels, channels, from_map, *, dynamics_dim,
                 norm_momentum, options=None):
    """The decoder registered under `name`, named "decoder"."""
    check_choice("decoder", name, tuple(DECODERS))
    return DECODERS[name](
        image_size, out_channels, channels, from_map, dynamics_dim=dynamics_dim,
        norm_momentum=norm_momentum, name="decoder", **(options or {}),
    )
