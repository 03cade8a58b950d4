import json

import pytest

from utils import results


@pytest.fixture
def rdir(tmp_path, monkeypatch):
    monkeypatch.setenv("KTT_RESULTS_DIR", str(tmp_path))
    return tmp_path


def test_record_writes_merges_and_returns_nothing(rdir, monkeypatch):
    monkeypatch.setenv("KTT_QUICK", "1")
    assert results.record("01_feature_scaling", a=1, b=0.5) is None
    results.record("01_feature_scaling", b=0.25, c=float("nan"), d=True)
    rec = json.loads((rdir / "01_feature_scaling.json").read_text())
    assert rec["quick"] is True
    assert rec["metrics"] == {"a": 1, "b": 0.25, "c": "nan", "d": True}
    assert rec["headline"] == "a 1 · b 0.250 · c nan · d yes"  # built from the metrics, in order
    assert results.load_results(rdir)["01_feature_scaling"]["metrics"]["b"] == 0.25


def test_headline_formats_numbers_compactly():
    line = results.headline_of({"val_acc": 0.83456, "seconds": 1234.5, "tiny": 2e-5, "n": 3})
    assert line == "val acc 0.835 · seconds 1.23e+03 · tiny 2e-05 · n 3"


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        (("feature_scaling",), {"a": 1}, ValueError, "01_feature_scaling"),
        (("01_x",), {}, ValueError, "at least one metric"),
        ((1,), {"a": 1}, TypeError, "notebook"),
        (("01_x",), {"m": [1, 2]}, TypeError, "metric 'm'"),
        (("01_x", "old positional headline"), {}, TypeError, "positional"),
    ],
)
def test_record_rejects_bad_input(rdir, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        results.record(*args, **kwargs)


def test_format_table():
    text = results.format_table([{"a": 1, "b": 0.123456}, {"a": 22, "c": "x"}])
    lines = text.splitlines()
    assert lines[0].split("|")[1].strip() == "a" and "c" in lines[0]
    assert "0.1235" in text and len(lines) == 4
    assert len({len(ln) for ln in lines}) == 1  # aligned columns


@pytest.mark.parametrize(
    "rows,kwargs,exc",
    [
        ([], {}, ValueError),
        ({"a": 1}, {}, TypeError),
        ([1, 2], {}, TypeError),
        ([{"a": 1}], {"columns": ["zz"]}, ValueError),
        ([{"a": 1.0}], {"floatfmt": "q"}, ValueError),
    ],
)
def test_format_table_bad_input(rows, kwargs, exc):
    with pytest.raises(exc):
        results.format_table(rows, **kwargs)
    with pytest.raises(exc):
        results.Table(rows, **kwargs)


def test_format_table_formats_numpy_floats():
    import numpy as np

    text = results.format_table([{"a": np.float32(0.123456789), "b": np.int64(3)}])
    assert "0.1235" in text and "0.12345678" not in text and "| 3 " in text


def test_table_renders_html_in_jupyter_and_text_on_a_console():
    table = results.Table([{"run": "<b>", "acc": 0.5}], title="Runs")
    page = table._repr_html_()
    assert "<caption>Runs</caption>" in page and "<th>acc</th>" in page
    assert "&lt;b&gt;" in page and "<b>" not in page  # cell text is escaped
    assert 'text-align:right">0.5<' in page
    assert str(table).splitlines()[0] == "Runs" and "| run | acc |" in str(table)


def test_show_table_prints_text_outside_ipython(capsys):
    assert results.show_table([{"a": 1}]) is None
    assert "| a |" in capsys.readouterr().out
