"""utils.distribute: picking a strategy, logical CPUs, TF_CONFIG, and the local worker launcher.

* pick_strategy on this machine, and its TPU / cluster / several-GPU / one-GPU branches with
  TensorFlow's device listing and strategy classes replaced by fakes (a TPU is only tried when
  TPU environment variables are set; one that does not answer falls through, with a note).
* split_logical_cpus in a fresh Python process: TensorFlow fixes its devices once per process,
  and pytest runs every test in one.
* free_ports / tf_config: distinct usable ports, valid JSON, bad arguments named.
* run_workers with plain Python workers: they get their own TF_CONFIG and can reach each other;
  a hung worker (and the child it started) is stopped at the timeout, one that ignores SIGTERM
  gets SIGKILL, a failing worker stops the others at once, an interrupted run stops them too,
  and still_running() finds nothing left in every case. One real two-worker
  MultiWorkerMirroredStrategy run all-reduces across the processes and ends by itself.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest
import tensorflow as tf

from utils import distribute
from utils.distribute import WorkerRun

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"


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
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config(["a:1", "b:2", "c:3"], 1))
    fake_tf[0]["gpus"] = 2  # the cluster wins over the local GPUs
    strategy, description = distribute.pick_strategy()
    assert strategy.kind == "multi_worker"
    assert description.startswith("MultiWorkerMirroredStrategy: worker 1 of 3 (TF_CONFIG)")


def test_one_worker_tf_config_is_not_a_cluster(fake_tf, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config(["a:1"], 0))
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


# ---------------------------------------------------------------- ports and TF_CONFIG
def test_free_ports_are_distinct_and_bindable():
    ports = distribute.free_ports(4)
    assert len(set(ports)) == 4 and all(1024 <= p <= 65535 for p in ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [({"n": 0}, ValueError, "n"), ({"n": 2.0}, TypeError, "n"), ({"host": ""}, ValueError, "host")],
)
def test_free_ports_rejects_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        distribute.free_ports(**kwargs)


def test_tf_config_is_the_json_tensorflow_reads(monkeypatch):
    workers = ["10.0.0.1:2222", "10.0.0.2:2222"]
    for index in (0, 1):
        config = json.loads(distribute.tf_config(workers, index))
        assert config == {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config(workers, 1))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    assert resolver.cluster_spec().as_dict() == {"worker": workers}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


@pytest.mark.parametrize(
    "workers,index,exc,word",
    [
        ("a:1", 0, TypeError, "workers"),
        ([], 0, ValueError, "workers"),
        (["localhost"], 0, ValueError, r"workers\[0\]"),
        (["a:1", "b:0"], 0, ValueError, r"workers\[1\]"),
        (["a:70000"], 0, ValueError, r"workers\[0\]"),
        ([":80"], 0, ValueError, r"workers\[0\]"),
        (["a:x"], 0, ValueError, r"workers\[0\]"),
        ([5], 0, TypeError, r"workers\[0\]"),
        (["a:1", "a:1"], 0, ValueError, "distinct"),
        (["a:1", "b:2"], 2, ValueError, "index"),
        (["a:1"], -1, ValueError, "index"),
        (["a:1"], True, TypeError, "index"),
    ],
)
def test_tf_config_rejects_bad_arguments(workers, index, exc, word):
    with pytest.raises(exc, match=word):
        distribute.tf_config(workers, index)


# ---------------------------------------------------------------- run_workers
def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def _gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except OSError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_workers_get_their_own_tf_config_and_reach_each_other(tmp_path):
    argv = _script(
        tmp_path,
        """
        import json, os, socket, time
        config = json.loads(os.environ["TF_CONFIG"])
        index, workers = config["task"]["index"], config["cluster"]["worker"]
        host, port = workers[index].rsplit(":", 1)
        server = socket.create_server((host, int(port)))  # my address is free for me
        if index == 1:  # worker 1 greets worker 0 at the address from TF_CONFIG
            h0, p0 = workers[0].rsplit(":", 1)
            for _ in range(100):
                try:
                    socket.create_connection((h0, int(p0)), timeout=5).sendall(b"hello")
                    break
                except OSError:
                    time.sleep(0.05)
        else:
            conn, _ = server.accept()
            print("worker 0 heard", conn.recv(5).decode())
        print("index", index, os.environ["KTT_TEST_VALUE"])
        """,
    )
    runs = distribute.run_workers(argv, n_workers=2, timeout=60, env={"KTT_TEST_VALUE": "xyz"})
    assert [r.index for r in runs] == [0, 1]
    assert all(r.ok and r.returncode == 0 and r.stopped is None for r in runs), runs
    assert "worker 0 heard hello" in runs[0].output
    assert all(f"index {r.index} xyz" in r.output for r in runs)
    configs = [json.loads(r.tf_config) for r in runs]
    assert configs[0]["cluster"] == configs[1]["cluster"]
    assert [c["cluster"]["worker"][c["task"]["index"]] for c in configs] == [
        r.address for r in runs
    ]
    assert runs[0].address != runs[1].address and runs[0].address.startswith("127.0.0.1:")
    assert distribute.still_running(runs) == []


HANGS_WITH_A_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("child", child.pid, flush=True)
time.sleep(600)
"""


def _child_pid(run: WorkerRun) -> int:
    return int(run.output.split("child ")[1].split()[0])


@pytest.mark.skipif(not POSIX, reason="process groups are POSIX")
def test_hung_workers_and_their_children_are_stopped_at_the_timeout(tmp_path):
    argv = _script(tmp_path, HANGS_WITH_A_CHILD)
    start = time.monotonic()
    runs = distribute.run_workers(argv, n_workers=2, timeout=3, grace=1)
    elapsed = time.monotonic() - start
    assert 3 <= elapsed < 15
    for r in runs:
        assert r.stopped == "timeout" and not r.ok
        assert r.returncode == -15  # SIGTERM
        assert _gone(r.pid) and _gone(_child_pid(r))
    assert distribute.still_running(runs) == []


@pytest.mark.skipif(not POSIX, reason="signals are POSIX")
def test_a_worker_that_ignores_sigterm_gets_sigkill(tmp_path):
    argv = _script(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(600)
        """,
    )
    runs = distribute.run_workers(argv, n_workers=1, timeout=2, grace=0.5)
    assert runs[0].stopped == "timeout" and runs[0].returncode == -9
    assert distribute.still_running(runs) == []


def test_a_failing_worker_stops_the_others_at_once(tmp_path):
    argv = _script(
        tmp_path,
        """
        import json, os, sys, time
        if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
            print("worker 1 gives up")
            sys.exit(3)
        time.sleep(600)  # would wait for worker 1 forever, like a collective all-reduce
        """,
    )
    start = time.monotonic()
    runs = distribute.run_workers(argv, n_workers=3, timeout=120, grace=1)
    assert time.monotonic() - start < 30
    assert runs[1].returncode == 3 and runs[1].stopped is None and "gives up" in runs[1].output
    assert runs[0].stopped == runs[2].stopped == "worker 1 failed"
    assert not any(r.ok for r in runs)
    assert distribute.still_running(runs) == []


@pytest.mark.skipif(not POSIX, reason="process groups are POSIX")
def test_an_interrupted_run_leaves_nothing_behind(tmp_path, monkeypatch):
    argv = _script(tmp_path, HANGS_WITH_A_CHILD)
    started, sleeps = [], []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def sleep(seconds):  # the first wait for the workers is interrupted (Ctrl-C in a notebook)
        sleeps.append(seconds)
        if len(sleeps) == 1:
            time.sleep(1.0)  # let the workers start their children
            raise KeyboardInterrupt
        time.sleep(seconds)

    clock = types.SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
    monkeypatch.setattr(distribute.subprocess, "Popen", recording_popen)
    monkeypatch.setattr(distribute, "time", clock)
    with pytest.raises(KeyboardInterrupt):
        distribute.run_workers(argv, n_workers=2, timeout=60, grace=0)
    assert len(started) == 2
    assert all(p.returncode is not None for p in started)  # reaped
    assert all(distribute._group_members(p.pid) == [] for p in started)


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        ({"argv": "python worker.py"}, TypeError, "argv"),
        ({"argv": []}, TypeError, "argv"),
        ({"argv": [sys.executable, 3]}, TypeError, "argv"),
        ({"n_workers": 0}, ValueError, "n_workers"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": "10"}, TypeError, "timeout"),
        ({"grace": -1}, ValueError, "grace"),
        ({"env": {"A": 1}}, TypeError, "env"),
    ],
)
def test_run_workers_rejects_bad_arguments(kwargs, exc, word):
    args = {"argv": [sys.executable, "-c", "pass"], **kwargs}
    with pytest.raises(exc, match=word):
        distribute.run_workers(args.pop("argv"), **args)


def test_still_running_rejects_other_things():
    with pytest.raises(TypeError, match="runs"):
        distribute.still_running([123])


def test_real_multi_worker_strategy_all_reduces_across_processes_and_ends(tmp_path):
    argv = _script(
        tmp_path,
        """
        import json, os
        import utils  # quiets TensorFlow's logs
        import tensorflow as tf
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]

        @tf.function
        def total():
            ctx = tf.distribute.get_replica_context()
            return ctx.all_reduce("SUM", tf.constant(float(index + 1)))

        value = strategy.experimental_local_results(strategy.run(total))[0]
        print("RESULT", json.dumps(dict(replicas=strategy.num_replicas_in_sync, sum=float(value))))
        """,
    )
    runs = distribute.run_workers(
        argv, n_workers=2, timeout=240, env={"CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    )
    assert all(r.ok for r in runs), [r.output[-2000:] for r in runs]
    for r in runs:
        assert json.loads(r.output.split("RESULT ")[-1]) == {"replicas": 2, "sum": 3.0}
    assert distribute.still_running(runs) == []
