"""Test harness: the environment every test and every nbval-executed notebook runs in.

Loaded before collection (``tests`` is on the command line), so the variables below are set
before nbval starts any kernel: notebooks run in quick mode, plot off-screen, keep TensorFlow's
C++ log lines out of their outputs, and record results away from ``make run``'s.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

os.environ["KTT_QUICK"] = "1"
os.environ["MPLBACKEND"] = "Agg"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["KTT_RESULTS_DIR"] = str(ROOT / "build" / "test-results")

HARNESS_ENV = {k: os.environ[k] for k in ("KTT_QUICK", "MPLBACKEND", "KTT_RESULTS_DIR")}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    """A test that leaves the harness environment changed fails here, by name: nbval kernels
    started after it would inherit the change (once, every notebook ran in full mode)."""
    yield  # fixtures (monkeypatch included) are torn down first
    changed = {k: os.environ.get(k) for k, v in HARNESS_ENV.items() if os.environ.get(k) != v}
    if changed:
        os.environ.update(HARNESS_ENV)  # repair, so only the culprit fails
        raise AssertionError(f"{item.nodeid} changed the test environment: {changed}")
