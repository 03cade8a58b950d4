"""The from-scratch code of notebooks/03_l2_regularization.ipynb against TensorFlow and Keras.

Tolerances: float32 sums and steps are compared with rtol 1e-5 / atol 1e-6 (float32 rounding of
a few hundred terms or a few steps); float64 identities with 1e-12.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("03_l2_regularization")
l2_penalty, make_train_step = ns["l2_penalty"], ns["make_train_step"]
sgd_step, adam_step = ns["sgd_step"], ns["adam_step"]

RTOL, ATOL = 1e-5, 1e-6


def _weights(seed, shapes=((30, 12), (12,), (12, 4))):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


@pytest.mark.parametrize("l2_lambda", [0.0, 1e-4, 0.01, 3.0])
def test_l2_penalty_is_lambda_times_tf_l2_loss(l2_lambda):
    ws = _weights(0)
    expected = l2_lambda * sum(float(tf.nn.l2_loss(w)) for w in ws)
    assert float(l2_penalty(ws, l2_lambda)) == pytest.approx(expected, rel=RTOL, abs=ATOL)


def test_l2_penalty_of_no_weights_is_zero():
    assert float(l2_penalty([], 0.5)) == 0.0


def test_l2_penalty_gradient_is_lambda_w():
    ws = [tf.Variable(w) for w in _weights(1)]
    with tf.GradientTape() as tape:
        p = l2_penalty(ws, 0.3)
    for w, g in zip(ws, tape.gradient(p, ws), strict=True):
        np.testing.assert_allclose(g.numpy(), 0.3 * w.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("l2_lambda", [1e-3, 0.2])
def test_l2_penalty_matches_keras_regularizer_with_half_lambda(l2_lambda):
    ws = _weights(2)
    keras_l2 = keras.regularizers.L2(l2_lambda / 2)  # Keras adds l2 * sum(w**2), no 1/2
    expected = sum(float(keras_l2(w)) for w in ws)
    assert float(l2_penalty(ws, l2_lambda)) == pytest.approx(expected, rel=RTOL)


def _mlp(l2_lambda, seed=0):
    keras.utils.set_random_seed(seed)
    reg = keras.regularizers.L2(l2_lambda / 2) if l2_lambda else None
    return keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(16, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(5, kernel_regularizer=reg),
        ]
    )


def test_l2_penalty_matches_model_losses():
    l2_lambda = 0.05
    model = _mlp(l2_lambda)
    kernels = [layer.kernel for layer in model.layers]
    assert float(l2_penalty(kernels, l2_lambda)) == pytest.approx(
        float(sum(model.losses)), rel=RTOL
    )


@pytest.mark.parametrize(
    "make_optimizer", [lambda: keras.optimizers.SGD(0.1), keras.optimizers.Adam]
)
def test_train_step_matches_keras_regularized_training(make_optimizer):
    l2_lambda = 0.02
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 20)).astype("float32")
    y = rng.integers(0, 5, size=32)
    loss_function = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    by_hand, by_keras = _mlp(0.0), _mlp(l2_lambda)
    by_keras.set_weights(by_hand.get_weights())
    by_keras.compile(optimizer=make_optimizer(), loss=loss_function)
    step = make_train_step(by_hand, loss_function, make_optimizer(), l2_lambda)
    for _ in range(4):
        data_loss, total = step(x, y)
        keras_total = by_keras.train_on_batch(x, y)
    assert float(total) > float(data_loss)
    # train_on_batch reports the loss before its last update, like our step
    assert float(total) == pytest.approx(float(keras_total), rel=1e-4)
    for a, b in zip(by_hand.get_weights(), by_keras.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _keras_run(opt, w0, grads, l2=0.0):
    var = keras.Variable(w0)
    for g in grads:
        opt.apply_gradients([(tf.constant(g + l2 * var.numpy()), var)])
    return var.numpy()


def _scratch_adam(w0, grads, **kw):
    w, state = w0.astype("float64"), None
    for g in grads:
        w, state = adam_step(w, g.astype("float64"), state, **kw)
    return w


def _problem(seed, n=40, steps=6):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=n).astype("float32")
    grads = [rng.normal(scale=rng.uniform(0.01, 2), size=n).astype("float32") for _ in range(steps)]
    return w0, grads


@pytest.mark.parametrize("learning_rate,l2_lambda", [(0.1, 0.01), (0.01, 0.5)])
def test_sgd_step_matches_keras_sgd_both_ways(learning_rate, l2_lambda):
    w0, grads = _problem(4)
    w_l2 = w_wd = w0.astype("float64")
    for g in grads:
        w_l2 = sgd_step(w_l2, g, learning_rate, l2=l2_lambda)
        w_wd = sgd_step(w_wd, g, learning_rate, weight_decay=l2_lambda)
    keras_l2 = _keras_run(keras.optimizers.SGD(learning_rate), w0, grads, l2=l2_lambda)
    keras_wd = _keras_run(keras.optimizers.SGD(learning_rate, weight_decay=l2_lambda), w0, grads)
    np.testing.assert_allclose(w_l2, keras_l2, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(w_wd, keras_wd, rtol=RTOL, atol=ATOL)
    # for plain SGD, L2 in the loss and decoupled weight decay are the same update
    np.testing.assert_allclose(w_l2, w_wd, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("learning_rate,l2_lambda", [(1e-3, 0.01), (0.05, 0.3)])
def test_adam_step_with_l2_matches_keras_adam_on_penalised_gradient(learning_rate, l2_lambda):
    w0, grads = _problem(5)
    expected = _keras_run(keras.optimizers.Adam(learning_rate), w0, grads, l2=l2_lambda)
    np.testing.assert_allclose(
        _scratch_adam(w0, grads, learning_rate=learning_rate, l2=l2_lambda),
        expected,
        rtol=RTOL,
        atol=ATOL,
    )


@pytest.mark.parametrize("learning_rate,decay", [(1e-3, 0.004), (0.05, 0.3)])
def test_adam_step_with_weight_decay_matches_keras_adamw(learning_rate, decay):
    w0, grads = _problem(6)
    expected = _keras_run(keras.optimizers.AdamW(learning_rate, weight_decay=decay), w0, grads)
    got = _scratch_adam(w0, grads, learning_rate=learning_rate, weight_decay=decay)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_adam_step_without_regularization_matches_keras_adam():
    w0, grads = _problem(7)
    expected = _keras_run(keras.optimizers.Adam(0.01), w0, grads)
    np.testing.assert_allclose(
        _scratch_adam(w0, grads, learning_rate=0.01), expected, rtol=RTOL, atol=ATOL
    )


def test_adam_l2_and_adamw_differ_but_sgd_forms_coincide():
    learning_rate, l2_lambda = 0.01, 0.1
    w0, grads = _problem(8)
    adam_l2 = _keras_run(keras.optimizers.Adam(learning_rate), w0, grads, l2=l2_lambda)
    adamw = _keras_run(keras.optimizers.AdamW(learning_rate, weight_decay=l2_lambda), w0, grads)
    sgd_l2 = _keras_run(keras.optimizers.SGD(learning_rate), w0, grads, l2=l2_lambda)
    sgd_wd = _keras_run(keras.optimizers.SGD(learning_rate, weight_decay=l2_lambda), w0, grads)
    assert np.max(np.abs(adam_l2 - adamw)) > 1e-3  # far above float32 rounding
    np.testing.assert_allclose(sgd_l2, sgd_wd, rtol=RTOL, atol=ATOL)


class _Holder:
    """Stands in for a Dense layer: the tracker reads only `.kernel`."""

    def __init__(self, kernel):
        self.kernel = keras.Variable(kernel)


@pytest.mark.parametrize("angle", [1e-4, 0.01, 0.5, 2.0])
@pytest.mark.parametrize("scale", [1.0, 0.7, 3.0])
def test_kernel_tracker_measures_the_turn_and_the_norm(angle, scale):
    """A kernel rotated by a known angle in a random plane (and rescaled, which must not count as
    a turn): the tracker reports that angle (float64, atol 1e-6 rad) and the new norm."""
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=(2, 40, 6))
    first /= np.linalg.norm(first)
    second -= np.sum(second * first) * first  # orthogonal to first, same shape
    second /= np.linalg.norm(second)
    holder = _Holder((2.0 * first).astype("float32"))
    tracker = ns["KernelTracker"]([holder])
    tracker.on_train_batch_begin(0)
    turned = scale * 2.0 * (np.cos(angle) * first + np.sin(angle) * second)
    holder.kernel.assign(turned.astype("float32"))
    tracker.on_train_batch_end(0)
    assert tracker.angles[0][0] == pytest.approx(angle, abs=1e-6)
    assert tracker.norms[0][0] == pytest.approx(np.linalg.norm(turned), rel=1e-6)


def test_kernel_tracker_sees_no_turn_under_pure_weight_decay():
    """Weight decay alone multiplies a kernel by (1 - ηλ): its norm falls, its direction stays."""
    holder = _Holder(np.random.default_rng(4).normal(size=(10, 5)).astype("float32"))
    tracker = ns["KernelTracker"]([holder])
    norm_before = np.linalg.norm(holder.kernel.numpy())
    tracker.on_train_batch_begin(0)
    holder.kernel.assign(holder.kernel.numpy() * (1 - 0.1 * 0.01))
    tracker.on_train_batch_end(0)
    assert tracker.angles[0][0] < 1e-6
    assert tracker.norms[0][0] == pytest.approx(norm_before * 0.999, rel=1e-6)
