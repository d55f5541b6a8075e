"""Argument checks shared by the whole package.

Each check raises a `ValueError` that names the argument and the value received,
before any TensorFlow op runs, so a user sees what to change rather than a shape
error from deep inside a graph.
"""

import numbers


def check_image_size(image_size):
    """`image_size` as an `(H, W)` tuple of positive ints; an int means square."""
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        sizes = tuple(image_size)
    except TypeError:
        sizes = ()
    if len(sizes) != 2:
        raise ValueError(f"`image_size` must be (H, W) or an int. Received: {image_size!r}")
    return tuple(check_int("image_size", size, minimum=1) for size in sizes)


def check_int(name, value, minimum=None, maximum=None):
    """Checks that `value` is an integer in `[minimum, maximum]` and returns it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"`{name}` must be an integer. Received: {name}={value!r}")
    _check_range(name, value, minimum, maximum)
    return int(value)


def check_float(name, value, minimum=None, maximum=None, strict_minimum=False):
    """Checks that `value` is a finite real number in range and returns it.

    `strict_minimum=True` excludes `minimum` itself (for sizes that must be > 0).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value!r}")
    if strict_minimum and minimum is not None and value <= minimum:
        raise ValueError(
            f"`{name}` must be greater than {minimum}. Received: {name}={value!r}"
        )
    _check_range(name, value, minimum, maximum)
    return value


def check_choice(name, value, choices):
    """Checks that `value` is one of `choices` and returns it."""
    if value not in choices:
        raise ValueError(
            f"Unknown `{name}`: {value!r}. Expected one of: "
            f"{', '.join(repr(c) for c in sorted(choices))}"
        )
    return value


def _check_range(name, value, minimum, maximum):
    if minimum is not None and value < minimum:
        raise ValueError(
            f"`{name}` must be at least {minimum}. Received: {name}={value!r}"
        )
    if maximum is not None and value > maximum:
        raise ValueError(
            f"`{name}` must be at most {maximum}. Received: {name}={value!r}"
        )
