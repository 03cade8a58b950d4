"""21_online_vs_batch_learning: the scratch drifting stream and prequential evaluation.

* drift_schedule: fractions in [0, 1], non-decreasing, 0 up to the start, exactly linear on the
  ramp, 1 from its end on; ramp=0 is a step; bad arguments raise.
* drifting_stream: the same batches for the same seed (another order for another seed); every
  example at most once; the new-concept fraction of every batch is the schedule's (the count is
  floor(w*B + 1/2), so within 1/(2B)); new examples are transform(x[index]) and the others
  x[index] untouched, at random positions; labels are y[index]; the order and labels do not
  depend on the schedule; the pool is never modified; a pool too small raises.
* windowed_accuracy against scikit-learn's accuracy_score on the same slices (1e-12).
* prequential against a hand-written predict / score / train loop on a second, identically
  seeded Keras model: every batch is scored with the weights from *before* it (bit for bit), and
  the final weights are those of train_on_batch on the batches in order.
* Keras itself: train_on_batch is one optimizer step of fit on the same batch (same seed;
  SGD with momentum and Adam, with and without dropout): weights to 1e-6, loss to 1e-6,
  optimizer.iterations == 1; train_on_batch batch after batch over a dataset is one epoch of
  fit(shuffle=False) (weights to 1e-6); its loss and accuracy are those of the batch before the
  step (metrics reset on every call).
"""

import keras
import numpy as np
import pytest
from nbcode import scratch
from sklearn.metrics import accuracy_score

ns = scratch("21_online_vs_batch_learning")
drift_schedule = ns["drift_schedule"]
quarter_turn = ns["quarter_turn"]
drifting_stream = ns["drifting_stream"]
prequential = ns["prequential"]
windowed_accuracy = ns["windowed_accuracy"]

ATOL = 1e-6
FEATURES, CLASSES = 6, 3


def _pool(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 5, 5), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    return x, y


def _stream(schedule, batch_size=8, seed=0, pool=None, transform=quarter_turn):
    x, y = pool if pool is not None else _pool()
    return list(drifting_stream(x, y, schedule, batch_size, transform, seed=seed))


# ------------------------------------------------------------------ the drift schedule
@pytest.mark.parametrize(("n", "start", "ramp"), [(30, 10, 5), (30, 0, 30), (12, 4, 1), (9, 20, 3)])
def test_schedule_ramps_linearly_from_0_to_1(n, start, ramp):
    w = drift_schedule(n, start, ramp)
    t = np.arange(n)
    assert w.shape == (n,) and w.dtype == np.float64
    assert np.all((w >= 0) & (w <= 1)) and np.all(np.diff(w) >= 0)
    assert np.all(w[t <= start] == 0)
    assert np.all(w[t >= start + ramp] == 1)
    on = (t > start) & (t < start + ramp)
    np.testing.assert_allclose(w[on], (t[on] - start) / ramp, rtol=0, atol=1e-12)


def test_schedule_ramp_zero_is_a_sudden_switch():
    np.testing.assert_array_equal(drift_schedule(8, 3, 0), [0, 0, 0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(drift_schedule(4, 0, 0), np.ones(4))


@pytest.mark.parametrize(
    "bad", [{"n_batches": -1}, {"start": 2.5}, {"ramp": -3}, {"ramp": True}, {"start": None}]
)
def test_schedule_rejects_bad_arguments(bad):
    args = {"n_batches": 10, "start": 2, "ramp": 3, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        drift_schedule(**args)


# ------------------------------------------------------------------ the stream
def test_quarter_turn_rotates_every_image_a_quarter():
    img = np.arange(9).reshape(1, 3, 3)
    np.testing.assert_array_equal(quarter_turn(img)[0], [[2, 5, 8], [1, 4, 7], [0, 3, 6]])
    x, _ = _pool(7)
    turned = quarter_turn(x)
    for i in range(len(x)):
        np.testing.assert_array_equal(turned[i], np.rot90(x[i]))
    np.testing.assert_array_equal(quarter_turn(quarter_turn(quarter_turn(turned))), x)


def test_stream_is_deterministic_and_depends_on_the_seed():
    w = drift_schedule(20, 5, 10)
    a, b, c = _stream(w, seed=3), _stream(w, seed=3), _stream(w, seed=4)
    assert len(a) == len(b) == 20
    for batch_a, batch_b in zip(a, b, strict=True):
        for part_a, part_b in zip(batch_a, batch_b, strict=True):
            np.testing.assert_array_equal(part_a, part_b)
    assert not all(np.array_equal(ba[3], bc[3]) for ba, bc in zip(a, c, strict=True))
    assert not all(np.array_equal(ba[2], bc[2]) for ba, bc in zip(a, c, strict=True))


def test_every_example_arrives_at_most_once():
    pool = _pool(400)
    for batch_size, n_batches in ((8, 50), (7, 57), (400, 1)):  # 400, 399 and 400 examples
        batches = _stream(drift_schedule(n_batches, 3, 20), batch_size, pool=pool)
        index = np.concatenate([b[3] for b in batches])
        assert len(index) == n_batches * batch_size == len(np.unique(index))
        assert index.min() >= 0 and index.max() < 400


@pytest.mark.parametrize("ramp", [0, 7, 25])
def test_new_fraction_and_content_follow_the_schedule(ramp):
    x, y = _pool()
    x_copy = x.copy()
    batch_size = 10
    w = drift_schedule(40, 8, ramp)
    batches = _stream(w, batch_size, pool=(x, y))
    for t, (xb, yb, new, index) in enumerate(batches):
        assert xb.shape == (batch_size, 5, 5) and xb.dtype == x.dtype and new.dtype == bool
        assert new.sum() == np.floor(w[t] * batch_size + 0.5)
        assert abs(new.mean() - w[t]) <= 0.5 / batch_size
        np.testing.assert_array_equal(yb, y[index])  # labels never change
        np.testing.assert_array_equal(xb[~new], x[index[~new]])
        np.testing.assert_array_equal(xb[new], np.rot90(x[index[new]], 1, axes=(1, 2)))
    np.testing.assert_array_equal(x, x_copy)  # the pool is not modified
    assert sum(b[2].sum() for b in batches) == sum(np.floor(w * batch_size + 0.5))


def test_stream_uses_any_transform():
    x, y = _pool()
    for xb, _, new, index in _stream(
        np.linspace(0, 1, 12), pool=(x, y), transform=lambda im: 255 - im
    ):
        np.testing.assert_array_equal(xb[new], 255 - x[index[new]])
        np.testing.assert_array_equal(xb[~new], x[index[~new]])


def test_new_examples_sit_at_random_positions():
    batches = _stream(np.full(40, 0.5), batch_size=8)
    new = np.stack([b[2] for b in batches])
    assert np.all(new.sum(axis=1) == 4)
    assert new.any(axis=0).all() and (~new).any(axis=0).all()  # every position is both, at times
    assert len({tuple(row) for row in new}) > 10


def test_schedule_does_not_change_order_or_labels():
    x, y = _pool()
    drifting = _stream(drift_schedule(30, 5, 10), pool=(x, y))
    stable = _stream(np.zeros(30), pool=(x, y))
    for (xd, yd, nd, idx_d), (xs, ys, ns_, idx_s) in zip(drifting, stable, strict=True):
        np.testing.assert_array_equal(idx_d, idx_s)
        np.testing.assert_array_equal(yd, ys)
        np.testing.assert_array_equal(xs, x[idx_s])
        assert not ns_.any()
        np.testing.assert_array_equal(xd[~nd], xs[~nd])
    assert sum(b[2].sum() for b in drifting) > 0


def test_stream_rejects_a_pool_too_small_and_a_bad_schedule():
    x, y = _pool(100)
    assert len(list(drifting_stream(x, y, np.zeros(12), 8, quarter_turn))) == 12  # 96 fit
    with pytest.raises(ValueError, match="examples"):
        list(drifting_stream(x, y, np.zeros(13), 8, quarter_turn))  # 104 do not
    for bad in (np.full(3, 1.5), np.full(3, -0.1), np.zeros((2, 2))):
        with pytest.raises(ValueError, match="schedule"):
            list(drifting_stream(x, y, bad, 8, quarter_turn))


# ------------------------------------------------------------------ windowed accuracy
def _predictions(n_batches=40, batch_size=16, seed=5):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, (n_batches, batch_size))
    p_right = np.linspace(0.2, 0.9, n_batches)[:, None]  # accuracy that changes over time
    y_pred = np.where(rng.random((n_batches, batch_size)) < p_right, y_true, (y_true + 1) % 4)
    return y_true, y_pred


@pytest.mark.parametrize("k", [1, 3, 10, 40, 100])
def test_windowed_accuracy_matches_sklearn_on_slices(k):
    y_true, y_pred = _predictions()
    acc = windowed_accuracy(y_pred == y_true, k)
    assert acc.shape == (len(y_true),)
    for t in range(len(y_true)):
        s = slice(max(0, t - k + 1), t + 1)
        expected = accuracy_score(y_true[s].ravel(), y_pred[s].ravel())
        assert acc[t] == pytest.approx(expected, abs=1e-12), t


def test_windowed_accuracy_one_example_per_batch_and_bad_k():
    correct = np.array([1, 0, 0, 1, 1], dtype=bool)  # (n_batches,) is one example per batch
    np.testing.assert_allclose(windowed_accuracy(correct, 2), [1, 0.5, 0, 0.5, 1], atol=1e-12)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="k"):
            windowed_accuracy(correct, bad)


# ------------------------------------------------------------------ prequential evaluation
def _model(optimizer="sgd", dropout=False, seed=1):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((FEATURES,)), keras.layers.Dense(16, activation="relu")]
    layers += [keras.layers.Dropout(0.3)] if dropout else []
    model = keras.Sequential([*layers, keras.layers.Dense(CLASSES, activation="softmax")])
    opt = (
        keras.optimizers.SGD(0.3, momentum=0.9)
        if optimizer == "sgd"
        else keras.optimizers.Adam(0.01)
    )
    model.compile(opt, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _batches(n_batches=12, batch_size=16, seed=2):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(FEATURES, CLASSES))
    out = []
    for t in range(n_batches):
        x = rng.normal(size=(batch_size, FEATURES)).astype("float32")
        flip = -1.0 if t >= n_batches // 2 else 1.0  # a concept change half-way
        out.append((x, np.argmax(flip * x @ w, axis=1)))
    return out


def _max_diff(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a, b, strict=True))


def test_prequential_scores_each_batch_before_training_on_it():
    batches = _batches()
    ours, ref = _model(), _model()
    correct = prequential(
        batches,
        lambda x: ours.predict_on_batch(x).argmax(axis=1),
        lambda x, y: ours.train_on_batch(x, y),
    )
    assert correct.shape == (12, 16) and correct.dtype == bool
    after_step = []
    for t, (x, y) in enumerate(batches):  # test, score, then train: by hand
        pred = ref.predict_on_batch(x).argmax(axis=1)
        np.testing.assert_array_equal(correct[t], pred == y)
        assert correct[t].mean() == accuracy_score(y, pred)
        ref.train_on_batch(x, y)
        after_step.append(accuracy_score(y, ref.predict_on_batch(x).argmax(axis=1)))
    assert _max_diff(ours.get_weights(), ref.get_weights()) == 0.0
    # the order matters here: scored after its own step, a batch looks easier
    assert np.mean(after_step) > correct.mean() + 0.05


def test_prequential_with_a_frozen_model_is_plain_accuracy():
    batches = [(x, y, "extra", "fields") for x, y in _batches()]  # extra fields pass through
    model = _model()
    before = model.get_weights()
    correct = prequential(batches, lambda x: model.predict_on_batch(x).argmax(1), lambda x, y: 0)
    x_all = np.concatenate([b[0] for b in batches])
    y_all = np.concatenate([b[1] for b in batches])
    expected = accuracy_score(y_all, model.predict(x_all, verbose=0).argmax(1))
    assert correct.mean() == pytest.approx(expected, abs=1e-12)
    assert _max_diff(before, model.get_weights()) == 0.0


# ------------------------------------------------------------------ train_on_batch vs fit
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dropout", [False, True])
def test_train_on_batch_is_one_optimizer_step_of_fit(optimizer, dropout):
    x, y = _batches(1, 32)[0]
    by_fit, by_tob = _model(optimizer, dropout), _model(optimizer, dropout)
    start = by_fit.get_weights()
    keras.utils.set_random_seed(9)  # the dropout masks
    hist = by_fit.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    keras.utils.set_random_seed(9)
    logs = by_tob.train_on_batch(x, y, return_dict=True)
    assert int(by_fit.optimizer.iterations.numpy()) == int(by_tob.optimizer.iterations.numpy()) == 1
    assert _max_diff(by_fit.get_weights(), by_tob.get_weights()) < ATOL
    assert _max_diff(start, by_tob.get_weights()) > 1e-3  # and the step did move the weights
    assert logs["loss"] == pytest.approx(hist["loss"][0], abs=ATOL)
    assert logs["accuracy"] == pytest.approx(hist["accuracy"][0], abs=ATOL)


def test_train_on_batch_over_a_dataset_is_one_epoch_of_fit():
    batches = _batches(6, 16)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    by_fit, by_tob = _model("adam"), _model("adam")
    hist = by_fit.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    losses = [by_tob.train_on_batch(xb, yb)[0] for xb, yb in batches]
    assert int(by_tob.optimizer.iterations.numpy()) == 6
    assert _max_diff(by_fit.get_weights(), by_tob.get_weights()) < ATOL
    # fit reports the mean of the batch losses (each before its own step)
    assert np.mean(losses) == pytest.approx(hist["loss"][0], rel=1e-5)


def test_train_on_batch_scores_the_batch_before_its_step():
    model = _model("sgd")
    for x, y in _batches(4, 16):
        probs = model.predict_on_batch(x)
        logs = model.train_on_batch(x, y, return_dict=True)  # metrics reset on every call
        assert logs["accuracy"] == pytest.approx(accuracy_score(y, probs.argmax(1)), abs=ATOL)
        ce = -np.mean(np.log(probs[np.arange(len(y)), y].astype("float64")))
        assert logs["loss"] == pytest.approx(ce, abs=1e-5)
