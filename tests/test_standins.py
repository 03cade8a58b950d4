"""utils.standins: the one rule every loader follows when there is no real copy, and the
stand-ins themselves (shapes, determinism, learnability).

The rule, tested on its own with a one-file dataset: the real copy wins; in quick mode (or when
asked) a stand-in replaces a missing copy, announced by a loud banner; in full mode a missing
copy is an error within 2 s that names the ways to get it that work (no `make data` for a file
without a download origin); a corrupted copy is never replaced.
"""

import time

import numpy as np
import pytest
from datafiles import sha

from utils import cifar100, data, fashion_mnist, imdb, sources, standins

pytest_plugins = ["datafiles"]

BANNER = "!!! SYNTHETIC STAND-IN for Thing"
GOOD = b"the real thing"
SPEC = sources.FileSpec("thing.bin", sha(GOOD))


def real_thing():
    found = sources.locate("Thing", SPEC)
    content = np.frombuffer(found.path.read_bytes(), np.uint8)
    return (content, content), (content, content), found.source, str(found.path)


def fake_thing():
    zeros = np.zeros(3, np.uint8)
    return (zeros, zeros), (zeros, zeros)


def load_thing(standin="auto"):
    return standins.real_or_standin("Thing", ("a", "b"), standin, real_thing, fake_thing)


@pytest.fixture
def thing_in_mirror(isolated, monkeypatch):
    mirror = isolated / "mirror"
    mirror.mkdir()
    (mirror / "thing.bin").write_bytes(GOOD)
    monkeypatch.setenv("KTT_DATA_MIRROR", str(mirror))
    return mirror / "thing.bin"


@pytest.mark.parametrize("quick", ["0", "1"])
@pytest.mark.parametrize("standin", ["auto", "fallback", "never"])
def test_the_real_copy_wins(thing_in_mirror, monkeypatch, capsys, quick, standin):
    monkeypatch.setenv("KTT_QUICK", quick)
    loaded = load_thing(standin)
    (x, _), _ = loaded
    assert x.tobytes() == GOOD and not loaded.synthetic
    assert loaded.source == "mirror" and loaded.details == str(thing_in_mirror)
    assert loaded.name == "Thing" and loaded.class_names == ("a", "b")
    assert BANNER not in capsys.readouterr().out


@pytest.mark.parametrize("quick,standin", [("1", "auto"), ("0", "fallback"), ("1", "fallback")])
def test_no_copy_in_quick_mode_or_when_asked_gives_a_loud_stand_in(
    isolated, monkeypatch, capsys, quick, standin
):
    monkeypatch.setenv("KTT_QUICK", quick)
    loaded = load_thing(standin)
    (x, _), _ = loaded
    assert loaded.synthetic and loaded.source == "stand-in" and not x.any()
    assert loaded.details == "no real copy found" and "SYNTHETIC stand-in" in repr(loaded)
    out = capsys.readouterr().out
    assert out.count(BANNER) == 1 and "(no real copy found)" in out and "make data" in out


def test_only_gives_the_stand_in_even_when_the_real_copy_exists(thing_in_mirror, capsys):
    loaded = load_thing("only")
    assert loaded.synthetic and loaded.details == "asked for with standin='only'"
    assert BANNER in capsys.readouterr().out


@pytest.mark.parametrize("standin", ["auto", "never"])
def test_no_copy_in_full_mode_is_a_fast_error_naming_the_ways_that_work(isolated, capsys, standin):
    start = time.perf_counter()
    with pytest.raises(data.DataNotFoundError) as err:
        load_thing(standin)
    assert time.perf_counter() - start < 2
    text = str(err.value)
    assert "thing.bin" in text and "KTT_DATA_MIRROR" in text and "KTT_DATA_URL" in text
    assert "make data" not in text  # thing.bin has no download origin: `make data` cannot help
    hinted = "Quick mode would use a synthetic stand-in" in text
    assert hinted == (standin == "auto")
    assert BANNER not in capsys.readouterr().out


@pytest.mark.parametrize("quick,standin", [("1", "auto"), ("0", "fallback")])
def test_a_corrupted_copy_is_never_replaced_by_a_stand_in(
    thing_in_mirror, monkeypatch, capsys, quick, standin
):
    monkeypatch.setenv("KTT_QUICK", quick)
    thing_in_mirror.write_bytes(GOOD[:-1])
    with pytest.raises(data.DataCorruptError, match="thing.bin"):
        load_thing(standin)
    assert BANNER not in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["sometimes", None, "Auto"])
def test_the_rule_rejects_unknown_standin_values(bad):
    with pytest.raises(ValueError, match="standin"):
        load_thing(bad)


@pytest.mark.parametrize(
    "loader",
    [
        fashion_mnist.load_fashion_mnist,
        imdb.load_imdb,
        imdb.load_imdb_text,
        cifar100.load_cifar100,
    ],
)
def test_every_loader_follows_the_one_rule(loader, monkeypatch):
    calls = []

    def spy(name, class_names, standin, real, synthetic):
        calls.append((name, standin))
        return "loaded"

    monkeypatch.setattr(standins, "real_or_standin", spy)
    assert loader(standin="never") == "loaded"
    assert len(calls) == 1 and calls[0][1] == "never"


def test_quick_mode_falls_back_to_a_loud_stand_in(isolated, monkeypatch, capsys):
    monkeypatch.setenv("KTT_QUICK", "1")
    loaded = data.load_fashion_mnist()
    assert loaded.synthetic and loaded.source == "stand-in"
    assert "SYNTHETIC STAND-IN" in capsys.readouterr().out
    (x, y), (xt, yt) = loaded
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == y.dtype == np.uint8 and set(np.unique(y)) == set(range(10))


@pytest.mark.parametrize(
    "bad,exc", [({"standin": "sometimes"}, ValueError), ({"standin": None}, ValueError)]
)
def test_loaders_validate_arguments(bad, exc):
    for loader in (
        data.load_fashion_mnist,
        data.load_imdb,
        data.load_imdb_text,
        data.load_cifar100,
    ):
        with pytest.raises(exc, match="standin"):
            loader(**bad)


def test_fashion_stand_in_is_deterministic_and_learnable():
    from sklearn.linear_model import LogisticRegression

    (x, y), (xt, yt) = standins.fashion_mnist(n_train=2000, n_test=500)
    (x2, _), _ = standins.fashion_mnist(n_train=2000, n_test=500)
    assert np.array_equal(x, x2)
    clf = LogisticRegression(max_iter=300).fit(x.reshape(2000, -1) / 255, y)
    acc = clf.score(xt.reshape(500, -1) / 255, yt)
    assert 0.3 < acc  # chance is 0.1: classes have structure
