"""Following a cut-out glyph between frames: centring it and matching it.

The cut-out slots of `StackedHead(slot_appearance="cutout")` read each
object's look as the pixels around its centre in the last input frame. Two
classical steps make that centre and the object's velocity exact where a
learned heat map on a coarse feature grid is only roughly right:

- `centre_on_mass` moves a centre to the intensity centroid of the window
  around it, a few times, so that the window holds the whole object;
- `match_shift` finds the shift at which the glyph best matches an earlier
  frame (least squared difference over a window of whole-pixel shifts,
  refined to a fraction of a pixel), and `track_back` follows the glyph
  through every earlier input frame: the displacements give the velocity.
"""

import tensorflow as tf

from tfodevideo.layers.glyphs import cut_out

def centre_on_mass(image, centres, size, iterations=3):
    """Centres `(B, K, 2)` in pixels moved onto the intensity centroid of
    the `size` window around them, `iterations` times; a window with
    nothing in it leaves its centre where it is.

    Args:
        image: `(B, H, W, C)`.
        centres: `(B, K, 2)` pixel coordinates `(x, y)`.
        size: `(S_h, S_w)` of the window.
    """
    offsets_y = tf.range(size[0], dtype=image.dtype) - (size[0] - 1) / 2.0
    offsets_x = tf.range(size[1], dtype=image.dtype) - (size[1] - 1) / 2.0
    for _ in range(iterations):
        mass = tf.reduce_sum(cut_out(image, centres, size), axis=-1)  # (B, K, S_h, S_w)
        total = tf.reduce_sum(mass, axis=[-2, -1])
        shift_x = tf.reduce_sum(mass * offsets_x, axis=[-2, -1])
        shift_y = tf.reduce_sum(mass * offsets_y[:, None], axis=[-2, -1])
        shift = tf.math.divide_no_nan(tf.stack([shift_x, shift_y], axis=-1), total[..., None])
        centres = centres + shift
    return centres


def frame_centroid(image, fallback):
    """The intensity centroid `(B, 1, 2)` of each image `(B, H, W, C)` in
    pixels, or `fallback` `(B, 1, 2)` where an image is blank."""
    mass = tf.reduce_sum(image, axis=-1)
    total = tf.reduce_sum(mass, axis=[1, 2])
    rows = tf.range(tf.shape(mass)[1], dtype=image.dtype)
    cols = tf.range(tf.shape(mass)[2], dtype=image.dtype)
    x = tf.reduce_sum(mass * cols[None, None, :], axis=[1, 2])
    y = tf.reduce_sum(mass * rows[None, :, None], axis=[1, 2])
    centroid = tf.math.divide_no_nan(tf.stack([x, y], axis=-1), total[:, None])[:, None]
    return tf.where((total > 0)[:, None, None], centroid, fallback)


def match_shift(image, glyphs, centres, radius):
    """The shift `(B, K, 2)` in pixels from `centres` at which each glyph
    best matches `image`: the whole-pixel shift up to `radius` in each
    direction with the least squared difference, refined to a fraction of a
    pixel by a parabola through it and its neighbours along each axis.

    Args:
        image: `(B, H, W, C)`, e.g. the frame before the one the glyphs
            were cut from.
        glyphs: `(B, K, S_h, S_w, C)`.
        centres: `(B, K, 2)` around which to look, `(x, y)` in pixels.
        radius: largest shift tried, in pixels.
    """
    side = 2 * radius + 1
    steps = tf.range(-radius, radius + 1, dtype=image.dtype)
    shifts = tf.reshape(tf.stack(tf.meshgrid(steps, steps), axis=-1), [-1, 2])  # Row-major y.
    count = side * side
    # Dynamic sizes: under an unknown batch (a serving signature) the slot
    # count of the centres is not static either.
    batch, slots = tf.shape(centres)[0], tf.shape(centres)[1]
    tried = tf.reshape(centres[:, :, None] + shifts, [batch, slots * count, 2])
    patches = cut_out(image, tried, glyphs.shape[2:4])
    patches = tf.reshape(patches, [batch, slots, count, *glyphs.shape[2:]])
    cost = tf.reduce_sum(tf.square(patches - glyphs[:, :, None]), axis=[-3, -2, -1])
    best = tf.argmin(cost, axis=-1, output_type=tf.int32)  # (B, K)
    row, col = best // side, best % side
    grid = tf.reshape(cost, [batch, slots, side, side])
    padded = tf.pad(grid, [[0, 0], [0, 0], [1, 1], [1, 1]], constant_values=float("inf"))

    def at(dr, dc):
        index = tf.stack([row + 1 + dr, col + 1 + dc], axis=-1)
        return tf.gather_nd(padded, index, batch_dims=2)

    def vertex(low, mid, high):
        # Offset of a parabola's minimum through (-1, low), (0, mid), (1, high);
        # none at the edge of the window (an infinite neighbour) or on a flat cost.
        curvature = low - 2.0 * mid + high
        usable = tf.math.is_finite(curvature) & (curvature > 0)
        offset = tf.where(usable, 0.5 * (low - high) / tf.where(usable, curvature, 1.0), 0.0)
        return tf.clip_by_value(offset, -0.5, 0.5)

    centre = at(0, 0)
    x = tf.cast(col - radius, image.dtype) + vertex(at(0, -1), centre, at(0, 1))
    y = tf.cast(row - radius, image.dtype) + vertex(at(-1, 0), centre, at(1, 0))
    return tf.stop_gradient(tf.stack([x, y], axis=-1))


def track_back(frames, glyphs, centres, radius):
    """Where the glyphs cut from the last frame are in each earlier frame.

    Follows them one frame back at a time, each search centred where the
    previous one found them, so that a bounce between frames (a sudden turn)
    does not throw the search off.

    Args:
        frames: `(B, N, H, W, C)`, the glyphs' frame last.
        glyphs: `(B, K, S_h, S_w, C)` cut from `frames[:, -1]`.
        centres: `(B, K, 2)` where they were cut, in pixels.
        radius: largest move between two frames, in pixels.

    Returns:
        `(B, N - 1, K, 2)`: the centres in frames `N - 2, N - 3, ..., 0`.
    """
    found, position = [], centres
    for back in range(2, frames.shape[1] + 1):
        position = position + match_shift(frames[:, -back], glyphs, position, radius)
        found.append(position)
    return tf.stack(found, axis=1)
