"""utils.layers.FusedBatchNormalization computes what keras.layers.BatchNormalization computes."""

import keras
import numpy as np
import pytest

from utils.layers import FusedBatchNormalization


def pair(momentum=0.9, epsilon=1e-3):
    fused = FusedBatchNormalization(momentum=momentum, epsilon=epsilon)
    reference = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    for layer in (fused, reference):
        layer.build((None, 5, 5, 3))
    weights = [np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])]
    fused.gamma.assign(weights[0]), fused.beta.assign(weights[1])
    reference.gamma.assign(weights[0]), reference.beta.assign(weights[1])
    return fused, reference


def test_training_outputs_and_moving_statistics_match_keras():
    rng = np.random.default_rng(0)
    fused, reference = pair()
    for _ in range(3):
        x = (rng.normal(size=(8, 5, 5, 3)) * [1.0, 3.0, 0.2] + [0.0, 2.0, -1.0]).astype("float32")
        np.testing.assert_allclose(fused(x, training=True), reference(x, training=True), atol=2e-5)
    np.testing.assert_allclose(fused.moving_mean, reference.moving_mean, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance, reference.moving_variance, rtol=1e-5)
    np.testing.assert_allclose(fused(x, training=False), reference(x, training=False), atol=2e-5)


def test_gradients_match_keras():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(1).normal(size=(4, 5, 5, 3)).astype("float32"))
    fused, reference = pair()
    grads = []
    for layer in (fused, reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) ** 2 * tf.range(3, dtype="float32"))
        grads.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    for mine, theirs in zip(*grads, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-4)


def test_in_a_model_under_bfloat16_it_keeps_the_dtype_and_trains():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = keras.Sequential(
            [keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3), FusedBatchNormalization()]
        )
        out = model(np.ones((2, 6, 6, 1), "float32"), training=True)
        assert out.dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="momentum"):
        FusedBatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="input_shape"):
        FusedBatchNormalization().build((None, 3))
