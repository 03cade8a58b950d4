"""Where dataset files come from, and proof that they are the right files.

Every file is looked for, in this order:

1. the **Keras cache** (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``), where
   ``keras.datasets.*.load_data()`` keeps its downloads;
2. the **mirror folder** named by ``$KTT_DATA_MIRROR``: any folder laid out like the Keras
   cache (a USB stick in a classroom, a share on an air-gapped machine, CI's
   ``../shared/datasets``);
3. a **system copy** installed by a package (Debian's ``dataset-fashion-mnist``);
4. the **data server** named by ``$KTT_DATA_URL``: a plain HTTP folder laid out like the mirror
   (a teacher runs ``python -m http.server 8000`` in a datasets folder; students set
   ``KTT_DATA_URL=http://<teacher's machine>:8000/``);
5. a **download** from the file's public origin, after a network probe that gives up within
   about a second (never TFDS's minutes-long retry loop); ``KTT_OFFLINE=1`` skips it.

Files fetched from the data server or downloaded are written to a temporary file, checked
(SHA-256) and only then moved into the Keras cache: a file that fails its check is deleted and
is an error that names its URL, never kept and never used. A copy that is found but fails its
check is an error naming the file and the fix; it is never used and never silently skipped.

``KTT_OFFLINE=1`` only skips the public internet: a data server named by ``KTT_DATA_URL`` is
still used (setting it is an explicit choice). A data server that does not answer, or answers
with an error, is a :class:`DataServerError` within about :data:`SERVER_TIMEOUT_S` seconds that
names the URL; the loaders never replace it by a stand-in. A server that simply lacks a file
(HTTP 404) sends the lookup on to the public origin.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ._checks import check_str

MIRROR_ENV = "KTT_DATA_MIRROR"
DATA_URL_ENV = "KTT_DATA_URL"
OFFLINE_ENV = "KTT_OFFLINE"
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NETWORK_PROBE = ("storage.googleapis.com", 443)
NETWORK_TIMEOUT_S = 1.0
PROBE_MEMORY_S = 60.0
SERVER_TIMEOUT_S = 5.0  # the data server: to connect, and between two blocks of a transfer
DOWNLOAD_TIMEOUT_S = 60.0  # a public origin: the same, across the internet
_PROBES: dict[tuple[str, int], tuple[float, bool]] = {}

# System copies installed by OS packages (module attributes so tests can point them elsewhere).
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
SYSTEM_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}


class DataNotFoundError(FileNotFoundError):
    """No copy of a dataset file could be found or downloaded."""


class DataCorruptError(OSError):
    """A copy was found, served or downloaded but is truncated or corrupted (its hash differs)."""


class DataServerError(OSError):
    """The data server named by ``$KTT_DATA_URL`` did not answer, or answered with an error."""


@dataclasses.dataclass(frozen=True)
class FileSpec:
    """One dataset file: its path relative to the cache/mirror root, hash and origin URL."""

    relpath: str
    sha256: str
    url: str | None = None
    content_sha256: str | None = None  # of the decompressed bytes, for re-packed .gz copies
    system: str | None = None  # key into SYSTEM_DIRS
    size: int | None = None  # in bytes, when known: a wrong size is reported as such


@dataclasses.dataclass(frozen=True)
class Located:
    path: Path
    source: str  # "cache" | "mirror" | "system copy" | "data server" | "download"


def keras_cache_dir() -> Path:
    """Where Keras keeps downloads: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def mirror_dir() -> Path | None:
    """The mirror folder from ``$KTT_DATA_MIRROR``, or None when unset.

    A variable that is set but points nowhere is an error: a typo must not look like 'no mirror'.
    """
    raw = os.environ.get(MIRROR_ENV, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(
            f"{MIRROR_ENV}={raw!r} is not a folder. Point it at a folder laid "
            "out like ~/.keras/datasets, or unset it."
        )
    return path


def data_url() -> str | None:
    """The data server's folder URL from ``$KTT_DATA_URL`` (ending in ``/``), or None when unset.

    A value that is not an ``http://`` or ``https://`` address is a DataServerError.
    """
    raw = os.environ.get(DATA_URL_ENV, "").strip()
    if not raw:
        return None
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataServerError(
            f"{DATA_URL_ENV}={raw!r} is not an http:// address. Set it to the folder the "
            "teacher serves, e.g. http://192.168.1.10:8000/, or unset it."
        )
    return raw if raw.endswith("/") else raw + "/"


def offline() -> bool:
    """True when ``KTT_OFFLINE`` asks to skip the public internet."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def sha256_of(path: Path, *, decompress: bool = False) -> str:
    """SHA-256 of a file (of its gunzipped content when ``decompress``)."""
    h = hashlib.sha256()
    opener = gzip.open if decompress else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fix_hint(spec: FileSpec, source: str, path: Path) -> str:
    if source == "cache":
        return (
            f"delete {path} and load the data again: the next good copy found (mirror, data "
            "server or download) takes its place"
        )
    if source == "mirror":
        return (
            f"replace {path} with a good copy (when the mirror has a SHA256SUMS file, "
            f"`sha256sum -c SHA256SUMS` in {path.parent} lists the bad files) or unset {MIRROR_ENV}"
        )
    package = SYSTEM_PACKAGES.get(spec.system or "", "the package that provides it")
    return f"reinstall {package} (`sudo apt-get install --reinstall {package}`) or delete {path}"


def verify(spec: FileSpec, path: Path, source: str) -> Path:
    """Checks a found copy against the spec's hash; raises DataCorruptError naming the fix."""
    if source != "system copy" and spec.size is not None and path.stat().st_size != spec.size:
        raise DataCorruptError(
            f"{path} has {path.stat().st_size:,} bytes instead of {spec.size:,} (truncated or "
            f"another file); {_fix_hint(spec, source, path)}"
        )
    try:
        if source == "system copy" and spec.content_sha256:
            ok = sha256_of(path, decompress=True) == spec.content_sha256
        else:
            ok = sha256_of(path) == spec.sha256
    except (OSError, EOFError, gzip.BadGzipFile) as exc:  # truncated gzip, unreadable file
        raise DataCorruptError(
            f"{path} is unreadable ({exc}); {_fix_hint(spec, source, path)}"
        ) from None
    if not ok:
        raise DataCorruptError(
            f"{path} is truncated or corrupted (SHA-256 mismatch); {_fix_hint(spec, source, path)}"
        )
    return path


def candidates(spec: FileSpec):
    """(path, source) pairs where a copy may be, in lookup order."""
    yield keras_cache_dir() / spec.relpath, "cache"
    mirror = mirror_dir()
    if mirror is not None:
        yield mirror / spec.relpath, "mirror"
    if spec.system and spec.system in SYSTEM_DIRS:
        yield SYSTEM_DIRS[spec.system] / Path(spec.relpath).name, "system copy"


def find_local(spec: FileSpec) -> Located | None:
    """The first verified local copy, None when there is none; raises on a corrupted copy."""
    for path, source in candidates(spec):
        if path.is_file():
            return Located(verify(spec, path, source), source)
    return None


def _connects(address: tuple[str, int], timeout: float) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds.

    Runs in a daemon thread so that a DNS lookup (which ignores socket timeouts) or a
    black-holed network cannot stall the caller.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.2)
    return bool(result and result[0])


def network_available(timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether the Keras download host answers, decided within ``timeout`` seconds.

    ``KTT_OFFLINE=1`` skips the probe (and so every public download). One probe answers for all
    files of a load for a minute, so errors stay fast.
    """
    if offline():
        return False
    cached = _PROBES.get(NETWORK_PROBE)
    if cached is not None and time.monotonic() - cached[0] < PROBE_MEMORY_S:
        return cached[1]
    answer = _connects(NETWORK_PROBE, timeout)
    _PROBES[NETWORK_PROBE] = (time.monotonic(), answer)
    return answer


def _fetch(url: str, spec: FileSpec, *, source: str, timeout: float) -> Located | None:
    """Downloads ``url`` into the Keras cache and returns it, verified; None on HTTP 404.

    The bytes go to a temporary file beside the destination; it is moved into place only when
    its SHA-256 matches, and deleted otherwise. Transfer errors raise DataServerError for the
    data server and DataNotFoundError for a public origin; a wrong hash raises DataCorruptError.
    """
    dest = keras_cache_dir() / spec.relpath
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(handle)
    part = Path(name)  # one per fetch: two notebooks fetching at once never share it
    failure = DataServerError if source == "data server" else DataNotFoundError
    size = f" ({spec.size / 1e6:.0f} MB)" if spec.size else ""
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            print(f"Fetching {url}{size} into {dest.parent} ...", flush=True)
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
                received += len(block)
            promised = response.headers.get("Content-Length")
        if promised is not None and promised.isdigit() and received < int(promised):
            raise http.client.IncompleteRead(b"", int(promised) - received)
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        if exc.code == 404:
            return None
        raise failure(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:  # refused, timed out, cut short
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        if isinstance(exc, http.client.IncompleteRead):
            reason = f"the transfer was cut short ({exc.expected:,} bytes missing)"
        raise failure(f"fetching {url} failed after {received:,} bytes: {reason}") from None
    except BaseException:  # KeyboardInterrupt included: never leave a partial file
        part.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != spec.sha256:
        part.unlink(missing_ok=True)
        expected = f", expected {spec.size:,}" if spec.size else ""
        raise DataCorruptError(
            f"{url} sent a copy of {spec.relpath} that fails its SHA-256 check ({received:,} "
            f"bytes{expected}); it was deleted, nothing was kept. The file at that address is "
            "truncated or corrupted: replace it there"
            + (
                f" (or check that {DATA_URL_ENV} names the datasets folder)"
                if source == "data server"
                else ""
            )
        )
    part.chmod(0o644)  # mkstemp made it private; a cached dataset is readable like Keras's own
    os.replace(part, dest)
    return Located(dest, source)


def from_data_server(spec: FileSpec) -> Located | None:
    """The file from the data server of ``$KTT_DATA_URL``; None when unset or it lacks the file.

    A server that does not answer within SERVER_TIMEOUT_S seconds, or answers with an error
    other than 404, raises DataServerError naming the URL.
    """
    base = data_url()
    if base is None:
        return None
    parts = urllib.parse.urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not _connects((parts.hostname, port), SERVER_TIMEOUT_S):
        raise DataServerError(
            f"the data server {base} ({DATA_URL_ENV}) did not answer within "
            f"{SERVER_TIMEOUT_S:.0f} s. Check that the teacher's server is running (`python -m "
            f"http.server 8000` in the datasets folder) and reachable, or unset {DATA_URL_ENV}."
        )
    url = urllib.parse.urljoin(base, urllib.parse.quote(spec.relpath))
    try:
        return _fetch(url, spec, source="data server", timeout=SERVER_TIMEOUT_S)
    except DataServerError as exc:
        raise DataServerError(
            f"the data server {base} ({DATA_URL_ENV}) failed: {exc}. Check the teacher's server, "
            f"or unset {DATA_URL_ENV}."
        ) from None


def from_origin(spec: FileSpec) -> Located | None:
    """The file downloaded from its public origin; None when it has none or there is no internet.

    A failed transfer raises DataNotFoundError with the reason; a wrong hash DataCorruptError.
    """
    if spec.url is None or not network_available():
        return None
    found = _fetch(spec.url, spec, source="download", timeout=DOWNLOAD_TIMEOUT_S)
    if found is None:
        raise DataNotFoundError(f"{spec.url} answered HTTP 404 (not found)")
    return found


def how_to_get(name: str, specs: list[FileSpec], notes: list[str] = ()) -> str:
    """The error text for a file that could not be had: what was tried, and every way to get it."""
    relpaths = " or ".join(spec.relpath for spec in specs)
    lines = [f"No copy of {name} ({relpaths}) was found, and it could not be downloaded."]
    lines += [f"  ({note})" for note in notes]
    lines.append("Ways to get it:")
    if any(spec.url for spec in specs):
        lines.append(
            "  - with internet: load it again, or run `python -m utils.data` (`make data` in a "
            f"checkout), which downloads every dataset into {keras_cache_dir()}"
            + (f" (unset {OFFLINE_ENV} first: it is set)" if offline() else "")
        )
    lines += [
        f"  - from a classroom server: set {DATA_URL_ENV}=http://<teacher's machine>:8000/ "
        "(the teacher runs `python -m http.server 8000` in a folder laid out like "
        "~/.keras/datasets)",
        f"  - offline: copy it to {keras_cache_dir() / specs[0].relpath}, or set {MIRROR_ENV} to "
        f"a folder that holds {relpaths} (CI uses ../shared/datasets)",
    ]
    for spec in specs:
        if spec.system in SYSTEM_PACKAGES:
            lines.append(
                f"  - on Debian/Ubuntu: `sudo apt-get install {SYSTEM_PACKAGES[spec.system]}`"
            )
            break
    lines.append(
        "  - or ask for synthetic stand-in data (standin='fallback', or quick mode with "
        "KTT_QUICK=1): the numbers then mean nothing"
    )
    return "\n".join(lines)


def locate_any(
    name: str, specs: list[FileSpec], *, allow_download: bool = True
) -> tuple[FileSpec, Located]:
    """A verified copy of the first of ``specs`` (alternative forms of one dataset) to be found.

    Local copies of every form come first (cache, mirror, system copy, for each spec in order),
    then the data server for each, then each public origin. Returns ``(spec, located)``.
    """
    check_str("name", name)
    specs = list(specs)
    if not specs or not all(isinstance(spec, FileSpec) for spec in specs):
        raise TypeError(f"specs must be a non-empty list of FileSpec, got {specs!r}")
    for spec in specs:
        found = find_local(spec)
        if found is not None:
            return spec, found
    notes = []
    if allow_download:
        for spec in specs:
            found = from_data_server(spec)
            if found is not None:
                return spec, found
        if data_url() is not None:
            notes.append(
                f"the data server {data_url()} has no {' and no '.join(s.relpath for s in specs)}"
            )
        for spec in specs:
            try:
                found = from_origin(spec)
            except DataNotFoundError as exc:
                notes.append(str(exc))
                continue
            if found is not None:
                return spec, found
        if any(spec.url for spec in specs) and not network_available():
            reason = f"{OFFLINE_ENV} is set" if offline() else "no answer from the internet"
            notes.append(f"no download: {reason}")
    raise DataNotFoundError(how_to_get(name, specs, notes))


def locate(name: str, spec: FileSpec, *, allow_download: bool = True) -> Located:
    """A verified copy of one file: cache, mirror, system copy, data server, download (in order)."""
    if not isinstance(spec, FileSpec):
        raise TypeError(f"spec must be a FileSpec, got {type(spec).__name__}")
    return locate_any(name, [spec], allow_download=allow_download)[1]
