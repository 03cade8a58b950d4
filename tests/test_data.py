"""The offline data layer: sources in order, verification, clear errors, stand-ins.

Most tests build a tiny fake dataset in a temporary folder and point the specs at it, so they
run in milliseconds without the real files; tests marked `real` use the mirror when it exists.
"""

import dataclasses
import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from utils import data, imdb, sources

MIRROR = os.environ.get("KTT_DATA_MIRROR")
needs_mirror = pytest.mark.skipif(
    not MIRROR or not Path(MIRROR).is_dir(), reason="real-data mirror not set (KTT_DATA_MIRROR)"
)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty Keras cache, no mirror, no system copy, no network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("KTT_DATA_MIRROR", raising=False)
    monkeypatch.setenv("KTT_QUICK", "0")
    monkeypatch.setattr(sources, "SYSTEM_DIRS", {"fashion-mnist": tmp_path / "system"})
    monkeypatch.setattr(sources, "network_available", lambda timeout=1.0: False)
    return tmp_path


def idx_bytes(arr: np.ndarray, header_len: int) -> bytes:
    return b"\0" * header_len + arr.astype(np.uint8).tobytes()


@pytest.fixture
def fake_fashion(isolated, monkeypatch):
    """A 20/10-image Fashion-MNIST in a mirror folder, with specs pointing at its hashes."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 255, (20, 28, 28)),
        "train_labels": np.arange(20) % 10,
        "test_images": rng.integers(0, 255, (10, 28, 28)),
        "test_labels": np.arange(10) % 10,
    }
    mirror = isolated / "mirror"
    specs = {}
    for key, spec in data.FASHION_MNIST_FILES.items():
        raw = idx_bytes(arrays[key], 16 if "images" in key else 8)
        packed = gzip.compress(raw, mtime=0)
        path = mirror / spec.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(packed)
        specs[key] = dataclasses.replace(spec, sha256=sha(packed), content_sha256=sha(raw))
    monkeypatch.setattr(data, "FASHION_MNIST_FILES", specs)
    monkeypatch.setenv("KTT_DATA_MIRROR", str(mirror))
    return mirror, arrays


def test_fashion_from_mirror_has_keras_shapes_and_dtypes(fake_fashion):
    _, arrays = fake_fashion
    loaded = data.load_fashion_mnist()
    (x, y), (xt, yt) = loaded
    assert x.shape == (20, 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8
    assert np.array_equal(x, arrays["train_images"]) and np.array_equal(yt, arrays["test_labels"])
    assert loaded.source == "mirror" and not loaded.synthetic
    assert loaded.class_names[9] == "Ankle boot"


def test_cache_comes_before_mirror(fake_fashion, isolated):
    mirror, _ = fake_fashion
    shutil.copytree(mirror / "fashion-mnist", isolated / "keras" / "datasets" / "fashion-mnist")
    assert data.load_fashion_mnist().source == "cache"


def test_system_copy_with_other_gzip_headers_is_accepted(fake_fashion, isolated, monkeypatch):
    mirror, arrays = fake_fashion
    monkeypatch.delenv("KTT_DATA_MIRROR")
    system = isolated / "system"
    system.mkdir()
    for path in (mirror / "fashion-mnist").iterdir():  # re-pack: new header, same content
        content = gzip.decompress(path.read_bytes())
        (system / path.name).write_bytes(gzip.compress(content, mtime=12345))
        assert (system / path.name).read_bytes() != path.read_bytes()
    loaded = data.load_fashion_mnist()
    assert loaded.source == "system copy"
    assert np.array_equal(loaded[0][0], arrays["train_images"])


@pytest.mark.parametrize("damage", ["truncate", "flip"])
@pytest.mark.parametrize("where", ["mirror", "cache"])
def test_damaged_file_is_a_clear_error(fake_fashion, isolated, damage, where):
    mirror, _ = fake_fashion
    if where == "cache":
        shutil.copytree(mirror / "fashion-mnist", isolated / "keras" / "datasets" / "fashion-mnist")
        root = isolated / "keras" / "datasets"
    else:
        root = mirror
    victim = root / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    raw = victim.read_bytes()
    victim.write_bytes(
        raw[: len(raw) // 2] if damage == "truncate" else raw[:-1] + bytes([raw[-1] ^ 0xFF])
    )
    with pytest.raises(data.DataCorruptError) as err:
        data.load_fashion_mnist(standin="fallback")  # corrupt is never replaced by a stand-in
    assert str(victim) in str(err.value)
    assert ("delete" in str(err.value)) if where == "cache" else ("SHA256SUMS" in str(err.value))


def test_damaged_system_copy_is_a_clear_error(fake_fashion, isolated, monkeypatch):
    mirror, _ = fake_fashion
    monkeypatch.delenv("KTT_DATA_MIRROR")
    shutil.copytree(mirror / "fashion-mnist", isolated / "system")
    victim = isolated / "system" / "t10k-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:-6])
    with pytest.raises(data.DataCorruptError, match="t10k-labels"):
        data.load_fashion_mnist()


def test_no_copy_no_network_full_mode_fails_fast_with_the_ways_to_get_it(isolated):
    start = time.perf_counter()
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_fashion_mnist()
    assert time.perf_counter() - start < 2
    text = str(err.value)
    for hint in ("make data", "KTT_DATA_MIRROR", "dataset-fashion-mnist", "stand-in"):
        assert hint in text


def test_network_probe_gives_up_quickly_on_a_black_hole(monkeypatch):
    import socket

    monkeypatch.delenv("KTT_OFFLINE", raising=False)
    monkeypatch.setattr(sources, "_PROBES", {})
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: time.sleep(5))  # hangs
    start = time.perf_counter()
    assert sources.network_available(timeout=0.5) is False
    assert time.perf_counter() - start < 1.5
    start = time.perf_counter()
    assert sources.network_available(timeout=0.5) is False  # remembered: no second wait
    assert time.perf_counter() - start < 0.1


def test_network_probe_refused(monkeypatch):
    monkeypatch.delenv("KTT_OFFLINE", raising=False)
    monkeypatch.setattr(sources, "_PROBES", {})
    monkeypatch.setattr(sources, "NETWORK_PROBE", ("127.0.0.1", 9))
    assert sources.network_available(timeout=0.5) is False


def test_offline_variable_skips_the_probe(monkeypatch):
    monkeypatch.setenv("KTT_OFFLINE", "1")
    assert sources.network_available() is False


def test_download_is_verified(isolated, monkeypatch):
    good = b"payload"
    spec = sources.FileSpec("thing.bin", sha(good), "https://example.invalid/thing.bin")
    monkeypatch.setattr(sources, "network_available", lambda timeout=1.0: True)

    def fake_get_file(fname, origin, file_hash, cache_subdir, cache_dir):
        path = Path(cache_dir) / cache_subdir / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        return str(path)

    import keras

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    payload = good
    assert sources.locate("thing", spec).source == "download"
    (isolated / "keras" / "datasets" / "thing.bin").unlink()
    payload = b"tampered"
    with pytest.raises(sources.DataCorruptError):
        sources.locate("thing", spec)


def test_mirror_variable_pointing_nowhere_is_an_error(isolated, monkeypatch):
    monkeypatch.setenv("KTT_DATA_MIRROR", str(isolated / "typo"))
    with pytest.raises(data.DataNotFoundError, match="KTT_DATA_MIRROR"):
        data.load_fashion_mnist()


def test_empty_mirror_is_not_found(isolated, monkeypatch):
    (isolated / "empty").mkdir()
    monkeypatch.setenv("KTT_DATA_MIRROR", str(isolated / "empty"))
    with pytest.raises(data.DataNotFoundError):
        data.load_fashion_mnist()


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

    from utils import standins

    (x, y), (xt, yt) = standins.fashion_mnist(n_train=2000, n_test=500)
    (x2, _), _ = standins.fashion_mnist(n_train=2000, n_test=500)
    assert np.array_equal(x, x2)
    clf = LogisticRegression(max_iter=300).fit(x.reshape(2000, -1) / 255, y)
    acc = clf.score(xt.reshape(500, -1) / 255, yt)
    assert 0.3 < acc  # chance is 0.1: classes have structure


# ---------------------------------------------------------------- IMDB
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


@needs_mirror
def test_real_fashion_mnist_matches_the_upstream_content():
    (x, y), (xt, yt) = loaded = data.load_fashion_mnist(standin="never")
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10 and not loaded.synthetic


# ---------------------------------------------------------------- CIFAR-100
def cifar_pickle(n: int, rng) -> bytes:
    fine = rng.integers(0, 100, n)
    d = {
        b"data": rng.integers(0, 255, (n, 3072)).astype(np.uint8),
        b"fine_labels": fine.tolist(),
        b"coarse_labels": data.CIFAR100_FINE_TO_COARSE[fine].tolist(),
    }
    return pickle.dumps(d)


def test_cifar_from_a_mirror_archive(isolated, monkeypatch):
    rng = np.random.default_rng(0)
    mirror = isolated / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cifar-100-python.tar.gz", "w:gz") as tar:
        for name, n in (("train", 12), ("test", 4)):
            blob = cifar_pickle(n, rng)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    spec = dataclasses.replace(
        data.CIFAR100_TAR, sha256=sha((mirror / "cifar-100-python.tar.gz").read_bytes())
    )
    monkeypatch.setattr(data, "CIFAR100_TAR", spec)
    monkeypatch.setenv("KTT_DATA_MIRROR", str(mirror))
    (x, y), (xt, yt) = fine = data.load_cifar100()
    assert x.shape == (12, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (12, 1)
    assert y.dtype == np.int64 and fine.source == "mirror" and len(fine.class_names) == 100
    (_, yc), _ = coarse = data.load_cifar100("coarse")
    assert np.array_equal(yc[:, 0], data.CIFAR100_FINE_TO_COARSE[y[:, 0]])
    assert len(coarse.class_names) == 20


def test_cifar_corrupt_extracted_folder(isolated):
    folder = isolated / "keras" / "datasets" / "cifar-100-python"
    folder.mkdir(parents=True)
    for name in ("train", "test", "meta"):
        (folder / name).write_bytes(b"not cifar")
    with pytest.raises(data.DataCorruptError, match="MD5"):
        data.load_cifar100()


def test_cifar_stand_in_shapes_and_label_ranges(isolated, monkeypatch, capsys):
    monkeypatch.setenv("KTT_QUICK", "1")
    (x, y), (xt, yt) = loaded = data.load_cifar100()
    assert loaded.synthetic and "SYNTHETIC" in capsys.readouterr().out
    assert x.shape == (50000, 32, 32, 3) and xt.shape == (10000, 32, 32, 3)
    assert x.dtype == np.uint8 and y.shape == (50000, 1) and y.dtype == np.int64
    assert y.min() == 0 and y.max() == 99
    (_, yc), _ = data.load_cifar100("coarse", standin="only")
    assert yc.max() == 19


def test_cifar_label_mode_and_class_tables():
    with pytest.raises(ValueError, match="label_mode"):
        data.load_cifar100("medium")
    assert len(data.CIFAR100_FINE) == 100 and len(set(data.CIFAR100_FINE)) == 100
    assert np.bincount(data.CIFAR100_FINE_TO_COARSE).tolist() == [5] * 20
    assert data.CIFAR100_FINE[data.CIFAR100_FINE.index("whale")] == "whale"
    assert (
        data.CIFAR100_COARSE[data.CIFAR100_FINE_TO_COARSE[data.CIFAR100_FINE.index("whale")]]
        == "aquatic_mammals"
    )


def test_data_report_lists_every_dataset(isolated, fake_fashion):
    rows = data.data_report()
    assert [r["dataset"] for r in rows] == [
        "Fashion-MNIST",
        "IMDB (sequences)",
        "IMDB (raw text)",
        "CIFAR-100",
    ]
    assert rows[0]["source"] == "mirror" and rows[0]["verified"].startswith("yes")
    assert rows[3]["source"].startswith("unavailable")
    json.dumps(rows)
