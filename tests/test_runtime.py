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


def test_importing_utils_loads_tensorflow_without_a_word_on_stderr():
    """TensorFlow's load-time notices (oneDNN's ignores TF_CPP_MIN_LOG_LEVEL) must not reach a
    notebook's first cell; with oneDNN on, the default, TensorFlow does print one."""
    import os
    import platform
    import subprocess
    import sys

    code = "import utils, keras, tensorflow as tf; print(tf.constant(2.0).numpy() * 2)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    quiet = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "4.0", quiet.stderr
    assert quiet.stderr == ""
    loud = subprocess.run(  # the same without utils: the notice is really there to be hidden
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True
    )
    if platform.machine() in {"x86_64", "AMD64"}:  # where oneDNN is on by default
        assert "oneDNN" in loud.stderr


@pytest.mark.parametrize("raw,on", [("", True), ("1", True), ("0", False), ("false", False)])
def test_onednn_enabled_reads_the_environment(monkeypatch, raw, on):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", raw)
    assert runtime.onednn_enabled() is on
    if raw:  # and the setup line says which
        assert f"oneDNN {'on' if on else 'off'}" in runtime.setup(seed=1)
