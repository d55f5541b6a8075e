"""The report's auto-encoder experiment on the Gaussian ball (section 5.2.2).

Trains `ConvAutoEncoder` on single ball frames with and without the spatial
encoding channels and scores held-out frames beside the black-frame
predictor, to check the report's finding that without spatial encoding the
network collapses to black frames.
"""

import dataclasses

import keras
import numpy as np

from tfodevideo.data.ball import GaussianBall
from tfodevideo.models.autoencoder import ConvAutoEncoder


@dataclasses.dataclass(frozen=True)
class AutoEncoderConfig:
    """Settings of the ball auto-encoder experiment."""

    spatial_encoding: bool = True
    latent_dim: int = 2
    latent_l2: float = 1e-3
    encoder_channels: tuple = (32, 64)
    num_train: int = 2048
    num_test: int = 512
    batch_size: int = 64
    epochs: int = 20
    learning_rate: float = 1e-3
    seed: int = 0


def _frames(num, seed):
    clips = GaussianBall(num_frames=1).generate(num, seed=seed)
    return clips["frames"][:, 0].numpy(), clips["positions"][:, 0].numpy()


def run(config=AutoEncoderConfig()):
    """Trains and scores one auto-encoder.

    Returns:
        A dict with held-out `mse` (mean over pixels), `black_frame_mse` on the
        same frames, `peak` (mean of each reconstruction's brightest pixel;
        about 0 for a collapsed model, about 1 for the true frames) and the
        training `losses`.
    """
    keras.utils.set_random_seed(config.seed)
    train, _ = _frames(config.num_train, config.seed)
    test, _ = _frames(config.num_test, config.seed + 1)
    model = ConvAutoEncoder(
        image_size=(28, 28),
        latent_dim=config.latent_dim,
        encoder_channels=config.encoder_channels,
        spatial_encoding=config.spatial_encoding,
        latent_l2=config.latent_l2,
    )
    model.compile(keras.optimizers.Adam(config.learning_rate), "mse")
    history = model.fit(
        train, train, batch_size=config.batch_size, epochs=config.epochs, verbose=0
    )
    reconstructed = model.predict(test, verbose=0)
    return {
        "mse": float(np.mean((reconstructed - test) ** 2)),
        "black_frame_mse": float(np.mean(test**2)),
        "peak": float(reconstructed.reshape(len(test), -1).max(axis=1).mean()),
        "losses": history.history["loss"],
    }
