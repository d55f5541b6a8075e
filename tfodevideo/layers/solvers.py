"""ODE solvers behind `NeuralODE`: TFP's Dormand-Prince and a fixed-step RK4.

Both take `fn(t, y)`, an initial state at time 0 and strictly increasing
solution times `> 0`, and return `(states, num_evaluations)` with states
time-first `(num_times, batch, ...)`, as TFP does.
"""

import tensorflow as tf
import tensorflow_probability as tfp


def dopri5_solve(fn, initial_state, times, rtol, atol, first_step_size, max_num_steps):
    """Adaptive Dormand-Prince 5(4) from TFP; gradients by the adjoint method.

    TFP computes gradients with the adjoint ODE (Chen et al. 2018): memory does
    not grow with the number of steps. Keras weights that `fn` reads are found
    by `tf.custom_gradient`, so they need not be passed as constants.
    """
    solver = tfp.math.ode.DormandPrince(
        rtol=rtol,
        atol=atol,
        first_step_size=first_step_size,
        max_num_steps=max_num_steps,
    )
    results = solver.solve(fn, 0.0, initial_state, solution_times=times)
    return results.states, results.diagnostics.num_ode_fn_evaluations


def rk4_solve(fn, initial_state, times, step_size):
    """Classic fourth-order Runge-Kutta with at most `step_size` per step.

    Each interval between consecutive solution times is cut into equal steps,
    so every solution time is hit exactly. Gradients flow by backpropagation
    through the steps (memory grows with their number).
    """
    dtype = initial_state.dtype
    step_size = tf.cast(step_size, dtype)
    num_times = tf.shape(times)[0]

    def rk4_step(t, y, h):
        k1 = fn(t, y)
        k2 = fn(t + h / 2, y + h / 2 * k1)
        k3 = fn(t + h / 2, y + h / 2 * k2)
        k4 = fn(t + h, y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    def interval(i, t, y, states, evaluations):
        target = times[i]
        num_steps = tf.maximum(
            tf.cast(tf.math.ceil((target - t) / step_size), tf.int32), 1
        )
        h = (target - t) / tf.cast(num_steps, dtype)

        def step(k, t_k, y_k):
            return k + 1, t_k + h, rk4_step(t_k, y_k, h)

        _, _, y = tf.while_loop(lambda k, *_: k < num_steps, step, (0, t, y))
        return i + 1, target, y, states.write(i, y), evaluations + 4 * num_steps

    states = tf.TensorArray(dtype, size=num_times, element_shape=initial_state.shape)
    _, _, _, states, evaluations = tf.while_loop(
        lambda i, *_: i < num_times,
        interval,
        (0, tf.zeros([], dtype), initial_state, states, 0),
    )
    return states.stack(), evaluations
