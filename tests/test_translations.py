"""The Korean edition: generated from the English notebooks, its code theirs, nothing stale."""

import json
import warnings
from pathlib import Path

import nbformat
import pytest

from utils import fonts, readme, translations

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = json.loads((ROOT / "translations" / "ko" / "glossary.json").read_text("utf-8"))
ENGLISH = translations.english_notebooks(ROOT / "notebooks")
CATALOGUES = sorted((ROOT / "translations" / "ko").glob("[0-9][0-9]_*.json"))


# --- the syntax-tree check -------------------------------------------------------------------


@pytest.mark.parametrize(
    "english, korean",
    [
        ('print("accuracy")  # the test split', 'print("정확도")  # 테스트 세트'),
        ('print(f"{a} beats {b}")', 'print(f"{b}보다 {a}가 낫다")'),  # placeholders may move
        ('"""Docstring."""\nx = 1', '"""독스트링."""\nx = 1'),
        (
            '%pip install --quiet "pkg @ git+https://x"',
            '%pip install --quiet "pkg[ko] @ git+https://x"',
        ),
        ("ax.set_title('Loss')", "ax.set_title('손실')"),
    ],
)
def test_strings_and_comments_may_differ(english, korean):
    assert translations.code_difference(english, korean) is None


@pytest.mark.parametrize(
    "english, korean",
    [
        ("x = 1", "x = 2"),  # a number
        ("print(a)", "print(b)"),  # a name
        ('print(f"{a}")', 'print(f"{a + 1}")'),  # a placeholder's expression
        ('print("a")', 'print(f"a")'),  # a string turned into an f-string
        ("f(x)", "f(x)\ng(x)"),  # a statement added
        ("f(x)", "f(x"),  # does not parse
    ],
)
def test_code_may_not_differ(english, korean):
    assert translations.code_difference(english, korean)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="english"):
        translations.code_difference(None, "x")
    with pytest.raises(ValueError, match="language"):
        translations.catalogue_path("01_x.ipynb", "fr")
    with pytest.raises(TypeError, match="source"):
        translations.cell_hash(3)


# --- catalogues -------------------------------------------------------------------------------


def small_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · Title"),
        nbformat.v4.new_code_cell('print("hello")  # greet'),
        nbformat.v4.new_markdown_cell("Text."),
    ]
    for number, cell in enumerate(nb.cells):
        cell.id = f"c{number:03d}"
    return nb


def entry(nb, index, text):
    cell = nb.cells[index]
    return {"id": cell.id, "english_sha256": translations.cell_hash(cell.source), "text": text}


def test_translate_replaces_cells_and_adds_the_edition_cells():
    nb = small_notebook()
    catalogue = {
        "language": "ko",
        "cells": [
            entry(nb, 0, ["# 99 · 제목"]),
            entry(nb, 1, ['print("안녕")  # 인사']),
            entry(nb, 2, ["본문."]),
            {"id": "ko-extra", "after": "c000", "type": "markdown", "text": ["추가"]},
        ],
    }
    korean = translations.translate(nb, catalogue, "99_x.ipynb")
    assert [cell.source for cell in korean.cells] == [
        "# 99 · 제목",
        "추가",
        'print("안녕")  # 인사',
        "본문.",
    ]
    assert korean.metadata["language"] == "ko" and nb.cells[0].source == "# 99 · Title"


def test_a_changed_english_cell_is_named_as_stale():
    nb = small_notebook()
    catalogue = {"cells": [entry(nb, 0, ["# 제목"]), entry(nb, 2, ["본문."])]}
    nb.cells[2].source = "Text, changed."
    found = [str(p) for p in translations.problems(nb, catalogue, "99_x.ipynb")]
    assert found == [
        "99_x.ipynb, cell c002: stale: the English cell changed since it was translated"
    ]
    with pytest.raises(ValueError, match="c002: stale"):
        translations.translate(nb, catalogue, "99_x.ipynb")


def test_untranslated_markdown_unknown_ids_and_changed_code_are_problems():
    nb = small_notebook()
    catalogue = {
        "cells": [
            entry(nb, 0, ["# 제목"]),
            entry(nb, 1, ['print("안녕", 2)']),
            {"id": "c404", "english_sha256": "0", "text": ["?"]},
        ]
    }
    found = "\n".join(str(p) for p in translations.problems(nb, catalogue, "n"))
    assert "cell c002: markdown cell not translated" in found
    assert "cell c404: the English notebook has no cell" in found
    assert "cell c001: the code differs beyond string literals and comments" in found


def test_the_korean_colab_line_installs_the_font_extra():
    nb = small_notebook()
    nb.cells[1].source = '%pip install --quiet "keras-training-tips @ git+https://example"'
    catalogue = {"language": "ko", "cells": [entry(nb, 0, ["# 제목"]), entry(nb, 2, ["본문."])]}
    korean = translations.translate(nb, catalogue)
    assert '"keras-training-tips[ko] @ git+' in korean.cells[1].source


# --- the committed edition --------------------------------------------------------------------


def test_every_english_notebook_has_a_catalogue():
    missing = [p.name for p in ENGLISH if not translations.catalogue_path(p.name).is_file()]
    assert not missing, f"no Korean translation yet: {missing}"


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=[p.stem for p in CATALOGUES])
def test_the_catalogue_is_current(catalogue):
    english = nbformat.read(ROOT / "notebooks" / f"{catalogue.stem}.ipynb", as_version=4)
    found = translations.problems(
        english, translations.load_catalogue(catalogue), english_name := catalogue.stem
    )
    assert not found, f"re-translate in translations/ko/{english_name}.json:\n" + "\n".join(
        str(p) for p in found
    )


def test_the_committed_korean_notebooks_are_what_the_catalogues_generate():
    assert translations.generate("ko", ROOT / "notebooks", ROOT / "translations", check=True) == []
    generated = sorted(p.name for p in (ROOT / "notebooks" / "ko").glob("*.ipynb"))
    assert generated == sorted(p.stem + ".ipynb" for p in CATALOGUES)


def test_the_korean_notebooks_carry_no_outputs():
    for path in sorted((ROOT / "notebooks" / "ko").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


def catalogue_texts():
    for path in CATALOGUES:
        for item in json.loads(path.read_text("utf-8"))["cells"]:
            yield path.stem, item["id"], "\n".join(item["text"])


def test_no_catalogue_uses_a_word_the_glossary_avoids():
    bad = [
        f"{name} {cell}: {word!r} (use {term['korean']!r})"
        for name, cell, text in catalogue_texts()
        if cell != "ko-glossary"  # the glossary itself names the variants it replaces
        for term in GLOSSARY["terms"]
        for word in term["avoid"]
        if word in text
    ]
    assert not bad, "\n".join(bad)


def test_the_glossary_cell_of_01_and_the_korean_readme_list_every_term():
    nb = nbformat.read(ROOT / "notebooks" / "ko" / "01_feature_scaling.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.get("id") == "ko-glossary"]
    assert nb.cells.index(cell) <= 3, "the glossary comes early in 01"
    glossary_file = ROOT / "translations" / "ko" / "glossary.json"
    assert readme.korean_glossary_table(glossary_file) in cell.source, "update 01's glossary cell"
    korean_readme = (ROOT / "README.ko.md").read_text("utf-8")
    for term in GLOSSARY["terms"]:
        assert term["korean"] in cell.source, term["korean"]
        assert term["korean"] in korean_readme and term["english"] in korean_readme, term


def test_the_korean_readme_blocks_are_the_ones_make_readme_renders():
    text = (ROOT / "README.ko.md").read_text("utf-8")
    table = text.split(readme.NOTEBOOKS_START)[1].split(readme.NOTEBOOKS_END)[0].strip()
    notes = text.split(readme.NOTES_START)[1].split(readme.NOTES_END)[0].strip()
    assert table == readme.korean_notebook_table(ROOT / "notebooks" / "ko"), "run `make readme`"
    rendered = readme.korean_notes_block(
        ROOT / "site" / "source_notes.ko.toml", ROOT / "notebooks" / "ko"
    )
    assert notes == rendered, "README.ko.md's map is stale: run `make readme`"
    assert "README.ko.md" in (ROOT / "README.md").read_text("utf-8")


def test_the_korean_map_covers_every_note():
    import tomllib

    korean = tomllib.loads((ROOT / "site" / "source_notes.ko.toml").read_text("utf-8"))["note"]
    english = tomllib.loads((ROOT / "site" / "source_notes.toml").read_text("utf-8"))["note"]
    assert [note["file"] for note in korean] == [note["file"] for note in english]
    assert all(note["sections"] for note in korean)


# --- figures ----------------------------------------------------------------------------------


def test_a_korean_label_renders_without_missing_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = fonts.use_hangul_font()
    assert family, fonts.INSTALL_HINT
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure, axes = plt.subplots()
        axes.set_title("검증 정확도 (validation accuracy)")
        axes.set_xlabel("에포크")
        figure.savefig(tmp_path / "korean.png")
        plt.close(figure)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing


def test_make_test_executes_only_the_documented_korean_notebooks():
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax", "notebooks"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300).stdout
    collected = sorted(
        {line.split("::")[0] for line in out.splitlines() if "notebooks/ko/" in line}
    )
    assert [Path(p).name[:3] for p in collected] == ["01_", "04_", "07_", "25_"]
    assert "01, 04, 07, 25" in (ROOT / "README.ko.md").read_text("utf-8")
