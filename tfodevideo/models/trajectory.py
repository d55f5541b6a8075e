"""The Neural ODE on coordinates: the report's first experiment (its eqs. 5-6)."""

import keras

from tfodevideo._checks import check_int
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE


def trajectory_model(
    state_size=2,
    units=64,
    depth=2,
    activation="softplus",
    time_dependent=False,
    second_order=False,
    method="dopri5",
    rtol=1e-3,
    atol=1e-6,
    name="trajectory_ode",
):
    """A functional model that integrates a learned field from an initial state.

    Args:
        state_size: size of the state; with `second_order=True` it holds
            position and velocity halves (4 for 2-D motion).
        units, depth, activation, time_dependent, second_order: the `MLPField`.
        method, rtol, atol: the `NeuralODE` solver settings.
        name: model name.

    Returns:
        A `keras.Model` taking `{"initial_state": (batch, state_size),
        "times": (batch, T)}` (times since the initial state) and returning
        the states `(batch, T, state_size)`.
    """
    state_size = check_int("state_size", state_size, minimum=1)
    initial_state = keras.Input((state_size,), name="initial_state")
    times = keras.Input((None,), name="times")
    field = MLPField(
        units,
        depth,
        activation=activation,
        time_dependent=time_dependent,
        second_order=second_order,
        name="field",
    )
    ode = NeuralODE(field, method=method, rtol=rtol, atol=atol, name="ode")
    states = ode(initial_state, times)
    return keras.Model({"initial_state": initial_state, "times": times}, states, name=name)
