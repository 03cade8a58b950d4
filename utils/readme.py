"""``make readme``: writes the last full ``make run`` into the README's results block.

It also renders the source-note map (``site/source_notes.toml``: which notebook teaches each
topic of the five study notes) between ``<!-- notes:start -->`` and ``<!-- notes:end -->``.

The block lies between ``<!-- results:start -->`` and ``<!-- results:end -->`` in README.md,
right after the notebook table. It is made from ``build/run.json`` (written by ``make run``: mode,
date, device, versions, seconds and status per notebook, total) and the notebooks' records in
``build/results/*.json`` (their headline results): one row per notebook with its full-mode result
and minutes, the date, device, Python/TensorFlow/Keras versions, the total time and the slowest
notebooks. Nothing in it is copied by hand.

It refuses, with a message saying why and what to run, a run that is not one complete full-mode
run of every notebook: quick mode, ``ONLY=...``, a notebook of ``notebooks/`` missing from the
run, a failed notebook, or a record that does not belong to the run. The run's commit (recorded
by ``make run``) is named in the block. ``--force`` (``make readme FORCE=1``) writes it anyway,
marked as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .paths import BUILD_DIR, NOTEBOOKS_DIR, REPO_ROOT
from .results import load_results
from .runner import RUN_JSON, merge_commits

START = "<!-- results:start -->"
END = "<!-- results:end -->"
NOTES_START = "<!-- notes:start -->"
NOTES_END = "<!-- notes:end -->"
NOTEBOOKS_START = "<!-- notebooks:start -->"  # README.ko.md's notebook table
NOTEBOOKS_END = "<!-- notebooks:end -->"
GLOSSARY_START = (
    "<!-- glossary:start -->"  # README.ko.md's terms, from translations/ko/glossary.json
)
GLOSSARY_END = "<!-- glossary:end -->"
SLOWEST = 3


def _problems(run: dict, records: dict[str, dict], notebooks: list[str] | None = None) -> list[str]:
    """Why a run cannot stand for the README's full-mode numbers (empty when it can)."""
    problems = []
    ran = {row["notebook"] for row in run["notebooks"]}
    absent = sorted(set(notebooks or ()) - ran)
    if absent:
        problems.append(f"these notebooks were not in the run: {', '.join(absent)}")
    if run["mode"] != "full":
        problems.append(
            f"it is a {run['mode']}-mode run (make run QUICK=1): its numbers show directions, not "
            "the full-mode results the README reports"
        )
    if run.get("only"):
        problems.append(f"it ran only the notebooks matching {run['only']!r} (make run ONLY=...)")
    failed = [row["notebook"] for row in run["notebooks"] if row["status"] != "ok"]
    if failed:
        problems.append(f"these notebooks failed: {', '.join(failed)}")
    quick = [name for name, rec in records.items() if rec.get("quick") and run["mode"] == "full"]
    if quick:
        problems.append(f"these records were made in quick mode: {', '.join(sorted(quick))}")
    return problems


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def results_block(
    run: dict,
    records: dict[str, dict],
    *,
    force: bool = False,
    notebooks: list[str] | None = None,
) -> str:
    """The Markdown between the markers, from a run.json and the run's records.

    Raises ValueError naming the problem when the run is not one complete full-mode run, unless
    ``force``; the block then says what it is.
    """
    if not isinstance(run, dict):
        raise TypeError(f"run must be the dict of run.json, got {type(run).__name__}")
    if not isinstance(records, dict):
        raise TypeError(
            f"records must be a dict {{notebook: record}}, got {type(records).__name__}"
        )
    needed = ("mode", "date", "device", "python", "tensorflow", "keras", "notebooks")
    missing = [key for key in needed if key not in run]
    if missing or not run.get("notebooks"):
        raise ValueError(f"run is not a run.json of `make run`: it lacks {missing or 'notebooks'}")
    if notebooks is not None and (
        isinstance(notebooks, str) or not all(isinstance(name, str) for name in notebooks)
    ):
        raise TypeError("notebooks must be a list of notebook names such as '01_feature_scaling'")
    problems = _problems(run, records, notebooks)
    if problems and not force:
        raise ValueError(
            "build/run.json cannot give the README's numbers: "
            + "; ".join(problems)
            + ". Run `make run` (all notebooks, full mode), then `make readme`; or "
            "`make readme FORCE=1` to write it anyway, marked as such."
        )
    rows = []
    for row in run["notebooks"]:
        name = row["notebook"]
        headline = records.get(name, {}).get("headline") or row["headline"]
        number, slug = name.split("_", 1) if "_" in name else ("", name)
        link = f"[{slug.replace('_', ' ')}](notebooks/{name}.ipynb)"
        status = "" if row["status"] == "ok" else f"**{row['status']}**: "
        rows.append(
            f"| {number} | {link} | {status}{_cell(headline)} | {_minutes(row['seconds'])} |"
        )
    total = run.get("total_seconds", sum(row["seconds"] for row in run["notebooks"]))
    slowest = sorted(run["notebooks"], key=lambda row: -row["seconds"])[:SLOWEST]
    slow_text = ", ".join(f"{row['notebook'][:2]} ({_minutes(row['seconds'])})" for row in slowest)
    cpu = f" · {run['cpu']} with {run['cpu_cores']} cores" if run.get("cpu") else ""
    date = str(run["date"]).replace("T", " ")[:16]
    if run.get("resumed"):
        last = max(str(row.get("date", run["date"])) for row in run["notebooks"])
        date += f" to {last.replace('T', ' ')[:16]} (resumed with `make run RESUME=1`)"
    commits = (merge_commits(run.get("commit"), None) or "").split(", ")  # each once, in order
    plural = "s" if len(commits) > 1 else ""
    commit = f" · code at commit{plural} {', '.join(commits)}" if run.get("commit") else ""
    lines = [
        f"Results of one `make run` in {run['mode']} mode: {date}{commit} · {run['device']}{cpu} · "
        f"Python {run['python']} · TensorFlow {run['tensorflow']} · Keras {run['keras']}. "
        f"Total {_minutes(total)} min; slowest: {slow_text} min. Written by `make readme` from "
        "`build/run.json`; do not edit by hand.",
    ]
    if problems:
        lines.append("")
        lines.append(
            f"**Not a complete full-mode run** (written with FORCE=1): {'; '.join(problems)}."
        )
    lines += [
        "",
        f"| # | notebook | {run['mode']}-mode result | minutes |",
        "|---|---|---|---|",
        *rows,
    ]
    return "\n".join(lines)


def replace_block(readme: str, block: str, start: str = START, end: str = END) -> str:
    """``readme`` with the text between the markers ``start`` and ``end`` replaced by ``block``."""
    if (
        readme.count(start) != 1
        or readme.count(end) != 1
        or readme.index(start) > readme.index(end)
    ):
        raise ValueError(f"the README must hold one {start} … {end} block, in that order")
    head, rest = readme.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{block}\n{end}{tail}"


def notes_block(notes_file: Path, notebooks: Path) -> str:
    """The map from the source notes' topics to the notebooks that teach them, rendered from
    ``site/source_notes.toml`` (the one place it is written) with links into ``notebooks/``."""
    import nbformat

    from . import site

    titles = {
        path.stem: site.notebook_title(nbformat.read(path, as_version=4))
        for path in sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb"))
    }
    notes = site.load_source_notes(Path(notes_file))
    return site.source_note_map(notes, titles, set(titles), repository="")


def korean_notebook_table(notebooks: Path) -> str:
    """README.ko.md's table of the Korean notebooks, their titles read from the notebooks."""
    import nbformat

    from . import site

    rows = ["| # | 노트북 |", "|---|---|"]
    for path in sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb")):
        title = site.notebook_title(nbformat.read(path, as_version=4))
        name = title.split("·", 1)[-1].strip()
        rows.append(f"| {path.name[:2]} | [{_cell(name)}](notebooks/ko/{path.name}) |")
    return "\n".join(rows)


def _heading(nb, cell_id: str) -> str:
    for cell in nb.cells:
        if cell.get("id") == cell_id:
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            if not first.startswith("#"):
                raise ValueError(f"cell {cell_id} is not a heading cell")
            return first.lstrip("#").strip()
    raise ValueError(f"no cell {cell_id}")


def korean_notes_block(notes_file: Path, notebooks: Path, fallback: Path | None = None) -> str:
    """README.ko.md's map, one table per source note: each of the note's sections, the Korean
    notebook section that treats it (its heading, read from the notebook) and what that
    notebook corrects in the note. Written once, in ``site/source_notes.ko.toml``. A notebook
    missing from ``notebooks`` is read from ``fallback`` (the English ones: same cell ids)."""
    import tomllib

    import nbformat

    with open(notes_file, "rb") as file:
        notes = tomllib.load(file)["note"]
    folders = [Path(fallback)] if fallback is not None else []
    paths = {
        path.name[:2]: path
        for folder in [*folders, Path(notebooks)]  # the Korean copy wins
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    }
    loaded = {}
    parts = []
    for note in notes:
        rows = [
            f"### {note['title']}",
            "",
            "| 노트의 내용 | 다루는 노트북과 절 | 바로잡거나 덧붙이는 점 |",
            "|---|---|---|",
        ]
        for section in note["sections"]:
            places = []
            for place in section.get("notebooks", []):
                number = f"{int(place['notebook']):02d}"
                if number not in paths:
                    raise ValueError(f"{notes_file}: no Korean notebook {number}")
                path = paths[number]
                nb = loaded.setdefault(number, nbformat.read(path, as_version=4))
                heading = _heading(nb, place["cell"])
                places.append(f"[{number}](notebooks/ko/{path.name}) {_cell(heading)}")
            where = "; ".join(places) if places else "—"
            correction = section.get("correction", "").strip() or "—"
            rows.append(f"| {_cell(section['section'])} | {where} | {_cell(correction)} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def korean_glossary_table(glossary_file: Path) -> str:
    """README.ko.md's glossary: one row per term of ``translations/ko/glossary.json``."""
    terms = json.loads(Path(glossary_file).read_text(encoding="utf-8"))["terms"]
    rows = ["| 한국어 | English | Keras | 설명 |", "|---|---|---|---|"]
    for term in terms:
        keras_name = ", ".join(f"`{name}`" for name in term["keras"].split(", ") if name)
        cells = (term["korean"], term["english"], keras_name, term["note"])
        rows.append("| " + " | ".join(_cell(value) for value in cells) + " |")
    return "\n".join(rows)


def write_korean_readme(readme: Path, notes_file: Path, notebooks: Path) -> None:
    """Rewrites README.ko.md's notebook table, glossary and source-note map (none depends on a
    run); the glossary comes from ``translations/ko/glossary.json``."""
    text = Path(readme).read_text(encoding="utf-8")
    glossary = Path(notebooks).parent.parent / "translations" / "ko" / "glossary.json"
    text = replace_block(text, korean_glossary_table(glossary), GLOSSARY_START, GLOSSARY_END)
    text = replace_block(text, korean_notebook_table(notebooks), NOTEBOOKS_START, NOTEBOOKS_END)
    text = replace_block(text, korean_notes_block(notes_file, notebooks), NOTES_START, NOTES_END)
    Path(readme).write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=BUILD_DIR, help="the folder of run.json")
    root = REPO_ROOT or Path.cwd()
    parser.add_argument(
        "--readme", type=Path, default=root / "README.md", help="the README to write"
    )
    parser.add_argument("--force", action="store_true", help="write a partial or quick run too")
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS_DIR, help="the notebooks a run must cover"
    )
    parser.add_argument(
        "--notes",
        type=Path,
        default=root / "site" / "source_notes.toml",
        help="the source-note map to render between the notes markers",
    )
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    # the source-note map does not depend on a run: it is rewritten every time
    try:
        text = replace_block(text, notes_block(args.notes, args.notebooks), NOTES_START, NOTES_END)
    except (OSError, ValueError) as exc:
        print(f"make readme: the source-note map: {exc}", file=sys.stderr)
        return 1
    args.readme.write_text(text, encoding="utf-8")
    print(f"{args.readme}: source-note map written from {args.notes}")
    korean = args.readme.with_name("README.ko.md")
    korean_notes = args.notes.with_name("source_notes.ko.toml")
    if korean.is_file() and korean_notes.is_file():
        try:
            write_korean_readme(korean, korean_notes, args.notebooks / "ko")
        except (OSError, ValueError, KeyError) as exc:
            print(f"make readme: README.ko.md: {exc}", file=sys.stderr)
            return 1
        print(f"{korean}: notebook table and source-note map written")
    run_path = args.build / RUN_JSON
    if not run_path.is_file():
        print(f"make readme: no {run_path}; run `make run` first.", file=sys.stderr)
        return 1
    run = json.loads(run_path.read_text())
    results = args.build / "results"
    records = load_results(results) if results.is_dir() else {}
    records = {
        name: rec
        for name, rec in records.items()
        if name in {row["notebook"] for row in run.get("notebooks", [])}
    }
    try:
        notebooks = sorted(path.stem for path in args.notebooks.glob("[0-9][0-9]_*.ipynb"))
        block = results_block(run, records, force=args.force, notebooks=notebooks)
        text = replace_block(text, block)
    except ValueError as exc:
        print(f"make readme: {exc}", file=sys.stderr)
        return 1
    args.readme.write_text(text, encoding="utf-8")
    print(
        f"{args.readme}: results block written from {run_path} ({run['date']}, {run['mode']} mode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
