"""utils.tfds_data: TensorFlow Datasets copies prepared offline from the files the project locates.

- TFDS's builders register the same SHA-256 as the project's file specs (else TFDS would refuse
  the files), and Debian's re-compressed copy is turned back into the upstream bytes;
- the prepared Fashion-MNIST holds exactly the examples of ``load_fashion_mnist()``, in TFDS's
  documented order (sorted by the MD5 of the split name and each example's index);
- no copy and no network is an error within 2 s that names ``make data``; quick mode gets a
  loud stand-in; a corrupted file is never replaced by one; bad arguments name themselves.
"""

import dataclasses
import gzip
import hashlib
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from utils import data, fashion_mnist, sources, tfds_data

pytest_plugins = ["datafiles"]

from datafiles import MIRROR  # noqa: E402

tfds = pytest.importorskip("tensorflow_datasets")
SYSTEM_COPY = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def tfds_isolated(isolated, monkeypatch):
    """datafiles' isolated machine (no data, no network, full mode), with its own TFDS folder."""
    monkeypatch.delenv(tfds_data.TFDS_DIR_ENV, raising=False)
    return isolated


def test_the_tfds_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(tfds_data.TFDS_DIR_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert tfds_data.tfds_dir() == tmp_path / "keras" / "datasets" / "tensorflow_datasets"
    monkeypatch.setenv(tfds_data.TFDS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert tfds_data.tfds_dir() == tmp_path / "elsewhere"


@pytest.mark.parametrize("name", sorted(tfds_data.TFDS_FILES))
def test_tfds_registers_the_files_the_project_locates(name, tmp_path):
    """TFDS checks every file it reads against its own registry: the same hashes and sizes."""
    builder = tfds.builder(name, data_dir=str(tmp_path))
    registered = {info.checksum: info for info in builder.url_infos.values()}
    for spec in tfds_data.files_for(name):
        assert spec.sha256 in registered, f"{name}: TFDS does not register {spec.relpath}"
        info = registered[spec.sha256]
        assert info.filename == Path(spec.relpath).name
        if spec.size is not None:
            assert info.size == spec.size


def _debian_style(upstream: bytes) -> bytes:
    """What Debian's package did to each file: the same stream, no file name, another date."""
    name_end = upstream.index(b"\0", 10) + 1
    return (
        b"\x1f\x8b\x08\x00" + struct.pack("<I", 1591347949) + upstream[8:10] + upstream[name_end:]
    )


def test_a_debian_style_copy_is_reheadered_to_the_upstream_bytes(tmp_path):
    spec = fashion_mnist.FASHION_MNIST_FILES["test_labels"]
    raw = b"\0\0\x08\x01" + bytes(range(10)) * 3
    with gzip.GzipFile(tmp_path / "t10k-labels-idx1-ubyte", "wb", mtime=1504176627) as packed:
        packed.write(raw)  # GzipFile writes the file name into the header, as upstream's gzip did
    upstream = (tmp_path / "t10k-labels-idx1-ubyte").read_bytes()
    spec = dataclasses.replace(spec, sha256=hashlib.sha256(upstream).hexdigest())
    debian = tmp_path / "debian.gz"
    debian.write_bytes(_debian_style(upstream))
    assert gzip.decompress(debian.read_bytes()) == raw and debian.read_bytes() != upstream
    tfds_data._upstream_gzip(spec, debian, tmp_path / "rebuilt.gz")
    assert (tmp_path / "rebuilt.gz").read_bytes() == upstream
    other = tmp_path / "other.gz"
    other.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))  # no name: Debian-style
    with pytest.raises(data.DataNotFoundError, match="compressed differently"):
        tfds_data._upstream_gzip(spec, other, tmp_path / "refused.gz")
    assert not (tmp_path / "refused.gz").exists()


@pytest.mark.skipif(not SYSTEM_COPY.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_the_real_debian_copy_becomes_the_upstream_files(tmp_path):
    for spec in fashion_mnist.FASHION_MNIST_FILES.values():
        target = tmp_path / Path(spec.relpath).name
        tfds_data._upstream_gzip(spec, SYSTEM_COPY / target.name, target)
        assert sources.sha256_of(target) == spec.sha256


@pytest.mark.parametrize(
    "call,error,argument",
    [
        (lambda: tfds_data.find_or_prepare(3), TypeError, "name"),
        (lambda: tfds_data.find_or_prepare(""), ValueError, "name"),
        (lambda: tfds_data.find_or_prepare("Fashion MNIST"), ValueError, "name"),
        (lambda: tfds_data.find_or_prepare("no_such_dataset"), ValueError, "name"),
        (
            lambda: tfds_data.find_or_prepare("fashion_mnist", standin="maybe"),
            ValueError,
            "standin",
        ),
        (lambda: tfds_data.prepare("mnist"), ValueError, "name"),
        (lambda: tfds_data.is_prepared(None), TypeError, "name"),
        (lambda: tfds_data.load_tfds("fashion_mnist", 3), TypeError, "split"),
        (lambda: tfds_data.load_tfds("fashion_mnist", []), TypeError, "split"),
        (lambda: tfds_data.load_tfds("fashion_mnist", ["train", 2]), TypeError, "split"),
        (lambda: tfds_data.load_tfds("fashion_mnist", ["train", " "]), ValueError, "split"),
        (
            lambda: tfds_data.load_tfds("fashion_mnist", "train", data_dir="/x"),
            TypeError,
            "data_dir",
        ),
        (
            lambda: tfds_data.load_tfds("fashion_mnist", "train", download=True),
            TypeError,
            "download",
        ),
        (
            lambda: tfds_data.load_tfds("fashion_mnist", "train", as_supervised="yes"),
            TypeError,
            "as_supervised",
        ),
    ],
)
def test_bad_arguments_name_themselves(tfds_isolated, call, error, argument):
    with pytest.raises(error, match=argument):
        call()


@pytest.mark.parametrize("name", ["fashion_mnist", "imdb_reviews", "mnist"])
def test_no_copy_and_no_network_fails_fast_naming_make_data(tfds_isolated, name):
    tfds_data.is_prepared(name)  # TensorFlow and TFDS imported: time only the lookup
    start = time.perf_counter()
    with pytest.raises(data.DataNotFoundError, match="make data") as error:
        tfds_data.find_or_prepare(name)
    assert time.perf_counter() - start < 2.0
    assert str(tfds_data.tfds_dir()) in str(error.value)
    if name in tfds_data.NOT_READY_WHY:
        assert "aclImdb_v1.tar.gz" in str(error.value)
    assert not tfds_data.is_prepared(name)


def test_a_corrupted_file_is_an_error_even_in_quick_mode(tfds_isolated, monkeypatch):
    monkeypatch.setenv("KTT_QUICK", "1")
    spec = fashion_mnist.FASHION_MNIST_FILES["train_labels"]
    victim = sources.keras_cache_dir() / spec.relpath
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"not the labels")
    with pytest.raises(data.DataCorruptError, match=str(victim)):
        tfds_data.find_or_prepare("fashion_mnist")


def test_quick_mode_without_data_gets_a_loud_stand_in(tfds_isolated, monkeypatch, capsys):
    monkeypatch.setenv("KTT_QUICK", "1")
    copy = tfds_data.find_or_prepare("fashion_mnist")
    assert copy.synthetic and copy.source == "stand-in" and "SYNTHETIC" in str(copy)
    assert "!!! SYNTHETIC STAND-IN for TFDS fashion_mnist" in capsys.readouterr().out
    assert not str(copy.data_dir).startswith(str(tfds_data.tfds_dir()))  # never in the real one
    (train, test), info = tfds_data.load_tfds(
        "fashion_mnist", ["train[:90%]", "test"], as_supervised=True, with_info=True
    )
    n_train, n_test = tfds_data.STANDIN_SIZES["fashion_mnist"]
    assert (len(train), len(test)) == (n_train * 9 // 10, n_test)
    assert info.features["label"].names == list(fashion_mnist.FASHION_MNIST_CLASSES)
    image, label = next(iter(train))
    assert image.shape == (28, 28, 1) and image.dtype.name == "uint8" and 0 <= int(label) < 10
    assert tfds_data.find_or_prepare("fashion_mnist", standin="fallback").data_dir == copy.data_dir
    monkeypatch.setenv("KTT_QUICK", "0")
    with pytest.raises(data.DataNotFoundError, match="Quick mode would use"):
        tfds_data.find_or_prepare("fashion_mnist")


def tfds_order(split: str, n: int) -> np.ndarray:
    """The order in which TFDS writes examples keyed 0..n-1: by MD5(split name + key)."""
    hasher = tfds.core.hashing.Hasher(split)
    return np.array(sorted(range(n), key=hasher.hash_key))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Fashion-MNIST prepared by TFDS in a fresh folder from Debian's copy when the machine has
    it (the re-headered route), else from the mirror; no Keras cache, no network."""
    folder = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(folder / "keras"))
        patch.setenv(tfds_data.TFDS_DIR_ENV, str(folder / "tfds"))
        patch.setenv("KTT_OFFLINE", "1")
        patch.delenv("KTT_DATA_URL", raising=False)
        if SYSTEM_COPY.is_dir():
            patch.delenv("KTT_DATA_MIRROR", raising=False)
        elif not MIRROR or not Path(MIRROR).is_dir():
            pytest.skip("neither Debian's copy nor the mirror (KTT_DATA_MIRROR) is here")
        copy = tfds_data.find_or_prepare("fashion_mnist", standin="never")
        again = tfds_data.find_or_prepare("fashion_mnist", standin="never")
        arrays = data.load_fashion_mnist(standin="never")
    return copy, again, arrays


def test_the_prepared_copy_holds_exactly_load_fashion_mnist(prepared):
    copy, again, arrays = prepared
    assert not copy.synthetic and copy.source.startswith("prepared from")
    assert again.source == "prepared copy" and again.data_dir == copy.data_dir
    splits, info = tfds.load(
        "fashion_mnist",
        split=["train", "test"],
        data_dir=str(copy.data_dir),
        download=False,
        as_supervised=True,
        with_info=True,
        batch_size=-1,
    )
    assert info.features["label"].names == list(fashion_mnist.FASHION_MNIST_CLASSES)
    for (images, labels), (x, y), split in zip(splits, arrays, ("train", "test"), strict=True):
        images, labels = np.asarray(images), np.asarray(labels)
        assert images.shape == (len(x), 28, 28, 1) and images.dtype == np.uint8
        order = tfds_order(split, len(x))
        np.testing.assert_array_equal(images[..., 0], x[order])
        np.testing.assert_array_equal(labels, y[order])
