"""Fixtures shared by the data tests: an isolated machine, a tiny fake Fashion-MNIST, fake aclImdb
archives in both layouts, and a local HTTP data server.

Test modules load them with ``pytest_plugins = ["datafiles"]``. They build small datasets in a
temporary folder and point the file specs at them, so the tests run in milliseconds without the
real files; tests marked ``needs_mirror`` use the real mirror when ``KTT_DATA_MIRROR`` is set.
:func:`serving` serves a folder on 127.0.0.1 the way ``python -m http.server`` does.

PYTEST_DONT_REWRITE: this module holds no asserts, and test modules import its helpers before
pytest loads it as a plugin (without the marker pytest warns that it cannot rewrite it).
"""

import contextlib
import dataclasses
import functools
import gzip
import hashlib
import http.server
import io
import os
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from utils import fashion_mnist, sources

MIRROR = os.environ.get("KTT_DATA_MIRROR")
needs_mirror = pytest.mark.skipif(
    not MIRROR or not Path(MIRROR).is_dir(), reason="real-data mirror not set (KTT_DATA_MIRROR)"
)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def idx_bytes(arr: np.ndarray, header_len: int) -> bytes:
    return b"\0" * header_len + arr.astype(np.uint8).tobytes()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty Keras cache, no mirror, no data server, no system copy, no network, full mode."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("KTT_DATA_MIRROR", raising=False)
    monkeypatch.delenv("KTT_DATA_URL", raising=False)
    monkeypatch.setenv("KTT_QUICK", "0")
    monkeypatch.setattr(sources, "SYSTEM_DIRS", {"fashion-mnist": tmp_path / "system"})
    monkeypatch.setattr(sources, "network_available", lambda timeout=1.0: False)
    return tmp_path


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
    for key, spec in fashion_mnist.FASHION_MNIST_FILES.items():
        raw = idx_bytes(arrays[key], 16 if "images" in key else 8)
        packed = gzip.compress(raw, mtime=0)
        path = mirror / spec.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(packed)
        specs[key] = dataclasses.replace(spec, sha256=sha(packed), content_sha256=sha(raw))
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST_FILES", specs)
    monkeypatch.setenv("KTT_DATA_MIRROR", str(mirror))
    return mirror, arrays


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """``python -m http.server``'s handler, without its log line per request."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(folder: Path, handler=QuietHandler):
    """Serves ``folder`` over HTTP on 127.0.0.1 (a free port) in a thread; yields the URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _add(tar: tarfile.TarFile, name: str, text: str) -> None:
    raw = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(raw)
    tar.addfile(info, io.BytesIO(raw))


def make_aclimdb(path: Path, n: int = 3, *, original: bool = False) -> None:
    """A tiny aclImdb archive: ``n`` reviews per split and polarity.

    ``original=False``: the labelled repack's layout (train/test × pos/neg and a few text files).
    ``original=True``: Stanford's aclImdb_v1.tar.gz layout, which adds ``train/unsup/``
    (unlabelled reviews, rating 0) and the ``*.feat`` bag-of-words files, in another order.
    """
    reviews = [
        (split, pol, i, f"{'great fun' if pol == 'pos' else 'awful bore'} movie {i}!")
        for split in ("train", "test")
        for pol in ("neg", "pos")
        for i in range(n)
    ]
    if original:
        reviews.reverse()  # archive order must not matter
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "aclImdb/README", "Large Movie Review Dataset v1.0")
        _add(tar, "aclImdb/imdb.vocab", "the\nmovie\n")
        for split, pol, i, text in reviews:
            _add(tar, f"aclImdb/{split}/{pol}/{i}_{7 if pol == 'pos' else 2}.txt", text)
        if original:
            for i in range(n):
                _add(tar, f"aclImdb/train/unsup/{i}_0.txt", f"unlabelled review {i}")
            for split in ("train", "test"):
                _add(tar, f"aclImdb/{split}/labeledBow.feat", "7 0:1 1:2\n")
                _add(tar, f"aclImdb/{split}/urls_pos.txt", "http://www.imdb.com/title/tt0/\n")
            _add(tar, "aclImdb/train/unsupBow.feat", "0 0:1\n")
