"""utils.bench: the `make bench` tables, from fabricated records (no notebook is run)."""

import json

import pytest

from utils import bench

MAIN = ["notebook", *bench.MAIN_KEYS, "mode"]


def _rec(name, quick=False, **metrics):
    """A record as utils.results.record writes it."""
    return {
        "notebook": name,
        "headline": "h",
        "quick": quick,
        "recorded": "2026-01-01T00:00:00",
    } | ({"metrics": metrics} if metrics else {})


FULL_06 = dict(
    model="CNN bn=True",
    test_accuracy=0.937249,
    train_seconds=252.4,
    samples_per_second=5432.1,
    device="CPU (2 cores)",
    real_data=True,
)


def _cells(table):
    """A Markdown table as a list of rows of stripped cells (header first, separator dropped)."""
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def _main_rows(main):
    header, *rows = _cells(main.split("\n\n")[0])
    return header, {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def test_only_notebooks_06_to_08_get_rows_with_the_main_keys_in_order():
    records = {
        name: _rec(name, **FULL_06)
        for name in ("05_batch_normalization", "08_cifar100", "06_fashion_mnist", "07_imdb")
    }
    records |= {"16_transfer_learning": _rec("16_transfer_learning", **FULL_06)}
    records |= {"60_not_a_bench": _rec("60_not_a_bench", **FULL_06)}
    header, rows = _main_rows(bench.bench_table(records)[0])
    assert header == MAIN
    assert list(rows) == ["06_fashion_mnist", "07_imdb", "08_cifar100"]
    assert rows["06_fashion_mnist"] == {
        "notebook": "06_fashion_mnist",
        "model": "CNN bn=True",
        "test_accuracy": "0.9372",  # four significant digits
        "train_seconds": "252.4",
        "samples_per_second": "5432",
        "device": "CPU (2 cores)",
        "real_data": "True",
        "mode": "full",
    }


def test_missing_keys_show_as_a_dash():
    partial = {k: v for k, v in FULL_06.items() if k not in ("train_seconds", "device")}
    records = {"06_fashion_mnist": _rec("06_fashion_mnist", **partial)}
    records |= {"07_imdb": _rec("07_imdb")}  # no metrics at all
    _, rows = _main_rows(bench.bench_table(records)[0])
    assert rows["06_fashion_mnist"]["train_seconds"] == "—"
    assert rows["06_fashion_mnist"]["device"] == "—"
    assert rows["06_fashion_mnist"]["test_accuracy"] == "0.9372"
    assert [rows["07_imdb"][k] for k in bench.MAIN_KEYS] == ["—"] * len(bench.MAIN_KEYS)


def test_other_measurements_are_listed_below_and_kept_out_of_the_main_table():
    records = {
        "06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06, xla_ratio=11.93, policy="bf16"),
        "08_cifar100": _rec("08_cifar100", **FULL_06, top5_accuracy=0.71234),
        "04_dropout": _rec("04_dropout", **FULL_06, rate=0.5),  # not a bench notebook
    }
    main, other = bench.bench_table(records)
    header, *rows = _cells(other)
    assert header == ["notebook", "measurement", "value"]
    assert rows == [
        ["06_fashion_mnist", "xla_ratio", "11.93"],
        ["06_fashion_mnist", "policy", "bf16"],
        ["08_cifar100", "top5_accuracy", "0.7123"],
    ]
    assert _cells(main)[0] == MAIN  # the extras add no column
    records = {"07_imdb": _rec("07_imdb", **FULL_06)}
    assert bench.bench_table(records)[1] == "(none)"


def test_a_quick_mode_record_is_flagged_loudly():
    records = {
        "06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06),
        "07_imdb": _rec("07_imdb", quick=True, **FULL_06),
        "08_cifar100": _rec("08_cifar100", quick=True, **FULL_06),
    }
    main, _ = bench.bench_table(records)
    _, rows = _main_rows(main)
    assert [rows[n]["mode"] for n in rows] == ["full", "quick", "quick"]
    warning = main.split("\n\n")[1]
    assert warning.startswith("**Not a benchmark: 07_imdb, 08_cifar100 recorded in quick mode**")
    assert "06_" not in warning


def test_full_mode_records_carry_no_warning():
    main, _ = bench.bench_table({"06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06)})
    assert "Not a benchmark" not in main and "\n\n" not in main


@pytest.mark.parametrize("records", [{}, {"05_batch_normalization": _rec("05_x", **FULL_06)}])
def test_no_bench_records_is_an_error(records):
    with pytest.raises(ValueError, match="06–08"):
        bench.bench_table(records)


def _write_records(build, records):
    (build / "results").mkdir(parents=True)
    for name, rec in records.items():
        (build / "results" / f"{name}.json").write_text(json.dumps(rec))


def test_main_no_run_tabulates_existing_records_into_bench_md(tmp_path, monkeypatch, capsys):
    def no_runner(argv):
        raise AssertionError("--no-run must not run notebooks")

    monkeypatch.setattr(bench.runner, "main", no_runner)
    _write_records(tmp_path, {"06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06, x=2.5)})
    assert bench.main(["--no-run", "--build", str(tmp_path)]) == 0
    text = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert text.startswith("# Benchmark\n") and text == capsys.readouterr().out.rstrip("\n") + "\n"
    records = bench.median_records([bench.load_results(tmp_path / "results")])
    main, other = bench.bench_table(records)
    targets = bench.target_table(records)
    assert f"\n\n{main}\n\n## Targets\n\n{targets}\n\n## Other measurements\n\n{other}\n" in text
    assert "| 06_fashion_mnist | x" in text


def test_main_runs_notebooks_06_to_08_and_23_repeatedly_and_passes_on_a_failure(
    tmp_path, monkeypatch
):
    calls = []

    def fake_runner(argv):  # three runs; in the second, one notebook failed
        calls.append(argv)
        build = tmp_path / "bench-runs" / str(len(calls))
        _write_records(
            build, {"07_imdb": _rec("07_imdb", **FULL_06 | {"train_seconds": len(calls)})}
        )
        return 1 if len(calls) == 2 else 0

    monkeypatch.setattr(bench.runner, "main", fake_runner)
    assert bench.main(["--build", str(tmp_path)]) == 1
    assert calls == [
        ["--only", "06_,07_,08_,23_", "--build", str(tmp_path / "bench-runs" / str(k))]
        for k in (1, 2, 3)
    ]
    text = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "medians of 3 runs" in text
    _, rows = _main_rows(text.split("\n\n", 2)[2])
    assert rows["07_imdb"]["train_seconds"] == "2"  # the median of 1, 2 and 3


def test_median_records_take_medians_of_numbers_and_keep_the_rest():
    runs = [
        {"06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06 | {"train_seconds": s})}
        for s in (300.0, 250.0, 260.0)
    ]
    merged = bench.median_records(runs)["06_fashion_mnist"]
    assert merged["metrics"]["train_seconds"] == 260.0
    assert merged["metrics"]["model"] == "CNN bn=True" and merged["runs"] == 3
    with pytest.raises(ValueError, match="runs"):
        bench.median_records([])


@pytest.mark.parametrize(
    "metrics, quick, verdicts",
    [
        (FULL_06 | {"mlp_test_accuracy": 0.901, "mlp_seconds": 50}, False, ["not met", "met"]),
        (FULL_06 | {"test_accuracy": 0.946, "train_seconds": 299}, False, ["met", "not measured"]),
        (FULL_06, True, ["not measured (quick mode)", "not measured"]),
    ],
)
def test_targets_are_met_not_met_or_not_measured(metrics, quick, verdicts):
    records = {"06_fashion_mnist": _rec("06_fashion_mnist", quick=quick, **metrics)}
    header, *rows = _cells(bench.target_table(records))
    assert header == ["target", "test accuracy", "training seconds", "verdict"]
    assert [row[3] for row in rows[:2]] == verdicts
    assert rows[2][3].startswith("not measured")  # the GPU target, on a CPU


def test_a_gpu_record_is_held_to_the_gpu_target():
    gpu = FULL_06 | {"device": "NVIDIA H100 (1 GPU)", "test_accuracy": 0.951, "train_seconds": 55}
    records = {"06_fashion_mnist": _rec("06_fashion_mnist", **gpu)}
    rows = _cells(bench.target_table(records))[1:]
    assert rows[0][3].startswith("not measured (ran on NVIDIA") and rows[2][3] == "met"


def test_the_speed_lesson_adds_measurements_but_no_main_row():
    records = {
        "06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06),
        "23_training_speed": _rec("23_training_speed", xla_speedup=0.08, xla_verdict="slower"),
    }
    main, other = bench.bench_table(records)
    assert "23_training_speed" not in main
    assert "| 23_training_speed | xla_speedup" in other and "slower" in other


def test_notebook_targets_follow_the_device():
    on_cpu = bench.notebook_targets("06_fashion_mnist", "CPU (2 cores)")
    assert set(on_cpu) == {"test_accuracy", "mlp_test_accuracy"}
    assert (on_cpu["test_accuracy"].min_accuracy, on_cpu["test_accuracy"].max_seconds) == (
        0.945,
        300,
    )
    on_gpu = bench.notebook_targets("06_fashion_mnist", "GPU (NVIDIA H100)")
    assert set(on_gpu) == {"test_accuracy"} and on_gpu["test_accuracy"].max_seconds == 60


def test_notebook_targets_reject_bad_input():
    with pytest.raises(ValueError, match="notebook"):
        bench.notebook_targets("99_nothing", "CPU")
    with pytest.raises(TypeError, match="device"):
        bench.notebook_targets("06_fashion_mnist", None)


def test_main_only_runs_the_named_bench_notebooks(tmp_path, monkeypatch):
    calls = []

    def fake_runner(argv):
        calls.append(argv)
        _write_records(
            tmp_path / "bench-runs" / "1", {"06_fashion_mnist": _rec("06_fashion_mnist", **FULL_06)}
        )
        return 0

    monkeypatch.setattr(bench.runner, "main", fake_runner)
    monkeypatch.setattr(bench, "_versions", lambda run_files: "CPU (2 cores) · a CPU")
    assert bench.main(["--build", str(tmp_path), "--repeats", "1", "--only", "06"]) == 0
    assert calls == [["--only", "06_", "--build", str(tmp_path / "bench-runs" / "1")]]
    text = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "CPU (2 cores) · a CPU · 1 run" in text
    with pytest.raises(SystemExit):
        bench.main(["--build", str(tmp_path), "--only", "05"])


def test_the_header_names_what_the_newest_run_recorded(tmp_path):
    older, newer = tmp_path / "1" / "run.json", tmp_path / "2" / "run.json"
    newer.parent.mkdir()
    run = {"device": "CPU (2 cores)", "cpu": "AMD EPYC", "python": "3.11.7"}
    newer.write_text(json.dumps(run | {"tensorflow": "2.21.0", "keras": "3.15.1"}))
    assert bench._versions([older, newer]) == (
        "CPU (2 cores) · AMD EPYC · Python 3.11.7 · TensorFlow 2.21.0 · Keras 3.15.1"
    )
    assert "Python" in bench._versions([older])  # no run.json: the machine and Python only
