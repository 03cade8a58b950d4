"""`make site`: the static book of executed notebooks, and the same site in a real browser.

Fast checks of utils/site.py's parts (results.md parsing, the staged notebooks, the landing page,
the source-note map, the remote-reference scan, the Makefile target, the Korean section staged
from a tiny fake Korean run and fake Korean notebooks); then one small site built for real, from
two tiny notebooks executed by `make run`'s runner in quick mode and their Korean edition (one
run by `make run LANG=ko`'s runner, one not run), served on 127.0.0.1 and opened in headless
Chromium (Debian's, driven by Playwright): every page, the Korean ones included, loads with no
console error and no request leaving 127.0.0.1, every image loads, equations render as math,
links between notebook pages (English and Korean) resolve, and the site's search finds a word
that only one notebook has. Screenshots of its landing pages and notebook pages go to
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
    # README.ko.md is not a page: with no Korean section, its link goes to the repository
    opening = opening.replace("](README.ko.md)", f"]({REPOSITORY}/blob/main/README.ko.md)")
    assert page.startswith("# Keras Training Tips\n") and opening in page
    assert "한국어판](ko/index.md)" not in page and "ko/index\n```" not in page
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


# --- the Korean section (notebooks/ko, `make run LANG=ko` → build/ko) -----------------------

KOREAN_BADGE = BADGE.replace("/notebooks/01_alpha.ipynb", "/notebooks/ko/01_alpha.ipynb")
KOREAN_NOTES = """[[note]]
file = "000_test.txt"
title = "시험 노트"
sections = [
    { section = "알파 이야기", notebooks = [{ notebook = 1, cell = "head" }], correction = "" },
    { section = "감마 이야기", notebooks = [{ notebook = 3, cell = "head" }], correction = "수정" },
    { section = "다루지 않는 절", notebooks = [], correction = "어느 노트북도 다루지 않는다." },
]
"""


def fake_notebook(
    path: Path, title: str, text: str, heading: str = "Head", outputs: bool = False
) -> None:
    """A notebook with a title cell, a "## " heading cell of id "head" and a code cell (with a
    printed line when ``outputs``, as an executed copy has)."""
    code = nbformat.v4.new_code_cell("print('x')")
    if outputs:
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="printed\n")]
    cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\n{text}"),
        nbformat.v4.new_markdown_cell(f"## {heading}"),
        code,
    ]
    cells[1].id = "head"
    nb = nbformat.v4.new_notebook(cells=cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def korean_tree(tmp_path):
    """English notebooks 01-03 all run (quick mode); Korean 01 and 02 (03 is not translated),
    only 01 run by `make run LANG=ko`; the site's configuration with both source-note maps."""
    notebooks, build, config = tmp_path / "notebooks", tmp_path / "build", tmp_path / "config"
    names = ["01_alpha", "02_beta", "03_gamma"]
    for name, title in zip(names, ["01 · Alpha", "02 · Beta", "03 · Gamma"], strict=True):
        fake_notebook(notebooks / f"{name}.ipynb", title, "English.")
        fake_notebook(build / "executed" / f"{name}.ipynb", title, "English.", outputs=True)
    rows = [{"notebook": n, "seconds": 60.0, "status": "ok", "headline": "acc 0.5"} for n in names]
    (build / "results.md").write_text(results_md(rows))
    links = "[02](02_beta.ipynb), [03](03_gamma.ipynb#Head), [07](07_imdb.ipynb)"
    alpha_ko = f"한국어 설명. {links}\n\n{KOREAN_BADGE}"
    fake_notebook(notebooks / "ko" / "01_alpha.ipynb", "01 · 알파", alpha_ko, "알파 절")
    fake_notebook(notebooks / "ko" / "02_beta.ipynb", "02 · 베타", "돌아가기: [01](01_alpha.ipynb)")
    executed = build / "ko" / "executed" / "01_alpha.ipynb"
    fake_notebook(executed, "01 · 알파", alpha_ko, "알파 절", outputs=True)
    korean_rows = [
        {"notebook": "01_alpha", "seconds": 90.0, "status": "ok", "headline": "정확도 0.5"}
    ]
    (build / "ko" / "results.md").write_text(results_md(korean_rows))
    shutil.copytree(ROOT / "site", config)
    (config / site.SOURCE_NOTES).write_text(NOTES)
    (config / site.SOURCE_NOTES_KO).write_text(KOREAN_NOTES, encoding="utf-8")
    return tmp_path


def stage_tree(tree: Path):
    return site.stage(
        tree / "build",
        tree / "src",
        config=tree / "config",
        notebooks=tree / "notebooks",
        readme=ROOT / "README.md",
        repository=REPOSITORY,
    )


def test_the_korean_section_is_staged_from_the_korean_run_and_notebooks(korean_tree):
    _, in_site, korean = stage_tree(korean_tree)
    src = korean_tree / "src"
    assert in_site == ["01_alpha", "02_beta", "03_gamma"]
    assert list(korean.pages) == ["01_alpha", "02_beta"] and korean.executed == {"01_alpha"}
    assert korean.pages["01_alpha"] == korean_tree / "build" / "ko" / "executed" / "01_alpha.ipynb"
    assert korean.pages["02_beta"] == korean_tree / "notebooks" / "ko" / "02_beta.ipynb"
    assert sorted(path.name for path in (src / "ko" / "notebooks").iterdir()) == [
        "01_alpha.ipynb",
        "02_beta.ipynb",
    ]
    assert not list(src.rglob("source_notes*.toml"))  # the maps are rendered, not copied
    # the English landing page links to the Korean one, and lists it in the sidebar
    english = (src / "index.md").read_text(encoding="utf-8")
    assert "[한국어판](ko/index.md)" in english and ":caption: 한국어판\n\nko/index\n```" in english
    assert "](README.ko.md)" not in english  # the README's link: to the Korean section
    # the Korean landing page: Korean titles linking to the Korean pages, back to English
    page = (src / "ko" / "index.md").read_text(encoding="utf-8")
    assert page.startswith("# Keras Training Tips 한국어판\n") and "](../index.md)" in page
    assert "| 01 | [알파](notebooks/01_alpha.ipynb) | 정확도 0.5 | 1.5 |" in page
    assert "| 02 | [베타](notebooks/02_beta.ipynb) | 출력 없음(실행 전) |  |" in page
    assert "2개 가운데 1개만" in page and "빠른 모드" in page
    assert "아직 번역되지 않은 노트북" in page
    assert "[03 · Gamma](../notebooks/03_gamma.ipynb)" in page
    assert "notebooks/01_alpha\nnotebooks/02_beta\n```" in page  # the section's contents
    # the Korean source-note map, its links made the site's (03: the English page)
    assert "### 시험 노트" in page
    assert "| 알파 이야기 | [01](notebooks/01_alpha.ipynb) 알파 절 | — |" in page
    assert "| 감마 이야기 | [03 (영어판)](../notebooks/03_gamma.ipynb) Head | 수정 |" in page
    assert "| 다루지 않는 절 | — | 어느 노트북도 다루지 않는다. |" in page
    assert "notebooks/ko/" not in page.replace("`notebooks/ko/`", "")
    # every Korean page gets its own banner and footer
    settings = json.loads((src / "site.json").read_text(encoding="utf-8"))
    assert "빠른 모드" in settings["ko"]["banner"] and "LANG=ko" in settings["ko"]["footer"]
    assert "Quick mode" in settings["banner"]  # the English pages keep the English run's


def test_a_korean_page_shows_the_executed_copy_or_says_how_to_get_its_outputs(korean_tree):
    stage_tree(korean_tree)
    folder = korean_tree / "src" / "ko" / "notebooks"
    alpha = nbformat.read(folder / "01_alpha.ipynb", as_version=4)
    beta = nbformat.read(folder / "02_beta.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in alpha.cells)
    assert alpha.cells[2].outputs[0].text == "printed\n"  # the executed copy
    assert "colab-badge.svg" not in text and "아직 실행하지 않은" not in text
    assert site.colab_url(REPOSITORY, "01_alpha", "ko") in text
    assert "/notebooks/ko/01_alpha.ipynb" in site.colab_url(REPOSITORY, "01_alpha", "ko")
    assert 'href="../../_sources/ko/notebooks/01_alpha.ipynb" download>' in text
    assert "이 노트북 내려받기(출력 포함)" in text
    # a link to a Korean page stays; to an untranslated one: its English page; else GitHub
    assert "[02](02_beta.ipynb)" in text and "[03](../../notebooks/03_gamma.ipynb#Head)" in text
    assert f"[07]({REPOSITORY}/blob/main/notebooks/07_imdb.ipynb)" in text
    assert beta.cells[3].outputs == []  # the links went in after the title
    title = beta.cells[0].source
    assert title.startswith("# 02 · 베타\n\n```{admonition} 아직 실행하지 않은 노트북\n")
    assert "`make run LANG=ko`" in title and "`make site`" in title
    assert "[01](01_alpha.ipynb)" in title
    assert "이 노트북 내려받기</a>" in beta.cells[1].source  # not "(with its outputs)"


def test_korean_pages_without_a_korean_run_show_the_notebooks(korean_tree, capsys):
    (korean_tree / "build" / "ko" / "results.md").write_text("not a results file\n")
    _, _, korean = stage_tree(korean_tree)
    assert "the Korean run is left out" in capsys.readouterr().out
    assert korean.run is None and korean.executed == set()
    assert korean.pages["01_alpha"] == korean_tree / "notebooks" / "ko" / "01_alpha.ipynb"
    page = (korean_tree / "src" / "ko" / "index.md").read_text(encoding="utf-8")
    assert "아직 실행되지 않았다" in page and "정확도" not in page
    settings = json.loads((korean_tree / "src" / "site.json").read_text(encoding="utf-8"))
    assert "아직 실행되지 않아" in settings["ko"]["banner"]
    shutil.rmtree(korean_tree / "build" / "ko")  # no Korean build folder at all: the same
    _, _, korean = stage_tree(korean_tree)
    assert korean.run is None and list(korean.pages) == ["01_alpha", "02_beta"]


def test_no_korean_section_without_korean_notebooks(korean_tree):
    shutil.rmtree(korean_tree / "notebooks" / "ko")
    shutil.rmtree(korean_tree / "build" / "ko")
    _, _, korean = stage_tree(korean_tree)
    src = korean_tree / "src"
    assert korean.pages == {} and not (src / "ko").exists()
    english = (src / "index.md").read_text(encoding="utf-8")
    assert "ko/index" not in english and "ko" not in json.loads((src / "site.json").read_text())


def test_the_korean_source_note_map_renders_with_the_notebooks_translated_so_far():
    """The checkout's map (site/source_notes.ko.toml) and whatever notebooks/ko holds now: every
    link goes to a Korean page, or to the English one of a notebook not translated yet."""
    korean = {path.stem for path in (ROOT / "notebooks" / "ko").glob("[0-9][0-9]_*.ipynb")}
    text = site.korean_notes_map(
        ROOT / "site" / site.SOURCE_NOTES_KO,
        ROOT / "notebooks" / "ko",
        ROOT / "notebooks",
        korean_in_site=korean,
        english_in_site=set(titles()),
        repository=REPOSITORY,
    )
    links = re.findall(r"\[(\d\d)( \(영어판\))?\]\(([^)]*)\)", text)
    assert links and "notebooks/ko/" not in text
    for number, english, target in links:
        name = Path(target).stem
        assert name[:2] == number and target.endswith(".ipynb")
        assert target == (f"../notebooks/{name}.ipynb" if english else f"notebooks/{name}.ipynb")
        assert bool(english) == (name not in korean)


def test_korean_colab_links_are_the_korean_notebooks_own_badges():
    for path in sorted((ROOT / "notebooks" / "ko").glob("[0-9][0-9]_*.ipynb")):
        assert site.colab_url(REPOSITORY, path.stem, "ko") in path.read_text(), path.name


def test_the_configuration_marks_the_korean_pages(tmp_path):
    """site/conf.py: lang="ko", the Korean banner and footer, and the header's Colab button at
    notebooks/ko/ on the pages under ko/; the English pages are left alone."""
    import runpy

    shutil.copy(ROOT / "site" / "conf.py", tmp_path / "conf.py")
    settings = {"title": "t", "repository_url": REPOSITORY, "banner": "B", "footer": "F"}
    settings["ko"] = {"banner": "빠른 모드", "footer": "바닥글"}
    (tmp_path / "site.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    conf = runpy.run_path(str(tmp_path / "conf.py"))
    colab = "https://colab.research.google.com/github/x/y/blob/main/ko/notebooks/01_alpha.ipynb"

    def context():
        buttons = [{"type": "group", "buttons": [{"url": colab}]}]
        buttons.append({"url": "../../_sources/ko/notebooks/01_alpha.ipynb"})
        return {"language": "en", "theme_announcement": "B", "header_buttons": buttons}

    page = context()
    conf["_korean_pages"](None, "ko/notebooks/01_alpha", "page.html", page, None)
    assert page["language"] == "ko" and page["theme_announcement"] == "빠른 모드"
    assert page["theme_extra_footer"] == "바닥글"
    assert page["header_buttons"][0]["buttons"][0]["url"].endswith(
        "/blob/main/notebooks/ko/01_alpha.ipynb"
    )
    assert page["header_buttons"][1]["url"] == "../../_sources/ko/notebooks/01_alpha.ipynb"
    english = context()
    conf["_korean_pages"](None, "notebooks/01_alpha", "page.html", english, None)
    assert english == context()


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


# The Korean edition of the two: the same code, Korean prose (only alpha says 무지개송어).
ALPHA_KO = [
    "# 01 · 알파\n\n사이트 시험용 작은 노트북이다. 이 노트북만 무지개송어 라는 말을 쓴다.",
    KOREAN_BADGE,
    "## 방정식\n\n에너지는 $E = m c^2$ 이고, 벌점은\n\n$$\\frac{\\lambda}{2}\\sum_i w_i^2$$\n\n"
    "다음: [베타 노트북](02_beta.ipynb). [노트북 07](07_imdb.ipynb)은 이 사이트에 없다.",
    *ALPHA[3:],
]
BETA_KO = [
    "# 02 · 베타\n\n두 번째 작은 노트북이다. [알파 노트북](01_alpha.ipynb)으로 돌아간다.",
    *BETA[1:],
]
KOREAN_NOTES_BUILT = """[[note]]
file = "000_test.txt"
title = "시험 노트"
sections = [{ section = "방정식", notebooks = [{ notebook = 1, cell = "c002" }], correction = "" }]
"""


def write_notebook(path: Path, sources: list[str]) -> None:
    cells = [
        nbformat.v4.new_code_cell(text)
        if text.startswith(("%", "from", "import"))
        else nbformat.v4.new_markdown_cell(text)
        for text in sources
    ]
    for i, cell in enumerate(cells):  # ids as the notebooks have them (the Korean map names one)
        cell.id = f"c{i:03d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two tiny notebooks run by `make run`'s runner in quick mode, and their site; with their
    Korean edition, alpha run by `make run LANG=ko ONLY=01` (quick), beta not run."""
    if not HAVE_SITE_PACKAGES:
        pytest.skip("the site's packages are not installed: `make test` installs them")
    tmp = tmp_path_factory.mktemp("site")
    notebooks, build, config = tmp / "notebooks", tmp / "build", tmp / "config"
    notebooks.mkdir()
    write_notebook(notebooks / "01_alpha.ipynb", ALPHA)
    write_notebook(notebooks / "02_beta.ipynb", BETA)
    write_notebook(notebooks / "ko" / "01_alpha.ipynb", ALPHA_KO)
    write_notebook(notebooks / "ko" / "02_beta.ipynb", BETA_KO)
    start = time.perf_counter()
    assert runner.main(["--quick", "--notebooks", str(notebooks), "--build", str(build)]) == 0
    korean = ["--notebooks", str(notebooks / "ko"), "--build", str(build / "ko"), "--only", "01"]
    assert runner.main(["--quick", *korean]) == 0
    ran = time.perf_counter()
    shutil.copytree(ROOT / "site", config)
    (config / site.SOURCE_NOTES).write_text(NOTES)
    (config / site.SOURCE_NOTES_KO).write_text(KOREAN_NOTES_BUILT, encoding="utf-8")
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


@needs_site_packages
def test_the_built_site_has_its_korean_section(built):
    ko = built / "ko"
    index, alpha, beta = (
        (ko / page).read_text(encoding="utf-8")
        for page in ("index.html", "notebooks/01_alpha.html", "notebooks/02_beta.html")
    )
    english = (built / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in english and 'href="ko/index.html"' in english
    for page in (index, alpha, beta):  # Korean, in UTF-8, with the Korean run's banner
        assert '<html lang="ko"' in page and '<meta charset="utf-8"' in page.lower()
        assert "빠른 모드" in page and "2개 가운데 1개만" in page and "Quick mode" not in page
        assert "LANG=ko" in page  # the footer names the Korean run
    assert 'href="../index.html"' in index and 'href="notebooks/01_alpha.html"' in index
    assert "알파" in index and "베타" in index and "시험 노트" in index
    assert "무지개송어" in alpha and "아직 실행하지 않은 노트북" not in alpha
    assert "cell_output" in alpha and "<img" in alpha  # the executed copy's figure
    assert "아직 실행하지 않은 노트북" in beta and "cell_output" not in beta
    # Colab: the Korean notebook, in the page's links and in the header's launch button
    assert site.colab_url(REPOSITORY, "01_alpha", "ko") in alpha
    assert "/blob/main/ko/notebooks/" not in alpha + beta
    assert "/notebooks/ko/02_beta.ipynb" in beta
    # downloads: the executed copy, and the notebook itself where there is none
    sources = built / "_sources" / "ko" / "notebooks"
    executed = built.parent / "ko" / "executed" / "01_alpha.ipynb"
    assert (sources / "01_alpha.ipynb").read_bytes() == executed.read_bytes()
    notebook = built.parent.parent / "notebooks" / "ko" / "02_beta.ipynb"
    assert (sources / "02_beta.ipynb").read_bytes() == notebook.read_bytes()


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
    korean = {"ko/index.html", "ko/notebooks/01_alpha.html", "ko/notebooks/02_beta.html"}
    assert korean <= set(paths)
    reports = [browser.open(path) for path in paths]
    assert {report.path: report.problems for report in reports} == {path: [] for path in paths}
    figures = {report.path: report.images for report in reports}
    assert figures["notebooks/01_alpha.html"] >= 1 and figures["notebooks/02_beta.html"] >= 1
    assert figures["ko/notebooks/01_alpha.html"] >= 1  # executed by the Korean run
    languages = {report.path: report.lang for report in reports}
    assert {languages[path] for path in korean} == {"ko"} and languages["index.html"] == "en"


@needs_site_packages
def test_equations_render_as_math(browser):
    report = browser.open("notebooks/01_alpha.html")
    assert report.math_rendered >= 2 and report.raw_math == []
    text = browser.page.inner_text("article")
    assert "$E" not in text and "\\frac" not in text
    report = browser.open("ko/notebooks/01_alpha.html")
    assert report.math_rendered >= 2 and report.raw_math == []


@needs_site_packages
def test_a_link_from_one_notebook_page_to_another_resolves(browser):
    browser.open("notebooks/01_alpha.html")
    title = browser.follow('article a[href="02_beta.html"]')
    assert title.startswith("02 · Beta") and browser.page.url.endswith("/notebooks/02_beta.html")
    assert browser.page.locator("h1").first.inner_text().startswith("02 · Beta")


@needs_site_packages
def test_the_korean_pages_link_to_each_other_and_to_the_english_ones(browser):
    browser.open("ko/notebooks/01_alpha.html")
    title = browser.follow('article a[href="02_beta.html"]')
    assert title.startswith("02 · 베타") and browser.page.url.endswith("/ko/notebooks/02_beta.html")
    assert "make run LANG=ko" in browser.page.inner_text("article")  # the note, no outputs
    browser.open("index.html")
    title = browser.follow('article a[href="ko/index.html"]')
    assert title.startswith("Keras Training Tips 한국어판")
    assert "알파" in browser.page.inner_text("article")  # Korean text, as text
    title = browser.follow('article a[href="../index.html"]')
    assert title.startswith("Keras Training Tips") and "한국어판" not in title


@needs_site_packages
def test_search_finds_a_word_that_one_notebook_has(browser):
    assert browser.search("zanzibarite") == ["notebooks/01_alpha.html"]
    assert browser.search("quokkalith") == ["notebooks/02_beta.html"]
    assert browser.search("무지개송어") == ["ko/notebooks/01_alpha.html"]


@needs_site_packages
def test_screenshots_for_review(browser):
    shots = BUILD_DIR / "site-screenshots"
    landing = browser.screenshot("index.html", shots / "test-landing.png")
    notebook = browser.screenshot(
        "notebooks/01_alpha.html", shots / "test-notebook.png", at=".cell_output img"
    )
    korean = browser.screenshot("ko/index.html", shots / "test-ko-landing.png")
    unexecuted = browser.screenshot("ko/notebooks/02_beta.html", shots / "test-ko-notebook.png")
    for path in (landing, notebook, korean, unexecuted):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_make_site_runs_make_run_first_when_there_is_nothing_to_show(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "main", lambda argv: calls.append(argv) or 0)
    assert site.main(["--build", str(tmp_path), "--quick"]) == 1  # the fake run left nothing
    assert calls == [["--quick", "--build", str(tmp_path)]]
