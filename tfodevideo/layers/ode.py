"""The Neural ODE layer: integrates a learned vector field to any query times."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_float
from tfodevideo._checks import check_int
from tfodevideo.layers.solvers import dopri5_solve
from tfodevideo.layers.solvers import rk4_solve
from tfodevideo.precision import default_full_precision

METHODS = ("dopri5", "rk4")
_MAX_STEPS_HINT = (
    "The ODE solve exceeded max_num_steps={max_num_steps}: the vector field is "
    "stiff or blowing up. Raise `max_num_steps`, loosen `rtol`/`atol`, lower "
    "the learning rate, or use method='rk4' (fixed steps, never stalls)."
)


@keras.saving.register_keras_serializable(package="tfodevideo")
class NeuralODE(layers.Layer):
    """Integrates `dy/dt = f(t, y)` from an initial state to query times.

    The layer owns plain solver settings and builds the solver in `call`.
    Query times may be shared by the batch `(T,)` or given per sample
    `(batch, T)`, in any order relative to the initial time: times before it
    are reached by integrating backwards (the field is run in reversed time),
    times after it forwards, so interpolation and extrapolation are one call.
    Per-sample grids are merged into one sorted union, solved once, and each
    sample's states gathered back; repeated times are allowed there, while a
    shared grid must be strictly increasing. Times are taken relative to
    `initial_time`: a time-dependent field sees the time since that anchor.

    The solver returns time-first states; this layer transposes them so that
    outputs are batch-first `(batch, T, ...)` like every tensor in tfodevideo.

    The mean number of field evaluations per call is tracked by the metric
    `nfe_tracker` (named `<layer name>_nfe`), so `fit` logs show it.

    Args:
        vector_field: a `tfodevideo.layers.VectorField` layer (e.g. `MLPField`).
        method: `"dopri5"` (adaptive Dormand-Prince through
            `tfp.math.ode.DormandPrince`, adjoint gradients) or `"rk4"`
            (fixed steps, gradients by backpropagation through the steps).
        rtol: relative tolerance of `dopri5` in training.
        atol: absolute tolerance of `dopri5` in training.
        inference_rtol: relative tolerance of `dopri5` outside training
            (the smaller of this and `rtol` is used). Dormand-Prince takes one
            step sequence for the whole batch, chosen from an error norm over
            every sample, so at a loose tolerance a clip's prediction depends
            on the other clips of its batch (on the shipped ball model, by up
            to 6e-3 per pixel at rtol 1e-3; under 1e-4 at 1e-6, which
            `tests/test_requests.py` holds), for more field evaluations of an
            ODE that costs 1-5 % of a prediction (`benchmarks/speed.py`
            reports both as `tolerance_cost`). None: use `rtol`.
        inference_atol: the same for `atol`.
        first_step_size: initial step of `dopri5`.
        max_num_steps: `dopri5` fails with an error beyond this many steps.
        step_size: largest step of `rk4`.
        max_solution_times: when one direction asks for more distinct times
            than this, the solver stops at this many evenly spaced knots and
            every query is interpolated from them by cubic Hermite splines
            (states and field values at the knots, 4th order like TFP's own
            interpolation). TFP's adjoint restarts at every solution time, so
            without this the backward cost grows with the number of query
            times. None always solves at every distinct query time.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        initial_state: `(batch, ...)`, the state at `initial_time`.
        query_times: `(T,)` strictly increasing, or `(batch, T)` with each row
            non-decreasing.
        initial_time: optional scalar or `(batch,)`; 0 by default.

    Returns:
        States at the query times, `(batch, T, ...)`. Gradients reach the
        initial state and the field's weights, not the times.

    Example:

    >>> from tfodevideo.layers import MLPField
    >>> ode = NeuralODE(MLPField(units=16))
    >>> ode(keras.ops.ones((4, 3)), keras.ops.convert_to_tensor([0.5, 1.0])).shape
    TensorShape([4, 2, 3])

    References:
        Chen, Rubanova, Bettencourt and Duvenaud, "Neural Ordinary Differential
        Equations", NeurIPS 2018. Dormand and Prince, "A family of embedded
        Runge-Kutta formulae", J. Comp. Appl. Math. 6 (1980).
    """

    def __init__(
        self,
        vector_field,
        *,
        method="dopri5",
        rtol=1e-3,
        atol=1e-6,
        first_step_size=1e-3,
        max_num_steps=1000,
        step_size=0.05,
        max_solution_times=32,
        inference_rtol=1e-6,
        inference_atol=1e-8,
        **kwargs,
    ):
        # The state stays float32 under a mixed policy (`tfodevideo.precision`).
        super().__init__(**default_full_precision(kwargs))
        if isinstance(vector_field, dict):
            vector_field = keras.saving.deserialize_keras_object(vector_field)
        if not isinstance(vector_field, layers.Layer):
            raise ValueError(
                "`vector_field` must be a Keras layer called as (t, y), such as "
                f"MLPField. Received: vector_field={vector_field!r}"
            )
        self.vector_field = vector_field
        self.method = check_choice("method", method, METHODS)
        self.rtol = check_float("rtol", rtol, minimum=0.0, strict_minimum=True)
        self.atol = check_float("atol", atol, minimum=0.0, strict_minimum=True)
        self.first_step_size = check_float(
            "first_step_size", first_step_size, minimum=0.0, strict_minimum=True
        )
        self.inference_rtol = _optional_tolerance("inference_rtol", inference_rtol)
        self.inference_atol = _optional_tolerance("inference_atol", inference_atol)
        self.max_num_steps = check_int("max_num_steps", max_num_steps, minimum=1)
        self.step_size = check_float(
            "step_size", step_size, minimum=0.0, strict_minimum=True
        )
        if max_solution_times is not None:
            max_solution_times = check_int(
                "max_solution_times", max_solution_times, minimum=1
            )
        self.max_solution_times = max_solution_times
        self.nfe_tracker = keras.metrics.Mean(name=f"{self.name}_nfe")
        # Eager calls run the solver loops as a graph: far faster than op by op.
        self._graph_call = tf.function(self._integrate, reduce_retracing=True)

    def build(self, initial_state_shape, query_times_shape=None, initial_time_shape=None):
        if len(initial_state_shape) < 2:
            raise ValueError(
                "`initial_state` must have a batch axis and at least one state "
                f"axis. Received: initial_state shape {initial_state_shape}"
            )
        # A field restored from a saved model arrives already built.
        if not self.vector_field.built:
            self.vector_field.build(initial_state_shape)

    def compute_output_shape(
        self, initial_state_shape, query_times_shape, initial_time_shape=None
    ):
        return (
            (initial_state_shape[0], query_times_shape[-1])
            + tuple(initial_state_shape[1:])
        )

    def tolerances(self, training=False):
        """`(rtol, atol)` of `dopri5`: the training ones, or at inference the
        tighter of those and `inference_rtol` / `inference_atol`."""
        if training:
            return self.rtol, self.atol
        return (
            min(self.rtol, self.inference_rtol or self.rtol),
            min(self.atol, self.inference_atol or self.atol),
        )

    def call(self, initial_state, query_times, initial_time=None, training=None):
        dtype = initial_state.dtype
        query_times = tf.cast(query_times, dtype)
        if initial_time is None:
            initial_time = tf.zeros([], dtype)
        initial_time = tf.cast(initial_time, dtype)
        _check_static(initial_state, query_times, initial_time)
        if not tf.executing_eagerly():
            with tf.control_dependencies(_graph_checks(initial_state, query_times)):
                return self._integrate(
                    initial_state, query_times, initial_time, bool(training)
                )
        _eager_checks(initial_state, query_times, initial_time)
        try:
            return self._graph_call(
                initial_state, query_times, initial_time, bool(training)
            )
        except tf.errors.InvalidArgumentError as error:
            if "max_num_steps exceeded" in str(error):
                raise RuntimeError(
                    _MAX_STEPS_HINT.format(max_num_steps=self.max_num_steps)
                ) from None
            raise

    def _integrate(self, initial_state, query_times, initial_time, training=False):
        # Times relative to each sample's initial time, always (batch, T).
        batch = tf.shape(initial_state)[0]
        query = tf.broadcast_to(query_times, [batch, tf.shape(query_times)[-1]])
        # Gradients flow to the initial state and the field, not to the times.
        relative = tf.stop_gradient(
            query - tf.broadcast_to(initial_time, [batch])[:, None]
        )
        # tf.unique has no gradient; cutting its output keeps autodiff off it.
        union = tf.stop_gradient(tf.unique(tf.sort(tf.reshape(relative, [-1])))[0])
        forward = tf.boolean_mask(union, union > 0)
        backward = -tf.reverse(tf.boolean_mask(union, union < 0), [0])
        nfe = tf.zeros([], tf.int32)
        results = []
        for sign, times in ((1.0, forward), (-1.0, backward)):
            knots, states, derivatives, cost = self._solve_direction(
                initial_state, times, sign, training
            )
            nfe += cost
            results.append(
                _hermite(knots, states, derivatives, tf.maximum(sign * relative, 0.0))
            )
        self.nfe_tracker.update_state(nfe)
        expand = [-1, tf.shape(relative)[1]] + [1] * (initial_state.shape.rank - 1)
        return tf.where(tf.reshape(relative >= 0, expand), results[0], results[1])

    def _solve_direction(self, initial_state, times, sign, training):
        """Solves `dy/ds = sign * f(sign * s, y)` for increasing `times > 0`.

        Returns:
            `(knots, states, derivatives, nfe)`: knot times `(K + 1,)` from 0,
            the states there `(K + 1, batch, ...)`, `dy/ds` there (zeros when
            the knots are the requested times, which need no interpolation),
            and the number of field evaluations.
        """

        def field(s, y):
            # A field may compute in another precision (mixed precision).
            return sign * tf.cast(self.vector_field(sign * s, y), y.dtype)

        knots = times
        dense = tf.constant(False)
        if self.max_solution_times is not None:
            # Many times: solve at evenly spaced knots and interpolate, so the
            # cost (the adjoint's above all) stays flat in the number of times.
            # Only the choice of times is conditional: a tf.cond around TFP's
            # adjoint breaks gradients in graph mode.
            count = self.max_solution_times
            dense = tf.size(times) > count
            knots = tf.cond(
                dense,
                lambda: tf.linspace(times[-1] / count, times[-1], count),
                lambda: times,
            )
        if self.method == "rk4":
            states, nfe = rk4_solve(field, initial_state, knots, self.step_size)
        else:
            # TFP takes no empty list of times; also asking for time 0 costs
            # one step when this direction has no times at all.
            with_start = tf.concat([tf.zeros([1], knots.dtype), knots], 0)
            states, nfe = dopri5_solve(
                field,
                initial_state,
                with_start,
                *self.tolerances(training),
                self.first_step_size,
                self.max_num_steps,
            )
            states = states[1:]
        knots = tf.concat([tf.zeros([1], knots.dtype), knots], 0)
        states = tf.concat([initial_state[None], states], 0)
        nfe = tf.cast(nfe, tf.int32)

        def slopes():
            return tf.map_fn(lambda ks: field(ks[0], ks[1]), (knots, states),
                             fn_output_signature=states.dtype)

        derivatives = tf.cond(dense, slopes, lambda: tf.zeros_like(states))
        nfe += tf.where(dense, tf.size(knots), 0)
        return knots, states, derivatives, nfe

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vector_field": keras.saving.serialize_keras_object(self.vector_field),
                "method": self.method,
                "rtol": self.rtol,
                "atol": self.atol,
                "first_step_size": self.first_step_size,
                "max_num_steps": self.max_num_steps,
                "step_size": self.step_size,
                "max_solution_times": self.max_solution_times,
                "inference_rtol": self.inference_rtol,
                "inference_atol": self.inference_atol,
            }
        )
        return config


def _optional_tolerance(name, value):
    if value is None:
        return None
    return check_float(name, value, minimum=0.0, strict_minimum=True)


def _check_static(initial_state, query_times, initial_time):
    """Rank and batch-size checks that need no values (also at trace time)."""
    if initial_state.shape.rank is not None and initial_state.shape.rank < 2:
        raise ValueError(
            "`initial_state` must be (batch, ...). Received: shape "
            f"{initial_state.shape}"
        )
    if query_times.shape.rank not in (1, 2):
        raise ValueError(
            "`query_times` must be (T,) shared by the batch or (batch, T). "
            f"Received: shape {query_times.shape}"
        )
    if initial_time.shape.rank not in (0, 1):
        raise ValueError(
            "`initial_time` must be a scalar or (batch,). Received: shape "
            f"{initial_time.shape}"
        )
    batch = initial_state.shape[0]
    rows = {}
    if query_times.shape.rank == 2:
        rows["query_times"] = query_times.shape
    if initial_time.shape.rank == 1:
        rows["initial_time"] = initial_time.shape
    for name, shape in rows.items():
        if batch is not None and shape[0] is not None and shape[0] != batch:
            raise ValueError(
                f"`{name}` has {shape[0]} rows but `initial_state` has a batch "
                f"of {batch}. Received: {name} shape {shape}"
            )


def _eager_checks(initial_state, query_times, initial_time):
    """Value checks with the values in the message, before the solver runs."""
    times = query_times.numpy()
    for name, values in (("query_times", times), ("initial_time", initial_time.numpy())):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`{name}` must be finite. Received: {values}")
    if times.ndim == 1 and np.any(np.diff(times) <= 0):
        raise ValueError(
            f"`query_times` must be strictly increasing. Received: {times}"
        )
    if times.ndim == 2 and np.any(np.diff(times, axis=-1) < 0):
        raise ValueError(
            "Each row of `query_times` must be non-decreasing. Received: "
            f"{times}"
        )


def _graph_checks(initial_state, query_times):
    """The same checks as graph assertions (InvalidArgumentError with our text)."""
    steps = query_times[..., 1:] - query_times[..., :-1]
    checks = [
        tf.debugging.assert_all_finite(query_times, "`query_times` must be finite."),
    ]
    if query_times.shape.rank == 1:
        checks.append(
            tf.debugging.assert_positive(
                steps, message="`query_times` must be strictly increasing."
            )
        )
    else:
        checks.append(
            tf.debugging.assert_non_negative(
                steps, message="Each row of `query_times` must be non-decreasing."
            )
        )
        checks.append(
            tf.debugging.assert_equal(
                tf.shape(query_times)[0],
                tf.shape(initial_state)[0],
                message="`query_times` rows must match the batch of `initial_state`.",
            )
        )
    return checks


def _hermite(knots, states, derivatives, times):
    """Cubic Hermite interpolation of solver output at query times.

    Args:
        knots: increasing times `(K,)` starting at 0.
        states, derivatives: `(K, batch, ...)` at the knots.
        times: `(batch, T)` query times `>= 0`; a time equal to a knot gets
            that knot's state exactly.

    Returns:
        `(batch, T, ...)`.
    """
    last = tf.shape(knots)[0] - 1
    # Interval [k, k + 1] holding each time; a time on the last knot uses the
    # interval before it with weight 1 on its right end.
    left = tf.clip_by_value(
        tf.searchsorted(knots, tf.reshape(times, [-1]), side="right") - 1,
        0,
        tf.maximum(last - 1, 0),
    )
    right = tf.minimum(left + 1, last)
    left, right = tf.reshape(left, tf.shape(times)), tf.reshape(right, tf.shape(times))
    batch_first = [1, 0] + list(range(2, states.shape.rank))

    def take(values, index):
        return tf.gather(tf.transpose(values, batch_first), index, axis=1, batch_dims=1)

    t0, t1 = tf.gather(knots, left), tf.gather(knots, right)
    width = t1 - t0
    s = tf.math.divide_no_nan(times - t0, width)
    s = tf.where(width > 0, s, tf.zeros_like(s))
    shape = tf.concat([tf.shape(times), tf.ones([states.shape.rank - 2], tf.int32)], 0)
    s, width = tf.reshape(s, shape), tf.reshape(width, shape)
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * take(states, left)
        + (s3 - 2 * s2 + s) * width * take(derivatives, left)
        + (-2 * s3 + 3 * s2) * take(states, right)
        + (s3 - s2) * width * take(derivatives, right)
    )
