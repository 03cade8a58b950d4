"""Recording each notebook's results for ``make run``, and showing result tables.

Notebooks call :func:`record` once, at the end, with the numbers worth keeping; it writes them to
``$KTT_RESULTS_DIR`` (default ``results/`` in the build folder, :data:`utils.paths.BUILD_DIR`)
and returns nothing, so a Summary cell shows only the lesson. ``make run`` collects the records
into ``build/results.md``.
:func:`show_table` displays rows as an HTML table in Jupyter and as aligned text on a console.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import numbers
import os
import re
from pathlib import Path

from . import paths
from ._checks import check_str

RESULTS_ENV = "KTT_RESULTS_DIR"
_NOTEBOOK = re.compile(r"^\d{2}_[a-z0-9_]+$")


def results_dir() -> Path:
    """Where records go: ``$KTT_RESULTS_DIR``, else ``results/`` in ``paths.BUILD_DIR``."""
    return Path(os.environ.get(RESULTS_ENV) or paths.BUILD_DIR / "results")


def _clean(name: str, value):
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        return value if not isinstance(value, float) or math.isfinite(value) else str(value)
    raise TypeError(f"metric {name!r} must be a number, str or bool, got {type(value).__name__}")


def _short(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, ".3f") if 0.001 <= abs(value) < 1000 else format(value, ".3g")
    return str(value)


def headline_of(metrics: dict) -> str:
    """One line from metrics: ``val acc no l2 0.834 · best lambda 0.01``."""
    return " · ".join(f"{name.replace('_', ' ')} {_short(v)}" for name, v in metrics.items())


def record(notebook: str, **metrics) -> None:
    """Saves a notebook's results for ``make run``; later calls add to the same record.

    ``record("01_feature_scaling", val_loss_raw=0.69, val_loss_standardised=0.08)``. The
    headline line of ``build/results.md`` is built from the metrics, in the order given.
    """
    check_str("notebook", notebook)
    if not _NOTEBOOK.match(notebook):
        raise ValueError(f"notebook must look like '01_feature_scaling', got {notebook!r}")
    if not metrics:
        raise ValueError("record needs at least one metric, e.g. record(name, test_accuracy=0.9)")
    from .mode import is_quick

    clean = {k: _clean(k, v) for k, v in metrics.items()}
    path = results_dir() / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.is_file() else {}
    merged = {**old.get("metrics", {}), **clean}
    rec = {
        "notebook": notebook,
        "headline": headline_of(merged),
        "quick": is_quick(),
        "recorded": _dt.datetime.now().isoformat(timespec="seconds"),
        "metrics": merged,
    }
    path.write_text(json.dumps(rec, indent=2))


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


def _table_cells(rows, columns, floatfmt):
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
    return columns, [[_fmt(r.get(c, ""), floatfmt) for c in columns] for r in rows]


def format_table(rows, columns=None, *, floatfmt: str = ".4g") -> str:
    """A Markdown table from a list of dicts (aligned when printed, renders in Markdown)."""
    columns, cells = _table_cells(rows, columns, floatfmt)
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(vals):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line([str(c) for c in columns]), sep, *(line(r) for r in cells)])


class Table:
    """Rows of results that show as an HTML table in Jupyter and as aligned text elsewhere."""

    def __init__(self, rows, columns=None, *, floatfmt: str = ".4g", title: str | None = None):
        self.columns, self.cells = _table_cells(rows, columns, floatfmt)
        self.text = format_table(rows, self.columns, floatfmt=floatfmt)
        if title is not None:
            check_str("title", title)
        self.title = title

    def __str__(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def numeric(text: str) -> bool:
            try:
                float(text.replace("%", "").replace("×", ""))
            except ValueError:
                return False
            return True

        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"right" if numeric(v) else "left"}">{html.escape(v)}</td>'
                for v in row
            )
            + "</tr>"
            for row in self.cells
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def show_table(rows, columns=None, *, floatfmt: str = ".4g", title: str | None = None) -> None:
    """Displays rows as a table: HTML in Jupyter, aligned Markdown text on a console."""
    table = Table(rows, columns, floatfmt=floatfmt, title=title)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        print(table)
        return
    if get_ipython() is None:
        print(table)
    else:
        display(table)
