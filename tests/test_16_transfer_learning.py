"""16_transfer_learning: the scratch parameter counts, freezing, batch-norm rule, EfficientNet head.

* count_params (from layer shapes and trainable flags) against the weights Keras reports as
  trainable / non-trainable, for Conv2D / Dense / BatchNormalization models with and without
  biases, nested models and several freezing set-ups, including a layer unfrozen inside a frozen
  base, which Keras 3 trains (exact integers).
* freeze_all_but against Keras: the variables the model reports as trainable are exactly those
  of the named layers (batch norm only with train_bn), and after fit() exactly those changed;
  frozen batch-norm layers keep their moving statistics, unfrozen ones do not.
* batch_norm / moving_update against keras.layers.BatchNormalization for all four
  (training, trainable) cases, on 2-D and 4-D inputs (float32; tolerance 1e-5 relative+absolute).
* digits_to_28 (scikit-learn's 8x8 digits as the base's 28x28 input) against keras.layers.Rescaling
  and Resizing (bilinear) on the real digits: shape, dtype, range, every value (tolerance 1e-6);
  wrong shapes and grey levels outside 0..16 are refused.
* read_prescription (section 7's verdict per corner): the best, a tie with the best, worse than
  the best, "cannot tell" (one seed), and an unknown strategy.
* efficientnet_classifier built with weights=None (no download): frozen base, the trainable
  weights after unfreezing the top block, and one training step that leaves the frozen layers
  untouched.
"""

import math

import keras
import numpy as np
import pytest
from nbcode import scratch

ns = scratch("16_transfer_learning")
count_params = ns["count_params"]
layer_params = ns["layer_params"]
freeze_all_but = ns["freeze_all_but"]
batch_norm = ns["batch_norm"]
moving_update = ns["moving_update"]
efficientnet_classifier = ns["efficientnet_classifier"]
digits_to_28 = ns["digits_to_28"]
read_prescription = ns["read_prescription"]

L = keras.layers


def _keras_counts(model):
    n = lambda ws: sum(math.prod(w.shape) for w in ws)  # noqa: E731
    return n(model.trainable_weights), n(model.non_trainable_weights)


def _cnn(bias=False, center=True, scale=True, widths=(4, 8, 6)):
    layers = [keras.Input((12, 12, 2))]
    for i, f in enumerate(widths, start=1):
        layers += [
            L.Conv2D(f, 3, padding="same", use_bias=bias, name=f"block{i}_conv"),
            L.BatchNormalization(center=center, scale=scale, name=f"block{i}_bn"),
            L.Activation("relu", name=f"block{i}_relu"),
        ]
        layers.append(L.MaxPooling2D(name=f"block{i}_pool") if i < len(widths) else L.Flatten())
    return keras.Sequential(layers, name="base")


def _classifier(base, n_out=3, hidden=None):
    inputs = keras.Input((12, 12, 2))
    x = base(inputs)
    if hidden:
        x = L.Dense(hidden, activation="relu", name="hidden")(x)
    return keras.Model(inputs, L.Dense(n_out, name="head")(x))


# ------------------------------------------------------------------ parameter counts
@pytest.mark.parametrize(
    "kw", [{}, {"bias": True}, {"center": False}, {"scale": False}, {"widths": (3, 5, 7)}]
)
@pytest.mark.parametrize(
    "setup",
    [
        "none",
        "base_frozen",
        "top_bn_frozen",
        "top_bn_trainable",
        "all_frozen",
        "head_frozen",
        "inner_unfrozen",
    ],
)
def test_count_params_matches_keras(kw, setup):
    base = _cnn(**kw)
    model = _classifier(base, hidden=5)
    if setup == "base_frozen":
        base.trainable = False
    elif setup == "top_bn_frozen":
        freeze_all_but(base, ["block3"])
    elif setup == "top_bn_trainable":
        freeze_all_but(base, ["block3"], train_bn=True)
    elif setup == "all_frozen":
        model.trainable = False
    elif setup == "head_frozen":
        model.get_layer("head").trainable = False
    elif setup == "inner_unfrozen":  # Keras 3: the layer's own flag decides, not the base's
        base.trainable = False
        base.get_layer("block3_conv").trainable = True
    ours = count_params(model)
    assert ours == _keras_counts(model)
    assert sum(ours) == model.count_params()


def test_layer_params_by_formula():
    base = _cnn(bias=True, widths=(4, 8, 6))
    _classifier(base)
    assert layer_params(base.get_layer("block2_conv")) == (3 * 3 * 4 * 8 + 8, 0)
    assert layer_params(base.get_layer("block2_bn")) == (2 * 8, 2 * 8)
    assert layer_params(base.get_layer("block2_relu")) == (0, 0)


def test_count_params_rejects_unknown_weighted_layers():
    model = keras.Sequential([keras.Input((8, 8, 3)), L.DepthwiseConv2D(3), L.Flatten()])
    with pytest.raises(ValueError, match="DepthwiseConv2D"):
        count_params(model)


# ------------------------------------------------------------------ freezing
def _names(weights):
    return sorted(w.path for w in weights)


@pytest.mark.parametrize("train_bn", [False, True])
@pytest.mark.parametrize("prefixes", [["block3"], ["block2", "block3"], ["block"]])
def test_freeze_all_but_matches_keras_trainable_weights(prefixes, train_bn):
    base = _cnn()
    model = _classifier(base)
    base.trainable = False  # freeze_all_but must undo this for the named layers
    unfrozen = freeze_all_but(base, prefixes, train_bn=train_bn)
    expected = [
        layer
        for layer in base.layers
        if layer.weights
        and layer.name.startswith(tuple(prefixes))
        and (train_bn or not isinstance(layer, L.BatchNormalization))
    ]
    assert unfrozen == [layer.name for layer in expected]
    want = [w for layer in expected for w in layer.trainable_weights]
    assert base.trainable and _names(base.trainable_weights) == _names(want)  # the base's view
    want += model.get_layer("head").trainable_weights
    assert _names(model.trainable_weights) == _names(want)


@pytest.mark.parametrize("train_bn", [False, True])
def test_only_unfrozen_weights_change_in_fit(train_bn):
    keras.utils.set_random_seed(0)
    base = _cnn()
    model = _classifier(base)
    freeze_all_but(base, ["block3"], train_bn=train_bn)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 12, 12, 2)) * 3 + 1).astype("float32")  # stats far from 0/1
    y = rng.integers(0, 3, 64)
    before = {w.path: np.array(w.numpy()) for w in model.weights}
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    changed = {w.path for w in model.weights if not np.array_equal(w.numpy(), before[w.path])}
    expected = {w.path for w in model.trainable_weights}
    top_bn = base.get_layer("block3_bn")
    if train_bn:  # training mode: the moving statistics move too
        expected |= {top_bn.moving_mean.path, top_bn.moving_variance.path}
    assert changed == expected
    assert (top_bn.gamma.path in changed) == train_bn


# ------------------------------------------------------------------ batch-norm rule
@pytest.mark.parametrize("shape", [(32, 6), (16, 5, 5, 6)])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("momentum", [0.99, 0.5])
def test_batch_norm_matches_keras(shape, training, trainable, momentum):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 2 + 0.5).astype("float32")
    c = shape[-1]
    gamma, beta = rng.normal(size=c).astype("float32"), rng.normal(size=c).astype("float32")
    mean, var = rng.normal(size=c).astype("float32"), rng.uniform(0.5, 2, c).astype("float32")
    layer = L.BatchNormalization(momentum=momentum)
    layer.build(shape)
    layer.set_weights([gamma, beta, mean, var])
    layer.trainable = trainable
    out = keras.ops.convert_to_numpy(layer(x, training=training))
    ours = batch_norm(x, gamma, beta, mean, var, training=training, trainable=trainable)
    np.testing.assert_allclose(out, ours, rtol=1e-5, atol=1e-5)
    new_mean, new_var = layer.get_weights()[2:]
    if training and trainable:
        want_mean, want_var = moving_update(mean, var, x, momentum=momentum)
        np.testing.assert_allclose(new_mean, want_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(new_var, want_var, rtol=1e-5, atol=1e-6)
        assert not np.allclose(new_mean, mean)
    else:
        np.testing.assert_array_equal(new_mean, mean)
        np.testing.assert_array_equal(new_var, var)
    # the two modes really differ on these inputs: the test can tell them apart
    other = batch_norm(x, gamma, beta, mean, var, training=True, trainable=True)
    assert (
        np.abs(other - batch_norm(x, gamma, beta, mean, var, training=False, trainable=True)).max()
        > 0.1
    )


# ------------------------------------------------------------------ EfficientNetB0 path
def test_efficientnet_classifier_without_download():
    keras.utils.set_random_seed(0)
    model, base = efficientnet_classifier(5, image_size=32, weights=None)
    assert model.output_shape == (None, 5)
    assert not base.trainable
    assert _keras_counts(model)[0] == 1280 * 5 + 5  # the head only
    unfrozen = freeze_all_but(base, ["block7", "top_"])
    assert unfrozen and all(n.startswith(("block7", "top_")) for n in unfrozen)
    assert not any(isinstance(base.get_layer(n), L.BatchNormalization) for n in unfrozen)
    want = [w for n in unfrozen for w in base.get_layer(n).trainable_weights]
    want += model.get_layer("head").trainable_weights
    assert _names(model.trainable_weights) == _names(want)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(8, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 5, 8)
    before = {w.path: np.array(w.numpy()) for w in model.weights}
    hist = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
    changed = {w.path for w in model.weights if not np.array_equal(w.numpy(), before[w.path])}
    # only trainable weights move (BN statistics stay put); random-init paths may get no gradient
    assert changed <= {w.path for w in model.trainable_weights}
    assert {"head/kernel", "top_conv/kernel"} <= changed


# ------------------------------------------------------------------ section 7: the digits target
def test_digits_to_28_matches_keras_resizing():
    from sklearn.datasets import load_digits

    images = load_digits().images
    ours = digits_to_28(images)
    assert ours.shape == (len(images), 28, 28, 1) and ours.dtype == np.float32
    assert ours.min() >= 0.0 and ours.max() <= 1.0 and ours.max() > 0.9
    keras_way = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Rescaling(1 / 16), L.Resizing(28, 28, interpolation="bilinear")]
    )
    np.testing.assert_allclose(ours, keras_way(images[..., None]).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "images", [np.zeros((3, 28, 28)), np.zeros((3, 8, 8, 1)), np.full((2, 8, 8), 17.0)]
)
def test_digits_to_28_refuses_bad_input(images):
    with pytest.raises(ValueError):
        digits_to_28(images)


def test_read_prescription():
    accuracies = {"from scratch": 0.70, "frozen features": 0.80, "fine-tune top block": 0.79}
    tied = ["fine-tune top block"]
    assert read_prescription(accuracies, tied, ("frozen features",)) == "the best"
    assert read_prescription(accuracies, tied, ("fine-tune top block",)) == "tied with the best"
    assert read_prescription(accuracies, tied, ("from scratch", "frozen features")) == "the best"
    either = ("from scratch", "fine-tune top block")
    assert read_prescription(accuracies, tied, either) == "tied with the best"
    assert read_prescription(accuracies, [], ("fine-tune top block",)) == "worse than the best"
    assert read_prescription(accuracies, [], ("from scratch",)) == "worse than the best"
    # one seed: behind the best beyond the test draw's noise, training noise unmeasured
    unclear = ["from scratch", "fine-tune top block"]
    assert read_prescription(accuracies, [], ("from scratch",), unclear) == "cannot tell"
    assert read_prescription(accuracies, tied, either, unclear) == "tied with the best"
    assert read_prescription(accuracies, [], ("frozen features",), unclear) == "the best"
    for bad in (("fine-tune all blocks",), ()):
        with pytest.raises(ValueError):
            read_prescription(accuracies, [], bad)
