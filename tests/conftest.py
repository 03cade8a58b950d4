"""Test harness: the environment every test and every nbval-executed notebook runs in.

Loaded before collection (``tests`` is on the command line), so the variables below are set
before nbval starts any kernel: notebooks run in quick mode, plot off-screen, keep TensorFlow's
C++ log lines out of their outputs, and record results away from ``make run``'s.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ["KTT_QUICK"] = "1"
os.environ["MPLBACKEND"] = "Agg"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ["KTT_RESULTS_DIR"] = str(ROOT / "build" / "test-results")
