"""``make bench``: runs the dataset notebooks (06–08) and the speed lesson (23) in full mode.

No model code lives here: every number comes from what the notebooks recorded with
:func:`utils.results.record`. Each dataset notebook records, for its headline model,
``model``, ``test_accuracy``, ``train_seconds``, ``samples_per_second``, ``device`` and
``real_data``; anything else it records (pipeline overhead, XLA on/off, top-5, ...) is listed
below the main table, as are the speed lesson's measurements (16-bit precision, input pipeline,
XLA and oneDNN ratios, each with its noise verdict). Output: ``build/bench.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import sys
from pathlib import Path

from . import runner
from .paths import BUILD_DIR
from .results import format_table, load_results

DATASET_NOTEBOOKS = ("06_", "07_", "08_")  # one main-table row each
SPEED_NOTEBOOKS = ("23_",)  # measurements only
BENCH_NOTEBOOKS = DATASET_NOTEBOOKS + SPEED_NOTEBOOKS
MAIN_KEYS = ("model", "test_accuracy", "train_seconds", "samples_per_second", "device", "real_data")


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=BUILD_DIR)
    parser.add_argument("--no-run", action="store_true", help="tabulate existing records only")
    args = parser.parse_args(argv)
    code = 0
    if not args.no_run:
        code = runner.main(["--only", ",".join(BENCH_NOTEBOOKS), "--build", str(args.build)])
    main_table, other = bench_table(load_results(args.build / "results"))
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = (
        f"# Benchmark\n\n{stamp} · {platform.machine()} · Python {platform.python_version()}"
        f"\n\n{main_table}\n\n## Other measurements\n\n{other}\n"
    )
    (args.build / "bench.md").write_text(text, encoding="utf-8")
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
