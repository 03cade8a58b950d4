"""`make readme`: the README's results block from a fabricated run.json and records (no notebook
is run): full-mode results and minutes per notebook, date, device, versions, total and slowest;
a quick, partial or failed run is refused unless forced; only the marked block changes."""

import json
from pathlib import Path

import pytest

from utils import readme

ROOT = Path(__file__).resolve().parent.parent


def fake_run(mode="full", only="", statuses=("ok", "ok", "ok")):
    names = ("01_feature_scaling", "06_fashion_mnist", "07_imdb")
    seconds = (95.0, 790.2, 301.5)
    return {
        "mode": mode,
        "date": "2026-12-07T01:02:03",
        "only": only,
        "python": "3.11.7",
        "machine": "x86_64",
        "cpu": "AMD EPYC",
        "cpu_cores": 2,
        "tensorflow": "2.21.0",
        "keras": "3.15.1",
        "device": "CPU (2 cores)",
        "notebooks": [
            {"notebook": n, "seconds": s, "status": st, "headline": f"{n} line"}
            for n, s, st in zip(names, seconds, statuses, strict=True)
        ],
        "total_seconds": sum(seconds),
        "commit": "41f4f25",
    }


def fake_records(quick=False):
    return {
        "06_fashion_mnist": {"headline": "test acc cnn 0.937 | mlp 0.893", "quick": quick},
        "07_imdb": {"headline": "test acc nb 0.917", "quick": quick},
    }


def test_the_block_holds_results_minutes_and_the_run():
    block = readme.results_block(fake_run(), fake_records())
    first, _, header, separator, *rows = block.splitlines()
    facts = (
        "2026-12-07 01:02 · code at commit 41f4f25",
        "CPU (2 cores) · AMD EPYC with 2 cores",
        "Python 3.11.7",
    )
    for fact in facts:
        assert fact in first
    assert "TensorFlow 2.21.0 · Keras 3.15.1" in first and "full mode" in first
    assert "Total 19.8 min; slowest: 06 (13.2), 07 (5.0), 01 (1.6) min" in first
    assert header == "| # | notebook | full-mode result | minutes |" and separator.startswith(
        "|---"
    )
    assert rows == [
        "| 01 | [feature scaling](notebooks/01_feature_scaling.ipynb) | 01_feature_scaling line "
        "| 1.6 |",  # no record: the runner's headline
        "| 06 | [fashion mnist](notebooks/06_fashion_mnist.ipynb) | test acc cnn 0.937 "
        "\\| mlp 0.893 | 13.2 |",  # the record's headline, its | escaped
        "| 07 | [imdb](notebooks/07_imdb.ipynb) | test acc nb 0.917 | 5.0 |",
    ]


@pytest.mark.parametrize(
    "run,records,reason",
    [
        (fake_run(mode="quick"), fake_records(quick=True), "quick-mode run"),
        (fake_run(only="06,07"), fake_records(), "only the notebooks matching '06,07'"),
        (fake_run(statuses=("ok", "FAILED", "ok")), fake_records(), "failed: 06_fashion_mnist"),
        (fake_run(), fake_records(quick=True), "made in quick mode: 06_fashion_mnist, 07_imdb"),
    ],
)
def test_a_run_that_is_not_one_full_run_is_refused_unless_forced(run, records, reason):
    with pytest.raises(ValueError, match="cannot give the README's numbers") as err:
        readme.results_block(run, records)
    assert reason in str(err.value) and "make readme FORCE=1" in str(err.value)
    forced = readme.results_block(run, records, force=True)
    assert "**Not a complete full-mode run** (written with FORCE=1)" in forced and reason in forced


def test_a_run_missing_a_notebook_of_the_folder_is_refused():
    names = ["01_feature_scaling", "06_fashion_mnist", "07_imdb"]
    readme.results_block(fake_run(), fake_records(), notebooks=names)  # all there: accepted
    with pytest.raises(ValueError, match="not in the run: 25_input_pipelines"):
        readme.results_block(fake_run(), fake_records(), notebooks=[*names, "25_input_pipelines"])
    with pytest.raises(TypeError, match="notebooks"):
        readme.results_block(fake_run(), fake_records(), notebooks="01_feature_scaling")


def test_a_run_without_a_commit_says_nothing_of_one():
    run = fake_run()
    del run["commit"]
    assert "commit" not in readme.results_block(run, fake_records()).splitlines()[0]


@pytest.mark.parametrize("bad,exc", [([], TypeError), ({"mode": "full"}, ValueError)])
def test_results_block_rejects_what_is_not_a_run(bad, exc):
    with pytest.raises(exc, match="run"):
        readme.results_block(bad, {})


def test_only_the_marked_block_changes():
    text = f"# Title\n\n| a |\n|---|\n\n{readme.START}\nold\n{readme.END}\n\nAfter.\n"
    new = readme.replace_block(text, "NEW")
    assert new == f"# Title\n\n| a |\n|---|\n\n{readme.START}\nNEW\n{readme.END}\n\nAfter.\n"
    assert readme.replace_block(new, "old") == text
    for broken in ("no markers", f"{readme.END} {readme.START}", f"{readme.START}{readme.START}"):
        with pytest.raises(ValueError, match="results:start"):
            readme.replace_block(broken, "x")


def write_build(build: Path, run: dict, records: dict) -> None:
    (build / "results").mkdir(parents=True)
    (build / "run.json").write_text(json.dumps(run))
    for name, rec in records.items():
        (build / "results" / f"{name}.json").write_text(json.dumps(rec))


NOTES_TOML = """
[[note]]
file = "000_note.txt"
original = "“원제”, 2023"
title = "a note on scaling"
topics = [
    { topic = "feature scaling", notebooks = [1] },
    { topic = "the datasets", notebooks = [6, 7] },
]
"""


def write_notebooks(folder: Path, names) -> None:
    import nbformat

    folder.mkdir(exist_ok=True)
    for name in names:
        title = name.split("_", 1)[1].replace("_", " ").capitalize()
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell(f"# {name[:2]} · {title}")]
        )
        nbformat.write(nb, folder / f"{name}.ipynb")


def test_main_writes_the_readme_and_refuses_quick_mode(tmp_path, capsys):
    readme_path = tmp_path / "README.md"
    original = (
        f"intro\n{readme.START}\nplaceholder\n{readme.END}\nmiddle\n"
        f"{readme.NOTES_START}\nold map\n{readme.NOTES_END}\nrest\n"
    )
    readme_path.write_text(original)
    notebooks = tmp_path / "notebooks"
    write_notebooks(notebooks, [row["notebook"] for row in fake_run()["notebooks"]])
    notes = tmp_path / "source_notes.toml"
    notes.write_text(NOTES_TOML, encoding="utf-8")
    write_build(tmp_path / "quick", fake_run(mode="quick"), fake_records(quick=True))
    args = ["--readme", str(readme_path), "--notebooks", str(notebooks), "--notes", str(notes)]
    assert readme.main([*args, "--build", str(tmp_path / "quick")]) == 1
    assert "quick-mode run" in capsys.readouterr().err
    text = readme_path.read_text()
    assert "placeholder" in text  # the results block is kept, the map rewritten
    assert "old map" not in text and "a note on scaling — original: “원제”, 2023" in text
    assert (
        "feature scaling → [01](notebooks/01_feature_scaling.ipynb '01 · Feature scaling')" in text
    )
    assert "Beyond the notes" not in text  # every notebook is in the map
    write_build(tmp_path / "full", fake_run(), fake_records())
    assert readme.main([*args, "--build", str(tmp_path / "full")]) == 0
    text = readme_path.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{readme.NOTES_END}\nrest\n")
    assert "| 06 | [fashion mnist]" in text and "placeholder" not in text
    assert readme.main([*args, "--build", str(tmp_path / "missing")]) == 1
    assert "run `make run` first" in capsys.readouterr().err
    write_notebooks(notebooks, ["26_word_order"])  # a notebook the run did not cover
    assert readme.main([*args, "--build", str(tmp_path / "full")]) == 1
    err = capsys.readouterr().err
    assert "not in the run: 26_word_order" in err
    assert "Beyond the notes: [26]" in readme_path.read_text()


def test_the_readme_map_is_the_one_make_readme_renders():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(readme.NOTES_START)[1].split(readme.NOTES_END)[0].strip()
    rendered = readme.notes_block(ROOT / "site" / "source_notes.toml", ROOT / "notebooks")
    assert block == rendered, "the README's source-note map is stale: run `make readme`"


def test_the_readme_has_the_block_after_the_notebook_table():
    text = (ROOT / "README.md").read_text()
    section = text.split("## The notebooks")[1].split("\n## ")[0]
    assert section.count(readme.START) == 1 and section.count(readme.END) == 1
    before = section.split(readme.START)[0].rstrip().splitlines()
    assert before[-1].startswith("| 2"), "the block comes right after the table's last row"


def test_a_resumed_run_says_so_and_when_it_ended():
    run = fake_run()
    run["resumed"] = True
    for row, date in zip(run["notebooks"], ("01:02:03", "09:30:00", "16:45:10"), strict=True):
        row["date"] = f"2026-12-08T{date}"
    run["date"] = "2026-12-07T23:59:00"
    first = readme.results_block(run, fake_records()).splitlines()[0]
    assert "2026-12-07 23:59 to 2026-12-08 16:45 (resumed with `make run RESUME=1`)" in first


def test_a_resumed_run_names_each_of_its_commits_once_in_order():
    run = fake_run()
    run["commit"] = "452cf73, 452cf73, dd2d183, 452cf73, 50b5df7"  # what an older runner wrote
    first_line = readme.results_block(run, fake_records()).splitlines()[0]
    assert "code at commits 452cf73, dd2d183, 50b5df7 ·" in first_line
