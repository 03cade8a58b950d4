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


# ------------------------------------------- notebook 07's split and bags of n-grams, shared
def _random_reviews(seed, n=40, vocab_size=13, max_len=25):
    rng = np.random.default_rng(seed)
    out = [rng.integers(1, vocab_size, size=rng.integers(0, max_len)).tolist() for _ in range(n)]
    out[3] = []  # an empty review gives an all-zero row
    return out


def _object_array(reviews):
    out = np.empty(len(reviews), dtype=object)
    out[:] = reviews
    return out


def test_train_val_test_is_notebook_07s_split():
    rng = np.random.default_rng(0)
    x = _object_array([[1, int(i)] for i in range(100)])
    y = rng.integers(0, 2, 100)
    x_test, y_test = _object_array([[1, int(i)] for i in range(60)]), rng.integers(0, 2, 60)
    (xtr, ytr), (xv, yv), (xte, yte) = imdb.train_val_test((x, y), (x_test, y_test))
    assert len(ytr) == 80 and len(yv) == 20 and len(yte) == 60  # full mode: every review
    assert list(xtr) + list(xv) == list(x) and np.array_equal(np.concatenate([ytr, yv]), y)
    (xtr, ytr), (xv, yv), (xte, yte) = imdb.train_val_test(
        (x, y), (x_test, y_test), n_pool=50, n_test=30
    )
    assert len(ytr) == 40 and len(yv) == 10 and len(yte) == 30
    assert not {r[1] for r in xtr} & {r[1] for r in xv}  # validation is held out
    assert abs(ytr.mean() - y.mean()) < 0.05  # stratified
    with pytest.raises(ValueError, match="val_fraction"):
        imdb.train_val_test((x, y), (x_test, y_test), val_fraction=1.0)
    with pytest.raises(ValueError, match="too few"):
        imdb.train_val_test((x[:3], y[:3]), (x_test, y_test), val_fraction=0.2)


def test_cap_and_encode_text():
    assert imdb.cap_vocabulary([[1, 5, 12, 9], []], num_words=10) == [[1, 5, 2, 9], []]
    with pytest.raises(ValueError):
        imdb.cap_vocabulary([[1]], num_words=0)
    word_index = {"the": 1, "movie": 2, "was": 3, "not": 4, "good": 5}
    encoded = imdb.encode_text(["The movie was NOT good!", "not bad"], word_index)
    assert encoded == [[1, 4, 5, 6, 7, 8], [1, 7, 2]]  # "bad" is not in the index: OOV
    assert data.decode_review(encoded[0], word_index=word_index) == "<START> the movie was not good"
    assert imdb.encode_text(["the good movie"], word_index, num_words=6) == [[1, 4, 2, 5]]
    with pytest.raises(TypeError, match="list of strings"):
        imdb.encode_text("the movie", word_index)
    with pytest.raises(TypeError, match="word_index"):
        imdb.encode_text(["the movie"], [("the", 1)])


def test_shared_ngram_code_gives_what_notebook_07_gives():
    """The utils copy of 07's scratch bags: equal results on random reviews, every mode."""
    import tensorflow as tf
    from nbcode import scratch

    ns = scratch("07_imdb")
    reviews, y = _random_reviews(1, n=80), np.random.default_rng(1).integers(0, 2, 80)
    for ngrams in (1, 2, 3):
        ours, theirs = imdb.ngram_codes(reviews, 13, ngrams), ns["ngram_codes"](reviews, 13, ngrams)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    codes, docs = imdb.ngram_codes(reviews, 13, 2)
    vocabulary = imdb.ngram_vocabulary(codes, 50)
    assert np.array_equal(vocabulary, ns["ngram_vocabulary"](codes, 50))
    multi_hot = imdb.bag_of_ngrams(codes, docs, len(reviews), vocabulary)
    idf = ns["idf_weights"](multi_hot)
    for output_mode in ("multi_hot", "count", "tf_idf"):
        ours = imdb.bag_of_ngrams(codes, docs, len(reviews), vocabulary, output_mode, idf)
        theirs = ns["bag_of_ngrams"](codes, docs, len(reviews), vocabulary, output_mode, idf)
        np.testing.assert_array_equal(tf.sparse.to_dense(ours), tf.sparse.to_dense(theirs))
    ratio = imdb.nb_log_ratio(multi_hot, y)
    np.testing.assert_array_equal(ratio, ns["nb_log_ratio"](multi_hot, y))
    np.testing.assert_array_equal(
        tf.sparse.to_dense(imdb.scale_columns(multi_hot, ratio)),
        tf.sparse.to_dense(ns["scale_columns"](multi_hot, ratio)),
    )
    with pytest.raises(ValueError, match="output_mode"):
        imdb.bag_of_ngrams(codes, docs, len(reviews), vocabulary, "binary")
    with pytest.raises(ValueError, match="word ids"):
        imdb.ngram_codes([[0, 3]], 13)


def test_nb_ngram_features_learn_from_the_training_split_only():
    import tensorflow as tf

    reviews = _random_reviews(2, n=60)
    y = np.random.default_rng(2).integers(0, 2, 40)
    splits = {"train": reviews[:40], "val": reviews[40:50], "test": reviews[50:]}
    features, vocabulary, ratio = imdb.nb_ngram_features(splits, y, 13, max_tokens=30)
    assert [tuple(features[p].dense_shape) for p in splits] == [(40, 30), (10, 30), (10, 30)]
    train_codes, _ = imdb.ngram_codes(splits["train"], 13, 2)
    assert np.array_equal(vocabulary, imdb.ngram_vocabulary(train_codes, 30))
    bag = imdb.bag_of_ngrams(*imdb.ngram_codes(splits["train"], 13, 2), 40, vocabulary)
    np.testing.assert_array_equal(ratio, imdb.nb_log_ratio(bag, y))
    changed = {**splits, "test": [[5, 5, 5]] * 10}  # other test reviews: same vocabulary, ratios
    _, vocabulary_again, ratio_again = imdb.nb_ngram_features(changed, y, 13, max_tokens=30)
    assert np.array_equal(vocabulary, vocabulary_again) and np.array_equal(ratio, ratio_again)
    again = imdb.nb_ngram_bag(splits["val"], 13, vocabulary, ratio)
    np.testing.assert_array_equal(tf.sparse.to_dense(again), tf.sparse.to_dense(features["val"]))
    with pytest.raises(ValueError, match="'train'"):
        imdb.nb_ngram_features({"test": reviews}, y, 13)


def test_contains_ngram_and_ngram_code():
    reviews = [[1, 4, 5, 6], [0, 0, 5, 4], [7], []]  # zeros: padding
    assert imdb.ngram_code((4, 5), 10) == 45 and imdb.ngram_code((7,), 10) == 7
    assert imdb.contains_ngram(reviews, [(4, 5)], 10).tolist() == [True, False, False, False]
    assert imdb.contains_ngram(reviews, [(5, 4), (7,)], 10).tolist() == [False, True, True, False]
    assert imdb.contains_ngram(reviews, [(4, 5, 6)], 10).tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match="word ids"):
        imdb.ngram_code((0, 4), 10)
    assert imdb.contains_ngram(reviews, [], 10).tolist() == [False] * 4
