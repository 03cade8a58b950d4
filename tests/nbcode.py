"""Loads the from-scratch code of a notebook so unit tests can check it against Keras.

The lesson's own code stays in the notebook, where the student reads it. Code cells tagged
``scratch`` (cell metadata ``tags``) must be self-contained — they may use only ``np``, ``tf``,
``keras`` and ``math`` — and are executed here into a fresh namespace.
"""

from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def python_source(cell_source: str) -> str:
    """A code cell as plain Python: IPython's ``%pip``/``!cmd`` lines become the calls IPython
    itself makes (``get_ipython().run_line_magic(...)``), so ``ast.parse`` accepts the cell."""
    return TransformerManager().transform_cell(cell_source)


def scratch(notebook: str) -> dict:
    """The namespace defined by ``notebook``'s cells tagged ``scratch``."""
    path = NOTEBOOKS / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells = [
        c for c in nb.cells if c.cell_type == "code" and "scratch" in c.metadata.get("tags", [])
    ]
    if not cells:
        raise AssertionError(f"{path.name} has no code cell tagged 'scratch'")
    ns: dict = {}
    exec("import math\nimport numpy as np\nimport tensorflow as tf\nimport keras", ns)
    for i, cell in enumerate(cells):
        exec(compile(python_source(cell.source), f"{path.name}[scratch cell {i}]", "exec"), ns)
    return ns
