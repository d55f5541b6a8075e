"""Centring a window on an object and matching a glyph in another frame."""

import numpy as np
import pytest
import tensorflow as tf

from tfodevideo.data import MovingMNIST
from tfodevideo.layers.glyphs import cut_out
from tfodevideo.layers.tracking import CLEAR
from tfodevideo.layers.tracking import centre_on_mass
from tfodevideo.layers.tracking import clearest_frame
from tfodevideo.layers.tracking import cut_out_each
from tfodevideo.layers.tracking import find_objects
from tfodevideo.layers.tracking import fit_lattice
from tfodevideo.layers.tracking import fit_last_run
from tfodevideo.layers.tracking import nearest_masks
from tfodevideo.layers.tracking import frame_centroid
from tfodevideo.layers.tracking import match_shift
from tfodevideo.layers.tracking import track_from


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


@pytest.mark.parametrize("anchors", [[9] * 6, [0, 3, 9, 5, 1, 7]])
def test_a_digit_is_followed_through_its_bounces_from_any_frame(anchors, data_dir):
    """Ten frames of Moving MNIST hold bounces in most clips; following the
    glyph one frame at a time, forward and back from the frame it was cut
    from, finds it in every frame."""
    frames, corners = digit_frames(data_dir, num_frames=10)
    rows = np.arange(6)
    source = tf.constant(frames[rows, anchors])
    centres = centre_on_mass(source, tf.constant(np.full((6, 1, 2), 31.5, "float32")),
                             (32, 32))
    glyphs = cut_out(source, centres, (32, 32))
    found = track_from(tf.constant(frames), glyphs, tf.constant(anchors, tf.int32), centres,
                       radius=5).numpy()[:, :, 0]
    moved = np.floor(corners) - np.floor(corners[rows, anchors])[:, None]
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


def test_the_line_since_the_last_turn_gives_the_velocity_of_truncated_positions(data_dir):
    """Moving MNIST draws digits at whole pixels: ten frames' line is far
    closer to the true velocity than the last step, and a turn inside the
    frames cuts the line there."""
    clips = MovingMNIST(num_digits=2, num_frames=10, split="validation",
                        data_dir=data_dir).generate(64, seed=5)
    corners = clips["positions"].numpy()  # (B, 10, 2, 2), before truncation.
    times = np.tile(np.arange(10, dtype="float32") * 0.1, (64, 1))
    position, velocity = fit_last_run(tf.constant(np.floor(corners)), tf.constant(times))
    steps = np.diff(corners, axis=1)
    true_velocity = steps[:, -1] / 0.1
    # Coordinates that moved straight through the last seven frames, off
    # the walls (a digit at a wall has been clamped there: it turns next).
    same_way = np.all(np.sign(steps[:, -6:]) == np.sign(steps[:, -1:]), axis=1)
    off_walls = np.all((corners[:, -7:] > 0) & (corners[:, -7:] < 36), axis=1)
    long_runs = same_way & off_walls
    assert long_runs.sum() > 100
    error = np.abs(velocity.numpy() - true_velocity)[long_runs] * 0.1  # Pixels per frame.
    last_step = np.abs(np.diff(np.floor(corners), axis=1)[:, -1] - corners[:, -1]
                       + corners[:, -2])[long_runs]
    # A few lines reach one frame past a bounce that truncation hid (the
    # frame before the wall and the wall itself fall on the same pixel).
    assert np.percentile(error, 90) < 0.1 and error.mean() < 0.25 * last_step.mean(), (
        error.mean(), last_step.mean())
    # The fitted position now is the true one less the mean truncation.
    offset = (corners[:, -1] - 0.5 - position.numpy())[long_runs]
    assert np.percentile(np.abs(offset), 90) < 0.5 and abs(offset.mean()) < 0.1


def test_two_frames_give_the_last_step_and_a_turn_ends_the_line():
    times = tf.constant([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5]])
    # x turns at frame 2 (a bounce at 12); y stands still then moves by whole pixels.
    track = tf.constant([[[[4.0, 9.0]], [[8.0, 9.0]], [[12.0, 9.0]], [[9.0, 9.0]],
                          [[6.0, 10.0]], [[3.0, 10.0]]]])
    position, velocity = fit_last_run(track, times)
    np.testing.assert_allclose(position[0, 0, 0], 3.0, atol=1e-5)
    np.testing.assert_allclose(velocity[0, 0, 0], -30.0, atol=1e-4)  # Frames 2..5 only.
    assert 0.0 < velocity[0, 0, 1] < 5.0  # A slow drift, not a turn.
    position, velocity = fit_last_run(track[:, -2:], times[:, -2:])
    np.testing.assert_allclose(position, track[:, -1], atol=1e-6)
    np.testing.assert_allclose(velocity, (track[:, -1] - track[:, -2]) / 0.1, atol=1e-4)


def test_the_lattice_fit_of_truncated_positions_finds_motions_the_line_misses(data_dir):
    """Every line the whole pixels allow, at the digits' common speed, and
    the generator's bounce: 40 frames past the inputs most digits are on the
    right whole pixel, where the least-squares line has drifted."""
    from tfodevideo.layers.walls import stepwise_bounce

    clips = MovingMNIST(num_digits=2, num_frames=50, split="validation",
                        data_dir=data_dir).generate(64, seed=5)
    corners = clips["positions"].numpy()  # (B, 50, 2, 2), before truncation.
    track = tf.constant(np.floor(corners[:, :10]) + 7.0)  # Any whole-pixel origin.
    times = tf.constant(np.tile(np.arange(10, dtype="float32") * 0.1, (64, 1)))

    def pixels_40_frames_on(position, velocity):
        start = position.numpy() - 7.0 + 0.5  # Corner coordinates, as the generator's.
        step = velocity.numpy() * 0.1
        landed = stepwise_bounce(start, step, step * 40.0, 0.0, 36.0)
        return np.floor(landed)

    truth = np.floor(corners[:, 49])
    line = np.abs(pixels_40_frames_on(*fit_last_run(track, times)) - truth).sum(-1)
    lattice = np.abs(pixels_40_frames_on(*fit_lattice(track, times, speed=36.0)) - truth).sum(-1)
    assert (lattice == 0).mean() > 2 * (line == 0).mean(), ((lattice == 0).mean(),
                                                            (line == 0).mean())
    assert np.median(lattice) < 0.5 * np.median(line), (np.median(lattice), np.median(line))
    # Without the common speed each axis still comes closer than the line
    # to the velocity of the last input step (pixels per frame).
    _, velocity = fit_lattice(track, times)
    _, slope = fit_last_run(track, times)
    true_velocity = np.diff(corners, axis=1)[:, 8] / 0.1
    lattice_error = np.abs(velocity.numpy() - true_velocity) * 0.1
    line_error = np.abs(slope.numpy() - true_velocity) * 0.1
    assert lattice_error.mean() < 0.5 * line_error.mean(), (lattice_error.mean(),
                                                            line_error.mean())
    assert np.median(lattice_error) < 0.05


def test_a_run_that_starts_on_a_wall_has_no_fraction_and_a_stray_frame_is_dropped():
    times = tf.constant(np.arange(6, dtype="float32")[None] * 0.1)
    # x: floor(36 - 3.3 k) after stopping on the wall at 36 (frame 2); y: a
    # digit at 0.4 + 2.5 k whose oldest frame the tracker put on the wrong pixel.
    x = [29.0, 33.0, 36.0, 32.0, 29.0, 26.0]
    y = [5.0, 2.0, 5.0, 7.0, 10.0, 12.0]
    track = tf.constant(np.stack([x, y], axis=-1)[None, :, None].astype("float32"))
    position, velocity = fit_lattice(track, times)
    # From the wall at exactly 36.0, the pixels 32, 29, 26 allow steps from
    # -3.33 to -3.0 per frame: the fit is their middle, and starts on 36.0.
    np.testing.assert_allclose(velocity[0, 0, 0], -31.67, atol=0.05)
    np.testing.assert_allclose(position[0, 0, 0], 36.0 + 3 * velocity[0, 0, 0] * 0.1 - 0.5,
                               atol=1e-3)
    # y: frames 1-5 (2, 5, 7, 10, 12) fit 2.5 px per frame; with frame 0 none does.
    assert 24.0 < velocity[0, 0, 1] < 26.0
    assert np.floor(position[0, 0, 1] + 0.5) == 12.0  # Drawn at the last pixel.


def each_digit_alone(source, params):
    """The clips of `params` with each of the two digits drawn alone:
    a list of two `(B, T, H, W, 1)` arrays."""
    return [source.render(dict(params, digit=params["digit"][:, k:k + 1],
                               position=params["position"][:, k:k + 1],
                               angle=params["angle"][:, k:k + 1]))["frames"].numpy()
            for k in range(2)]


def pair_error(found, truth):
    """Mean distance `(B,)` of two found centres `(B, 2, 2)` to two true
    ones, in whichever pairing fits better."""
    distance = np.linalg.norm(found[:, :, None] - truth[:, None], axis=-1)
    return np.minimum(distance[:, 0, 0] + distance[:, 1, 1],
                      distance[:, 0, 1] + distance[:, 1, 0]) / 2


def two_digit_frames(data_dir, count=128):
    """Frames of two digits, each digit's intensity centroid, and each
    digit drawn alone."""
    source = MovingMNIST(num_digits=2, num_frames=1, split="validation", data_dir=data_dir)
    params = source.sample_clips(count, seed=7)
    frames = source.render(params)["frames"].numpy()[:, 0]
    alone = [images[:, 0] for images in each_digit_alone(source, params)]
    centroids = np.stack([[mass_centre(image) for image in images] for images in alone], 1)
    return frames, centroids, alone


def test_two_digits_apart_are_found_at_their_centroids(data_dir):
    frames, truth, _ = two_digit_frames(data_dir)
    fallback = tf.constant(np.full((len(frames), 2, 2), 31.5, "float32"))
    matched = pair_error(find_objects(tf.constant(frames), 2, fallback).numpy(), truth)
    apart = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=-1) > 20
    assert apart.sum() > 30
    assert matched[apart].max() < 1.0, matched[apart].max()
    # One object is the frame's centroid; a blank frame keeps the fallback.
    images = np.concatenate([frames[:2], np.zeros((1, 64, 64, 1), "float32")])
    one = find_objects(tf.constant(images), 1, tf.constant(np.full((3, 1, 2), 5.0, "float32")))
    np.testing.assert_allclose(one[:2, 0], [mass_centre(f) for f in frames[:2]], atol=1e-3)
    blank = find_objects(tf.constant(images[2:]), 2, fallback[:1]).numpy()
    np.testing.assert_array_equal(blank, fallback[:1])


def test_each_cut_out_holds_only_its_own_digit(data_dir):
    frames, truth, alone = two_digit_frames(data_dir)
    apart = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=-1) > 28
    frames, truth = frames[apart], truth[apart]
    alone = [images[apart] for images in alone]
    centres = tf.constant(truth.astype("float32"))
    masks = nearest_masks(tf.constant(frames), centres)
    np.testing.assert_array_equal(tf.reduce_sum(masks, axis=1), 1.0)  # A partition.
    patches = cut_out_each(tf.constant(frames), masks, centres, (32, 32)).numpy()
    for k in range(2):
        expected = cut_out(tf.constant(alone[k]), centres[:, k:k + 1], (32, 32)).numpy()[:, 0]
        np.testing.assert_allclose(patches[:, k], expected, atol=1e-5)
    whole = cut_out_each(tf.constant(frames), tf.ones_like(masks), centres, (32, 32))
    np.testing.assert_allclose(whole, cut_out(tf.constant(frames), centres, (32, 32)), atol=1e-6)


def test_two_digits_are_cut_from_the_latest_frame_where_they_stand_apart(data_dir):
    """Where the digits touch in the last frame, the clearest frame is an
    earlier one where they stand CLEAR apart, and its centres are the
    digits' own there; clips apart at the end keep the last frame."""
    source = MovingMNIST(num_digits=2, num_frames=10, split="validation", data_dir=data_dir)
    params = source.sample_clips(64, seed=8)
    frames = source.render(params)["frames"].numpy()
    alone = np.stack(each_digit_alone(source, params), axis=2)  # (B, N, 2, H, W, 1)
    truth = np.array([[[mass_centre(digit) for digit in frame] for frame in clip]
                      for clip in alone])  # (B, N, 2, 2)
    apart = np.linalg.norm(truth[:, :, 0] - truth[:, :, 1], axis=-1)  # (B, N)
    index, centres = clearest_frame(tf.constant(frames), 2,
                                    tf.constant(np.full((64, 2, 2), 31.5, "float32")))
    index, centres = index.numpy(), centres.numpy()
    clear_at_end = apart[:, -1] > CLEAR + 2
    touching_at_end = (apart[:, -1] < 12) & (apart.max(axis=1) > CLEAR + 2)
    assert clear_at_end.sum() >= 5 and touching_at_end.sum() >= 3
    np.testing.assert_array_equal(index[clear_at_end], 9)
    chosen = apart[np.arange(64), index]
    assert (chosen[touching_at_end] > CLEAR - 2).all(), chosen[touching_at_end]
    assert (index[touching_at_end] < 9).all()
    # There the clusters are the digits, each within a pixel of its centroid.
    matched = pair_error(centres[touching_at_end],
                         truth[np.arange(64), index][touching_at_end])
    assert matched.max() < 1.0, matched


def test_lattice_hypotheses_spread_over_the_directions_two_frames_allow(data_dir):
    """From two whole-pixel frames the direction is open over an arc: the
    hypotheses cover it (the true direction is near one of them, far nearer
    than to the single centroid), each moves at the common speed and draws
    at the last input pixel."""
    clips = MovingMNIST(num_digits=2, num_frames=4, split="validation",
                        data_dir=data_dir).generate(128, seed=5)
    corners = clips["positions"].numpy()  # (B, 4, 2, 2), before truncation.
    track = tf.constant(np.floor(corners[:, :2]) + 7.0)
    times = tf.constant(np.tile(np.array([0.0, 0.1], "float32"), (128, 1)))
    position, velocity = fit_lattice(track, times, speed=36.0)
    positions, velocities = fit_lattice(track, times, speed=36.0, hypotheses=8)
    assert positions.shape == velocities.shape == (128, 2, 8, 2)
    # Where some direction fits (not where a bounce between the inputs
    # broke the step) every hypothesis moves at the speed; elsewhere each is
    # the single fit's fallback.
    fits = np.isclose(np.linalg.norm(velocity, axis=-1), 36.0, rtol=1e-5)
    assert fits.mean() > 0.9
    np.testing.assert_allclose(np.linalg.norm(velocities, axis=-1)[fits], 36.0, rtol=1e-5)
    np.testing.assert_allclose(velocities.numpy()[~fits],
                               np.repeat(velocity.numpy()[~fits][:, None], 8, axis=1))
    drawn = np.floor(positions.numpy() + 0.5)
    np.testing.assert_array_equal(drawn, np.broadcast_to(track[:, -1, :, None], drawn.shape))

    def angle_to_truth(v):
        truth = np.diff(corners, axis=1)[:, 0]  # The step between the inputs.
        turn = np.arctan2(v[..., 1], v[..., 0]) - np.arctan2(truth[..., 1], truth[..., 0])
        return np.degrees(np.abs((turn + np.pi) % (2 * np.pi) - np.pi))

    single = angle_to_truth(velocity.numpy())[fits]
    nearest = angle_to_truth(np.moveaxis(velocities.numpy(), 2, 0)).min(axis=0)[fits]
    spread = np.ptp(np.degrees(np.arctan2(velocities[..., 1], velocities[..., 0])),
                    axis=-1)[fits]
    assert np.median(spread) > 10.0  # Two frames leave tens of degrees open.
    assert nearest.mean() < 0.5 * single.mean(), (nearest.mean(), single.mean())
    # Before the speed is known (0) there is one motion, the single fit's.
    zero = fit_lattice(track, times, speed=0.0, hypotheses=3)
    for many, one in zip(zero, fit_lattice(track, times, speed=0.0), strict=True):
        np.testing.assert_allclose(many, np.repeat(one[:, :, None], 3, axis=2), atol=1e-6)
    with pytest.raises(ValueError, match="speed"):
        fit_lattice(track, times, hypotheses=3)
