"""utils.imdb: Keras's post-processing checked against Keras, the rebuild from the raw reviews
(tokenising, packing, reading the archive), decoding, stand-in and errors, and the real data.
"""

import io
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from datafiles import needs_mirror

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


def make_aclimdb(path: Path, n: int = 3) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            for pol in ("neg", "pos"):
                for i in range(n):
                    text = f"{'great fun' if pol == 'pos' else 'awful bore'} movie {i}!".encode()
                    info = tarfile.TarInfo(
                        f"aclImdb/{split}/{pol}/{i}_{7 if pol == 'pos' else 2}.txt"
                    )
                    info.size = len(text)
                    tar.addfile(info, io.BytesIO(text))


def test_read_reviews_order_labels_and_incomplete_archive(tmp_path):
    make_aclimdb(tmp_path / "a.tar.gz")
    got = imdb.read_reviews(tmp_path / "a.tar.gz", expected=6)
    texts, labels = got["train"]
    assert labels.tolist() == [0, 0, 0, 1, 1, 1] and labels.dtype == np.int64
    assert texts[0].startswith("awful") and texts[-1].startswith("great")
    with pytest.raises(ValueError, match="incomplete"):
        imdb.read_reviews(tmp_path / "a.tar.gz")


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
