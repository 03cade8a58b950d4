"""Fixtures shared by the data tests: an isolated machine and a tiny fake Fashion-MNIST.

Test modules load them with ``pytest_plugins = ["datafiles"]``. They build small datasets in a
temporary folder and point the file specs at them, so the tests run in milliseconds without the
real files; tests marked ``needs_mirror`` use the real mirror when ``KTT_DATA_MIRROR`` is set.

PYTEST_DONT_REWRITE: this module holds no asserts, and test modules import its helpers before
pytest loads it as a plugin (without the marker pytest warns that it cannot rewrite it).
"""

import dataclasses
import gzip
import hashlib
import os
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
    """Empty Keras cache, no mirror, no system copy, no network, full mode."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("KTT_DATA_MIRROR", raising=False)
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
