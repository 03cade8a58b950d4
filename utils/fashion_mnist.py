"""Fashion-MNIST: its four files and how they are read.

:func:`load_fashion_mnist` returns what ``keras.datasets.fashion_mnist.load_data()`` returns.
The files are found and verified by :mod:`utils.sources` (Debian's ``dataset-fashion-mnist``
package included); with no copy, :func:`utils.standins.real_or_standin` decides.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from . import standins
from .sources import KERAS_BASE_URL, FileSpec, locate

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_FMNIST = "fashion-mnist/{}-{}-idx{}-ubyte.gz"
FASHION_MNIST_FILES = {
    "train_labels": FileSpec(
        _FMNIST.format("train", "labels", 1),
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        KERAS_BASE_URL + "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "fashion-mnist",
    ),
    "train_images": FileSpec(
        _FMNIST.format("train", "images", 3),
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        KERAS_BASE_URL + "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "fashion-mnist",
    ),
    "test_labels": FileSpec(
        _FMNIST.format("t10k", "labels", 1),
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        KERAS_BASE_URL + "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        "fashion-mnist",
    ),
    "test_images": FileSpec(
        _FMNIST.format("t10k", "images", 3),
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        KERAS_BASE_URL + "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "fashion-mnist",
    ),
}


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def _read_real():
    """(train, test, source, details) from verified copies of the four files."""
    name = "Fashion-MNIST"
    found = {k: locate(name, spec) for k, spec in FASHION_MNIST_FILES.items()}
    y_train = _read_idx(found["train_labels"].path, 8)
    x_train = _read_idx(found["train_images"].path, 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(found["test_labels"].path, 8)
    x_test = _read_idx(found["test_images"].path, 16).reshape(len(y_test), 28, 28)
    source = " + ".join(sorted({f.source for f in found.values()}))
    return (x_train, y_train), (x_test, y_test), source, str(found["train_images"].path.parent)


def load_fashion_mnist(*, standin: str = "auto") -> standins.Loaded:
    """Fashion-MNIST: x uint8 (60000, 28, 28) / (10000, 28, 28), y uint8 in 0..9."""
    return standins.real_or_standin(
        "Fashion-MNIST", FASHION_MNIST_CLASSES, standin, _read_real, standins.fashion_mnist
    )
