"""Following a cut-out glyph between frames: centring it and matching it.

The cut-out slots of `StackedHead(slot_appearance="cutout")` read each
object's look as the pixels around its centre in the last input frame. Two
classical steps make that centre and the object's velocity exact where a
learned heat map on a coarse feature grid is only roughly right:

- `centre_on_mass` moves a centre to the intensity centroid of the window
  around it, a few times, so that the window holds the whole object;
- `match_shift` finds the whole-pixel shift at which the glyph best matches
  an earlier frame (least squared difference, over a window of shifts),
  which gives the displacement between the frames, hence the velocity.
"""

import tensorflow as tf

from tfodevideo.layers.glyphs import cut_out

# Squared differences are summed over a glyph: a one-pixel miss of a digit
# costs tens. At temperature 1 the soft minimum is the best shift, with
# neighbours weighing in only where two shifts match about equally well.
MATCH_TEMPERATURE = 1.0


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


def match_shift(image, glyphs, centres, radius):
    """The shift `(B, K, 2)` in pixels from `centres` at which each glyph
    best matches `image`: a soft minimum of the squared difference over the
    whole-pixel shifts up to `radius` in each direction.

    Args:
        image: `(B, H, W, C)`, e.g. the frame before the one the glyphs
            were cut from.
        glyphs: `(B, K, S_h, S_w, C)`.
        centres: `(B, K, 2)` where the glyphs were cut, `(x, y)` in pixels.
        radius: largest shift tried, in pixels.
    """
    steps = tf.range(-radius, radius + 1, dtype=image.dtype)
    shifts = tf.reshape(tf.stack(tf.meshgrid(steps, steps), axis=-1), [-1, 2])  # (N, 2)
    count = shifts.shape[0]
    batch, slots = tf.shape(centres)[0], centres.shape[1]
    tried = tf.reshape(centres[:, :, None] + shifts, [batch, slots * count, 2])
    patches = cut_out(image, tried, glyphs.shape[2:4])
    patches = tf.reshape(patches, [batch, slots, count, *glyphs.shape[2:]])
    cost = tf.reduce_sum(tf.square(patches - glyphs[:, :, None]), axis=[-3, -2, -1])
    weights = tf.nn.softmax(-cost / MATCH_TEMPERATURE, axis=-1)  # (B, K, N)
    return tf.einsum("bkn,nc->bkc", weights, shifts)
