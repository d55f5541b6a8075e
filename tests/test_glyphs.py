"""The what/where decoder: placing glyphs at sub-pixel positions, and the layer."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import run_layer_test
from tfodevideo.layers.glyphs import GlyphDecoder
from tfodevideo.layers.glyphs import cut_out
from tfodevideo.layers.glyphs import place
from tfodevideo.layers.glyphs import snap
from tfodevideo.layers.glyphs import snap_to_centre_pixel


def reference_place(glyph, x, y, height, width):
    """Bilinear splatting of every glyph pixel, one at a time (numpy)."""
    size_h, size_w, channels = glyph.shape
    canvas = np.zeros((height, width, channels))
    for s in range(size_h):
        for t in range(size_w):
            row, col = y + s - (size_h - 1) / 2, x + t - (size_w - 1) / 2
            top, left = int(np.floor(row)), int(np.floor(col))
            for i, wi in ((top, 1 - (row - top)), (top + 1, row - top)):
                for j, wj in ((left, 1 - (col - left)), (left + 1, col - left)):
                    if 0 <= i < height and 0 <= j < width:
                        canvas[i, j] += wi * wj * glyph[s, t]
    return canvas


@pytest.mark.parametrize("x, y", [(10.0, 7.0), (10.25, 6.6), (0.4, 18.9), (-3.3, 2.5)])
def test_place_matches_bilinear_splatting(x, y):
    glyph = np.random.default_rng(0).uniform(0, 1, (5, 6, 2)).astype("float32")
    placed = place(tf.constant(glyph[None]), tf.constant([[x, y]], tf.float32), (20, 16))
    np.testing.assert_allclose(placed[0], reference_place(glyph, x, y, 20, 16), atol=1e-5)


def test_a_glyph_at_a_whole_pixel_is_copied_exactly():
    glyph = np.random.default_rng(1).uniform(0, 1, (7, 7, 1)).astype("float32")
    placed = place(tf.constant(glyph[None]), tf.constant([[9.0, 5.0]]), (16, 16)).numpy()
    expected = np.zeros((16, 16, 1), "float32")
    expected[2:9, 6:13] = glyph  # Centre (x=9, y=5): columns 6..12, rows 2..8.
    np.testing.assert_array_equal(placed[0], expected)


def test_a_cut_out_at_a_whole_pixel_is_the_image_there():
    image = np.random.default_rng(3).uniform(0, 1, (1, 16, 18, 2)).astype("float32")
    patch = cut_out(tf.constant(image), tf.constant([[[9.0, 5.0]]]), (7, 5)).numpy()
    # Centre (x=9, y=5) of a 7 (rows) x 5 (columns) patch: rows 2..8, columns 7..11.
    np.testing.assert_array_equal(patch[0, 0], image[0, 2:9, 7:12])


@pytest.mark.parametrize("x, y", [(6.3, 4.7), (0.2, 11.5), (-2.6, 3.0)])
def test_cutting_out_is_the_adjoint_of_placing(x, y):
    """<place(g, c), image> = <g, cut_out(image, c)> for every glyph g: the cut-out
    reads the image with the weights placing draws with, at sub-pixel centres too."""
    rng = np.random.default_rng(4)
    image = rng.uniform(0, 1, (1, 14, 12, 1)).astype("float32")
    glyph = rng.uniform(0, 1, (1, 1, 5, 6, 1)).astype("float32")
    centre = tf.constant([[[x, y]]], tf.float32)
    placed = place(tf.constant(glyph), centre, (14, 12)).numpy()
    patch = cut_out(tf.constant(image), centre, (5, 6)).numpy()
    assert np.sum(placed * image[:, None]) == pytest.approx(np.sum(glyph * patch), rel=1e-5)


def test_the_position_gradient_points_towards_the_target():
    glyph = tf.constant(np.pad(np.ones((3, 3, 1), "float32"), ((1, 1), (1, 1), (0, 0)))[None])
    target = place(glyph, tf.constant([[10.0, 8.0]]), (16, 16))
    centre = tf.Variable([[8.6, 9.3]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(place(glyph, centre, (16, 16)) - target))
    gradient = tape.gradient(loss, centre).numpy()
    assert np.all(np.isfinite(gradient))
    # Descent moves x right (towards 10) and y up (towards 8).
    assert gradient[0, 0] < 0 and gradient[0, 1] > 0, gradient


def test_decoder_draws_one_glyph_per_slot_in_unit_range():
    decoder = GlyphDecoder((24, 20), 1, dynamics_dim=4, glyph_size=8, hidden_units=16)
    latent = np.random.default_rng(2).normal(size=(3, 4 + 6)).astype("float32")
    frames = run_layer_test(decoder, latent, (3, 24, 20, 1))
    assert 0.0 <= float(tf.reduce_min(frames)) and float(tf.reduce_max(frames)) <= 1.0
    assert decoder.glyphs(latent[:, 4:]).shape == (3, 2, 8, 8, 1)


def test_positions_are_image_coordinates_in_pixels():
    decoder = GlyphDecoder((24, 20), 1, dynamics_dim=2, position_scale=0.5)
    centres = decoder.centres(tf.constant([[-2.0, -2.0], [2.0, 2.0], [0.0, 0.0]]))
    np.testing.assert_allclose(centres[:, 0], [[0, 0], [19, 23], [9.5, 11.5]])


def test_the_untrained_decoder_draws_its_starting_bump_where_the_slot_is():
    decoder = GlyphDecoder((32, 32), 1, dynamics_dim=2)  # No appearance: a fixed glyph.
    frame = decoder(tf.constant([[-0.5, 0.5]]))[0, ..., 0].numpy()
    row, col = np.unravel_index(np.argmax(frame), frame.shape)
    centre = decoder.centres(tf.constant([[-0.5, 0.5]]))[0, 0].numpy()
    assert abs(col - centre[0]) <= 1 and abs(row - centre[1]) <= 1
    assert frame.max() == pytest.approx(0.5, abs=0.05)
    assert frame[0, -1] < 0.02  # Dark far from the slot.


def test_a_blurred_glyph_is_the_mean_of_the_glyph_over_its_possible_centres():
    """Drawn with sigma, a glyph is its Gaussian-weighted average over
    shifted centres (the expected frame when the centre is that uncertain);
    at sigma 0 it is the sharp glyph."""
    glyph = np.random.default_rng(6).uniform(0, 1, (1, 5, 5, 1)).astype("float32")
    centre = tf.constant([[20.0, 18.0]])
    sharp = place(glyph, centre, (40, 40)).numpy()
    np.testing.assert_allclose(place(glyph, centre, (40, 40), tf.constant([0.0])), sharp,
                               atol=1e-6)
    sigma = 1.5
    shifts = np.arange(-8, 9)
    weights = np.exp(-shifts**2 / (2 * sigma**2))
    weights /= weights.sum()
    expected = sum(wy * wx * place(glyph, centre + [[dx, dy]], (40, 40)).numpy()
                   for dy, wy in zip(shifts, weights) for dx, wx in zip(shifts, weights))
    blurred = place(glyph, centre, (40, 40), tf.constant([sigma])).numpy()
    np.testing.assert_allclose(blurred, expected, atol=1e-5)
    assert blurred.sum() == pytest.approx(sharp.sum(), rel=1e-4)  # Away from the border.


def test_uncertainty_blurs_later_frames_more():
    decoder = GlyphDecoder((32, 32), 1, dynamics_dim=2, glyph_size=8, glyph_code="pixels",
                           uncertainty=True, initial_rate=4.0)
    glyph = np.zeros((1, 64), "float32")
    glyph[0, 27:29] = 1.0  # Two bright pixels.
    latent = tf.constant(np.concatenate([np.zeros((3, 2)), np.repeat(glyph, 3, 0)], 1),
                         tf.float32)
    frames = decoder(latent, elapsed=tf.constant([0.0, 0.5, 1.5])).numpy()
    peaks = frames.max(axis=(1, 2, 3))
    assert peaks[0] == pytest.approx(1.0) and peaks[0] > peaks[1] > peaks[2]
    assert len(decoder.trainable_weights) == 1  # The rate.
    with pytest.raises(ValueError, match="elapsed"):
        decoder(latent)


def test_pixel_codes_are_the_glyphs_drawn():
    decoder = GlyphDecoder((12, 12), 1, dynamics_dim=2, glyph_size=4, glyph_code="pixels")
    glyph = np.random.default_rng(5).uniform(-0.2, 1.2, (1, 16)).astype("float32")
    frame = decoder(tf.constant(np.concatenate([[[0.0, 0.0]], glyph], axis=1)))
    assert not decoder.trainable_weights
    # Centre (0, 0) in image coordinates is pixel (5.5, 5.5): rows and columns 4..7.
    np.testing.assert_allclose(frame[0, 4:8, 4:8, 0], np.clip(glyph.reshape(4, 4), 0, 1),
                               atol=1e-6)
    fresh = GlyphDecoder((12, 12), 1, dynamics_dim=2, glyph_size=4, glyph_code="pixels")
    with pytest.raises(ValueError, match="16 values per slot"):
        fresh(tf.zeros([1, 2 + 9]))


@pytest.mark.parametrize("size", [(4, 4), (5, 5), (4, 7)])
def test_snapped_centres_copy_glyphs_to_the_nearest_whole_pixels(size):
    rng = np.random.default_rng(2)
    glyph = rng.uniform(0.1, 1, (*size, 1)).astype("float32")
    centres = rng.uniform(4, 11, (8, 2)).astype("float32")
    snapped = snap(tf.constant(centres), size).numpy()
    assert np.abs(snapped - centres).max() <= 0.5
    for x, y in snapped:
        placed = place(tf.constant(glyph[None]), tf.constant([[x, y]]), (16, 16)).numpy()[0]
        top, left = y - (size[0] - 1) / 2, x - (size[1] - 1) / 2
        assert top == int(top) and left == int(left)
        expected = np.zeros((16, 16, 1), "float32")
        expected[int(top):int(top) + size[0], int(left):int(left) + size[1]] = glyph
        np.testing.assert_allclose(placed, expected, atol=1e-6)


@pytest.mark.parametrize("size", [(32, 32), (31, 31), (6, 9)])
def test_a_centre_pixel_window_has_the_centroids_nearest_pixel_in_its_middle(size):
    centres = tf.constant([[10.0, 5.0], [10.49, 5.51], [9.51, 4.6], [-2.2, 0.3]])
    snapped = snap_to_centre_pixel(centres, size).numpy()
    middle = np.floor(np.array([size[1], size[0]]) / 2.0)  # Index just past the middle.
    first = snapped - (np.array([size[1], size[0]]) - 1) / 2.0  # Index 0 of the window.
    np.testing.assert_array_equal(first + middle, np.floor(centres.numpy() + 0.5))
    # Whole-pixel windows; at odd sides, `snap` itself.
    np.testing.assert_array_equal(first, np.round(first))
    if size[0] % 2 and size[1] % 2:
        np.testing.assert_array_equal(snapped, snap(centres, size))


def test_centre_pixel_cuts_put_every_mnist_digit_where_its_box_is(mnist_train):
    """Digits drawn with their 28x28 box at one corner, cut by their
    centroids: with the centroid's nearest pixel in the window's middle,
    every box lands at the same place in its 32x32 window; with the nearest
    half pixel, the box lands at one of two places, a pixel apart."""
    digits = mnist_train[:200].astype("float32") / 255.0
    frames = np.zeros((200, 64, 64, 1), "float32")
    frames[:, 20:48, 17:45, 0] = digits  # Box corner (x, y) = (17, 20).
    grid = np.stack(np.meshgrid(np.arange(64), np.arange(64)), axis=-1)  # (x, y).
    centroids = (np.einsum("bhw,hwc->bc", frames[..., 0], grid)
                 / frames.sum(axis=(1, 2, 3))[:, None])[:, None].astype("float32")
    for rule, places in ((snap_to_centre_pixel, 1), (snap, 2)):
        windows = rule(tf.constant(centroids), (32, 32)).numpy()[:, 0]
        box_in_window = np.array([17, 20]) - (windows - 15.5)
        assert len(np.unique(box_in_window, axis=0)) == places * places, rule.__name__
        if places == 1:
            for k in (0, 57, 199):  # The cut-out holds the digit's box at that place.
                patch = cut_out(tf.constant(frames[k:k + 1]), tf.constant(windows[None, k:k + 1]),
                                (32, 32)).numpy()[0, 0, ..., 0]
                row, col = int(box_in_window[k, 1]), int(box_in_window[k, 0])
                np.testing.assert_array_equal(patch[row:row + 28, col:col + 28], digits[k])


def test_a_whole_pixel_decoder_draws_at_snapped_centres_and_passes_the_gradient():
    options = dict(dynamics_dim=2, glyph_size=4, glyph_code="pixels")
    whole, sub_pixel = (GlyphDecoder((12, 12), 1, whole_pixels=flag, **options)
                        for flag in (True, False))
    glyph = np.random.default_rng(6).uniform(0, 1, (1, 16)).astype("float32")
    positions = tf.Variable([[0.13, -0.31]])
    with tf.GradientTape() as tape:
        frame = whole(tf.concat([positions, glyph], axis=1))
        loss = tf.reduce_sum(frame * np.arange(144, dtype="float32").reshape(1, 12, 12, 1))
    centre = whole.centres(positions)
    snapped = tf.reshape(snap(centre, (4, 4)) / 5.5 - 1.0, [1, 2])
    expected = sub_pixel(tf.concat([snapped, glyph], axis=1))
    np.testing.assert_allclose(frame, expected, atol=1e-6)
    # Copied pixels (up to the rounding of the straight-through sum).
    values = np.append(np.clip(glyph[0], 0, 1), 0.0)
    assert np.abs(np.asarray(frame).reshape(-1, 1) - values).min(axis=1).max() < 1e-6
    assert np.all(tape.gradient(loss, positions) != 0)
    assert whole.get_config()["whole_pixels"] is True


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dynamics_dim": 2, "glyph_code": "mlp"}, "glyph_code"),
        ({"dynamics_dim": 3}, "dynamics_dim.*3"),
        ({"dynamics_dim": 2, "from_map": True}, "from_map"),
        ({"dynamics_dim": 2, "glyph_size": 0}, "glyph_size"),
        ({"dynamics_dim": 6, "hypotheses": 2}, "hypotheses=2"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GlyphDecoder((16, 16), 1, **kwargs)


def test_an_appearance_that_does_not_split_among_the_slots_is_refused():
    decoder = GlyphDecoder((16, 16), 1, dynamics_dim=4)
    with pytest.raises(ValueError, match="latent size 7"):
        decoder(tf.zeros([1, 7]))


def test_hypotheses_average_an_objects_places_before_objects_combine():
    """Two objects, two places each: each object's glyph is the mean of its
    two placings, and the brighter object wins a pixel, as without them."""
    decoder = GlyphDecoder((12, 12), 1, dynamics_dim=8, glyph_size=4, glyph_code="pixels",
                           hypotheses=2)
    rng = np.random.default_rng(2)
    glyphs = rng.uniform(0, 1, (1, 2, 4, 4, 1)).astype("float32")
    centres = np.array([[[2.5, 3.5], [4.5, 3.5], [8.0, 7.5], [8.0, 8.0]]], "float32")
    extent = np.array([11.0, 11.0], "float32")
    positions = (centres / extent * 2.0 - 1.0).reshape(1, 8)
    frame = decoder(tf.constant(np.concatenate([positions, glyphs.reshape(1, 32)], axis=1)))
    placed = place(np.repeat(glyphs, 2, axis=1), centres, (12, 12)).numpy()
    expected = np.minimum(placed.reshape(1, 2, 2, 12, 12, 1).mean(axis=2).max(axis=1), 1.0)
    np.testing.assert_allclose(frame, expected, atol=1e-6)
    # Object 0's two places are two whole pixels apart: where one alone
    # reaches (column 1), half as bright.
    np.testing.assert_allclose(frame[0, 2:6, 1, 0], 0.5 * glyphs[0, 0, :, 0, 0], atol=1e-6)
    assert decoder.get_config()["hypotheses"] == 2
