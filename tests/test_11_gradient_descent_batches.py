"""Notebook 11's from-scratch mini-batch gradient descent and gradient-noise estimate.

- ``softmax_xent``: loss against Keras's ``SparseCategoricalCrossentropy(from_logits=True)``
  (Keras computes in float32: ``rtol=1e-6``) and gradients against ``tf.GradientTape`` in float64
  (``rtol=1e-10``).
- ``batch_slices``: the number and sizes of batches against ``tf.data.Dataset.batch`` (exact).
- ``sgd_epoch``: weights and epoch losses against ``keras.optimizers.SGD`` in ``fit`` and
  ``train_on_batch`` on the same batches from the same initial weights. Keras updates float32
  weights and the scratch loop float64 ones, so they agree to ``atol=1e-5`` (weights of order 1).
- ``gradient_noise``: its Monte-Carlo mean against the exact ``sigma^2/B (N-B)/(N-1)`` of sampling
  without replacement, within 5 standard errors of the mean (fixed seeds).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("11_gradient_descent_batches")
softmax_xent = ns["softmax_xent"]
batch_slices = ns["batch_slices"]
sgd_epoch = ns["sgd_epoch"]
gradient_noise = ns["gradient_noise"]
noise_theory = ns["noise_theory"]

N, D, K = 40, 6, 3  # examples, features, classes of the small problems below
ATOL_WEIGHTS = 1e-5


def _problem(seed, n=N, d=D, k=K):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    W = rng.normal(scale=0.5, size=(d, k))
    b = rng.normal(scale=0.1, size=k)
    return X, y, W, b


@pytest.mark.parametrize("seed", range(3))
def test_softmax_xent_loss_matches_keras(seed):
    X, y, W, b = _problem(seed)
    loss, _, _ = softmax_xent(W, b, X, y)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, X @ W + b)
    assert loss == pytest.approx(float(keras_loss), rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_softmax_xent_gradients_match_gradient_tape(seed):
    X, y, W, b = _problem(seed)
    W_t, b_t = tf.Variable(W), tf.Variable(b)  # float64
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=X @ W_t + b_t)
        )
    grad_W, grad_b = tape.gradient(loss, [W_t, b_t])
    ours_loss, ours_W, ours_b = softmax_xent(W, b, X, y)
    assert ours_loss == pytest.approx(float(loss), rel=1e-12)
    np.testing.assert_allclose(ours_W, grad_W.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ours_b, grad_b.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_xent_survives_huge_logits():
    X, y, W, b = _problem(0)
    loss, grad_W, _ = softmax_xent(W * 1e3, b, X, y)  # exp(z) would overflow without the shift
    assert np.isfinite(loss) and np.isfinite(grad_W).all()


@pytest.mark.parametrize(
    ("n", "batch_size"), [(500, 1), (500, 32), (500, 64), (500, 500), (7, 3), (5, 8)]
)
def test_batch_slices_match_tf_data(n, batch_size):
    slices = batch_slices(n, batch_size)
    tf_sizes = [int(t.shape[0]) for t in tf.data.Dataset.range(n).batch(batch_size)]
    assert len(slices) == len(tf_sizes) == math.ceil(n / batch_size)
    assert [len(s) for s in slices] == tf_sizes
    np.testing.assert_array_equal(np.concatenate(slices), np.arange(n))  # each example once


def test_batch_slices_follow_the_given_order():
    order = np.random.default_rng(0).permutation(10)
    slices = batch_slices(10, 4, order)
    assert [len(s) for s in slices] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(slices), order)


def _keras_softmax_regression(W, b, learning_rate):
    model = keras.Sequential([keras.Input((W.shape[0],)), keras.layers.Dense(W.shape[1])])
    model.set_weights([W.astype("float32"), b.astype("float32")])
    model.compile(
        keras.optimizers.SGD(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    return model


@pytest.mark.parametrize("batch_size", [1, 5, 16, N])  # 16 leaves a last batch of 8
def test_sgd_epoch_matches_keras_fit(batch_size):
    X, y, W, b = _problem(1)
    learning_rate, epochs = 0.1, 3
    W, b = W.astype("float32").astype("float64"), b.astype("float32").astype("float64")
    model = _keras_softmax_regression(W, b, learning_rate)
    history = model.fit(
        X.astype("float32"), y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0
    ).history
    losses = []
    for _ in range(epochs):
        W, b, loss = sgd_epoch(
            W, b, X.astype("float32").astype("float64"), y, batch_size, learning_rate
        )
        losses.append(loss)
    W_keras, b_keras = model.get_weights()
    np.testing.assert_allclose(W, W_keras, atol=ATOL_WEIGHTS, rtol=0)
    np.testing.assert_allclose(b, b_keras, atol=ATOL_WEIGHTS, rtol=0)
    # The History's loss is the batch-size-weighted mean of the epoch's batch losses.
    np.testing.assert_allclose(losses, history["loss"], atol=1e-5, rtol=0)
    assert int(model.optimizer.iterations) == epochs * math.ceil(N / batch_size)


@pytest.mark.parametrize("batch_size", [1, 7, N])
def test_sgd_epoch_with_shuffled_order_matches_train_on_batch(batch_size):
    X, y, W, b = _problem(2)
    X = X.astype("float32")
    learning_rate = 0.2
    W, b = W.astype("float32").astype("float64"), b.astype("float32").astype("float64")
    model = _keras_softmax_regression(W, b, learning_rate)
    rng = np.random.default_rng(3)
    for _ in range(2):  # two epochs, each with its own order
        order = rng.permutation(N)
        for idx in batch_slices(N, batch_size, order):
            model.train_on_batch(X[idx], y[idx])
        W, b, _ = sgd_epoch(W, b, X.astype("float64"), y, batch_size, learning_rate, order)
    W_keras, b_keras = model.get_weights()
    np.testing.assert_allclose(W, W_keras, atol=ATOL_WEIGHTS, rtol=0)
    np.testing.assert_allclose(b, b_keras, atol=ATOL_WEIGHTS, rtol=0)


def test_full_batch_epoch_is_one_gradient_step():
    X, y, W, b = _problem(4)
    learning_rate = 0.3
    loss, grad_W, grad_b = softmax_xent(W, b, X, y)
    W1, b1, epoch_loss = sgd_epoch(W, b, X, y, N, learning_rate)
    np.testing.assert_allclose(W1, W - learning_rate * grad_W, rtol=1e-14, atol=0)
    np.testing.assert_allclose(b1, b - learning_rate * grad_b, rtol=1e-14, atol=0)
    assert epoch_loss == pytest.approx(loss, rel=1e-14)  # the loss *before* the step


def _per_example_grads(X, y, W, b):
    rows = []
    for i in range(len(X)):
        _, gW, gb = softmax_xent(W, b, X[i : i + 1], y[i : i + 1])
        rows.append(np.concatenate([gW.ravel(), gb]))
    return np.array(rows)


@pytest.mark.parametrize("batch_size", [1, 4, 15, 30, 50])
def test_gradient_noise_matches_sampling_without_replacement(batch_size):
    n = 60
    X, y, W, b = _problem(5, n=n)
    G = _per_example_grads(X, y, W, b)
    g = G.mean(axis=0)
    sigma2 = np.mean(np.sum((G - g) ** 2, axis=1))

    def grad_fn(idx):
        _, gW, gb = softmax_xent(W, b, X[idx], y[idx])
        return np.concatenate([gW.ravel(), gb])

    draws = 4000
    sq = gradient_noise(grad_fn, n, batch_size, draws, np.random.default_rng(6))
    assert sq.shape == (draws,) and (sq >= 0).all()
    expected = noise_theory(sigma2, n, batch_size)
    # At B=30 and 50 the finite-population factor (N-B)/(N-1) is about 0.5 and 0.17, far outside
    # the tolerance: drawing with replacement (sigma^2 / B) fails this test.
    assert abs(sq.mean() - expected) < 5 * sq.std(ddof=1) / np.sqrt(draws)


def test_gradient_noise_is_zero_for_the_full_batch():
    n = 30
    X, y, W, b = _problem(7, n=n)

    def grad_fn(idx):
        _, gW, gb = softmax_xent(W, b, X[idx], y[idx])
        return np.concatenate([gW.ravel(), gb])

    sq = gradient_noise(grad_fn, n, n, 5, np.random.default_rng(0))
    assert sq.max() < 1e-25  # the same examples in another order: rounding only
    assert noise_theory(2.5, n, n) == 0.0
    assert noise_theory(2.5, n, 1) == pytest.approx(2.5)
