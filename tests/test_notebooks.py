"""Every committed notebook: no outputs, the skeleton from GUIDE.md, ≤300 lines of code."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
BADGE = "https://colab.research.google.com/github/keras-training-tips/keras-training-tips/blob/main/notebooks/"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_name(nb):
    path, _ = nb
    assert re.fullmatch(r"\d{2}_[a-z0-9_]+\.ipynb", path.name), path.name


def test_committed_without_outputs(nb):
    path, book = nb
    dirty = [
        i
        for i, c in enumerate(book.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before committing"


def test_skeleton(nb):
    path, book = nb
    cells = book.cells
    number = path.name[:2]
    first = cells[0]
    assert first.cell_type == "markdown"
    assert re.match(rf"# {number} · \S", first.source), "first cell must open with '# NN · Title'"
    badge_text = "".join(c.source for c in cells[:2] if c.cell_type == "markdown")
    assert BADGE + path.name in badge_text, "Open-in-Colab badge must point at this notebook"
    heads = [(i, c.source) for i, c in enumerate(cells) if c.cell_type == "markdown"]
    titles = [re.findall(r"^##\s+(.+)$", s, re.M) for _, s in heads]
    flat = [t.strip() for ts in titles for t in ts]
    for needed in ("Setup", "Summary", "Exercises"):
        assert needed in flat, f"{path.name} has no '## {needed}' section"
    assert flat.index("Setup") < flat.index("Summary") < flat.index("Exercises")
    setup_md = next(i for i, s in heads if re.search(r"^##\s+Setup\s*$", s, re.M))
    setup = cells[setup_md + 1]
    assert setup.cell_type == "code" and "runtime.setup(" in setup.source, (
        "the cell after '## Setup' must be the one setup cell calling runtime.setup()"
    )
    assert setup.source.lstrip().startswith("import utils"), "import utils first (quiets TF logs)"


def test_code_size_and_no_progress_bars(nb):
    path, book = nb
    code = [
        ln
        for c in book.cells
        if c.cell_type == "code"
        for ln in c.source.splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]
    assert len(code) <= 300, f"{path.name}: {len(code)} lines of code (limit 300)"
    for c in book.cells:
        if c.cell_type == "code" and re.search(r"\.fit\(", c.source):
            assert re.search(r"verbose\s*=\s*[02]", c.source), (
                f"{path.name}: fit() without verbose=0/2 stores thousands of progress-bar lines"
            )


def test_links_to_other_notebooks_exist(nb):
    """Relative links such as (05_batch_normalization.ipynb) must name a notebook that exists."""
    path, book = nb
    names = {p.name for p in NOTEBOOKS}
    text = "".join(c.source for c in book.cells if c.cell_type == "markdown")
    broken = sorted(set(re.findall(r"\]\((\d{2}_[a-z0-9_]+\.ipynb)[)#]", text)) - names)
    assert not broken, f"{path.name} links to notebooks that do not exist: {broken}"
