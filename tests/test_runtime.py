import numpy as np
import pytest

from utils import runtime
from utils.timing import Timer


def test_seed_everything_repeats_numpy_and_tensorflow():
    import tensorflow as tf

    runtime.seed_everything(7)
    a = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    runtime.seed_everything(7)
    b = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (1.5, TypeError), ("1", TypeError)])
def test_seed_rejects_bad_values(seed, exc):
    with pytest.raises(exc, match="seed"):
        runtime.seed_everything(seed)


def test_setup_reports_versions_and_mode(monkeypatch):
    monkeypatch.setenv("KTT_QUICK", "1")
    line = runtime.setup(seed=3)
    assert "TensorFlow 2." in line and "Keras 3." in line and "QUICK" in line and "seed 3" in line


def test_timer():
    with Timer() as t:
        sum(range(1000))
    assert 0 <= t.seconds < 1


def test_device_name_names_cpu_or_gpu():
    name = runtime.device_name()
    assert name.startswith("CPU (") or "GPU" in name
