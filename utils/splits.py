"""Ready-to-train splits: the Fashion-MNIST train / validation / test split used by every notebook.

The validation images are the last 10,000 of Fashion-MNIST's training file, the training images
come from the first 50,000, and the test file stays the test set. Subsets are stratified and
deterministic (:func:`utils.mode.subset`), pixels become float32 in [0, 1].
"""

from __future__ import annotations

import numpy as np

from ._checks import check_choice, check_int
from .mode import subset

VALIDATION_SIZE = 10_000
SHAPES = ("flat", "image", "raw")


class Splits(tuple):
    """``((x_train, y_train), (x_val, y_val), (x_test, y_test))`` plus the data's provenance."""

    def __new__(cls, train, validation, test, *, class_names, source, synthetic):
        obj = super().__new__(cls, (train, validation, test))
        obj.class_names, obj.source, obj.synthetic = tuple(class_names), source, synthetic
        return obj

    def __repr__(self) -> str:
        sizes = " / ".join(
            f"{len(part[0])} {name}" for part, name in zip(self, _PARTS, strict=True)
        )
        kind = "SYNTHETIC stand-in" if self.synthetic else "real"
        return f"<Fashion-MNIST splits: {sizes}, {kind}>"


_PARTS = ("train", "validation", "test")


def prepare_images(x, shape: str = "flat") -> np.ndarray:
    """uint8 images (n, 28, 28) → float32 in [0, 1]: ``flat`` (n, 784), ``image`` (n, 28, 28, 1),
    or ``raw`` (unchanged uint8)."""
    check_choice("shape", shape, SHAPES)
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (n, height, width), got {x.shape}")
    if shape == "raw":
        return x
    scaled = x.astype("float32") / 255.0
    return scaled.reshape(len(x), -1) if shape == "flat" else scaled[..., None]


def fashion_mnist(
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    *,
    shape: str = "flat",
    seed: int = 0,
    standin: str = "auto",
) -> Splits:
    """Fashion-MNIST as training, validation and test sets, ready for a model.

    ``n_train``/``n_val``/``n_test``: how many images of each (None: all 50,000 / 10,000 /
    10,000), as stratified subsets. ``shape``: ``"flat"`` (n, 784), ``"image"`` (n, 28, 28, 1)
    or ``"raw"`` (uint8 (n, 28, 28)). Labels are uint8 class ids 0..9.
    """
    from .data import load_fashion_mnist

    check_choice("shape", shape, SHAPES)
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        check_int(name, value, minimum=10, allow_none=True)
    seed = check_int("seed", seed, minimum=0)
    loaded = load_fashion_mnist(standin=standin)
    (x_all, y_all), (x_test_all, y_test_all) = loaded
    split = len(x_all) - VALIDATION_SIZE
    x_train, y_train = subset(x_all[:split], y_all[:split], n_train, seed=seed)
    x_val, y_val = subset(x_all[split:], y_all[split:], n_val, seed=seed)
    x_test, y_test = subset(x_test_all, y_test_all, n_test, seed=seed)
    return Splits(
        (prepare_images(x_train, shape), y_train),
        (prepare_images(x_val, shape), y_val),
        (prepare_images(x_test, shape), y_test),
        class_names=loaded.class_names,
        source=loaded.source,
        synthetic=loaded.synthetic,
    )
