"""Shared, tested helpers for the Keras Training Tips notebooks.

Importing ``utils`` loads TensorFlow once, quietly: its C++ logging is turned down before the
load, and the few lines TensorFlow writes straight to the process's stderr while loading (such
as oneDNN's "custom operations are on" notice, which ignores ``TF_CPP_MIN_LOG_LEVEL``) go to
/dev/null instead of the first cell's output. So notebooks import ``utils`` first. Data and
Matplotlib load only when asked for.

oneDNN is switched on for x86 CPUs: TensorFlow turns it on by itself only on CPUs with AVX-512
VNNI/BF16 or AMX, yet it helps on an AVX2-only CPU too: on a 2-core AMD EPYC a 32-64-128 CNN at
batch 128 took 189 ms per step with it and 400 ms without. How much it buys depends on the model;
notebook 23 times it both ways on its own small CNN. Set ``TF_ENABLE_ONEDNN_OPTS=0`` before
importing to turn it off; a value you set is kept.
"""

import os as _os
import platform as _platform
import sys as _sys

# Must run before `import tensorflow`; setdefault keeps any value the user chose.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if _platform.machine().lower() in {"x86_64", "amd64"}:
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def _import_tensorflow_quietly() -> None:
    if "tensorflow" in _sys.modules:
        return
    try:
        saved = _os.dup(2)
    except OSError:  # no stderr file descriptor: nothing to quiet
        saved = None
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        if saved is not None:
            _sys.stderr.flush()
            _os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    except ImportError:
        pass  # reported, with its message, where TensorFlow is used
    finally:
        if saved is not None:
            _os.dup2(saved, 2)
            _os.close(saved)
        _os.close(devnull)


_import_tensorflow_quietly()

__version__ = "0.1.0"
