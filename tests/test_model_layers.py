import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfodevideo.layers import ConvDecoder
from tfodevideo.layers import ConvEncoder
from tfodevideo.layers import SpatialEncoding
from tfodevideo.losses import FrameLoss
from tfodevideo.losses import latent_l2
from tfodevideo.losses import permutation_invariance


def test_spatial_encoding_channels():
    images = tf.zeros((2, 4, 8, 1))
    out = SpatialEncoding(num_frequencies=2)(images).numpy()
    assert out.shape == (2, 4, 8, 1 + 2 + 8)
    rows, cols = np.arange(4)[:, None] / 4, np.arange(8)[None, :] / 8
    np.testing.assert_allclose(out[0, ..., 1], np.broadcast_to(rows, (4, 8)), atol=1e-7)
    np.testing.assert_allclose(out[1, ..., 2], np.broadcast_to(cols, (4, 8)), atol=1e-7)
    # Octave 2 (l = 2): frequency 2 pi; order sin/cos of rows, then of columns.
    np.testing.assert_allclose(out[0, ..., 7], np.broadcast_to(np.sin(2 * math.pi * rows), (4, 8)),
                               atol=1e-6)
    np.testing.assert_allclose(out[0, ..., 10], np.broadcast_to(np.cos(2 * math.pi * cols), (4, 8)),
                               atol=1e-6)
    assert SpatialEncoding(0).compute_output_shape((None, 4, 8, 3)) == (None, 4, 8, 5)


def test_encoder_and_decoder_shapes():
    features = ConvEncoder((4, 8))(tf.zeros((2, 16, 12, 3)))
    assert features.shape == (2, 4, 3, 8)
    assert ConvDecoder((16, 12), 3, (8, 4))(tf.zeros((2, 5))).shape == (2, 16, 12, 3)
    from_map = ConvDecoder((16, 12), 1, (8, 4), from_map=True)(tf.zeros((2, 4, 3, 6)))
    assert from_map.shape == (2, 16, 12, 1)
    assert float(tf.reduce_min(from_map)) >= 0 and float(tf.reduce_max(from_map)) <= 1
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvDecoder((18, 12), 1, (8, 4))


def test_frame_loss_terms():
    truth = tf.zeros((2, 3, 16, 16, 1))
    guess = tf.fill((2, 3, 16, 16, 1), 0.1)
    assert float(FrameLoss()(truth, guess)) == pytest.approx(0.01, rel=1e-5)
    assert float(FrameLoss(mse=0, mae=1)(truth, guess)) == pytest.approx(0.1, rel=1e-5)
    assert float(FrameLoss(mse=1, mae=2)(truth, guess)) == pytest.approx(0.21, rel=1e-5)
    assert float(FrameLoss(mse=0, ssim=1)(guess, guess)) == pytest.approx(0.0, abs=1e-5)
    assert float(FrameLoss(mse=0, ssim=1)(truth, guess)) > 0.0
    config = FrameLoss(mse=0.5, mae=0.5, ssim=0.1).get_config()
    assert FrameLoss.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="positive"):
        FrameLoss(mse=0)
    with pytest.raises(ValueError, match="mae"):
        FrameLoss(mae=-1)


def test_latent_terms():
    assert float(latent_l2(tf.constant([[1.0, -3.0]]))) == pytest.approx(5.0)
    a, b = tf.constant([[1.0, 2.0]]), tf.constant([[1.0, 4.0]])
    assert float(permutation_invariance(a, b)) == pytest.approx(2.0)
    assert float(permutation_invariance(a, a)) == 0.0


def test_frame_loss_in_compile():
    model = keras.Sequential([keras.Input((2, 16, 16, 1)), keras.layers.Dense(1)])
    model.compile("adam", FrameLoss(mse=1, ssim=0.1))
    history = model.fit(np.random.rand(4, 2, 16, 16, 1), np.random.rand(4, 2, 16, 16, 1),
                        epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
