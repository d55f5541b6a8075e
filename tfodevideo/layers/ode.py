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
        rtol: relative tolerance of `dopri5`.
        atol: absolute tolerance of `dopri5`.
        first_step_size: initial step of `dopri5`.
        max_num_steps: `dopri5` fails with an error beyond this many steps.
        step_size: largest step of `rk4`.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        initial_state: `(batch, ...)`, the state at `initial_time`.
        query_times: `(T,)` strictly increasing, or `(batch, T)` with each row
            non-decreasing.
        initial_time: optional scalar or `(batch,)`; 0 by default.

    Returns:
        States at the query times, `(batch, T, ...)`.

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
        method="dopri5",
        rtol=1e-3,
        atol=1e-6,
        first_step_size=1e-3,
        max_num_steps=1000,
        step_size=0.05,
        **kwargs,
    ):
        super().__init__(**kwargs)
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
        self.max_num_steps = check_int("max_num_steps", max_num_steps, minimum=1)
        self.step_size = check_float(
            "step_size", step_size, minimum=0.0, strict_minimum=True
        )
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

    def call(self, initial_state, query_times, initial_time=None):
        dtype = initial_state.dtype
        query_times = tf.cast(query_times, dtype)
        if initial_time is None:
            initial_time = tf.zeros([], dtype)
        initial_time = tf.cast(initial_time, dtype)
        _check_static(initial_state, query_times, initial_time)
        if not tf.executing_eagerly():
            with tf.control_dependencies(_graph_checks(initial_state, query_times)):
                return self._integrate(initial_state, query_times, initial_time)
        _eager_checks(initial_state, query_times, initial_time)
        try:
            return self._graph_call(initial_state, query_times, initial_time)
        except tf.errors.InvalidArgumentError as error:
            if "max_num_steps exceeded" in str(error):
                raise RuntimeError(
                    _MAX_STEPS_HINT.format(max_num_steps=self.max_num_steps)
                ) from None
            raise

    def _integrate(self, initial_state, query_times, initial_time):
        # Relative times: shared (T,) when both times are shared, else (B, T).
        if query_times.shape.rank == 1 and initial_time.shape.rank == 0:
            relative = query_times - initial_time
        else:
            batch = tf.shape(initial_state)[0]
            query = tf.broadcast_to(query_times, [batch, tf.shape(query_times)[-1]])
            start = tf.broadcast_to(initial_time, [batch])
            relative = query - start[:, None]
        union, _ = tf.unique(tf.sort(tf.reshape(relative, [-1])))
        forward = tf.boolean_mask(union, union > 0)
        backward = -tf.reverse(tf.boolean_mask(union, union < 0), [0])
        states_forward, nfe_forward = self._solve_direction(initial_state, forward, 1.0)
        states_backward, nfe_backward = self._solve_direction(
            initial_state, backward, -1.0
        )
        self.nfe_tracker.update_state(nfe_forward + nfe_backward)
        # Every time of the union, sorted, with its state (time-first).
        all_times = tf.concat(
            [-tf.reverse(backward, [0]), tf.zeros([1], union.dtype), forward], 0
        )
        all_states = tf.concat(
            [tf.reverse(states_backward, [0]), initial_state[None], states_forward], 0
        )
        positions = tf.reshape(
            tf.searchsorted(all_times, tf.reshape(relative, [-1])), tf.shape(relative)
        )
        batch_first = [1, 0] + list(range(2, initial_state.shape.rank + 1))
        if relative.shape.rank == 1:
            return tf.transpose(tf.gather(all_states, positions), batch_first)
        return tf.gather(
            tf.transpose(all_states, batch_first), positions, axis=1, batch_dims=1
        )

    def _solve_direction(self, initial_state, times, sign):
        """States at increasing `times > 0` of `dy/ds = sign * f(sign * s, y)`."""

        def field(s, y):
            # A field may compute in another precision (mixed precision).
            return sign * tf.cast(self.vector_field(sign * s, y), y.dtype)

        if self.method == "rk4":
            # RK4 takes an empty list of times in its stride: no solve, no cost.
            states, nfe = rk4_solve(field, initial_state, times, self.step_size)
            return states, tf.cast(nfe, tf.int32)
        # TFP takes no empty list, and a tf.cond around its adjoint breaks
        # gradients in graph mode; so each solve also asks for the state at
        # time 0, which costs one evaluation when the direction has no times.
        with_start = tf.concat([tf.zeros([1], times.dtype), times], 0)
        states, nfe = dopri5_solve(
            field,
            initial_state,
            with_start,
            self.rtol,
            self.atol,
            self.first_step_size,
            self.max_num_steps,
        )
        return states[1:], tf.cast(nfe, tf.int32)

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
            }
        )
        return config


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
