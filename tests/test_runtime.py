import os
import sys

import numpy as np
import pytest

from utils import runtime


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


def _fake_devices(monkeypatch, gpus, details=None):
    """Makes TensorFlow report ``gpus`` physical GPUs whose details are ``details``; returns the
    list of devices ``get_device_details`` was asked about."""
    import tensorflow as tf

    fakes = [f"PhysicalDevice(name='/physical_device:GPU:{i}')" for i in range(gpus)]
    asked = []

    def list_physical_devices(kind=None):
        assert kind == "GPU", kind
        return list(fakes)

    def get_device_details(device):
        asked.append(device)
        return dict(details or {})

    monkeypatch.setattr(tf.config, "list_physical_devices", list_physical_devices)
    monkeypatch.setattr(tf.config.experimental, "get_device_details", get_device_details)
    return fakes, asked


@pytest.mark.parametrize("cores", [1, 2, 64])
def test_device_name_without_a_gpu_names_the_cpu_and_its_cores(monkeypatch, cores):
    _, asked = _fake_devices(monkeypatch, gpus=0)
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: cores)
    assert runtime.device_name() == f"CPU ({cores} cores)"
    assert asked == []  # no GPU, so no GPU details are looked up
    assert f"CPU ({cores} cores), oneDNN " in runtime.setup(seed=0)  # what setup reports


@pytest.mark.parametrize("gpus", [1, 4])
def test_device_name_with_gpus_names_the_first_gpu_and_counts_them(monkeypatch, gpus):
    fakes, asked = _fake_devices(monkeypatch, gpus, {"device_name": "NVIDIA H100 80GB HBM3"})
    assert runtime.device_name() == f"NVIDIA H100 80GB HBM3 ({gpus} GPU)"
    assert asked == [fakes[0]]
    line = runtime.setup(seed=0)
    assert f"NVIDIA H100 80GB HBM3 ({gpus} GPU)" in line and "CPU" not in line
    assert "oneDNN" not in line  # a CPU-only switch


def test_device_name_with_a_gpu_of_unknown_name_still_says_gpu(monkeypatch):
    _fake_devices(monkeypatch, gpus=1, details={"compute_capability": (9, 0)})
    assert runtime.device_name() == "GPU (1 GPU)"


def test_device_name_agrees_with_what_tensorflow_sees():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    name = runtime.device_name()
    if not gpus:
        assert name == f"CPU ({os.cpu_count()} cores)"
    else:
        real = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        assert name == f"{real} ({len(gpus)} GPU)"


def test_importing_utils_loads_tensorflow_without_a_word_on_stderr():
    """TensorFlow's load-time notices (oneDNN's ignores TF_CPP_MIN_LOG_LEVEL) must not reach a
    notebook's first cell; with oneDNN on, the default, TensorFlow does print one."""
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
    if platform.machine() in {"x86_64", "AMD64"}:  # TensorFlow reports on the CPU at load
        assert "oneDNN" in loud.stderr or "cpu_feature_guard" in loud.stderr, loud.stderr


@pytest.mark.parametrize("raw,on", [("1", True), ("0", False), ("false", False)])
def test_onednn_enabled_reads_the_environment(monkeypatch, raw, on):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", raw)
    assert runtime.onednn_enabled() is on
    if raw:  # and the setup line says which
        assert f"oneDNN {'on' if on else 'off'}" in runtime.setup(seed=1)


def test_onednn_enabled_unset_is_what_tensorflow_chose(monkeypatch):
    """Unset, the answer is TensorFlow's own (it depends on the CPU), checked in a fresh process."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    code = (
        "from utils import runtime; from tensorflow.python.util import _pywrap_util_port as port;"
        "print(runtime.onednn_enabled(), bool(port.IsMklEnabled()))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    ours, tensorflows = done.stdout.split()
    assert ours == tensorflows


def test_setup_without_tensorflow_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails
    with pytest.raises(ImportError, match=r"keras-training-tips\[cpu\]") as err:
        runtime.setup()
    assert "make setup" in str(err.value)
