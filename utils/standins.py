"""Synthetic stand-ins for the datasets, and the one rule for when a loader uses one.

:func:`real_or_standin` is that rule, shared by every loader (see :mod:`utils.data`): the real
copy when one exists; otherwise a stand-in in quick mode or when the caller asks for one,
announced in one loud line; otherwise a clear error (full mode never uses a stand-in silently).
Every loader returns a :class:`Loaded`.

The stand-ins have the real shapes, dtypes and label ranges. They are deterministic (fixed seeds)
and learnable — every class has its own structure, so training curves move — but they are not the
real data, and every load announces that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import check_choice
from .mode import is_quick
from .sources import DataNotFoundError

STANDIN_CHOICES = ("auto", "fallback", "never", "only")


class Loaded(tuple):
    """``((x_train, y_train), (x_test, y_test))`` plus where it came from."""

    def __new__(cls, train, test, *, name, class_names, source, synthetic=False, details=""):
        obj = super().__new__(cls, (train, test))
        obj.name, obj.class_names, obj.source = name, tuple(class_names), source
        obj.synthetic, obj.details = synthetic, details
        return obj

    def __repr__(self) -> str:
        (x, _), (xt, _) = self
        kind = "SYNTHETIC stand-in" if self.synthetic else "real"
        return f"<{self.name}: {len(x)} train / {len(xt)} test, {kind}, from {self.source}>"


def announce(name: str, reason: str) -> None:
    print(
        f"!!! SYNTHETIC STAND-IN for {name} ({reason}): shapes and dtypes match the real data, "
        "but it is made-up data and every number computed from it means nothing. "
        "Run `python -m utils.data` (`make data` in a checkout) to see how to get the real "
        "files. !!!",
        flush=True,
    )


def real_or_standin(
    name: str,
    class_names,
    standin: str,
    real: Callable[[], tuple],
    synthetic: Callable[[], tuple],
) -> Loaded:
    """The real data, else a loud stand-in in quick mode or when asked, else a clear error.

    ``real()`` returns ``(train, test, source, details)`` from a verified copy and raises
    DataNotFoundError when there is none (a corrupted copy raises DataCorruptError, which is
    never replaced by a stand-in). ``synthetic()`` returns the stand-in's ``(train, test)``.
    ``standin``: ``"auto"`` (a stand-in only in quick mode), ``"fallback"`` (in either mode),
    ``"never"`` or ``"only"`` (the stand-in even when real data exists).
    """
    check_choice("standin", standin, STANDIN_CHOICES)
    if standin == "only":
        reason = "asked for with standin='only'"
    else:
        try:
            train, test, source, details = real()
        except DataNotFoundError as exc:
            if not (standin == "fallback" or (standin == "auto" and is_quick())):
                hint = (
                    ""
                    if standin == "never"
                    else "\n(Quick mode would use a synthetic stand-in instead; full mode never "
                    "does silently.)"
                )
                raise DataNotFoundError(f"{exc}{hint}") from None
            reason = "no real copy found"
        else:
            return Loaded(
                train, test, name=name, class_names=class_names, source=source, details=details
            )
    announce(name, reason)
    train, test = synthetic()
    return Loaded(
        train,
        test,
        name=name,
        class_names=class_names,
        source="stand-in",
        synthetic=True,
        details=reason,
    )


def _smooth_prototypes(rng, n: int, shape: tuple[int, ...], coarse: int = 4) -> np.ndarray:
    """n smooth random images in [0, 1]: random low-resolution grids, upsampled."""
    h, w = shape[:2]
    channels = shape[2:] or ()
    low = rng.random((n, coarse, coarse, *channels))
    up = low.repeat(-(-h // coarse), axis=1).repeat(-(-w // coarse), axis=2)[:, :h, :w]
    return up.astype(np.float32)


def _images(rng, protos, labels, noise: float, chunk: int = 4096) -> np.ndarray:
    """Prototype × random brightness + noise drawn from a fixed bank (fast for 50k images)."""
    shape = protos.shape[1:]
    bank = rng.normal(0, noise, (256, *shape)).astype(np.float32)
    out = np.empty((len(labels), *shape), dtype=np.uint8)
    for start in range(0, len(labels), chunk):
        y = labels[start : start + chunk]
        gain = rng.uniform(150, 255, size=(len(y),) + (1,) * len(shape)).astype(np.float32)
        img = protos[y] * gain + bank[rng.integers(0, len(bank), len(y))]
        out[start : start + chunk] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def fashion_mnist(n_train: int = 60000, n_test: int = 10000, seed: int = 0):
    """Like Fashion-MNIST: x uint8 (n, 28, 28), y uint8 in 0..9."""
    rng = np.random.default_rng(seed)
    protos = _smooth_prototypes(rng, 10, (28, 28))
    y_train = np.arange(n_train, dtype=np.uint8) % 10
    y_test = np.arange(n_test, dtype=np.uint8) % 10
    rng.shuffle(y_train)
    rng.shuffle(y_test)
    return (
        (_images(rng, protos, y_train, 60.0), y_train),
        (_images(rng, protos, y_test, 60.0), y_test),
    )


def cifar100(
    fine_to_coarse: np.ndarray,
    label_mode: str = "fine",
    n_train: int = 50000,
    n_test: int = 10000,
    seed: int = 0,
):
    """Like CIFAR-100: uint8 (n, 32, 32, 3) images, int64 labels of shape (n, 1).

    Each fine class's pattern is its coarse class's pattern plus its own, so both label modes are
    learnable and fine classes of one superclass look alike (as in the real data).
    """
    rng = np.random.default_rng(seed)
    coarse = _smooth_prototypes(rng, 20, (32, 32, 3))
    own = _smooth_prototypes(rng, 100, (32, 32, 3), coarse=8)
    protos = 0.5 * coarse[fine_to_coarse] + 0.5 * own
    fine_train = np.arange(n_train) % 100
    fine_test = np.arange(n_test) % 100
    rng.shuffle(fine_train)
    rng.shuffle(fine_test)
    x_train = _images(rng, protos, fine_train, 70.0)
    x_test = _images(rng, protos, fine_test, 70.0)
    if label_mode == "coarse":
        fine_train, fine_test = fine_to_coarse[fine_train], fine_to_coarse[fine_test]
    return (
        (x_train, fine_train.astype(np.int64).reshape(-1, 1)),
        (x_test, fine_test.astype(np.int64).reshape(-1, 1)),
    )


def imdb_ranks(vocab_size: int = 20000, n_train: int = 25000, n_test: int = 25000, seed: int = 0):
    """Reviews as word-rank lists (the content of ``imdb.npz``) with class-dependent words.

    Common words follow a Zipf law for both classes; a few hundred 'sentiment' ranks are more
    likely in one class than the other. Labels are int64 0/1, balanced.
    """
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab_size + 1)
    base = 1.0 / ranks
    base /= base.sum()
    tilt = np.ones((2, vocab_size))
    signal = rng.choice(np.arange(50, 2000), size=400, replace=False)
    tilt[0, signal[:200]] = tilt[1, signal[200:]] = 6.0
    probs = base * tilt
    probs /= probs.sum(axis=1, keepdims=True)

    def draw(n):
        labels = np.arange(n, dtype=np.int64) % 2
        rng.shuffle(labels)
        lengths = np.clip(rng.lognormal(5.2, 0.6, n).astype(int), 10, 2000)
        seqs = np.empty(n, dtype=object)
        for label in (0, 1):
            idx = np.flatnonzero(labels == label)
            tokens = rng.choice(ranks, size=int(lengths[idx].sum()), p=probs[label])
            for i, part in zip(idx, np.split(tokens, np.cumsum(lengths[idx])[:-1]), strict=True):
                seqs[i] = part.tolist()
        return seqs, labels

    return draw(n_train), draw(n_test)
