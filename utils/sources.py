"""Where dataset files come from, and proof that they are the right files.

Every file is looked for, in this order:

1. the **Keras cache** (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``), where
   ``keras.datasets.*.load_data()`` keeps its downloads;
2. the **mirror folder** named by ``$KTT_DATA_MIRROR``: any folder laid out like the Keras
   cache (a USB stick in a classroom, a share on an air-gapped machine, CI's
   ``../shared/datasets``);
3. a **system copy** installed by a package (Debian's ``dataset-fashion-mnist``);
4. a **download** with ``keras.utils.get_file`` and the known hash, after a network probe that
   gives up within about a second (never TFDS's minutes-long retry loop);

and a copy that is found but fails its SHA-256 check is an error naming the file and the fix —
it is never used and never silently skipped.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import socket
import threading
import time
from pathlib import Path

MIRROR_ENV = "KTT_DATA_MIRROR"
OFFLINE_ENV = "KTT_OFFLINE"
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NETWORK_PROBE = ("storage.googleapis.com", 443)
NETWORK_TIMEOUT_S = 1.0
PROBE_MEMORY_S = 60.0
_PROBES: dict[tuple[str, int], tuple[float, bool]] = {}

# System copies installed by OS packages (module attributes so tests can point them elsewhere).
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}


class DataNotFoundError(FileNotFoundError):
    """No copy of a dataset file could be found or downloaded."""


class DataCorruptError(OSError):
    """A copy was found but is truncated or corrupted (its hash does not match)."""


@dataclasses.dataclass(frozen=True)
class FileSpec:
    """One dataset file: its path relative to the cache/mirror root, hash and origin URL."""

    relpath: str
    sha256: str
    url: str | None = None
    content_sha256: str | None = None  # of the decompressed bytes, for re-packed .gz copies
    system: str | None = None  # key into SYSTEM_DIRS


@dataclasses.dataclass(frozen=True)
class Located:
    path: Path
    source: str  # "cache" | "mirror" | "system copy" | "download"


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


def sha256_of(path: Path, *, decompress: bool = False) -> str:
    """SHA-256 of a file (of its gunzipped content when ``decompress``)."""
    h = hashlib.sha256()
    opener = gzip.open if decompress else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fix_hint(source: str, path: Path) -> str:
    if source == "cache":
        return f"delete {path} and run `make data` again to fetch a good copy"
    if source == "mirror":
        return (
            f"replace {path} with a good copy (check the mirror with `sha256sum -c SHA256SUMS` "
            f"in {path.parent}) or unset {MIRROR_ENV}"
        )
    return f"reinstall the package that provides {path} (e.g. `apt-get install --reinstall ...`)"


def verify(spec: FileSpec, path: Path, source: str) -> Path:
    """Checks a found copy against the spec's hash; raises DataCorruptError naming the fix."""
    try:
        if source == "system copy" and spec.content_sha256:
            ok = sha256_of(path, decompress=True) == spec.content_sha256
        else:
            ok = sha256_of(path) == spec.sha256
    except (OSError, EOFError, gzip.BadGzipFile) as exc:  # truncated gzip, unreadable file
        raise DataCorruptError(f"{path} is unreadable ({exc}); {_fix_hint(source, path)}") from None
    if not ok:
        raise DataCorruptError(
            f"{path} is truncated or corrupted (SHA-256 mismatch); {_fix_hint(source, path)}"
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


def network_available(timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether the Keras download host answers, decided within ``timeout`` seconds.

    Runs the probe (DNS lookup included, which ignores socket timeouts) in a daemon thread so a
    black-holed network cannot stall the caller. ``KTT_OFFLINE=1`` skips the probe.
    """
    if os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    cached = _PROBES.get(NETWORK_PROBE)
    if cached is not None and time.monotonic() - cached[0] < PROBE_MEMORY_S:
        return cached[1]  # one probe answers for all files of a load: errors stay fast
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(NETWORK_PROBE, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.2)
    answer = bool(result and result[0])
    _PROBES[NETWORK_PROBE] = (time.monotonic(), answer)
    return answer


def how_to_get(name: str, spec: FileSpec) -> str:
    lines = [
        f"No copy of {name} ({spec.relpath}) was found, and it could not be downloaded.",
        "Ways to get it:",
        f"  - with internet: run `make data` (downloads into {keras_cache_dir()})",
        f"  - offline: copy it to {keras_cache_dir() / spec.relpath}, or set {MIRROR_ENV} to a "
        f"folder that holds {spec.relpath} (CI uses ../shared/datasets)",
    ]
    if spec.system == "fashion-mnist":
        lines.append("  - on Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist`")
    lines.append(
        "  - or ask for synthetic stand-in data (standin='fallback' / quick mode): "
        "the numbers then mean nothing"
    )
    return "\n".join(lines)


def download(spec: FileSpec) -> Located:
    """Downloads into the Keras cache with ``keras.utils.get_file`` and checks the hash."""
    if spec.url is None or not network_available():
        raise DataNotFoundError(spec.relpath)
    from keras.utils import get_file

    rel = Path(spec.relpath)
    subdir = str(Path("datasets") / rel.parent) if str(rel.parent) != "." else "datasets"
    home = keras_cache_dir().parent
    try:
        path = get_file(
            rel.name,
            origin=spec.url,
            file_hash=spec.sha256,
            cache_subdir=subdir,
            cache_dir=str(home),
        )
    except Exception as exc:
        raise DataNotFoundError(f"download of {spec.url} failed: {exc}") from None
    return Located(verify(spec, Path(path), "cache"), "download")


def locate(name: str, spec: FileSpec, *, allow_download: bool = True) -> Located:
    """A verified copy of one file from cache, mirror, system copy or download (in that order)."""
    found = find_local(spec)
    if found is not None:
        return found
    if allow_download:
        try:
            return download(spec)
        except DataNotFoundError:
            pass
    raise DataNotFoundError(how_to_get(name, spec))
