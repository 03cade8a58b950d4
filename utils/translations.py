"""Translated editions of the notebooks: one source of code, translated prose.

A translated notebook (``notebooks/ko/NN_slug.ipynb``) is never edited by hand. It is generated
from the English notebook and a **translation catalogue** (``translations/ko/NN_slug.json``)::

    {
      "notebook": "01_feature_scaling.ipynb",
      "language": "ko",
      "cells": [
        {"id": "c000", "english_sha256": "<hash of the English cell's source>",
         "text": ["# 01 · 특성 스케일링", "", "..."]},
        {"id": "ko-glossary", "after": "c001", "type": "markdown", "text": ["..."]}
      ]
    }

* Every **markdown** cell of the English notebook has an entry; a **code** cell has one only where
  its comments, printed sentences, table headers or figure labels are translated, and then the
  translated cell may differ from the English one only in string literals and comments
  (:func:`code_difference` compares the two syntax trees with both blanked).
* ``english_sha256`` is the hash (:func:`cell_hash`) of the English source the entry translates.
  When the English cell changes, the entry is *stale*: :func:`problems` names the notebook and
  cell to re-translate, and generating refuses to run until it is fixed.
* An entry with ``after`` (and no hash) adds a cell of the edition's own after the English cell of
  that id, e.g. the glossary that opens the Korean edition of notebook 01.

``python -m utils.translations`` regenerates every translated notebook; ``--check`` only says
whether the committed ones equal what it would generate (a test runs it); ``--status`` prints each
notebook's entry counts and anything stale or missing; ``--skeleton NN`` writes a catalogue whose
entries hold the English text, to be translated.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ._checks import check_str
from .paths import NOTEBOOKS_DIR, REPO_ROOT

LANGUAGES = {"ko": "한국어"}
TRANSLATIONS_DIR = (REPO_ROOT or Path.cwd()) / "translations"
# Edition-wide changes to code cells, string literals only: the Korean edition's Colab line also
# installs the [ko] extra, a Hangul font for figure labels (utils/fonts.py).
EDITION_CODE = {"ko": (('"keras-training-tips @ git+', '"keras-training-tips[ko] @ git+'),)}
HASH_LENGTH = 16  # hex digits of SHA-256 kept: plenty to tell two versions of a cell apart


def cell_hash(source: str) -> str:
    """The hash an entry records of the English cell source it translates."""
    check_str("source", source, allow_empty=True)
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, got {language!r}")
    return language


def catalogue_path(notebook_name: str, language: str = "ko", root: Path | None = None) -> Path:
    """``translations/<language>/<notebook stem>.json``."""
    check_str("notebook_name", notebook_name)
    _check_language(language)
    folder = Path(root) if root is not None else TRANSLATIONS_DIR
    return folder / language / (Path(notebook_name).stem + ".json")


def edition_dir(language: str = "ko", notebooks: Path = NOTEBOOKS_DIR) -> Path:
    """Where the generated notebooks of an edition live: ``notebooks/<language>/``."""
    return Path(notebooks) / _check_language(language)


# ---------------------------------------------------------------------------------------------
# Code cells: only string literals and comments may differ


def _python(source: str) -> str:
    """A code cell as plain Python: IPython's ``%pip``/``!cmd`` lines become calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


class _BlankStrings(ast.NodeTransformer):
    """Strings become empty; an f-string becomes its placeholders, in a fixed order, so that a
    translation may move them (Korean puts the verb last) but not change what they compute."""

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            return ast.Constant(value="")
        return node

    def visit_JoinedStr(self, node):
        parts = sorted(
            ast.dump(value) for value in node.values if not isinstance(value, ast.Constant)
        )
        return ast.Constant(value="f-string:" + "|".join(parts))


def _skeleton_tree(source: str) -> str:
    tree = ast.parse(_python(source))
    return ast.dump(_BlankStrings().visit(tree), include_attributes=False)


def code_difference(english: str, translated: str) -> str | None:
    """None when the two code cells differ only in string literals and comments, else a reason.

    Placeholders of an f-string may be reordered, not changed; any other change (a name, a
    number, a call, a string turned into an f-string) is a difference.
    """
    check_str("english", english, allow_empty=True)
    check_str("translated", translated, allow_empty=True)
    try:
        english_tree = _skeleton_tree(english)
    except SyntaxError as error:
        return f"the English cell does not parse: {error}"
    try:
        translated_tree = _skeleton_tree(translated)
    except SyntaxError as error:
        return f"the translated cell does not parse: {error}"
    if english_tree != translated_tree:
        return "the code differs beyond string literals and comments"
    return None


# ---------------------------------------------------------------------------------------------
# Catalogues


@dataclass(frozen=True)
class Problem:
    notebook: str
    cell: str
    what: str

    def __str__(self) -> str:
        return f"{self.notebook}, cell {self.cell}: {self.what}"


def _text(entry: dict) -> str:
    text = entry.get("text")
    if not isinstance(text, list) or not all(isinstance(line, str) for line in text):
        raise TypeError(f"entry {entry.get('id')!r}: text must be a list of lines (strings)")
    return "\n".join(text)


def load_catalogue(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no translation catalogue {path}; start one with "
            f"`python -m utils.translations --skeleton {path.stem[:2]}`"
        )
    catalogue = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(catalogue, dict) or not isinstance(catalogue.get("cells"), list):
        raise ValueError(f"{path}: a catalogue is an object with a list 'cells'")
    return catalogue


def problems(english: nbformat.NotebookNode, catalogue: dict, name: str) -> list[Problem]:
    """Everything that stops a translated notebook from being generated, by cell."""
    cells = {cell.get("id"): cell for cell in english.cells}
    found, seen = [], set()
    for entry in catalogue["cells"]:
        cell_id = entry.get("id")
        if cell_id in seen:
            found.append(Problem(name, str(cell_id), "two entries have this id"))
        seen.add(cell_id)
        try:
            text = _text(entry)
        except TypeError as error:
            found.append(Problem(name, str(cell_id), str(error)))
            continue
        if "after" in entry:
            if entry["after"] not in cells:
                found.append(
                    Problem(name, str(cell_id), f"'after' names no cell {entry['after']!r}")
                )
            if entry.get("type") not in ("markdown", "code"):
                found.append(
                    Problem(name, str(cell_id), "an added cell needs type markdown or code")
                )
            continue
        if cell_id not in cells:
            found.append(Problem(name, str(cell_id), "the English notebook has no cell of this id"))
            continue
        cell = cells[cell_id]
        if entry.get("english_sha256") != cell_hash(cell.source):
            found.append(
                Problem(name, cell_id, "stale: the English cell changed since it was translated")
            )
        if cell.cell_type == "code":
            reason = code_difference(cell.source, text)
            if reason:
                found.append(Problem(name, cell_id, reason))
    for cell in english.cells:
        if cell.cell_type == "markdown" and cell.get("id") not in seen:
            found.append(Problem(name, cell.get("id"), "markdown cell not translated"))
    return found


def translate(english: nbformat.NotebookNode, catalogue: dict, name: str = "notebook"):
    """The translated notebook; ``ValueError`` listing every :class:`Problem` if there are any."""
    found = problems(english, catalogue, name)
    if found:
        raise ValueError("cannot translate:\n" + "\n".join(f"  {p}" for p in found))
    language = _check_language(catalogue.get("language", "ko"))
    entries = {e["id"]: e for e in catalogue["cells"] if "after" not in e}
    added: dict[str, list[dict]] = {}
    for entry in catalogue["cells"]:
        if "after" in entry:
            added.setdefault(entry["after"], []).append(entry)
    result = copy.deepcopy(english)
    cells = []
    for cell in result.cells:
        if cell.get("id") in entries:
            cell.source = _text(entries[cell.id])
        if cell.cell_type == "code":
            for old, new in EDITION_CODE.get(language, ()):
                cell.source = cell.source.replace(old, new)
        cells.append(cell)
        for entry in added.get(cell.get("id"), []):
            make = (
                nbformat.v4.new_markdown_cell
                if entry["type"] == "markdown"
                else nbformat.v4.new_code_cell
            )
            new = make(_text(entry))
            new.id = entry["id"]
            cells.append(new)
    result.cells = cells
    result.metadata["language"] = language
    return result


def _dump(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def english_notebooks(notebooks: Path = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb"))


def generate(
    language: str = "ko",
    notebooks: Path = NOTEBOOKS_DIR,
    translations: Path | None = None,
    check: bool = False,
    only: list[str] | None = None,
) -> list[str]:
    """Write (or with ``check``, compare) every translated notebook that has a catalogue.

    Returns the messages to print; with ``check`` they name each notebook whose committed copy
    differs from what would be generated. Raises ``ValueError`` on any :class:`Problem`.
    """
    _check_language(language)
    out_dir = edition_dir(language, notebooks)
    messages, all_problems = [], []
    for path in english_notebooks(notebooks):
        if only and not any(path.name.startswith(prefix) for prefix in only):
            continue
        catalogue_file = catalogue_path(path.name, language, translations)
        target = out_dir / path.name
        if not catalogue_file.is_file():
            if target.exists():
                messages.append(f"{target.name}: committed, but has no catalogue")
            continue
        english = nbformat.read(path, as_version=4)
        catalogue = load_catalogue(catalogue_file)
        found = problems(english, catalogue, path.name)
        if found:
            all_problems += found
            continue
        text = _dump(translate(english, catalogue, path.name))
        if check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                messages.append(f"{target.name}: differs from what `make translations` generates")
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
                messages.append(f"wrote {target.relative_to(Path(notebooks).parent)}")
    if all_problems:
        raise ValueError("\n".join(str(p) for p in all_problems))
    return messages


def skeleton(notebook: Path, language: str = "ko") -> dict:
    """A catalogue for ``notebook`` whose entries hold the English text, to be translated:
    every markdown cell, and every code cell that has a comment or a string literal."""
    english = nbformat.read(Path(notebook), as_version=4)
    cells = []
    for cell in english.cells:
        if cell.cell_type == "markdown" or "#" in cell.source or '"' in cell.source:
            cells.append(
                {
                    "id": cell.id,
                    "english_sha256": cell_hash(cell.source),
                    "text": cell.source.split("\n"),
                }
            )
    return {"notebook": Path(notebook).name, "language": language, "cells": cells}


def status(
    language: str = "ko", notebooks: Path = NOTEBOOKS_DIR, translations=None, only=None
) -> list[dict]:
    """One row per English notebook: entries (markdown, code, added) and problems."""
    rows = []
    for path in english_notebooks(notebooks):
        if only and not any(path.name.startswith(prefix) for prefix in only):
            continue
        catalogue_file = catalogue_path(path.name, language, translations)
        if not catalogue_file.is_file():
            rows.append({"notebook": path.name, "entries": 0, "problems": ["no catalogue"]})
            continue
        english = nbformat.read(path, as_version=4)
        catalogue = load_catalogue(catalogue_file)
        kinds = {cell.id: cell.cell_type for cell in english.cells}
        entries = catalogue["cells"]
        rows.append(
            {
                "notebook": path.name,
                "entries": len(entries),
                "markdown": sum(kinds.get(e.get("id")) == "markdown" for e in entries),
                "code": sum(kinds.get(e.get("id")) == "code" for e in entries),
                "added": sum("after" in e for e in entries),
                "problems": [str(p) for p in problems(english, catalogue, path.name)],
            }
        )
    return rows


def write_catalogue(catalogue: dict, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(catalogue, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate the translated notebooks.")
    parser.add_argument("--language", default="ko", choices=sorted(LANGUAGES))
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--status", action="store_true", help="entry counts and problems")
    parser.add_argument("--skeleton", metavar="NN", help="start the catalogue of notebook NN")
    parser.add_argument("--only", metavar="NN,NN", help="these notebooks only (e.g. 01,07)")
    args = parser.parse_args(argv)
    only = [part.strip() for part in args.only.split(",") if part.strip()] if args.only else None
    if args.skeleton:
        matches = [p for p in english_notebooks() if p.name.startswith(args.skeleton)]
        if len(matches) != 1:
            print(f"--skeleton {args.skeleton}: matches {len(matches)} notebooks", file=sys.stderr)
            return 2
        target = catalogue_path(matches[0].name, args.language)
        if target.exists():
            print(f"{target} exists; not overwritten", file=sys.stderr)
            return 2
        write_catalogue(skeleton(matches[0], args.language), target)
        print(f"wrote {target}")
        return 0
    if args.status:
        code = 0
        for row in status(args.language, only=only):
            counts = (
                f"{row['entries']} entries ({row.get('markdown', 0)} markdown, "
                f"{row.get('code', 0)} code, {row.get('added', 0)} added)"
            )
            print(f"{row['notebook']}: {counts}")
            for problem in row["problems"]:
                print(f"    {problem}")
                code = 1
        return code
    try:
        messages = generate(args.language, check=args.check, only=only)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    for message in messages:
        print(message)
    return 1 if args.check and messages else 0


if __name__ == "__main__":
    sys.exit(main())
