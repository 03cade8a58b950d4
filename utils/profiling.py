"""Where a training step's time goes, and how close it comes to what the processor can do.

* :func:`layer_times` times each layer of a ``keras.Sequential`` model on one batch of its own
  activations: the forward pass alone, and the forward pass with its backward pass (gradients
  with respect to the layer's input and weights), each as the median of several timed calls.
* :func:`optimizer_ms` times one optimizer update of all the model's weights.
* :func:`forward_flops` counts the floating-point operations of one example's forward pass,
  layer by layer (convolutions and dense layers: 2 per multiply-add; the rest is counted as free,
  which it nearly is: ``tests/test_profiling.py`` compares the total with TensorFlow's own
  profiler). Training costs about three forward passes: the backward pass computes two products
  per layer (the gradient with respect to the input and the one with respect to the weights).
* :func:`matmul_gflops` measures what this device reaches on a large float32 matrix product, the
  most favourable work there is: the practical peak a model's throughput is compared with;
  :func:`nominal_peak_gflops` is the processor's paper peak, where it can be read.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from pathlib import Path

from ._checks import check_int

CPUINFO = Path("/proc/cpuinfo")  # a module attribute so tests can point it elsewhere


def _median_ms(function, argument, repeats: int, calls: int, best: bool = False) -> float:
    function(argument)  # trace and warm up
    function(argument)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = function(argument)
        _ = [float(r.numpy().ravel()[0]) for r in _flatten(result)]  # wait for the result
        samples.append((time.perf_counter() - start) / calls * 1e3)
    return min(samples) if best else statistics.median(samples)


def _flatten(result):
    if isinstance(result, list | tuple):
        out = []
        for item in result:
            out += _flatten(item)
        return out
    return [result]


def layer_times(model, batch, *, repeats: int = 5, calls: int = 3) -> list[dict]:
    """One row per layer of a built ``keras.Sequential`` ``model``: ``layer``, ``kind`` (the
    class name), ``forward_ms`` and ``forward_backward_ms`` on ``batch`` (the model's input),
    medians of ``repeats`` timings of ``calls`` calls each, in training mode. The backward pass
    computes what training needs: the gradients for the layer's weights and, except for the
    first layer, for its input."""
    import keras
    import tensorflow as tf

    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential, got {type(model).__name__}")
    repeats = check_int("repeats", repeats, minimum=1)
    calls = check_int("calls", calls, minimum=1)
    activation = tf.convert_to_tensor(batch)
    rows = []
    for index, layer in enumerate(model.layers):

        @tf.function
        def forward(inputs, layer=layer):
            return layer(inputs, training=True)

        @tf.function
        def forward_backward(inputs, layer=layer, first=index == 0):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                loss = tf.reduce_sum(tf.cast(layer(inputs, training=True), "float32"))
            # training never needs the gradient with respect to the images themselves
            targets = list(layer.trainable_weights) if first else [inputs, *layer.trainable_weights]
            return tape.gradient(loss, targets) if targets else [loss]

        rows.append(
            {
                "layer": layer.name,
                "kind": type(layer).__name__,
                "forward_ms": _median_ms(forward, activation, repeats, calls),
                "forward_backward_ms": _median_ms(forward_backward, activation, repeats, calls),
            }
        )
        activation = layer(activation, training=False)
    return rows


def optimizer_ms(model, *, repeats: int = 5, calls: int = 3) -> float:
    """Median milliseconds of one update of all trainable weights by the compiled model's
    optimizer (gradients of ones; the values do not change the time)."""
    import tensorflow as tf

    if getattr(model, "optimizer", None) is None:
        raise TypeError("model must be compiled (it needs an optimizer)")
    variables = model.trainable_variables
    gradients = [tf.ones_like(v) * 1e-6 for v in variables]
    model.optimizer.build(variables)

    @tf.function
    def update(_):
        model.optimizer.apply(gradients, variables)
        return variables[0]

    return _median_ms(update, tf.constant(0.0), repeats, calls)


def forward_flops(model) -> list[dict]:
    """Per layer of a built model: ``layer``, ``kind`` and ``flops``, the floating-point
    operations of one example's forward pass (Conv2D, DepthwiseConv2D and Dense; others 0)."""
    import keras

    rows = []
    for layer in model.layers:
        flops = 0
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, height, width, channels = layer.output.shape
            kh, kw = layer.kernel_size
            flops = 2 * height * width * channels * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, out_channels = layer.output.shape
            in_channels = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            flops = 2 * height * width * out_channels * kh * kw * in_channels // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            flops = 2 * int(layer.input.shape[-1]) * layer.units
        rows.append({"layer": layer.name, "kind": type(layer).__name__, "flops": int(flops)})
    return rows


def matmul_gflops(size: int = 2048, *, repeats: int = 5) -> float:
    """GFLOP/s of a ``size`` × ``size`` float32 matrix product on the default device, the best
    of ``repeats`` timings (a peak: the least disturbed one): the practical peak of dense float32
    arithmetic here."""
    import tensorflow as tf

    size = check_int("size", size, minimum=16)
    a = tf.random.stateless_normal((size, size), seed=(1, 2))
    b = tf.random.stateless_normal((size, size), seed=(3, 4))
    product = tf.function(lambda x: tf.matmul(x, b))
    ms = _median_ms(product, a, check_int("repeats", repeats, minimum=1), 3, best=True)
    return 2 * size**3 / (ms * 1e-3) / 1e9


def nominal_peak_gflops() -> dict | None:
    """The processor's paper float32 peak, where ``/proc/cpuinfo`` tells enough: ``cores`` (the
    ones this process may use) × ``ghz`` (the listed clock) × ``flops_per_cycle`` (32 with two
    AVX2/AVX-512 FMA units of 8 / 16 float32 lanes: 2 × lanes × 2). None when it cannot."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return None
    flags = (
        set(re.search(r"^flags\s*:\s*(.*)$", text, re.M).group(1).split())
        if "flags" in text
        else set()
    )
    clock = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    if clock is None or "fma" not in flags:
        return None
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else None
    if lanes is None:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ghz = float(clock.group(1)) / 1e3
    per_cycle = 2 * lanes * 2  # two FMA units, each lane a multiply and an add
    return {
        "cores": cores,
        "ghz": ghz,
        "flops_per_cycle": per_cycle,
        "gflops": cores * ghz * per_cycle,
    }
