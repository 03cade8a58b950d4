"""``make run``: executes every notebook headless, showing progress, then a summary table.

For each notebook it prints a line when the notebook starts, a live progress display while it
runs (code cell k of N and the elapsed time: rewritten in place on a terminal, one plain line
every 30 s in a log), then the result line (seconds, ok/FAILED, headline result or the failing
cell's error). A failing notebook does not stop the run; the exit status is 1 at the end.

Everything goes to the build folder (:data:`utils.paths.BUILD_DIR`, ``--build``): executed copies
to ``executed/``, HTML to ``html/``, the notebooks' result records to ``results/``, each kernel's
own output (its stderr and stdout: TensorFlow's C++ lines, ipykernel's warnings) to
``logs/NN_slug.log`` instead of the console, the summary to ``results.md`` and the same as data
to ``run.json`` (mode, date, device, Python/TensorFlow/Keras versions, per-notebook seconds,
status and headline, total seconds), which ``make readme`` reads. ``run.json`` is rewritten after
every notebook, so a run that is stopped part-way keeps what it finished.

``--resume`` (``make run RESUME=1``) continues such a run: a notebook recorded ok in the same mode,
with the same Python/TensorFlow/Keras/device, whose notebook file and ``utils`` package are
byte-for-byte what ran (SHA-256 fingerprints kept in each row) is kept with its executed copy and
record, not run again; the others run. A full run takes hours on two cores, so a laptop that
sleeps, or a session that ends, does not lose the notebooks already done.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from .paths import BUILD_DIR, NOTEBOOKS_DIR
from .results import RESULTS_ENV, format_table, load_results

PLAIN_EVERY_S = 30.0  # without a terminal: one progress line this often
RUN_JSON = "run.json"

_VERSIONS_PROBE = """
import json, keras, tensorflow as tf
from utils import runtime
print(json.dumps({"tensorflow": tf.__version__, "keras": keras.__version__,
                  "device": runtime.device_name()}))
"""


def _error_summary(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    return f"{ename}: {evalue[-1] if evalue else ''}"[:300]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Progress:
    """Code cell k of N and the elapsed time of one notebook, shown while it runs.

    On a terminal the line is rewritten in place (``\\r``) every ``tick`` seconds and erased at
    the end; elsewhere (a log, CI) one plain line is written every ``every`` seconds.
    """

    def __init__(
        self,
        name: str,
        n_cells: int,
        stream=None,
        *,
        every: float = PLAIN_EVERY_S,
        tick: float = 1.0,
    ):
        self.name, self.n_cells = name, n_cells
        self.stream = sys.stdout if stream is None else stream
        self.every, self.tick = every, tick
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.cell = 0
        self._start = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._width = 0

    def text(self) -> str:
        elapsed = _clock(time.perf_counter() - self._start)
        return f"  {self.name}: cell {self.cell}/{self.n_cells}, {elapsed} elapsed"

    def cell_started(self, **_hook_kwargs) -> None:
        """nbclient's ``on_cell_execute`` hook: one more code cell is running."""
        self.cell += 1
        if self.live:
            self._show()

    def _show(self) -> None:
        line = self.text()
        self._width = max(self._width, len(line))
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()

    def _run(self) -> None:
        wait = self.tick if self.live else self.every
        while not self._done.wait(wait):
            if self.live:
                self._show()
            else:
                self.stream.write(self.text() + "\n")
                self.stream.flush()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")  # the result line takes its place
            self.stream.flush()


def execute(
    path: Path,
    *,
    timeout: int,
    build: Path = BUILD_DIR,
    env: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> tuple[bool, str]:
    """Runs one notebook; writes its executed copy, HTML and kernel log; returns (ok, error).

    ``env`` is the kernel's whole environment (default: this process's); the caller's own
    ``os.environ`` is never changed, so running notebooks from a test cannot leak a mode. The
    kernel's stdout and stderr go to ``build/logs/<name>.log``, not to the console.
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
        on_cell_execute=progress.cell_started if progress is not None else None,
    )
    (build / "logs").mkdir(parents=True, exist_ok=True)
    ok, error = True, ""
    with open(build / "logs" / f"{path.stem}.log", "wb") as log:
        try:
            client.execute(
                env=dict(os.environ if env is None else env),
                stdout=log,
                stderr=log,
            )
        except Exception as exc:  # CellExecutionError, timeouts, dead kernels
            ok, error = False, _error_summary(exc)
    (build / "executed").mkdir(parents=True, exist_ok=True)
    (build / "html").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, build / "executed" / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (build / "html" / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return ok, error


def code_cells(path: Path) -> int:
    """How many code cells of a notebook will run (empty ones are skipped)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def merge_commits(previous: str | None, current: str | None) -> str | None:
    """A resumed run's commits, oldest first, each once: "a, b" and "c" give "a, b, c"."""
    commits: list[str] = []
    for part in [*(previous or "").split(", "), current or ""]:
        if part and part not in commits:
            commits.append(part)
    return ", ".join(commits) or None


def git_commit(folder: Path | None = None) -> str | None:
    """The commit the code was run at (short hash, "+ uncommitted changes" when the work tree
    differs), or None outside a git checkout or without git."""
    folder = Path(folder) if folder is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not head:
        return None
    return f"{head} + uncommitted changes" if changes else head


def environment(env: dict[str, str], timeout: float = 300) -> dict[str, str]:
    """The versions and device the kernels see, asked of a Python started with their ``env``."""
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", _VERSIONS_PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        info.update(json.loads(done.stdout.strip().splitlines()[-1]))
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        info.update(tensorflow="unknown", keras="unknown", device=f"unknown ({exc})"[:200])
    return info


def select(notebooks: Path, only: str) -> list[Path]:
    """The notebooks of a folder whose names contain any of the comma-separated ``only``."""
    wanted = [w.strip() for w in only.split(",") if w.strip()] or [""]
    return [
        p for p in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")) if any(w in p.name for w in wanted)
    ]


def notebook_fingerprint(path: Path) -> str:
    """SHA-256 of a notebook file (first 16 hex digits): what ``--resume`` compares."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def utils_fingerprint(package: Path | None = None) -> str:
    """SHA-256 (first 16 hex digits) of every ``.py`` file of the ``utils`` package, names
    included: a notebook run with other helper code is not the same run."""
    package = Path(package) if package is not None else Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


RESUME_KEYS = ("mode", "python", "tensorflow", "keras", "device")


def kept_rows(previous: dict, current: dict, fingerprints: dict[str, str]) -> tuple[dict, str]:
    """The rows of a previous run.json that ``--resume`` may keep, by notebook, and why none
    are kept when that is so ("" otherwise).

    ``current`` holds this run's mode and environment; ``fingerprints`` maps each notebook to
    run to its notebook fingerprint. A row is kept when it finished ok with the same notebook
    file and utils package, in a run of the same mode and environment.
    """
    changed = [key for key in RESUME_KEYS if previous.get(key) != current.get(key)]
    if changed:
        what = ", ".join(f"{key} {previous.get(key)!r} → {current.get(key)!r}" for key in changed)
        return {}, f"the last run differs in {what}"
    kept = {
        row["notebook"]: row
        for row in previous.get("notebooks", [])
        if row.get("status") == "ok"
        and row.get("utils_sha256") == current["utils_sha256"]
        and row.get("notebook_sha256") == fingerprints.get(row["notebook"])
    }
    return kept, "" if kept else "no notebook of the last run finished ok with the same code"


def write_run(build: Path, run: dict) -> None:
    """``run.json`` and ``results.md`` for the rows so far (called after every notebook)."""
    rows = run["notebooks"]
    run["total_seconds"] = round(sum(row["seconds"] for row in rows), 1)
    (build / RUN_JSON).write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    table = format_table(rows, ["notebook", "seconds", "status", "headline"])
    started = _dt.datetime.fromisoformat(run["date"])
    resumed = " · resumed: notebooks from several sittings" if run.get("resumed") else ""
    text = (
        f"# Results ({run['mode']} mode)\n\n{started:%Y-%m-%d %H:%M} · {run['device']} "
        f"({run['cpu']}) · Python {run['python']} · TensorFlow {run['tensorflow']} · Keras "
        f"{run['keras']} · total {run['total_seconds'] / 60:.1f} min{resumed}\n\n{table}\n"
    )
    build.mkdir(parents=True, exist_ok=True)
    (build / "results.md").write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quick mode (small data, few epochs)")
    parser.add_argument(
        "--only", default="", help="run notebooks whose name contains this (comma-separated: any)"
    )
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of notebooks")
    parser.add_argument("--build", type=Path, default=BUILD_DIR, help="output folder")
    parser.add_argument(
        "--progress-every",
        type=float,
        default=PLAIN_EVERY_S,
        help="seconds between progress lines when the output is not a terminal",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the notebooks the last run (build/run.json) finished ok with the same code",
    )
    args = parser.parse_args(argv)
    if args.timeout is not None and args.timeout < 1:
        parser.error("--timeout must be >= 1")
    if args.progress_every <= 0:
        parser.error("--progress-every must be > 0")
    build = args.build.resolve()

    results_dir = build / "results"
    env = dict(os.environ, KTT_QUICK="1" if args.quick else "0")  # only the kernels see these
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env[RESULTS_ENV] = str(results_dir)
    timeout = args.timeout or (600 if args.quick else 3600)
    paths = select(args.notebooks, args.only)
    if not paths:
        print(f"no notebooks matching {args.only!r} in {args.notebooks}")
        return 1
    mode = "quick" if args.quick else "full"
    started = _dt.datetime.now()
    info = environment(env)
    print(
        f"Running {len(paths)} notebook(s) in {mode} mode on {info['device']} · TensorFlow "
        f"{info['tensorflow']} · Keras {info['keras']} → {build}",
        flush=True,
    )
    # every notebook of the folder: a resume keeps rows outside ONLY's selection too
    fingerprints = {path.stem: notebook_fingerprint(path) for path in select(args.notebooks, "")}
    run = {
        "mode": mode,
        "date": started.isoformat(timespec="seconds"),
        "only": args.only,
        "commit": git_commit(),
        **info,
        "utils_sha256": utils_fingerprint(),
        "notebooks": [],
    }
    kept: dict[str, dict] = {}
    if args.resume:
        previous_path = build / RUN_JSON
        try:
            previous = json.loads(previous_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous, why = {}, f"there is no readable {previous_path}"
        else:
            kept, why = kept_rows(previous, run, fingerprints)
        if kept:
            run["date"] = min([previous["date"], run["date"]])
            run["resumed"] = True
            run["commit"] = merge_commits(previous.get("commit"), run["commit"])
            print(f"Resuming: {len(kept)} notebook(s) kept from {previous_path}", flush=True)
        else:
            print(f"Resume: nothing kept ({why}); every notebook runs.", flush=True)
    # notebooks of the folder outside this selection, kept by a resume, stay in the record
    selected = {path.stem for path in paths}
    if kept and set(kept) | selected >= set(fingerprints):
        run["only"] = ""
    extra = [row for name, row in kept.items() if name not in selected]
    failed = 0
    for path in paths:
        if path.stem in kept:
            row = kept[path.stem]
            print(f"⏭ {path.stem:<34} {row['seconds']:7.1f} s  kept from {row.get('date', '?')}")
            run["notebooks"].append(row)
            continue
        (results_dir / f"{path.stem}.json").unlink(missing_ok=True)  # no stale headline
        n_cells = code_cells(path)
        notebook_started = _dt.datetime.now()
        print(f"▶ {path.stem} ({n_cells} code cells) started {notebook_started:%H:%M}", flush=True)
        start = time.perf_counter()
        with Progress(path.stem, n_cells, every=args.progress_every) as progress:
            ok, error = execute(path, timeout=timeout, build=build, env=env, progress=progress)
        seconds = time.perf_counter() - start
        rec = load_results(results_dir).get(path.stem, {}) if results_dir.is_dir() else {}
        headline = rec.get("headline", "(no result recorded)") if ok else error
        if not ok:
            headline += f" (kernel log: {build / 'logs' / (path.stem + '.log')})"
        failed += not ok
        print(
            f"{path.stem:<36} {seconds:7.1f} s  {'ok' if ok else 'FAILED':<6}  {headline}",
            flush=True,
        )
        run["notebooks"].append(
            {
                "notebook": path.stem,
                "seconds": round(seconds, 1),
                "status": "ok" if ok else "FAILED",
                "headline": headline,
                "date": notebook_started.isoformat(timespec="seconds"),
                "notebook_sha256": fingerprints[path.stem],
                "utils_sha256": run["utils_sha256"],
            }
        )
        write_run(build, {**run, "notebooks": sorted(run["notebooks"] + extra, key=_by_name)})
    run["notebooks"] = sorted(run["notebooks"] + extra, key=_by_name)
    write_run(build, run)
    rows = run["notebooks"]
    print("\n" + format_table(rows, ["notebook", "seconds", "status", "headline"]))
    print(
        f"\n{len(rows) - failed} ok, {failed} failed in {run['total_seconds'] / 60:.1f} min · "
        f"summary in {build / 'results.md'} and {build / RUN_JSON}"
    )
    return 1 if failed else 0


def _by_name(row: dict) -> str:
    return row["notebook"]


if __name__ == "__main__":
    sys.exit(main())
