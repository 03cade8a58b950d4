"""22_distributed_training: the scratch gradient all-reduce against TensorFlow and Keras.

* split_batch cuts a global batch into the equal, consecutive shards that tf.distribute hands
  its replicas (compared with MirroredStrategy over 2 logical CPUs).
* all_reduce_mean of the replicas' gradients equals the gradient of the whole batch on one
  device (GradientTape; relative tolerance 1e-6, float32 sums in another order) for 1-8
  replicas; it equals MirroredStrategy's all_reduce("SUM") of the replicas' Keras-loss gradients
  (inside a replica a Keras loss divides by the number of replicas) on each replica, and one SGD
  step of Keras's own distributed fit under MirroredStrategy (tolerance 1e-6).
* the equation's condition: with unequal shards the plain mean of the replicas' gradients is
  not the full-batch gradient (the size-weighted mean is).
* train_loop (the custom loop the multi-worker demo uses, since Keras 3's fit fails under
  MultiWorkerMirroredStrategy) against Keras's fit(shuffle=False) with the same seed: the same
  weights and per-epoch losses on one device (1e-6), and under MirroredStrategy over 2 logical
  CPUs the one-device fit's weights and losses to 1e-5 (float32 rounding over 12 steps).

Logical CPU devices must be set before TensorFlow starts, and pytest runs every test in one
process, so the MirroredStrategy checks run in a fresh Python process.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("22_distributed_training")
split_batch = ns["split_batch"]
replica_gradients = ns["replica_gradients"]
all_reduce_mean = ns["all_reduce_mean"]
train_loop = ns["train_loop"]

TESTS = Path(__file__).resolve().parent
RTOL = 1e-6


def _data(n=32, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)).astype("float32"), rng.integers(0, classes, n)


def _model(features=6, classes=3, seed=1):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def _rel_diff(a, b):
    """Largest difference between two lists of tensors, relative to b's largest entry."""
    pairs = [(np.asarray(u), np.asarray(v)) for u, v in zip(a, b, strict=True)]
    return max(float(np.abs(u - v).max() / np.abs(v).max()) for u, v in pairs)


LOSS = keras.losses.SparseCategoricalCrossentropy()


@pytest.mark.parametrize("n_replicas", [1, 2, 4, 8])
def test_split_batch_gives_equal_consecutive_shards(n_replicas):
    x, y = _data()
    shards = split_batch(x, y, n_replicas)
    assert len(shards) == n_replicas
    assert all(len(xs) == len(ys) == 32 // n_replicas for xs, ys in shards)
    np.testing.assert_array_equal(np.concatenate([xs for xs, _ in shards]), x)  # in order
    np.testing.assert_array_equal(np.concatenate([ys for _, ys in shards]), y)


@pytest.mark.parametrize("n_replicas", [3, 0, 64])
def test_split_batch_rejects_uneven_splits(n_replicas):
    x, y = _data()
    with pytest.raises(ValueError, match="split evenly"):
        split_batch(x, y, n_replicas)


def test_all_reduce_mean_is_the_elementwise_mean():
    rng = np.random.default_rng(3)
    per_replica = [[rng.normal(size=(4, 3)), rng.normal(size=3)] for _ in range(5)]
    out = all_reduce_mean(per_replica)
    assert len(out) == 2
    for i in range(2):
        expected = np.mean([g[i] for g in per_replica], axis=0)
        np.testing.assert_allclose(np.asarray(out[i]), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_replicas", [1, 2, 4, 8])
def test_all_reduced_gradient_equals_the_full_batch_gradient(n_replicas):
    x, y = _data()
    model = _model()
    with tf.GradientTape() as tape:  # the reference: one device, the whole batch
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(x)))
    full = tape.gradient(loss, model.trainable_variables)
    shards = split_batch(x, y, n_replicas)
    per_replica = [replica_gradients(model, LOSS, xs, ys) for xs, ys in shards]
    assert _rel_diff(all_reduce_mean(per_replica), full) < RTOL
    if n_replicas > 1:  # one replica alone is a different, noisier gradient
        assert _rel_diff(per_replica[0], full) > 1e-2


def test_unequal_shards_need_a_weighted_mean():
    x, y = _data()
    model = _model()
    full = replica_gradients(model, LOSS, x, y)
    big = replica_gradients(model, LOSS, x[:24], y[:24])
    small = replica_gradients(model, LOSS, x[24:], y[24:])
    assert _rel_diff(all_reduce_mean([big, small]), full) > 1e-2  # plain mean: wrong
    weighted = [0.75 * b + 0.25 * s for b, s in zip(big, small, strict=True)]
    assert _rel_diff(weighted, full) < RTOL


def _fit(x, y, epochs, batch_size, learning_rate=0.05, seed=42):
    keras.utils.set_random_seed(seed)
    model = _model(features=x.shape[1])
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9)
    model.compile(optimizer=optimizer, loss=LOSS, jit_compile=False)
    hist = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    return model, hist.history["loss"]


def test_train_loop_on_one_device_is_fit_without_shuffling():
    x, y = _data(n=96)
    fitted, fit_loss = _fit(x, y, epochs=3, batch_size=16)
    model, rec = train_loop(
        tf.distribute.OneDeviceStrategy("/cpu:0"), _model, x, y, epochs=3, batch_size=16
    )
    assert _rel_diff(model.get_weights(), fitted.get_weights()) < RTOL
    np.testing.assert_allclose(rec["loss"], fit_loss, rtol=RTOL)
    assert len(rec["epoch_s"]) == 3 and rec["seconds"] > 0
    pairs = zip(model.get_weights(), _model().get_weights(), strict=True)
    assert max(np.abs(a - b).max() for a, b in pairs) > 1e-2  # it did train


MIRRORED_CHECK = """
import json, sys
sys.path.insert(0, {tests!r})
import utils  # quiets TensorFlow's logs
from utils import distribute
cpus = distribute.split_logical_cpus(2)  # before TensorFlow starts
import keras
import numpy as np
import tensorflow as tf
from nbcode import scratch

ns = scratch("22_distributed_training")
split_batch, replica_gradients, all_reduce_mean = (
    ns["split_batch"], ns["replica_gradients"], ns["all_reduce_mean"])
rng = np.random.default_rng(0)
x, y = rng.normal(size=(16, 6)).astype("float32"), rng.integers(0, 3, 16)


def make():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(3, activation="softmax")])


def rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


mirrored = tf.distribute.MirroredStrategy(cpus)
batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
dist_x, dist_y = next(iter(mirrored.experimental_distribute_dataset(batches)))
shards = split_batch(x, y, 2)
local = [t.numpy() for t in mirrored.experimental_local_results(dist_x)]
same_shards = all(np.array_equal(a, s[0]) for a, s in zip(local, shards))

loss_fn = keras.losses.SparseCategoricalCrossentropy()
ref = make()
ours = all_reduce_mean([replica_gradients(ref, loss_fn, xs, ys) for xs, ys in shards])
with mirrored.scope():
    twin = make()
twin.set_weights(ref.get_weights())


@tf.function
def step(x, y):
    def replica_fn(x, y):
        grads = replica_gradients(twin, loss_fn, x, y)  # the Keras loss divides by 2 here
        return grads, tf.distribute.get_replica_context().all_reduce("SUM", grads)
    return mirrored.run(replica_fn, args=(x, y))


raw, reduced = step(dist_x, dist_y)
theirs = [mirrored.experimental_local_results(g) for g in reduced]
allreduce = max(rel(g[r], o) for g, o in zip(theirs, ours) for r in range(2))
local = [replica_gradients(ref, loss_fn, xs, ys) for xs, ys in shards]  # outside: not divided
scaled = max(rel(2 * np.asarray(mirrored.experimental_local_results(g)[r]), l[i])
             for i, g in enumerate(raw) for r, l in enumerate(local))

with mirrored.scope():  # Keras's own distributed training step: one SGD step of fit
    fitted = make()
    fitted.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
start = [w.copy() for w in fitted.get_weights()]
same_start = all(np.array_equal(a, b) for a, b in zip(start, ref.get_weights()))
fitted.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
by_hand = [w - 0.5 * np.asarray(g) for w, g in zip(start, ours)]
fit_step = max(float(np.abs(a - b).max()) for a, b in zip(fitted.get_weights(), by_hand))
loop_model, rec = ns["train_loop"](mirrored, make, x6 := np.tile(x, (6, 1)), y6 := np.tile(y, 6),
                                   epochs=2, batch_size=16, learning_rate=0.05, seed=1)
keras.utils.set_random_seed(1)
one = make()
one.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss=loss_fn, jit_compile=False)
fit_loss = one.fit(x6, y6, epochs=2, batch_size=16, shuffle=False, verbose=0).history["loss"]
loop_w = max(rel(a, b) for a, b in zip(loop_model.get_weights(), one.get_weights()))
loop_loss = max(abs(a - b) / abs(b) for a, b in zip(rec["loss"], fit_loss))
print("RESULT", json.dumps(dict(replicas=mirrored.num_replicas_in_sync, same_shards=same_shards,
                                loop_w=loop_w, loop_loss=loop_loss,
                                allreduce=allreduce, scaled=scaled, same_start=same_start,
                                fit_step=fit_step)))
"""


@pytest.fixture(scope="module")
def mirrored_check():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    code = MIRRORED_CHECK.format(tests=str(TESTS))
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=TESTS.parent,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.split("RESULT ")[-1])


def test_split_batch_matches_the_replica_batches_of_mirrored_strategy(mirrored_check):
    assert mirrored_check["replicas"] == 2
    assert mirrored_check["same_shards"]


def test_scratch_all_reduce_matches_mirrored_strategy(mirrored_check):
    # Inside a replica a Keras loss divides its mean by num_replicas_in_sync, and Keras's
    # optimizer all-reduces with SUM: TensorFlow's SUM of those gradients == our mean.
    assert mirrored_check["scaled"] < RTOL
    assert mirrored_check["allreduce"] < RTOL


def test_one_distributed_keras_fit_step_uses_the_averaged_gradient(mirrored_check):
    assert mirrored_check["same_start"]
    assert mirrored_check["fit_step"] < RTOL


def test_train_loop_under_mirrored_strategy_matches_one_device_fit(mirrored_check):
    assert mirrored_check["loop_w"] < 1e-5
    assert mirrored_check["loop_loss"] < 1e-5
