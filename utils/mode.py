"""Quick mode: the one switch that makes every notebook small and fast (CI, classrooms).

Quick mode is on when the environment variable ``KTT_QUICK`` is ``1``/``true``/``yes``/``on``
(``make run QUICK=1`` and ``make test`` set it). This module is the only place that reads it.
Notebooks call :func:`pick` for sizes and epochs, and :func:`subset` to shrink data.
"""

from __future__ import annotations

import os

import numpy as np

from ._checks import as_array, check_int

ENV_VAR = "KTT_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def is_quick() -> bool:
    """True when quick mode is on. An unrecognised value is an error, not a silent 'off'."""
    raw = os.environ.get(ENV_VAR, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{ENV_VAR} must be one of 1/0/true/false/yes/no/on/off, got {raw!r}")


def pick(full, quick):
    """``quick`` in quick mode, ``full`` otherwise: ``epochs = pick(full=20, quick=2)``.

    None is allowed for either (e.g. ``n = pick(full=None, quick=3000)``: no subset in full mode).
    """
    if full is not None and quick is not None and type(full) is not type(quick):
        if not (isinstance(full, int | float) and isinstance(quick, int | float)):
            raise TypeError(
                f"full and quick must be of the same kind, got {type(full).__name__} "
                f"and {type(quick).__name__}"
            )
    return quick if is_quick() else full


def subset(x, y, n: int | None, *, seed: int = 0, stratify: bool = True):
    """A deterministic (optionally stratified) subset of ``n`` examples of ``(x, y)``.

    ``n=None`` or ``n >= len(x)`` returns the data unchanged. Stratified subsets keep the class
    proportions of ``y`` (scikit-learn's ``train_test_split``), so small subsets stay balanced.
    """
    y = as_array("y", y, ndim=(1, 2))
    if hasattr(x, "__len__") and len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    n = check_int("n", n, minimum=1, allow_none=True)
    seed = check_int("seed", seed, minimum=0)
    if n is None or n >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    labels = y.ravel() if y.ndim == 1 or y.shape[1] == 1 else y.argmax(axis=1)  # (n, 1) as Keras
    strat = labels if stratify else None
    if stratify and n < len(np.unique(labels)):
        raise ValueError(f"n={n} is smaller than the number of classes; use stratify=False")
    keep, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=strat)
    keep = np.sort(keep)
    x_sub = x[keep] if isinstance(x, np.ndarray) else [x[i] for i in keep]
    return x_sub, y[keep]
