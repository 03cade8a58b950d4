"""utils.cifar100: reading a (fake) archive, a corrupted extracted folder, the stand-in's shapes
and label ranges, and the class tables.
"""

import dataclasses
import io
import pickle
import tarfile

import numpy as np
import pytest
from datafiles import sha

from utils import cifar100, data

pytest_plugins = ["datafiles"]


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
        cifar100.CIFAR100_TAR, sha256=sha((mirror / "cifar-100-python.tar.gz").read_bytes())
    )
    monkeypatch.setattr(cifar100, "CIFAR100_TAR", spec)
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
