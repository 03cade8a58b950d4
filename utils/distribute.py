"""Distributed training plumbing: the right ``tf.distribute`` strategy for the hardware present,
and logical CPU devices for single-machine demos.

* :func:`pick_strategy` — TPU (only tried when TPU environment variables say there is one, so it
  never waits on a network offline), a multi-worker cluster described by ``TF_CONFIG``, all GPUs,
  one GPU, or the default (no distribution); returns the strategy and a one-line description.
* :func:`split_logical_cpus` — cut the CPU into ``n`` logical devices (before TensorFlow starts)
  so that ``MirroredStrategy`` has several replicas on a machine without GPUs.

Describing a multi-worker cluster (``TF_CONFIG``) and running one on this machine is
:mod:`utils.cluster`.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from ._checks import check_choice, check_int, check_str

PREFER_CHOICES = ("tpu", "multi_worker", "mirrored", "one_device", "default")
# Set on machines that have a TPU: Colab's old TPU runtime, Cloud TPU nodes and TPU VMs.
TPU_ENV_VARS = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")


class Picked(NamedTuple):
    """What :func:`pick_strategy` returns: unpack it as ``strategy, description = ...``."""

    strategy: object
    description: str


# ---------------------------------------------------------------- picking a strategy
def _tpu_address() -> str | None:
    """The TPU to connect to, from the environment; None when nothing says there is a TPU."""
    if os.environ.get("COLAB_TPU_ADDR"):
        return "grpc://" + os.environ["COLAB_TPU_ADDR"]
    if os.environ.get("TPU_NAME"):
        return os.environ["TPU_NAME"]
    if os.environ.get("TPU_ACCELERATOR_TYPE"):
        return "local"  # a TPU VM: the chips are attached to this machine
    return None


def _tpu_strategy(address: str):
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
    if address != "local":
        tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    strategy = tf.distribute.TPUStrategy(resolver)
    cores = strategy.num_replicas_in_sync
    return Picked(
        strategy, f"TPUStrategy: {cores} TPU cores ({address}), batches split {cores} ways"
    )


def _cluster_from_env() -> tuple[int, int] | None:
    """(number of workers, this task's index) from TF_CONFIG, or None when it is not set."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
        cluster, task = config.get("cluster", {}), config.get("task", {})
        n_workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
        index = int(task.get("index", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"TF_CONFIG is not a valid cluster description: {exc}") from None
    if cluster.get("ps"):
        raise ValueError(
            "TF_CONFIG describes a parameter-server cluster ('ps' tasks); that needs "
            "tf.distribute.ParameterServerStrategy and a coordinator, not picked automatically"
        )
    return (n_workers, index) if n_workers else None


def _multi_worker_strategy(n_workers: int, index: int):
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Picked(
        strategy,
        f"MultiWorkerMirroredStrategy: worker {index} of {n_workers} (TF_CONFIG), "
        f"{strategy.num_replicas_in_sync} replicas in all",
    )


def pick_strategy(prefer: str | None = None) -> Picked:
    """The ``tf.distribute`` strategy for the hardware present, and one line saying why.

    With ``prefer=None`` the first that applies wins:

    1. a **TPU**, tried only when ``COLAB_TPU_ADDR``, ``TPU_NAME`` or ``TPU_ACCELERATOR_TYPE`` is
       set (a TPU that does not answer falls through to the next rule, with a note);
    2. a **cluster** in ``TF_CONFIG`` with two or more workers: ``MultiWorkerMirroredStrategy``
       (run the same script on every machine, each with its own ``TF_CONFIG``);
    3. **two or more GPUs**: ``MirroredStrategy`` over all of them;
    4. **one GPU**: ``OneDeviceStrategy("/gpu:0")``;
    5. otherwise the **default strategy** (no distribution; ``strategy.scope()`` still works).

    ``prefer`` forces one kind: ``"tpu"`` (a RuntimeError if no TPU answers), ``"multi_worker"``,
    ``"mirrored"`` (all GPUs, or the CPU when there are none), ``"one_device"`` (the first GPU,
    else the CPU) or ``"default"``. Build and compile the model inside ``strategy.scope()``.

    Keras 3.15's ``fit`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585): train
    a cluster with a custom loop (notebook 22's ``train_loop``); the other strategies work with
    ``fit``.
    """
    if prefer is not None:
        check_str("prefer", prefer)
        check_choice("prefer", prefer, PREFER_CHOICES)
    import tensorflow as tf

    notes = []
    address = _tpu_address()
    if prefer == "tpu" or (prefer is None and address):
        try:
            return _tpu_strategy(address or "local")
        except Exception as exc:  # no TPU answered: NotFoundError, ValueError, ...
            if prefer == "tpu":
                raise RuntimeError(f"prefer='tpu' but no TPU could be reached: {exc}") from exc
            notes.append(f"TPU at {address!r} not reachable ({type(exc).__name__})")

    def done(picked: Picked) -> Picked:
        return Picked(picked.strategy, "; ".join([picked.description, *notes]))

    cluster = _cluster_from_env()
    if prefer == "multi_worker" or (prefer is None and cluster and cluster[0] > 1):
        return done(_multi_worker_strategy(*(cluster or (1, 0))))

    gpus = tf.config.list_physical_devices("GPU")
    if prefer == "mirrored" or (prefer is None and len(gpus) >= 2):
        strategy = tf.distribute.MirroredStrategy()
        where = f"{len(gpus)} GPUs" if gpus else "the CPU (no GPU found)"
        n = strategy.num_replicas_in_sync
        return done(Picked(strategy, f"MirroredStrategy over {where}: {n} replica(s)"))
    if prefer == "one_device" or (prefer is None and len(gpus) == 1):
        device = "/gpu:0" if gpus else "/cpu:0"
        return done(
            Picked(tf.distribute.OneDeviceStrategy(device), f"OneDeviceStrategy on {device}")
        )
    what = f"{len(gpus)} GPU(s) present" if gpus else f"CPU only ({os.cpu_count()} cores)"
    return done(Picked(tf.distribute.get_strategy(), f"default strategy (no distribution): {what}"))


# ---------------------------------------------------------------- logical CPU devices
def split_logical_cpus(n: int) -> list[str]:
    """Cuts the CPU into ``n`` logical devices; returns their names (``/device:CPU:i``).

    A ``MirroredStrategy`` over these names has ``n`` replicas on a machine without GPUs: the
    same code paths as several GPUs (replica batches, all-reduce), though not faster, since the
    logical devices share the same cores. TensorFlow fixes its devices when it starts (the first
    tensor, model or ``list_logical_devices``), so call this first. Calling it again with the same
    ``n`` does nothing; a different ``n`` after the start is a RuntimeError.
    """
    n = check_int("n", n, minimum=1)
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError as exc:
        have = len(tf.config.list_logical_devices("CPU"))
        raise RuntimeError(
            f"split_logical_cpus({n}) must run before TensorFlow initialises its devices (before "
            f"the first tensor, model or device listing); it is already running with {have} "
            "logical CPU device(s). Restart the kernel (or process) and call it first."
        ) from exc
    return [f"/device:CPU:{i}" for i in range(n)]
