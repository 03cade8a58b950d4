"""utils.profiling: FLOP counts against TensorFlow's profiler; timings are positive and named."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import profiling


def small_cnn():
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.DepthwiseConv2D(3),
            keras.layers.Conv2D(6, 1, strides=2),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ]
    )
    model.compile(keras.optimizers.Adam(), keras.losses.MeanSquaredError())
    return model


def tensorflow_flops(model, kinds=("Conv2D", "DepthwiseConv2dNative", "MatMul")) -> int:
    """TensorFlow's own count (its profiler's float_operation), for the ops named."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda x: model(x, training=False))
    spec = tf.TensorSpec((1, *model.input_shape[1:]))
    graph = convert_variables_to_constants_v2(function.get_concrete_function(spec)).graph
    ops = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    ops["output"] = "none"
    report = tf.compat.v1.profiler.profile(graph=graph, options=ops)

    def walk(node):
        yield node
        for child in node.children:
            yield from walk(child)

    names = {op.name: op.type for op in graph.get_operations()}
    return sum(n.float_ops for n in walk(report) if names.get(n.name) in kinds)


def test_forward_flops_agree_with_tensorflows_profiler():
    model = small_cnn()
    rows = profiling.forward_flops(model)
    assert [row["kind"] for row in rows][:2] == ["Conv2D", "MaxPooling2D"]
    assert sum(row["flops"] for row in rows) == tensorflow_flops(model)


def test_layer_times_and_optimizer_time_are_positive():
    model = small_cnn()
    rows = profiling.layer_times(model, np.ones((4, 12, 12, 3), "float32"), repeats=2, calls=1)
    assert [row["layer"] for row in rows] == [layer.name for layer in model.layers]
    assert all(row["forward_ms"] > 0 and row["forward_backward_ms"] > 0 for row in rows)
    assert profiling.optimizer_ms(model, repeats=2, calls=1) > 0


def test_matmul_gflops_is_positive():
    assert profiling.matmul_gflops(64, repeats=2) > 0


@pytest.mark.parametrize(
    "flags, per_cycle", [("fma avx2", 32), ("fma avx2 avx512f", 64), ("avx2", None)]
)
def test_nominal_peak_reads_the_cpu(monkeypatch, tmp_path, flags, per_cycle):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\ncpu MHz\t\t: 2000.000\nflags\t\t: {flags}\n")
    monkeypatch.setattr(profiling, "CPUINFO", cpuinfo)
    peak = profiling.nominal_peak_gflops()
    if per_cycle is None:
        assert peak is None
    else:
        assert peak["flops_per_cycle"] == per_cycle
        assert peak["gflops"] == pytest.approx(peak["cores"] * 2.0 * per_cycle)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="Sequential"):
        profiling.layer_times(object(), np.ones((1, 2)))
    with pytest.raises(TypeError, match="compiled"):
        profiling.optimizer_ms(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    with pytest.raises(ValueError, match="size"):
        profiling.matmul_gflops(2)
