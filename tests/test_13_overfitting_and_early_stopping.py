"""13_overfitting_and_early_stopping: the from-scratch early-stopping rule vs keras EarlyStopping,
and section 6's hand-made input features (ink profiles, edge strength) vs Keras pooling layers.

``early_stopping_rule(val_losses, patience, min_delta)`` returns ``(stop_epoch, best_epoch)``
(0-based, ``stop_epoch`` None when the list ends first). It is compared with
``keras.callbacks.EarlyStopping(monitor="val_loss")`` in two ways: driving the callback by hand
(``on_train_begin`` / ``on_epoch_end``) and inside a real ``fit`` whose validation losses are
scripted. Stop and best epochs are integers, so agreement must be exact.

Tolerance: Keras compares in float32 (``keras.ops.less`` on Python floats), the rule in float64.
The sequences here are therefore exact in float32 — multiples of 2**-8 (sums with ``min_delta``
on the same grid stay exact) or float32 values with ``min_delta=0`` — and one test documents the
disagreement for gains below float32 resolution.

The features are computed in float64 (NumPy) and compared with float32 Keras/TF layers on random
float32 images: atol 1e-6 for means of values in [0, 1], 1e-5 for the 784-term matrix product.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("13_overfitting_and_early_stopping")
early_stopping_rule = ns["early_stopping_rule"]

NAN = math.nan
_PROBE = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])


def keras_by_hand(losses, patience=0, min_delta=0.0):
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta)
    cb.set_model(_PROBE)
    _PROBE.stop_training = False
    cb.on_train_begin()
    for epoch, loss in enumerate(losses):
        cb.on_epoch_end(epoch, {"val_loss": loss})
        if _PROBE.stop_training:
            assert cb.stopped_epoch == epoch
            return epoch, cb.best_epoch
    return None, cb.best_epoch


def _grid_curve(rng, n):
    """A noisy U-shaped loss curve rounded to multiples of 2**-8 (exact in float32/64; ties)."""
    t = np.arange(n)
    curve = 0.5 + (t - rng.uniform(0, 30)) ** 2 / 400 + rng.normal(0, 0.03, n)
    return [float(v) for v in np.round(curve * 256) / 256]


# (losses, patience, min_delta, expected (stop, best)) — expectations worked out by hand.
HAND_CASES = {
    "one epoch": ([0.5], 0, 0.0, (None, 0)),
    "steady fall never stops": ([1.0, 0.75, 0.5, 0.25], 0, 0.0, (None, 3)),
    "U-shape, patience 2": ([1.0, 0.75, 0.5, 0.625, 0.75, 0.875], 2, 0.0, (4, 2)),
    "patience 0 stops at the first bad epoch": ([1.0, 0.5, 0.625, 0.25], 0, 0.0, (2, 1)),
    "patience 1 is the same": ([1.0, 0.5, 0.625, 0.25], 1, 0.0, (2, 1)),
    "bad epochs must be in a row": ([1.0, 0.75, 0.875, 0.5, 0.625, 0.25], 2, 0.0, (None, 5)),
    "a tie is no improvement": ([1.0, 0.5, 0.5, 0.5], 2, 0.0, (3, 1)),
    "gain exactly min_delta is no improvement": ([1.0, 0.75, 0.5], 1, 0.25, (1, 0)),
    "gain just over min_delta improves": ([1.0, 0.74609375, 0.75], 1, 0.25, (2, 1)),
    "small gains under min_delta run out patience": (
        [1.0, 0.9375, 0.875, 0.8125],
        2,
        0.125,
        (2, 0),
    ),
    "gains count from the best, not the last epoch": (
        [1.0, 0.9375, 0.875, 0.8125],
        3,
        0.125,
        (None, 3),
    ),
    "rising loss from the start": ([0.25, 0.5, 0.75, 1.0], 2, 0.0, (2, 0)),
    "NaN first is the best so far": ([NAN, 1.0, 0.5, 0.25], 2, 0.0, (2, 0)),
    "NaN later is a bad epoch": ([1.0, NAN, 0.5, NAN, NAN], 1, 0.0, (1, 0)),
    "NaN later, patient": ([1.0, NAN, 0.5, NAN, NAN], 2, 0.0, (4, 2)),
    "inf is a bad epoch": ([1.0, math.inf, 0.5], 1, 0.0, (1, 0)),
    "huge patience": ([1.0, 2.0, 3.0], 100, 0.0, (None, 0)),
}


@pytest.mark.parametrize("name", HAND_CASES)
def test_hand_worked_cases(name):
    losses, patience, min_delta, expected = HAND_CASES[name]
    assert early_stopping_rule(losses, patience, min_delta) == expected
    # ...and Keras agrees with the hand-worked answer too (the rule is Keras's, not ours).
    assert keras_by_hand(losses, patience, min_delta) == expected


def test_matches_keras_on_random_grid_curves():
    rng = np.random.default_rng(123)
    mismatches = []
    for i in range(600):
        losses = _grid_curve(rng, int(rng.integers(1, 60)))
        patience = int(rng.integers(0, 10))
        min_delta = float(rng.choice([0.0, 2**-8, 2**-6, 2**-5, 2**-3]))
        ours = early_stopping_rule(losses, patience, min_delta)
        theirs = keras_by_hand(losses, patience, min_delta)
        if ours != theirs:
            mismatches.append((i, patience, min_delta, ours, theirs))
    assert not mismatches, mismatches[:5]


def test_matches_keras_on_float32_losses_without_min_delta():
    # Arbitrary float32 values (not on a grid): with min_delta = 0 both compare them exactly.
    rng = np.random.default_rng(7)
    for _ in range(300):
        losses = rng.lognormal(0, 0.3, int(rng.integers(1, 40))).astype("float32")
        patience = int(rng.integers(0, 6))
        as_floats = [float(v) for v in losses]
        assert early_stopping_rule(losses, patience) == keras_by_hand(as_floats, patience)


def test_stops_exactly_patience_epochs_after_the_best():
    rng = np.random.default_rng(11)
    stopped = 0
    for _ in range(300):
        losses = _grid_curve(rng, 50)
        patience = int(rng.integers(0, 8))
        stop, best = early_stopping_rule(losses, patience)
        assert 0 <= best < len(losses)
        assert losses[best] == min(losses[: (stop if stop is not None else len(losses)) + 1])
        if stop is not None:
            stopped += 1
            assert stop - best == max(patience, 1)
    assert stopped > 100  # the property was exercised


class _ScriptedLoss(keras.callbacks.Callback):
    """Before epoch t: bias = losses[t] (val MAE of zeros = |bias|), kernel = t (a tag)."""

    def __init__(self, losses):
        super().__init__()
        self.losses = losses

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_weights(
            [np.full((1, 1), epoch, "float32"), np.full(1, self.losses[epoch], "float32")]
        )


FIT_CASES = [
    ([1.0, 0.75, 0.5, 0.625, 0.75, 0.875, 1.0], 2, 0.0),
    ([1.0, 0.5, 0.5625, 0.5, 0.53125, 0.375, 0.5, 0.625], 3, 0.0),
    ([1.0, 0.75, 0.5, 0.25], 1, 0.25),
    ([2.0, 1.5, 1.0, 0.5], 0, 0.0),  # never fires: weights still restored (Keras 3)
    ([0.5, 0.75, 1.0], 0, 0.0),  # the first epoch is the best
]


@pytest.mark.parametrize("losses, patience, min_delta", FIT_CASES)
def test_matches_keras_inside_fit_with_restore_best_weights(losses, patience, min_delta):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mae", jit_compile=False)
    zeros = np.zeros((8, 1), "float32")
    es = keras.callbacks.EarlyStopping(
        patience=patience, min_delta=min_delta, restore_best_weights=True
    )
    hist = model.fit(
        zeros,
        zeros,
        validation_data=(zeros, zeros),
        epochs=len(losses),
        callbacks=[_ScriptedLoss(losses), es],
        verbose=0,
    ).history
    run = len(hist["val_loss"])
    np.testing.assert_array_equal(hist["val_loss"], np.float32(losses[:run]))  # scripted exactly
    stop, best = early_stopping_rule(losses, patience, min_delta)
    assert run == (len(losses) if stop is None else stop + 1)
    restored_tag, restored_bias = model.get_weights()[0][0, 0], model.get_weights()[1][0]
    assert restored_tag == best and restored_bias == np.float32(losses[best])


def test_float64_gain_below_float32_resolution_is_the_stated_tolerance():
    tiny = [1.0, 1.0 - 1e-9, 2.0]
    assert early_stopping_rule(tiny) == (2, 1)  # float64: a (tiny) improvement
    assert keras_by_hand(tiny) == (1, 0)  # float32: a tie
    tiny32 = np.float32(tiny)
    assert early_stopping_rule(tiny32) == keras_by_hand([float(v) for v in tiny32]) == (1, 0)


def test_accepts_arrays_and_does_not_modify_input():
    losses = np.array([1.0, 0.5, 0.75, 0.875])
    before = losses.copy()
    assert early_stopping_rule(losses, 1) == (2, 1)
    assert early_stopping_rule(tuple(losses), 1) == (2, 1)
    np.testing.assert_array_equal(losses, before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"val_losses": [1.0], "patience": -1}, "patience"),
        ({"val_losses": [1.0], "patience": 1.5}, "patience"),
        ({"val_losses": [1.0], "patience": True}, "patience"),
        ({"val_losses": [1.0], "min_delta": -0.1}, "min_delta"),
        ({"val_losses": [1.0], "min_delta": NAN}, "min_delta"),
        ({"val_losses": []}, "val_losses"),
    ],
)
def test_bad_arguments_are_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        early_stopping_rule(**kwargs)


# Section 6's hand-made input features, checked against Keras/TF layers that compute the same.
ink_profiles = ns["ink_profiles"]
edge_strength = ns["edge_strength"]


def _random_images(n=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 784)).astype("float32")


def test_ink_profiles_are_row_and_column_means_like_average_pooling():
    x = _random_images()
    images = x.reshape(-1, 28, 28, 1)
    rows = keras.layers.AveragePooling2D(pool_size=(1, 28))(images).numpy().reshape(-1, 28)
    columns = keras.layers.AveragePooling2D(pool_size=(28, 1))(images).numpy().reshape(-1, 28)
    features = ink_profiles(x)
    assert features.shape == (16, 56)
    np.testing.assert_allclose(features, np.concatenate([rows, columns], axis=1), atol=1e-6)


def test_ink_profiles_are_a_weighted_sum_of_the_pixels():
    # The notebook's point: a Dense layer could compute them itself (x @ W for a fixed W).
    x = _random_images(seed=1)
    weights = ink_profiles(np.eye(784))
    np.testing.assert_allclose(ink_profiles(x), x @ weights, atol=1e-5)


def test_edge_strength_matches_tf_image_gradients_and_average_pooling():
    x = _random_images(seed=2)
    images = tf.constant(x.reshape(-1, 28, 28, 1))
    down, across = tf.image.image_gradients(images)  # 0 past the last row and column
    strength = tf.abs(across) + tf.abs(down)
    expected = keras.layers.AveragePooling2D(pool_size=4)(strength).numpy().reshape(-1, 49)
    features = edge_strength(x)
    assert features.shape == (16, 49)
    np.testing.assert_allclose(features, expected, atol=1e-6)


def test_edge_strength_is_not_a_weighted_sum_and_ignores_constant_images():
    x = _random_images(seed=3)
    assert not np.allclose(edge_strength(x), x @ edge_strength(np.eye(784)), atol=1e-3)
    np.testing.assert_array_equal(edge_strength(np.full((2, 784), 0.7)), np.zeros((2, 49)))


def test_features_reject_images_of_the_wrong_size():
    with pytest.raises(ValueError):
        ink_profiles(np.zeros((2, 783)))
    with pytest.raises(ValueError):
        edge_strength(np.zeros((2, 783)))
