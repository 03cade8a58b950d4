"""Where the project keeps things: the repository, its notebooks and the build folder.

Every other module asks here instead of working paths out for itself.

:data:`BUILD_DIR` is where everything the project writes goes: the notebooks' result records
(``build/results/``), ``make run``'s executed notebooks, HTML and summaries, KerasTuner's trial
folders (notebook 18). It is, decided once when ``utils`` is imported:

1. ``$KTT_BUILD_DIR`` when it is set (a relative path is taken from the current folder);
2. the repository's ``build/`` when ``utils`` runs from a checkout (``make setup`` installs it
   editable, so this is the usual case);
3. otherwise — installed from a wheel or from GitHub, as on Colab — ``build/`` in the current
   folder (a notebook's kernel starts in the notebook's folder; Colab's is ``/content``).

Never a folder inside the installed package. Downloaded datasets are not build outputs: they go
to the Keras cache (see :mod:`utils.sources`).
"""

from __future__ import annotations

import os
from pathlib import Path

BUILD_ENV = "KTT_BUILD_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent


def find_checkout(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The repository root when ``package_dir`` is the ``utils`` folder of a checkout, else None."""
    root = Path(package_dir).parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


def build_dir(package_dir: Path = PACKAGE_DIR, cwd: Path | None = None) -> Path:
    """The build folder by the rules in the module docstring, as an absolute path.

    ``package_dir`` (this ``utils`` folder) and ``cwd`` (the current folder) are arguments so
    that tests can ask about an installation elsewhere.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    raw = os.environ.get(BUILD_ENV, "").strip()
    if raw:
        path = Path(raw).expanduser()
        return (path if path.is_absolute() else cwd / path).resolve()
    checkout = find_checkout(package_dir)
    return checkout / "build" if checkout is not None else (cwd / "build").resolve()


REPO_ROOT = find_checkout()  # None when utils is installed from a wheel
NOTEBOOKS_DIR = (REPO_ROOT or Path.cwd()) / "notebooks"
BUILD_DIR = build_dir()
