"""utils.distribute: picking a strategy and logical CPUs (clusters are tested in test_cluster.py).

* pick_strategy on this machine, and its TPU / cluster / several-GPU / one-GPU branches with
  TensorFlow's device listing and strategy classes replaced by fakes (a TPU is only tried when
  TPU environment variables are set; one that does not answer falls through, with a note).
* split_logical_cpus in a fresh Python process: TensorFlow fixes its devices once per process,
  and pytest runs every test in one.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tensorflow as tf

from utils import cluster, distribute

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- pick_strategy
@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in (*distribute.TPU_ENV_VARS, "TF_CONFIG"):
        monkeypatch.delenv(var, raising=False)


def _gpus(n):
    return [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(n)]


class _Fake:
    """Stands in for a strategy class: records how it was made."""

    kind = "fake"
    replicas = 1

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    @property
    def num_replicas_in_sync(self):
        return self.replicas


@pytest.fixture
def fake_tf(monkeypatch):
    """Fake GPUs, strategies and TPU calls; `calls` records the TPU steps taken."""
    calls = []
    state = {"gpus": 0, "tpu_fails": False}
    real_list = tf.config.list_physical_devices

    def list_devices(device_type=None):
        return _gpus(state["gpus"]) if device_type == "GPU" else real_list(device_type)

    def resolver(tpu=None):
        calls.append(("resolver", tpu))
        if state["tpu_fails"]:
            raise ValueError("Please provide a TPU Name to connect to.")
        return f"resolver:{tpu}"

    def fake(kind, replicas):
        return type(kind, (_Fake,), {"kind": kind, "replicas": replicas})

    monkeypatch.setattr(tf.config, "list_physical_devices", list_devices)
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", fake("mirrored", 2))
    monkeypatch.setattr(tf.distribute, "OneDeviceStrategy", fake("one_device", 1))
    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", fake("multi_worker", 4))
    monkeypatch.setattr(tf.distribute, "TPUStrategy", fake("tpu", 8))
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", resolver)
    monkeypatch.setattr(
        tf.config, "experimental_connect_to_cluster", lambda r: calls.append(("connect", r))
    )
    monkeypatch.setattr(
        tf.tpu.experimental, "initialize_tpu_system", lambda r: calls.append(("init", r))
    )
    return state, calls


def test_this_machine_gets_a_strategy_that_matches_its_devices():
    strategy, description = distribute.pick_strategy()
    n_gpus = len(tf.config.list_physical_devices("GPU"))
    if n_gpus == 0:
        assert strategy is tf.distribute.get_strategy()
        assert description.startswith("default strategy") and "CPU only" in description
    else:
        assert strategy.num_replicas_in_sync == n_gpus
    with strategy.scope():  # usable as in the notebooks
        v = tf.Variable(1.0)
    assert float(v.numpy()) == 1.0


def test_prefer_one_device_on_a_cpu_machine():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    picked = distribute.pick_strategy(prefer="one_device")
    assert isinstance(picked.strategy, tf.distribute.OneDeviceStrategy)
    assert picked.description == "OneDeviceStrategy on /cpu:0"
    assert distribute.pick_strategy(prefer="default").strategy is tf.distribute.get_strategy()


def test_no_gpu_gives_the_default_strategy(fake_tf):
    strategy, description = distribute.pick_strategy()
    assert strategy is tf.distribute.get_strategy()
    assert "no distribution" in description
    assert fake_tf[1] == []  # no TPU variables: the TPU is never tried


@pytest.mark.parametrize("n_gpus", [2, 4])
def test_several_gpus_give_mirrored_strategy_over_all(fake_tf, n_gpus):
    fake_tf[0]["gpus"] = n_gpus
    strategy, description = distribute.pick_strategy()
    assert strategy.kind == "mirrored" and strategy.args == () and strategy.kwargs == {}
    assert description.startswith(f"MirroredStrategy over {n_gpus} GPUs")
    assert fake_tf[1] == []


def test_one_gpu_gives_one_device_strategy(fake_tf):
    fake_tf[0]["gpus"] = 1
    strategy, description = distribute.pick_strategy()
    assert strategy.kind == "one_device" and strategy.args == ("/gpu:0",)
    assert description == "OneDeviceStrategy on /gpu:0"


@pytest.mark.parametrize(
    "var,value,address",
    [
        ("COLAB_TPU_ADDR", "10.0.0.2:8470", "grpc://10.0.0.2:8470"),
        ("TPU_NAME", "my-tpu", "my-tpu"),
        ("TPU_ACCELERATOR_TYPE", "v4-8", "local"),  # a TPU VM: its chips are local, no connect
    ],
)
def test_tpu_is_used_when_the_environment_names_one(fake_tf, monkeypatch, var, value, address):
    connects = address != "local"
    monkeypatch.setenv(var, value)
    fake_tf[0]["gpus"] = 2  # a TPU wins over GPUs
    strategy, description = distribute.pick_strategy()
    assert strategy.kind == "tpu" and strategy.args == (f"resolver:{address}",)
    assert description.startswith("TPUStrategy: 8 TPU cores")
    steps = [c[0] for c in fake_tf[1]]
    assert steps == (["resolver", "connect", "init"] if connects else ["resolver", "init"])


def test_unreachable_tpu_falls_through_with_a_note(fake_tf, monkeypatch):
    monkeypatch.setenv("TPU_NAME", "gone")
    fake_tf[0]["tpu_fails"] = True
    fake_tf[0]["gpus"] = 2
    strategy, description = distribute.pick_strategy()
    assert strategy.kind == "mirrored"
    assert "TPU at 'gone' not reachable (ValueError)" in description


def test_prefer_tpu_without_a_tpu_is_an_error(fake_tf):
    fake_tf[0]["tpu_fails"] = True
    with pytest.raises(RuntimeError, match="prefer='tpu'"):
        distribute.pick_strategy(prefer="tpu")
    assert fake_tf[1] == [("resolver", "local")]


def test_tf_config_cluster_gives_multi_worker_strategy(fake_tf, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", cluster.tf_config(["a:1", "b:2", "c:3"], 1))
    fake_tf[0]["gpus"] = 2  # the cluster wins over the local GPUs
    strategy, description = distribute.pick_strategy()
    assert strategy.kind == "multi_worker"
    assert description.startswith("MultiWorkerMirroredStrategy: worker 1 of 3 (TF_CONFIG)")


def test_one_worker_tf_config_is_not_a_cluster(fake_tf, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", cluster.tf_config(["a:1"], 0))
    assert distribute.pick_strategy().strategy is tf.distribute.get_strategy()


@pytest.mark.parametrize(
    "raw,word",
    [("{not json", "TF_CONFIG"), ('{"cluster": {"ps": ["a:1"], "worker": ["b:2"]}}', "ps")],
)
def test_bad_tf_config_is_named(fake_tf, monkeypatch, raw, word):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(ValueError, match=word):
        distribute.pick_strategy()


@pytest.mark.parametrize("prefer", ["mirrored", "one_device", "multi_worker"])
def test_prefer_forces_a_kind(fake_tf, prefer):
    assert distribute.pick_strategy(prefer=prefer).strategy.kind == prefer


@pytest.mark.parametrize("prefer,exc", [(3, TypeError), ("gpu", ValueError), ("", ValueError)])
def test_pick_strategy_rejects_bad_prefer(prefer, exc):
    with pytest.raises(exc, match="prefer"):
        distribute.pick_strategy(prefer=prefer)


# ---------------------------------------------------------------- logical CPUs (fresh process)
def _python(code: str, timeout: float = 240) -> str:
    """Runs ``code`` in a fresh Python; returns what it printed after 'RESULT '."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.split("RESULT ")[-1])


def test_split_logical_cpus_before_tensorflow_starts():
    res = _python(
        """
        import json
        import utils
        from utils import distribute
        import tensorflow as tf
        names = distribute.split_logical_cpus(3)
        again = distribute.split_logical_cpus(3)  # the same n again: nothing to do
        logical = [d.name for d in tf.config.list_logical_devices("CPU")]  # TensorFlow starts
        after_start = distribute.split_logical_cpus(3)  # still the same n: fine
        try:
            distribute.split_logical_cpus(2)
            error = None
        except RuntimeError as exc:
            error = str(exc)
        replicas = tf.distribute.MirroredStrategy(names).num_replicas_in_sync
        print("RESULT", json.dumps(dict(names=names, again=again, logical=logical,
                                        after_start=after_start, error=error, replicas=replicas)))
        """
    )
    expected = [f"/device:CPU:{i}" for i in range(3)]
    assert res["names"] == res["again"] == res["after_start"] == res["logical"] == expected
    assert res["replicas"] == 3
    assert "before TensorFlow initialises" in res["error"] and "3 logical CPU" in res["error"]


def test_split_logical_cpus_after_tensorflow_started_is_a_clear_error():
    res = _python(
        """
        import json
        import utils
        from utils import distribute
        import tensorflow as tf
        tf.constant(1.0) + 1  # TensorFlow has started with one CPU device
        try:
            distribute.split_logical_cpus(2)
            error = None
        except RuntimeError as exc:
            error = str(exc)
        print("RESULT", json.dumps(dict(error=error)))
        """
    )
    assert "split_logical_cpus(2) must run before" in res["error"]
    assert "Restart the kernel" in res["error"]


@pytest.mark.parametrize(
    "n,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_split_logical_cpus_rejects_bad_n(n, exc):
    with pytest.raises(exc, match="n must"):
        distribute.split_logical_cpus(n)
