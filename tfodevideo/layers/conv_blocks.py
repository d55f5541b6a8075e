"""The convolutional encoder trunk and decoder of the report's appendix.

Encoder: blocks of (conv 3x3, ReLU, batch norm) twice then 2x2 max-pooling,
channels 64 / 128 / 256 by default. Decoder: the mirror image, each block a
bilinear 2x upsampling then (conv 3x3, ReLU, batch norm) twice, and a final
1x1 convolution with a sigmoid. Convolutions pad to keep sizes, so an image
side must be divisible by `2 ** len(channels)`.
"""

import contextlib
import math

import keras
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo._checks import check_int
from tfodevideo.precision import full_precision


# Momentum of the batch norms' moving statistics (Keras' default). A run of
# a few hundred steps needs less: after N steps the averages still hold
# about momentum**N of their start, and inference reads those averages.
NORM_MOMENTUM = 0.99


def _conv_bn(filters, dtype, momentum=NORM_MOMENTUM):
    return [
        layers.Conv2D(filters, 3, padding="same", activation="relu", dtype=dtype),
        # Statistics of the global batch under tf.distribute: every replica
        # and worker then keeps the same moving averages.
        BATCH_NORMS[_batch_norm[0]](synchronized=True, momentum=momentum, dtype=dtype),
    ]


@keras.saving.register_keras_serializable(package="tfodevideo")
class BatchNormalization(layers.BatchNormalization):
    """`BatchNormalization` of NHWC images through TensorFlow's fused kernel.

    It keeps Keras' class name on purpose: a `.keras` file stores the
    weights of a layer list's items under their class names in snake case
    (`blocks/batch_normalization_4`), so the name keeps every model saved
    before this layer existed loadable.

    Keras 3's layer computes the moments, the normalisation and their
    gradients as separate ops, and under a mixed policy first casts its
    input to float32 and its output back: on the CPU these ops were 36 %
    of a `mixed_bfloat16` training step of the `_cpu` trunk and the casts
    another 17 % (`benchmarks/precision.py`'s profile). The fused kernel
    (`FusedBatchNormV3`) reads and writes the compute dtype and keeps its
    sums in float32. Same weights, same moving-average update (the
    population variance, as Keras), so models saved with either layer load
    into the other.

    It falls back to the Keras computation where the kernel does not apply:
    inputs other than 4-D channels-last, a mask, batch renormalisation, and
    `synchronized=True` under a strategy with several replicas (the fused
    kernel sees one replica's batch only).
    """

    def _fusable(self, inputs, mask):
        if (len(inputs.shape) != 4 or self.axis not in (-1, 3) or mask is not None
                or self.renorm or inputs.dtype not in (tf.float32, tf.bfloat16, tf.float16)):
            return False
        if self.synchronized and tf.distribute.has_strategy():
            return tf.distribute.get_strategy().num_replicas_in_sync == 1
        return True

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else tf.ones([channels])
        beta = self.beta if self.center else tf.zeros([channels])
        gamma, beta = tf.cast(gamma, tf.float32), tf.cast(beta, tf.float32)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True)
            # The kernel returns the sample variance (n - 1); Keras' moving
            # average takes the population one (n), like the normalisation.
            count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
            variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
            self.moving_mean.assign(
                self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32), epsilon=self.epsilon,
                is_training=False)
        return tf.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="tfodevideo")
class BilinearUpSampling2x(layers.Layer):
    """Bilinear 2x upsampling of NHWC images, returned in their dtype.

    `UpSampling2D(2, interpolation="bilinear")` without its saturating cast:
    TensorFlow's resize reads a bfloat16 image and writes float32, and
    Keras' layer then clips every value to bfloat16's range before casting
    back, a clip that cannot bite (a bilinear blend stays between its
    inputs) but costs: under `mixed_bfloat16` the clip and its gradient
    were about 10 % of a `_cpu` trunk's training step on the CPU
    (`benchmarks/precision.py`). This layer casts without the clip; in
    float32 it is the same op.

    Call arguments:
        images: `(B, H, W, C)` with `H` and `W` known.

    Returns:
        `(B, 2H, 2W, C)` in the images' dtype.
    """

    def call(self, images):
        size = (2 * images.shape[1], 2 * images.shape[2])
        return tf.cast(tf.image.resize(images, size, "bilinear"), images.dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, 2 * height, 2 * width, channels)


# The batch norm of the conv blocks by name; `batch_norm_kind` switches it
# while models are built, for benchmarks that measure what fusing saves.
BATCH_NORMS = {"fused": BatchNormalization, "keras": layers.BatchNormalization}
_batch_norm = ["fused"]


@contextlib.contextmanager
def batch_norm_kind(kind):
    """Within this context, conv blocks built get the batch norm `kind`
    (a key of `BATCH_NORMS`): `"fused"` (the default) or `"keras"`, Keras'
    own layer. Models built either way compute the same and load into the
    other; only the speed differs (`benchmarks/precision.py --batch-norms`).
    """
    previous = _batch_norm[0]
    _batch_norm[0] = check_choice("batch_norm", kind, BATCH_NORMS)
    try:
        yield
    finally:
        _batch_norm[0] = previous


def check_divisible(image_size, num_blocks):
    """Raises a `ValueError` when the image cannot be halved `num_blocks` times."""
    factor = 2**num_blocks
    if any(side % factor for side in image_size):
        raise ValueError(
            f"The encoder halves the image {num_blocks} times, so each side must "
            f"be divisible by {factor}. Received: image_size={tuple(image_size)}"
        )


@keras.saving.register_keras_serializable(package="tfodevideo")
class ConvEncoder(layers.Layer):
    """Conv-ReLU-BN blocks with max-pooling: `(B, H, W, C) -> (B, H/2^n, W/2^n, c_n)`.

    Args:
        channels: channels of each block; the number of blocks is its length.
        norm_momentum: momentum of the batch norms' moving statistics.
        **kwargs: standard `keras.layers.Layer` arguments.
    """

    def __init__(self, channels=(64, 128, 256), *, norm_momentum=NORM_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        self.channels = tuple(check_int("channels", c, minimum=1) for c in channels)
        self.norm_momentum = check_float("norm_momentum", norm_momentum, minimum=0.0,
                                         maximum=1.0)
        self.blocks = []
        for filters in self.channels:
            self.blocks += (_conv_bn(filters, self.dtype_policy, self.norm_momentum)
                            + _conv_bn(filters, self.dtype_policy, self.norm_momentum))
            self.blocks.append(layers.MaxPooling2D(2, dtype=self.dtype_policy))

    def call(self, images, training=None):
        for layer in self.blocks:
            images = layer(images, training=training)
        return images

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        factor = 2 ** len(self.channels)
        return (batch, height // factor, width // factor, self.channels[-1])

    def get_config(self):
        return {**super().get_config(), "channels": list(self.channels),
                "norm_momentum": self.norm_momentum}


@keras.saving.register_keras_serializable(package="tfodevideo")
class ConvDecoder(layers.Layer):
    """Mirror of `ConvEncoder`: a latent vector or map to images in `[0, 1]`.

    Args:
        image_size: `(H, W)` of the output.
        out_channels: channels of the output images.
        channels: channels of the blocks, from the smallest map outwards
            (the encoder's, reversed, by default `(256, 128, 64)`).
        from_map: if True the latent is already a map `(B, H/2^n, W/2^n, c)`;
            otherwise a vector `(B, D)` that a dense layer maps to one.
        initial_mean: the pixel value the untrained decoder draws everywhere
            (its output bias starts at the logit of it). Near the mean of
            the data, dark for these videos: starting from mid-grey, the
            first large steps saturate the sigmoid on whole regions, whose
            gradient then vanishes (a ball auto-encoder with spatial
            encoding stayed at 6x the black-frame error on three seeds).
        norm_momentum: momentum of the batch norms' moving statistics.
        subpixel: 1, 2, 4...: the last `log2(subpixel)` blocks are left out
            and a 3x3 convolution at that coarser size draws `subpixel^2`
            values per pixel, rearranged into a `subpixel`-times larger image
            (depth-to-space, Shi et al., "Real-Time Single Image and Video
            Super-Resolution Using an Efficient Sub-Pixel Convolutional
            Neural Network", CVPR 2016). The full-size blocks are most of a
            frame's FLOPs: on the `_cpu` trunk (64, 32, 16) at 64x64,
            `subpixel=4` draws a frame with about a quarter of them
            (`benchmarks/precision.py` counts them).
        convs_per_stage: (conv 3x3, ReLU, batch norm) units per block: 2 as
            in the report, 1 for a shallower, cheaper decoder.
        dynamics_dim: size of the position part of a latent vector; unused,
            the convolutions read position and appearance alike.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        latent: a vector or a map, as `from_map` says.

    Returns:
        Images `(B, H, W, out_channels)`.
    """

    def __init__(
        self, image_size, out_channels=1, channels=(256, 128, 64), from_map=False, *,
        initial_mean=0.02, norm_momentum=NORM_MOMENTUM, subpixel=1, convs_per_stage=2,
        dynamics_dim=None, **kwargs
    ):
        super().__init__(**kwargs)
        del dynamics_dim  # Read with the appearance, see Args.
        self.norm_momentum = check_float("norm_momentum", norm_momentum, minimum=0.0,
                                         maximum=1.0)
        self.from_map = bool(from_map)
        self.initial_mean = check_float(
            "initial_mean", initial_mean, minimum=1e-6, maximum=1 - 1e-6
        )
        self.image_size = tuple(check_int("image_size", s, minimum=1) for s in image_size)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.channels = tuple(check_int("channels", c, minimum=1) for c in channels)
        check_divisible(self.image_size, len(self.channels))
        self.subpixel = check_int("subpixel", subpixel, minimum=1)
        skipped = int(math.log2(self.subpixel))
        if 2**skipped != self.subpixel or skipped > len(self.channels):
            raise ValueError(
                f"`subpixel` must be a power of 2 up to 2 ** len(channels) = "
                f"{2 ** len(self.channels)}. Received: subpixel={subpixel!r}"
            )
        self.convs_per_stage = check_int("convs_per_stage", convs_per_stage, minimum=1)
        factor = 2 ** len(self.channels)
        self.start = (self.image_size[0] // factor, self.image_size[1] // factor)
        dtype = self.dtype_policy
        if not self.from_map:
            self.project = layers.Dense(
                self.start[0] * self.start[1] * self.channels[0], "relu", dtype=dtype
            )
        self.blocks = []
        for filters in self.channels[: len(self.channels) - skipped]:
            self.blocks.append(BilinearUpSampling2x(dtype=dtype))
            for _ in range(self.convs_per_stage):
                self.blocks += _conv_bn(filters, dtype, self.norm_momentum)
        logit = math.log(self.initial_mean / (1 - self.initial_mean))
        # Float32 under a mixed policy: the frames leave in full precision.
        self.head = layers.Conv2D(
            out_channels * self.subpixel**2, 1 if self.subpixel == 1 else 3, padding="same",
            dtype=full_precision(dtype), bias_initializer=keras.initializers.Constant(logit),
        )

    def call(self, latent, training=None):
        if not self.from_map:
            latent = keras.ops.reshape(
                self.project(latent), (-1, *self.start, self.channels[0])
            )
        for layer in self.blocks:
            latent = layer(latent, training=training)
        logits = self.head(latent)
        if self.subpixel > 1:
            logits = tf.nn.depth_to_space(logits, self.subpixel)
        return keras.ops.sigmoid(logits)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_size, self.out_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "out_channels": self.out_channels,
            "channels": list(self.channels),
            "from_map": self.from_map,
            "initial_mean": self.initial_mean,
            "norm_momentum": self.norm_momentum,
            "subpixel": self.subpixel,
            "convs_per_stage": self.convs_per_stage,
        }
