"""Notebook 02's from-scratch learning-rate schedules against Keras, at many steps.

Keras computes schedules in float32 and the notebook's formulas in float64, so values are
compared with ``np.allclose(rtol=1e-5, atol=1e-7)`` (the learning rates here are at most 1; the
absolute term covers values that decay to about zero). The plateau rule is compared with the
``ReduceLROnPlateau`` callback fed the same validation losses (``rtol=1e-6``: the callback keeps
the rate in a float32 variable).
"""

import keras
import numpy as np
import pytest
from nbcode import scratch

# Keras 3.15 itself reads its float32 variables through a NumPy path that NumPy 2 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

NS = scratch("02_learning_rate_and_decay")
RTOL, ATOL = 1e-5, 1e-7
SEEDS = range(4)


def keras_at(schedule, steps):
    """The schedule at each step, passed as the optimizer passes it (an int64 step count)."""
    return np.array([float(schedule(keras.ops.convert_to_tensor(int(k), "int64"))) for k in steps])


def check(ours, theirs, steps):
    bad = ~np.isclose(ours, theirs, rtol=RTOL, atol=ATOL)
    assert not bad.any(), f"differs at steps {steps[bad][:5]}: {ours[bad][:5]} vs {theirs[bad][:5]}"


@pytest.mark.parametrize("seed", SEEDS)
def test_step_decay(seed):
    rng = np.random.default_rng(seed)
    boundaries = np.sort(rng.choice(np.arange(1, 400), size=rng.integers(1, 5), replace=False))
    values = np.sort(rng.uniform(1e-4, 1.0, len(boundaries) + 1))[::-1]
    # every step around each boundary, plus a spread over the whole range and beyond
    steps = np.unique(
        np.r_[0, (boundaries[:, None] + np.arange(-2, 3)).ravel(), rng.integers(0, 500, 100)]
    )
    steps = steps[steps >= 0]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries.tolist(), values.tolist()
    )
    ours = NS["step_decay"](steps, boundaries, values)
    check(ours, keras_at(schedule, steps), steps)
    assert ours[steps == boundaries[0]][0] == pytest.approx(values[0]), "switches after the step"


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_exponential_decay(seed, staircase):
    rng = np.random.default_rng(seed)
    initial_learning_rate, decay_steps = rng.uniform(1e-3, 1.0), int(rng.integers(1, 200))
    decay_rate = rng.uniform(0.05, 0.99)
    steps = np.unique(
        np.r_[
            0,
            np.arange(0, 5 * decay_steps + 3, max(1, decay_steps // 7)),
            decay_steps - 1,
            decay_steps,
            decay_steps + 1,
        ]
    )
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate, decay_steps, decay_rate, staircase=staircase
    )
    ours = NS["exponential_decay"](
        steps, initial_learning_rate, decay_steps, decay_rate, staircase=staircase
    )
    check(ours, keras_at(schedule, steps), steps)
    if staircase:  # constant within a stair
        assert np.all(ours[steps < decay_steps] == initial_learning_rate)


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_inverse_time_decay(seed, staircase):
    rng = np.random.default_rng(seed)
    initial_learning_rate, decay_steps = rng.uniform(1e-3, 1.0), int(rng.integers(1, 200))
    decay_rate = rng.uniform(0.1, 5.0)
    steps = np.unique(
        np.r_[
            np.arange(0, 6 * decay_steps, max(1, decay_steps // 5)),
            decay_steps - 1,
            decay_steps,
            3 * decay_steps + 1,
        ]
    )
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate, decay_steps, decay_rate, staircase=staircase
    )
    ours = NS["inverse_time_decay"](
        steps, initial_learning_rate, decay_steps, decay_rate, staircase=staircase
    )
    check(ours, keras_at(schedule, steps), steps)


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_decay_with_warmup(seed):
    rng = np.random.default_rng(seed)
    start_learning_rate = 0.0 if seed == 0 else rng.uniform(0.0, 0.05)
    peak, alpha = rng.uniform(0.05, 1.0), (0.0 if seed < 2 else rng.uniform(0.0, 0.5))
    warmup, decay = int(rng.integers(1, 60)), int(rng.integers(10, 300))
    # every warmup step, the switch, a spread over the decay, and steps past the end (flat)
    steps = np.unique(
        np.r_[
            np.arange(0, warmup + 2),
            np.linspace(warmup, warmup + decay, 60),
            warmup + decay + np.arange(-1, 30, 7),
        ].astype(int)
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        start_learning_rate, decay, alpha=alpha, warmup_target=peak, warmup_steps=warmup
    )
    ours = NS["cosine_decay_with_warmup"](
        steps, start_learning_rate, decay, peak, warmup, alpha=alpha
    )
    check(ours, keras_at(schedule, steps), steps)
    in_warmup = ours[steps < warmup]
    assert np.all(np.diff(in_warmup) > 0), "the warmup must climb"
    assert ours[steps == warmup][0] == pytest.approx(peak)
    assert ours[-1] == pytest.approx(alpha * peak, abs=ATOL)


def test_cosine_without_warmup_matches_plain_cosine_decay():
    steps = np.arange(0, 130)
    ours = NS["cosine_decay_with_warmup"](steps, 0.3, 100, 0.3, 0, alpha=0.1)
    schedule = keras.optimizers.schedules.CosineDecay(0.3, 100, alpha=0.1)
    check(ours, keras_at(schedule, steps), steps)


def keras_plateau(val_losses, initial_learning_rate, min_learning_rate=0.0, **kwargs):
    """ReduceLROnPlateau fed val_losses: the learning rate after each epoch's check."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(initial_learning_rate), loss="mse")
    callback = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", min_lr=min_learning_rate, **kwargs
    )
    callback.set_model(model)
    callback.on_train_begin()
    out = []
    for epoch, value in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": float(value)})
        out.append(float(model.optimizer.learning_rate))
    return np.array(out)


@pytest.mark.parametrize("seed", SEEDS)
def test_reduce_learning_rate_on_plateau(seed):
    rng = np.random.default_rng(seed)
    # falling losses with noise, and stretches that repeat a value or barely improve
    losses = 1.0 / (1.0 + 0.3 * np.arange(40)) + rng.normal(0, 0.02, 40)
    losses[10:16] = losses[9]
    losses[25:30] = losses[24] - 1e-3 * np.arange(1, 6)  # below a min_delta of 0.01
    kwargs = dict(
        factor=float(rng.choice([0.1, 0.2, 0.5])),
        patience=int(rng.integers(1, 4)),
        min_delta=float(rng.choice([1e-4, 1e-2])),
        min_learning_rate=float(rng.choice([0.0, 1e-3])),
    )
    ours = NS["reduce_learning_rate_on_plateau"](losses, 0.1, **kwargs)
    theirs = keras_plateau(losses, 0.1, **kwargs)
    assert np.allclose(ours, theirs, rtol=1e-6, atol=0), (kwargs, ours, theirs)
    assert np.any(np.diff(ours) < 0), "the sequence should trigger at least one reduction"


def test_reduce_learning_rate_on_plateau_stops_at_the_minimum():
    settings = dict(factor=0.5, patience=1, min_learning_rate=0.01)
    ours = NS["reduce_learning_rate_on_plateau"](np.ones(20), 0.1, **settings)
    assert ours.min() == pytest.approx(0.01) and ours[0] == pytest.approx(0.1)
    assert np.allclose(ours, keras_plateau(np.ones(20), 0.1, **settings), rtol=1e-6)
