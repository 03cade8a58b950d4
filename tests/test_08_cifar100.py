"""The from-scratch code of notebook 08 against Keras.

- ``top_k_accuracy`` against ``keras.metrics.SparseTopKCategoricalAccuracy`` (and so
  ``tf.math.in_top_k``): hits are counted, so results must agree exactly up to the float32
  rounding of the metric's running mean (atol 1e-6), ties and non-finite rows included.
- ``OneCycle`` against ``keras.optimizers.schedules.CosineDecay`` with a linear warm-up and the
  same end points; both compute in float32, so values agree to 1e-6 of the peak learning rate.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("08_cifar100")
top_k_accuracy, OneCycle = ns["top_k_accuracy"], ns["OneCycle"]
ACC_ATOL = 1e-6
LR_ATOL = 1e-6  # times the peak learning rate


def _keras_top_k(logits, labels, k):
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
    metric.update_state(labels, logits)
    return float(metric.result())


@pytest.mark.parametrize("n_classes", [2, 10, 100])
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_top_k_matches_keras_metric(n_classes, k, label_shape):
    rng = np.random.default_rng(n_classes * 10 + k)
    logits = rng.normal(0, 3, size=(300, n_classes)).astype("float32")
    labels = rng.integers(0, n_classes, size=300)
    if label_shape == "column":
        labels = labels.reshape(-1, 1)
    got = top_k_accuracy(logits, labels, k)
    assert got == pytest.approx(_keras_top_k(logits, labels, k), abs=ACC_ATOL)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_ties_count_as_hits_like_in_top_k(k):
    """Rounded logits tie often; in_top_k counts a class tied at the boundary as a hit."""
    rng = np.random.default_rng(3)
    logits = np.round(rng.normal(0, 1, size=(400, 20))).astype("float32")
    labels = rng.integers(0, 20, size=400)
    got = top_k_accuracy(logits, labels, k)
    expected = tf.math.in_top_k(labels, logits, k).numpy().mean()
    assert got == pytest.approx(float(expected), abs=ACC_ATOL)
    assert got == pytest.approx(_keras_top_k(logits, labels, k), abs=ACC_ATOL)
    # all-equal rows: every class is "in the top k" for any k >= 1
    assert top_k_accuracy(np.zeros((4, 7)), [0, 3, 5, 6], 1) == 1.0


def test_non_finite_rows_are_misses_like_in_top_k():
    logits = np.array([[1.0, 2.0, 3.0], [np.nan, 2.0, 3.0], [1.0, np.inf, 0.0], [3.0, 2.0, 1.0]])
    labels = np.array([2, 2, 1, 0])
    expected = tf.math.in_top_k(labels, logits.astype("float32"), 1).numpy().mean()
    assert top_k_accuracy(logits, labels, 1) == pytest.approx(float(expected)) == 0.5


def test_top_1_is_argmax_accuracy_and_k_equal_classes_is_one():
    rng = np.random.default_rng(4)
    logits, labels = rng.normal(size=(200, 10)), rng.integers(0, 10, size=200)
    assert top_k_accuracy(logits, labels, 1) == pytest.approx((logits.argmax(1) == labels).mean())
    assert top_k_accuracy(logits, labels, 10) == 1.0
    accs = [top_k_accuracy(logits, labels, k) for k in range(1, 11)]
    assert all(a <= b for a, b in zip(accs, accs[1:], strict=False))  # grows with k


def _cosine_equivalent(s):
    return keras.optimizers.schedules.CosineDecay(
        s.peak_learning_rate / s.div,
        decay_steps=s.total_steps - s.warmup_steps,
        alpha=1 / (s.div * s.final_div),
        warmup_target=s.peak_learning_rate,
        warmup_steps=s.warmup_steps,
    )


@pytest.mark.parametrize(
    "peak, total, pct, div, final_div",
    [(3e-3, 1000, 0.25, 25.0, 1e4), (0.1, 97, 0.3, 10.0, 100.0), (1e-2, 5000, 0.1, 4.0, 1.0)],
)
def test_one_cycle_matches_cosine_decay_with_warmup(peak, total, pct, div, final_div):
    s = OneCycle(peak, total_steps=total, pct_start=pct, div=div, final_div=final_div)
    keras_s = _cosine_equivalent(s)
    steps = np.unique(np.r_[np.linspace(0, total + 50, 300).astype(int), s.warmup_steps - 1])
    ours = np.asarray(s(steps))  # vectorised over steps
    theirs = np.array([float(keras_s(int(t))) for t in steps])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=LR_ATOL * peak)


def test_one_cycle_shape():
    s = OneCycle(2e-3, total_steps=400, pct_start=0.25, div=25.0, final_div=1e4)
    learning_rates = np.asarray(s(np.arange(0, 401)))
    assert s.warmup_steps == 100
    assert learning_rates[0] == pytest.approx(2e-3 / 25, rel=1e-6)
    assert learning_rates.argmax() == 100 and learning_rates.max() == pytest.approx(2e-3, rel=1e-6)
    assert learning_rates[-1] == pytest.approx(2e-3 / 25 / 1e4, rel=1e-3)
    assert (np.diff(learning_rates[:101]) > 0).all() and (np.diff(learning_rates[100:]) <= 0).all()
    assert float(s(10_000)) == pytest.approx(learning_rates[-1])  # constant after the last step
    # half way down the cosine: the mean of the peak and the end
    assert learning_rates[250] == pytest.approx((2e-3 + learning_rates[-1]) / 2, rel=1e-5)


def test_one_cycle_drives_a_keras_optimizer():
    s = OneCycle(1e-2, total_steps=10, pct_start=0.5)
    var = keras.Variable(np.ones(3, "float32"))
    opt = keras.optimizers.SGD(learning_rate=s)
    for _ in range(3):
        opt.apply_gradients([(np.ones(3, "float32"), var)])
    expected = 1 - sum(float(s(t)) for t in range(3))  # SGD: w -= lr_t * 1
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6)
    assert OneCycle(**s.get_config()).get_config() == s.get_config()
    assert math.isclose(float(opt.learning_rate), float(s(3)), rel_tol=1e-6)
