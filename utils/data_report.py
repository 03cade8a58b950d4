"""``make data``: locates, verifies (and for IMDB builds) every dataset and prints a table.

Run as ``python -m utils.data``. Each dataset is loaded with ``standin="never"``, so the table
shows only real copies: where each came from, or why it is unavailable or corrupted. Files
missing locally are fetched (data server, then public origin) when possible. The exit status is 1
when a copy is corrupted or the data server fails.
"""

from __future__ import annotations

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
    return rows


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
