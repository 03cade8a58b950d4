"""Wall-clock timing for training runs and benchmarks: a timer, medians of repeated runs."""

from __future__ import annotations

import statistics
import time

from ._checks import check_int


class Timer:
    """Context manager measuring wall time: ``with Timer() as t: ...; t.seconds``."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.seconds: float = float("nan")

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start

    def __repr__(self) -> str:
        return f"Timer({self.seconds:.2f} s)"


def median_seconds(fn, *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls.

    For latency (``lambda: model(x, training=False)``) and any other repeatable piece of work;
    the warm-up calls absorb tracing, compiling and cache filling.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    repeats = check_int("repeats", repeats, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_fit_seconds(model, dataset, *, steps: int, repeats: int = 5) -> float:
    """Median wall time of ``steps`` training steps of a compiled Keras model.

    One ``fit`` over ``1 + repeats`` short epochs of ``steps`` steps each; the first epoch is a
    warm-up (tracing, compiling, filling shuffle buffers) and the median of the rest is returned.
    ``dataset`` must yield at least ``steps * (1 + repeats)`` batches (use ``.repeat()``).
    """
    steps = check_int("steps", steps, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    if not hasattr(model, "fit") or not getattr(model, "compiled", True):
        raise TypeError("model must be a compiled Keras model")
    import keras

    class _EpochTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = _EpochTimes()
    model.fit(
        dataset,
        epochs=1 + repeats,
        steps_per_epoch=steps,
        callbacks=[timer],
        shuffle=False,
        verbose=0,
    )
    return statistics.median(timer.seconds[1:])


_SUBPROCESS_SCRIPT = """
import json, os, sys
import utils
import keras, numpy as np, tensorflow as tf
from utils.timing import median_fit_seconds
args = json.loads(sys.argv[1])
seen = {name: os.environ.get(name) for name in args["env_names"]}  # as TensorFlow found them
keras.utils.set_random_seed(0)
model = keras.models.load_model(args["model_path"])
n = args["steps"] * args["batch_size"]
x = np.random.rand(n, *model.input_shape[1:]).astype("float32")
y = np.random.randint(0, model.output_shape[-1], size=n)
ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(args["batch_size"]).cache().repeat()
seconds = median_fit_seconds(model, ds, steps=args["steps"], repeats=args["repeats"])
print(json.dumps({"seconds": seconds, "env": seen}))
"""


def fit_seconds_in_subprocess(
    model_path,
    *,
    steps: int,
    batch_size: int,
    env: dict | None = None,
    repeats: int = 3,
    timeout: float = 600.0,
) -> float:
    """Median seconds of ``steps`` training steps of a saved, compiled ``.keras`` model (random
    inputs and integer labels), measured in a fresh Python process whose environment is this one
    plus ``env``. For switches TensorFlow reads only when it starts, such as
    ``TF_ENABLE_ONEDNN_OPTS``: ``fit_seconds_in_subprocess(p, steps=30, batch_size=128,
    env={"TF_ENABLE_ONEDNN_OPTS": "0"})``.

    The child reports the value of each variable in ``env`` as it saw it once TensorFlow was
    loaded; if any differs from the one given (so the measurement is not of the setting asked
    for), this raises ``RuntimeError`` instead of returning a number.
    """
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    if not isinstance(model_path, str | os.PathLike):
        raise TypeError(f"model_path must be a path, got {type(model_path).__name__}")
    model_path = Path(model_path)
    if model_path.suffix != ".keras" or not model_path.is_file():
        raise ValueError(f"model_path must be an existing .keras file, got {str(model_path)!r}")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    env = {} if env is None else env
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise TypeError("env must be a dict of str to str")
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    args = dict(
        model_path=str(model_path),
        steps=steps,
        batch_size=batch_size,
        repeats=repeats,
        env_names=sorted(env),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, json.dumps(args)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"timing subprocess failed:\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["env"] != env:
        raise RuntimeError(
            f"the timing subprocess did not see the environment it was given: asked for {env}, "
            f"it saw {report['env']}"
        )
    return float(report["seconds"])
