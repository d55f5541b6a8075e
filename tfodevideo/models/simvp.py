"""A SimVP-style predictor: all frames at once from a spatial translator.

Gao et al. (CVPR 2022) showed that a plain CNN rivals recurrent predictors on
Moving MNIST at a fraction of their cost: a strided conv encoder reads every
input frame, a translator of Inception blocks sees the frames' features
stacked in time as channels and writes the future frames' features, and a
conv decoder draws them. OpenSTL ranks it among the best on Moving MNIST per
FLOP, which makes it the peer to beat at equal compute.

Written here from the paper: encoder of `num_spatial` `ConvSC` blocks
(3x3 conv, group norm, leaky ReLU; every second one strided), translator of
`num_translator` Inception blocks down and up with U-Net skips, decoder of
transposed `ConvSC` blocks whose last one also reads the first encoder
block's features (the skip of the paper). Two changes: the readout ends in a
sigmoid started near black, as every model of this package does, and the
translator may write more frames than it reads (`num_target`); longer
horizons are predicted autoregressively, `num_target` frames at a time.
"""

import math

import keras
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_int
from tfodevideo.models.frame_steps import FrameStepModel
from tfodevideo.precision import full_precision


def _conv_sc(filters, stride, transpose=False, name=None):
    """The paper's `ConvSC`: conv (or transposed conv), group norm, leaky ReLU."""
    conv = layers.Conv2DTranspose if transpose and stride > 1 else layers.Conv2D
    return keras.Sequential(
        [
            conv(filters, 3, strides=stride, padding="same"),
            layers.GroupNormalization(min(2, filters)),
            layers.LeakyReLU(0.2),
        ],
        name=name,
    )


def _groups(channels, wanted):
    """`wanted` groups where the channels divide evenly, else 1 (as SimVP)."""
    return wanted if channels % wanted == 0 else 1


@keras.saving.register_keras_serializable(package="tfodevideo")
class InceptionBlock(layers.Layer):
    """SimVP's translator block: a 1x1 conv to `hidden` channels, then
    grouped convolutions of several kernel sizes in parallel (each with group
    norm and leaky ReLU), summed.

    Args:
        hidden: channels after the 1x1 conv.
        filters: output channels.
        kernel_sizes: kernels of the parallel branches.
        groups: groups of the branch convolutions (1 where they do not divide
            the channels).
        **kwargs: standard layer arguments.
    """

    def __init__(self, hidden, filters, kernel_sizes=(3, 5, 7, 11), groups=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.filters = check_int("filters", filters, minimum=1)
        self.kernel_sizes = tuple(check_int("kernel_sizes", k, minimum=1) for k in kernel_sizes)
        self.groups = check_int("groups", groups, minimum=1)
        group = _groups(math.gcd(self.hidden, self.filters), self.groups)
        self.reduce = layers.Conv2D(self.hidden, 1, name="reduce")
        self.branches = [
            keras.Sequential(
                [
                    layers.Conv2D(self.filters, k, padding="same", groups=group),
                    layers.GroupNormalization(_groups(self.filters, self.groups)),
                    layers.LeakyReLU(0.2),
                ],
                name=f"branch_{k}",
            )
            for k in self.kernel_sizes
        ]

    def call(self, x):
        x = self.reduce(x)
        return tf.add_n([branch(x) for branch in self.branches])

    def get_config(self):
        return {
            **super().get_config(),
            "hidden": self.hidden,
            "filters": self.filters,
            "kernel_sizes": list(self.kernel_sizes),
            "groups": self.groups,
        }


@keras.saving.register_keras_serializable(package="tfodevideo")
class SimVPBaseline(FrameStepModel):
    """SimVP: encoder, Inception translator over time-stacked features, decoder.

    It takes the same inputs as `VideoODE` (see
    `tfodevideo.models.frame_steps`): one frame per query time, at the
    inputs' frame rate.

    Args:
        image_size: `(H, W)`, each side divisible by `2 ** (num_spatial // 2)`.
        channels: channels of the frames.
        num_context: number of input frames.
        num_target: frames the translator writes per pass (default
            `num_context`, as in the paper); more query times than this are
            predicted by feeding predictions back, `num_target` at a time.
        spatial_channels: channels of the encoder and decoder (`hid_S`).
        translator_channels: channels inside the translator (`hid_T`).
        num_spatial: `ConvSC` blocks of the encoder and of the decoder
            (`N_S`); every second one halves or doubles the resolution.
        first_stride: stride of the first encoder block (and the last
            decoder block): 1 as in the paper, 2 to start at half
            resolution (four times cheaper on a CPU; then the strides run
            2, 1, 2, 1...).
        num_translator: Inception blocks on the way down and up (`N_T`).
        kernel_sizes, groups: of the Inception branches.
        **kwargs: standard `keras.Model` arguments.

    Returns:
        Predicted frames `(B, T, H, W, C)` in `[0, 1]`.

    References:
        Gao, Tan, Wu and Li, "SimVP: Simpler yet better video prediction",
        CVPR 2022.
    """

    def __init__(
        self, image_size=(64, 64), channels=1, num_context=10, num_target=None,
        spatial_channels=64, translator_channels=256, num_spatial=4, num_translator=4,
        kernel_sizes=(3, 5, 7, 11), groups=8, first_stride=1, **kwargs,
    ):
        super().__init__(image_size, channels, num_context, **kwargs)
        self.num_target = check_int(
            "num_target", num_context if num_target is None else num_target, minimum=1
        )
        self.spatial_channels = check_int("spatial_channels", spatial_channels, minimum=1)
        self.translator_channels = check_int(
            "translator_channels", translator_channels, minimum=2
        )
        self.num_spatial = check_int("num_spatial", num_spatial, minimum=1)
        self.num_translator = check_int("num_translator", num_translator, minimum=1)
        self.kernel_sizes = tuple(kernel_sizes)
        self.groups = check_int("groups", groups, minimum=1)
        self.first_stride = check_int("first_stride", first_stride, minimum=1, maximum=2)
        odd = self.first_stride - 1
        strides = [1 + (i + odd) % 2 for i in range(self.num_spatial)]  # 1, 2, 1, 2...
        scale = 2 ** strides.count(2)
        if any(side % scale for side in self.image_size):
            raise ValueError(
                f"Each image side must be divisible by {scale} for the strides "
                f"{strides}. Received: image_size={self.image_size}"
            )
        self.encoder = [
            _conv_sc(self.spatial_channels, s, name=f"encoder_{i}") for i, s in enumerate(strides)
        ]
        self.decoder = [
            _conv_sc(self.spatial_channels, s, transpose=True, name=f"decoder_{i}")
            for i, s in enumerate(reversed(strides))
        ]
        self.readout = layers.Conv2D(
            self.channels, 1, activation="sigmoid", name="readout", dtype=full_precision(),
            bias_initializer=keras.initializers.Constant(-3.9),  # Start dark.
        )
        blocks = dict(kernel_sizes=self.kernel_sizes, groups=self.groups)
        hidden, out = self.translator_channels, self.num_target * self.spatial_channels
        self.down = [
            InceptionBlock(hidden // 2, hidden, name=f"down_{i}", **blocks)
            for i in range(self.num_translator)
        ]
        self.up = [
            InceptionBlock(hidden // 2, hidden if i < self.num_translator - 1 else out,
                           name=f"up_{i}", **blocks)
            for i in range(self.num_translator)
        ]

    def _translate(self, x):
        """The paper's `Mid_Xnet`: down blocks, then up blocks fed the skips."""
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
        for i, block in enumerate(self.up):
            x = block(x if i == 0 else tf.concat([x, skips[-i]], axis=-1))
        return x

    def _pass(self, frames):
        """`num_context` frames in, the next `num_target` frames out."""
        batch = tf.shape(frames)[0]
        height, width = self.image_size
        x = tf.reshape(frames, [-1, height, width, self.channels])
        skip = x = self.encoder[0](x)
        for block in self.encoder[1:]:
            x = block(x)
        small = x.shape[1:3]
        # Time stacked as channels: (B, h, w, T * C).
        x = tf.reshape(x, [batch, self.num_context, *small, self.spatial_channels])
        x = tf.reshape(tf.transpose(x, [0, 2, 3, 1, 4]), [batch, *small, -1])
        x = self._translate(x)
        x = tf.reshape(x, [batch, *small, self.num_target, self.spatial_channels])
        x = tf.reshape(tf.transpose(x, [0, 3, 1, 2, 4]), [-1, *small, self.spatial_channels])
        for block in self.decoder[:-1]:
            x = block(x)
        skip = tf.reshape(skip, [batch, self.num_context, *skip.shape[1:]])
        if self.num_target == self.num_context:
            skip = tf.reshape(skip, [-1, *skip.shape[2:]])
        else:  # Each predicted frame reads the last input frame's features.
            skip = tf.repeat(skip[:, -1], self.num_target, axis=0)
        x = self.decoder[-1](tf.concat([x, skip], axis=-1))
        x = self.readout(x)
        return tf.reshape(x, [batch, self.num_target, height, width, self.channels])

    def predict_steps(self, frames, steps, inputs, training=None):
        outputs = []
        for _ in range(-(-steps // self.num_target)):
            predicted = self._pass(frames)
            outputs.append(predicted)
            frames = tf.concat([frames, predicted], axis=1)[:, -self.num_context:]
        return tf.concat(outputs, axis=1)[:, :steps]

    def get_config(self):
        return {
            **super().get_config(),
            "num_target": self.num_target,
            "spatial_channels": self.spatial_channels,
            "translator_channels": self.translator_channels,
            "num_spatial": self.num_spatial,
            "num_translator": self.num_translator,
            "kernel_sizes": list(self.kernel_sizes),
            "groups": self.groups,
            "first_stride": self.first_stride,
        }
