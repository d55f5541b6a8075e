import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import run_layer_test
from helpers import run_model_saving_test
from helpers import run_serialization_test
from tfodevideo.layers import ConvDecoder
from tfodevideo.layers import ConvEncoder
from tfodevideo.layers import SpatialEncoding
from tfodevideo.layers.decoders import DECODERS
from tfodevideo.layers.decoders import register_decoder
from tfodevideo.layers.heads import PairDifferenceHead
from tfodevideo.layers.heads import StackedHead
from tfodevideo.losses import FrameLoss
from tfodevideo.losses import latent_l2
from tfodevideo.losses import permutation_invariance
from tfodevideo.models import VideoODE


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
    run_layer_test(ConvEncoder((4, 8)), tf.zeros((2, 16, 12, 3)), (2, 4, 3, 8))
    run_layer_test(ConvDecoder((16, 12), 3, (8, 4)), tf.zeros((2, 5)), (2, 16, 12, 3))
    from_map = run_layer_test(ConvDecoder((16, 12), 1, (8, 4), from_map=True),
                              tf.zeros((2, 4, 3, 6)), (2, 16, 12, 1))
    assert float(tf.reduce_min(from_map)) >= 0 and float(tf.reduce_max(from_map)) <= 1
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvDecoder((18, 12), 1, (8, 4))


# The largest share of the full decoder's FLOPs each variant may take,
# about 0.65 and 0.2 at these sizes (they leave out the full-size blocks).
@pytest.mark.parametrize("subpixel, convs, share", [(2, 2, 0.7), (4, 1, 0.25)])
def test_a_sub_pixel_decoder_draws_the_same_size_for_fewer_flops(subpixel, convs, share):
    from benchmarks.speed import graph_flops

    options = dict(from_map=True, subpixel=subpixel, convs_per_stage=convs)
    cheap = run_layer_test(ConvDecoder((32, 24), 2, (16, 8, 4), **options),
                           tf.zeros((2, 4, 3, 6)), (2, 32, 24, 2))
    assert 0.0 <= float(tf.reduce_min(cheap)) <= float(tf.reduce_max(cheap)) <= 1.0
    # Every pixel of the larger image has its own value: the depth-to-space
    # rearrangement, not a copy of its coarse neighbour.
    decoder = ConvDecoder((32, 24), 1, (16, 8, 4), **options)
    noisy = decoder(tf.random.normal((1, 4, 3, 6))).numpy()[0, :, :, 0]
    assert noisy[0, 0] != noisy[0, 1] and noisy[0, 0] != noisy[1, 0]
    spec = tf.TensorSpec((1, 4, 3, 6))
    full = ConvDecoder((32, 24), 1, (16, 8, 4), from_map=True)
    full(tf.zeros((1, 4, 3, 6)))
    assert graph_flops(decoder, spec) < share * graph_flops(full, spec)


def test_bilinear_upsampling_is_keras_without_the_saturating_cast():
    from tfodevideo.layers.conv_blocks import BilinearUpSampling2x

    images = tf.random.stateless_uniform((2, 6, 5, 3), seed=(1, 2))
    for policy in ("float32", "mixed_bfloat16"):
        x = tf.cast(images, keras.DTypePolicy(policy).compute_dtype)
        ours, reference = (BilinearUpSampling2x(dtype=policy),
                           keras.layers.UpSampling2D(2, interpolation="bilinear", dtype=policy))
        assert ours(x).dtype == x.dtype and ours(x).shape == (2, 12, 10, 3)
        np.testing.assert_array_equal(tf.cast(ours(x), tf.float32),
                                      tf.cast(reference(x), tf.float32))

        def op_types(layer):
            def step(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = tf.reduce_sum(tf.cast(layer(x), tf.float32))
                return tape.gradient(y, x)
            graph = tf.function(step).get_concrete_function(x).graph
            return {op.type for op in graph.get_operations()}

        # Keras clips a bfloat16 image to its dtype's range; ours casts only.
        clips = {"Minimum", "Maximum", "ClipByValue"}
        assert not op_types(ours) & clips
        assert bool(op_types(reference) & clips) == (policy == "mixed_bfloat16")


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_is_keras_batch_norm_through_one_kernel(policy):
    """Same outputs, gradients and moving statistics as Keras' layer from
    the same weights, in training and inference, without the float32 round
    trip under a mixed policy."""
    from tfodevideo.layers.conv_blocks import BatchNormalization as FusedBatchNormalization

    x = tf.cast(3.0 * tf.random.stateless_normal((6, 8, 7, 5), seed=(3, 4)) + 1.0,
                keras.DTypePolicy(policy).compute_dtype)
    reference = keras.layers.BatchNormalization(momentum=0.9, dtype=policy)
    ours = FusedBatchNormalization(momentum=0.9, dtype=policy)
    reference.build(x.shape)
    ours.build(x.shape)
    # Moving statistics away from their start, so that inference reads them.
    reference.set_weights([w + 0.5 for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    tolerance = 1e-5 if policy == "float32" else 2e-2
    for training in (True, False):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            outputs = [layer(x, training=training) for layer in (reference, ours)]
            sums = [tf.reduce_sum(tf.cast(y, tf.float32) * tf.cast(x, tf.float32))
                    for y in outputs]
        assert outputs[1].dtype == x.dtype
        np.testing.assert_allclose(tf.cast(outputs[1], tf.float32),
                                   tf.cast(outputs[0], tf.float32), atol=tolerance)
        for a, b in zip(tape.gradient(sums[0], [x] + reference.trainable_weights),
                        tape.gradient(sums[1], [x] + ours.trainable_weights)):
            scale = float(tf.reduce_max(tf.abs(tf.cast(a, tf.float32))))
            np.testing.assert_allclose(tf.cast(b, tf.float32), tf.cast(a, tf.float32),
                                       atol=1e-4 * scale)
        for a, b in zip(reference.get_weights(), ours.get_weights()):
            np.testing.assert_allclose(b, a, rtol=1e-5)

    def op_types(fn):
        graph = tf.function(fn).get_concrete_function(x).graph
        return {op.type for op in graph.get_operations()}

    assert "FusedBatchNormV3" in op_types(lambda x: ours(x, training=True))
    assert "FusedBatchNormV3" not in op_types(lambda x: reference(x, training=True))
    # 5-D inputs take Keras' path.
    volumes = FusedBatchNormalization(dtype=policy)
    assert "FusedBatchNormV3" not in op_types(lambda x: volumes(x[None], training=True))


def test_a_sub_pixel_factor_must_fit_the_blocks():
    for bad in (3, 16, 0):
        with pytest.raises(ValueError, match=f"subpixel.*{bad}"):
            ConvDecoder((16, 16), 1, (8, 4), subpixel=bad)


def test_frame_loss_terms():
    truth = tf.zeros((2, 3, 16, 16, 1))
    guess = tf.fill((2, 3, 16, 16, 1), 0.1)
    assert float(FrameLoss()(truth, guess)) == pytest.approx(0.01, rel=1e-5)
    assert float(FrameLoss(mse=0, mae=1)(truth, guess)) == pytest.approx(0.1, rel=1e-5)
    assert float(FrameLoss(mse=1, mae=2)(truth, guess)) == pytest.approx(0.21, rel=1e-5)
    assert float(FrameLoss(mse=0, ssim=1)(guess, guess)) == pytest.approx(0.0, abs=1e-5)
    assert float(FrameLoss(mse=0, ssim=1)(truth, guess)) > 0.0
    run_serialization_test(FrameLoss(mse=0.5, mae=0.5, ssim=0.1))
    with pytest.raises(ValueError, match="positive"):
        FrameLoss(mse=0)
    with pytest.raises(ValueError, match="mae"):
        FrameLoss(mae=-1)


def test_the_coarse_term_still_sees_an_object_drawn_far_from_its_place():
    """Two squares that do not overlap: the pixel error is the same at any
    distance, the coarse error grows as the drawn one moves away, and its
    gradient pulls it back."""
    truth = np.zeros((1, 1, 64, 64, 1), "float32")
    truth[..., 8:16, 8:16, :] = 1.0

    def drawn(left):
        frame = np.zeros_like(truth)
        frame[..., 8:16, left:left + 8, :] = 1.0
        return frame

    mse = [float(FrameLoss()(truth, drawn(left))) for left in (20, 36)]
    coarse = [float(FrameLoss(mse=0, coarse=1)(truth, drawn(left))) for left in (20, 36)]
    assert mse[0] == pytest.approx(mse[1]) and 0 < coarse[0] < coarse[1]
    assert float(FrameLoss(mse=0, coarse=1)(truth, truth)) == 0.0
    run_serialization_test(FrameLoss(mse=1, coarse=0.5))


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


def test_stacked_head_reads_all_frames_and_gives_state_and_appearance():
    head = StackedHead(3, 5)
    frames = tf.reshape(tf.range(2 * 4 * 6 * 6 * 2, dtype=tf.float32), (2, 4, 6, 6, 2))
    images = head.encoder_images(frames).numpy()
    assert images.shape == (2, 6, 6, 8)
    # Frame k's channels sit at k * C .. (k + 1) * C - 1.
    np.testing.assert_array_equal(images[..., 2:4], frames.numpy()[:, 1])
    times = tf.constant([[0.0, 0.1, 0.2, 0.3]] * 2)
    state, appearance = head(tf.ones((2, 3, 3, 4)), times)
    assert state.shape == (2, 6)
    assert appearance.shape == (2, 5) and head.anchor_index == -1
    run_serialization_test(head)
    map_head = StackedHead(3, 0, latent="map", map_channels=2)
    state, appearance = map_head(tf.ones((2, 3, 3, 4)), times)
    assert state.shape == (2, 3, 3, 4) and appearance.shape == (2, 0)


def test_pair_difference_head_is_a_finite_difference():
    head = PairDifferenceHead(2)
    frames = tf.random.uniform((3, 2, 4, 4, 1))
    assert head.encoder_images(frames).shape == (6, 4, 4, 1)
    features = tf.random.normal((6, 2, 2, 3))
    times = tf.constant([[0.0, 0.5]] * 3)
    state, appearance = head(features, times)
    run_serialization_test(head)
    z = head.dynamics_head(head.flatten(features)).numpy()
    np.testing.assert_allclose(state[:, :2], z[:3], atol=1e-6)
    np.testing.assert_allclose(state[:, 2:], (z[3:] - z[:3]) / 0.5, atol=1e-5)
    assert appearance.shape == (3, 0) and head.anchor_index == 0


def test_a_registered_decoder_is_one_layer_and_one_name(tmp_path):
    """What a new decoder takes: a layer with the decoder signature, a name."""

    @keras.saving.register_keras_serializable(package="tests")
    class FlatDecoder(keras.layers.Layer):
        def __init__(self, image_size, out_channels, channels, from_map, *,
                     dynamics_dim, norm_momentum=0.99, **kwargs):
            super().__init__(**kwargs)
            self.image_size, self.out_channels = tuple(image_size), out_channels
            self.dense = keras.layers.Dense(
                image_size[0] * image_size[1] * out_channels, "sigmoid"
            )

        def call(self, latent, training=None):
            return keras.ops.reshape(self.dense(latent), (-1, *self.image_size, self.out_channels))

    register_decoder("flat_test")(FlatDecoder)
    try:
        model = VideoODE(image_size=(8, 8), num_context=2, dynamics_dim=2, appearance_dim=2,
                         encoder_channels=(4,), field_units=4, decoder="flat_test")
        inputs = model.example_inputs(2, 3)
        assert model(inputs).shape == (2, 3, 8, 8, 1)
        assert isinstance(model.decoder, FlatDecoder)
        restored = run_model_saving_test(model, inputs, str(tmp_path / "flat.keras"))
        assert isinstance(restored.decoder, FlatDecoder)
    finally:
        DECODERS.pop("flat_test")
    with pytest.raises(ValueError, match="decoder"):
        VideoODE(decoder="flat_test")


def test_slot_head_finds_a_bright_spot_and_its_velocity():
    """Soft arg-max centres in image coordinates; velocity from two maps."""
    head = StackedHead(2, 4, latent="slots")
    features = np.zeros((1, 4, 4, 3), "float32")
    features[0, 1, 3, 0] = 50.0  # Now: cell (row 1, column 3).
    features[0, 1, 2, 1] = 50.0  # Before: one cell to the left.
    times = np.array([[0.0, 0.1]], "float32")
    head(features, times)  # Builds the layers.
    kernel = np.zeros((1, 1, 3, 2), "float32")
    kernel[0, 0, 0, 0] = kernel[0, 0, 1, 1] = 1.0  # Map 0 reads channel 0, map 1 channel 1.
    head.dynamics_head.set_weights([kernel, np.zeros(2, "float32")])
    state, appearance = head(features, times)
    np.testing.assert_allclose(state[0, :2], [0.75, -0.25], atol=1e-4)  # x, y of cell centres.
    np.testing.assert_allclose(state[0, 2:], [5.0, 0.0], atol=1e-3)  # 0.5 over 0.1.
    assert appearance.shape == (1, 4)
    with pytest.raises(ValueError, match="appearance_dim=3"):
        StackedHead(4, 3, latent="slots")


def test_batch_norm_kind_switches_the_conv_blocks_while_they_are_built():
    from tfodevideo.layers import conv_blocks

    def norms(encoder):
        return {type(layer) for layer in encoder.blocks
                if isinstance(layer, keras.layers.BatchNormalization)}

    assert norms(ConvEncoder((4,))) == {conv_blocks.BatchNormalization}
    with conv_blocks.batch_norm_kind("keras"):
        assert norms(ConvEncoder((4,))) == {keras.layers.BatchNormalization}
    assert norms(ConvEncoder((4,))) == {conv_blocks.BatchNormalization}  # Restored.
    with pytest.raises(ValueError, match="batch_norm.*'plain'"):
        with conv_blocks.batch_norm_kind("plain"):
            pass


@pytest.mark.parametrize("name", ["mmnist2_10to10_cpu", "mmnist2_10to10_lattice"])
def test_building_a_preset_model_warns_of_no_unbuilt_layer(name):
    """Keras warns when it marks a layer built whose sublayers are not; a
    model build that warns so would tell every user of a false problem."""
    import warnings

    from tfodevideo.training.presets import resolve
    from tfodevideo.training.trainer import build_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_model(resolve(name, quick=True))
    unbuilt = [str(w.message) for w in caught if "does not have a `build()`" in str(w.message)]
    assert not unbuilt, unbuilt
