"""TensorFlow Datasets (TFDS) copies that work offline: where they live, how they are prepared.

``tfds.load(name)`` normally downloads a dataset and *prepares* it (converts it to TFDS's own
TFRecord files) under ``~/tensorflow_datasets``. Offline, its downloader retries for minutes
before it fails. This module prepares TFDS copies from the files the project already locates
and checks (:mod:`utils.sources`: Keras cache, ``$KTT_DATA_MIRROR``, Debian's system copy,
``$KTT_DATA_URL``, a public download) with TFDS's own builder, and no network:
``builder.download_and_prepare`` with ``DownloadConfig(manual_dir=<a folder holding the files
under TFDS's names>, try_download_gcs=False)``. TFDS checks each file against its own
registered SHA-256 too; the prepared copy holds the same examples as the source files, in the
fixed order in which TFDS writes them (sorted by an MD5 hash of the split name and each
example's key, the same on every machine).

**The TFDS folder** is ``$KTT_TFDS_DIR`` when set, otherwise ``tensorflow_datasets`` inside the
Keras cache (``$KERAS_HOME/datasets/tensorflow_datasets``, by default
``~/.keras/datasets/tensorflow_datasets``), so every dataset the project keeps is under one
folder. Notebooks read it with ``tfds.load(name, data_dir=<that folder>, download=False)``.

:func:`find_or_prepare` decides, within about two seconds when it can get nothing:

1. a copy already prepared in the TFDS folder is used as it is;
2. a dataset listed in :data:`TFDS_FILES` is prepared from located files (tens of seconds, once;
   ``make data`` does it ahead of time);
3. any other dataset is downloaded and prepared by TFDS itself, only when the network answers
   (:func:`utils.sources.network_available`; ``KTT_OFFLINE=1`` skips it): on Colab, say;
4. otherwise, in quick mode (or when asked: ``standin="fallback"`` / ``"only"``), a loud
   synthetic stand-in prepared the same way in a temporary folder (Fashion-MNIST only); in full
   mode a :class:`~utils.sources.DataNotFoundError` that names ``make data``.

Debian's ``dataset-fashion-mnist`` package compresses the same content with another gzip
header (no file name, another date), so TFDS's hash check would refuse it; its header is
rewritten to the upstream one and the result must match the upstream SHA-256 before use.

``imdb_reviews`` can be prepared only from Stanford's full ``aclImdb_v1.tar.gz`` (TFDS's builder
reads that archive and checks its hash); the offline mirror's ``aclImdb_v1_labelled.tar.gz`` is
a different archive, so without Stanford's it is not ready offline (``make data`` says so).
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from . import fashion_mnist, imdb, sources, standins
from ._checks import check_choice, check_str
from .mode import is_quick
from .sources import (
    OFFLINE_ENV,
    DataCorruptError,
    DataNotFoundError,
    FileSpec,
    Located,
    keras_cache_dir,
    locate,
    offline,
)

TFDS_DIR_ENV = "KTT_TFDS_DIR"

# The TFDS datasets this project can prepare from files it locates: TFDS name → the name the
# files are looked up under (the files themselves: files_for). TFDS's builder must register the
# same SHA-256 for each file (tests/test_tfds_data.py checks): it checks them again before use.
TFDS_FILES = {
    "fashion_mnist": "Fashion-MNIST",
    "imdb_reviews": "IMDB reviews (Stanford's aclImdb_v1.tar.gz)",
}
# Why a dataset of TFDS_FILES may not be ready offline although the project has its data.
NOT_READY_WHY = {
    "imdb_reviews": (
        "TFDS's builder reads Stanford's full aclImdb_v1.tar.gz (84 MB, with the unlabelled "
        "reviews) and checks its hash; the mirror's aclImdb_v1_labelled.tar.gz is another "
        "archive, so it cannot be prepared from it"
    ),
}
# The gzip header fields of the upstream Fashion-MNIST files that Debian's copy lacks.
_UPSTREAM_GZIP_MTIME = {
    "fashion-mnist/train-images-idx3-ubyte.gz": 1504176606,
    "fashion-mnist/train-labels-idx1-ubyte.gz": 1504176606,
    "fashion-mnist/t10k-images-idx3-ubyte.gz": 1504176627,
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": 1504176627,
}
STANDIN_SIZES = {"fashion_mnist": (10_000, 2_000)}  # train, test: enough for quick mode
_STANDIN_DIRS: dict[str, Path] = {}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class TfdsCopy:
    """A TFDS dataset ready for ``tfds.load(name, data_dir=data_dir, download=False)``."""

    name: str
    data_dir: Path
    source: str  # "prepared copy" | "prepared from <sources>" | "TFDS download" | "stand-in"
    synthetic: bool = False
    seconds: float = 0.0  # spent preparing it in this call

    def __str__(self) -> str:
        kind = "SYNTHETIC stand-in" if self.synthetic else "real"
        took = f" in {self.seconds:.0f} s" if self.seconds >= 1 else ""
        return f"TFDS {self.name}: {kind}, {self.source}{took}, in {self.data_dir}"


def tfds_dir() -> Path:
    """The one folder of prepared TFDS copies: ``$KTT_TFDS_DIR``, else the Keras cache's
    ``tensorflow_datasets`` folder."""
    raw = os.environ.get(TFDS_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else keras_cache_dir() / "tensorflow_datasets"


def _check_name(name) -> str:
    check_str("name", name)
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"name must be a TFDS dataset name such as 'fashion_mnist' (lower case, digits, _), "
            f"got {name!r}"
        )
    return name


def _builder(name: str, data_dir: Path):
    import tensorflow_datasets as tfds
    from absl import logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)  # not "Variant folder ... has no dataset_info.json"
    try:
        return tfds.builder(name, data_dir=os.fspath(data_dir))
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"name: TFDS has no dataset {name!r}") from None
    finally:
        logging.set_verbosity(verbosity)


def files_for(name: str) -> tuple[FileSpec, ...]:
    """The files TFDS's builder of ``name`` (a key of :data:`TFDS_FILES`) reads, as file specs
    (read when called, so tests can point them elsewhere)."""
    if name == "fashion_mnist":
        return tuple(fashion_mnist.FASHION_MNIST_FILES.values())
    if name == "imdb_reviews":
        return (imdb.ACLIMDB_ORIGINAL,)
    raise ValueError(f"name: the project prepares only {', '.join(TFDS_FILES)}, not {name!r}")


def is_prepared(name: str) -> bool:
    """Whether the TFDS folder holds a prepared copy of ``name``."""
    return _builder(_check_name(name), tfds_dir()).is_prepared()


def _upstream_gzip(spec: FileSpec, system_copy: Path, destination: Path) -> None:
    """Debian's copy of a Fashion-MNIST file with the upstream gzip header put back (the
    compressed stream is the same): the upstream file, byte for byte, or an error."""
    import hashlib
    import struct

    mtime = _UPSTREAM_GZIP_MTIME.get(spec.relpath)
    data = system_copy.read_bytes()
    if mtime is None or data[:4] != b"\x1f\x8b\x08\x00":
        raise DataNotFoundError(
            f"{system_copy}: not a gzip file this project knows how to re-header"
        )
    name = Path(spec.relpath).name.removesuffix(".gz").encode()
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + data[8:10] + name + b"\0"
    rebuilt = header + data[10:]
    if hashlib.sha256(rebuilt).hexdigest() != spec.sha256:
        raise DataNotFoundError(
            f"{system_copy} holds the right images but was compressed differently from the "
            "upstream file, so TFDS's hash check would refuse it; copy the upstream file to "
            f"{keras_cache_dir() / spec.relpath} (or set KTT_DATA_MIRROR)"
        )
    destination.write_bytes(rebuilt)


def _manual_files(name: str, builder, found: dict[FileSpec, Located], manual_dir: Path) -> None:
    """Puts each located file into ``manual_dir`` under the name TFDS's builder expects."""
    by_hash = {info.checksum: info.filename for info in (builder.url_infos or {}).values()}
    for spec, located in found.items():
        filename = by_hash.get(spec.sha256)
        if not filename:
            raise DataNotFoundError(f"TFDS's {name} builder does not register {spec.relpath}")
        target = manual_dir / filename
        if located.source == "system copy":
            _upstream_gzip(spec, located.path, target)
        else:
            target.symlink_to(located.path.resolve())


def prepare(name: str, *, allow_download: bool = True) -> TfdsCopy:
    """Prepares ``name`` (a key of :data:`TFDS_FILES`) in the TFDS folder from located files.

    The files are found and checked by :mod:`utils.sources` (``allow_download``: also the data
    server and the public origin), then TFDS's own builder reads them from a ``manual_dir`` with
    no network. A copy already prepared is returned as it is.
    """
    _check_name(name)
    if name not in TFDS_FILES:
        raise ValueError(
            f"name: the project prepares only {', '.join(sorted(TFDS_FILES))} from local files, "
            f"not {name!r} (TFDS can download it: find_or_prepare)"
        )
    folder = tfds_dir()
    builder = _builder(name, folder)
    if builder.is_prepared():
        return TfdsCopy(name, folder, "prepared copy")
    start = time.perf_counter()
    found = {
        spec: locate(TFDS_FILES[name], spec, allow_download=allow_download)
        for spec in files_for(name)
    }
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ktt-tfds-") as scratch:
        manual_dir = Path(scratch) / "manual"
        manual_dir.mkdir()
        _manual_files(name, builder, found, manual_dir)
        config = tfds.download.DownloadConfig(manual_dir=manual_dir, try_download_gcs=False)
        builder.download_and_prepare(
            download_dir=Path(scratch) / "downloads", download_config=config
        )
    sources = " + ".join(sorted({located.source for located in found.values()}))
    return TfdsCopy(name, folder, f"prepared from {sources}", seconds=time.perf_counter() - start)


def _standin(name: str, reason: str) -> TfdsCopy:
    """A synthetic stand-in, prepared by TFDS in a temporary folder (deleted at exit)."""
    if name not in STANDIN_SIZES:
        raise DataNotFoundError(f"{reason}; and there is no synthetic stand-in for {name}")
    standins.announce(f"TFDS {name}", reason)
    if name not in _STANDIN_DIRS:
        import tensorflow_datasets as tfds

        tfds.disable_progress_bar()
        folder = Path(tempfile.mkdtemp(prefix="ktt-tfds-standin-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        n_train, n_test = STANDIN_SIZES[name]
        (x_train, y_train), (x_test, y_test) = standins.fashion_mnist(n_train, n_test)
        builder = _builder(name, folder)

        def examples(images, labels):
            return [
                (index, {"image": image[..., None], "label": int(label)})
                for index, (image, label) in enumerate(zip(images, labels, strict=True))
            ]

        tfds.dataset_builders.store_as_tfds_dataset(
            name=name,
            version=str(builder.version),
            features=builder.info.features,
            split_datasets={
                "train": examples(x_train, y_train),
                "test": examples(x_test, y_test),
            },
            data_dir=os.fspath(folder),
        )
        _STANDIN_DIRS[name] = folder
    return TfdsCopy(name, _STANDIN_DIRS[name], "stand-in", synthetic=True)


def _not_found(name: str, detail: str) -> DataNotFoundError:
    why = f" ({NOT_READY_WHY[name]})" if name in NOT_READY_WHY else ""
    return DataNotFoundError(
        f"No prepared TFDS copy of {name} in {tfds_dir()}, and it could not be prepared{why}.\n"
        f"Run `make data` (python -m utils.data): it prepares every TFDS copy it can and says "
        f"why the others are not ready. Details: {detail}"
    )


def find_or_prepare(name: str, *, standin: str = "auto") -> TfdsCopy:
    """The TFDS copy of ``name`` to load: prepared, prepared now, downloaded, or a stand-in.

    See the module docstring for the order. ``standin``: ``"auto"`` (a stand-in only in quick
    mode), ``"fallback"`` (in either mode), ``"never"`` or ``"only"``, as for the loaders of
    :mod:`utils.data`. With no copy, no files and no network it fails within about two seconds
    with a :class:`~utils.sources.DataNotFoundError` naming ``make data`` (never TFDS's download
    retry loop).
    """
    _check_name(name)
    check_choice("standin", standin, standins.STANDIN_CHOICES)
    if standin == "only":
        return _standin(name, "asked for with standin='only'")
    folder = tfds_dir()
    builder = _builder(name, folder)
    if builder.is_prepared():
        return TfdsCopy(name, folder, "prepared copy")
    try:
        if name in TFDS_FILES:
            try:
                return prepare(name)
            except DataNotFoundError as exc:
                raise _not_found(name, str(exc).splitlines()[0]) from None
        if not sources.network_available():
            reason = f"{OFFLINE_ENV} is set" if offline() else "the network does not answer"
            raise _not_found(
                name, f"this project cannot prepare {name} from local files, and {reason}"
            )
    except DataCorruptError:
        raise  # a corrupted copy is never replaced by a stand-in
    except DataNotFoundError as exc:
        if standin == "fallback" or (standin == "auto" and is_quick()):
            return _standin(name, "no real copy found")
        hint = "" if standin == "never" else "\n(Quick mode would use a synthetic stand-in.)"
        raise DataNotFoundError(f"{exc}{hint}") from None
    start = time.perf_counter()
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    builder.download_and_prepare()  # TFDS's own download: the network answered
    return TfdsCopy(name, folder, "TFDS download", seconds=time.perf_counter() - start)


def load_tfds(name: str, split, *, standin: str = "auto", **kwargs):
    """``tfds.load(name, split=split, data_dir=..., download=False, **kwargs)`` on the copy
    :func:`find_or_prepare` returns: the same datasets (and info, with ``with_info=True``)."""
    _check_name(name)
    splits = [split] if isinstance(split, str) else split
    if not isinstance(splits, list | tuple) or not splits:
        raise TypeError(f"split must be a split name or a list of them, got {split!r}")
    for one in splits:
        check_str("split", one)
    for chosen in ("data_dir", "download", "name"):
        if chosen in kwargs:
            raise TypeError(f"{chosen}: load_tfds chooses it (the prepared copy, no download)")
    for flag in ("as_supervised", "with_info", "shuffle_files"):
        if flag in kwargs and not isinstance(kwargs[flag], bool):
            raise TypeError(f"{flag} must be True or False, got {kwargs[flag]!r}")
    import tensorflow_datasets as tfds

    copy = find_or_prepare(name, standin=standin)
    return tfds.load(name, split=split, data_dir=os.fspath(copy.data_dir), download=False, **kwargs)


__all__ = [
    "NOT_READY_WHY",
    "STANDIN_SIZES",
    "TFDS_DIR_ENV",
    "TFDS_FILES",
    "TfdsCopy",
    "files_for",
    "find_or_prepare",
    "is_prepared",
    "load_tfds",
    "prepare",
    "tfds_dir",
]
