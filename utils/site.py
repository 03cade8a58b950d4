"""``make site``: a static HTML book of the last ``make run``'s executed notebooks.

The book is Sphinx with MyST-NB and the book theme (``requirements-site.txt``). It is made from
what ``make run`` left in the build folder: ``results.md`` (the run's mode, date, device,
versions and one row per notebook) and the executed copies in ``executed/``. Only the notebooks
of that run go in, in their numbered order, so that the whole site comes from one run and one
mode; a quick-mode run gets a banner on every page. Nothing is executed again.

Steps (:func:`build`):

1. stage a Sphinx project in ``build/site-src/``: the configuration (``site/`` of the checkout),
   ``site.json`` (the values of this run), the landing page ``index.md`` (the README's opening
   and quick start, the provenance of the run, the results table from ``results.md``, the map
   of the source notes from ``site/source_notes.toml``) and a copy of each executed notebook
   whose Colab badge is replaced by local "Open in Colab" and "Download" links (the badge's
   image is a remote file; the site loads nothing from outside itself);
   the Korean section under ``ko/`` (:func:`korean_edition`), when ``notebooks/ko`` holds Korean
   notebooks (however many are translated so far): ``ko/index.md`` (a Korean introduction, the
   table of the Korean notebooks, the Korean source-note map of ``site/source_notes.ko.toml``)
   and a page per Korean notebook in ``ko/notebooks/``, showing its executed copy from the last
   ``make run LANG=ko`` (``build/ko/executed``) or, when there is none, the notebook itself
   without outputs and a note saying how to get them; the two landing pages link to each other;
2. ``sphinx-build`` into ``build/site/``, with MathJax copied from the
   ``sphinx-mathjax-offline`` package into ``_static/mathjax`` (its TeX-to-HTML part only) and
   the notebooks the pages show in ``_sources/notebooks/`` and ``_sources/ko/notebooks/`` for
   download;
3. check that no page loads anything from outside the site (:func:`remote_references`).

``make site`` runs ``make run`` first (``--quick`` with ``QUICK=1``) when the build folder has
no run to show.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .paths import BUILD_DIR, NOTEBOOKS_DIR, REPO_ROOT

CONFIG_DIR = (REPO_ROOT or Path.cwd()) / "site"
SOURCE_NOTES = "source_notes.toml"
SOURCE_NOTES_KO = "source_notes.ko.toml"  # the Korean map (utils.readme.korean_notes_block)
KOREAN = "ko"  # the Korean section's folder in the site, in notebooks/ and in the build folder
COLAB = "https://colab.research.google.com/github/"
_RESULTS_TITLE = re.compile(r"^# Results \((\w+) mode\)\s*$")
_BADGE = re.compile(  # a line that is the Colab badge: [![...](colab's image)](colab's link)
    r"^[ \t]*\[!\[[^\]]*\]\(https://colab\.research\.google\.com/[^)]*\)\]\([^)]*\)[ \t]*$", re.M
)
_NOTEBOOK_LINK = re.compile(r"\]\((\d{2}_[a-z0-9_]+)\.ipynb(#[^)]*)?\)")
_MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts", "ui", "a11y")


@dataclass
class Run:
    """What ``build/results.md`` says about one ``make run``."""

    mode: str  # "full" or "quick"
    provenance: str  # date · device (CPU) · Python · TensorFlow · Keras · total
    rows: list[dict] = field(default_factory=list)  # notebook, seconds, status, headline

    @property
    def quick(self) -> bool:
        return self.mode != "full"


def read_results(path: Path) -> Run:
    """Parses the ``results.md`` that ``make run`` writes (utils/runner.py).

    The table's last column, the headline, takes the rest of a row, so a ``|`` inside it does
    not shift the columns. Raises ValueError naming the problem when the file is not one.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    title = _RESULTS_TITLE.match(lines[0]) if lines else None
    if title is None:
        raise ValueError(f"{path} is not a results.md of `make run` (no '# Results (... mode)')")
    text = [line for line in lines[1:] if line.strip()]
    if not text or text[0].startswith("|"):
        raise ValueError(f"{path} has no line saying when and where the run was made")
    table = [line for line in text if line.startswith("|")]
    if len(table) < 2:
        raise ValueError(f"{path} has no results table")
    header = [cell.strip() for cell in table[0].strip("| ").split(" | ")]
    if header[:3] != ["notebook", "seconds", "status"] or len(header) != 4:
        raise ValueError(f"{path}: unexpected columns {header}")
    rows = []
    for line in table[2:]:
        name, seconds, status, headline = (c.strip() for c in line[2:-2].split(" | ", 3))
        rows.append(
            {"notebook": name, "seconds": float(seconds), "status": status, "headline": headline}
        )
    return Run(mode=title.group(1), provenance=text[0].strip(), rows=rows)


def repository_url(pyproject: Path | None = None) -> str:
    """The project's address: pyproject.toml's ``[project.urls] Homepage``."""
    pyproject = pyproject or (REPO_ROOT or Path.cwd()) / "pyproject.toml"
    with open(pyproject, "rb") as file:
        return tomllib.load(file)["project"]["urls"]["Homepage"].rstrip("/")


def colab_url(repository: str, notebook: str, language: str = "en") -> str:
    """The Colab address of a committed notebook (as the notebooks' own badges have it);
    ``language="ko"``: of the Korean edition's copy, ``notebooks/ko/``."""
    path = repository.removeprefix("https://github.com/")
    return f"{COLAB}{path}/blob/main/{_repository_folder(language)}/{notebook}.ipynb"


def _repository_folder(language: str) -> str:
    if language not in ("en", KOREAN):
        raise ValueError(f"language must be 'en' or {KOREAN!r}, got {language!r}")
    return "notebooks" if language == "en" else f"notebooks/{KOREAN}"


def notebook_title(nb) -> str:
    """The notebook's ``# NN · Title`` heading (its first Markdown line that is a heading)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _markdown_text(text: str) -> str:
    """``text`` safe inside a Markdown table cell: punctuation that Markdown reads, escaped."""
    return re.sub(r"([\\`*_\[\]<>|$#])", r"\\\1", str(text)).replace("\n", " ")


# The buttons of a notebook page: (Colab, download of the executed copy, download of a notebook
# that was not executed).
_LINK_LABELS = {
    "en": ("Open in Colab", "Download this notebook (with its outputs)", "Download this notebook"),
    KOREAN: ("Colab에서 열기", "이 노트북 내려받기(출력 포함)", "이 노트북 내려받기"),
}
# At the top of a Korean page that shows a notebook of notebooks/ko without outputs.
UNEXECUTED_NOTE_KO = """```{admonition} 아직 실행하지 않은 노트북
:class: warning ktt-unexecuted

이 쪽은 `notebooks/ko/`의 노트북을 실행하지 않은 채 보여 준다: 설명과 코드만 있고 출력(표, 그림,
결과)은 없다. 출력은 `make run LANG=ko`로 한국어 노트북을 실행한 다음 `make site`를 다시 실행하면
나타난다.
```"""


def _links_cell(repository: str, name: str, language: str = "en", executed: bool = True) -> str:
    colab = colab_url(repository, name, language)
    label, with_outputs, plain = _LINK_LABELS[language]
    download = "../_sources/notebooks" if language == "en" else f"../../_sources/{KOREAN}/notebooks"
    return (
        '<p class="ktt-links">'
        f'<a class="ktt-button" href="{colab}">{label}</a> '
        f'<a class="ktt-button" href="{download}/{name}.ipynb" download>'
        f"{with_outputs if executed else plain}</a></p>"
    )


def _after_title(nb, text: str) -> None:
    """Puts ``text`` (Markdown) right under the notebook's ``# `` title, or first."""
    import nbformat

    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# "):
                rest = lines[i + 1 :]
                gap = [""] if rest and rest[0].strip() else []
                cell.source = "\n".join([*lines[: i + 1], "", text, *gap, *rest])
                return
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))


def _blank(output) -> bool:
    """An output that shows nothing: a display emptied at the end (the live progress line of
    utils.progress leaves one per training run)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return False
    data = output.get("data", {})
    return all(isinstance(value, str) and not value.strip() for value in data.values())


def stage_notebook(
    nb,
    name: str,
    repository: str,
    in_site: set[str],
    *,
    language: str = "en",
    english_in_site: set[str] | frozenset[str] = frozenset(),
    executed: bool = True,
):
    """A copy of an executed notebook for the site.

    The Colab badge (whose image is a remote file) becomes local links to Colab and to the
    notebook's download; links to notebooks that are not in the site point at the repository;
    outputs that show nothing (emptied displays) are left out.

    ``language="ko"``: a page of the Korean section (``ko/notebooks/``). ``in_site`` are then the
    Korean pages; a link to a notebook that has none points at its English page when that is in
    the site (``english_in_site``), else at the English notebook in the repository. With
    ``executed=False`` (a notebook of ``notebooks/ko`` that no run has executed) a note under the
    title says that the outputs appear after ``make run LANG=ko`` and ``make site``.
    """
    import nbformat

    links = _links_cell(repository, name, language, executed)

    def relink(match: re.Match) -> str:
        target, anchor = match.group(1), match.group(2) or ""
        if target in in_site:
            return match.group(0)
        if language != "en" and target in english_in_site:
            return f"](../../notebooks/{target}.ipynb{anchor})"
        return f"]({repository}/blob/main/notebooks/{target}.ipynb{anchor})"

    nb = copy.deepcopy(nb)
    badge = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if not badge and _BADGE.search(cell.source):
                cell.source = _BADGE.sub(lambda _: links, cell.source, count=1)
                badge = True
            cell.source = _NOTEBOOK_LINK.sub(relink, cell.source)
        elif cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not _blank(output)]
    if not badge:  # a notebook without the badge still gets the links, after its title
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(links))
    if not executed and language == KOREAN:
        _after_title(nb, UNEXECUTED_NOTE_KO)
    nb.metadata.pop("widgets", None)
    return nb


def readme_parts(readme: Path) -> tuple[str, str, str]:
    """The README's title, its opening paragraphs (what the collection is, who it is for) and
    its quick start commands (the first code block under ``## Quick start``)."""
    text = readme.read_text(encoding="utf-8")
    title, body = "Keras Training Tips", text
    if text.startswith("# "):
        first, body = text.split("\n", 1)
        title = first[2:].strip()
    opening = body.split("\n## ", 1)[0].strip()
    quick = text.split("\n## Quick start", 1)
    block = re.search(r"```bash\n.*?```", quick[1], re.S) if len(quick) == 2 else None
    return title, opening, block.group(0) if block else ""


def commands_table(block: str) -> str:
    """The README's quick-start block as a table of command and what it does (its ``#``
    comments); the block itself when a line has no comment."""
    lines = [line for line in block.strip("`\n").removeprefix("bash").splitlines() if line.strip()]
    rows = [re.match(r"^(\S.*?)\s+#\s*(.+)$", line) for line in lines]
    if not rows or not all(rows):
        return block
    table = ["| command | what it does |", "|---|---|"]
    table += [f"| `{row.group(1)}` | {_markdown_text(row.group(2))} |" for row in rows]
    return "\n".join(table)


def load_source_notes(path: Path) -> list[dict]:
    """The source-note map: each note with the topics it covers and the notebooks that teach
    them (``site/source_notes.toml``, the one place it is written)."""
    with open(path, "rb") as file:
        notes = tomllib.load(file)["note"]
    for note in notes:
        for key in ("file", "title", "topics"):
            if key not in note:
                raise ValueError(f"{path}: a note lacks {key!r}: {note}")
        for topic in note["topics"]:
            if not topic.get("topic") or not topic.get("notebooks"):
                raise ValueError(f"{path}: {note['file']}: a topic needs a name and notebooks")
    return notes


def _notebook_link(number: str, titles: dict[str, str], in_site: set[str], repository: str):
    names = [name for name in titles if name.startswith(f"{number}_")]
    if not names:
        raise ValueError(f"the source-note map names notebook {number}, which does not exist")
    name = names[0]
    target = (
        f"notebooks/{name}.ipynb"
        if name in in_site
        else f"{repository}/blob/main/notebooks/{name}.ipynb"
    )
    return f"[{number}]({target} '{_markdown_text(titles[name])}')"


def source_note_map(
    notes: list[dict], titles: dict[str, str], in_site: set[str], repository: str
) -> str:
    """The landing page's map: one row per note, each topic followed by its notebooks; then the
    notebooks that go beyond the notes."""
    lines = ["| source note | what it covers → the notebooks that teach it |", "|---|---|"]
    used = set()
    for note in notes:
        parts = []
        for topic in note["topics"]:
            numbers = [f"{int(n):02d}" for n in topic["notebooks"]]
            used.update(numbers)
            links = ", ".join(_notebook_link(n, titles, in_site, repository) for n in numbers)
            parts.append(f"{_markdown_text(topic['topic'])} → {links}")
        name = _markdown_text(note["title"])
        if note.get("original"):
            name += f" — original: {_markdown_text(note['original'])}"
        lines.append(f"| {name} | {'; '.join(parts)} |")
    beyond = [name for name in titles if name[:2] not in used]
    if beyond:
        links = ", ".join(
            _notebook_link(name[:2], titles, in_site, repository)
            + f" {_markdown_text(titles[name].split('·', 1)[-1].strip())}"
            for name in beyond
        )
        lines += ["", f"Beyond the notes: {links}."]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return f"{words[n] if n < len(words) else n} {noun}{'' if n == 1 else 's'}"


def results_table(run: Run, titles: dict[str, str], in_site: set[str]) -> str:
    """The run's results, one row per notebook: its page, headline result and minutes."""
    lines = ["| # | notebook | result | minutes |", "|---|---|---|---:|"]
    for row in run.rows:
        name = row["notebook"]
        title = titles.get(name, name).split("·", 1)[-1].strip()
        page = f"[{_markdown_text(title)}](notebooks/{name}.ipynb)" if name in in_site else name
        result = _markdown_text(row["headline"])
        if row["status"] != "ok":
            result = f"**{_markdown_text(row['status'])}**: {result}"
        lines.append(f"| {name[:2]} | {page} | {result} | {row['seconds'] / 60:.1f} |")
    total = sum(row["seconds"] for row in run.rows) / 60
    lines.append(f"| | **total** | | **{total:.1f}** |")
    return "\n".join(lines)


def banner(run: Run, n_in_site: int, n_notebooks: int) -> str:
    """The note on every page: a quick-mode run, or a run of only some notebooks."""
    parts = []
    if run.quick:
        parts.append(
            "<strong>Quick mode</strong>: these pages show a quick-mode run (small subsets, few "
            "epochs), not the full experiments; read its numbers as directions only."
        )
    if n_in_site < n_notebooks:
        parts.append(f"This run covered {n_in_site} of the {n_notebooks} notebooks.")
    return " ".join(parts)


def landing_page(
    run: Run,
    titles: dict[str, str],
    in_site: list[str],
    *,
    readme: Path,
    notes: list[dict],
    repository: str,
    korean: bool = False,
) -> str:
    """index.md: what the collection is and who it is for, the commands, the provenance of the
    run, its results table and the source-note map; then the table of contents. With
    ``korean``, a link to the Korean section (``ko/index``), which the sidebar lists too."""
    title, opening, commands = readme_parts(readme)
    site = set(in_site)
    mode = "full mode, the real experiments" if not run.quick else "quick mode"
    toc = "\n".join(f"notebooks/{name}" for name in in_site)
    opening = _korean_readme_link(opening, korean, repository)
    switch = korean_toc = ""
    if korean:
        switch = f"\nEnglish · **[한국어판]({KOREAN}/index.md)** (Korean edition)\n"
        korean_toc = f"\n\n```{{toctree}}\n:hidden:\n:caption: 한국어판\n\n{KOREAN}/index\n```"
    return f"""# {title}
{switch}
{opening}

These pages show every notebook **executed**: its printed tables, plots and conclusions, as
`make run` left them. Each page links to the notebook on Colab and offers the executed copy for
download; the code is at [{repository.removeprefix("https://")}]({repository}).

## Run it yourself

{commands_table(commands)}

## The run shown here

{mode.capitalize()}: {_markdown_text(run.provenance)}.

{results_table(run, titles, site)}

The table is written by `make site` from `build/results.md` of that run; the result column is
each notebook's headline as it recorded it.

## Where the topics come from

The notebooks grew out of {_count(len(notes), "study note")} (Korean blog posts and lecture
notes); each topic they raise is taken up here:

{source_note_map(notes, titles, site, repository)}

```{{toctree}}
:hidden:
:caption: Notebooks
:maxdepth: 1

{toc}
```{korean_toc}
"""


@dataclass
class KoreanEdition:
    """The Korean section of the site: the Korean notebooks and the last ``make run LANG=ko``."""

    run: Run | None  # build/ko/results.md, None when there is no (readable) Korean run
    pages: dict[str, Path] = field(default_factory=dict)  # name → the notebook its page shows
    executed: set[str] = field(default_factory=set)  # the pages that show an executed copy


def korean_edition(korean_build: Path, korean_notebooks: Path) -> KoreanEdition:
    """Every Korean notebook (``notebooks/ko``, however many have been translated so far), each
    page showing its executed copy from ``build/ko/executed`` when the Korean run has one (a
    notebook of that run's ``results.md``), else the notebook itself, without outputs."""
    run = None
    results = Path(korean_build) / "results.md"
    if results.is_file():
        try:
            run = read_results(results)
        except ValueError as exc:
            print(f"make site: the Korean run is left out: {exc}")
    pages = {path.stem: path for path in sorted(Path(korean_notebooks).glob("[0-9][0-9]_*.ipynb"))}
    executed = set()
    for row in run.rows if run else []:
        path = Path(korean_build) / "executed" / f"{row['notebook']}.ipynb"
        if path.is_file():
            pages[row["notebook"]] = path
            executed.add(row["notebook"])
    return KoreanEdition(run=run, pages=dict(sorted(pages.items())), executed=executed)


_KOREAN_NOTE_LINK = re.compile(r"\[(\d{2})\]\(notebooks/ko/(\d{2}_[a-z0-9_]+)\.ipynb\)")


def korean_notes_map(
    notes_file: Path,
    korean_notebooks: Path,
    english_notebooks: Path,
    *,
    korean_in_site: set[str],
    english_in_site: set[str],
    repository: str,
) -> str:
    """README.ko.md's source-note map (:func:`utils.readme.korean_notes_block`) with its links
    made the site's: a Korean notebook's to its page (relative to ``ko/index``). A notebook not
    translated yet is read from its English copy (the same cell ids) and its link, marked
    "영어판", goes to its English page, or to the repository when that is not in the site."""
    from .readme import korean_notes_block

    block = korean_notes_block(Path(notes_file), Path(korean_notebooks), Path(english_notebooks))

    def relink(match: re.Match) -> str:
        number, name = match.group(1), match.group(2)
        if name in korean_in_site:
            return f"[{number}](notebooks/{name}.ipynb)"
        target = (
            f"../notebooks/{name}.ipynb"
            if name in english_in_site
            else f"{repository}/blob/main/notebooks/{name}.ipynb"
        )
        return f"[{number} (영어판)]({target})"

    return _KOREAN_NOTE_LINK.sub(relink, block)


def _korean_mode(run: Run) -> str:
    return "빠른 모드" if run.quick else "전체 모드"


def korean_landing_page(
    korean: KoreanEdition,
    titles: dict[str, str],
    english_titles: dict[str, str],
    english_in_site: set[str],
    *,
    notes_map: str,
    repository: str,
) -> str:
    """ko/index.md: a short Korean introduction, the Korean run (if any), the table of the Korean
    notebooks with their Korean titles and results, the notebooks not translated yet (their
    English pages), the Korean source-note map; then the section's table of contents."""
    run = korean.run
    if run is None:
        ran = (
            "한국어 노트북은 아직 실행되지 않았다. 각 쪽은 노트북의 설명과 코드만 보여 "
            "준다. 출력은 `make run LANG=ko`로 한국어 노트북을 실행한 다음 `make site`를 "
            "다시 실행하면 나타난다."
        )
    else:
        what = (
            "작은 부분집합과 적은 에포크로 돌린 것이라 숫자는 방향으로만 읽어야 한다"
            if run.quick
            else "진짜 실험이다"
        )
        ran = (
            f"아래 결과는 `make run LANG=ko`의 {_korean_mode(run)} 실행({what}): "
            f"{_markdown_text(run.provenance)}."
        )
        if len(korean.executed) < len(korean.pages):
            ran += (
                f" 한국어 노트북 {len(korean.pages)}개 가운데 {len(korean.executed)}개만 이 실행의 "
                "출력이 있다. 나머지 쪽은 설명과 코드만 보여 준다."
            )
    rows = {row["notebook"]: row for row in (run.rows if run else [])}
    table = ["| # | 노트북 | 결과 | 분 |", "|---|---|---|---:|"]
    for name in korean.pages:
        title = titles.get(name, name).split("·", 1)[-1].strip()
        page = f"[{_markdown_text(title)}](notebooks/{name}.ipynb)"
        row = rows.get(name)
        if name in korean.executed and row is not None:
            result = _markdown_text(row["headline"])
            if row["status"] != "ok":
                result = f"**{_markdown_text(row['status'])}**: {result}"
            minutes = f"{row['seconds'] / 60:.1f}"
        else:
            result, minutes = "출력 없음(실행 전)", ""
        table.append(f"| {name[:2]} | {page} | {result} | {minutes} |")
    numbers = {name[:2] for name in korean.pages}
    untranslated = []
    for name, title in english_titles.items():
        if name[:2] in numbers:
            continue
        target = (
            f"../notebooks/{name}.ipynb"
            if name in english_in_site
            else f"{repository}/blob/main/notebooks/{name}.ipynb"
        )
        untranslated.append(f"[{_markdown_text(title or name)}]({target})")
    later = ""
    if untranslated:
        later = (
            "\n\n아직 번역되지 않은 노트북(영어판으로 연결된다): " + ", ".join(untranslated) + "."
        )
    notes = ""
    if notes_map:
        count = len(re.findall(r"^### ", notes_map, re.M))
        notes = f"""
## 원래 노트와 노트북

이 노트북들은 한국어 학습 노트 {count}개(블로그 글과 강의 노트)에서 나왔다. 노트마다 그 절을 다루는
노트북의 절과, 노트북이 노트를 바로잡거나 덧붙이는 점을 적었다.

{notes_map}
"""
    toc = "\n".join(f"notebooks/{name}" for name in korean.pages)
    return f"""# Keras Training Tips 한국어판

[English](../index.md) · **한국어판**

TensorFlow 2 / Keras 3로 신경망을 훈련하는 실제 기술을 가르치는 번호 붙은 Jupyter 노트북 모음의
한국어판이다. 노트북 하나하나가 작은 통제 **실험**이다: 같은 데이터, 같은 시드, 같은 예산으로 어떤
기법을 쓴 경우와 쓰지 않은 경우를 비교하고, 노트북이 출력한 숫자에서 결론을 끌어낸다. 한국어
노트북은 영어 노트북과 번역 카탈로그에서 만들어지므로 코드는 영어판과 같고, 설명과 주석, 출력
문장과 그림의 글자가 한국어다. 각 쪽에서 노트북을 Colab에서 열거나 내려받을 수 있고, 코드는
[{repository.removeprefix("https://")}]({repository})에 있다. 영어판은
[Keras Training Tips](../index.md)이다.

## 실행 결과

{ran}

## 노트북

{chr(10).join(table)}{later}
{notes}
```{{toctree}}
:hidden:
:caption: 한국어판 노트북
:maxdepth: 1

{toc}
```
"""


def korean_banner(korean: KoreanEdition) -> str:
    """The note on every Korean page: a quick-mode Korean run, or Korean notebooks shown without
    outputs."""
    if korean.run is None:
        return (
            "한국어 노트북은 아직 실행되지 않아 설명과 코드만 보인다: "
            "<code>make run LANG=ko</code> 다음 <code>make site</code>."
        )
    parts = []
    if korean.run.quick:
        parts.append(
            "<strong>빠른 모드</strong>: 이 쪽들은 빠른 모드 실행(작은 부분집합, 적은 에포크)을 "
            "보여 준다. 숫자는 방향으로만 읽어야 한다."
        )
    if len(korean.executed) < len(korean.pages):
        parts.append(
            f"한국어 노트북 {len(korean.pages)}개 가운데 {len(korean.executed)}개만 "
            "실행 결과가 있다."
        )
    return " ".join(parts)


def korean_footer(korean: KoreanEdition) -> str:
    if korean.run is None:
        return "<code>make site</code>가 만들었다. 한국어 노트북은 아직 실행되지 않았다."
    return (
        f"<code>make site</code>가 {_korean_mode(korean.run)} <code>make run LANG=ko</code> "
        f"실행에서 만들었다: {_html_text(korean.run.provenance)}."
    )


def _korean_readme_link(text: str, korean: bool, repository: str) -> str:
    """The README's links to README.ko.md, which is not a page of the site: to the Korean
    section when there is one, else to the file in the repository."""

    def relink(match: re.Match) -> str:
        if not korean:
            return f"[{match.group(1)}]({repository}/blob/main/README.ko.md)"
        label = "the Korean pages" if match.group(1) == "README.ko.md" else match.group(1)
        return f"[{label}]({KOREAN}/index.md)"

    return re.sub(r"\[([^\]]*)\]\(README\.ko\.md\)", relink, text)


class _Remote(HTMLParser):
    """Collects what a page loads (not what it links to) from another host."""

    LOADS = {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src")}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        urls = [values.get(attr) for t, attr in self.LOADS if t == tag]
        if tag == "link" and set((values.get("rel") or "").split()) & {
            "stylesheet",
            "preload",
            "icon",
            "modulepreload",
        }:
            urls.append(values.get("href"))
        urls += re.findall(r"url\((['\"]?)(//|https?:)", values.get("style") or "")
        self.found += [url for url in urls if isinstance(url, str) and _is_remote(url)]


def _is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def remote_references(site: Path) -> list[tuple[str, str]]:
    """(page, address) for everything a page of the site would load from another host:
    scripts, images, stylesheets, frames; and ``url(http…)`` or ``@import`` in its CSS files."""
    found = []
    for page in sorted(Path(site).rglob("*.html")):
        parser = _Remote()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        found += [(str(page.relative_to(site)), url) for url in parser.found]
    for sheet in sorted(Path(site).rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(
            r"(?:url\(\s*['\"]?|@import\s+['\"])((?:https?:)?//[^'\")\s]+)", text
        ):
            found.append((str(sheet.relative_to(site)), url))
    return found


def mathjax_source() -> Path:
    """MathJax 3 as the ``sphinx-mathjax-offline`` package ships it (requirements-site.txt)."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "sphinx-mathjax-offline is not installed: `make site` installs requirements-site.txt"
        )
    return Path(spec.origin).parent / "static" / "mathjax"


def copy_mathjax(static: Path) -> None:
    """The part of MathJax that renders TeX as HTML (script, TeX extensions, fonts, menu)."""
    source = mathjax_source()
    for part in _MATHJAX_PARTS:
        src, dst = source / part, static / "mathjax" / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def stage(
    build: Path,
    source: Path,
    *,
    config: Path = CONFIG_DIR,
    notebooks: Path = NOTEBOOKS_DIR,
    korean_notebooks: Path | None = None,
    readme: Path | None = None,
    repository: str | None = None,
) -> tuple[Run, list[str], KoreanEdition]:
    """Writes the Sphinx project of the site into ``source``; returns the run, the names of the
    notebooks in the site, in order, and the Korean section (:func:`korean_edition` of
    ``build/ko`` and ``korean_notebooks``, by default ``notebooks/ko``; no Korean section when
    it has no pages)."""
    import nbformat

    run = read_results(build / "results.md")
    repository = repository or repository_url()
    readme = readme or (REPO_ROOT or Path.cwd()) / "README.md"
    executed = build / "executed"
    in_site = [
        row["notebook"] for row in run.rows if (executed / f"{row['notebook']}.ipynb").is_file()
    ]
    missing = [row["notebook"] for row in run.rows if row["notebook"] not in in_site]
    if missing:
        print(f"make site: no executed copy of {', '.join(missing)} in {executed}; left out")
    if not in_site:
        raise ValueError(f"none of the run's notebooks has an executed copy in {executed}")
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(
        config, source, ignore=shutil.ignore_patterns("__pycache__", SOURCE_NOTES, SOURCE_NOTES_KO)
    )
    (source / "notebooks").mkdir()
    titles = {}
    for path in sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb")):
        titles[path.stem] = notebook_title(nbformat.read(path, as_version=4))
    for name in in_site:
        nb = nbformat.read(executed / f"{name}.ipynb", as_version=4)
        titles[name] = notebook_title(nb) or titles.get(name) or name
        nbformat.write(
            stage_notebook(nb, name, repository, set(in_site)),
            source / "notebooks" / f"{name}.ipynb",
        )
    notes = load_source_notes(config / SOURCE_NOTES)
    numbered = {name: title for name, title in sorted(titles.items())}
    korean_notebooks = Path(korean_notebooks or Path(notebooks) / KOREAN)
    korean = korean_edition(build / KOREAN, korean_notebooks)
    index = landing_page(
        run,
        numbered,
        in_site,
        readme=readme,
        notes=notes,
        repository=repository,
        korean=bool(korean.pages),
    )
    (source / "index.md").write_text(index, encoding="utf-8")
    if korean.pages:
        _stage_korean(
            korean,
            source / KOREAN,
            english_titles=numbered,
            english_in_site=set(in_site),
            config=config,
            korean_notebooks=korean_notebooks,
            notebooks=Path(notebooks),
            repository=repository,
        )
    footer = (
        f"Built by <code>make site</code> from a {run.mode}-mode <code>make run</code>: "
        f"{_html_text(run.provenance)}."
    )
    settings = {
        "title": "Keras Training Tips",
        "repository_url": repository,
        "banner": banner(run, len(in_site), max(len(titles), len(in_site))),
        "footer": footer,
        "mode": run.mode,
    }
    if korean.pages:  # conf.py puts these on the pages under ko/ instead of the English ones
        settings[KOREAN] = {"banner": korean_banner(korean), "footer": korean_footer(korean)}
    (source / "site.json").write_text(
        json.dumps(settings, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return run, in_site, korean


def _stage_korean(
    korean: KoreanEdition,
    folder: Path,
    *,
    english_titles: dict[str, str],
    english_in_site: set[str],
    config: Path,
    korean_notebooks: Path,
    notebooks: Path,
    repository: str,
) -> None:
    """The Korean section in ``folder`` (``ko/`` of the staged project): its landing page and a
    page per Korean notebook, executed or not."""
    import nbformat

    (folder / "notebooks").mkdir(parents=True)
    titles = {}
    for name, path in korean.pages.items():
        nb = nbformat.read(path, as_version=4)
        titles[name] = notebook_title(nb) or name
        staged = stage_notebook(
            nb,
            name,
            repository,
            set(korean.pages),
            language=KOREAN,
            english_in_site=english_in_site,
            executed=name in korean.executed,
        )
        nbformat.write(staged, folder / "notebooks" / f"{name}.ipynb")
    notes_map = ""
    if (config / SOURCE_NOTES_KO).is_file():
        notes_map = korean_notes_map(
            config / SOURCE_NOTES_KO,
            korean_notebooks,
            notebooks,
            korean_in_site=set(korean.pages),
            english_in_site=english_in_site,
            repository=repository,
        )
    page = korean_landing_page(
        korean,
        titles,
        english_titles,
        english_in_site,
        notes_map=notes_map,
        repository=repository,
    )
    (folder / "index.md").write_text(page, encoding="utf-8")


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build(
    build_dir: Path = BUILD_DIR,
    *,
    out: Path | None = None,
    config: Path = CONFIG_DIR,
    notebooks: Path = NOTEBOOKS_DIR,
    korean_notebooks: Path | None = None,
    readme: Path | None = None,
    quiet: bool = False,
) -> Path:
    """Stages and builds the site of the run in ``build_dir`` (and of the Korean run in
    ``build_dir/ko``, with ``notebooks/ko``) into ``out`` (``build/site``)."""
    build_dir = Path(build_dir).resolve()
    out = Path(out or build_dir / "site").resolve()
    source = build_dir / "site-src"
    _, in_site, korean = stage(
        build_dir,
        source,
        config=config,
        notebooks=notebooks,
        korean_notebooks=korean_notebooks,
        readme=readme,
    )
    # Sphinx writes into the staging folder (MyST-NB puts the outputs it extracts beside the
    # HTML folder, in jupyter_execute/), then the finished site moves to ``out``.
    html = source / "_build" / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-j", "auto"]
    command += ["-d", str(source / "_build" / "doctrees"), str(source), str(html)]
    if quiet:
        command.append("-q")
    subprocess.run(command, check=True)
    copy_mathjax(html / "_static")
    for name in in_site:  # the download is the executed notebook itself, not the staged copy
        shutil.copy2(build_dir / "executed" / f"{name}.ipynb", html / "_sources" / "notebooks")
    for name, path in korean.pages.items():  # the executed copy, or the notebook of notebooks/ko
        shutil.copy2(path, html / "_sources" / KOREAN / "notebooks" / f"{name}.ipynb")
    for source_map in html.glob("_static/**/*.map"):  # for a debugger only, and 3 MiB
        source_map.unlink()
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(html, out)
    remote = remote_references(out)
    if remote:
        listing = "\n".join(f"  {page}: {url}" for page, url in remote[:20])
        raise RuntimeError(f"pages of the site would load files from other hosts:\n{listing}")
    return out


def size_of(folder: Path) -> int:
    """Bytes in the files under ``folder``."""
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def has_run(build_dir: Path) -> bool:
    """Whether the build folder holds a run to show (results.md and executed notebooks)."""
    return (build_dir / "results.md").is_file() and any((build_dir / "executed").glob("*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=BUILD_DIR, help="the folder of `make run`")
    parser.add_argument("--out", type=Path, default=None, help="the site's folder (build/site)")
    parser.add_argument(
        "--quick", action="store_true", help="when `make run` must run first: in quick mode"
    )
    args = parser.parse_args(argv)
    if not has_run(args.build):
        from . import runner

        print(f"make site: no executed notebooks in {args.build}: running `make run` first")
        runner.main((["--quick"] if args.quick else []) + ["--build", str(args.build)])
        if not has_run(args.build):
            print("make site: `make run` left nothing to show", file=sys.stderr)
            return 1
    start = time.perf_counter()
    try:
        out = build(args.build, out=args.out, quiet=True)
    except (ValueError, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"make site: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    print(
        f"make site: {out} in {seconds:.0f} s, {size_of(out) / 2**20:.1f} MiB · open "
        f"{out / 'index.html'}, or serve it: python -m http.server -d {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
