"""Centring a window on an object and matching a glyph in another frame."""

import numpy as np
import pytest
import tensorflow as tf

from tfodevideo.data import MovingMNIST
from tfodevideo.layers.glyphs import cut_out
from tfodevideo.layers.tracking import centre_on_mass
from tfodevideo.layers.tracking import frame_centroid
from tfodevideo.layers.tracking import match_shift
from tfodevideo.layers.tracking import track_back


def digit_frames(data_dir, num_frames=2):
    clips = MovingMNIST(num_digits=1, num_frames=num_frames, split="validation",
                        data_dir=data_dir).generate(6, seed=11)
    return clips["frames"].numpy(), clips["positions"].numpy()[:, :, 0]


def mass_centre(image):
    rows, cols = np.indices(image.shape[:2])
    return np.array([(image[..., 0] * cols).sum(), (image[..., 0] * rows).sum()]) / image.sum()


def test_the_window_moves_onto_the_digit_centroid(data_dir):
    frames, _ = digit_frames(data_dir)
    last = tf.constant(frames[:, -1])
    start = tf.constant(np.full((6, 1, 2), 31.5, "float32"))  # The canvas' middle.
    centres = centre_on_mass(last, start, (32, 32)).numpy()[:, 0]
    truth = np.stack([mass_centre(frame) for frame in frames[:, -1]])
    np.testing.assert_allclose(centres, truth, atol=0.5)
    # The window then holds the whole digit.
    patches = cut_out(last, tf.constant(centres[:, None]), (32, 32)).numpy()
    np.testing.assert_allclose(patches.sum(axis=(1, 2, 3, 4)), frames[:, -1].sum(axis=(1, 2, 3)),
                               rtol=1e-3)


def test_an_empty_window_leaves_its_centre():
    centres = centre_on_mass(tf.zeros([1, 16, 16, 1]), tf.constant([[[4.0, 9.0]]]), (6, 6))
    np.testing.assert_array_equal(centres, [[[4.0, 9.0]]])


@pytest.mark.parametrize("shift", [(0, 0), (3, -2), (-4, 4)])
def test_a_glyph_is_found_at_its_whole_pixel_shift(shift, data_dir):
    frames, _ = digit_frames(data_dir)
    image = frames[:, -1]
    moved = np.roll(image, (shift[1], shift[0]), axis=(1, 2))  # Digits stay on canvas.
    centres = centre_on_mass(tf.constant(image), tf.constant(np.full((6, 1, 2), 31.5,
                                                                      "float32")), (32, 32))
    glyphs = cut_out(tf.constant(image), centres, (32, 32))
    found = match_shift(tf.constant(moved), glyphs, centres, radius=6).numpy()[:, 0]
    np.testing.assert_allclose(found, np.tile(shift, (6, 1)), atol=0.05)


def test_the_shift_between_frames_is_the_digit_motion(data_dir):
    frames, corners = digit_frames(data_dir)
    start = tf.constant(np.full((6, 1, 2), 31.5, "float32"))
    centres = centre_on_mass(tf.constant(frames[:, 1]), start, (32, 32))
    glyphs = cut_out(tf.constant(frames[:, 1]), centres, (32, 32))
    found = match_shift(tf.constant(frames[:, 0]), glyphs, centres, radius=8).numpy()[:, 0]
    # Digits are drawn at whole pixels: the shift back is the change of corner.
    moved = np.floor(corners[:, 0]) - np.floor(corners[:, 1])
    np.testing.assert_allclose(found, moved, atol=0.05)


def test_a_digit_is_followed_back_through_its_bounces(data_dir):
    """Ten frames of Moving MNIST hold bounces in most clips; following the
    glyph one frame at a time finds it in every frame."""
    frames, corners = digit_frames(data_dir, num_frames=10)
    start = tf.constant(np.full((6, 1, 2), 31.5, "float32"))
    centres = centre_on_mass(tf.constant(frames[:, -1]), start, (32, 32))
    glyphs = cut_out(tf.constant(frames[:, -1]), centres, (32, 32))
    found = track_back(tf.constant(frames), glyphs, centres, radius=5).numpy()[:, :, 0]
    moved = np.floor(corners[:, -2::-1]) - np.floor(corners[:, -1:])  # Frames 8, 7, ..., 0.
    np.testing.assert_allclose(found - centres.numpy()[:, None, 0], moved, atol=0.05)
    turned = np.diff(np.sign(np.diff(corners, axis=1)), axis=1) != 0
    assert turned.any()  # Some clip did bounce.


def test_the_frame_centroid_is_the_digit_mass_centre_and_blank_frames_fall_back(data_dir):
    frames, _ = digit_frames(data_dir)
    images = np.concatenate([frames[:, -1], np.zeros((1, 64, 64, 1), "float32")])
    fallback = tf.constant(np.full((7, 1, 2), 5.0, "float32"))
    found = frame_centroid(tf.constant(images), fallback).numpy()[:, 0]
    np.testing.assert_allclose(found[:6], [mass_centre(f) for f in frames[:, -1]], atol=1e-3)
    np.testing.assert_array_equal(found[6], [5.0, 5.0])
