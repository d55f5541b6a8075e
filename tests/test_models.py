import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import run_model_saving_test
from tfodevideo.data import GaussianBall
from tfodevideo.data import MovingMNIST
from tfodevideo.data import video_dataset
from tfodevideo.models import ConvAutoEncoder
from tfodevideo.models import LatentODE
from tfodevideo.models import VideoODE

TINY = dict(image_size=(16, 16), dynamics_dim=3, appearance_dim=4, encoder_channels=(4, 8),
            field_units=8, field_depth=1)
# Two slots, a 4-value code each, 6x6 glyphs.
TINY_GLYPH = dict(TINY, dynamics_dim=4, appearance_dim=8, latent="slots", decoder="glyph",
                  decoder_options={"glyph_size": 6, "hidden_units": 8})
# Two slots, each a 6x6 cut-out of the last input frame.
TINY_CUTOUT = dict(TINY_GLYPH, appearance_dim=72, slot_appearance="cutout")


def clip_inputs(batch, num_context, query_times, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "frames": rng.uniform(0, 1, (batch, num_context, 16, 16, 1)).astype("float32"),
        "input_times": np.tile(np.arange(num_context, dtype="float32") * 0.1, (batch, 1)),
        "query_times": np.tile(np.asarray(query_times, "float32"), (batch, 1)),
    }


@pytest.mark.parametrize("num_context", [2, 10])
@pytest.mark.parametrize("num_query", [1, 18, 90])
def test_output_shapes(num_context, num_query):
    model = VideoODE(num_context=num_context, **TINY)
    times = num_context * 0.1 + np.arange(num_query) * 0.05
    assert model(clip_inputs(2, num_context, times)).shape == (2, num_query, 16, 16, 1)


@pytest.mark.parametrize("latent", ["vector", "map"])
def test_query_at_the_anchor_is_the_reconstruction_path(latent):
    model = VideoODE(num_context=3, latent=latent, map_channels=2, **TINY)
    inputs = clip_inputs(2, 3, [0.2])  # The last input time: where Z0 lives.
    state, appearance = model.encode(inputs["frames"], inputs["input_times"], training=False)
    half = state.shape[-1] // 2
    expected = model.decode(state[:, None, ..., :half], appearance, training=False)
    np.testing.assert_allclose(model(inputs, training=False), expected, atol=1e-6)


def test_interpolation_and_extrapolation_in_one_call():
    model = VideoODE(num_context=3, **TINY)
    inputs = clip_inputs(2, 3, [-0.05, 0.05, 0.15, 0.2, 0.6])  # Before, between, after.
    out = model(inputs, training=False)
    again = model(dict(inputs, query_times=inputs["query_times"][:, 2:3]), training=False)
    np.testing.assert_allclose(out[:, 2], again[:, 0], atol=1e-5)


@pytest.mark.parametrize("settings", [TINY, TINY_GLYPH, TINY_CUTOUT],
                         ids=["conv", "glyph", "cutout"])
def test_appearance_swap_is_decoder_of_dynamics_a_and_appearance_b(settings):
    model = VideoODE(num_context=2, **settings)
    a, b = clip_inputs(2, 2, [0.2, 0.4], seed=1), clip_inputs(2, 2, [0.9], seed=2)
    swapped = model.swap_appearance(a, b)
    state_a, _ = model.encode(a["frames"], a["input_times"], training=False)
    _, appearance_b = model.encode(b["frames"], b["input_times"], training=False)
    positions = model.integrate(state_a, a["query_times"], a["input_times"][:, -1])
    np.testing.assert_allclose(swapped, model.decode(positions, appearance_b, training=False),
                               atol=1e-6)
    assert swapped.shape == (2, 2, 16, 16, 1)
    with pytest.raises(ValueError, match="appearance"):
        LatentODE(**{k: v for k, v in TINY.items() if k != "appearance_dim"}).swap_appearance(a, b)


def test_permutation_loss_sees_the_order_of_frames():
    keras.utils.set_random_seed(3)
    model = VideoODE(num_context=4, latent_l2=0.0, permutation_weight=1.0, **TINY)
    varied = clip_inputs(2, 4, [0.5])
    still = dict(varied, frames=np.repeat(varied["frames"][:, :1], 4, axis=1))

    def permutation_losses(inputs):
        values = []
        for _ in range(5):  # A shuffle can be the identity; five rarely all are.
            model(inputs, training=True)
            values.append(float(tf.add_n(model.losses)))
        return values

    assert max(permutation_losses(varied)) > 0.0
    # Frames all alike: any order gives the same appearance.
    assert max(permutation_losses(still)) == pytest.approx(0.0, abs=1e-10)
    model(varied, training=False)
    assert not model.losses  # Only while training.


def test_latent_ode_reads_the_first_two_frames():
    model = LatentODE(num_context=3, **{k: v for k, v in TINY.items() if k != "appearance_dim"})
    inputs = clip_inputs(2, 3, [0.0, 0.5])
    changed = dict(inputs, frames=inputs["frames"].copy())
    changed["frames"][:, 2] = 0.0
    np.testing.assert_allclose(model(inputs, training=False), model(changed, training=False))
    state, _ = model.encode(inputs["frames"], inputs["input_times"], training=False)
    expected = model.decode(state[:, None, :3], tf.zeros((2, 0)), training=False)
    np.testing.assert_allclose(model(inputs, training=False)[:, 0], expected[:, 0], atol=1e-6)
    with pytest.raises(ValueError, match="num_context"):
        LatentODE(num_context=1)


MODELS = {
    "vector": lambda: VideoODE(num_context=2, **TINY),
    "map": lambda: VideoODE(num_context=2, latent="map", map_channels=2, **TINY),
    "latent_ode": lambda: LatentODE(num_context=2, **{k: v for k, v in TINY.items()
                                                      if k != "appearance_dim"}),
    "glyph": lambda: VideoODE(num_context=2, **TINY_GLYPH),
    "cutout": lambda: VideoODE(num_context=2, **TINY_CUTOUT),
    "appearance_ode": lambda: VideoODE(num_context=2, appearance_ode=True, **TINY),
    "cutout_walls": lambda: VideoODE(num_context=2, walls=0.5, **TINY_CUTOUT),
    "cutout_clearest": lambda: VideoODE(num_context=2, cut_from="clearest", **TINY_CUTOUT),
    "cutout_lattice": lambda: VideoODE(
        num_context=3, velocity_fit="lattice", shared_speed=True, cut_centre="centre_pixel",
        walls={"extent": 0.5, "rule": "clamp", "step_time": 0.1, "centre": -0.02}, **dict(
            TINY_CUTOUT, decoder_options={"glyph_size": 6, "whole_pixels": True})),
    # Two objects drawn at three motions each: six slots, two cut-outs.
    "cutout_lattice_hypotheses": lambda: VideoODE(
        num_context=2, velocity_fit="lattice", shared_speed=True, hypotheses=3, **dict(
            TINY_CUTOUT, dynamics_dim=12, decoder_options={"glyph_size": 6,
                                                           "whole_pixels": True})),
    "cutout_whole_pixels": lambda: VideoODE(num_context=2, **dict(
        TINY_CUTOUT, decoder_options={"glyph_size": 6, "whole_pixels": True})),
    "cutout_uncertainty": lambda: VideoODE(num_context=2, **dict(
        TINY_CUTOUT, decoder_options={"glyph_size": 6, "uncertainty": True})),
    "latent_ode_glyph": lambda: LatentODE(
        num_context=2, **{k: v for k, v in TINY_GLYPH.items()
                          if k not in ("appearance_dim", "latent")}
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_config_round_trip_and_saving(name, tmp_path):
    model = MODELS[name]()
    model.build(None)
    inputs = clip_inputs(2, model.num_context, [0.3, 0.7])
    if name.startswith("cutout_lattice"):
        model(inputs, training=True)  # Learns a shared speed, which must be saved.
        assert float(model.head.speed) > 0
    run_model_saving_test(model, inputs, str(tmp_path / f"{name}.keras"))


def test_hypotheses_draw_each_object_at_several_motions_and_swap_whole_objects():
    """Each object's cut-out at each of its hypotheses' places, averaged;
    one cut-out per object, so another clip's objects swap in whole."""
    model = MODELS["cutout_lattice_hypotheses"]()
    inputs = clip_inputs(2, 2, [0.1, 0.5])
    # Two squares stepping by whole pixels, (3, 1) and (-2, 2) per frame.
    inputs["frames"][:] = 0.0
    for frame, (a, b) in enumerate([((2, 2), (10, 11)), ((3, 5), (12, 9))]):
        inputs["frames"][:, frame, a[0]:a[0] + 3, a[1]:a[1] + 3] = 1.0
        inputs["frames"][:, frame, b[0]:b[0] + 3, b[1]:b[1] + 3] = 1.0
    model(inputs, training=True)  # Learns the shared speed: the hypotheses spread.
    state, appearance = model.encode(inputs["frames"], inputs["input_times"], training=False)
    assert state.shape == (2, 24) and appearance.shape == (2, 72)
    # Pixels per frame (image coordinates span 15 pixels over 2).
    velocities = state[:, 12:].numpy().reshape(2, 2, 3, 2) * 7.5 * 0.1
    speeds = np.linalg.norm(velocities, axis=-1)
    # Every hypothesis at the shared speed, in its own direction, each within
    # a pixel per frame of the whole-pixel steps.
    np.testing.assert_allclose(speeds, float(model.head.speed) * 0.1, rtol=1e-3)
    assert np.all(np.ptp(velocities[..., 1], axis=-1) > 0.05)
    steps = np.array([[3.0, 1.0], [-2.0, 2.0]])
    for clip in velocities:
        # The slots find the squares in either order.
        order = [int(np.argmin(np.abs(obj.mean(0) - steps).sum(-1))) for obj in clip]
        assert sorted(order) == [0, 1]
        assert np.all(np.abs(clip - steps[order][:, None]) < 1.0), clip
    positions = model.integrate(state, inputs["query_times"], inputs["input_times"][:, -1])
    frames = model.decode(positions, appearance, training=False).numpy()
    glyphs = appearance.numpy().reshape(2, 2, 6, 6, 1)
    decoder = model.decoder
    centres = decoder.centres(positions[..., :12]).numpy()  # (2, T, 6, 2)
    from tfodevideo.layers.glyphs import place
    from tfodevideo.layers.glyphs import snap
    drawn = place(np.repeat(glyphs, 3, axis=1)[:, None].repeat(2, axis=1),
                  snap(tf.constant(centres), (6, 6)), (16, 16)).numpy()
    expected = drawn.reshape(2, 2, 2, 3, 16, 16, 1).mean(axis=3).max(axis=2)
    np.testing.assert_allclose(frames, np.minimum(expected, 1.0), atol=1e-5)
    b = clip_inputs(2, 2, [0.1, 0.5], seed=4)
    _, appearance_b = model.encode(b["frames"], b["input_times"], training=False)
    np.testing.assert_allclose(model.swap_appearance(inputs, b),
                               model.decode(positions, appearance_b, training=False), atol=1e-6)


def test_a_field_that_does_not_train_stays_zero():
    model = VideoODE(num_context=2, field_zero_start=True, field_trainable=False, **TINY)
    clips = tf.data.Dataset.from_tensors((clip_inputs(2, 2, [0.3, 0.6]),
                                          np.ones((2, 2, 16, 16, 1), "float32")))
    model.compile(keras.optimizers.Adam(0.1), "mse")
    model.fit(clips.repeat(2), verbose=0)
    last = model.ode.vector_field.network_layers[-1]
    assert last.weights and all(not np.any(w.numpy()) for w in last.weights)
    assert not model.ode.trainable_weights and model.encoder.trainable_weights
    assert VideoODE.from_config(model.get_config()).ode.vector_field.trainable is False
    with pytest.raises(ValueError, match="field_zero_start"):
        VideoODE(num_context=2, field_trainable=False, **TINY)


@pytest.mark.parametrize("kwargs, match", [
    ({"hypotheses": 2}, "velocity_fit"),  # Directions of the lattice fit only.
    ({"hypotheses": 3, "velocity_fit": "lattice", "shared_speed": True}, "hypotheses=3"),
    ({"hypotheses": 0, "velocity_fit": "lattice", "shared_speed": True}, "hypotheses"),
])
def test_bad_hypotheses_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VideoODE(num_context=2, **dict(TINY_CUTOUT, dynamics_dim=8), **kwargs)


def test_autoencoder_saving_and_latent_penalty(tmp_path):
    model = ConvAutoEncoder(image_size=(16, 16), latent_dim=2, encoder_channels=(4, 8),
                            latent_l2=0.1)
    images = np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 1)).astype("float32")
    assert model(images).shape == (3, 16, 16, 1) and len(model.losses) == 1
    run_model_saving_test(model, images, str(tmp_path / "ae.keras"))
    with pytest.raises(ValueError, match="images"):
        model(images[..., 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(images * 255.0)


def fit_four_ball_clips(model, learning_rate, num_frames):
    """Trains `model` 300 steps on four ball clips (2 inputs, the rest
    targets); returns the loss history, the clips and the black-frame MSE."""
    clips = video_dataset(GaussianBall(num_frames=num_frames), 4, 2, num_frames - 2,
                          num_clips=4).cache().repeat()
    inputs, targets = next(iter(clips))
    model.compile(keras.optimizers.Adam(learning_rate), "mse")
    losses = model.fit(clips, steps_per_epoch=50, epochs=6, verbose=0).history["loss"]
    return losses, inputs, targets, float(tf.reduce_mean(tf.square(targets)))


def test_tiny_model_overfits_a_few_ball_clips():
    keras.utils.set_random_seed(0)
    model = VideoODE(image_size=(28, 28), num_context=2, dynamics_dim=4, appearance_dim=4,
                     encoder_channels=(8, 16), field_units=32, latent_l2=0.0)
    losses, _, _, black_mse = fit_four_ball_clips(model, 1e-2, num_frames=6)
    assert losses[-1] < 0.1 * losses[0]
    # Black frames alone would cut the loss 10x; the model must do far better.
    assert losses[-1] < 0.5 * black_mse, (losses, black_mse)


def test_tiny_glyph_model_overfits_four_ball_clips():
    """One slot: the what/where model fits the ball far below black frames."""
    keras.utils.set_random_seed(0)
    model = VideoODE(image_size=(28, 28), num_context=2, dynamics_dim=2, appearance_dim=8,
                     latent="slots", encoder_channels=(8, 16), field_units=32,
                     latent_l2=0.0, norm_momentum=0.9, decoder="glyph")
    _, inputs, targets, black_mse = fit_four_ball_clips(model, 1e-3, num_frames=8)
    mse = float(tf.reduce_mean(tf.square(model(inputs, training=False) - targets)))
    assert mse < 0.1 * black_mse, (mse, black_mse)


def test_cutout_slots_carry_the_pixels_around_their_centres():
    """The appearance of a cut-out model is the last input frame around each
    slot's centre, so drawing it at the anchor time gives that frame back
    where the slots are."""
    model = VideoODE(num_context=2, **TINY_CUTOUT)
    inputs = clip_inputs(2, 2, [0.1])  # The anchor time: the last input frame's.
    state, appearance = model.encode(inputs["frames"], inputs["input_times"], training=False)
    centres = model.decoder.centres(state[:, :4]).numpy()
    patches = appearance.numpy().reshape(2, 2, 6, 6, 1)
    last = inputs["frames"][:, -1]
    for clip in range(2):
        for slot in range(2):
            x, y = centres[clip, slot]
            # Bilinear read of the frame at the patch's pixel (row 0, column 0).
            row, col = y - 2.5, x - 2.5
            top, left = int(np.floor(row)), int(np.floor(col))
            fy, fx = row - top, col - left
            if 0 <= top and top + 1 < 16 and 0 <= left and left + 1 < 16:
                window = last[clip, top:top + 2, left:left + 2, 0]
                expected = ((1 - fy) * ((1 - fx) * window[0, 0] + fx * window[0, 1])
                            + fy * ((1 - fx) * window[1, 0] + fx * window[1, 1]))
                assert patches[clip, slot, 0, 0, 0] == pytest.approx(expected, abs=1e-5)
    predicted = model(inputs, training=False)[:, 0]
    drawn = model.decode(state[:, None, :4], appearance, training=False)[:, 0]
    np.testing.assert_allclose(predicted, drawn, atol=1e-5)


def test_a_whole_pixel_cutout_model_copies_the_digit_and_draws_it_back_at_the_anchor(
        data_dir):
    """Cut at whole pixels, a digit's cut-out is its frame's pixels, not an
    interpolation of them, and drawn at the line fitted through ten frames
    it lands where it was: the last input frame comes back exactly."""
    clips = MovingMNIST(num_digits=1, num_frames=10, split="validation",
                        data_dir=data_dir).generate(6, seed=3)["frames"].numpy()
    model = VideoODE(num_context=10, dynamics_dim=2, appearance_dim=32 * 32, latent="slots",
                     slot_appearance="cutout", decoder="glyph", encoder_channels=(4, 8, 8),
                     field_units=8, field_depth=1, walls=0.6,
                     decoder_options={"whole_pixels": True})
    times = np.tile(np.arange(10, dtype="float32") * 0.1, (6, 1))
    inputs = {"frames": clips, "input_times": times, "query_times": times[:, -1:]}
    _, appearance = model.encode(clips, times, training=False)
    assert set(np.unique(appearance)) <= set(np.unique(clips[:, -1]))
    drawn = model(inputs, training=False).numpy()[:, 0]
    exact = [np.allclose(drawn[k], clips[k, -1], atol=1e-6) for k in range(6)]
    assert sum(exact) >= 5, exact


def test_an_appearance_ode_starts_as_the_model_without_it_and_then_moves_the_look():
    keras.utils.set_random_seed(4)
    plain = VideoODE(num_context=2, **TINY)
    moving = VideoODE(num_context=2, appearance_ode=True, **TINY)
    inputs = clip_inputs(2, 2, [0.2, 0.6, 1.4])
    plain(inputs), moving(inputs)
    for source, target in zip(plain.weights, [w for w in moving.weights
                                              if "appearance_field" not in w.path]):
        target.assign(source)
    # Zero field: the look does not move, and the two models agree.
    np.testing.assert_allclose(moving(inputs, training=False), plain(inputs, training=False),
                               atol=1e-5)
    field = moving.appearance_ode.vector_field
    field.network_layers[-1].bias.assign(np.full(4, 0.5, "float32"))
    _, appearance = moving.encode(inputs["frames"], inputs["input_times"], training=False)
    looks = moving.appearance_at(appearance, inputs["query_times"], inputs["input_times"][:, -1])
    assert looks.shape == (2, 3, 4)
    assert not np.allclose(looks[:, 0], looks[:, 2])
    assert not np.allclose(moving(inputs, training=False), plain(inputs, training=False))
    b = clip_inputs(2, 2, [0.2, 0.6, 1.4], seed=5)
    assert moving.swap_appearance(inputs, b).shape == (2, 3, 16, 16, 1)
    with pytest.raises(ValueError, match="appearance_dim=0"):
        VideoODE(num_context=2, appearance_ode=True, **dict(TINY, appearance_dim=0))


@pytest.mark.parametrize(
    "change, match",
    [
        ({"appearance_dim": 70}, "appearance_dim` must be 72"),
        ({"decoder": "conv"}, "decoder='glyph'"),
        ({"latent": "vector"}, "latent='slots'"),
        ({"cut_from": "first"}, "cut_from.*'first'"),
        ({"cut_centre": "middle"}, "cut_centre.*'middle'"),
        ({"cut_centre": "centre_pixel"}, "cut_centre.*whole_pixels"),
    ],
)
def test_bad_cutout_settings_are_named(change, match):
    with pytest.raises(ValueError, match=match):
        VideoODE(num_context=2, **dict(TINY_CUTOUT, **change))


# Pinned so that an accidental change of architecture shows; update on purpose.
PARAMETER_COUNTS = [
    (lambda: VideoODE(), 7_400_401),
    (lambda: VideoODE(latent="map"), 3_746_033),
    (lambda: VideoODE(num_context=2), 7_395_025),
    (lambda: LatentODE(image_size=(28, 28), encoder_channels=(32, 64), dynamics_dim=8), 241_745),
    (lambda: ConvAutoEncoder(), 222_025),
]


@pytest.mark.parametrize("index", range(len(PARAMETER_COUNTS)))
def test_parameter_counts(index):
    build, count = PARAMETER_COUNTS[index]
    model = build()
    model.build(None)
    assert model.count_params() == count


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x: x.pop("query_times"), "keys"),
        (lambda x: x.update(frames=x["frames"][:, 0]), "frames"),
        (lambda x: x.update(frames=np.repeat(x["frames"], 3, axis=-1)), "frames"),
        (lambda x: x.update(frames=x["frames"][:, :, :8]), "frames"),
        (lambda x: x.update(input_times=x["input_times"][:, :1]), "input_times"),
        (lambda x: x["frames"].__setitem__((0, 0, 0, 0, 0), np.nan), "finite"),
        (lambda x: x.update(frames=x["frames"] * 255.0), r"\[0, 1\]"),
        (lambda x: x.update(query_times=x["query_times"][:, ::-1]), "non-decreasing"),
    ],
)
def test_bad_inputs_are_refused_before_solving(change, match):
    model = VideoODE(num_context=2, **TINY)
    inputs = clip_inputs(2, 2, [0.3, 0.7])
    change(inputs)
    with pytest.raises(ValueError, match=match):
        model(inputs)


def test_uint8_frames_are_converted():
    model = VideoODE(num_context=2, **TINY)
    inputs = clip_inputs(2, 2, [0.3])
    as_bytes = dict(inputs, frames=np.round(inputs["frames"] * 255).astype("uint8"))
    as_floats = dict(inputs, frames=as_bytes["frames"].astype("float32") / 255.0)
    np.testing.assert_allclose(model(as_bytes, training=False), model(as_floats, training=False),
                               atol=1e-6)


def test_model_settings_are_checked():
    with pytest.raises(ValueError, match="divisible"):
        VideoODE(image_size=(20, 20), encoder_channels=(4, 8, 16))
    with pytest.raises(ValueError, match="latent"):
        VideoODE(latent="graph")
