"""07_imdb: the from-scratch bags of n-grams vs Keras's CategoryEncoding and TextVectorization.

Inputs are random integer "reviews" (ids 1..V-1, some of them empty). Multi-hot and count values
are small integers, so they must match exactly; tf-idf values are float32 products, compared with
a relative tolerance of 1e-6. The NB log-count ratio is checked against scikit-learn's
MultinomialNB (float64, tolerance 1e-10).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("07_imdb")
ngram_codes = ns["ngram_codes"]
ngram_vocabulary = ns["ngram_vocabulary"]
bag_of_ngrams = ns["bag_of_ngrams"]
idf_weights = ns["idf_weights"]
nb_log_ratio = ns["nb_log_ratio"]
scale_columns = ns["scale_columns"]

V = 13  # word ids 1..12: few enough that bigrams repeat across reviews


def _reviews(seed, n=40, max_len=25):
    rng = np.random.default_rng(seed)
    out = [rng.integers(1, V, size=rng.integers(0, max_len)).tolist() for _ in range(n)]
    out[3] = []  # an empty review must give an all-zero row
    return out


def _dense(x):
    return tf.sparse.to_dense(x).numpy()


def _token(code):
    """A code back to TextVectorization's token string: 7 -> '7', 7 * V + 4 -> '7 4'."""
    ids = []
    while code:
        code, w = divmod(int(code), V)
        ids.insert(0, w)
    return " ".join(map(str, ids))


def test_codes_of_a_known_review():
    codes, docs = ngram_codes([[4, 5, 6], [7]], vocab_size=10, ngrams=2)
    # unigrams first, then bigrams; no bigram spans two reviews (6, 7)
    assert codes.tolist() == [4, 5, 6, 7, 45, 56]
    assert docs.tolist() == [0, 0, 0, 1, 0, 0]
    codes, _ = ngram_codes([[4, 5, 6]], vocab_size=10, ngrams=3)
    assert sorted(codes.tolist()) == [4, 5, 6, 45, 56, 456]


@pytest.mark.parametrize("bad", [[[0, 3]], [[3, 10]], [[-1]]])
def test_ids_out_of_range_are_an_error(bad):
    with pytest.raises(ValueError, match="word ids"):
        ngram_codes(bad, vocab_size=10)


def test_int64_overflow_is_an_error():
    with pytest.raises(ValueError, match="overflows"):
        ngram_codes([[1]], vocab_size=100_000, ngrams=4)


@pytest.mark.parametrize("mode", ["multi_hot", "count"])
def test_unigram_bag_matches_category_encoding(mode):
    reviews = _reviews(0)
    c, d = ngram_codes(reviews, V)
    ours = _dense(bag_of_ngrams(c, d, len(reviews), np.arange(V), mode))
    padded = keras.utils.pad_sequences(reviews, maxlen=30, padding="post")  # 0 = padding
    theirs = keras.ops.convert_to_numpy(keras.layers.CategoryEncoding(V, output_mode=mode)(padded))
    assert ours.shape == theirs.shape == (len(reviews), V)
    # Column 0 counts the padding in Keras's version; our reviews never contain id 0.
    np.testing.assert_array_equal(ours[:, 1:], theirs[:, 1:])
    assert not ours[:, 0].any() and not ours[3].any()


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
@pytest.mark.parametrize("ngrams", [1, 2])
def test_bag_matches_text_vectorization(mode, ngrams):
    """Scratch (vocabulary and idf from the data) == TextVectorization adapted on the same data."""
    reviews = _reviews(1)
    texts = np.array([" ".join(map(str, r)) for r in reviews])
    c, d = ngram_codes(reviews, V, ngrams=ngrams)
    vocab = ngram_vocabulary(c)
    bag = bag_of_ngrams(c, d, len(reviews), vocab)
    idf = idf_weights(bag) if mode == "tf_idf" else None
    ours = _dense(bag_of_ngrams(c, d, len(reviews), vocab, mode, idf))

    tv = keras.layers.TextVectorization(ngrams=ngrams, output_mode=mode, standardize=None)
    tv.adapt(texts)
    keras_vocab = tv.get_vocabulary()  # index 0 is the OOV token in these modes
    assert sorted(keras_vocab[1:]) == sorted(_token(v) for v in vocab)
    column = {tok: j for j, tok in enumerate(keras_vocab)}
    theirs = keras.ops.convert_to_numpy(tv(texts))
    assert not theirs[:, 0].any()  # the full vocabulary leaves nothing out of vocabulary
    theirs = theirs[:, [column[_token(v)] for v in vocab]]
    if mode == "tf_idf":
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)
    else:
        np.testing.assert_array_equal(ours, theirs)


def test_vocabulary_is_the_most_frequent_ngrams_like_keras():
    reviews = _reviews(2, n=200)
    c, _ = ngram_codes(reviews, V, ngrams=2)
    counts = {code: n for code, n in zip(*np.unique(c, return_counts=True), strict=True)}
    # Keras breaks ties by the token string, we by the code: cut where the counts are tie-free.
    ranked = sorted(counts.values(), reverse=True)
    max_tokens = next(k for k in range(20, len(ranked)) if ranked[k - 1] > ranked[k])
    vocab = ngram_vocabulary(c, max_tokens)
    assert len(vocab) == max_tokens
    kept = [counts[v] for v in vocab]
    assert kept == sorted(kept, reverse=True)  # most frequent first
    assert min(kept) >= max(n for code, n in counts.items() if code not in set(vocab))
    texts = [" ".join(map(str, r)) for r in reviews]
    tv = keras.layers.TextVectorization(
        max_tokens=max_tokens + 1, ngrams=2, output_mode="multi_hot", standardize=None
    )
    tv.adapt(texts)
    assert sorted(tv.get_vocabulary()[1:]) == sorted(_token(v) for v in vocab)


def test_unknown_ngrams_are_dropped_and_bad_mode_is_an_error():
    c, d = ngram_codes([[1, 2, 3], [9]], vocab_size=10, ngrams=2)
    vocab = np.array([23, 9, 2])  # any order; 1, 3, 12 and 99 are unknown
    out = _dense(bag_of_ngrams(c, d, 2, vocab, "count"))
    np.testing.assert_array_equal(out, [[1, 0, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match="output_mode"):
        bag_of_ngrams(c, d, 2, vocab, "binary")


def test_idf_formula():
    x = tf.SparseTensor([[0, 0], [1, 0], [1, 2]], [1.0, 1.0, 1.0], (4, 3))
    np.testing.assert_allclose(idf_weights(x), np.log(1 + 4 / (1 + np.array([2, 0, 1]))))


def test_nb_ratio_matches_multinomial_naive_bayes():
    from sklearn.naive_bayes import MultinomialNB

    reviews = _reviews(3, n=300)
    y = np.random.default_rng(3).integers(0, 2, size=len(reviews))
    c, d = ngram_codes(reviews, V, ngrams=2)
    bag = bag_of_ngrams(c, d, len(reviews), ngram_vocabulary(c))
    r = nb_log_ratio(bag, y, alpha=1.0)
    nb = MultinomialNB(alpha=1.0).fit(_dense(bag), y)
    # p / |p|_1 with p = 1 + counts is exactly MultinomialNB's smoothed feature probability.
    np.testing.assert_allclose(r, nb.feature_log_prob_[1] - nb.feature_log_prob_[0], atol=1e-10)


def test_scale_columns():
    rng = np.random.default_rng(4)
    dense = (rng.random((6, 5)) < 0.4).astype("float32")
    w = rng.normal(size=5)
    out = _dense(scale_columns(tf.sparse.from_dense(dense), w))
    np.testing.assert_allclose(out, dense * w.astype("float32"), rtol=1e-6)
