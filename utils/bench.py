"""``make bench``: runs the dataset notebooks (06–08) and the speed lesson (23) in full mode.

No model code lives here: every number comes from what the notebooks recorded with
:func:`utils.results.record`. Each dataset notebook records, for its headline model,
``model``, ``test_accuracy``, ``train_seconds``, ``samples_per_second``, ``device`` and
``real_data``; anything else it records (pipeline overhead, XLA on/off, top-5, ...) is listed
below the main table, as are the speed lesson's measurements (16-bit precision, input pipeline,
XLA and oneDNN ratios, each with its noise verdict). Output: ``build/bench.md``.

``--repeats N`` (default 3) runs the notebooks N times, each run into ``build/bench-runs/k/``,
and tabulates per notebook the **median** of each number over the runs (times vary from run to
run; on a CPU the accuracies repeat exactly, the seeds being fixed). The accuracy and time
targets (:data:`TARGETS`) are checked on those medians, in a table of their own: a target is
*met*, *not met*, or not measured (its notebook did not run, ran in quick mode, or ran on
another kind of device). They live here and never in a timed unit test.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from . import runner
from .paths import BUILD_DIR
from .results import format_table, load_results

DATASET_NOTEBOOKS = ("06_", "07_", "08_")  # one main-table row each
SPEED_NOTEBOOKS = ("23_",)  # measurements only
BENCH_NOTEBOOKS = DATASET_NOTEBOOKS + SPEED_NOTEBOOKS
MAIN_KEYS = ("model", "test_accuracy", "train_seconds", "samples_per_second", "device", "real_data")


@dataclass(frozen=True)
class Target:
    """An accuracy to reach within a training time, on one kind of device (``"CPU"``/``"GPU"``),
    read from a notebook's record (``accuracy_key``, ``seconds_key``)."""

    label: str
    notebook: str
    accuracy_key: str
    seconds_key: str
    min_accuracy: float
    max_seconds: float
    device: str


TARGETS = (
    Target(
        "Fashion-MNIST CNN", "06_fashion_mnist", "test_accuracy", "train_seconds", 0.945, 300, "CPU"
    ),
    Target(
        "Fashion-MNIST tuned MLP",
        "06_fashion_mnist",
        "mlp_test_accuracy",
        "mlp_seconds",
        0.900,
        60,
        "CPU",
    ),
    Target(
        "Fashion-MNIST CNN", "06_fashion_mnist", "test_accuracy", "train_seconds", 0.950, 60, "GPU"
    ),
)


def notebook_targets(notebook: str, device: str) -> dict[str, Target]:
    """The targets a notebook is held to on ``device`` (a name as ``runtime.device_name()`` gives
    it: one with "GPU" in it is a GPU), keyed by the record's accuracy key."""
    if not isinstance(notebook, str) or not isinstance(device, str):
        raise TypeError("notebook and device must be strings")
    known = {target.notebook for target in TARGETS}
    if notebook not in known:
        raise ValueError(f"notebook must be one of {sorted(known)}, got {notebook!r}")
    kind = "GPU" if "GPU" in device else "CPU"
    return {
        target.accuracy_key: target
        for target in TARGETS
        if target.notebook == notebook and target.device == kind
    }


def target_table(records: dict[str, dict], targets=TARGETS) -> str:
    """One row per target: what it asks, what the record measured, and the verdict."""
    rows = []
    for target in targets:
        rec = records.get(target.notebook)
        metrics = rec.get("metrics", {}) if rec else {}
        accuracy, seconds = metrics.get(target.accuracy_key), metrics.get(target.seconds_key)
        device = str(metrics.get("device", ""))
        on_gpu = "GPU" in device
        if rec is None or accuracy is None or seconds is None:
            verdict = "not measured"
        elif rec.get("quick"):
            verdict = "not measured (quick mode)"
        elif on_gpu != (target.device == "GPU"):
            verdict = f"not measured (ran on {device or 'an unnamed device'})"
        elif accuracy >= target.min_accuracy and seconds <= target.max_seconds:
            verdict = "met"
        else:
            verdict = "not met"
        rows.append(
            {
                "target": f"{target.label} on a {target.device}: ≥ {target.min_accuracy:.3f} "
                f"in ≤ {target.max_seconds:g} s",
                "test accuracy": "—" if accuracy is None else f"{accuracy:.4f}",
                "training seconds": "—" if seconds is None else f"{seconds:.0f}",
                "verdict": verdict,
            }
        )
    return format_table(rows)


def median_records(runs: list[dict[str, dict]]) -> dict[str, dict]:
    """Per notebook, the record of the last run with each numeric metric replaced by its median
    over the runs that recorded it, and ``runs``: how many runs recorded the notebook."""
    if not runs:
        raise ValueError("runs must hold at least one run's records")
    merged = {}
    for name in sorted({name for run in runs for name in run}):
        present = [run[name] for run in runs if name in run]
        record = dict(present[-1])
        metrics = dict(record.get("metrics", {}))
        for key in list(metrics):
            values = [r.get("metrics", {}).get(key) for r in present]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if len(numbers) == len(values):
                metrics[key] = statistics.median(numbers)
        record["metrics"] = metrics
        record["runs"] = len(present)
        record["quick"] = any(r.get("quick") for r in present)
        merged[name] = record
    return merged


def bench_table(records: dict[str, dict]) -> tuple[str, str]:
    """(main table, other measurements) as Markdown from the notebooks' records.

    Keys a record lacks show as "—". A record made in quick mode is marked "quick" in the mode
    column and named in a warning line below the main table: its numbers are not a benchmark.
    """
    rows, extra = [], []
    for name, rec in sorted(records.items()):
        if not name.startswith(BENCH_NOTEBOOKS):
            continue
        m = rec.get("metrics", {})
        if name.startswith(SPEED_NOTEBOOKS):
            extra += [{"notebook": name, "measurement": k, "value": v} for k, v in m.items()]
            continue
        rows.append(
            {
                "notebook": name,
                **{k: m.get(k, "—") for k in MAIN_KEYS},
                "mode": "quick" if rec.get("quick") else "full",
            }
        )
        extra += [
            {"notebook": name, "measurement": k, "value": v}
            for k, v in m.items()
            if k not in MAIN_KEYS
        ]
    if not rows:
        raise ValueError("no records from notebooks 06–08; did they run?")
    main = format_table(rows, ["notebook", *MAIN_KEYS, "mode"], floatfmt=".4g")
    quick = [row["notebook"] for row in rows if row["mode"] == "quick"]
    if quick:  # e.g. left over from `make run QUICK=1` when a notebook failed under bench
        main += (
            f"\n\n**Not a benchmark: {', '.join(quick)} recorded in quick mode** (small subsets,"
            " few epochs); re-run `make bench` for full-mode numbers."
        )
    other = format_table(extra, floatfmt=".4g") if extra else "(none)"
    return main, other


def _versions(run_files: list[Path]) -> str:
    """Device, CPU, Python, TensorFlow and Keras for the bench header, as the runner recorded
    them in the newest ``run.json`` (what the notebooks' kernels saw); less without one."""
    for path in reversed(run_files):
        if path.is_file():
            run = json.loads(path.read_text(encoding="utf-8"))
            return (
                f"{run['device']} · {run['cpu']} · Python {run['python']} · TensorFlow "
                f"{run['tensorflow']} · Keras {run['keras']}"
            )
    return f"{platform.machine()} · Python {platform.python_version()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=BUILD_DIR)
    parser.add_argument("--no-run", action="store_true", help="tabulate existing records only")
    parser.add_argument("--repeats", type=int, default=3, help="runs to take medians over")
    parser.add_argument(
        "--only", default="", help="some of the bench notebooks only, by number (e.g. 06,23)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    chosen = [number.strip() for number in args.only.split(",") if number.strip()]
    bench_numbers = [prefix.rstrip("_") for prefix in BENCH_NOTEBOOKS]
    unknown = [number for number in chosen if number not in bench_numbers]
    if unknown:
        parser.error(f"--only takes numbers among {','.join(bench_numbers)}, got {unknown}")
    notebooks = [f"{number}_" for number in chosen] or list(BENCH_NOTEBOOKS)
    code = 0
    run_dirs = [args.build / "bench-runs" / str(k) for k in range(1, args.repeats + 1)]
    if not args.no_run:
        for run_dir in run_dirs:
            only = ["--only", ",".join(notebooks)]
            code = runner.main([*only, "--build", str(run_dir)]) or code
    found = [d / "results" for d in run_dirs if (d / "results").is_dir()]
    if not found:  # records of an ordinary `make run` in the build folder itself
        found = [args.build / "results"]
    records = median_records([load_results(folder) for folder in found])
    main_table, other = bench_table(records)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    runs = len(found)
    text = (
        f"# Benchmark\n\n{stamp} · {_versions([d / runner.RUN_JSON for d in run_dirs])} · "
        f"{'medians of ' + str(runs) + ' runs' if runs > 1 else '1 run'}"
        f"\n\n{main_table}\n\n## Targets\n\n{target_table(records)}"
        f"\n\n## Other measurements\n\n{other}\n"
    )
    (args.build / "bench.md").write_text(text, encoding="utf-8")
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
