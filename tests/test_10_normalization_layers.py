"""10_normalization_layers: the from-scratch batch, layer, group and instance norm against Keras.

Keras computes in float32, the scratch code in float64 on the same float32 inputs, so outputs are
compared with rtol=1e-4, atol=1e-5: normalised values are O(1) (times γ ≤ 3, plus β), float32
rounding is ~1e-7 relative, and dividing by sqrt(var + ε) of a small slice amplifies it a little.
Properties that involve no Keras (statistics of the output, which inputs share statistics) are
exact up to float64 rounding and use atol=1e-9 unless stated.
"""

import keras
import numpy as np
import pytest
from nbcode import scratch

ns = scratch("10_normalization_layers")
normalize = ns["normalize"]
batch_norm, layer_norm = ns["batch_norm"], ns["layer_norm"]
group_norm, instance_norm = ns["group_norm"], ns["instance_norm"]

RTOL, ATOL = 1e-4, 1e-5
IMAGES = [(4, 5, 6, 8), (2, 3, 3, 8), (1, 7, 2, 8)]  # NHWC, 8 channels; a batch of 2 and of 1


def _x(shape, seed):
    """Random inputs far from zero mean / unit variance, so normalising changes them a lot."""
    rng = np.random.default_rng(seed)
    return rng.normal(rng.uniform(-3, 3), rng.uniform(0.2, 5), size=shape).astype("float32")


def _affine(shape, seed):
    rng = np.random.default_rng(seed + 100)
    return rng.uniform(0.2, 3, shape).astype("float32"), rng.normal(size=shape).astype("float32")


def _keras(layer, x, weights, **call):
    layer.build(x.shape)
    layer.set_weights(weights)
    return keras.ops.convert_to_numpy(layer(x, **call))


@pytest.mark.parametrize("shape", [*IMAGES, (16, 5), (2, 7)])  # images and dense features
@pytest.mark.parametrize("epsilon", [1e-3, 1e-5])
def test_batch_norm_training_mode_matches_keras(shape, epsilon):
    x = _x(shape, seed=shape[0])
    gamma, beta = _affine(shape[-1], seed=1)
    mm, mv = np.zeros(shape[-1], "float32"), np.ones(shape[-1], "float32")
    layer = keras.layers.BatchNormalization(epsilon=epsilon)
    expected = _keras(layer, x, [gamma, beta, mm, mv], training=True)
    got = batch_norm(x.astype("float64"), gamma, beta, epsilon=epsilon)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", IMAGES)
def test_batch_norm_inference_mode_matches_keras(shape):
    x = _x(shape, seed=2)
    gamma, beta = _affine(shape[-1], seed=2)
    rng = np.random.default_rng(3)
    mm = rng.normal(size=shape[-1]).astype("float32")
    mv = rng.uniform(0.1, 4, shape[-1]).astype("float32")
    layer = keras.layers.BatchNormalization()
    expected = _keras(layer, x, [gamma, beta, mm, mv], training=False)
    got = batch_norm(x.astype("float64"), gamma, beta, moving_mean=mm, moving_var=mv)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    # ...and the training-mode output is a different thing (batch statistics, not moving ones)
    assert not np.allclose(batch_norm(x.astype("float64"), gamma, beta), expected, atol=1e-2)


@pytest.mark.parametrize("shape", [*IMAGES, (6, 10)])
def test_layer_norm_matches_keras_over_all_axes_but_the_batch(shape):
    x = _x(shape, seed=4)
    gamma, beta = _affine(shape[1:], seed=4)  # Keras learns one γ, β per normalised entry
    layer = keras.layers.LayerNormalization(axis=tuple(range(1, len(shape))))
    expected = _keras(layer, x, [gamma, beta])
    got = layer_norm(x.astype("float64"), gamma, beta)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_default_layer_normalization_is_not_layer_norm_of_an_image():
    """keras LayerNormalization() normalises over axis=-1 only: on NHWC each pixel over its
    channels, which is none of the four methods (and differs from layer_norm)."""
    x = _x(IMAGES[0], seed=5)
    ones, zeros = np.ones(8, "float32"), np.zeros(8, "float32")
    default = _keras(keras.layers.LayerNormalization(), x, [ones, zeros])
    np.testing.assert_allclose(normalize(x.astype("float64"), (3,)), default, rtol=RTOL, atol=ATOL)
    assert not np.allclose(layer_norm(x.astype("float64"), 1.0, 0.0), default, atol=1e-2)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
@pytest.mark.parametrize("shape", IMAGES)
def test_group_norm_matches_keras(groups, shape):
    x = _x(shape, seed=6 + groups)
    gamma, beta = _affine(shape[-1], seed=groups)
    expected = _keras(keras.layers.GroupNormalization(groups=groups), x, [gamma, beta])
    got = group_norm(x.astype("float64"), groups, gamma, beta)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", IMAGES)
def test_instance_norm_matches_group_normalization_with_one_channel_per_group(shape):
    x = _x(shape, seed=7)
    gamma, beta = _affine(shape[-1], seed=7)
    expected = _keras(keras.layers.GroupNormalization(groups=shape[-1]), x, [gamma, beta])
    got = instance_norm(x.astype("float64"), gamma, beta)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_the_special_cases_of_group_norm():
    x = _x(IMAGES[0], seed=8).astype("float64")
    gamma, beta = _affine(8, seed=8)
    np.testing.assert_allclose(group_norm(x, 8, gamma, beta), instance_norm(x, gamma, beta))
    np.testing.assert_allclose(group_norm(x, 1, gamma, beta), layer_norm(x, gamma, beta))


@pytest.mark.parametrize("groups", [0, 3, 16, 2.0])
def test_group_norm_rejects_groups_that_do_not_divide_the_channels(groups):
    with pytest.raises(ValueError, match="groups"):
        group_norm(np.ones((2, 3, 3, 8)), groups, 1.0, 0.0)


def test_instance_norm_needs_positions():
    with pytest.raises(ValueError, match="ndim"):
        instance_norm(np.ones((4, 8)), 1.0, 0.0)


# The axes each method reduces over, for NHWC: (N, H, W, C) → the set of entries sharing one
# mean and one variance with entry (0, 0, 0, 0).
def _shared_with_first(method, shape):
    n, h, w, c = shape
    idx = np.indices(shape)
    same_n, same_c = idx[0] == 0, idx[3] == 0
    return {
        "batch": same_c,
        "layer": same_n,
        "group2": same_n & (idx[3] < c // 2),
        "instance": same_n & same_c,
    }[method]


METHODS = {
    "batch": lambda x: batch_norm(x, 1.0, 0.0),
    "layer": lambda x: layer_norm(x, 1.0, 0.0),
    "group2": lambda x: group_norm(x, 2, 1.0, 0.0),
    "instance": lambda x: instance_norm(x, 1.0, 0.0),
}


@pytest.mark.parametrize("method", METHODS)
def test_nudging_one_input_moves_exactly_the_entries_that_share_its_statistics(method):
    """The notebook's cube figure is drawn this way; here it is checked against the axes."""
    shape = (3, 4, 2, 6)
    x = np.random.default_rng(9).normal(size=shape)
    nudged = x.copy()
    nudged[0, 0, 0, 0] += 1.0
    moved = ~np.isclose(METHODS[method](nudged), METHODS[method](x), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(moved, _shared_with_first(method, shape))


@pytest.mark.parametrize("method", METHODS)
def test_every_slice_has_zero_mean_and_variance_var_over_var_plus_eps(method):
    shape = (3, 4, 2, 6)
    x = _x(shape, seed=10).astype("float64")
    y = METHODS[method](x)
    idx = np.indices(shape)
    n_sets = {"batch": shape[3], "layer": shape[0], "group2": shape[0] * 2}
    n_sets["instance"] = shape[0] * shape[3]
    # Label every entry with the slice it belongs to, then check each slice's mean and variance.
    label = {
        "batch": idx[3],
        "layer": idx[0],
        "group2": idx[0] * 2 + idx[3] // 3,
        "instance": idx[0] * shape[3] + idx[3],
    }[method]
    assert len(np.unique(label)) == n_sets[method]
    for k in np.unique(label):
        xs, ys = x[label == k], y[label == k]
        assert abs(ys.mean()) < 1e-9
        assert ys.var() == pytest.approx(xs.var() / (xs.var() + 1e-3), abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_only_batch_norm_depends_on_the_other_examples(method):
    rng = np.random.default_rng(11)
    first = rng.normal(2, 3, size=(1, 4, 4, 6))
    batch_a = np.concatenate([first, rng.normal(0, 1, size=(3, 4, 4, 6))])
    batch_b = np.concatenate([first, rng.normal(5, 9, size=(3, 4, 4, 6))])
    out_a, out_b = METHODS[method](batch_a)[0], METHODS[method](batch_b)[0]
    if method == "batch":
        assert np.abs(out_a - out_b).max() > 0.1
    else:
        np.testing.assert_allclose(out_a, out_b, rtol=0, atol=1e-12)
