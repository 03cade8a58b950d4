"""Multi-worker clusters: the ``TF_CONFIG`` that describes one, and a local one to try it on.

* :func:`tf_config` — the ``TF_CONFIG`` (JSON) of one worker of a cluster, for real machines too;
  :func:`free_ports` — free TCP ports for the workers of a cluster on this machine.
* :func:`run_workers` — runs the same command as ``n`` local worker processes, each with its own
  ``TF_CONFIG``, under a hard timeout; every worker (and anything it started) is stopped before it
  returns, whatever happens. :func:`still_running` checks that nothing is left.

:func:`utils.distribute.pick_strategy` turns a ``TF_CONFIG`` into ``MultiWorkerMirroredStrategy``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ._checks import check_int, check_number, check_str

_POSIX = os.name == "posix"


# ---------------------------------------------------------------- TF_CONFIG
def free_ports(n: int = 1, *, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct TCP ports that are free on ``host`` right now (the OS picks them).

    Another program could take one before the worker binds it; for a local demo that is rare.
    """
    n = check_int("n", n, minimum=1)
    check_str("host", host)
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))  # all held open at once, so the ports are distinct
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _check_address(name: str, address) -> str:
    check_str(name, address)
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            f"{name} must look like 'host:port' with a port in 1..65535, got {address!r}"
        )
    return address


def tf_config(workers, index: int) -> str:
    """The ``TF_CONFIG`` (JSON) of worker ``index`` in a cluster of ``workers`` ('host:port').

    ``tf_config(["10.0.0.1:2222", "10.0.0.2:2222"], 0)`` goes on the first machine, the same with
    ``1`` on the second. Worker 0 is the chief (it writes checkpoints and logs).
    """
    if isinstance(workers, str) or not isinstance(workers, list | tuple):
        raise TypeError(f"workers must be a list of 'host:port' strings, got {workers!r}")
    if not workers:
        raise ValueError("workers must name at least one 'host:port'")
    workers = [_check_address(f"workers[{i}]", w) for i, w in enumerate(workers)]
    if len(set(workers)) != len(workers):
        raise ValueError(f"workers must be distinct addresses, got {workers}")
    index = check_int("index", index, minimum=0)
    if index >= len(workers):
        raise ValueError(f"index must be < {len(workers)} (the number of workers), got {index}")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


# ---------------------------------------------------------------- local worker processes
@dataclass
class WorkerRun:
    """One worker process of :func:`run_workers`: what it was given and how it ended."""

    index: int
    address: str
    tf_config: str
    pid: int
    returncode: int | None  # negative: ended by that signal
    seconds: float  # from the start of the cluster to the end of this worker
    stopped: str | None  # why run_workers stopped it ('timeout', 'worker k failed'), or None
    output: str  # its stdout and stderr, interleaved

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.stopped is None


def _signal_group(proc: subprocess.Popen, sig) -> None:
    try:
        if _POSIX:
            os.killpg(proc.pid, sig)  # the worker and anything it started (its own session)
        elif proc.poll() is None:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _stop_all(procs: list[subprocess.Popen], grace: float) -> None:
    """SIGTERM every worker's process group, then SIGKILL what is left after ``grace`` seconds."""
    for p in procs:
        _signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        time.sleep(0.05)
    for p in procs:
        _signal_group(p, signal.SIGKILL if _POSIX else signal.SIGTERM)
        p.wait()
    deadline = time.monotonic() + 5.0  # killed children take a moment to disappear
    while time.monotonic() < deadline and any(_group_members(p.pid) for p in procs):
        time.sleep(0.02)


def run_workers(
    argv,
    n_workers: int = 2,
    *,
    timeout: float = 120.0,
    host: str = "127.0.0.1",
    env: dict | None = None,
    cwd=None,
    grace: float = 2.0,
) -> list[WorkerRun]:
    """Runs ``argv`` as ``n_workers`` local worker processes of one cluster and waits for them.

    Each worker gets ``TF_CONFIG`` for its index (free ports on ``host``) plus ``env`` on top of
    this process's environment. The run ends when every worker has exited, when one fails (the
    others would wait for it forever in their next all-reduce), or after ``timeout`` seconds. In
    every case — a KeyboardInterrupt included — the workers' process groups are sent SIGTERM and,
    ``grace`` seconds later, SIGKILL, and reaped before this returns. Returns one
    :class:`WorkerRun` per worker, in index order.
    """
    if isinstance(argv, str | bytes) or not isinstance(argv, list | tuple) or not argv:
        raise TypeError(f"argv must be a non-empty list of strings, got {argv!r}")
    argv = [os.fspath(a) if isinstance(a, os.PathLike) else a for a in argv]
    if not all(isinstance(a, str) for a in argv):
        raise TypeError(f"argv must be a list of strings, got {argv!r}")
    n_workers = check_int("n_workers", n_workers, minimum=1)
    timeout = check_number("timeout", timeout, minimum=0.01)
    grace = check_number("grace", grace, minimum=0)
    if env is not None and not (
        isinstance(env, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise TypeError(f"env must be a dict of str to str, got {env!r}")
    addresses = [f"{host}:{port}" for port in free_ports(n_workers, host=host)]
    configs = [tf_config(addresses, i) for i in range(n_workers)]
    procs, logs, ended = [], [], [None] * n_workers
    stopped: str | None = None
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ktt-workers-") as tmp:
        try:
            for i, config in enumerate(configs):
                logs.append(open(Path(tmp) / f"worker{i}.log", "w+b"))
                procs.append(
                    subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=logs[-1],
                        stderr=subprocess.STDOUT,
                        env={**os.environ, **(env or {}), "TF_CONFIG": config},
                        cwd=cwd,
                        start_new_session=_POSIX,
                    )
                )
            while True:
                for i, p in enumerate(procs):
                    if ended[i] is None and p.poll() is not None:
                        ended[i] = time.monotonic() - start
                if all(e is not None for e in ended):
                    break
                failed = [i for i, p in enumerate(procs) if p.returncode not in (None, 0)]
                if failed:
                    stopped = f"worker {failed[0]} failed"
                    break
                if time.monotonic() - start > timeout:
                    stopped = "timeout"
                    break
                time.sleep(0.05)
        finally:
            running = [p.poll() is None for p in procs]
            _stop_all(procs, grace)
            for log in logs:
                log.close()
        runs = []
        for i, p in enumerate(procs):
            output = (Path(tmp) / f"worker{i}.log").read_text(errors="replace")
            seconds = ended[i] if ended[i] is not None else time.monotonic() - start
            why = stopped if running[i] else None
            runs.append(
                WorkerRun(i, addresses[i], configs[i], p.pid, p.returncode, seconds, why, output)
            )
    return runs


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid`` (Linux: read from /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError, AttributeError, OSError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (name) "
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return sorted(members)


def still_running(runs) -> list[int]:
    """PIDs of processes still alive from the workers of :func:`run_workers` (empty: all gone)."""
    if not isinstance(runs, list | tuple) or not all(isinstance(r, WorkerRun) for r in runs):
        raise TypeError("runs must be the list of WorkerRun that run_workers returned")
    return sorted({pid for r in runs for pid in _group_members(r.pid)})
