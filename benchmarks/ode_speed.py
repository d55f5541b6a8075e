"""Cost of the Neural ODE layer: wall time and field evaluations.

For a latent state of 64 values and a batch of 32 (an `MLPField` of two
hidden layers of 128 units): forward and forward+backward cost of `dopri5`
at rtol 1e-3 and 1e-5 and of `rk4`, then the cost of asking for 10, 100 and
1000 query times over the same span. Calls run inside `tf.function`, as in
`model.fit`. Evaluations are counted by a wrapper field with a counter, so
the adjoint's evaluations in the backward pass are counted too.

    python -m benchmarks.ode_speed            # the recorded figures
    python -m benchmarks.ode_speed --small    # a quick check (tests)
"""

import argparse
import sys

import keras
import tensorflow as tf

from benchmarks import common
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE


class CountingField(keras.layers.Layer):
    """Wraps a field and counts its evaluations in a variable."""

    def __init__(self, field, **kwargs):
        super().__init__(**kwargs)
        self.field = field
        self.count = tf.Variable(0, dtype=tf.int64, trainable=False)

    def build(self, y_shape):
        self.field.build(y_shape)

    def call(self, t, y):
        self.count.assign_add(1)
        return self.field(t, y)


def measure(method, rtol, num_times, knots, state_size, batch, units, repeats):
    """Median seconds and evaluations of one forward and forward+backward."""
    keras.utils.set_random_seed(0)
    counter = CountingField(MLPField(units, depth=2))
    ode = NeuralODE(
        counter,
        method=method,
        rtol=rtol,
        atol=rtol * 1e-3,
        # The benchmark calls the layer outside training; without these it
        # would solve at the layer's inference tolerances, not at `rtol`.
        inference_rtol=None,
        inference_atol=None,
        step_size=0.05,
        max_solution_times=knots,
    )
    y0 = tf.random.normal((batch, state_size)) * 0.5
    times = tf.linspace(0.0, 1.0, num_times + 1)[1:]
    ode(y0, times)

    @tf.function
    def forward():
        return ode(y0, times)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(ode(y0, times)))
        return tape.gradient(loss, ode.trainable_variables)

    result = {"method": method, "rtol": rtol if method == "dopri5" else None,
              "query_times": num_times, "max_solution_times": knots}
    for name, fn in (("forward", forward), ("forward_backward", forward_backward)):
        fn()
        counter.count.assign(0)
        fn()
        result[f"{name}_nfe"] = int(counter.count.numpy())
        result[f"{name}_ms"] = round(1e3 * common.median_seconds(fn, repeats), 2)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.small:
        args.state_size, args.batch, args.units, args.repeats = 4, 2, 8, 1
    # Solver settings at 10 query times, then 10 -> 1000 query times solved
    # at every time (None) and at 32 knots with Hermite interpolation.
    many = (100, 1000) if not args.small else (40,)
    settings = [("dopri5", 1e-3, 10, 32), ("dopri5", 1e-5, 10, 32), ("rk4", None, 10, 32)]
    settings += [("dopri5", 1e-3, n, k) for n in many for k in (None, 32)]
    rows = [
        measure(method, rtol or 1e-3, n, k, args.state_size, args.batch, args.units,
                args.repeats)
        for method, rtol, n, k in settings
    ]
    report = {
        "state_size": args.state_size,
        "batch": args.batch,
        "units": args.units,
        **common.machine(),
        "rows": rows,
    }
    for row in rows:
        print(row)
    common.save(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
