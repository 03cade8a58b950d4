"""09_weight_initialization: scratch Glorot/He initializers vs keras.initializers, and the
forward/gradient probe vs a NumPy forward and backward pass.

Variance checks draw n >= 200,000 weights with a fixed seed. The sample variance of n draws has a
relative standard error of sqrt((kurtosis - 1) / n) <= sqrt(2 / n) (kurtosis is 1.8 for a uniform
and about 2.4 for a normal cut at 2 standard deviations, both below the normal's 3); we allow 5
of them, about 1.6 % at n = 200,000. A truncated normal without Keras's 1/0.8796 correction is
23 % short, and Glorot and He differ by a factor (fan_in + fan_out) / fan_in, so both fail.
"""

import math

import keras
import numpy as np
import pytest
from nbcode import scratch
from scipy import stats

ns = scratch("09_weight_initialization")
compute_fans = ns["compute_fans"]
truncated_std_factor = ns["truncated_std_factor"]
forward_and_grads = ns["forward_and_grads"]

SHAPES = [(784, 256), (256, 1024), (3, 3, 128, 256)]  # two Dense kernels and a Conv2D kernel


def _keras_fans(shape):
    from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans

    return keras_compute_fans(shape)


@pytest.mark.parametrize("shape", [*SHAPES, (10, 3), (5, 16, 8), (2, 3, 4, 5, 6)])
def test_fans_match_keras(shape):
    assert compute_fans(shape) == _keras_fans(shape)


@pytest.mark.parametrize("shape", [(), (7,), (0, 5), (3, 0)])
def test_bad_shape_is_an_error(shape):
    with pytest.raises(ValueError, match="shape"):
        compute_fans(shape)


def test_variance_formulas():
    assert ns["glorot_variance"](784, 256) == pytest.approx(2 / 1040, rel=1e-15)
    assert ns["he_variance"](784) == pytest.approx(2 / 784, rel=1e-15)


def test_truncation_factor_is_keras_constant():
    # Keras divides the std of its truncated normals by this number (random_initializers.py).
    assert truncated_std_factor(2.0) == pytest.approx(0.87962566103423978, rel=1e-12)
    assert truncated_std_factor(1.5) == pytest.approx(stats.truncnorm(-1.5, 1.5).std(), rel=1e-10)


# name: (Keras class, target variance from (fan_in, fan_out), uniform?)
SCHEMES = {
    "glorot_uniform": (keras.initializers.GlorotUniform, lambda i, o: 2 / (i + o), True),
    "glorot_normal": (keras.initializers.GlorotNormal, lambda i, o: 2 / (i + o), False),
    "he_uniform": (keras.initializers.HeUniform, lambda i, o: 2 / i, True),
    "he_normal": (keras.initializers.HeNormal, lambda i, o: 2 / i, False),
}


def _draws(name, shape, seed=0):
    ours = ns[name](shape, np.random.default_rng(seed))
    theirs = keras.ops.convert_to_numpy(SCHEMES[name][0](seed=seed)(shape))
    return ours, theirs


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", SCHEMES)
def test_sample_variance_matches_formula_and_keras(name, shape):
    _, target_of, _ = SCHEMES[name]
    target = target_of(*_keras_fans(shape))
    ours, theirs = _draws(name, shape)
    assert ours.shape == theirs.shape == shape and ours.dtype == np.float32
    tol = 5 * math.sqrt(2 / ours.size)  # 5 relative standard errors of a sample variance
    assert abs(ours.var() / target - 1) < tol, (ours.var(), target)
    assert abs(theirs.var() / target - 1) < tol, (theirs.var(), target)
    assert abs(ours.mean()) < 5 * math.sqrt(target / ours.size)  # centred on zero


@pytest.mark.parametrize("name", SCHEMES)
def test_same_support_and_distribution_as_keras(name):
    shape = (784, 256)
    _, target_of, uniform = SCHEMES[name]
    std = math.sqrt(target_of(*_keras_fans(shape)))
    bound = math.sqrt(3) * std if uniform else 2 * std / 0.87962566103423978
    ours, theirs = _draws(name, shape, seed=1)
    for w in (ours, theirs):
        assert np.abs(w).max() <= bound * (1 + 1e-6)  # nothing beyond the bound...
        assert np.abs(w).max() > 0.99 * bound  # ...and the tails reach it
    # Two-sample Kolmogorov-Smirnov: the same distribution (fixed seeds, so deterministic).
    assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3


def _mlp(activation, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation=activation, bias_initializer="random_normal"),
            keras.layers.Dense(4, activation=activation, bias_initializer="random_normal"),
            keras.layers.Dense(3),
        ]
    )


def _numpy_forward_backward(model, x, y, activation):
    """Outputs of each layer and dL/dW of each kernel for mean sparse cross-entropy, in float64."""
    f, df = {
        "tanh": (np.tanh, lambda a: 1 - a**2),  # derivative written with the output a
        "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(float)),
    }[activation]
    params = [[p.astype("float64") for p in layer.get_weights()] for layer in model.layers]
    outs, h = [], x.astype("float64")
    for i, (w, b) in enumerate(params):
        z = h @ w + b
        h = z if i == len(params) - 1 else f(z)
        outs.append(h)
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    delta = (p - np.eye(3)[y]) / len(x)  # dL/dlogits
    grads = [None] * len(params)
    for i in reversed(range(len(params))):
        inp = x if i == 0 else outs[i - 1]
        grads[i] = inp.T @ delta
        if i:
            delta = (delta @ params[i][0].T) * df(outs[i - 1])
    return outs, grads


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_and_grads_match_numpy(activation):
    model = _mlp(activation)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 6)).astype("float32")
    y = rng.integers(0, 3, size=32)
    outs, grads = forward_and_grads(model, x, y)
    ref_outs, ref_grads = _numpy_forward_backward(model, x, y, activation)
    assert [o.shape for o in outs] == [(32, 5), (32, 4), (32, 3)]
    assert [g.shape for g in grads] == [(6, 5), (5, 4), (4, 3)]
    for ours, ref in zip(outs + grads, ref_outs + ref_grads, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6)  # float32 vs float64
    np.testing.assert_allclose(outs[-1], model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_random_normal_default_is_stddev_0_05_not_variance_1():
    # Section 3 of the notebook says so; if a Keras release changed the default, its text would
    # be wrong. 200,704 draws give the sample std a relative standard error of about 0.16 %.
    initializer = keras.initializers.RandomNormal(seed=0)
    config = initializer.get_config()
    assert config["mean"] == 0.0 and config["stddev"] == 0.05
    weights = keras.ops.convert_to_numpy(initializer((784, 256)))
    assert abs(weights.std() / 0.05 - 1) < 0.01
    assert abs(weights.mean()) < 5 * 0.05 / math.sqrt(weights.size)
