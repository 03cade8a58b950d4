"""``make run``: executes every notebook headless, one line per notebook, then a summary table.

Executed copies go to ``build/executed/``, HTML to ``build/html/``, records of headline results to
``build/results/`` and the summary to ``build/results.md``. A failing notebook is reported with
the failing cell's error; the run goes on and exits non-zero at the end.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path

from .paths import BUILD_DIR, NOTEBOOKS_DIR
from .results import RESULTS_ENV, format_table, load_results


def _error_summary(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    return f"{ename}: {evalue[-1] if evalue else ''}"[:300]


def execute(
    path: Path, *, timeout: int, build: Path = BUILD_DIR, env: dict[str, str] | None = None
) -> tuple[bool, str]:
    """Runs one notebook; writes its executed copy and HTML; returns (ok, error summary).

    ``env`` is the kernel's whole environment (default: this process's); the caller's own
    ``os.environ`` is never changed, so running notebooks from a test cannot leak a mode.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    ok, error = True, ""
    try:
        client.execute(env=dict(os.environ if env is None else env))
    except Exception as exc:  # CellExecutionError, timeouts, dead kernels
        ok, error = False, _error_summary(exc)
    (build / "executed").mkdir(parents=True, exist_ok=True)
    (build / "html").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, build / "executed" / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (build / "html" / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return ok, error


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quick mode (small data, few epochs)")
    parser.add_argument(
        "--only", default="", help="run notebooks whose name contains this (comma-separated: any)"
    )
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of notebooks")
    parser.add_argument("--build", type=Path, default=BUILD_DIR, help="output folder")
    args = parser.parse_args(argv)
    if args.timeout is not None and args.timeout < 1:
        parser.error("--timeout must be >= 1")
    build = args.build

    results_dir = build / "results"
    env = dict(os.environ, KTT_QUICK="1" if args.quick else "0")  # only the kernels see these
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env[RESULTS_ENV] = str(results_dir)
    timeout = args.timeout or (600 if args.quick else 3600)
    wanted = [w for w in args.only.split(",") if w] or [""]
    paths = [
        p
        for p in sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb"))
        if any(w in p.name for w in wanted)
    ]
    if not paths:
        print(f"no notebooks matching {args.only!r} in {args.notebooks}")
        return 1
    mode = "quick" if args.quick else "full"
    print(f"Running {len(paths)} notebook(s) in {mode} mode → {build}/executed, {build}/html")
    rows, failed = [], 0
    for path in paths:
        (results_dir / f"{path.stem}.json").unlink(missing_ok=True)  # no stale headline
        start = time.perf_counter()
        ok, error = execute(path, timeout=timeout, build=build, env=env)
        seconds = time.perf_counter() - start
        rec = load_results(results_dir).get(path.stem, {}) if results_dir.is_dir() else {}
        headline = rec.get("headline", "(no result recorded)") if ok else error
        failed += not ok
        print(
            f"{path.stem:<36} {seconds:7.1f} s  {'ok' if ok else 'FAILED':<6}  {headline}",
            flush=True,
        )
        rows.append(
            {
                "notebook": path.stem,
                "seconds": round(seconds, 1),
                "status": "ok" if ok else "FAILED",
                "headline": headline,
            }
        )
    table = format_table(rows, ["notebook", "seconds", "status", "headline"])
    device = f"{platform.machine()}, {os.cpu_count()} CPU cores"
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = (
        f"# Results ({mode} mode)\n\n{stamp} · {device} · Python {platform.python_version()}\n\n"
        f"{table}\n"
    )
    (build / "results.md").write_text(text, encoding="utf-8")
    print("\n" + table)
    print(f"\n{len(paths) - failed} ok, {failed} failed · summary in {build / 'results.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
