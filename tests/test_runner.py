"""`make run`'s runner: one line per notebook, failures reported with the cell's error."""

import os

import nbformat

from utils import runner


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
