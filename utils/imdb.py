"""IMDB reviews as Keras integer sequences, built from the raw reviews when ``imdb.npz`` is missing.

Keras's ``imdb.npz`` stores each review as word *ranks* (1 = most frequent word, "the") from
``imdb_word_index.json``. That file was made long ago with Keras's old ``Tokenizer`` defaults:
lower-case, these characters replaced by spaces ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~``, split on
whitespace (so apostrophes stay inside words and ``<br />`` leaves the token ``br``, rank 7).

Offline we rebuild the same form from the labelled Large Movie Review Dataset (aclImdb) with the
exact Keras word index. How the rebuilt arrays differ from Keras's file:

- a word missing from the index (about 0.5 % of tokens) is kept as an out-of-vocabulary token
  (``oov_char``) instead of having its own rank;
- the reviews come in a different order before the seeded shuffle, so ``x_train[i]`` is not the
  same review as in Keras's file (same 25k/25k split, same labels, same vocabulary).

:func:`keras_style` then applies exactly what ``keras.datasets.imdb.load_data`` does (seeded
shuffle, start/OOV characters, ``index_from`` offset, ``maxlen`` filter, ``num_words`` and
``skip_top``); a test checks it against Keras on the same arrays.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import numpy as np

KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TABLE = str.maketrans({c: " " for c in KERAS_FILTERS})
_REVIEW = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
UNKNOWN_RANK = 0  # a word that is not in the index; becomes oov_char in keras_style()


def tokenize(text: str) -> list[str]:
    """Splits a review the way Keras's word index was built (see the module docstring)."""
    return text.lower().translate(_TABLE).split()


def read_reviews(tar_path: Path, expected: int = 25000) -> dict[str, tuple[list[str], np.ndarray]]:
    """Reads ``{split: (texts, labels)}`` from an aclImdb tarball, in a fixed order.

    Order: negative reviews then positive, each by review id (the archive order is not stable).
    Labels: 0 = negative, 1 = positive (int64, as in Keras).
    """
    found: dict[str, list[tuple[int, int, str]]] = {"train": [], "test": []}
    with tarfile.open(tar_path) as tar:
        for member in tar:
            m = _REVIEW.search(member.name)
            if not m or not member.isfile():
                continue
            split, polarity, review_id, _ = m.groups()
            text = tar.extractfile(member).read().decode("utf-8")
            found[split].append((int(polarity == "pos"), int(review_id), text))
    out = {}
    for split, rows in found.items():
        if len(rows) != expected:
            raise ValueError(
                f"{tar_path}: expected {expected:,} {split} reviews, found {len(rows)}; "
                "the archive is incomplete"
            )
        rows.sort()
        out[split] = ([r[2] for r in rows], np.array([r[0] for r in rows], dtype=np.int64))
    return out


def to_ranks(texts: list[str], word_index: dict[str, int]) -> list[list[int]]:
    """Each text as a list of word ranks; words missing from the index become UNKNOWN_RANK."""
    return [[word_index.get(w, UNKNOWN_RANK) for w in tokenize(t)] for t in texts]


def pack(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged lists → (flat int32 values, int64 offsets), storable without pickle."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.fromiter((w for s in seqs for w in s), dtype=np.int32, count=int(offsets[-1]))
    return flat, offsets


def unpack(flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack`: an object array of Python int lists (Keras's form)."""
    values = flat.tolist()
    out = np.empty(len(offsets) - 1, dtype=object)
    for i in range(len(out)):
        out[i] = values[offsets[i] : offsets[i + 1]]
    return out


def keras_style(
    x_train,
    labels_train,
    x_test,
    labels_test,
    *,
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
):
    """What ``keras.datasets.imdb.load_data`` does to the arrays of ``imdb.npz``, step by step.

    ``x_*`` are object arrays of rank lists. Ranks equal to UNKNOWN_RANK (never present in Keras's
    own file) become ``oov_char``, or are dropped when ``oov_char`` is None.
    """
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x_train))
    rng.shuffle(idx)
    x_train, labels_train = x_train[idx], labels_train[idx]
    idx = np.arange(len(x_test))
    rng.shuffle(idx)
    x_test, labels_test = x_test[idx], labels_test[idx]

    def shift(x):
        head = [start_char] if start_char is not None else []
        if oov_char is None:
            return head + [w + index_from for w in x if w != UNKNOWN_RANK]
        return head + [w + index_from if w != UNKNOWN_RANK else oov_char for w in x]

    x_train = [shift(x) for x in x_train]
    x_test = [shift(x) for x in x_test]
    if maxlen:
        keep = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        x_train, labels_train = [x_train[i] for i in keep], labels_train[keep]
        keep = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_test, labels_test = [x_test[i] for i in keep], labels_test[keep]
        if not x_train or not x_test:
            raise ValueError(f"maxlen={maxlen} keeps no review; increase maxlen")
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(x_train)
    as_obj = np.empty(len(xs), dtype=object)
    as_obj[:] = xs
    return (as_obj[:n], labels[:n]), (as_obj[n:], labels[n:])


def decode(
    sequence,
    word_index: dict[str, int],
    *,
    index_from: int = 3,
    start_char: int = 1,
    oov_char: int = 2,
) -> str:
    """Turns an integer sequence back into words: ``id - index_from`` is the word's rank.

    0 (padding) is skipped; the start and OOV characters show as ``<START>`` and ``<OOV>``.
    """
    rank_to_word = {rank: word for word, rank in word_index.items()}
    words = []
    for i in sequence:
        i = int(i)
        if i == 0:
            continue
        if i == start_char:
            words.append("<START>")
        elif i == oov_char:
            words.append("<OOV>")
        else:
            words.append(rank_to_word.get(i - index_from, "<?>"))
    return " ".join(words)
