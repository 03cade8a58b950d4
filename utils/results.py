"""Recording each notebook's headline results, and printing result tables.

Notebooks call :func:`record`; ``make run`` collects the records into ``build/results.md``.
Records go to ``$KTT_RESULTS_DIR`` (default ``build/results`` in the repository).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import os
import re
from pathlib import Path

from ._checks import check_str

RESULTS_ENV = "KTT_RESULTS_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
_NOTEBOOK = re.compile(r"^\d{2}_[a-z0-9_]+$")


def results_dir() -> Path:
    return Path(os.environ.get(RESULTS_ENV) or REPO_ROOT / "build" / "results")


def _clean(name: str, value):
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        return value if not isinstance(value, float) or math.isfinite(value) else str(value)
    raise TypeError(f"metric {name!r} must be a number, str or bool, got {type(value).__name__}")


def record(notebook: str, headline: str, **metrics) -> Path:
    """Saves a notebook's headline (one line) and metrics; later calls add to the same record.

    ``record("01_feature_scaling", "standardised: loss 0.08 vs raw 0.69", raw_loss=0.69)``
    """
    check_str("notebook", notebook)
    if not _NOTEBOOK.match(notebook):
        raise ValueError(f"notebook must look like '01_feature_scaling', got {notebook!r}")
    check_str("headline", headline)
    if "\n" in headline:
        raise ValueError("headline must be a single line")
    from .mode import is_quick

    clean = {k: _clean(k, v) for k, v in metrics.items()}
    path = results_dir() / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.is_file() else {}
    rec = {
        "notebook": notebook,
        "headline": headline,
        "quick": is_quick(),
        "recorded": _dt.datetime.now().isoformat(timespec="seconds"),
        "metrics": {**old.get("metrics", {}), **clean},
    }
    path.write_text(json.dumps(rec, indent=2))
    return path


def load_results(directory: Path | str | None = None) -> dict[str, dict]:
    """All records in a results folder: ``{notebook: record}``."""
    directory = Path(directory) if directory is not None else results_dir()
    out = {}
    for path in sorted(directory.glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    return out


def _fmt(value, floatfmt: str) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral | bool):
        return format(float(value), floatfmt)  # Python and NumPy floats alike
    return str(value)


def format_table(rows, columns=None, *, floatfmt: str = ".4g") -> str:
    """A Markdown table from a list of dicts (readable printed, and renders in Markdown)."""
    if isinstance(rows, dict) or not hasattr(rows, "__iter__"):
        raise TypeError(f"rows must be a list of dicts, got {type(rows).__name__}")
    rows = list(rows)
    if not rows:
        raise ValueError("rows must not be empty")
    if not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a list of dicts")
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    else:
        columns = list(columns)
        unknown = [c for c in columns if not any(c in r for r in rows)]
        if unknown:
            raise ValueError(f"columns not found in any row: {unknown}")
    try:
        format(1.0, floatfmt)
    except ValueError:
        raise ValueError(f"floatfmt {floatfmt!r} is not a float format") from None
    cells = [[_fmt(r.get(c, ""), floatfmt) for c in columns] for r in rows]
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(vals):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line([str(c) for c in columns]), sep, *(line(r) for r in cells)])
