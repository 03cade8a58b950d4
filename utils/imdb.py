"""IMDB: Keras's integer sequences and the raw reviews, offline.

:func:`load_imdb` returns what ``keras.datasets.imdb.load_data()`` returns, from Keras's
``imdb.npz`` or, when that file is missing, rebuilt from the raw reviews; :func:`load_imdb_text`
returns the raw reviews for ``TextVectorization``; :func:`imdb_word_index` and
:func:`decode_review` turn sequences back into words. Files are found and verified by
:mod:`utils.sources`; with no copy, :func:`utils.standins.real_or_standin` decides.

**Rebuilding the sequences from the raw reviews.**

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

import hashlib
import json
import os
import re
import tarfile
from pathlib import Path

import numpy as np

from . import standins
from ._checks import check_int
from .sources import (
    KERAS_BASE_URL,
    DataCorruptError,
    FileSpec,
    Located,
    keras_cache_dir,
    locate,
    locate_any,
)

KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TABLE = str.maketrans({c: " " for c in KERAS_FILTERS})
_REVIEW = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
UNKNOWN_RANK = 0  # a word that is not in the index; becomes oov_char in keras_style()
CLASS_NAMES = ("negative", "positive")
REVIEWS_PER_SPLIT = 25000

IMDB_NPZ = FileSpec(
    "imdb.npz",
    "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    KERAS_BASE_URL + "imdb.npz",
)
IMDB_WORD_INDEX = FileSpec(
    "imdb_word_index.json",
    "027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6",
    KERAS_BASE_URL + "imdb_word_index.json",
)
# The raw reviews come in two archives that hold the same 50,000 labelled reviews:
# a repack with the labelled part only (in the offline mirror; no public origin) and Stanford's
# original, which also holds train/unsup/ (50,000 unlabelled reviews) and *.feat files that
# read_reviews skips. Hash and size of the original as TensorFlow Datasets records them.
ACLIMDB = FileSpec(
    "aclImdb_v1_labelled.tar.gz", "f36ec176e3e39d904adf557e938cc5f7709dc0d2ad2053ff062966d30d98459e"
)
ACLIMDB_ORIGINAL = FileSpec(
    "aclImdb_v1.tar.gz",
    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    size=84_125_825,
)
ACLIMDB_ARCHIVES = (ACLIMDB, ACLIMDB_ORIGINAL)  # either gives the same reviews
DERIVED_IMDB = "ktt-imdb-from-aclImdb.npz"


def tokenize(text: str) -> list[str]:
    """Splits a review the way Keras's word index was built (see the module docstring)."""
    return text.lower().translate(_TABLE).split()


def read_reviews(
    tar_path: Path, expected: int | None = None
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Reads ``{split: (texts, labels)}`` from an aclImdb tarball, in a fixed order.

    Either archive of :data:`ACLIMDB_ARCHIVES` gives the same result: only
    ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` are read (the original's
    ``train/unsup/`` reviews and ``*.feat`` files are skipped). Order: negative reviews then
    positive, each by review id (the archive order is not stable). Labels: 0 = negative,
    1 = positive (int64, as in Keras). ``expected``: reviews per split (default
    :data:`REVIEWS_PER_SPLIT`); another count is an error.
    """
    expected = REVIEWS_PER_SPLIT if expected is None else check_int("expected", expected, minimum=1)
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


def decode_review(
    sequence,
    *,
    index_from: int = 3,
    start_char: int = 1,
    oov_char: int = 2,
    word_index: dict[str, int] | None = None,
) -> str:
    """An integer-sequence review back to words: ``id - index_from`` is the word's rank.

    0 (padding) is skipped; the start and OOV characters show as ``<START>`` and ``<OOV>``.
    ``word_index`` defaults to Keras's (:func:`imdb_word_index`).
    """
    if isinstance(sequence, str | bytes) or not hasattr(sequence, "__iter__"):
        raise TypeError(f"sequence must be a list/array of ints, got {type(sequence).__name__}")
    check_int("index_from", index_from, minimum=0)
    if word_index is None:
        word_index = imdb_word_index()
    elif not isinstance(word_index, dict):
        raise TypeError(f"word_index must be a dict, got {type(word_index).__name__}")
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


# ---------------------------------------------------------------- the loaders
def imdb_word_index() -> dict[str, int]:
    """Keras's IMDB word index: word → rank (1 = most frequent). Same as
    ``keras.datasets.imdb.get_word_index()``."""
    found = locate("the IMDB word index", IMDB_WORD_INDEX)
    with open(found.path, encoding="utf-8") as f:
        return json.load(f)


def _load_keras_npz(path: Path):
    # Safe to unpickle: the file matched Keras's published SHA-256 before we got here.
    with np.load(path, allow_pickle=True) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


_DERIVED_KEYS = ("train_flat", "train_off", "train_y", "test_flat", "test_off", "test_y")


def _build_from_aclimdb(archive: FileSpec, tar: Located, word_index_path: Path):
    """Rank arrays from the raw reviews, cached beside the Keras cache (keyed by the archive)."""
    key = hashlib.sha256((archive.sha256 + IMDB_WORD_INDEX.sha256).encode()).hexdigest()
    cache = keras_cache_dir() / DERIVED_IMDB
    arrays = None
    if cache.is_file():
        try:
            with np.load(cache) as f:
                if str(f["key"]) == key:
                    arrays = {k: f[k] for k in _DERIVED_KEYS}
        except Exception as exc:
            raise DataCorruptError(
                f"{cache} is corrupted ({exc}); delete it and it will be rebuilt from the reviews"
            ) from None
    if arrays is None:
        with open(word_index_path, encoding="utf-8") as f:
            word_index = json.load(f)
        arrays = {}
        for split, (texts, labels) in read_reviews(tar.path).items():
            flat, off = pack(to_ranks(texts, word_index))
            arrays.update({f"{split}_flat": flat, f"{split}_off": off, f"{split}_y": labels})
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, key=key, **arrays)
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only home: rebuild next time
    return (
        unpack(arrays["train_flat"], arrays["train_off"]),
        arrays["train_y"],
        unpack(arrays["test_flat"], arrays["test_off"]),
        arrays["test_y"],
    )


def _imdb_ranks():
    """(x_train, y_train, x_test, y_test, source, details) as word ranks, real data only.

    Keras's ``imdb.npz`` or, rebuilt with Keras's word index, either aclImdb archive: local
    copies of all three first, then the data server, then the public origins.
    """
    spec, found = locate_any("IMDB", [IMDB_NPZ, *ACLIMDB_ARCHIVES])
    if spec == IMDB_NPZ:
        return (*_load_keras_npz(found.path), found.source, f"Keras's imdb.npz ({found.path})")
    index = locate("the IMDB word index", IMDB_WORD_INDEX)
    return (
        *_build_from_aclimdb(spec, found, index.path),
        found.source,
        f"built from the aclImdb reviews ({found.path}) with Keras's word index",
    )


def load_imdb(
    num_words: int | None = None,
    *,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    standin: str = "auto",
) -> standins.Loaded:
    """IMDB as Keras integer sequences; arguments as in ``keras.datasets.imdb.load_data``.

    x: object arrays of int lists (25,000 each); y: int64 0 (negative) / 1 (positive).
    """
    kwargs = dict(
        num_words=check_int("num_words", num_words, minimum=1, allow_none=True),
        skip_top=check_int("skip_top", skip_top, minimum=0),
        maxlen=check_int("maxlen", maxlen, minimum=1, allow_none=True),
        seed=check_int("seed", seed, minimum=0),
        start_char=check_int("start_char", start_char, minimum=0, allow_none=True),
        oov_char=check_int("oov_char", oov_char, minimum=0, allow_none=True),
        index_from=check_int("index_from", index_from, minimum=0),
    )

    def real():
        x_tr, y_tr, x_te, y_te, source, details = _imdb_ranks()
        return (*keras_style(x_tr, y_tr, x_te, y_te, **kwargs), source, details)

    def synthetic():
        (x_tr, y_tr), (x_te, y_te) = standins.imdb_ranks()
        return keras_style(x_tr, y_tr, x_te, y_te, **kwargs)

    return standins.real_or_standin("IMDB", CLASS_NAMES, standin, real, synthetic)


def load_imdb_text(*, seed: int = 113, standin: str = "auto") -> standins.Loaded:
    """The raw IMDB reviews for ``TextVectorization``: x are str arrays, y int64 0/1.

    Same 25k/25k split as :func:`load_imdb`, shuffled with ``seed``. Needs an aclImdb archive
    (the labelled repack or Stanford's original, which it downloads when nothing closer has
    one); ``imdb.npz`` holds no text.
    """
    check_int("seed", seed, minimum=0)
    name = "IMDB (raw text)"

    def real():
        _, tar = locate_any(name, ACLIMDB_ARCHIVES)
        rng = np.random.RandomState(seed)
        splits = []
        for texts, labels in read_reviews(tar.path).values():
            order = rng.permutation(len(texts))
            splits.append((np.array(texts, dtype=object)[order].astype(str), labels[order]))
        return (*splits, tar.source, str(tar.path))

    def synthetic():
        splits = []
        for seqs, labels in standins.imdb_ranks(n_train=25000, n_test=25000):
            texts = np.array([" ".join(f"w{r}" for r in s) for s in seqs], dtype=str)
            splits.append((texts, labels))
        return tuple(splits)

    return standins.real_or_standin(name, CLASS_NAMES, standin, real, synthetic)


# ------------------------------------------- notebook 07's split, vocabulary and bags of n-grams
# Shared by the notebooks that train on IMDB word ids (26 retrains 07's best model with these).
# Notebook 07 builds the same bags from scratch as its lesson; tests/test_imdb.py checks that
# these functions give exactly what 07's scratch cells give.


def train_val_test(train, test, *, n_pool=None, n_test=None, val_fraction=0.2):
    """Notebook 07's split of ``load_imdb()``'s ``(x, y)`` pairs into train/validation/test.

    ``n_pool`` training and ``n_test`` test reviews are stratified subsets (seed 0; ``None``: all
    of them, as in full mode); the validation split is the last ``val_fraction`` of the pool (the
    reviews are already shuffled). Returns ``((x_train, y_train), (x_val, y_val), (x_test,
    y_test))``.
    """
    from .mode import subset

    fraction = float(val_fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction!r}")
    x_pool, y_pool = subset(*train, n_pool, seed=0)
    x_test, y_test = subset(*test, n_test, seed=0)
    n_val = int(len(y_pool) * fraction)
    if not 0 < n_val < len(y_pool):
        raise ValueError(f"{len(y_pool)} reviews are too few to hold out {fraction:.0%}")
    return (
        (x_pool[:-n_val], y_pool[:-n_val]),
        (x_pool[-n_val:], y_pool[-n_val:]),
        (x_test, y_test),
    )


def cap_vocabulary(sequences, num_words: int, *, oov_char: int = 2) -> list[list[int]]:
    """Every id ``>= num_words`` becomes ``oov_char``: what ``load_imdb(num_words=...)`` does."""
    num_words = check_int("num_words", num_words, minimum=1)
    return [[word if word < num_words else oov_char for word in review] for review in sequences]


def encode_text(
    texts,
    word_index: dict[str, int],
    *,
    num_words: int | None = None,
    index_from: int = 3,
    start_char: int = 1,
    oov_char: int = 2,
) -> list[list[int]]:
    """New text (a review of your own) as ``load_imdb`` would have encoded it.

    Tokenised like Keras's word index (:func:`tokenize`), word → ``rank + index_from``, a start
    character first; unknown words, and ids ``>= num_words`` when given, become ``oov_char``.
    """
    if isinstance(texts, str | bytes):
        raise TypeError("texts must be a list of strings, not one string")
    if not isinstance(word_index, dict):
        raise TypeError(f"word_index must be a dict, got {type(word_index).__name__}")
    check_int("index_from", index_from, minimum=0)
    out = []
    for text in texts:
        ids = [word_index[w] + index_from if w in word_index else oov_char for w in tokenize(text)]
        out.append([start_char, *ids])
    return cap_vocabulary(out, num_words, oov_char=oov_char) if num_words else out


def ngram_codes(sequences, vocab_size: int, ngrams: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every 1..ngrams-gram of every sequence as an int64 code, and the sequence it came from.

    (w1, ..., wn) -> w1 * vocab_size**(n-1) + ... + wn. Ids must lie in 1..vocab_size-1, so the
    codes of different n never collide. (Notebook 07, section 3.)
    """
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)
    ngrams = check_int("ngrams", ngrams, minimum=1)
    if vocab_size**ngrams >= 2**62:
        raise ValueError(f"vocab_size**ngrams = {vocab_size}**{ngrams} overflows int64")
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    words = np.fromiter((w for s in sequences for w in s), np.int64, int(lengths.sum()))
    if words.size and (words.min() < 1 or words.max() >= vocab_size):
        raise ValueError(f"word ids must lie in 1..{vocab_size - 1} (0 is padding)")
    doc = np.repeat(np.arange(len(sequences)), lengths)
    codes, docs, gram = [words], [doc], words
    for n in range(2, ngrams + 1):
        gram = gram[:-1] * vocab_size + words[n - 1 :]
        same = doc[: len(gram)] == doc[n - 1 :]  # all n words from the same review
        codes.append(gram[same])
        docs.append(doc[: len(gram)][same])
    return np.concatenate(codes), np.concatenate(docs)


def ngram_code(ids, vocab_size: int) -> int:
    """The code :func:`ngram_codes` gives the n-gram ``ids`` (a tuple of word ids)."""
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)
    ids = [int(i) for i in ids]
    if not ids or min(ids) < 1 or max(ids) >= vocab_size:
        raise ValueError(f"an n-gram needs word ids in 1..{vocab_size - 1}, got {ids}")
    code = 0
    for word in ids:
        code = code * vocab_size + word
    return code


def ngram_vocabulary(codes, max_tokens: int | None = None) -> np.ndarray:
    """The ``max_tokens`` most frequent codes, most frequent first (ties: smaller code first)."""
    unique, counts = np.unique(codes, return_counts=True)
    return unique[np.argsort(-counts, kind="stable")][:max_tokens]


def bag_of_ngrams(codes, docs, n_docs: int, vocabulary, output_mode: str = "multi_hot", idf=None):
    """(n_docs, len(vocabulary)) ``tf.SparseTensor``; column j counts ``vocabulary[j]``.

    ``output_mode``: ``"multi_hot"`` (0/1), ``"count"`` (tf) or ``"tf_idf"`` (tf * idf). Codes
    outside the vocabulary are dropped.
    """
    import tensorflow as tf

    if output_mode not in ("multi_hot", "count", "tf_idf"):
        raise ValueError(f"unknown output_mode {output_mode!r}")
    vocabulary = np.asarray(vocabulary, dtype=np.int64)
    sorter = np.argsort(vocabulary)
    position = np.searchsorted(vocabulary, codes, sorter=sorter)
    column = sorter[np.minimum(position, len(vocabulary) - 1)]
    known = vocabulary[column] == codes
    cells, counts = np.unique(docs[known] * len(vocabulary) + column[known], return_counts=True)
    rows, columns = cells // len(vocabulary), cells % len(vocabulary)
    if output_mode == "multi_hot":
        values = np.ones(len(cells), dtype=np.float32)
    elif output_mode == "count":
        values = counts.astype(np.float32)
    else:
        values = (counts * np.asarray(idf)[columns]).astype(np.float32)
    return tf.SparseTensor(np.stack([rows, columns], 1), values, (n_docs, len(vocabulary)))


def nb_log_ratio(multi_hot, y, alpha: float = 1.0) -> np.ndarray:
    """NBSVM's feature weights r = log(p / |p|_1) - log(q / |q|_1), with p (q) = alpha + the
    number of positive (negative) documents containing each feature."""
    rows, columns = np.asarray(multi_hot.indices).T
    n_columns = int(multi_hot.dense_shape[1])
    y = np.asarray(y)
    p = alpha + np.bincount(columns[y[rows] == 1], minlength=n_columns)
    q = alpha + np.bincount(columns[y[rows] == 0], minlength=n_columns)
    return np.log(p / p.sum()) - np.log(q / q.sum())


def scale_columns(x, weights):
    """Sparse ``x`` with column j multiplied by ``weights[j]``."""
    import tensorflow as tf

    scale = tf.gather(tf.constant(weights, tf.float32), x.indices[:, 1])
    return tf.SparseTensor(x.indices, x.values * scale, x.dense_shape)


def nb_ngram_features(sequences: dict, y_train, vocab_size: int, *, ngrams=2, max_tokens=None):
    """Notebook 07's best features: NB-weighted multi-hot bags of 1..ngrams-grams.

    ``sequences``: ``{split: reviews}`` with a ``"train"`` entry; the vocabulary (the
    ``max_tokens`` most frequent n-grams) and the NB ratios come from it alone. Returns
    ``({split: tf.SparseTensor}, vocabulary, ratio)``; :func:`nb_ngram_bag` encodes more reviews
    the same way.
    """
    if "train" not in sequences:
        raise ValueError("sequences needs a 'train' entry: the vocabulary is learnt from it")
    codes, docs = ngram_codes(sequences["train"], vocab_size, ngrams)
    vocabulary = ngram_vocabulary(codes, max_tokens)
    ratio = nb_log_ratio(bag_of_ngrams(codes, docs, len(sequences["train"]), vocabulary), y_train)
    features = {
        part: nb_ngram_bag(reviews, vocab_size, vocabulary, ratio, ngrams=ngrams)
        for part, reviews in sequences.items()
    }
    return features, vocabulary, ratio


def nb_ngram_bag(reviews, vocab_size: int, vocabulary, ratio, *, ngrams=2):
    """Reviews as NB-weighted multi-hot bags over a given n-gram ``vocabulary`` and ``ratio``
    (from :func:`nb_ngram_features`); n-grams outside the vocabulary are dropped."""
    bag = bag_of_ngrams(*ngram_codes(reviews, vocab_size, ngrams), len(reviews), vocabulary)
    return scale_columns(bag, ratio)


def contains_ngram(sequences, phrases, vocab_size: int) -> np.ndarray:
    """Per review: does it contain any of ``phrases`` (tuples of word ids, n-grams or words)?

    Padding (id 0) is skipped; no phrases: no review contains one.
    """
    phrases = [tuple(phrase) for phrase in phrases]
    if not phrases:
        return np.zeros(len(sequences), dtype=bool)
    wanted = np.array([ngram_code(phrase, vocab_size) for phrase in phrases], dtype=np.int64)
    reviews = [[w for w in review if w != 0] for review in sequences]  # padding is no word
    codes, docs = ngram_codes(reviews, vocab_size, max(len(p) for p in phrases))
    found = np.zeros(len(reviews), dtype=bool)
    found[docs[np.isin(codes, wanted)]] = True
    return found
