"""The classroom data server (``KTT_DATA_URL``): a plain HTTP folder laid out like the mirror.

A real ``http.server`` on 127.0.0.1 (datafiles.serving) serves the files. The loaders fetch from
it before any public origin, even with ``KTT_OFFLINE=1`` (as in CI), keep what they fetched in the
Keras cache only when its SHA-256 matches, and fail within seconds, naming the URL, when the
server is dead, silent or answers with an error. A server error is never replaced by a stand-in.
"""

import socket
import threading
import time

import numpy as np
import pytest
from datafiles import MIRROR, QuietHandler, needs_mirror, serving, sha

from utils import data, sources

pytest_plugins = ["datafiles"]

FASHION_FILE = "fashion-mnist/train-images-idx3-ubyte.gz"


@pytest.fixture
def served_fashion(fake_fashion, isolated, monkeypatch):
    """The fake Fashion-MNIST behind a data server instead of a mirror; CI's KTT_OFFLINE=1 set."""
    mirror, arrays = fake_fashion
    monkeypatch.delenv("KTT_DATA_MIRROR")
    monkeypatch.setenv("KTT_OFFLINE", "1")
    with serving(mirror) as url:
        monkeypatch.setenv("KTT_DATA_URL", url)
        yield url, mirror, arrays


def cache_files(isolated):
    root = isolated / "keras" / "datasets"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_full_mode_loader_gets_the_data_from_the_server_and_keeps_it(served_fashion, isolated):
    _, _, arrays = served_fashion
    loaded = data.load_fashion_mnist()
    assert loaded.source == "data server" and not loaded.synthetic
    assert np.array_equal(loaded[0][0], arrays["train_images"])
    assert len(cache_files(isolated)) == 4  # kept in the Keras cache, no .part files left
    again = data.load_fashion_mnist()
    assert again.source == "cache"


def test_a_truncated_served_file_is_an_error_and_is_not_cached(served_fashion, isolated):
    url, mirror, _ = served_fashion
    victim = mirror / FASHION_FILE
    good = victim.read_bytes()
    victim.write_bytes(good[: len(good) // 2])
    with pytest.raises(data.DataCorruptError) as err:
        data.load_fashion_mnist(standin="fallback")  # a bad copy is never replaced by a stand-in
    assert url + FASHION_FILE in str(err.value) and "nothing was kept" in str(err.value)
    assert FASHION_FILE not in cache_files(isolated)
    assert not any(name.endswith(".part") for name in cache_files(isolated))
    victim.write_bytes(good)  # the teacher fixes the file: the next load works
    assert data.load_fashion_mnist().source == "cache + data server"  # the good ones were kept


class CutShortHandler(QuietHandler):
    """Promises the whole file (Content-Length) and sends half of it."""

    def copyfile(self, source, outputfile):
        raw = source.read()
        outputfile.write(raw[: len(raw) // 2])


def test_a_transfer_cut_short_is_an_error_naming_the_url(served_fashion, isolated, monkeypatch):
    _, mirror, _ = served_fashion
    with serving(mirror, CutShortHandler) as url:
        monkeypatch.setenv("KTT_DATA_URL", url)
        with pytest.raises(data.DataServerError, match=url):
            data.load_fashion_mnist()
    assert cache_files(isolated) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("quick", ["0", "1"])
def test_a_closed_port_fails_within_seconds_naming_the_url(isolated, monkeypatch, quick):
    monkeypatch.setenv("KTT_QUICK", quick)  # quick mode too: no stand-in hides a dead server
    url = f"http://127.0.0.1:{free_port()}/"
    monkeypatch.setenv("KTT_DATA_URL", url)
    start = time.perf_counter()
    with pytest.raises(data.DataServerError) as err:
        data.load_fashion_mnist()
    assert time.perf_counter() - start < 3
    assert url in str(err.value) and "KTT_DATA_URL" in str(err.value)


def test_a_silent_server_fails_within_its_timeout(isolated, monkeypatch):
    """Connects, then never answers (a hung process): the read timeout ends the wait."""
    monkeypatch.setattr(sources, "SERVER_TIMEOUT_S", 1.0)
    listener = socket.create_server(("127.0.0.1", 0))  # accepts connections, never replies
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    monkeypatch.setenv("KTT_DATA_URL", url)
    try:
        start = time.perf_counter()
        with pytest.raises(data.DataServerError, match=url):
            data.load_fashion_mnist()
        assert time.perf_counter() - start < 3
    finally:
        listener.close()


class BrokenHandler(QuietHandler):
    def do_GET(self):
        self.send_error(500, "disk on fire")


def test_a_server_error_is_an_error_naming_the_url(isolated, monkeypatch):
    with serving(isolated, BrokenHandler) as url:
        monkeypatch.setenv("KTT_DATA_URL", url)
        with pytest.raises(data.DataServerError, match="HTTP 500") as err:
            data.load_fashion_mnist()
    assert url in str(err.value)


def test_a_server_without_the_file_says_so(isolated, monkeypatch):
    """A server of the wrong folder answers 404: the lookup goes on, and the error says why."""
    (isolated / "empty").mkdir()
    with serving(isolated / "empty") as url:
        monkeypatch.setenv("KTT_DATA_URL", url)
        with pytest.raises(data.DataNotFoundError) as err:
            data.load_fashion_mnist()
    assert f"the data server {url} has no fashion-mnist/" in str(err.value)


@pytest.mark.parametrize("value", ["192.168.1.10:8000", "ftp://host/datasets/"])
def test_a_malformed_address_is_an_error_naming_the_variable(isolated, monkeypatch, value):
    monkeypatch.setenv("KTT_DATA_URL", value)
    with pytest.raises(data.DataServerError, match="KTT_DATA_URL"):
        data.load_fashion_mnist()


class CountingHandler(QuietHandler):
    requests: list[str] = []

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()


def test_the_server_comes_before_the_public_origin(isolated, monkeypatch):
    payload = b"the file"
    origin_dir, server_dir, empty = isolated / "origin", isolated / "server", isolated / "empty"
    for folder in (origin_dir, server_dir, empty):
        folder.mkdir()
    (origin_dir / "thing.bin").write_bytes(payload)
    (server_dir / "thing.bin").write_bytes(payload)
    monkeypatch.setattr(sources, "network_available", lambda timeout=1.0: True)
    CountingHandler.requests = []
    with serving(origin_dir, CountingHandler) as origin, serving(server_dir) as server:
        spec = sources.FileSpec("thing.bin", sha(payload), origin + "thing.bin")
        monkeypatch.setenv("KTT_DATA_URL", server)
        assert sources.locate("thing", spec).source == "data server"
        assert CountingHandler.requests == []  # the origin was not asked
        (isolated / "keras" / "datasets" / "thing.bin").unlink()
        with serving(empty) as server_without_it:  # 404 there: on to the origin
            monkeypatch.setenv("KTT_DATA_URL", server_without_it)
            assert sources.locate("thing", spec).source == "download"
    assert CountingHandler.requests == ["/thing.bin"]


def test_offline_skips_the_public_origin_but_not_the_server(served_fashion, monkeypatch):
    probes = []
    monkeypatch.setattr(
        sources, "_connects", lambda address, timeout: probes.append(address) or True
    )
    assert sources.network_available() is False  # KTT_OFFLINE=1: no probe of the internet
    assert data.load_fashion_mnist().source == "data server"
    assert probes and all(host == "127.0.0.1" for host, _ in probes)


def test_concurrent_loads_do_not_share_a_partial_file(served_fashion, isolated):
    """Two notebooks fetching at once each write their own temporary file."""
    errors = []

    def load():
        try:
            data.load_fashion_mnist()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(cache_files(isolated)) == 4


@needs_mirror
def test_real_data_through_the_server_with_an_empty_cache_and_no_mirror(isolated, monkeypatch):
    """The teacher's `python -m http.server` in the real datasets folder; CI's KTT_OFFLINE=1."""
    monkeypatch.setenv("KTT_OFFLINE", "1")
    with serving(MIRROR) as url:
        monkeypatch.setenv("KTT_DATA_URL", url)
        fashion = data.load_fashion_mnist()
        reviews = data.load_imdb_text()
        word_index = data.imdb_word_index()
    (x, y), (xt, yt) = fashion
    assert fashion.source == "data server" and x.shape == (60000, 28, 28) and len(xt) == 10000
    (texts, labels), (test_texts, _) = reviews
    assert reviews.source == "data server" and len(texts) == len(test_texts) == 25000
    assert labels.mean() == pytest.approx(0.5) and word_index["the"] == 1
    assert (isolated / "keras" / "datasets" / "aclImdb_v1_labelled.tar.gz").is_file()
