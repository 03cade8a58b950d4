"""utils.sources: where files come from (cache, mirror, system copy, data server, download, in
that order; the data server has its own tests in test_data_server.py),
their SHA-256 checks, the fast network probe and the errors that name the fix.

The files are a tiny fake Fashion-MNIST (fixtures in datafiles.py), loaded through
``data.load_fashion_mnist``, as a student would.
"""

import dataclasses
import gzip
import importlib.util
import inspect
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from datafiles import serving, sha

from utils import data, sources

pytest_plugins = ["datafiles"]


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

    def hang(*args, **kwargs):  # a black-holed network: no answer for a long time
        time.sleep(5)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
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


def test_download_is_verified_and_a_bad_one_is_not_kept(isolated, monkeypatch):
    """The public origin (here a local server): the file lands in the Keras cache only when its
    SHA-256 matches; a tampered download is an error and leaves nothing behind."""
    good = b"payload"
    origin = isolated / "origin"
    origin.mkdir()
    (origin / "thing.bin").write_bytes(good)
    monkeypatch.setattr(sources, "network_available", lambda timeout=1.0: True)
    cached = isolated / "keras" / "datasets" / "thing.bin"
    with serving(origin) as url:
        spec = sources.FileSpec("thing.bin", sha(good), url + "thing.bin")
        assert sources.locate("thing", spec).source == "download"
        assert cached.read_bytes() == good
        cached.unlink()
        (origin / "thing.bin").write_bytes(b"tampered")
        with pytest.raises(sources.DataCorruptError, match="nothing was kept"):
            sources.locate("thing", spec)
    assert list(cached.parent.iterdir()) == []


def test_a_failed_download_says_why(isolated, monkeypatch):
    monkeypatch.setattr(sources, "network_available", lambda timeout=1.0: True)
    (isolated / "origin").mkdir()
    with serving(isolated / "origin") as url:
        spec = sources.FileSpec("thing.bin", sha(b"x"), url + "thing.bin")
        with pytest.raises(sources.DataNotFoundError, match="HTTP 404"):
            sources.locate("thing", spec)


def test_a_wrong_size_is_reported_as_such(fake_fashion, monkeypatch):
    mirror, _ = fake_fashion
    spec = data.FASHION_MNIST_FILES["train_labels"]
    sized = dataclasses.replace(spec, size=(mirror / spec.relpath).stat().st_size + 1)
    with pytest.raises(sources.DataCorruptError, match="bytes instead of"):
        sources.locate("labels", sized)


def test_mirror_variable_pointing_nowhere_is_an_error(isolated, monkeypatch):
    monkeypatch.setenv("KTT_DATA_MIRROR", str(isolated / "typo"))
    with pytest.raises(data.DataNotFoundError, match="KTT_DATA_MIRROR"):
        data.load_fashion_mnist()


def test_empty_mirror_is_not_found(isolated, monkeypatch):
    (isolated / "empty").mkdir()
    monkeypatch.setenv("KTT_DATA_MIRROR", str(isolated / "empty"))
    with pytest.raises(data.DataNotFoundError):
        data.load_fashion_mnist()


def test_messages_name_only_commands_and_arguments_that_exist():
    """Every `make X`, `python -m X` and keyword the error texts suggest must exist and work."""
    root = Path(__file__).resolve().parent.parent
    text = "\n".join(p.read_text() for p in sorted((root / "utils").glob("*.py")))
    targets = set(re.findall(r"`make (\w+)", text))
    makefile = (root / "Makefile").read_text()
    assert targets and targets <= set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    modules = set(re.findall(r"python -m ([\w.]+)", text))
    assert "utils.data" in modules
    assert all(importlib.util.find_spec(m) is not None for m in modules), modules
    loaders = [data.load_fashion_mnist, data.load_imdb, data.load_imdb_text, data.load_cifar100]
    data_modules = ("sources", "standins", "fashion_mnist", "imdb", "cifar100", "data_report")
    hints = "\n".join((root / "utils" / f"{m}.py").read_text() for m in data_modules)
    keywords = set(re.findall(r"\b(\w+)='\w+'", hints))  # written standin='fallback' in a message
    assert keywords == {"standin"}
    assert all("standin" in inspect.signature(f).parameters for f in loaders)
    assert "allow_standin" not in text
