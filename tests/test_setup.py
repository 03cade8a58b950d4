"""The Makefile, run for real against fake programs: a fake Python that logs what it is asked to
do (and claims a version), a fake virtual environment and a fake ``jupyter``. Nothing is
installed; what is checked is what `make` would run.

- `make setup` with an unsupported Python stops within seconds, before creating anything, and
  names the supported versions and how to pick one;
- `make setup GPU=1` installs requirements-gpu.txt *instead of* requirements.txt, and switching
  between the two first uninstalls the TensorFlow distribution that is there;
- `make run ONLY=06,07 QUICK=1`, `make lab QUICK=1` and `make readme FORCE=1` pass their
  switches on.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")

FAKE_PYTHON = """#!/bin/bash
echo "python $*" >> "$FAKE_LOG"
case "$*" in
  *version_info*) echo "$FAKE_VERSION" ;;
  "-m venv "*) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
esac
"""
FAKE_JUPYTER = """#!/bin/bash
echo "jupyter KTT_QUICK=$KTT_QUICK $*" >> "$FAKE_LOG"
"""


def fake_program(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def make(tmp_path, *args, version="3.12", timeout=60):
    env = dict(os.environ, FAKE_LOG=str(tmp_path / "log"), FAKE_VERSION=version)
    env.pop("MAKEFLAGS", None)
    start = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = (tmp_path / "log").read_text() if (tmp_path / "log").is_file() else ""
    (tmp_path / "log").unlink(missing_ok=True)
    return done, log, time.perf_counter() - start


@pytest.fixture
def fake_python(tmp_path):
    return fake_program(tmp_path / "bin" / "python3.x", FAKE_PYTHON)


@pytest.fixture
def ready_venv(tmp_path):
    """A set-up CPU environment: its stamp is newer than the requirement files."""
    venv = tmp_path / "venv"
    fake_program(venv / "bin" / "python", FAKE_PYTHON)
    fake_program(venv / "bin" / "jupyter", FAKE_JUPYTER)
    (venv / ".tensorflow").write_text("cpu\n")
    (venv / ".installed-cpu").touch()
    return venv


@pytest.mark.parametrize("version", ["3.10", "3.14"])
def test_setup_with_an_unsupported_python_stops_within_seconds(tmp_path, fake_python, version):
    venv = tmp_path / "venv"
    done, log, seconds = make(
        tmp_path, "setup", f"PYTHON={fake_python}", f"VENV={venv}", version=version
    )
    assert done.returncode != 0 and seconds < 10
    assert f"is Python {version}" in done.stderr
    assert "3.11, 3.12, 3.13" in done.stderr and "make setup PYTHON=python3.12" in done.stderr
    assert not venv.exists() and "pip" not in log and "venv" not in log


def test_setup_with_a_python_that_does_not_exist(tmp_path):
    done, _, seconds = make(tmp_path, "setup", "PYTHON=no-such-python", f"VENV={tmp_path / 'v'}")
    assert done.returncode != 0 and seconds < 10 and "(not found)" in done.stderr


def pip_lines(log: str) -> list[str]:
    return [line.removeprefix("python -m pip ") for line in log.splitlines() if " -m pip " in line]


def test_a_fresh_setup_installs_one_requirements_file(tmp_path, fake_python):
    venv = tmp_path / "venv"
    done, log, _ = make(tmp_path, "setup", "GPU=1", f"PYTHON={fake_python}", f"VENV={venv}")
    assert done.returncode == 0, done.stderr
    pips = pip_lines(log)
    assert not any(line.startswith("uninstall") for line in pips)  # nothing to switch from
    assert "install --quiet -r requirements-gpu.txt -r requirements-dev.txt -e ." in pips
    assert "requirements.txt" not in log
    assert (venv / ".tensorflow").read_text().strip() == "gpu" and (
        venv / ".installed-gpu"
    ).exists()


def test_switching_to_the_gpu_and_back_uninstalls_tensorflow_first(tmp_path, ready_venv):
    venv = f"VENV={ready_venv}"
    done, log, _ = make(tmp_path, "setup", "GPU=1", venv)
    assert done.returncode == 0, done.stderr
    pips = pip_lines(log)
    uninstall = pips.index("uninstall --yes --quiet tensorflow tensorflow-cpu")
    install = pips.index("install --quiet -r requirements-gpu.txt -r requirements-dev.txt -e .")
    assert uninstall < install and "requirements.txt" not in log
    assert sorted(p.name for p in ready_venv.glob(".installed-*")) == [".installed-gpu"]

    done, log, _ = make(tmp_path, "setup", "GPU=1", venv)
    assert done.returncode == 0 and pip_lines(log) == []  # up to date: nothing runs

    done, log, _ = make(tmp_path, "setup", venv)
    pips = pip_lines(log)
    assert pips.index("uninstall --yes --quiet tensorflow tensorflow-cpu") < pips.index(
        "install --quiet -r requirements.txt -r requirements-dev.txt -e ."
    )
    assert "requirements-gpu.txt" not in log
    assert (ready_venv / ".tensorflow").read_text().strip() == "cpu"


def test_run_passes_only_and_quick_to_the_runner(tmp_path, ready_venv):
    done, log, _ = make(tmp_path, "run", "ONLY=06,07", "QUICK=1", f"VENV={ready_venv}")
    assert done.returncode == 0, done.stderr
    assert log.strip() == "python -m utils.runner --quick --only 06,07"
    done, log, _ = make(tmp_path, "run", f"VENV={ready_venv}")
    assert log.strip() == "python -m utils.runner"


@pytest.mark.parametrize("quick,expected", [("1", "1"), ("0", "0"), ("", "0")])
def test_lab_exports_quick_mode_to_the_kernels(tmp_path, ready_venv, monkeypatch, quick, expected):
    monkeypatch.setenv("KTT_QUICK", "1")  # the caller's own value does not leak into `make lab`
    done, log, _ = make(tmp_path, "lab", f"QUICK={quick}", f"VENV={ready_venv}")
    assert done.returncode == 0, done.stderr
    assert log.strip() == f"jupyter KTT_QUICK={expected} lab --notebook-dir=notebooks"


def test_readme_passes_force_on(tmp_path, ready_venv):
    done, log, _ = make(tmp_path, "readme", "FORCE=1", f"VENV={ready_venv}")
    assert done.returncode == 0 and log.strip() == "python -m utils.readme --force"
    done, log, _ = make(tmp_path, "readme", f"VENV={ready_venv}")
    assert log.strip() == "python -m utils.readme"
