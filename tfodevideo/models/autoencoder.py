"""The convolutional auto-encoder of the report's section 5.2."""

import keras
import tensorflow as tf
from keras import layers

from tfodevideo import losses
from tfodevideo._frames import unit_frames
from tfodevideo._checks import check_float
from tfodevideo._checks import check_image_size
from tfodevideo._checks import check_int
from tfodevideo.layers.conv_blocks import ConvDecoder
from tfodevideo.layers.conv_blocks import ConvEncoder
from tfodevideo.layers.conv_blocks import check_divisible
from tfodevideo.layers.spatial_encoding import SpatialEncoding
from tfodevideo.precision import RecordsPrecision
from tfodevideo.precision import default_full_precision


@keras.saving.register_keras_serializable(package="tfodevideo")
class ConvAutoEncoder(RecordsPrecision, keras.Model):
    """Image -> latent vector -> image, optionally with spatial encoding.

    The report found that this network learns MNIST but collapses to black
    frames on the Gaussian ball unless spatial-encoding channels are stacked
    on its input; and that an L2 penalty on the latent lets even a 2-D latent
    fit the ball.

    Args:
        image_size: `(H, W)`, each side divisible by `2 ** len(encoder_channels)`.
        channels: image channels.
        latent_dim: size of the latent vector.
        encoder_channels: channels of the encoder blocks (decoder mirrors).
        spatial_encoding: whether to stack the ramp channels on the input.
        num_frequencies: sine/cosine octaves of the spatial encoding.
        latent_l2: weight of the L2 penalty on the latent.
        **kwargs: standard `keras.Model` arguments.

    Call arguments:
        images: `(B, H, W, C)` in `[0, 1]` (uint8 images are divided by 255).

    Returns:
        Reconstructed images `(B, H, W, C)`.
    """

    def __init__(
        self,
        image_size=(28, 28),
        channels=1,
        latent_dim=8,
        encoder_channels=(32, 64),
        spatial_encoding=True,
        num_frequencies=0,
        latent_l2=0.0,
        **kwargs,
    ):
        # Float32 itself under a mixed policy (see `VideoModel`).
        super().__init__(**default_full_precision(kwargs))
        self.record_precision()
        self.image_size = check_image_size(image_size)
        self.channels = check_int("channels", channels, minimum=1)
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.encoder_channels = tuple(encoder_channels)
        check_divisible(self.image_size, len(self.encoder_channels))
        self.spatial_encoding = bool(spatial_encoding)
        self.num_frequencies = num_frequencies
        self.latent_l2 = check_float("latent_l2", latent_l2, minimum=0.0)
        self.spatial = SpatialEncoding(num_frequencies, name="spatial_encoding")
        self.encoder = ConvEncoder(self.encoder_channels, name="encoder")
        self.flatten = layers.Flatten(name="flatten")
        self.to_latent = layers.Dense(latent_dim, name="latent")
        self.decoder = ConvDecoder(
            self.image_size, channels, tuple(reversed(self.encoder_channels)), name="decoder"
        )

    def encode(self, images, training=None):
        """Latent vectors `(B, latent_dim)`."""
        if self.spatial_encoding:
            images = self.spatial(images)
        features = self.encoder(images, training=training)
        return self.to_latent(self.flatten(features))

    def call(self, images, training=None):
        images = tf.convert_to_tensor(images)
        expected = (*self.image_size, self.channels)
        if images.shape.rank != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"`images` must have shape (batch, {', '.join(map(str, expected))}). "
                f"Received: shape {tuple(images.shape)}"
            )
        images = unit_frames(images, "images", self.compute_dtype)
        latent = self.encode(images, training)
        if self.latent_l2:
            self.add_loss(self.latent_l2 * losses.latent_l2(latent))
        return self.decoder(latent, training=training)

    def build(self, images_shape):
        if not self.built:
            with self.precision_scope():
                self.call(tf.zeros([1, *self.image_size, self.channels]), training=False)
            self.built = True

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": list(self.image_size),
            "channels": self.channels,
            "latent_dim": self.latent_dim,
            "encoder_channels": list(self.encoder_channels),
            "spatial_encoding": self.spatial_encoding,
            "num_frequencies": self.num_frequencies,
            "latent_l2": self.latent_l2,
        }
