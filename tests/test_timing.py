import time

import numpy as np
import pytest

from utils import timing
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


def _saved_model(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss)
    path = tmp_path / "m.keras"
    model.save(path)
    return path


def test_fit_seconds_in_subprocess_sees_the_environment(tmp_path):
    path = _saved_model(tmp_path)
    for value in ("0", "1"):
        seconds = timing.fit_seconds_in_subprocess(
            path, steps=2, batch_size=8, repeats=1, env={"TF_ENABLE_ONEDNN_OPTS": value}
        )
        assert 0 < seconds < 60


def test_fit_seconds_in_subprocess_reports_a_failing_child(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip file")
    with pytest.raises(RuntimeError, match="timing subprocess failed"):
        timing.fit_seconds_in_subprocess(path, steps=1, batch_size=2, repeats=1)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(model_path=3), TypeError, "model_path"),
        (dict(model_path="missing.keras"), ValueError, "model_path"),
        (dict(steps=0), ValueError, "steps"),
        (dict(batch_size=1.5), TypeError, "batch_size"),
        (dict(env={"A": 1}), TypeError, "env"),
        (dict(timeout=0), ValueError, "timeout"),
    ],
)
def test_fit_seconds_in_subprocess_rejects_bad_arguments(tmp_path, kwargs, exc, match):
    args = dict(model_path=_saved_model(tmp_path), steps=1, batch_size=2) | kwargs
    with pytest.raises(exc, match=match):
        timing.fit_seconds_in_subprocess(**args)
