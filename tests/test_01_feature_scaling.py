"""Notebook 01's hand-written scaling against scikit-learn and keras.layers.Normalization."""

import numpy as np
import pytest
from nbcode import scratch
from sklearn.preprocessing import MinMaxScaler, StandardScaler

ns = scratch("01_feature_scaling")
rng = np.random.default_rng(0)
# Features on wildly different scales, as in the lesson (1e6 next to 50 next to 0.01).
X_TRAIN = rng.normal(size=(200, 3)) * [1e6, 50, 0.01] + [5e6, 100, 0.1]
X_OTHER = rng.normal(size=(50, 3)) * [1e6, 50, 0.01] + [5e6, 100, 0.1]


def test_min_max_matches_sklearn():
    got = ns["scale_apply"](X_OTHER, *ns["min_max_fit"](X_TRAIN))
    want = MinMaxScaler().fit(X_TRAIN).transform(X_OTHER)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # float32 output


def test_standardize_matches_sklearn_and_keras_normalization():
    import keras

    got = ns["scale_apply"](X_OTHER, *ns["standardize_fit"](X_TRAIN))
    want = StandardScaler().fit(X_TRAIN).transform(X_OTHER)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    layer = keras.layers.Normalization()
    layer.adapt(X_TRAIN.astype("float32"))
    keras_out = keras.ops.convert_to_numpy(layer(X_OTHER.astype("float32")))
    np.testing.assert_allclose(got, keras_out, rtol=1e-3, atol=1e-3)  # Keras adapts in float32


def test_statistics_come_from_the_data_given():
    lo, span = ns["min_max_fit"](X_TRAIN)
    np.testing.assert_allclose(lo, X_TRAIN.min(axis=0))
    np.testing.assert_allclose(span, X_TRAIN.max(axis=0) - X_TRAIN.min(axis=0))
    out = ns["scale_apply"](X_TRAIN, *ns["standardize_fit"](X_TRAIN))
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-5)


@pytest.mark.parametrize("fit", ["min_max_fit", "standardize_fit"])
def test_constant_feature_becomes_zero_not_nan(fit):
    x = np.column_stack([np.full(10, 7.0), np.arange(10.0)])
    out = ns["scale_apply"](x, *ns[fit](x))
    assert np.all(np.isfinite(out)) and np.all(out[:, 0] == 0)
