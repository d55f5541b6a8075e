"""Following a cut-out glyph between frames: centring it and matching it.

The cut-out slots of `StackedHead(slot_appearance="cutout")` read each
object's look as the pixels around its centre in an input frame (the last,
or the clearest). Classical steps make that centre and the object's
velocity exact where a learned heat map on a coarse feature grid is only
roughly right:

- `centre_on_mass` moves a centre to the intensity centroid of the window
  around it, a few times, so that the window holds the whole object;
- `match_shift` finds the shift at which the glyph best matches an earlier
  frame (least squared difference over a window of whole-pixel shifts,
  refined to a fraction of a pixel), and `track_from` follows the glyph
  through every other input frame: the displacements give the velocity;
- with several objects, `clearest_frame` picks the input frame to cut them
  from: one where they stand apart, not one where they touch;
- `fit_last_run` (a least-squares line) or `fit_lattice` (every motion the
  whole-pixel positions allow) turn the track into a position and a
  velocity.
"""

import math

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


def pixel_grid(image):
    """`(H, W, 2)`: the `(x, y)` = (column, row) of each pixel of `image`
    `(B, H, W, C)`."""
    shape = tf.shape(image)
    rows = tf.range(shape[1], dtype=image.dtype)
    cols = tf.range(shape[2], dtype=image.dtype)
    return tf.stack(tf.meshgrid(cols, rows), axis=-1)


def frame_centroid(image, fallback):
    """The intensity centroid `(B, 1, 2)` of each image `(B, H, W, C)` in
    pixels, or `fallback` `(B, 1, 2)` where an image is blank."""
    mass = tf.reduce_sum(image, axis=-1)
    total = tf.reduce_sum(mass, axis=[1, 2])
    moment = tf.reduce_sum(mass[..., None] * pixel_grid(image), axis=[1, 2])  # (B, 2)
    centroid = tf.math.divide_no_nan(moment, total[:, None])[:, None]
    return tf.where((total > 0)[:, None, None], centroid, fallback)


def find_objects(image, num_objects, fallback, iterations=8):
    """Where `num_objects` objects are in each image `(B, H, W, C)`: the
    centres `(B, num_objects, 2)` in pixels of a k-means clustering of the
    pixel positions weighted by intensity, or `fallback` where an image is
    blank; one object is the frame's centroid.

    The clusters grow by splitting: the widest one is cut in two along its
    principal axis (its centre +- one standard deviation), then a few rounds
    of k-means settle all of them; no random start, so the answer is the
    same every call. Objects that overlap come out as one cluster's halves.
    """
    centres = frame_centroid(image, fallback[:, :1])
    if num_objects == 1:
        return centres
    grid = tf.reshape(pixel_grid(image), [-1, 2])  # (N, 2) = (x, y).
    weight = tf.reshape(tf.reduce_sum(image, axis=-1), [tf.shape(image)[0], -1, 1])  # (B, N, 1)

    def clusters(centres, count):
        """Each pixel's nearest of `count` centres, as weights `(B, N, k)`,
        the clusters' totals `(B, k, 1)` and means `(B, k, 2)`."""
        # Static sizes: under a serving signature's unknown batch the
        # centres' count is not static either.
        centres = tf.ensure_shape(centres, [None, count, 2])
        distance = tf.reduce_sum(tf.square(grid[None, :, None] - centres[:, None]), axis=-1)
        member = weight * tf.one_hot(tf.argmin(distance, axis=-1), count, dtype=image.dtype)
        total = tf.reduce_sum(member, axis=1)[..., None]
        means = tf.math.divide_no_nan(tf.einsum("bnk,nc->bkc", member, grid), total)
        return member, total, tf.where(total > 0, means, centres)  # An empty one stays put.

    for count in range(1, num_objects):
        member, total, means = clusters(centres, count)
        offsets = grid[None, :, None] - means[:, None]  # (B, N, k, 2)
        covariance = tf.math.divide_no_nan(
            tf.einsum("bnk,bnkc,bnkd->bkcd", member, offsets, offsets), total[..., None])
        a, b, c = covariance[..., 0, 0], covariance[..., 0, 1], covariance[..., 1, 1]
        widest = tf.argmax(a + c, axis=-1, output_type=tf.int32)  # (B,)
        pick = lambda values: tf.gather(values, widest, batch_dims=1)  # noqa: E731
        a, b, c, mean = pick(a), pick(b), pick(c), pick(means)
        angle = 0.5 * tf.atan2(2.0 * b, a - c)
        spread = tf.sqrt(tf.maximum(
            0.5 * (a + c) + tf.sqrt(tf.square(0.5 * (a - c)) + tf.square(b)), 0.0))
        step = (spread[:, None] * tf.stack([tf.cos(angle), tf.sin(angle)], axis=-1))[:, None]
        chosen = tf.one_hot(widest, count, dtype=image.dtype)[..., None]
        centres = tf.concat([means + chosen * step, mean[:, None] - step], axis=1)
        for _ in range(iterations):
            centres = clusters(centres, count + 1)[2]
    blank = tf.reduce_sum(weight, axis=[1, 2]) <= 0
    return tf.where(blank[:, None, None], fallback, centres)


def nearest_masks(image, centres):
    """`(B, K, H, W, 1)`: 1 where a pixel of `image` `(B, H, W, C)` is nearer
    to centre `k` of `centres` `(B, K, 2)` than to the others, else 0."""
    distance = tf.reduce_sum(
        tf.square(pixel_grid(image)[None, None] - centres[:, :, None, None]),
        axis=-1)  # (B, K, H, W)
    nearest = tf.one_hot(tf.argmin(distance, axis=1), tf.shape(centres)[1], axis=1,
                         dtype=image.dtype)
    return nearest[..., None]


def cut_out_each(image, masks, centres, size):
    """`cut_out` of `image` `(B, H, W, C)` around each centre `(B, K, 2)`, each
    from the image under its own mask `(B, K, H, W, 1)`: `(B, K, S_h, S_w, C)`."""
    shape = tf.shape(image)
    count = tf.shape(centres)[1]
    masked = tf.reshape(image[:, None] * masks,
                        tf.concat([[shape[0] * count], shape[1:]], axis=0))
    patches = cut_out(masked, tf.reshape(centres, [-1, 1, 2]), size)
    return tf.reshape(patches, [shape[0], count, *size, image.shape[-1]])


def match_shift(image, glyphs, centres, radius, refine=True):
    """The shift `(B, K, 2)` in pixels from `centres` at which each glyph
    best matches `image`: the whole-pixel shift up to `radius` in each
    direction with the least squared difference, refined (`refine`) to a
    fraction of a pixel by a parabola through it and its neighbours along
    each axis. Objects drawn at whole pixels move by whole pixels: there
    the parabola only adds noise of a quarter pixel, so `refine=False`.

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
    padded = tf.reshape(padded, [batch, slots, (side + 2) * (side + 2)])

    def at(dr, dc):
        # One gather op (gather_nd with batch axes traces into dozens).
        index = (row + 1 + dr) * (side + 2) + col + 1 + dc
        return tf.gather(padded, index[..., None], batch_dims=2)[..., 0]

    def vertex(low, mid, high):
        # Offset of a parabola's minimum through (-1, low), (0, mid), (1, high);
        # none at the edge of the window (an infinite neighbour) or on a flat cost.
        curvature = low - 2.0 * mid + high
        usable = tf.math.is_finite(curvature) & (curvature > 0)
        offset = tf.where(usable, 0.5 * (low - high) / tf.where(usable, curvature, 1.0), 0.0)
        return tf.clip_by_value(offset, -0.5, 0.5)

    x, y = tf.cast(col - radius, image.dtype), tf.cast(row - radius, image.dtype)
    if refine:
        centre = at(0, 0)
        x += vertex(at(0, -1), centre, at(0, 1))
        y += vertex(at(-1, 0), centre, at(1, 0))
    return tf.stop_gradient(tf.stack([x, y], axis=-1))


# Centres this far apart, in pixels, leave each object's cut-out whole: a
# Moving MNIST digit's strokes span about 20 pixels. On 256 two-digit
# validation clips 20, 24 and 28 gave 73.2, 72.6 and 72.7 mse_frame.
CLEAR = 24.0


def clearest_frame(frames, num_objects, fallback):
    """Per clip, the input frame to cut the objects from: the latest one in
    which they stand furthest apart, and their centres there.

    Objects that touch in a frame come out of `find_objects` as one blob's
    halves, and each half's cut-out as a piece of both; a frame where they
    stand apart gives each its whole look. Any frame whose closest two
    centres are `CLEAR` pixels apart counts as apart, so the latest such
    frame is taken; with none, the one where they are furthest apart.

    Args:
        frames: `(B, N, H, W, C)` input frames.
        num_objects: objects per frame (at least 2).
        fallback: `(B, num_objects, 2)` centres for a blank frame.

    Returns:
        `(index, centres)`: the frame `(B,)` int32 and the objects' centres
        `(B, num_objects, 2)` in it, in pixels.
    """
    shape = tf.shape(frames)
    count = frames.shape[1]
    flat = tf.reshape(frames, tf.concat([[shape[0] * count], shape[2:]], axis=0))
    repeated = tf.repeat(fallback, count, axis=0)
    centres = tf.reshape(find_objects(flat, num_objects, repeated),
                         [shape[0], count, num_objects, 2])
    gaps = tf.norm(centres[:, :, :, None] - centres[:, :, None], axis=-1)  # (B, N, K, K)
    gaps = tf.where(tf.eye(num_objects, dtype=tf.bool), float("inf"), gaps)  # Not itself.
    apart = tf.reduce_min(gaps, axis=[-2, -1])  # (B, N)
    enough = tf.minimum(tf.reduce_max(apart, axis=1, keepdims=True), CLEAR)
    latest = tf.argmax(tf.cast(tf.reverse(apart >= enough, axis=[1]), tf.int32), axis=1,
                       output_type=tf.int32)
    index = count - 1 - latest
    return index, tf.gather(centres, index, batch_dims=1)


def track_from(frames, glyphs, anchor, centres, radius, refine=True):
    """Where the glyphs cut from frame `anchor` are in every input frame.

    Follows them forward to the last frame, then back from the anchor to
    the first, one frame at a time, each search centred where the previous
    one found them, so that a bounce between frames (a sudden turn) does
    not throw the search off.

    Args:
        frames: `(B, N, H, W, C)`.
        glyphs: `(B, K, S_h, S_w, C)` cut from frame `anchor` of each clip.
        anchor: `(B,)` int32, the frame the glyphs were cut from.
        centres: `(B, K, 2)` where they were cut, in pixels.
        radius: largest move between two frames, in pixels.
        refine: sub-pixel shifts (see `match_shift`).

    Returns:
        `(B, N, K, 2)`: the centres in every frame, oldest first.
    """
    count = frames.shape[1]
    place = lambda index: tf.one_hot(index, count, dtype=centres.dtype)[:, :, None, None]  # noqa: E731
    track = place(anchor) * centres[:, None]
    ahead = count - 1 - anchor  # Steps forward; the other steps go back.
    position = centres
    for step in range(1, count):
        forward = step <= ahead
        back = step - ahead  # 1, 2, ... once the forward steps are done.
        index = tf.where(forward, anchor + step, anchor - back)
        # The first step back starts from the anchor, not from the last frame.
        start = tf.where((back == 1)[:, None, None], centres, position)
        frame = tf.gather(frames, index, batch_dims=1)
        position = start + match_shift(frame, glyphs, start, radius, refine)
        track += place(index) * position[:, None]
    return track


# Moves shorter than this between two frames, in pixels, have no direction:
# an axis a digit crosses slowly shows whole-pixel steps of 0 and 1.
STILL = 0.5


def _line_runs(newest_first):
    """Frames `(B, K, N, 2)` on the line since the last turn (1) or not (0),
    newest first (see `fit_last_run`)."""
    steps = newest_first[:, :-1] - newest_first[:, 1:]  # Step into frame K-1-j, j = 0...
    moving = tf.abs(steps) > STILL
    direction = tf.sign(steps) * tf.cast(moving, steps.dtype)
    # The latest direction: that of the newest step that moves.
    first = tf.argmax(tf.cast(moving, tf.int32), axis=1, output_type=tf.int32)
    latest = tf.gather(tf.transpose(direction, [0, 2, 3, 1]), first[..., None],
                       batch_dims=3)[..., 0][:, None]
    turned = tf.cast(direction * latest < 0, steps.dtype)
    # A frame is on the line when no step between it and the newest turned.
    return tf.concat([tf.ones_like(turned[:, :1]), tf.math.cumprod(1.0 - turned, axis=1)],
                     axis=1)


def fit_last_run(track, times):
    """Position and velocity of each object now, from its straight line
    since it last turned.

    Objects that bounce move straight between walls; each coordinate turns
    when its step changes sign. Per object and axis, the frames since the
    last turn (the latest frame and, going back, every frame until a step
    against the latest direction) get a least-squares line in time. Where
    positions are whole pixels (Moving MNIST truncates them) ten frames pin
    the velocity to a few hundredths of a pixel per frame, where the last
    step alone is off by up to one pixel; with two frames it is the last
    step.

    Args:
        track: `(B, K, N, 2)` centres of N objects in K frames, oldest first.
        times: `(B, K)` the frames' times, increasing.

    Returns:
        `(position, velocity)`, each `(B, N, 2)`: the line's value at the
        last time and its slope.
    """
    newest_first = tf.reverse(track, axis=[1])
    age = (tf.reverse(times, axis=[1]) - times[:, -1:])[:, :, None, None]  # 0, then < 0.
    on_line = _line_runs(newest_first)
    weight = tf.reduce_sum(on_line, axis=1)
    mean_age = tf.reduce_sum(on_line * age, axis=1) / weight
    mean_position = tf.reduce_sum(on_line * newest_first, axis=1) / weight
    spread = age - mean_age[:, None]
    velocity = tf.math.divide_no_nan(
        tf.reduce_sum(on_line * spread * (newest_first - mean_position[:, None]), axis=1),
        tf.reduce_sum(on_line * tf.square(spread), axis=1))
    return mean_position - velocity * mean_age, velocity


# The lattice fit's grids: velocities up to this many pixels per frame (a
# tracker following shifts up to `MATCH_RADIUS` sees no faster object) in
# `LATTICE_STEPS` values (0.01 pixel per frame apart), directions in
# `LATTICE_ANGLES` (a 1/8 degree: 0.008 pixels per frame at 3.6).
LATTICE_SPEED = 6.0
LATTICE_STEPS = 1201
LATTICE_ANGLES = 2880
# A position that starts on a wall has no fraction of a pixel; this much is
# allowed, so that the constraint still has an inside.
ON_WALL = 1e-3


def _fraction_bounds(shift, age, active, velocity, on_wall):
    """Bounds `(lo, hi)` on the fraction of a pixel `f` at a reference frame
    such that `floor(f + age * velocity) = shift` in every active frame.

    `shift`, `age`, `active`: `(..., K)`; `velocity`: `(..., G)`; `on_wall`:
    `(...)` whether `f` is 0. Returns `(..., G)` each."""
    moved = age[..., None, :] * velocity[..., :, None]  # (..., G, K)
    big = tf.constant(1e9, shift.dtype)
    on = active[..., None, :] > 0.5
    lo = tf.reduce_max(tf.where(on, shift[..., None, :] - moved, -big), axis=-1)
    hi = tf.reduce_min(tf.where(on, shift[..., None, :] + 1.0 - moved, big), axis=-1)
    cap = tf.where(on_wall, ON_WALL, 1.0)[..., None]
    return tf.maximum(lo, 0.0), tf.minimum(hi, cap)


def lattice_runs(track, times):
    """The first half of `fit_lattice`, for a caller that needs the objects'
    own velocities before it fits them at a common speed.

    Args:
        track, times: as `fit_lattice`.

    Returns:
        A dict for `fit_lattice(runs=...)`; its `velocity` `(B, N, 2)` is
        each object's own velocity in pixels per unit time (`fit_last_run`'s
        line where no run of whole pixels is explained).
    """
    dtype = track.dtype
    count = track.shape[1]
    newest_first = tf.transpose(tf.reverse(track, axis=[1]), [0, 2, 3, 1])  # (B, N, 2, K)
    age = tf.reverse(times, axis=[1]) - times[:, -1:]  # (B, K): 0, then < 0.
    on_line = tf.transpose(_line_runs(tf.reverse(track, axis=[1])), [0, 2, 3, 1])
    length = tf.reduce_sum(on_line, axis=-1)  # (B, N, 2)
    turned = length < count
    # Candidates: a reference frame r (newest first, 1..K-1) and whether it
    # stands on a wall: the oldest frame of the run does after a turn, or the
    # one after it (a step into the wall that truncates to no move at all
    # leaves the frame before on the run).
    refs = tf.range(1, count, dtype=dtype)  # (R,)
    frame = tf.range(count, dtype=dtype)
    ref_shift = tf.gather(newest_first, tf.range(1, count), axis=-1)  # (B, N, 2, R)
    ref_age = tf.gather(age, tf.range(1, count), axis=-1)  # (B, R)
    shift = newest_first[..., None, :] - ref_shift[..., :, None]  # (B, N, 2, R, K)
    rel_age = (age[:, None, :] - ref_age[:, :, None])[:, None, None]  # (B, 1, 1, R, K)
    rel_age = tf.broadcast_to(rel_age, tf.shape(shift))
    active = tf.cast(frame[None, :] <= refs[:, None], dtype)  # (R, K)
    active = tf.broadcast_to(active, tf.shape(shift))
    gap = tf.reduce_max(times[:, 1:] - times[:, :-1], axis=-1)  # (B,)
    grid = tf.linspace(tf.constant(-LATTICE_SPEED, dtype), LATTICE_SPEED, LATTICE_STEPS)
    velocities = grid[None] / gap[:, None]  # (B, G): pixels per unit time.
    velocities = tf.broadcast_to(velocities[:, None, None, None], tf.concat(
        [tf.shape(shift)[:-1], [LATTICE_STEPS]], axis=0))
    widths = []
    for on_wall in (False, True):
        lo, hi = _fraction_bounds(shift, rel_age, active, velocities,
                                  tf.fill(tf.shape(shift)[:-1], on_wall))
        widths.append(tf.nn.relu(hi - lo))
    width = tf.stack(widths, axis=-2)  # (B, N, 2, R, 2, G)
    feasible = tf.reduce_any(width > 0, axis=-1)
    last = length[..., None] - 1.0  # Oldest frame of the run.
    valid_free = refs <= last
    valid_wall = valid_free & turned[..., None] & (refs >= last - 1.0)
    valid = tf.stack([valid_free, valid_wall], axis=-1)
    priority = 2.0 * refs[:, None] + tf.constant([0.0, 1.0], dtype)
    score = tf.where(valid & feasible, priority, -1.0)
    flat_score = tf.reshape(score, tf.concat([tf.shape(score)[:3], [-1]], axis=0))
    best = tf.argmax(flat_score, axis=-1, output_type=tf.int32)  # (B, N, 2)
    found = tf.reduce_max(flat_score, axis=-1) >= 0
    ref_index, wall_index = best // 2, best % 2

    def pick(values):  # (B, N, 2, R, ...) -> (B, N, 2, ...)
        return tf.gather(values, ref_index, axis=3, batch_dims=3)

    chosen_width = tf.gather(pick(width), wall_index, axis=3, batch_dims=3)  # (B, N, 2, G)
    line_velocity = tf.math.divide_no_nan(
        tf.reduce_sum(chosen_width * velocities[..., 0, :], axis=-1),
        tf.reduce_sum(chosen_width, axis=-1))
    line_position, line_slope = fit_last_run(track, times)
    return {
        "shift": pick(shift), "age": pick(rel_age), "active": pick(active),
        "on_wall": wall_index > 0, "found": found, "lattice_velocity": line_velocity,
        "start": tf.gather(newest_first, ref_index + 1, axis=3, batch_dims=3),
        "since": -tf.gather(age, ref_index + 1, batch_dims=1),  # Now - reference.
        "line_position": line_position, "line_slope": line_slope,
        "velocity": tf.where(found, line_velocity, line_slope),
    }


def fit_lattice(track, times, speed=None, runs=None, hypotheses=None):
    """Position and velocity of objects drawn at whole pixels, from every
    straight motion their whole-pixel positions allow.

    A generator that truncates positions to whole pixels (Moving MNIST) draws
    an object moving at `v` pixels per frame at `floor(x0 + v * t)`: the
    whole-pixel track since its last turn does not give a line but a set of
    lines, those `(f, v)` (`f` the fraction of a pixel at the oldest frame
    of the run) with `floor(f + v * t_j) = shift_j` in every frame. The set
    is convex; its centroid is the estimate (`fit_last_run`'s least squares
    weigh every whole-pixel error alike and are off by several times more).
    Where the run starts with a turn the object stood on a wall (a generator
    that stops objects on a wall, `ReflectingWalls(rule="clamp")`): there
    `f` is 0. A run that no line explains (a track thrown off by another
    object) loses its oldest frames until one does; with none, the axis
    keeps `fit_last_run`'s line. With `speed` (every object moves at that
    speed), the direction is the centroid of the directions both axes
    allow at once, where there are any.

    With `speed` and `hypotheses=H`, each object gets `H` directions
    instead of one: the middles of `H` slices of equal weight of the
    directions the pixels allow (each direction weighs by the fractions of
    a pixel it leaves open, as the centroid does), so that drawing the
    object once at each and averaging draws the mean picture of every
    motion the input frames allow. Two frames leave an arc of directions
    open; one direction at its centroid (plus a round blur) draws the
    object where the arc's ends are not.

    Args:
        track: `(B, K, N, 2)` whole-pixel centres of N objects in K frames,
            oldest first (shifts between frames are whole pixels).
        times: `(B, K)` the frames' times, increasing.
        speed: None or a scalar: the objects' common speed, in pixels per
            unit time (0: not known yet, as None).
        runs: `lattice_runs(track, times)`, where the caller has it already.
        hypotheses: None, or the number of directions per object (needs
            `speed`); where the pixels allow none, every hypothesis is the
            single fit.

    Returns:
        `(position, velocity)`, each `(B, N, 2)` (with `hypotheses`,
        `(B, N, H, 2)`): at the last time, the position that draws at the
        right whole pixel when rounded (`f - 1/2` past the whole pixel) and
        the velocity in pixels per unit time.
    """
    runs = lattice_runs(track, times) if runs is None else runs
    dtype = track.dtype
    line_velocity = runs["lattice_velocity"]
    velocity = line_velocity
    if hypotheses is not None and speed is None:
        raise ValueError("`hypotheses` are directions at the common speed: pass `speed`. "
                         f"Received: hypotheses={hypotheses}, speed=None")
    if speed is not None:
        speed = tf.cast(speed, dtype)
        weight, unit, allowed = _direction_weights(runs, speed)
        if hypotheses is None:
            direction = tf.math.l2_normalize(tf.einsum("bna,ac->bnc", weight, unit), axis=-1)
        else:
            direction = _direction_slices(weight, unit, hypotheses)  # (B, N, H, 2)
            allowed, line_velocity = allowed[..., None], line_velocity[..., None, :]
        velocity = tf.where(allowed, speed * direction, line_velocity)
    if hypotheses is not None:
        # Each hypothesis as an object of its own for the position below.
        runs = {key: _repeat_objects(value, hypotheses) if key in _PER_OBJECT else value
                for key, value in runs.items()}
        shape = tf.shape(velocity)
        position, velocity = _position_at(runs, tf.reshape(velocity, [shape[0], -1, 2]))
        return tf.reshape(position, shape), tf.reshape(velocity, shape)
    return _position_at(runs, velocity)


# The entries of `lattice_runs` that hold values per object (axis 1).
_PER_OBJECT = ("shift", "age", "active", "on_wall", "found", "start", "since",
               "line_position", "line_slope")


def _repeat_objects(value, count):
    """`(B, N, ...)` -> `(B, N * count, ...)`, each object `count` times in a row."""
    return tf.repeat(value, count, axis=1)


def _direction_weights(runs, speed):
    """Every direction at `speed`, weighed by the fractions of a pixel both
    axes leave open at its components: `(weight (B, N, A), unit (A, 2),
    allowed (B, N, 1))`, `allowed` where some direction fits."""
    shift, age, active, on_wall = runs["shift"], runs["age"], runs["active"], runs["on_wall"]
    dtype = shift.dtype
    angles = tf.linspace(tf.constant(0.0, dtype), 2.0 * math.pi, LATTICE_ANGLES + 1)[:-1]
    unit = tf.stack([tf.cos(angles), tf.sin(angles)], axis=-1)  # (A, 2)
    components = tf.broadcast_to(speed * tf.transpose(unit), tf.concat(
        [tf.shape(shift)[:-1], [LATTICE_ANGLES]], axis=0))
    lo, hi = _fraction_bounds(shift, age, active, components, on_wall)
    weight = tf.reduce_prod(tf.nn.relu(hi - lo), axis=2)  # (B, N, A)
    allowed = ((tf.reduce_sum(weight, axis=-1, keepdims=True) > 0)
               & tf.reduce_all(runs["found"], axis=-1, keepdims=True) & (speed > 0))
    return weight, unit, allowed


def _direction_slices(weight, unit, count):
    """The middles of `count` slices of equal weight of the directions,
    `(B, N, count, 2)` unit vectors.

    The directions a track allows form one arc; read from the direction
    opposite their centroid it does not wrap past the angle grid's start.
    """
    angles = weight.shape[-1]
    centroid = tf.einsum("bna,ac->bnc", weight, unit)
    heading = tf.math.atan2(centroid[..., 1], centroid[..., 0])  # (B, N)
    start = tf.cast(tf.round((heading + math.pi) / (2.0 * math.pi) * angles), tf.int32)
    order = (start[..., None] + tf.range(angles)) % angles  # (B, N, A)
    mass = tf.cumsum(tf.gather(weight, order, batch_dims=2), axis=-1)
    total = tf.maximum(mass[..., -1:], 1e-30)
    middles = (tf.range(count, dtype=weight.dtype) + 0.5) / count  # (H,)
    # The first grid direction whose running weight reaches each middle.
    index = tf.searchsorted(mass / total, tf.broadcast_to(
        middles, tf.concat([tf.shape(mass)[:-1], [count]], axis=0)))
    index = tf.minimum(index, angles - 1)
    return tf.gather(unit, tf.gather(order, index, batch_dims=2))


def _position_at(runs, velocity):
    """The position now of objects moving at `velocity` `(B, N, 2)`: the
    middle of the fractions of a pixel the run allows at that velocity,
    carried from the reference frame; `fit_last_run`'s line where no run
    was found."""
    lo, hi = _fraction_bounds(runs["shift"], runs["age"], runs["active"],
                              velocity[..., None], runs["on_wall"])
    fraction = 0.5 * (lo[..., 0] + tf.maximum(hi[..., 0], lo[..., 0]))
    position = runs["start"] + fraction + runs["since"] * velocity - 0.5
    found = runs["found"]
    return (tf.where(found, position, runs["line_position"]),
            tf.where(found, velocity, runs["line_slope"]))
