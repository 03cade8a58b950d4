"""utils.cluster: TF_CONFIG for a multi-worker cluster, and the local worker launcher.

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

from utils import cluster
from utils.cluster import WorkerRun

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"


# ---------------------------------------------------------------- ports and TF_CONFIG
def test_free_ports_are_distinct_and_bindable():
    ports = cluster.free_ports(4)
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
        cluster.free_ports(**kwargs)


def test_tf_config_is_the_json_tensorflow_reads(monkeypatch):
    workers = ["10.0.0.1:2222", "10.0.0.2:2222"]
    for index in (0, 1):
        config = json.loads(cluster.tf_config(workers, index))
        assert config == {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
    monkeypatch.setenv("TF_CONFIG", cluster.tf_config(workers, 1))
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
        cluster.tf_config(workers, index)


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
    runs = cluster.run_workers(argv, n_workers=2, timeout=60, env={"KTT_TEST_VALUE": "xyz"})
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
    assert cluster.still_running(runs) == []


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
    runs = cluster.run_workers(argv, n_workers=2, timeout=3, grace=1)
    elapsed = time.monotonic() - start
    assert 3 <= elapsed < 15
    for r in runs:
        assert r.stopped == "timeout" and not r.ok
        assert r.returncode == -15  # SIGTERM
        assert _gone(r.pid) and _gone(_child_pid(r))
    assert cluster.still_running(runs) == []


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
    runs = cluster.run_workers(argv, n_workers=1, timeout=2, grace=0.5)
    assert runs[0].stopped == "timeout" and runs[0].returncode == -9
    assert cluster.still_running(runs) == []


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
    runs = cluster.run_workers(argv, n_workers=3, timeout=120, grace=1)
    assert time.monotonic() - start < 30
    assert runs[1].returncode == 3 and runs[1].stopped is None and "gives up" in runs[1].output
    assert runs[0].stopped == runs[2].stopped == "worker 1 failed"
    assert not any(r.ok for r in runs)
    assert cluster.still_running(runs) == []


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
    monkeypatch.setattr(cluster.subprocess, "Popen", recording_popen)
    monkeypatch.setattr(cluster, "time", clock)
    with pytest.raises(KeyboardInterrupt):
        cluster.run_workers(argv, n_workers=2, timeout=60, grace=0)
    assert len(started) == 2
    assert all(p.returncode is not None for p in started)  # reaped
    assert all(cluster._group_members(p.pid) == [] for p in started)


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
        cluster.run_workers(args.pop("argv"), **args)


def test_still_running_rejects_other_things():
    with pytest.raises(TypeError, match="runs"):
        cluster.still_running([123])


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
    runs = cluster.run_workers(
        argv, n_workers=2, timeout=240, env={"CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    )
    assert all(r.ok for r in runs), [r.output[-2000:] for r in runs]
    for r in runs:
        assert json.loads(r.output.split("RESULT ")[-1]) == {"replicas": 2, "sum": 3.0}
    assert cluster.still_running(runs) == []
