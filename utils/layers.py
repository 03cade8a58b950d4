"""Layers a lesson times against Keras's own: a fused batch normalization.

Keras 3's ``BatchNormalization`` on the TensorFlow backend computes the batch moments and then
normalizes with separate operations. TensorFlow also has one **fused** kernel that does both
(``tf.compat.v1.nn.fused_batch_norm``, the one Keras 2 used). :class:`FusedBatchNormalization` is
a drop-in layer for 4-D channels-last inputs (convolution outputs) that calls it, so notebook 23
can time whether fusing is what makes batch norm cost what it costs. It computes the same thing
as ``keras.layers.BatchNormalization(axis=-1)`` with the same ``momentum`` and ``epsilon``: the
same outputs in training and inference and the same moving mean and variance (the fused kernel
returns the Bessel-corrected batch variance; the layer converts it back to the biased one Keras
keeps). ``tests/test_layers.py`` checks this numerically against Keras.
"""

from __future__ import annotations

import keras

from ._checks import check_number


@keras.saving.register_keras_serializable(package="utils")
class FusedBatchNormalization(keras.layers.Layer):
    """Batch normalization of NHWC inputs through TensorFlow's fused kernel."""

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(check_number("momentum", momentum, minimum=0.0, maximum=1.0))
        self.epsilon = float(check_number("epsilon", epsilon, minimum=1e-12))

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"input_shape must be 4-D (batch, height, width, channels), got {input_shape}"
            )
        channels = int(input_shape[-1])
        self.gamma = self.add_weight(
            shape=(channels,), initializer="ones", name="gamma", autocast=False
        )
        self.beta = self.add_weight(
            shape=(channels,), initializer="zeros", name="beta", autocast=False
        )
        self.moving_mean = self.add_weight(
            shape=(channels,),
            initializer="zeros",
            name="moving_mean",
            trainable=False,
            autocast=False,
        )
        self.moving_variance = self.add_weight(
            shape=(channels,),
            initializer="ones",
            name="moving_variance",
            trainable=False,
            autocast=False,
        )

    def call(self, inputs, training=False):
        import tensorflow as tf

        dtype = inputs.dtype  # the weights are float32 even under mixed precision (autocast off)
        x = tf.cast(inputs, "float32")  # statistics in float32, as Keras keeps them
        gamma = tf.cast(self.gamma, "float32")
        beta = tf.cast(self.beta, "float32")
        if training:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
            )
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), "float32")
            biased = variance * (count - 1.0) / count  # the kernel's variance is Bessel-corrected
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum + biased * (1 - self.momentum)
            )
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x,
                gamma,
                beta,
                mean=tf.cast(self.moving_mean, "float32"),
                variance=tf.cast(self.moving_variance, "float32"),
                epsilon=self.epsilon,
                data_format="NHWC",
                is_training=False,
            )
        return tf.cast(y, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
