"""`make run`'s runner: a line when a notebook starts, live progress, one result line per
notebook, failures reported with the cell's error, kernel noise kept off the console, run.json."""

import io
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from utils import runner
from utils.runner import Progress

ROOT = Path(__file__).resolve().parent.parent


def write_nb(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_runner_goes_on_after_a_failure_and_exits_nonzero(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_nb(nbs / "01_fails.ipynb", "x = 1", "raise RuntimeError('boom in cell 2')")
    write_nb(
        nbs / "02_works.ipynb",
        "from utils import results\nresults.record('02_works', answer=42)",
    )
    code = runner.main(["--quick", "--notebooks", str(nbs), "--build", str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert code == 1
    assert "01_fails" in out and "FAILED" in out and "RuntimeError: boom in cell 2" in out
    assert "02_works" in out and "answer 42" in out
    summary = (tmp_path / "b" / "results.md").read_text()
    assert "quick mode" in summary and "answer 42" in summary and "FAILED" in summary
    assert (tmp_path / "b" / "executed" / "01_fails.ipynb").is_file()
    assert (tmp_path / "b" / "html" / "02_works.html").is_file()


def test_runner_with_no_matching_notebook(tmp_path):
    assert runner.main(["--notebooks", str(tmp_path), "--only", "zz"]) == 1


def test_runner_leaves_the_callers_environment_alone(tmp_path, monkeypatch):
    """Full mode is for the kernels it starts, not for the process that called it."""
    monkeypatch.setenv("KTT_QUICK", "1")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_nb(nbs / "01_mode.ipynb", "from utils import mode\nassert not mode.is_quick()")
    before = dict(os.environ)
    assert runner.main(["--notebooks", str(nbs), "--build", str(tmp_path / "b")]) == 0
    assert dict(os.environ) == before


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_erases_it():
    out = FakeTerminal()
    with Progress("01_x", 3, out, tick=0.05) as progress:
        progress.cell_started(cell=None, cell_index=0)
        progress.cell_started(cell=None, cell_index=2)
        time.sleep(0.2)
    text = out.getvalue()
    assert "\n" not in text and text.count("\r") >= 3
    assert "01_x: cell 2/3, 0:00 elapsed" in text
    assert text.endswith("\r") and text.rsplit("\r", 2)[-2].strip() == ""  # erased at the end


def test_progress_writes_plain_lines_without_a_terminal():
    out = io.StringIO()
    with Progress("01_x", 3, out, every=0.1) as progress:
        progress.cell_started()
        time.sleep(0.35)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and "\r" not in out.getvalue()
    assert all(line == "  01_x: cell 1/3, 0:00 elapsed" for line in lines)


def test_select_understands_only(tmp_path):
    for name in ("01_a", "06_b", "07_c", "16_d"):
        write_nb(tmp_path / f"{name}.ipynb", "1")
    assert [p.stem for p in runner.select(tmp_path, "06,07")] == ["06_b", "07_c"]
    assert len(runner.select(tmp_path, "")) == 4


def test_runner_names_a_notebook_before_it_finishes_and_keeps_kernel_noise_off_the_console(
    tmp_path,
):
    """Cell 2 waits for a flag that this test sets only once the runner has announced the
    notebook and shown its progress: a runner that printed nothing until the end would time out.
    The kernel's warnings and a C-level stderr write go to the kernel log, not to the console."""
    nbs, build, flag = tmp_path / "nbs", tmp_path / "b", tmp_path / "flag"
    nbs.mkdir()
    write_nb(
        nbs / "01_waits.ipynb",
        "import os, time\nos.write(2, b'noise from C code\\n')",
        f"while not os.path.exists({str(flag)!r}):\n    time.sleep(0.1)",
    )
    command = [sys.executable, "-m", "utils.runner", "--quick", "--timeout", "120"]
    command += ["--notebooks", str(nbs), "--build", str(build), "--progress-every", "0.5"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen = []
    try:
        while not any("cell 2/2" in line for line in seen):
            seen.append(lines.get(timeout=180))
        announced = [line for line in seen if "01_waits" in line]
        assert announced[0].startswith("▶ 01_waits (2 code cells) started")
        flag.touch()  # only now can the notebook finish
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
    while not lines.empty():
        seen.append(lines.get())
    out = "".join(seen)
    assert re.search(r"^01_waits +\d+\.\d s  ok ", out, re.M)
    assert out.index("▶ 01_waits") < out.index("cell 2/2") < out.index("01_waits     ")
    for noise in ("IPKernelApp", "WARNING", "without encryption", "noise from C code"):
        assert noise not in out, noise
    log = (build / "logs" / "01_waits.log").read_text()
    assert "noise from C code" in log  # kept, where the failure line points


def test_runner_writes_run_json(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_nb(nbs / "01_one.ipynb", "from utils import results\nresults.record('01_one', x=1)")
    write_nb(nbs / "02_two.ipynb", "1 / 0")
    assert runner.main(["--notebooks", str(nbs), "--build", str(tmp_path / "b")]) == 1
    run = json.loads((tmp_path / "b" / "run.json").read_text())
    assert run["mode"] == "full" and run["only"] == "" and run["commit"]
    for key in ("date", "device", "cpu", "python", "tensorflow", "keras"):
        assert run[key] and run[key] != "unknown", key
    assert run["tensorflow"].startswith("2.") and run["keras"].startswith("3.")
    one, two = run["notebooks"]
    assert one == {
        "notebook": "01_one",
        "seconds": one["seconds"],
        "status": "ok",
        "headline": "x 1",
        "date": one["date"],
        "notebook_sha256": runner.notebook_fingerprint(nbs / "01_one.ipynb"),
        "utils_sha256": runner.utils_fingerprint(),
    }
    assert run["utils_sha256"] == runner.utils_fingerprint()
    assert two["status"] == "FAILED" and "ZeroDivisionError" in two["headline"]
    assert "kernel log" in two["headline"]
    assert run["total_seconds"] == pytest.approx(one["seconds"] + two["seconds"], abs=0.11)


def test_merge_commits_keeps_each_commit_once_oldest_first():
    from utils.runner import merge_commits

    assert merge_commits(None, "c1") == "c1"
    assert merge_commits("a1, b2", "c3") == "a1, b2, c3"
    assert merge_commits("a1, b2", "a1") == "a1, b2"
    assert merge_commits("a1, b2, a1", None) == "a1, b2"
    assert merge_commits(None, None) is None


def test_git_commit_names_the_head_and_uncommitted_changes(tmp_path):
    import subprocess

    from utils.runner import git_commit

    assert git_commit(tmp_path) is None  # not a checkout
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "a.txt").write_text("one")
    subprocess.run([*git, "add", "a.txt"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("two")
    assert git_commit(tmp_path) == f"{head} + uncommitted changes"


def test_resume_keeps_finished_notebooks_and_runs_the_rest(tmp_path, capsys):
    """A run stopped part-way keeps what it finished; RESUME=1 runs only the rest: a notebook
    that failed, one whose file changed, one never run; --only leaves the others' rows alone."""
    nbs, build = tmp_path / "nbs", tmp_path / "b"
    nbs.mkdir()
    record = "from utils import results\nresults.record('{0}', x={1})"
    write_nb(nbs / "01_one.ipynb", record.format("01_one", 1))
    write_nb(nbs / "02_two.ipynb", "1 / 0")
    write_nb(nbs / "03_three.ipynb", record.format("03_three", 3))
    args = ["--quick", "--notebooks", str(nbs), "--build", str(build)]
    assert runner.main([*args, "--only", "01,02"]) == 1
    first = json.loads((build / "run.json").read_text())
    assert [row["notebook"] for row in first["notebooks"]] == ["01_one", "02_two"]
    capsys.readouterr()

    write_nb(nbs / "02_two.ipynb", record.format("02_two", 2))  # fixed
    assert runner.main([*args, "--resume"]) == 0
    out = capsys.readouterr().out
    assert "Resuming: 1 notebook(s) kept" in out and "⏭ 01_one" in out
    assert "▶ 01_one" not in out and "▶ 02_two" in out and "▶ 03_three" in out
    run = json.loads((build / "run.json").read_text())
    assert run["resumed"] and run["only"] == "" and run["date"] == first["date"]
    rows = {row["notebook"]: row for row in run["notebooks"]}
    assert list(rows) == ["01_one", "02_two", "03_three"]
    assert rows["01_one"] == first["notebooks"][0]  # kept as it was, record included
    assert [rows[name]["status"] for name in rows] == ["ok", "ok", "ok"]
    assert "x 2" in rows["02_two"]["headline"]
    assert (build / "results" / "01_one.json").is_file()
    assert "resumed" in (build / "results.md").read_text()

    # a changed notebook runs again; --only with --resume keeps the other rows in the record
    write_nb(nbs / "03_three.ipynb", record.format("03_three", 33))
    assert runner.main([*args, "--resume", "--only", "03"]) == 0
    out = capsys.readouterr().out
    assert "▶ 03_three" in out and "x 33" in out
    rows = {
        row["notebook"]: row for row in json.loads((build / "run.json").read_text())["notebooks"]
    }
    assert list(rows) == ["01_one", "02_two", "03_three"] and "x 33" in rows["03_three"]["headline"]

    # another mode keeps nothing, and says why
    assert (
        runner.main(["--notebooks", str(nbs), "--build", str(build), "--resume", "--only", "01"])
        == 0
    )
    out = capsys.readouterr().out
    assert "nothing kept" in out and "mode 'quick' → 'full'" in out and "▶ 01_one" in out


def test_kept_rows_need_same_environment_and_fingerprints():
    current = {
        "mode": "full",
        "python": "3.11",
        "tensorflow": "2.21.0",
        "keras": "3.15.1",
        "device": "CPU",
        "utils_sha256": "u1",
    }
    row = {"notebook": "01_a", "status": "ok", "utils_sha256": "u1", "notebook_sha256": "n1"}
    previous = {**current, "notebooks": [row, {**row, "notebook": "02_b", "status": "FAILED"}]}
    kept, why = runner.kept_rows(previous, current, {"01_a": "n1", "02_b": "n2"})
    assert list(kept) == ["01_a"] and why == ""
    assert runner.kept_rows(previous, current, {"01_a": "other"})[0] == {}
    assert runner.kept_rows(previous, {**current, "utils_sha256": "u2"}, {"01_a": "n1"})[0] == {}
    kept, why = runner.kept_rows(previous, {**current, "tensorflow": "2.22.0"}, {"01_a": "n1"})
    assert kept == {} and "tensorflow" in why


def test_utils_fingerprint_changes_with_any_helper_file(tmp_path):
    package = tmp_path / "utils"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    before = runner.utils_fingerprint(package)
    assert runner.utils_fingerprint(package) == before
    (package / "a.py").write_text("x = 2\n")
    assert runner.utils_fingerprint(package) != before
