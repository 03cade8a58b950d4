"""``make data``: locates, verifies (and for IMDB builds) every dataset and prints a table.

Run as ``python -m utils.data``. Each dataset is loaded with ``standin="never"``, so the table
shows only real copies: where each came from, or why it is unavailable or corrupted. Files
missing locally are fetched (data server, then public origin) when possible. Then the TensorFlow
Datasets copies the project can prepare from those files (:mod:`utils.tfds_data`) are prepared
in the TFDS folder, and the table says which are ready and why the others are not. The exit
status is 1 when a copy is corrupted or the data server fails.
"""

from __future__ import annotations

import os

from .cifar100 import load_cifar100
from .fashion_mnist import load_fashion_mnist
from .imdb import load_imdb, load_imdb_text
from .sources import (
    DataCorruptError,
    DataNotFoundError,
    DataServerError,
    data_url,
    keras_cache_dir,
    mirror_dir,
)
from .tfds_data import NOT_READY_WHY, TFDS_DIR_ENV, TFDS_FILES, prepare, tfds_dir

COLUMNS = ["dataset", "source", "verified", "size", "where"]


def data_report() -> list[dict[str, str]]:
    """Locates, verifies (and for IMDB builds) every dataset; one row per dataset."""
    rows = []
    loaders = [
        ("Fashion-MNIST", load_fashion_mnist),
        ("IMDB (sequences)", load_imdb),
        ("IMDB (raw text)", load_imdb_text),
        ("CIFAR-100", load_cifar100),
    ]
    for label, loader in loaders:
        try:
            data = loader(standin="never")
            (x, _), (xt, _) = data
            size = f"{len(x):,} train / {len(xt):,} test"
            row = [data.source, "yes (SHA-256)", size, data.details]
        except DataCorruptError as exc:
            row = ["CORRUPT", "NO", "-", str(exc)]
        except DataServerError as exc:
            row = ["DATA SERVER ERROR", "-", "-", str(exc)]
        except DataNotFoundError as exc:
            row = ["unavailable → stand-in in quick mode", "-", "-", str(exc).splitlines()[0]]
        rows.append(dict(zip(COLUMNS, [label, *row], strict=True)))
    rows += [tfds_row(name) for name in TFDS_FILES]
    return rows


def tfds_row(name: str) -> dict[str, str]:
    """Prepares the TFDS copy of ``name`` from located files when it is not ready; one row."""
    try:
        copy = prepare(name)
    except DataCorruptError as exc:
        row = ["CORRUPT", "NO", "-", str(exc)]
    except DataServerError as exc:
        row = ["DATA SERVER ERROR", "-", "-", str(exc)]
    except DataNotFoundError as exc:
        why = NOT_READY_WHY.get(name, str(exc).splitlines()[0])
        row = [
            "not ready → stand-in in quick mode" if name == "fashion_mnist" else "not ready",
            "-",
            "-",
            why,
        ]
    else:
        import tensorflow_datasets as tfds

        info = tfds.builder(name, data_dir=str(copy.data_dir)).info
        size = " / ".join(f"{split.num_examples:,} {split.name}" for split in info.splits.values())
        took = f" in {copy.seconds:.0f} s" if copy.seconds >= 1 else ""
        verified = "yes (SHA-256, twice)" if copy.source != "prepared copy" else "when prepared"
        folder = f"{tfds_dir()} ({TFDS_DIR_ENV})" if os.environ.get(TFDS_DIR_ENV) else tfds_dir()
        row = [f"TFDS {copy.source}{took}", verified, size, str(folder)]
    return dict(zip(COLUMNS, [f"TFDS {name}", *row], strict=True))


def main() -> int:
    from .results import format_table

    print(
        f"Keras cache: {keras_cache_dir()}   mirror (KTT_DATA_MIRROR): {mirror_dir() or 'unset'}"
        f"   data server (KTT_DATA_URL): {data_url() or 'unset'}"
    )
    rows = data_report()
    print(format_table(rows, COLUMNS))
    return 1 if any(r["source"] in ("CORRUPT", "DATA SERVER ERROR") for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
