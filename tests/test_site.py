"""`make site`: the static book of executed notebooks, and the same site in a real browser.

Fast checks of utils/site.py's parts (results.md parsing, the staged notebooks, the landing page,
the source-note map, the remote-reference scan, the Makefile target); then one small site built
for real, from two tiny notebooks executed by `make run`'s runner in quick mode, served on
127.0.0.1 and opened in headless Chromium (Debian's, driven by Playwright): every page loads with
no console error and no request leaving 127.0.0.1, every image loads, equations render as math,
a link from one notebook page to the other resolves, and the site's search finds a word that only
one notebook has. Screenshots of its landing page and a notebook page go to
build/site-screenshots/ for review.

Skips, saying why, only where the site's packages (requirements-site.txt, which `make test`
installs) or a Chromium (CI installs Debian's) cannot be had.
"""

import importlib.util
import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from test_setup import FAKE_PYTHON, fake_program, make, pip_lines

from utils import runner, site
from utils.paths import BUILD_DIR
from utils.results import format_table

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = site.repository_url(ROOT / "pyproject.toml")
HAVE_SITE_PACKAGES = all(
    importlib.util.find_spec(name) for name in ("sphinx", "myst_nb", "sphinx_book_theme")
) and importlib.util.find_spec("sphinx-mathjax-offline")
needs_site_packages = pytest.mark.skipif(
    not HAVE_SITE_PACKAGES,
    reason="the site's packages are not installed: `make test` installs requirements-site.txt",
)


def results_md(rows, mode="quick"):
    """A results.md as utils/runner.py writes it."""
    table = format_table(rows, ["notebook", "seconds", "status", "headline"])
    return (
        f"# Results ({mode} mode)\n\n2026-01-02 03:04 · CPU (Test CPU) · Python 3.11.2 · "
        f"TensorFlow 2.21.0 · Keras 3.15.1 · total 1.0 min\n\n{table}\n"
    )


def test_read_results_reads_what_the_runner_writes(tmp_path):
    rows = [
        {"notebook": "01_a", "seconds": 61.5, "status": "ok", "headline": "accuracy 0.91 | 0.93"},
        {"notebook": "02_b", "seconds": 3.0, "status": "FAILED", "headline": "ValueError: x"},
    ]
    (tmp_path / "results.md").write_text(results_md(rows, "full"))
    run = site.read_results(tmp_path / "results.md")
    assert run.mode == "full" and not run.quick
    assert run.provenance.startswith("2026-01-02 03:04 · CPU (Test CPU)")
    assert run.rows == rows  # a "|" inside the headline stays in the headline


@pytest.mark.parametrize(
    "text", ["", "hello\n", "# Results (quick mode)\n\n| notebook |\n", "# Results (full mode)\n"]
)
def test_read_results_refuses_what_is_not_a_results_file(tmp_path, text):
    (tmp_path / "results.md").write_text(text)
    with pytest.raises(ValueError, match="results.md"):
        site.read_results(tmp_path / "results.md")


BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    f"(https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}"
    "/blob/main/notebooks/01_alpha.ipynb)"
)


def test_a_staged_notebook_loads_nothing_from_outside_and_keeps_its_links():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# 01 · Alpha\n\nIntro."),
            nbformat.v4.new_markdown_cell(BADGE),
            nbformat.v4.new_markdown_cell(
                "See [02](02_beta.ipynb), [07](07_imdb.ipynb#Setup) and [docs](https://x.org)."
            ),
            nbformat.v4.new_code_cell(
                "1",
                outputs=[
                    nbformat.v4.new_output("display_data", data={"text/plain": ""}),
                    nbformat.v4.new_output("stream", name="stdout", text="kept\n"),
                ],
            ),
        ]
    )
    staged = site.stage_notebook(nb, "01_alpha", REPOSITORY, {"01_alpha", "02_beta"})
    links, text, code = staged.cells[1], staged.cells[2], staged.cells[3]
    assert "colab-badge.svg" not in json.dumps(staged)
    assert site.colab_url(REPOSITORY, "01_alpha") in links.source
    assert 'href="../_sources/notebooks/01_alpha.ipynb"' in links.source
    assert "](02_beta.ipynb)" in text.source  # in the site: a page link
    assert f"]({REPOSITORY}/blob/main/notebooks/07_imdb.ipynb#Setup)" in text.source
    assert [output.output_type for output in code.outputs] == ["stream"]  # empty display gone
    assert nb.cells[1].source == BADGE  # the notebook given is left alone


def test_a_badge_at_the_end_of_the_title_cell_is_replaced_too():
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(f"# 03 · Gamma\n\nIntro $x$.\n\n{BADGE}")]
    )
    staged = site.stage_notebook(nb, "03_gamma", REPOSITORY, {"03_gamma"})
    assert len(staged.cells) == 1 and "colab-badge.svg" not in staged.cells[0].source
    assert staged.cells[0].source.startswith("# 03 · Gamma\n\nIntro $x$.\n\n<p class=")
    assert site.colab_url(REPOSITORY, "03_gamma") in staged.cells[0].source


def test_colab_links_are_the_notebooks_own_badges():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert site.colab_url(REPOSITORY, path.stem) in path.read_text(), path.name


def titles():
    return {
        path.stem: site.notebook_title(nbformat.read(path, as_version=4))
        for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    }


def test_the_source_note_map_names_real_notebooks_and_notes():
    notes = site.load_source_notes(ROOT / "site" / site.SOURCE_NOTES)
    assert len(notes) == 5
    assert "five study notes" in site.landing_page(
        site.Run("full", "x"),
        titles(),
        [],
        readme=ROOT / "README.md",
        notes=notes,
        repository=REPOSITORY,
    )
    shared = ROOT.parent / "shared" / "source-notes"
    if shared.is_dir():  # the notes themselves are not in the repository
        assert {note["file"] for note in notes} == {p.name for p in shared.glob("0*.txt")}
    text = site.source_note_map(notes, titles(), set(), REPOSITORY)
    for name in titles():  # each notebook is in the map or named as going beyond it
        assert f"/notebooks/{name}.ipynb" in text, name
    assert "Beyond the notes:" in text


def test_the_source_note_map_refuses_an_unknown_notebook():
    notes = [{"file": "x.txt", "title": "x", "topics": [{"topic": "t", "notebooks": [99]}]}]
    with pytest.raises(ValueError, match="notebook 99"):
        site.source_note_map(notes, titles(), set(), REPOSITORY)


def test_the_landing_page_is_made_from_the_readme_and_results_md(tmp_path):
    rows = [{"notebook": "01_feature_scaling", "seconds": 90, "status": "ok", "headline": "a*b"}]
    (tmp_path / "results.md").write_text(results_md(rows))
    run = site.read_results(tmp_path / "results.md")
    notes = site.load_source_notes(ROOT / "site" / site.SOURCE_NOTES)
    page = site.landing_page(
        run,
        titles(),
        ["01_feature_scaling"],
        readme=ROOT / "README.md",
        notes=notes,
        repository=REPOSITORY,
    )
    readme = (ROOT / "README.md").read_text()
    opening = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    assert page.startswith("# Keras Training Tips\n") and opening in page
    assert "| `make run QUICK=1` |" in page  # the README's quick start, as a table
    assert "| 01 | [Feature scaling](notebooks/01_feature_scaling.ipynb) | a\\*b | 1.5 |" in page
    assert "Quick mode: 2026-01-02 03:04 · CPU (Test CPU)" in page
    assert "notebooks/01_feature_scaling\n```" in page  # the table of contents
    assert site.banner(run, 1, 24).startswith("<strong>Quick mode</strong>")
    assert "covered 1 of the 24" in site.banner(run, 1, 24)
    assert site.banner(site.Run("full", "x"), 24, 24) == ""


def test_remote_references_finds_what_a_page_would_load(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example/x.js"></script><img src="//cdn.example/i.png">'
        '<link rel="stylesheet" href="http://cdn.example/s.css"><a href="https://ok.example">'
        '<script src="_static/local.js"></script><img src="_images/p.png">'
    )
    (tmp_path / "s.css").write_text("@import 'https://fonts.example/f.css'; a{b:url(x.png)}")
    found = site.remote_references(tmp_path)
    assert sorted(url for _, url in found) == [
        "//cdn.example/i.png",
        "http://cdn.example/s.css",
        "https://cdn.example/x.js",
        "https://fonts.example/f.css",
    ]


def test_make_site_installs_its_requirements_and_passes_its_switches(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    venv = tmp_path / "venv"
    fake_program(venv / "bin" / "python", FAKE_PYTHON)
    (venv / ".tensorflow").write_text("cpu\n")
    (venv / ".installed-cpu").touch()
    done, log, _ = make(tmp_path, "site", "QUICK=1", "CHECK=1", f"VENV={venv}")
    assert done.returncode == 0, done.stderr
    assert pip_lines(log) == ["install --quiet -r requirements-site.txt"]
    assert "python -m utils.site --quick" in log and "python -m utils.site_check" in log
    done, log, _ = make(tmp_path, "site", f"VENV={venv}")  # installed: no pip this time
    assert pip_lines(log) == [] and "python -m utils.site\n" in log
    assert "site_check" not in log


def test_site_requirements_are_pinned():
    lines = (ROOT / "requirements-site.txt").read_text().splitlines()
    pins = [line for line in lines if line.strip() and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][\w.]*", line) for line in pins)
    assert {"sphinx", "myst-nb", "sphinx-book-theme", "playwright"} <= {
        line.split("==")[0] for line in pins
    }


# --- one small site, built for real -------------------------------------------------------

ALPHA = [
    "# 01 · Alpha\n\nA tiny notebook for the site's test: only this one says zanzibarite.",
    BADGE,
    "## An equation\n\nThe energy is $E = m c^2$, and the penalty\n\n"
    "$$\\frac{\\lambda}{2}\\sum_i w_i^2$$\n\nNext: [the beta notebook](02_beta.ipynb); "
    "[notebook 07](07_imdb.ipynb) is not in this site.",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\n\n"
    "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([0, 1, 2], [0, 1, 4])\n"
    "ax.set_title('alpha curve')\nplt.show()",
    "from utils import results\n\nresults.record('01_alpha', accuracy=0.5)",
]
BETA = [
    "# 02 · Beta\n\nThe second tiny notebook: only this one says quokkalith. Back to "
    "[the alpha notebook](01_alpha.ipynb).",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\n\n"
    "fig, ax = plt.subplots(figsize=(4, 3))\nax.bar(['a', 'b'], [3, 1])\n"
    "ax.set_title('beta bars')\nplt.show()",
    "from utils import results\n\nresults.record('02_beta', accuracy=0.75)",
]
NOTES = """[[note]]
file = "000_test.txt"
title = "a test note"
topics = [{ topic = "alpha things", notebooks = [1] }, { topic = "beta things", notebooks = [2] }]
"""


def write_notebook(path: Path, sources: list[str]) -> None:
    cells = [
        nbformat.v4.new_code_cell(text)
        if text.startswith(("%", "from", "import"))
        else nbformat.v4.new_markdown_cell(text)
        for text in sources
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two tiny notebooks run by `make run`'s runner in quick mode, and their site."""
    if not HAVE_SITE_PACKAGES:
        pytest.skip("the site's packages are not installed: `make test` installs them")
    tmp = tmp_path_factory.mktemp("site")
    notebooks, build, config = tmp / "notebooks", tmp / "build", tmp / "config"
    notebooks.mkdir()
    write_notebook(notebooks / "01_alpha.ipynb", ALPHA)
    write_notebook(notebooks / "02_beta.ipynb", BETA)
    start = time.perf_counter()
    assert runner.main(["--quick", "--notebooks", str(notebooks), "--build", str(build)]) == 0
    ran = time.perf_counter()
    shutil.copytree(ROOT / "site", config)
    (config / site.SOURCE_NOTES).write_text(NOTES)
    out = site.build(build, config=config, notebooks=notebooks, quiet=True)
    seconds, size = time.perf_counter() - ran, site.size_of(out) / 2**20
    print(f"site test: notebooks ran in {ran - start:.1f} s, site built in {seconds:.1f} s")
    print(f"site test: {size:.1f} MiB")
    return out


@needs_site_packages
def test_the_built_site_has_its_pages_links_and_provenance(built):
    assert (built / "index.html").is_file() and (built / "search.html").is_file()
    assert site.remote_references(built) == []
    index = (built / "index.html").read_text()
    alpha = (built / "notebooks" / "01_alpha.html").read_text()
    assert 'href="notebooks/01_alpha.html"' in index and "accuracy 0.5" in index
    assert "Quick mode" in index and "Quick mode" in alpha  # the banner, on every page
    assert "TensorFlow" in alpha  # the run's provenance in every page's footer
    assert site.colab_url(REPOSITORY, "01_alpha") in alpha
    download = built / "_sources" / "notebooks" / "01_alpha.ipynb"
    assert download.read_bytes() == (built.parent / "executed" / "01_alpha.ipynb").read_bytes()
    assert f"{REPOSITORY}/blob/main/notebooks/07_imdb.ipynb" in alpha
    sidebar = re.findall(r'class="reference internal" href="([^"]+)">0\d · ', index)
    assert sidebar[:2] == ["notebooks/01_alpha.html", "notebooks/02_beta.html"]
    assert (built / "_static" / "mathjax" / "tex-chtml.js").is_file()


@pytest.fixture(scope="module")
def browser(built):
    from utils.site_check import SiteBrowser, find_chromium

    if find_chromium() is None:
        pytest.skip("no Chromium to open the site in: apt-get install chromium (CI does)")
    with SiteBrowser(built) as opened:
        yield opened


@needs_site_packages
def test_every_page_loads_with_no_error_and_nothing_from_outside(browser, built):
    from utils.site_check import pages

    paths = pages(built)
    assert {"index.html", "notebooks/01_alpha.html", "notebooks/02_beta.html"} <= set(paths)
    reports = [browser.open(path) for path in paths]
    assert {report.path: report.problems for report in reports} == {path: [] for path in paths}
    figures = {report.path: report.images for report in reports}
    assert figures["notebooks/01_alpha.html"] >= 1 and figures["notebooks/02_beta.html"] >= 1


@needs_site_packages
def test_equations_render_as_math(browser):
    report = browser.open("notebooks/01_alpha.html")
    assert report.math_rendered >= 2 and report.raw_math == []
    text = browser.page.inner_text("article")
    assert "$E" not in text and "\\frac" not in text


@needs_site_packages
def test_a_link_from_one_notebook_page_to_another_resolves(browser):
    browser.open("notebooks/01_alpha.html")
    title = browser.follow('article a[href="02_beta.html"]')
    assert title.startswith("02 · Beta") and browser.page.url.endswith("/notebooks/02_beta.html")
    assert browser.page.locator("h1").first.inner_text().startswith("02 · Beta")


@needs_site_packages
def test_search_finds_a_word_that_one_notebook_has(browser):
    assert browser.search("zanzibarite") == ["notebooks/01_alpha.html"]
    assert browser.search("quokkalith") == ["notebooks/02_beta.html"]


@needs_site_packages
def test_screenshots_for_review(browser):
    shots = BUILD_DIR / "site-screenshots"
    landing = browser.screenshot("index.html", shots / "test-landing.png")
    notebook = browser.screenshot(
        "notebooks/01_alpha.html", shots / "test-notebook.png", at=".cell_output img"
    )
    for path in (landing, notebook):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_make_site_runs_make_run_first_when_there_is_nothing_to_show(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "main", lambda argv: calls.append(argv) or 0)
    assert site.main(["--build", str(tmp_path), "--quick"]) == 1  # the fake run left nothing
    assert calls == [["--quick", "--build", str(tmp_path)]]
