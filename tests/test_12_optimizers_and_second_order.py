"""12_optimizers_and_second_order: the NumPy update rules against keras.optimizers, step by step.

Keras runs in float32, the NumPy rules in float64. After every step we compare the weights,
relative to how far they have moved from the start: float32 rounding gives gaps of about 1e-6,
so the tolerance is RTOL = 1e-4 (a wrong formula — a missing bias correction, epsilon in the
wrong place, the textbook momentum under a schedule — is off by 1e-2 or more). The Newton helpers
are checked against analytic gradients and Hessians to 1e-10 (float64).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("12_optimizers_and_second_order")
sgd, rmsprop, adam, adam_paper = ns["sgd"], ns["rmsprop"], ns["adam"], ns["adam_paper"]
gradient_and_hessian, newton_step = ns["gradient_and_hessian"], ns["newton_step"]

RTOL = 1e-4
STEPS, DIM = 40, 6


def _problem(scale, seed):
    """Start weights and random gradients of the same size (so float32 resolves every step)."""
    rng = np.random.default_rng(seed)
    theta0 = scale * rng.normal(size=DIM)
    grads = (scale * rng.normal(size=(STEPS, DIM))).astype("float32")
    return theta0, grads


def _keras_path(opt, theta0, grads):
    var = tf.Variable(theta0.astype("float32"))
    path = []
    for g in grads:
        opt.apply_gradients([(tf.constant(g), var)])
        path.append(var.numpy().astype("float64"))
    return np.array(path)


def _scratch_path(rule, theta0, grads, learning_rates, **hyper):
    theta, state, path = theta0, {}, []
    for g, learning_rate in zip(grads, learning_rates, strict=True):
        theta, state = rule(theta, g.astype("float64"), state, learning_rate, **hyper)
        path.append(theta)
    return np.array(path)


def _relative_gap(keras_path, scratch_path, theta0):
    moved = np.abs(keras_path - theta0).max(axis=1)
    return (np.abs(keras_path - scratch_path).max(axis=1) / moved).max()


CASES = {  # id: (Keras optimizer of a learning rate, scratch rule, its hyper-parameters)
    "sgd": (lambda learning_rate: keras.optimizers.SGD(learning_rate), sgd, {}),
    "momentum0.9": (
        lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9),
        sgd,
        {"momentum": 0.9},
    ),
    "momentum0.5": (
        lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.5),
        sgd,
        {"momentum": 0.5},
    ),
    "nesterov0.9": (
        lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True),
        sgd,
        {"momentum": 0.9, "nesterov": True},
    ),
    "nesterov0.99": (
        lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.99, nesterov=True),
        sgd,
        {"momentum": 0.99, "nesterov": True},
    ),
    "rmsprop": (lambda learning_rate: keras.optimizers.RMSprop(learning_rate), rmsprop, {}),
    "rmsprop_rho0.5_eps1e-3": (
        lambda learning_rate: keras.optimizers.RMSprop(learning_rate, rho=0.5, epsilon=1e-3),
        rmsprop,
        {"rho": 0.5, "epsilon": 1e-3},
    ),
    "adam": (lambda learning_rate: keras.optimizers.Adam(learning_rate), adam, {}),
    "adam_betas": (
        lambda learning_rate: keras.optimizers.Adam(
            learning_rate, beta_1=0.5, beta_2=0.9, epsilon=1e-4
        ),
        adam,
        {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4},
    ),
    "adamw_default": (
        lambda learning_rate: keras.optimizers.AdamW(learning_rate),
        adam,
        {"weight_decay": 0.004},
    ),
    "adamw_0.1": (
        lambda learning_rate: keras.optimizers.AdamW(learning_rate, weight_decay=0.1),
        adam,
        {"weight_decay": 0.1},
    ),
}


@pytest.mark.parametrize("scale", [1.0, 1e-6])
@pytest.mark.parametrize("case", CASES)
def test_rule_matches_keras_step_by_step(case, scale):
    make_opt, rule, hyper = CASES[case]
    theta0, grads = _problem(scale, seed=1)
    learning_rate = 0.01
    ours = _scratch_path(rule, theta0, grads, [learning_rate] * STEPS, **hyper)
    assert _relative_gap(_keras_path(make_opt(learning_rate), theta0, grads), ours, theta0) < RTOL


@pytest.mark.parametrize("case", ["momentum0.9", "nesterov0.9", "adam", "adamw_0.1", "rmsprop"])
def test_rule_matches_keras_under_a_learning_rate_schedule(case):
    """The learning rate changes every step; Keras uses schedule(iterations) at step iterations."""
    make_opt, rule, hyper = CASES[case]
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=5, decay_rate=0.5)
    learning_rates = [float(schedule(t)) for t in range(STEPS)]
    theta0, grads = _problem(1.0, seed=2)
    ours = _scratch_path(rule, theta0, grads, learning_rates, **hyper)
    assert _relative_gap(_keras_path(make_opt(schedule), theta0, grads), ours, theta0) < RTOL


def _textbook_momentum(theta, g, state, learning_rate, momentum=0.9):
    """v <- mu v + g; theta <- theta - learning_rate * v: Keras's rule only while the learning
    rate is constant."""
    v = momentum * state.get("v", 0.0) + g
    return theta - learning_rate * v, {"v": v}


def test_textbook_momentum_differs_from_keras_only_under_a_schedule():
    theta0, grads = _problem(1.0, seed=3)
    ours = _scratch_path(_textbook_momentum, theta0, grads, [0.01] * STEPS)
    keras_path = _keras_path(keras.optimizers.SGD(0.01, momentum=0.9), theta0, grads)
    assert _relative_gap(keras_path, ours, theta0) < RTOL  # constant learning_rate: the same rule
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=5, decay_rate=0.5)
    learning_rates = [float(schedule(t)) for t in range(STEPS)]
    ours = _scratch_path(_textbook_momentum, theta0, grads, learning_rates)
    keras_path = _keras_path(keras.optimizers.SGD(schedule, momentum=0.9), theta0, grads)
    assert _relative_gap(keras_path, ours, theta0) > 1e-2  # far outside the tolerance


def test_nesterov_is_the_look_ahead_method_rewritten():
    """Classical NAG: gradient at theta + mu v. Keras's variable is that look-ahead point."""
    rng = np.random.default_rng(4)
    M = rng.normal(size=(DIM, DIM))
    A, b, mu, learning_rate = M @ M.T / DIM + np.eye(DIM), rng.normal(size=DIM), 0.9, 0.05
    grad = lambda x: A @ x - b  # noqa: E731  (gradient of a convex quadratic)
    theta, v = rng.normal(size=DIM), np.zeros(DIM)
    phi, state = theta.copy(), {}  # with v = 0 the look-ahead point starts at theta
    for _ in range(STEPS):
        v = mu * v - learning_rate * grad(
            theta + mu * v
        )  # classical Nesterov (Sutskever et al., 2013)
        theta = theta + v
        phi, state = sgd(phi, grad(phi), state, learning_rate, momentum=mu, nesterov=True)
        np.testing.assert_allclose(phi, theta + mu * v, rtol=1e-10, atol=1e-12)


def test_adam_epsilon_placement_matters_only_for_tiny_gradients():
    for scale, should_match in [(1.0, True), (1e-6, False)]:
        theta0, grads = _problem(scale, seed=5)
        keras_path = _keras_path(keras.optimizers.Adam(0.01), theta0, grads)
        paper = _scratch_path(adam_paper, theta0, grads, [0.01] * STEPS)
        gap = _relative_gap(keras_path, paper, theta0)
        assert (gap < RTOL) if should_match else (gap > 0.1), (scale, gap)


def test_adam_first_step_has_the_keras_effective_epsilon():
    """Step 1: learning_rate * g / (|g| + eps / sqrt(1 - beta_2)), about learning_rate in size
    unless |g| ~ eps."""
    g, eps, beta_2 = np.array([1.0, -1e-3, 1e-6, -1e-7]), 1e-7, 0.999
    theta, _ = adam(np.zeros(4), g, {}, 0.01, beta_2=beta_2, epsilon=eps)
    expected = -0.01 * g / (np.abs(g) + eps / np.sqrt(1 - beta_2))
    np.testing.assert_allclose(theta, expected, rtol=1e-12)


def test_plain_sgd_ignores_state():
    theta, state = sgd(np.ones(3), np.array([1.0, 2.0, 3.0]), {}, 0.1)
    np.testing.assert_allclose(theta, [0.9, 0.8, 0.7])
    assert state == {}


def _rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def test_gradient_and_hessian_of_rosenbrock_are_analytic():
    for x, y in [(-1.2, 1.0), (0.3, -0.7), (1.0, 1.0)]:
        g, H = gradient_and_hessian(_rosenbrock, [x, y])
        g_true = [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)]
        H_true = [[2 - 400 * (y - 3 * x**2), -400 * x], [-400 * x, 200]]
        np.testing.assert_allclose(g, g_true, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(H, H_true, rtol=1e-10, atol=1e-10)


def test_one_newton_step_solves_any_convex_quadratic():
    rng = np.random.default_rng(6)
    M = rng.normal(size=(5, 5))
    A = tf.constant(M @ M.T + 0.1 * np.eye(5))  # condition number in the hundreds
    x_star = rng.normal(size=5)

    def f(x):
        d = x - x_star
        return 0.5 * tf.tensordot(d, tf.linalg.matvec(A, d), 1)

    for start in rng.normal(scale=10.0, size=(3, 5)):
        np.testing.assert_allclose(newton_step(f, start), x_star, atol=1e-8)
