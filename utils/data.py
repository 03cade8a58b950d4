"""Dataset loaders that work offline: Fashion-MNIST, IMDB (sequences and raw text), CIFAR-100.

Each loader returns what ``keras.datasets.<name>.load_data()`` returns — it unpacks as
``(x_train, y_train), (x_test, y_test)`` with the same shapes and dtypes — plus attributes:
``.class_names``, ``.source`` (cache / mirror / system copy / data server / download /
stand-in),
``.synthetic`` and ``.details``.

This module is the front door; the code lives in one module per concern:

- :mod:`utils.sources` — where files come from (cache, mirror, system copy, data server,
  download) and their SHA-256 checks;
- :mod:`utils.fashion_mnist`, :mod:`utils.imdb`, :mod:`utils.cifar100` — one reader per dataset;
- :mod:`utils.standins` — synthetic stand-ins and the one rule for when they are used;
- :mod:`utils.data_report` — the ``make data`` table.

When no real copy exists, the ``standin`` argument decides what happens:

- ``"auto"`` (default): a synthetic stand-in in quick mode, a clear error in full mode;
- ``"fallback"``: a stand-in in either mode; ``"never"``: always the error;
- ``"only"``: the stand-in even when real data exists (fast demos and tests).

``python -m utils.data`` (``make data``) locates, verifies and builds everything and prints a table.
"""

from __future__ import annotations

from .cifar100 import (
    CIFAR100_COARSE,
    CIFAR100_FINE,
    CIFAR100_FINE_TO_COARSE,
    CIFAR100_TAR,
    load_cifar100,
)
from .data_report import data_report, main
from .fashion_mnist import FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, load_fashion_mnist
from .imdb import (
    ACLIMDB,
    ACLIMDB_ORIGINAL,
    IMDB_NPZ,
    IMDB_WORD_INDEX,
    decode_review,
    imdb_word_index,
    load_imdb,
    load_imdb_text,
)
from .sources import DataCorruptError, DataNotFoundError, DataServerError
from .standins import STANDIN_CHOICES, Loaded

__all__ = [
    "ACLIMDB",
    "ACLIMDB_ORIGINAL",
    "CIFAR100_COARSE",
    "CIFAR100_FINE",
    "CIFAR100_FINE_TO_COARSE",
    "CIFAR100_TAR",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FILES",
    "IMDB_NPZ",
    "IMDB_WORD_INDEX",
    "STANDIN_CHOICES",
    "DataCorruptError",
    "DataNotFoundError",
    "DataServerError",
    "Loaded",
    "data_report",
    "decode_review",
    "imdb_word_index",
    "load_cifar100",
    "load_fashion_mnist",
    "load_imdb",
    "load_imdb_text",
    "main",
]

if __name__ == "__main__":
    raise SystemExit(main())
