import time

import numpy as np
import pytest

from utils import timing
from utils.timing import Timer, median_fit_seconds, median_seconds


class _FakeClock:
    """Stands in for ``time`` inside ``utils.timing``: ``perf_counter`` reads a clock that only
    moves when a test calls ``advance``, so timed durations are exact."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = _FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def test_timer_measures_a_sleep():
    outer = time.perf_counter()
    with Timer() as t:
        time.sleep(0.05)
    outer = time.perf_counter() - outer
    assert 0.05 <= t.seconds <= outer  # at least the sleep, at most the time around the block


def test_timer_reads_the_clock_at_entry_and_exit(clock):
    t = Timer()
    assert np.isnan(t.seconds)  # nothing measured yet
    with t:
        clock.advance(2.5)
    assert t.seconds == 2.5 and repr(t) == "Timer(2.50 s)"
    with pytest.raises(KeyError), t:  # a block that raises is still timed
        clock.advance(0.75)
        raise KeyError("x")
    assert t.seconds == 0.75


def test_median_seconds_skips_warmup_and_takes_the_median(clock):
    durations = iter([100.0, 50.0, 1.0, 7.0, 2.0])  # two slow warm-up calls, then 1, 7, 2
    calls = []

    def work():
        calls.append(1)
        clock.advance(next(durations))

    # median of (1, 7, 2); a mean would give 3.33, counting warm-ups a median of 7 or 50
    assert median_seconds(work, repeats=3, warmup=2) == 2.0
    assert len(calls) == 5


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        ({"fn": 3}, TypeError, "fn"),
        ({"fn": print, "repeats": 0}, ValueError, "repeats"),
        ({"fn": print, "warmup": -1}, ValueError, "warmup"),
        ({"fn": print, "repeats": 1.5}, TypeError, "repeats"),
    ],
)
def test_median_seconds_rejects_bad_arguments(kwargs, exc, word):
    fn = kwargs.pop("fn")
    with pytest.raises(exc, match=word):
        median_seconds(fn, **kwargs)


def test_median_fit_seconds_times_training_steps(clock):
    import keras
    import tensorflow as tf

    epochs = iter([30.0, 4.0, 1.0, 9.0])  # the warm-up epoch, then 4, 1, 9 seconds

    class AdvanceClock(keras.callbacks.Callback):  # the "work" of each epoch, on the fake clock
        def on_epoch_end(self, epoch, logs=None):
            clock.advance(next(epochs))

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((32, 4), "float32"), np.ones((32, 1), "float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    fit = model.fit

    def fit_advancing_the_clock(*args, callbacks, **kwargs):
        return fit(*args, callbacks=[AdvanceClock(), *callbacks], **kwargs)

    model.fit = fit_advancing_the_clock
    seconds = median_fit_seconds(model, ds, steps=5, repeats=3)
    assert seconds == 4.0  # median of 4, 1, 9: the warm-up's 30 s is left out
    assert int(model.optimizer.iterations) == 5 * (1 + 3)  # 1 + repeats epochs of `steps` steps
    with pytest.raises(ValueError, match="steps"):
        median_fit_seconds(model, ds, steps=0)
    with pytest.raises(TypeError, match="model"):
        median_fit_seconds("model", ds, steps=2)
