import json

import pytest

from utils import results


@pytest.fixture
def rdir(tmp_path, monkeypatch):
    monkeypatch.setenv("KTT_RESULTS_DIR", str(tmp_path))
    return tmp_path


def test_record_writes_and_merges(rdir, monkeypatch):
    monkeypatch.setenv("KTT_QUICK", "1")
    results.record("01_feature_scaling", "first", a=1, b=0.5)
    path = results.record("01_feature_scaling", "second", b=0.25, c=float("nan"), d=True)
    rec = json.loads(path.read_text())
    assert rec["headline"] == "second" and rec["quick"] is True
    assert rec["metrics"] == {"a": 1, "b": 0.25, "c": "nan", "d": True}
    assert results.load_results(rdir)["01_feature_scaling"]["headline"] == "second"


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        (("feature_scaling", "h"), {}, ValueError, "01_feature_scaling"),
        (("01_x", "two\nlines"), {}, ValueError, "single line"),
        (("01_x", ""), {}, ValueError, "headline"),
        ((1, "h"), {}, TypeError, "notebook"),
        (("01_x", "h"), {"m": [1, 2]}, TypeError, "metric 'm'"),
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


def test_format_table_formats_numpy_floats():
    import numpy as np

    text = results.format_table([{"a": np.float32(0.123456789), "b": np.int64(3)}])
    assert "0.1235" in text and "0.12345678" not in text and "| 3 " in text
