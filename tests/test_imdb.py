"""utils.imdb: Keras's post-processing checked against Keras, the rebuild from the raw reviews
(tokenising, packing, reading the archive), decoding, stand-in and errors, and the real data.
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
from datafiles import make_aclimdb, needs_mirror, sha

from utils import data, imdb

pytest_plugins = ["datafiles"]


def fake_npz(path: Path, rng) -> tuple:
    def seqs(n):
        out = np.empty(n, dtype=object)
        out[:] = [rng.integers(1, 300, rng.integers(3, 40)).tolist() for _ in range(n)]
        return out

    arrays = (seqs(60), rng.integers(0, 2, 60), seqs(40), rng.integers(0, 2, 40))
    np.savez(path, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    return arrays


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 50},
        {"skip_top": 5, "num_words": 100},
        {"maxlen": 20},
        {"seed": 1},
        {"start_char": None},
        {"oov_char": None, "num_words": 30},
        {"index_from": 0},
    ],
)
def test_keras_style_matches_keras_load_data(tmp_path, monkeypatch, kwargs):
    import keras.src.datasets.imdb as keras_imdb

    arrays = fake_npz(tmp_path / "imdb.npz", np.random.default_rng(0))
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(tmp_path / "imdb.npz"))
    (kx, ky), (kxt, kyt) = keras_imdb.load_data(**kwargs)
    (ox, oy), (oxt, oyt) = imdb.keras_style(*arrays, **kwargs)
    assert [list(s) for s in kx] == [list(s) for s in ox] and np.array_equal(ky, oy)
    assert [list(s) for s in kxt] == [list(s) for s in oxt] and np.array_equal(kyt, oyt)


def test_unknown_words_become_oov():
    x = np.empty(1, dtype=object)
    x[:] = [[5, imdb.UNKNOWN_RANK, 6]]
    (tr, _), _ = imdb.keras_style(x, np.array([1]), x, np.array([0]), num_words=100)
    assert tr[0] == [1, 8, 2, 9]
    (tr, _), _ = imdb.keras_style(x, np.array([1]), x, np.array([0]), oov_char=None, num_words=100)
    assert tr[0] == [1, 8, 9]


def test_tokenize_pack_unpack_and_decode():
    assert imdb.tokenize("It's GREAT!<br /><br />10/10.") == [
        "it's",
        "great",
        "br",
        "br",
        "10",
        "10",
    ]
    seqs = [[1, 2, 3], [], [4]]
    assert [list(s) for s in imdb.unpack(*imdb.pack(seqs))] == seqs
    wi = {"the": 1, "movie": 2}
    assert data.decode_review([1, 4, 5, 2, 0, 99], word_index=wi) == "<START> the movie <OOV> <?>"
    with pytest.raises(TypeError, match="sequence"):
        data.decode_review("the movie", word_index=wi)
    with pytest.raises(TypeError, match="word_index"):
        data.decode_review([1], word_index=[("the", 1)])


def test_read_reviews_order_labels_and_incomplete_archive(tmp_path):
    make_aclimdb(tmp_path / "a.tar.gz")
    got = imdb.read_reviews(tmp_path / "a.tar.gz", expected=6)
    texts, labels = got["train"]
    assert labels.tolist() == [0, 0, 0, 1, 1, 1] and labels.dtype == np.int64
    assert texts[0].startswith("awful") and texts[-1].startswith("great")
    with pytest.raises(ValueError, match="incomplete"):
        imdb.read_reviews(tmp_path / "a.tar.gz")


def test_the_original_archive_is_stanfords_file():
    spec = imdb.ACLIMDB_ORIGINAL
    assert spec.relpath == "aclImdb_v1.tar.gz" and spec.size == 84_125_825
    assert spec.sha256 == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
    assert spec.url == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert imdb.ACLIMDB_ARCHIVES == (imdb.ACLIMDB, imdb.ACLIMDB_ORIGINAL)
    assert data.ACLIMDB_ORIGINAL is spec


def test_both_archive_layouts_give_the_same_reviews(tmp_path):
    """Stanford's original adds train/unsup/ and *.feat files, in another order: all skipped."""
    make_aclimdb(tmp_path / "repack.tar.gz")
    make_aclimdb(tmp_path / "original.tar.gz", original=True)
    repack = imdb.read_reviews(tmp_path / "repack.tar.gz", expected=6)
    original = imdb.read_reviews(tmp_path / "original.tar.gz", expected=6)
    for split in ("train", "test"):
        assert repack[split][0] == original[split][0]
        assert np.array_equal(repack[split][1], original[split][1])
    assert not any("unlabelled" in t for t in original["train"][0])


@pytest.fixture
def tiny_imdb(isolated, monkeypatch):
    """Both aclImdb archives (6 reviews per split) and a word index, with specs of their hashes."""
    monkeypatch.setattr(imdb, "REVIEWS_PER_SPLIT", 6)
    folder = isolated / "archives"
    folder.mkdir()
    specs = []
    for spec, original in ((imdb.ACLIMDB, False), (imdb.ACLIMDB_ORIGINAL, True)):
        make_aclimdb(folder / spec.relpath, original=original)
        raw = (folder / spec.relpath).read_bytes()
        specs.append(
            dataclasses.replace(spec, sha256=sha(raw), size=len(raw) if spec.size else None)
        )
    index = json.dumps({"movie": 1, "great": 2, "fun": 3, "awful": 4, "bore": 5}).encode()
    (folder / "imdb_word_index.json").write_bytes(index)
    monkeypatch.setattr(imdb, "ACLIMDB_ARCHIVES", tuple(specs))
    monkeypatch.setattr(
        imdb, "IMDB_WORD_INDEX", dataclasses.replace(imdb.IMDB_WORD_INDEX, sha256=sha(index))
    )
    return folder


def test_the_loaders_read_either_archive_alike(tiny_imdb, isolated, monkeypatch):
    loads = {}
    for name in ("aclImdb_v1_labelled.tar.gz", "aclImdb_v1.tar.gz"):
        mirror = isolated / f"mirror-{name}"
        mirror.mkdir()
        for keep in (name, "imdb_word_index.json"):
            (mirror / keep).write_bytes((tiny_imdb / keep).read_bytes())
        monkeypatch.setenv("KTT_DATA_MIRROR", str(mirror))
        text = data.load_imdb_text()
        sequences = data.load_imdb()
        assert text.source == sequences.source == "mirror" and name in text.details
        loads[name] = (text, sequences)
    (repack_text, repack_seqs), (original_text, original_seqs) = loads.values()
    for a, b in ((repack_text, original_text), (repack_seqs, original_seqs)):
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            assert [list(x) if not isinstance(x, str) else x for x in xa] == [
                list(x) if not isinstance(x, str) else x for x in xb
            ]
            assert np.array_equal(ya, yb)
    (x, y), _ = original_text
    assert len(x) == 6 and sorted(y.tolist()) == [0, 0, 0, 1, 1, 1]
    assert not any("unlabelled" in t for t in x)
    (seqs, _), _ = original_seqs
    assert all(s[0] == 1 for s in seqs)  # start character, then word ranks + index_from


@pytest.mark.parametrize(
    "bad,exc",
    [
        ({"num_words": 0}, ValueError),
        ({"maxlen": "5"}, TypeError),
        ({"skip_top": -1}, ValueError),
        ({"seed": 1.0}, TypeError),
    ],
)
def test_load_imdb_validates_arguments(bad, exc):
    with pytest.raises(exc):
        data.load_imdb(**bad)


def test_imdb_stand_in(isolated, monkeypatch, capsys):
    monkeypatch.setenv("KTT_QUICK", "1")
    (x, y), (xt, yt) = loaded = data.load_imdb(num_words=1000)
    assert loaded.synthetic and "SYNTHETIC" in capsys.readouterr().out
    assert len(x) == len(xt) == 25000 and y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert x.dtype == object and x[0][0] == 1 and max(max(s) for s in x) < 1000


def test_imdb_no_copy_full_mode_is_a_clear_error(isolated):
    start = time.perf_counter()
    with pytest.raises(data.DataNotFoundError, match="aclImdb_v1_labelled"):
        data.load_imdb()
    assert time.perf_counter() - start < 2


@needs_mirror
def test_real_imdb_from_the_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(Path.home() / ".keras"))  # reuse the built cache
    loaded = data.load_imdb(num_words=10000)
    (x, y), (xt, yt) = loaded
    assert not loaded.synthetic and len(x) == len(xt) == 25000
    assert y.mean() == pytest.approx(0.5) and yt.mean() == pytest.approx(0.5)
    assert all(s[0] == 1 for s in x[:100]) and max(max(s) for s in x) < 10000
    words = data.decode_review(x[0]).split()
    assert words[0] == "<START>" and len(words) == len(x[0])
    assert data.imdb_word_index()["the"] == 1
