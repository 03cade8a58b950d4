"""04_dropout: inverted dropout from scratch vs keras.layers.Dropout, and the MC-dropout helpers.

Statistical checks use a fixed seed and a tolerance of 5 standard errors (stated per test), so a
correct implementation passes with overwhelming probability and a wrong scale or rate fails.
"""

import keras
import numpy as np
import pytest
from nbcode import scratch
from scipy import stats

ns = scratch("04_dropout")
inverted_dropout = ns["inverted_dropout"]
dropout_mask = ns["dropout_mask"]
mc_dropout_predict = ns["mc_dropout_predict"]
predictive_entropy = ns["predictive_entropy"]

RATES = (0.1, 0.2, 0.5, 0.8)
UNITS, DRAWS = 200, 5000  # DRAWS independent masks of a layer of UNITS units


def _signed_input(seed=0, shape=(UNITS,)):
    """Nonzero inputs of both signs, so an output of exactly 0 means 'dropped'."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype("float32")


def _scratch(x, rate, seed):
    return inverted_dropout(x, rate, np.random.default_rng(seed), training=True)


def _keras(x, rate, seed):
    return keras.ops.convert_to_numpy(keras.layers.Dropout(rate, seed=seed)(x, training=True))


IMPLEMENTATIONS = {"scratch": _scratch, "keras": _keras}


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("rate", RATES)
def test_expectation_is_preserved(impl, rate):
    x = _signed_input()
    out = IMPLEMENTATIONS[impl](np.tile(x, (DRAWS, 1)), rate, seed=1)
    assert out.shape == (DRAWS, UNITS) and out.dtype == np.float32
    # One draw has std |x| sqrt(p / (1 - p)); the mean of DRAWS draws is within 5 standard errors.
    std_err = np.abs(x) * np.sqrt(rate / (1 - rate)) / np.sqrt(DRAWS)
    np.testing.assert_array_less(np.abs(out.mean(axis=0) - x), 5 * std_err)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("rate", RATES)
def test_fraction_of_zeros_is_the_rate(impl, rate):
    out = IMPLEMENTATIONS[impl](np.tile(_signed_input(), (DRAWS, 1)), rate, seed=2)
    n = out.size
    # The fraction of n Bernoulli(rate) zeros has std sqrt(rate (1 - rate) / n); allow 5 of them.
    assert abs((out == 0).mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / n)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("rate", RATES)
def test_kept_units_are_divided_by_keep_probability(impl, rate):
    x = np.tile(_signed_input(), (50, 1))
    out = IMPLEMENTATIONS[impl](x, rate, seed=3)
    kept = out != 0
    assert 0 < kept.sum() < kept.size
    # float32 x / q vs x * (1 / q): equal up to rounding (relative 1e-6).
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-6, atol=0)


@pytest.mark.parametrize("rate", RATES)
def test_same_mask_gives_keras_output(rate):
    x = _signed_input(seed=4, shape=(64, 32))
    y_keras = _keras(x, rate, seed=5)
    y_scratch = inverted_dropout(x, rate, mask=y_keras != 0)
    np.testing.assert_allclose(y_scratch, y_keras, rtol=1e-6, atol=0)


@pytest.mark.parametrize("rate", (0.0, *RATES))
@pytest.mark.parametrize("shape", [(7,), (5, 9), (2, 3, 4)])
def test_inference_is_exactly_the_identity(rate, shape):
    x = _signed_input(seed=6, shape=shape)
    rng = np.random.default_rng(0)
    assert np.array_equal(inverted_dropout(x, rate, rng, training=False), x)
    layer = keras.layers.Dropout(rate, seed=0)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x)), x)  # default is inference
    if rate == 0.0:  # nothing to drop even while training
        assert np.array_equal(inverted_dropout(x, rate, rng, training=True), x)


def test_mask_keeps_with_probability_one_minus_rate():
    mask = dropout_mask((1000, 1000), 0.3, np.random.default_rng(7))
    assert mask.dtype == bool and mask.shape == (1000, 1000)
    assert abs(mask.mean() - 0.7) < 5 * np.sqrt(0.3 * 0.7 / mask.size)


@pytest.mark.parametrize("rate", (-0.1, 1.0, 1.5))
def test_bad_rate_is_an_error(rate):
    with pytest.raises(ValueError, match="rate"):
        inverted_dropout(np.ones(3), rate, np.random.default_rng(0))


def test_predictive_entropy_matches_scipy():
    probs = np.random.default_rng(8).dirichlet(np.ones(10), size=100)
    np.testing.assert_allclose(predictive_entropy(probs), stats.entropy(probs, axis=1), atol=1e-10)
    np.testing.assert_allclose(predictive_entropy(np.full((1, 10), 0.1)), [np.log(10)])
    assert predictive_entropy(np.eye(10)[[3]])[0] == pytest.approx(0.0, abs=1e-9)


def _tiny_model(rate):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


def test_mc_dropout_without_dropout_equals_predict():
    model = _tiny_model(0.0)
    x = np.random.default_rng(9).normal(size=(50, 6)).astype("float32")
    samples = mc_dropout_predict(model, x, passes=3, batch_size=16)  # batches of 16, 16, 16, 2
    assert samples.shape == (3, 50, 4)
    for s in samples:
        np.testing.assert_allclose(s, model.predict(x, verbose=0), atol=1e-6)


def test_mc_dropout_passes_are_stochastic_probabilities():
    model = _tiny_model(0.5)
    x = np.random.default_rng(10).normal(size=(40, 6)).astype("float32")
    samples = mc_dropout_predict(model, x, passes=5)
    assert samples.shape == (5, 40, 4)
    np.testing.assert_allclose(samples.sum(axis=-1), 1.0, atol=1e-5)
    assert not np.allclose(samples[0], samples[1])  # dropout is on: passes differ
    # ...while ordinary prediction (dropout off) is deterministic.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
