"""17_ensembles_and_weight_averaging: the scratch ensemble averaging, snapshot callback and EMA.

* ensemble_probs / log_loss / accuracy against scikit-learn (float64; tolerance 1e-10).
* CycleSnapshots against keras.optimizers.schedules.CosineDecayRestarts: snapshots are taken
  exactly where the schedule restarts, and hold the weights of the model at that step (checked
  against a second, identically seeded model stopped there; tolerance 1e-6).
* ScratchEMA against Keras's optimizer EMA (use_ema=True, ema_momentum, ema_overwrite_frequency,
  finalize_variable_values at the end of fit): the same seed trains one model each way and the
  weights (and the stored averages) agree to 1e-6 (float32 rounding; in practice bit for bit).
"""

import keras
import numpy as np
import pytest
from nbcode import scratch
from sklearn.metrics import accuracy_score
from sklearn.metrics import log_loss as sk_log_loss

ns = scratch("17_ensembles_and_weight_averaging")
ensemble_probs = ns["ensemble_probs"]
log_loss = ns["log_loss"]
accuracy = ns["accuracy"]
CycleSnapshots = ns["CycleSnapshots"]
ema_update = ns["ema_update"]
ScratchEMA = ns["ScratchEMA"]

N, FEATURES, CLASSES, BATCH = 96, 6, 3, 16  # 6 optimizer steps per epoch
ATOL = 1e-6


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, N)
    return x, y


def _model(optimizer, seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def _np(v):
    return v.numpy() if hasattr(v, "numpy") else np.asarray(v)  # keras.Variable or array


def _max_diff(a, b):
    return max(float(np.abs(_np(u) - _np(v)).max()) for u, v in zip(a, b, strict=True))


# ------------------------------------------------------------------ averaging predictions
def _dirichlet(k, n=200, seed=0):
    return np.random.default_rng(seed).dirichlet(np.ones(CLASSES) * 2, size=(k, n))


def test_ensemble_is_the_mean_of_the_members():
    probs = _dirichlet(4)
    out = ensemble_probs(list(probs))
    assert out.shape == (200, CLASSES)
    np.testing.assert_allclose(out, probs.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(ensemble_probs([probs[0]]), probs[0])  # one member: itself


def test_log_loss_and_accuracy_match_sklearn():
    probs = _dirichlet(1, seed=1)[0]
    y = np.random.default_rng(2).integers(0, CLASSES, len(probs))
    assert log_loss(probs, y) == pytest.approx(sk_log_loss(y, probs), abs=1e-10)
    assert accuracy(probs, y) == pytest.approx(accuracy_score(y, probs.argmax(1)), abs=1e-12)
    assert log_loss(np.eye(CLASSES)[y], y) == pytest.approx(0.0, abs=1e-12)  # certain and right
    wrong = np.eye(CLASSES)[(y + 1) % CLASSES]  # certain and wrong: clipped, not infinite
    assert np.isfinite(log_loss(wrong, y))


def test_ensemble_log_loss_is_at_most_the_members_mean():
    # Jensen: -log is convex, so this holds for any members and labels.
    rng = np.random.default_rng(3)
    for seed in range(5):
        probs = _dirichlet(5, seed=seed)
        y = rng.integers(0, CLASSES, probs.shape[1])
        members = np.mean([log_loss(p, y) for p in probs])
        assert log_loss(ensemble_probs(list(probs)), y) <= members + 1e-12


@pytest.mark.parametrize("bad", [np.ones(5), np.ones((2, 3, 4, 5))])
def test_ensemble_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="prob_list"):
        ensemble_probs([bad])


def test_log_loss_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="probs"):
        log_loss(np.full((4, 3), 1 / 3), np.zeros(5, dtype=int))


# ------------------------------------------------------------------ snapshots at cycle ends
def _cyclic(cycle_steps, peak=0.05):
    return keras.optimizers.schedules.CosineDecayRestarts(
        peak, first_decay_steps=cycle_steps, t_mul=1.0, m_mul=1.0, alpha=0.0
    )


@pytest.mark.parametrize("cycle_steps", [6, 4, 9])  # a whole epoch, and mid-epoch cycle ends
def test_snapshots_are_taken_where_the_schedule_restarts(cycle_steps):
    x, y = _data()
    epochs = 6  # 36 steps
    schedule = _cyclic(cycle_steps)
    model = _model(keras.optimizers.SGD(schedule, momentum=0.9))
    snaps = CycleSnapshots(cycle_steps)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[snaps])
    total = epochs * N // BATCH
    assert snaps.steps == list(range(cycle_steps, total + 1, cycle_steps))
    lr = keras.ops.convert_to_numpy(schedule(np.arange(total + 1)))
    restarts = [s for s in range(1, total + 1) if lr[s] > lr[s - 1]]  # where the rate jumps up
    assert snaps.steps == restarts
    for s in snaps.steps:  # the step before a snapshot used its cycle's lowest rate
        assert lr[s - 1] == lr[s - cycle_steps : s].min() < 0.2 * lr[0]
        assert lr[s] == pytest.approx(lr[0], rel=1e-6)  # and the step after it, the peak again


def test_snapshot_holds_the_weights_at_its_step():
    x, y = _data()
    cycle = 9  # ends mid-epoch: steps 9, 18, 27, 36
    model = _model(keras.optimizers.Adam(_cyclic(cycle, 0.01)))
    snaps = CycleSnapshots(cycle)
    model.fit(x, y, batch_size=BATCH, epochs=6, shuffle=False, verbose=0, callbacks=[snaps])
    assert len(snaps.weights) == 4
    ref = _model(keras.optimizers.Adam(_cyclic(cycle, 0.01)))  # the same seed, step by step
    for step in range(1, snaps.steps[-1] + 1):
        i = (step - 1) % (N // BATCH)  # the same batches as fit(shuffle=False)
        ref.train_on_batch(x[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH])
        if step in snaps.steps:
            assert _max_diff(snaps.weights[snaps.steps.index(step)], ref.get_weights()) < ATOL
    # snapshots are copies: training on does not change them
    assert _max_diff(snaps.weights[-1], model.get_weights()) < ATOL
    assert _max_diff(snaps.weights[0], snaps.weights[-1]) > 1e-3


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_cycle_snapshots_rejects_bad_cycle_steps(bad):
    with pytest.raises(ValueError, match="cycle_steps"):
        CycleSnapshots(bad)


# ------------------------------------------------------------------ EMA against Keras
def test_ema_update_first_step_copies_then_averages():
    rng = np.random.default_rng(4)
    avg, w = rng.normal(size=10).astype("float32"), rng.normal(size=10).astype("float32")
    np.testing.assert_array_equal(ema_update(avg, w, 0.9, step=0), w)  # step 0: copy
    out = ema_update(avg, w, 0.9, step=5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 0.9 * avg.astype("float64") + 0.1 * w, rtol=0, atol=ATOL)


def _optimizer(name, **kw):
    if name == "sgd":
        return keras.optimizers.SGD(0.1, momentum=0.9, **kw)
    return keras.optimizers.Adam(0.01, **kw)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("momentum", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("every", [None, 1, 5])
def test_scratch_ema_matches_keras_use_ema(opt, momentum, every):
    x, y = _data()
    kw = dict(batch_size=BATCH, verbose=0)  # shuffling: the same seed gives the same batches
    keras_model = _model(
        _optimizer(opt, use_ema=True, ema_momentum=momentum, ema_overwrite_frequency=every)
    )
    ours = _model(_optimizer(opt))
    ema = ScratchEMA(momentum, overwrite_every=every)
    # Two fit() calls: Keras copies the average in at the end of each (finalize_variable_values)
    # and keeps counting steps; the second call trains on from the averaged weights.
    for epochs in (3, 2):
        keras.utils.set_random_seed(7 + epochs)
        keras_model.fit(x, y, epochs=epochs, **kw)
        keras.utils.set_random_seed(7 + epochs)
        ours.fit(x, y, epochs=epochs, callbacks=[ema], **kw)
        assert ema.step == int(keras_model.optimizer.iterations.numpy())
        assert _max_diff(keras_model.get_weights(), ours.get_weights()) < ATOL
        average = keras_model.optimizer._model_variables_moving_average  # Keras's stored average
        assert _max_diff(average, ema.average) < ATOL


def test_without_overwrite_ema_does_not_change_training():
    # ema_overwrite_frequency=None: the raw weights follow plain training exactly until fit ends.
    x, y = _data()
    raw = {}
    keras_model = _model(_optimizer("adam", use_ema=True, ema_momentum=0.9))
    keep = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: raw.update(w=keras_model.get_weights())
    )
    keras_model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0, callbacks=[keep])
    plain = _model(_optimizer("adam"))
    ours = _model(_optimizer("adam"))
    ema = ScratchEMA(0.9, finalize=False)
    plain.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0, callbacks=[ema])
    assert _max_diff(raw["w"], plain.get_weights()) < ATOL  # Keras's raw trajectory
    assert _max_diff(ours.get_weights(), plain.get_weights()) < ATOL  # finalize=False: raw
    assert _max_diff(keras_model.get_weights(), ema.average) < ATOL  # after fit: the average
    assert _max_diff(keras_model.get_weights(), plain.get_weights()) > 1e-4  # and it differs


def test_keras_validation_metrics_use_raw_weights_unless_swapped():
    # During fit, evaluation sees the raw weights; SwapEMAWeights evaluates the average instead.
    x, y = _data()
    hist = {}
    for swap in (False, True):
        model = _model(_optimizer("sgd", use_ema=True, ema_momentum=0.9))
        cbs = [keras.callbacks.SwapEMAWeights()] if swap else []
        hist[swap] = model.fit(
            x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
            validation_data=(x, y), callbacks=cbs,
        ).history["val_loss"][-1]  # fmt: skip
        final = model.evaluate(x, y, verbose=0)  # after fit: the averaged weights
    assert hist[True] == pytest.approx(final, abs=1e-5)
    assert abs(hist[False] - final) > 1e-4


def test_swap_ema_weights_nudges_the_raw_trajectory():
    # SwapEMAWeights swaps by a += b; b = a - b; a -= b (float32 rounding), so the raw weights
    # after a run with it are close to, but not exactly, those of the same run without it. The
    # notebook therefore scores the average on a clone instead.
    x, y = _data()
    raw = {}
    for swap in (False, True):
        model = _model(_optimizer("adam", use_ema=True, ema_momentum=0.9))
        keep = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs, m=model, s=swap: raw.update({s: m.get_weights()})
        )
        cbs = [keras.callbacks.SwapEMAWeights(), keep] if swap else [keep]
        kw = dict(batch_size=BATCH, shuffle=False, verbose=0, validation_data=(x, y))
        model.fit(x, y, epochs=4, callbacks=cbs, **kw)
    plain = _model(_optimizer("adam"))
    plain.fit(x, y, batch_size=BATCH, epochs=4, shuffle=False, verbose=0)
    assert _max_diff(raw[False], plain.get_weights()) == 0.0  # no swap: bit for bit
    assert 0.0 < _max_diff(raw[True], plain.get_weights()) < 1e-3  # swap: rounding-size nudges


def test_scratch_ema_rejects_bad_momentum():
    with pytest.raises(ValueError, match="momentum"):
        ScratchEMA(1.5)
