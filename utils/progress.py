"""A live progress line for long ``fit`` calls in a notebook.

The notebooks train with ``verbose=0`` so that their saved outputs hold results, not pages of
progress bars; in full mode a fit can then run for minutes with nothing on the screen.
``LiveProgress`` is a Keras callback that keeps one line up to date while a fit runs (epoch k of N,
the batch within it, elapsed seconds and the last epoch's metrics) and removes it when the fit
ends: the cell prints its own results afterwards. A fit shorter than ``delay`` seconds shows
nothing (and leaves nothing in the saved notebook); a longer one leaves one empty output. In Jupyter
the line is a display rewritten in place; outside IPython (a script, a test) it is passed to
``show`` if given, else not shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras

from ._checks import check_number


def _ipython_display():
    """A function that shows a text in place of the previous one, or None outside IPython."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    handle = None

    def show(text: str) -> None:
        nonlocal handle
        bundle = {"text/plain": text}
        if handle is None:
            handle = display(bundle, raw=True, display_id=True)
        else:
            handle.update(bundle, raw=True)

    return show


def _format_metrics(logs: dict) -> str:
    parts = []
    for name, value in logs.items():
        try:
            parts.append(f"{name} {float(value):.4g}")
        except (TypeError, ValueError):  # a metric that is not a number (never shown)
            continue
    return " · ".join(parts)


class LiveProgress(keras.callbacks.Callback):
    """Keeps one line up to date while ``fit`` runs; removes it when the fit ends.

    ``label`` names the run on the line (e.g. ``"dropout 0.3, seed 2"``). The line appears once the
    fit has run ``delay`` seconds, then is rewritten at most every ``interval`` seconds and at every
    epoch's end. ``show`` receives each new text
    (the empty string removes the line); by default it is an in-place IPython display, and
    nothing outside IPython.
    """

    def __init__(
        self,
        label: str = "",
        *,
        interval: float = 1.0,
        delay: float = 5.0,
        show: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.label = label
        self.interval = check_number("interval", interval, minimum=0)
        self.delay = check_number("delay", delay, minimum=0)
        if show is not None and not callable(show):
            raise TypeError(f"show must be callable or None, got {type(show).__name__}")
        self._show_argument = show
        self._show = None
        self._shown = False
        self._start = self._last = 0.0
        self._epoch = 0
        self._metrics = ""

    def _text(self, batch: int | None = None) -> str:
        epochs = self.params.get("epochs")
        steps = self.params.get("steps")
        parts = [self.label] if self.label else []
        parts.append(f"epoch {self._epoch + 1}/{epochs}" if epochs else f"epoch {self._epoch + 1}")
        if batch is not None:
            parts.append(f"batch {batch + 1}/{steps}" if steps else f"batch {batch + 1}")
        parts.append(f"{time.perf_counter() - self._start:.0f} s")
        if self._metrics:
            parts.append(f"last epoch: {self._metrics}")
        return "training · " + " · ".join(parts)

    def _update(self, text: str) -> None:
        if self._show is None:
            return
        if not self._shown and time.perf_counter() - self._start < self.delay:
            return  # a short fit shows (and leaves) nothing
        self._shown = True
        self._show(text)

    def on_train_begin(self, logs=None) -> None:
        self._show = self._show_argument or _ipython_display()
        self._shown = False
        self._start = self._last = time.perf_counter()
        self._epoch, self._metrics = 0, ""
        self._update(self._text())

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._update(self._text(batch))

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._metrics = _format_metrics(logs or {})
        self._last = time.perf_counter()
        self._update(self._text())

    def on_train_end(self, logs=None) -> None:
        if self._shown:
            self._update("")
        self._show = None
