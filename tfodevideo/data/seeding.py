"""Stateless random seeds keyed by a data set seed and an element index.

Every generator in `tfodevideo.data` draws its randomness from
`tf.random.stateless_*` ops whose seed is `(seed, index)`. Element `i` of a data
set is therefore the same whatever the batch size, the number of parallel calls
or the `tf.distribute` sharding that produced it.
"""

import tensorflow as tf


def element_seed(seed, index):
    """Returns the stateless seed, shape `(2,)` int64, of element `index`."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])


def split_seed(seed, num):
    """Splits a stateless seed into `num` independent seeds, a list of `(2,)`."""
    return tf.unstack(tf.random.experimental.stateless_split(seed, num))


def clip_and_grid_seeds(seed, index):
    """The two seeds of element `index`: one for its clip, one for its time grid.

    Every path that makes clip `index` of stream `seed` (the pipelines and
    `VideoSource.generate`) derives its seeds here, so they agree.
    """
    return split_seed(element_seed(seed, index), 2)
