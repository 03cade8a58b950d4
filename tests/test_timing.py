import time

import numpy as np
import pytest

from utils.timing import Timer, median_fit_seconds, median_seconds


def test_timer_measures_a_sleep():
    with Timer() as t:
        time.sleep(0.05)
    assert 0.04 < t.seconds < 1.0


def test_median_seconds_skips_warmup_and_takes_the_median():
    durations = iter([0.3, 0.01, 0.05, 0.01])  # the first (warm-up) call is slow

    def work():
        time.sleep(next(durations))

    assert median_seconds(work, repeats=3, warmup=1) < 0.1


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


def test_median_fit_seconds_times_training_steps():
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((32, 4), "float32"), np.ones((32, 1), "float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    seconds = median_fit_seconds(model, ds, steps=4, repeats=2)
    assert 0 < seconds < 5
    with pytest.raises(ValueError, match="steps"):
        median_fit_seconds(model, ds, steps=0)
    with pytest.raises(TypeError, match="model"):
        median_fit_seconds("model", ds, steps=2)
