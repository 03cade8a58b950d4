"""20_efficient_models: the scratch parameter/FLOP counter and the symmetric int8 quantiser.

* layer_cost / model_cost parameters against Keras's ``count_params`` (layer by layer and in
  total) for Conv2D (kernel sizes, strides, padding, groups, no bias), DepthwiseConv2D and
  SeparableConv2D (depth multipliers), Dense (on flat and on image inputs) and BatchNormalization;
  output shapes against the shapes Keras gives the layers in a model (exact, integers).
* MACs against formulas worked out by hand on small shapes (exact) and against TensorFlow's
  profiler (``tf.compat.v1.profiler`` with ``float_operation()``) of the traced forward pass: the
  FLOPs of its multiply-add ops (Conv2D, DepthwiseConv2dNative, MatMul) equal 2 × our MACs
  exactly, for batch 1 and batch 3. Grouped convolutions (which Keras runs in a nested function
  the profiler does not enter) against their definition: the sum of the groups' ordinary convs.
* quantize_symmetric: every weight within half a step of scale·q (float32 tolerance 1e-6 of the
  scale), the largest magnitude of each channel maps to ±127, zero channels stay finite; and
  against the int8 integers and scales the TFLite converter stores under dynamic-range
  quantisation (scales to relative 1e-5; integers equal, a rounding tie may differ by one).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("20_efficient_models")
layer_cost = ns["layer_cost"]
model_cost = ns["model_cost"]
quantize_symmetric = ns["quantize_symmetric"]


def _model(input_shape, layers):
    model = keras.Sequential([keras.Input(input_shape), *layers])
    model.build((None, *input_shape))
    return model


def _zoo():
    """Small models covering every layer type and option the counter knows."""
    return {
        "conv": (
            (9, 9, 3),
            [keras.layers.Conv2D(5, 3), keras.layers.Conv2D(4, (3, 2), strides=2, padding="same")],
        ),
        "conv no bias, 1x1, groups": (
            (8, 8, 4),
            [
                keras.layers.Conv2D(6, 1, use_bias=False),
                keras.layers.Conv2D(4, 3, groups=2, padding="same"),
            ],
        ),
        "depthwise": (
            (10, 10, 3),
            [
                keras.layers.DepthwiseConv2D(3, depth_multiplier=2),
                keras.layers.DepthwiseConv2D(5, strides=2),
            ],
        ),
        "separable": (
            (10, 10, 3),
            [
                keras.layers.SeparableConv2D(7, 3, padding="same", depth_multiplier=2),
                keras.layers.SeparableConv2D(4, 3, strides=2, use_bias=False),
            ],
        ),
        "dense on images, pooling, BN": (
            (6, 6, 2),
            [
                keras.layers.Dense(5),
                keras.layers.BatchNormalization(),
                keras.layers.MaxPooling2D(),
                keras.layers.BatchNormalization(center=False),
                keras.layers.Flatten(),
                keras.layers.Dense(7, activation="relu"),
                keras.layers.Dropout(0.5),
                keras.layers.Dense(3, use_bias=False),
            ],
        ),
        "notebook-like": (
            (28, 28, 1),
            [
                keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.SeparableConv2D(32, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(128, 1),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(10),
            ],
        ),
    }


@pytest.mark.parametrize("name", list(_zoo()))
def test_params_and_shapes_match_keras(name):
    input_shape, layers = _zoo()[name]
    model = _model(input_shape, layers)
    rows = model_cost(model)
    assert len(rows) == len(model.layers)
    for row, layer in zip(rows, model.layers, strict=True):
        assert row["params"] == layer.count_params(), (name, layer.name)
        assert row["output"] == tuple(layer.output.shape[1:]), (name, layer.name)
        assert row["FLOPs"] == 2 * row["MACs"]
    assert sum(r["params"] for r in rows) == model.count_params()


# Worked out by hand: (layer, input shape, output shape, params, MACs).
HAND = [
    # 3x3 kernel, 2 -> 4 channels, valid on 5x5: 3x3 outputs, each 3*3*2 MACs per filter
    (
        lambda: keras.layers.Conv2D(4, 3),
        (5, 5, 2),
        (3, 3, 4),
        3 * 3 * 2 * 4 + 4,
        3 * 3 * 4 * (3 * 3 * 2),
    ),
    # stride 2, same padding on 5x5: ceil(5/2) = 3 outputs per side
    (
        lambda: keras.layers.Conv2D(4, 3, strides=2, padding="same"),
        (5, 5, 2),
        (3, 3, 4),
        76,
        3 * 3 * 4 * 18,
    ),
    # two groups: each filter sees 1 of the 2 input channels
    (
        lambda: keras.layers.Conv2D(4, 3, groups=2),
        (5, 5, 2),
        (3, 3, 4),
        3 * 3 * 1 * 4 + 4,
        9 * 4 * 9,
    ),
    (lambda: keras.layers.Conv2D(8, 1, use_bias=False), (4, 4, 3), (4, 4, 8), 24, 16 * 24),
    # depthwise, multiplier 2: 6 output channels, each one 3x3 filter on one input channel
    (
        lambda: keras.layers.DepthwiseConv2D(3, depth_multiplier=2),
        (5, 5, 3),
        (3, 3, 6),
        9 * 6 + 6,
        9 * 6 * 9,
    ),
    # separable: depthwise 3x3 on 3 channels (27 weights), then 1x1 3 -> 4 (12 weights), bias 4
    (lambda: keras.layers.SeparableConv2D(4, 3), (5, 5, 3), (3, 3, 4), 27 + 12 + 4, 9 * (27 + 12)),
    (lambda: keras.layers.Dense(7), (5,), (7,), 5 * 7 + 7, 35),
    (
        lambda: keras.layers.Dense(7),
        (2, 3, 5),
        (2, 3, 7),
        42,
        6 * 35,
    ),  # applied at each of 6 positions
    (lambda: keras.layers.BatchNormalization(), (4, 4, 3), (4, 4, 3), 12, 0),
    (
        lambda: keras.layers.BatchNormalization(center=False, scale=False),
        (4, 4, 3),
        (4, 4, 3),
        6,
        0,
    ),
    (lambda: keras.layers.MaxPooling2D(), (4, 4, 3), (2, 2, 3), 0, 0),
    (lambda: keras.layers.GlobalAveragePooling2D(), (4, 4, 3), (3,), 0, 0),
    (lambda: keras.layers.Flatten(), (4, 4, 3), (48,), 0, 0),
]


@pytest.mark.parametrize("make, shape, out, params, macs", HAND)
def test_costs_match_hand_computed(make, shape, out, params, macs):
    layer = make()
    layer.build((None, *shape))
    assert layer_cost(layer, shape) == (out, params, macs)


def test_model_cost_is_the_sum_of_layer_costs():
    model = _model(
        (12, 12, 2),
        [
            keras.layers.Conv2D(3, 3),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ],
    )
    rows = model_cost(model)
    # conv: 10x10x3 outputs * 18; pool -> 5x5x3 = 75; dense 75 -> 4
    assert [r["MACs"] for r in rows] == [100 * 3 * 18, 0, 0, 75 * 4]
    assert [r["output"] for r in rows] == [(10, 10, 3), (5, 5, 3), (75,), (4,)]


def _profiler_flops(model, batch):
    spec = tf.TensorSpec((batch, *model.input_shape[1:]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    nodes, by_op = [tf.compat.v1.profiler.profile(graph, cmd="op", options=options)], {}
    while nodes:  # the "op" view nests op types: collect each one's own (exclusive) FLOPs
        for child in nodes.pop().children:
            by_op[child.name] = child.float_ops
            nodes.append(child)
    return by_op


MULT_ADD_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2", "BatchMatMulV3")


@pytest.mark.parametrize("name", [n for n in _zoo() if "groups" not in n])  # see below
@pytest.mark.parametrize("batch", [1, 3])
def test_flops_match_tensorflow_profiler(name, batch):
    input_shape, layers = _zoo()[name]
    model = _model(input_shape, layers)
    by_op = _profiler_flops(model, batch)
    theirs = sum(by_op.get(op, 0) for op in MULT_ADD_OPS)
    ours = sum(r["FLOPs"] for r in model_cost(model))
    assert theirs > 0 and theirs == batch * ours, by_op


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_grouped_conv_costs_the_sum_of_its_groups(groups):
    # Keras runs a grouped Conv2D inside a nested function that the profiler does not enter, so
    # we check it against its definition: `groups` ordinary convolutions side by side, each on
    # C_in / groups input channels with C_out / groups filters.
    grouped = keras.layers.Conv2D(6, 3, groups=groups, padding="same")
    grouped.build((None, 8, 8, 6))
    one = keras.layers.Conv2D(6 // groups, 3, padding="same")
    one.build((None, 8, 8, 6 // groups))
    out, params, macs = layer_cost(grouped, (8, 8, 6))
    out_one, params_one, macs_one = layer_cost(one, (8, 8, 6 // groups))
    assert out == (8, 8, 6) and out_one == (8, 8, 6 // groups)
    assert (params, macs) == (groups * params_one, groups * macs_one)
    assert params == grouped.count_params()


@pytest.mark.parametrize(
    "layer",
    [keras.layers.Conv1D(4, 3), keras.layers.LayerNormalization(), keras.layers.Embedding(10, 4)],
    ids=["Conv1D", "LayerNormalization", "Embedding"],
)
def test_unknown_layers_with_weights_are_an_error(layer):
    shape = (6, 3) if not isinstance(layer, keras.layers.Embedding) else (5,)
    layer.build((None, *shape))
    with pytest.raises(ValueError, match="no cost formula"):
        layer_cost(layer, shape)


def test_channels_first_is_an_error():
    layer = keras.layers.Conv2D(4, 3, data_format="channels_first")
    layer.build((None, 2, 6, 6))
    with pytest.raises(ValueError, match="channels_last"):
        layer_cost(layer, (2, 6, 6))


# ------------------------------------------------------------------ quantisation
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_quantize_symmetric_round_trip(axis):
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(3, 3, 8, 16)) * rng.uniform(0.01, 2, size=16)).astype("float32")
    q, scale = quantize_symmetric(w, axis=axis)
    assert q.dtype == np.int8 and q.shape == w.shape
    n_scales = 1 if axis is None else w.shape[axis]
    assert scale.size == n_scales
    assert np.all(np.abs(q.astype(int)) <= 127)
    err = np.abs(w - scale * q.astype("float32"))
    assert np.all(err <= scale / 2 * (1 + 1e-6) + 1e-12)
    amax = np.max(np.abs(w)) if axis is None else np.max(np.abs(np.moveaxis(w, axis, 0)), (1, 2, 3))
    np.testing.assert_allclose(scale.ravel(), amax / 127, rtol=1e-6)
    # the largest weight of each channel (or of the tensor) uses the full range
    top = np.max(np.abs(q)) if axis is None else np.max(np.abs(np.moveaxis(q, axis, 0)), (1, 2, 3))
    assert np.all(top == 127)


def test_quantize_symmetric_zero_channel_and_bits():
    w = np.zeros((4, 3), dtype="float32")
    w[:, 1] = [0.6, -1.0, 0.25, 0.0]
    q, scale = quantize_symmetric(w, axis=-1)
    assert np.all(np.isfinite(scale)) and np.all(q[:, [0, 2]] == 0)
    np.testing.assert_array_equal(
        q[:, 1], [76, -127, 32, 0]
    )  # 0.6 * 127 = 76.2, 0.25 * 127 = 31.75
    q4, s4 = quantize_symmetric(w, axis=None, bits=4)
    assert s4.size == 1 and np.abs(q4).max() == 7
    np.testing.assert_allclose(s4, 1.0 / 7, rtol=1e-6)


def test_quantize_symmetric_matches_tflite_dynamic_range():
    keras.utils.set_random_seed(0)
    model = _model(
        (8, 8, 8),
        [
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(40),
            keras.layers.Dense(3),
        ],
    )
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    flat = converter.convert()
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="no wheel on this platform")
    interp = litert.Interpreter(model_content=flat)
    interp.allocate_tensors()
    stored = {
        tuple(d["shape"]): (interp.get_tensor(d["index"]), d["quantization_parameters"])
        for d in interp.get_tensor_details()
        if d["dtype"] == np.int8 and len(d["shape"]) >= 2
    }
    checked = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        k = layer.kernel.numpy()
        w = k.T if k.ndim == 2 else np.moveaxis(k, -1, 0)  # TFLite: output channels first
        if w.size < 1024:  # the converter keeps small tensors in float
            assert w.shape not in stored
            continue
        q_tfl, qp = stored[w.shape]
        axis = qp["quantized_dimension"] if len(qp["scales"]) > 1 else None
        q, scale = quantize_symmetric(w, axis=axis)
        np.testing.assert_allclose(scale.ravel(), qp["scales"], rtol=1e-5)
        diff = np.abs(q.astype(int) - q_tfl.astype(int))
        assert diff.max() <= 1 and np.mean(diff == 0) > 0.999
        checked += 1
    assert checked == 2  # the conv kernel (3*3*8*16 = 1152) and Dense(40) (576*40); not Dense(3)
    assert math.prod(model.layers[0].kernel.shape) == 1152
