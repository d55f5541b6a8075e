import keras
import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from helpers import run_model_saving_test
from helpers import run_serialization_test
from tfodevideo.layers import ConvField
from tfodevideo.layers import MLPField
from tfodevideo.layers import NeuralODE
from tfodevideo.layers import VectorField

TIGHT = {"rtol": 1e-10, "atol": 1e-10, "max_num_steps": 5000, "dtype": "float64"}
# TFP's Dormand-Prince bottoms out near 5e-9 absolute in float64 whatever the
# tolerance (measured on dy/dt = -y: 7.6e-9 at rtol 1e-10, 8.2e-9 at 1e-12),
# so closed forms are held to 1e-7, a decade above that floor.
CLOSED_FORM_TOL = 1e-7


class LinearField(keras.layers.Layer):
    """dy/dt = y A^T with a fixed matrix: closed form expm(A t) y0."""

    def __init__(self, matrix, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.matrix = np.asarray(matrix)

    def call(self, t, y):
        return tf.matmul(y, tf.constant(self.matrix.T, y.dtype))


class RiccatiField(keras.layers.Layer):
    """dy/dt = (y - t)^2 + 1, y(0) = 0.5: closed form t + 1 / (2 - t)."""

    def __init__(self, **kwargs):
        super().__init__(dtype="float64", **kwargs)

    def call(self, t, y):
        return tf.square(y - t) + 1.0


class Spring(VectorField):
    """Second-order harmonic oscillator: acceleration -omega^2 z."""

    def build_network(self, input_shape, output_size):
        self.network_layers = []

    def network(self, features):
        position = features[..., : features.shape[-1] // 2]
        return -4.0 * position


def tensor(x):
    return tf.constant(x, tf.float64)


@pytest.mark.parametrize("method, tol", [("dopri5", CLOSED_FORM_TOL), ("rk4", CLOSED_FORM_TOL)])
def test_exponential_decay_forwards_and_backwards(method, tol):
    ode = NeuralODE(LinearField([[-1.0]]), method=method, step_size=0.01, **TIGHT)
    y0 = tensor([[1.0], [2.0]])
    times = np.array([-1.0, -0.25, 0.0, 0.5, 2.0])
    out = ode(y0, tensor(times)).numpy()
    assert out.shape == (2, 5, 1)
    np.testing.assert_allclose(out[..., 0], np.array([[1.0], [2.0]]) * np.exp(-times), rtol=tol)


def test_linear_system_matches_matrix_exponential():
    matrix = np.array([[-0.1, 2.0, 0.0], [-2.0, -0.1, 0.3], [0.0, -0.3, -0.5]])
    ode = NeuralODE(LinearField(matrix), **TIGHT)
    y0 = np.random.default_rng(0).normal(size=(4, 3))
    times = np.array([0.1, 0.7, 1.5, 3.0])
    out = ode(tensor(y0), tensor(times)).numpy()
    for j, t in enumerate(times):
        np.testing.assert_allclose(
            out[:, j], y0 @ scipy.linalg.expm(matrix * t).T, atol=CLOSED_FORM_TOL
        )


def test_riccati_time_dependent_field():
    ode = NeuralODE(RiccatiField(), **TIGHT)
    times = np.linspace(0.1, 1.5, 8)
    out = ode(tensor([[0.5]]), tensor(times)).numpy()[0, :, 0]
    # Towards its blow-up at t = 2 the solution steepens (slope 5 at t = 1.5)
    # and the solver's interpolation error grows with it: 1.1e-7 measured.
    np.testing.assert_allclose(out, times + 1.0 / (2.0 - times), rtol=10 * CLOSED_FORM_TOL)


def test_second_order_oscillator_conserves_energy():
    ode = NeuralODE(Spring(second_order=True, dtype="float64"), **TIGHT)
    state = tensor([[1.0, 0.0, 0.0, 1.0]])  # position (1, 0), velocity (0, 1)
    out = ode(state, tensor(np.linspace(0.5, 10.0, 20))).numpy()[0]
    energy = 0.5 * (out[:, 2:] ** 2).sum(-1) + 0.5 * 4.0 * (out[:, :2] ** 2).sum(-1)
    np.testing.assert_allclose(energy, 2.5, rtol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(out[-1, 0], np.cos(2.0 * 10.0), atol=10 * CLOSED_FORM_TOL)


def test_query_times_are_consistent_alone_shared_or_per_sample():
    keras.utils.set_random_seed(0)
    ode = NeuralODE(MLPField(16, time_dependent=True, dtype="float64"), **TIGHT)
    y0 = tensor(np.random.default_rng(1).normal(size=(3, 4)))
    alone = ode(y0, tensor([0.5])).numpy()[:, 0]
    shared = ode(y0, tensor([0.1, 0.5, 0.9])).numpy()
    rows = tensor([[0.5, 0.5, 0.9], [0.1, 0.5, 0.5], [-0.3, 0.5, 2.0]])
    per_sample = ode(y0, rows).numpy()
    np.testing.assert_allclose(shared[:, 1], alone, atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(per_sample[:, 1], alone, atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(per_sample[0, 0], per_sample[0, 1])  # Repeated times.
    np.testing.assert_allclose(per_sample[1, 0], shared[1, 0], atol=CLOSED_FORM_TOL)


def test_per_sample_initial_times_shift_the_clock():
    ode = NeuralODE(LinearField([[-1.0]]), **TIGHT)
    y0, start = tensor([[1.0], [1.0]]), tensor([0.0, 1.0])
    out = ode(y0, tensor([1.0, 2.0]), start).numpy()[..., 0]
    np.testing.assert_allclose(
        out, np.exp(-np.array([[1.0, 2.0], [0.0, 1.0]])), rtol=CLOSED_FORM_TOL
    )


def test_adjoint_gradients_match_finite_differences():
    keras.utils.set_random_seed(1)
    ode = NeuralODE(MLPField(6, depth=1, activation="tanh", dtype="float64"), **TIGHT)
    y0 = tf.Variable(np.random.default_rng(2).normal(size=(2, 3)))
    times = tensor([-0.4, 0.3, 0.8])

    def loss():
        return tf.reduce_sum(tf.sin(ode(y0, times)))

    with tf.GradientTape() as tape:
        value = loss()
    variables = [y0] + ode.trainable_variables
    grads = tape.gradient(value, variables)
    assert all(g is not None for g in grads)
    rng, eps = np.random.default_rng(3), 1e-5
    for variable, grad in zip(variables, grads):
        flat = variable.numpy().reshape(-1)
        for i in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            bumped = flat.copy()
            bumped[i] += eps
            variable.assign(bumped.reshape(variable.shape))
            up = float(loss())
            bumped[i] -= 2 * eps
            variable.assign(bumped.reshape(variable.shape))
            down = float(loss())
            variable.assign(flat.reshape(variable.shape))
            numeric = (up - down) / (2 * eps)
            analytic = grad.numpy().reshape(-1)[i]
            assert abs(analytic - numeric) <= 1e-3 * max(abs(numeric), 1e-3), (
                variable.name, i, analytic, numeric)


@pytest.mark.parametrize("field", [lambda: MLPField(8, second_order=True, zero_start=True),
                                   lambda: ConvField(4, depth=1, second_order=True,
                                                     zero_start=True)],
                         ids=["mlp", "conv"])
def test_a_zero_start_field_moves_the_state_at_constant_velocity(field):
    """Zero acceleration until trained: positions follow z0 + v0 t exactly."""
    shape = (2, 8) if isinstance(field(), MLPField) else (2, 3, 3, 4)
    state = tf.random.normal(shape, seed=1)
    times = tf.constant([[0.3, 0.9], [0.5, 1.2]])
    out = NeuralODE(field(), method="rk4", step_size=0.1)(state, times).numpy()
    half = shape[-1] // 2
    position, velocity = state.numpy()[..., :half], state.numpy()[..., half:]
    extra = (slice(None), slice(None)) + (None,) * (len(shape) - 1)
    expected = position[:, None] + velocity[:, None] * times.numpy()[extra]
    np.testing.assert_allclose(out[..., :half], expected, atol=1e-5)


def test_conv_field_on_spatial_maps():
    ode = NeuralODE(ConvField(8, depth=1, second_order=True), method="rk4", step_size=0.1)
    out = ode(tf.random.normal((2, 5, 6, 4)), tf.constant([[0.2, 0.4], [0.1, 0.3]]))
    assert out.shape == (2, 2, 5, 6, 4)
    with pytest.raises(ValueError, match="height, width"):
        NeuralODE(ConvField(4))(tf.ones((2, 3)), tf.constant([1.0]))


def build_model(field=None):
    state, times = keras.Input((2,), name="state"), keras.Input((None,), name="times")
    ode = NeuralODE(field or MLPField(16, time_dependent=True), name="ode")
    return keras.Model([state, times], ode(state, times))


def test_trains_with_fit_logs_evaluations_and_survives_saving(tmp_path):
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    y0 = rng.uniform(-1, 1, (64, 2)).astype("float32")
    times = np.tile(np.linspace(0.2, 1.0, 5, dtype="float32"), (64, 1))
    rotation = np.array([[0.0, -2.0], [2.0, 0.0]])
    target = np.stack([y0 @ scipy.linalg.expm(rotation * t).T for t in times[0]], 1)
    model = build_model()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    history = model.fit([y0, times], target.astype("float32"), epochs=15, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0]
    assert min(history.history["ode_nfe"]) > 6
    run_model_saving_test(model, [y0, times], str(tmp_path / "ode.keras"), compare_configs=False)


def test_config_round_trip():
    ode = NeuralODE(ConvField(4, time_dependent=True), method="rk4", rtol=1e-4, step_size=0.2)
    again = run_serialization_test(ode)
    assert isinstance(again.vector_field, ConvField) and again.vector_field.time_dependent


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"rtol": 0.0}, "rtol"),
        ({"atol": -1e-6}, "atol"),
        ({"method": "euler"}, "method"),
        ({"max_num_steps": 0}, "max_num_steps"),
        ({"vector_field": lambda t, y: -y}, "vector_field"),
    ],
)
def test_bad_settings_name_themselves(kwargs, name):
    kwargs.setdefault("vector_field", MLPField(4))
    with pytest.raises(ValueError, match=name):
        NeuralODE(**kwargs)


@pytest.mark.parametrize(
    "state, times, match",
    [
        ([[1.0]], [0.5, 0.2], "strictly increasing"),
        ([[1.0]], [0.5, float("nan")], "finite"),
        ([[1.0], [2.0]], [[0.1, 0.2], [0.3, 0.1]], "non-decreasing"),
        ([[1.0], [2.0]], [[0.1, 0.2]] * 3, "batch of 2"),
        ([1.0, 2.0], [0.5], "initial_state"),
        ([[1.0]], [[[0.5]]], "query_times"),
    ],
)
def test_bad_inputs_raise_before_solving(state, times, match):
    ode = NeuralODE(LinearField([[-1.0]]))
    with pytest.raises(ValueError, match=match):
        ode(tf.constant(state), tf.constant(times))


def test_bad_inputs_in_graph_mode_fail_with_our_message():
    ode = NeuralODE(LinearField([[-1.0]]))
    ode(tf.ones((1, 1)), tf.constant([1.0]))
    traced = tf.function(lambda y, t: ode(y, t))
    with pytest.raises(tf.errors.InvalidArgumentError, match="strictly increasing"):
        traced(tf.ones((1, 1)), tf.constant([0.5, 0.2]))


def test_exceeding_max_steps_says_so():
    stiff = NeuralODE(LinearField([[-1e6]]), max_num_steps=20)
    with pytest.raises(RuntimeError, match="max_num_steps=20"):
        stiff(tf.ones((1, 1)), tf.constant([10.0]))


def test_many_query_times_interpolate_between_knots_accurately():
    keras.utils.set_random_seed(5)
    field = MLPField(16, dtype="float64")
    exact = NeuralODE(field, max_solution_times=None, **TIGHT)
    knotted = NeuralODE(field, max_solution_times=16, **TIGHT)
    y0 = tensor(np.random.default_rng(6).normal(size=(3, 4)))
    times = tensor(np.linspace(-1.0, 2.0, 301))
    np.testing.assert_allclose(knotted(y0, times), exact(y0, times), atol=1e-6)
    rows = tensor(np.sort(np.random.default_rng(7).uniform(-1, 2, (3, 40)), axis=1))
    np.testing.assert_allclose(knotted(y0, rows), exact(y0, rows), atol=1e-6)


def test_knots_keep_the_cost_flat_in_the_number_of_query_times():
    ode = NeuralODE(LinearField([[-1.0, 3.0], [-3.0, -1.0]]), max_solution_times=8)
    y0 = tf.ones((2, 2), tf.float64)
    costs = []
    for count in (20, 200, 2000):
        ode.nfe_tracker.reset_state()
        ode(y0, tensor(np.linspace(0.01, 2.0, count)))
        costs.append(float(ode.nfe_tracker.result()))
    assert costs[0] == costs[1] == costs[2]


def test_gradients_through_knot_interpolation_match_finite_differences():
    keras.utils.set_random_seed(8)
    ode = NeuralODE(MLPField(4, depth=1, activation="tanh", dtype="float64"),
                    max_solution_times=4, **TIGHT)
    y0 = tf.Variable(np.random.default_rng(9).normal(size=(2, 3)))
    times = tensor(np.linspace(0.05, 1.0, 20))

    def loss():
        return tf.reduce_sum(tf.sin(ode(y0, times)))

    with tf.GradientTape() as tape:
        value = loss()
    grad = tape.gradient(value, y0).numpy()
    eps, flat = 1e-5, y0.numpy().copy()
    for index in [(0, 0), (1, 2)]:
        for delta, store in ((eps, "up"), (-eps, "down")):
            bumped = flat.copy()
            bumped[index] += delta
            y0.assign(bumped)
            if store == "up":
                up = float(loss())
            else:
                down = float(loss())
        y0.assign(flat)
        numeric = (up - down) / (2 * eps)
        assert abs(grad[index] - numeric) <= 1e-3 * max(abs(numeric), 1e-3)
