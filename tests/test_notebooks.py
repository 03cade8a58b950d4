"""Every committed notebook: no outputs, the skeleton from GUIDE.md, readable unsqueezed code."""

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


# On Colab (and only there) a notebook installs this project before `import utils`: the URL is
# pyproject's [project.urls] Homepage (tests/test_project.py checks every install line names it).
COLAB_INSTALL = (
    "import sys\n"
    "\n"
    'if "google.colab" in sys.modules:  # on Colab only: install this project\'s helpers first\n'
    '    %pip install --quiet "keras-training-tips @ '
    'git+https://github.com/keras-training-tips/keras-training-tips"\n'
)


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
    assert setup.source.startswith(COLAB_INSTALL), "the setup cell opens with the Colab install"
    after = setup.source[len(COLAB_INSTALL) :]
    assert after.startswith("import utils"), "then import utils first (it quiets TF logs)"


def _code(book) -> str:
    return "\n".join(c.source for c in book.cells if c.cell_type == "code")


def test_no_progress_bars(nb):
    path, book = nb
    for c in book.cells:
        if c.cell_type == "code" and re.search(r"\.fit\(", c.source):
            assert re.search(r"verbose\s*=\s*[02]", c.source), (
                f"{path.name}: fit() without verbose=0/2 stores thousands of progress-bar lines"
            )


def test_training_shows_a_live_line(nb):
    """Silent fits, yet not a silent screen: a notebook that trains shows progress.LiveProgress."""
    path, book = nb
    code = _code(book)
    if re.search(r"\bmodel\w*\.fit\(|\.search\(", code):
        assert "progress.LiveProgress(" in code, f"{path.name}: no fit shows a LiveProgress line"


def test_code_is_not_squeezed(nb):
    """No formatter opt-outs, no short aliases of modules (``L = keras.layers``)."""
    path, book = nb
    code = _code(book)
    assert "fmt: skip" not in code and "fmt: off" not in code, f"{path.name}: # fmt: skip"
    aliases = re.findall(
        r"^\s*([A-Za-z_]\w?)\s*=\s*((?:keras|tf|np|plt)(?:\.\w+)+)\s*$", code, re.M
    )
    assert not aliases, f"{path.name}: short aliases {aliases}; write the full name"


GLOSSARY = {  # a name the README's glossary replaces: the name to use
    r"\bnum_epochs\b": "epochs",
    r"\bn_epochs\b": "epochs",
    r"\blr\b": "learning_rate",
    r"\bx_tr\b": "x_train",
    r"\by_tr\b": "y_train",
    r"\bx_te\b": "x_test",
    r"\by_te\b": "y_test",
    r"\bdef prep\(": "splits.prepare_images / splits.fashion_mnist",
}


def test_names_follow_the_glossary(nb):
    path, book = nb
    code = _code(book)
    found = {pattern: use for pattern, use in GLOSSARY.items() if re.search(pattern, code)}
    assert not found, f"{path.name}: use the glossary's names: {found}"


def test_summary_records_quietly(nb):
    """The Summary shows the lesson; ``results.record`` returns nothing and takes no headline."""
    path, book = nb
    code = _code(book)
    assert code.count("results.record(") <= 1, f"{path.name}: record once, in the Summary"
    assert not re.search(r"results\.record\([^)]*headline\s*=", code, re.S), (
        f"{path.name}: results.record builds the headline from the metrics"
    )
    assert "format_table(" not in code, f"{path.name}: show tables with results.show_table"


def test_links_to_other_notebooks_exist(nb):
    """Relative links such as (05_batch_normalization.ipynb) must name a notebook that exists."""
    path, book = nb
    names = {p.name for p in NOTEBOOKS}
    text = "".join(c.source for c in book.cells if c.cell_type == "markdown")
    broken = sorted(set(re.findall(r"\]\((\d{2}_[a-z0-9_]+\.ipynb)[)#]", text)) - names)
    assert not broken, f"{path.name} links to notebooks that do not exist: {broken}"
