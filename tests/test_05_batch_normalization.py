"""The from-scratch batch normalization of notebook 05 against keras.layers.BatchNormalization.

Keras computes in float32 and the scratch code in float64, so outputs are compared with
rtol=1e-4, atol=1e-5 (normalised values are O(1); float32 rounding is ~1e-7 relative, and a
variance estimate from a few examples amplifies it by 1/sqrt(var + eps)).
"""

import keras
import numpy as np
import pytest
from nbcode import scratch

ns = scratch("05_batch_normalization")
RTOL, ATOL = 1e-4, 1e-5
SHAPES = [(32, 16), (5, 3), (2, 7), (8, 6, 6, 4)]  # dense (incl. a batch of 2) and conv (NHWC)


def _layer(shape, gamma, beta, moving_mean, moving_var, *, momentum=0.99, epsilon=1e-3):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build((None, *shape[1:]))
    layer.set_weights([gamma, beta, moving_mean, moving_var])
    return layer


def _random_case(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.1, 5), size=shape).astype("float32")
    c = shape[-1]
    params = (
        rng.uniform(0.2, 3, c).astype("float32"),  # gamma
        rng.normal(size=c).astype("float32"),  # beta
        rng.normal(size=c).astype("float32"),  # moving mean
        rng.uniform(0.1, 4, c).astype("float32"),  # moving variance
    )
    return x, params


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("epsilon", [1e-3, 1e-5])
def test_training_mode_matches_keras(shape, epsilon):
    x, (gamma, beta, mm, mv) = _random_case(shape, seed=len(shape) + shape[0])
    layer = _layer(shape, gamma, beta, mm, mv, epsilon=epsilon)
    expected = layer(x, training=True).numpy()
    got, mean, var = ns["batch_norm_train"](x.astype("float64"), gamma, beta, epsilon=epsilon)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    assert mean.shape == var.shape == (shape[-1],)


@pytest.mark.parametrize("shape", SHAPES)
def test_inference_mode_matches_keras(shape):
    x, (gamma, beta, mm, mv) = _random_case(shape, seed=7 + shape[0])
    layer = _layer(shape, gamma, beta, mm, mv)
    expected = layer(x, training=False).numpy()
    got = ns["batch_norm_infer"](x.astype("float64"), mm, mv, gamma, beta)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    # inference mode must leave the moving statistics alone
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mm)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), mv)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 3, 2)])
def test_moving_average_updates_match_keras(momentum, shape):
    """Several training steps on different batches: the moving mean/variance (biased batch
    variance, as Keras stores it) follow update_moving step by step."""
    _, (gamma, beta, mm, mv) = _random_case(shape, seed=3)
    layer = _layer(shape, gamma, beta, mm, mv, momentum=momentum)
    mean_ours, var_ours = mm.astype("float64"), mv.astype("float64")
    rng = np.random.default_rng(11)
    for _ in range(5):
        x = rng.normal(2.0, 3.0, size=shape).astype("float32")
        layer(x, training=True)
        _, batch_mean, batch_var = ns["batch_norm_train"](x.astype("float64"), gamma, beta)
        mean_ours = ns["update_moving"](mean_ours, batch_mean, momentum)
        var_ours = ns["update_moving"](var_ours, batch_var, momentum)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean_ours, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var_ours, rtol=RTOL, atol=ATOL)


def test_normalised_batch_has_zero_mean_unit_variance():
    x, _ = _random_case((64, 10), seed=5)
    y, _, _ = ns["batch_norm_train"](x.astype("float64"), np.ones(10), np.zeros(10), epsilon=0.0)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-10)


def test_batch_of_one_outputs_beta_like_keras():
    """With m = 1 the batch variance is 0 and x - mean is 0: the output is beta, whatever x is."""
    x, (gamma, beta, mm, mv) = _random_case((1, 6), seed=9)
    got, _, var = ns["batch_norm_train"](x.astype("float64"), gamma, beta)
    np.testing.assert_allclose(var, 0.0)
    np.testing.assert_allclose(got[0], beta, atol=ATOL)
    expected = _layer((1, 6), gamma, beta, mm, mv)(x, training=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_update_moving_is_identity_at_momentum_one():
    moving, stat = np.array([1.0, -2.0]), np.array([5.0, 5.0])
    np.testing.assert_array_equal(ns["update_moving"](moving, stat, 1.0), moving)
    np.testing.assert_array_equal(ns["update_moving"](moving, stat, 0.0), stat)


@pytest.mark.parametrize("n_examples", [128, 200])
def test_kernel_gradient_norms_match_the_softmax_regression_gradient(n_examples):
    """One Dense layer is softmax regression: the gradient of the mean cross-entropy for its kernel
    is xᵀ(softmax(xW + b) − onehot(y)) / m per batch of m, in closed form. Batches of 128 (the last
    one shorter); float32 against float64, rtol 1e-4."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n_examples, 7)).astype("float32")
    y = rng.integers(0, 4, size=n_examples)
    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(4)])
    kernel, bias = (weight.astype("float64") for weight in model.get_weights())
    expected = []
    for start in range(0, n_examples, 128):
        x_batch, y_batch = x[start : start + 128].astype("float64"), y[start : start + 128]
        logits = x_batch @ kernel + bias
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        probabilities[np.arange(len(y_batch)), y_batch] -= 1.0
        expected.append([np.linalg.norm(x_batch.T @ probabilities / len(y_batch))])
    got = ns["kernel_gradient_norms"](model, x, y)
    assert got.shape == (-(-n_examples // 128), 1)
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-4)


def test_kernel_gradient_norms_has_one_column_per_dense_layer():
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(3), keras.layers.Activation("tanh")]
        + [keras.layers.Dense(3, use_bias=False), keras.layers.Dense(2)]
    )
    x = np.random.default_rng(0).normal(size=(10, 5)).astype("float32")
    got = ns["kernel_gradient_norms"](model, x, np.zeros(10, dtype=int), batch_size=4)
    assert got.shape == (3, 3) and np.isfinite(got).all() and (got > 0).all()
