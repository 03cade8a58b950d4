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
