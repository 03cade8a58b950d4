"""24_workflow_capstone: the scratch cleaning helpers against Keras, html.parser and NumPy.

* standardize: on text without tags it is exactly Keras's default standardisation
  ("lower_and_strip_punctuation", read back through a TextVectorization with split=None, whose
  vocabulary is then the standardised strings themselves); on text with tags it equals Keras's
  default applied to the text with every tag replaced by a space by Python's html.parser. Exact
  string equality, no tolerance.
* review_key: equal for texts that differ only in case, punctuation, tags and spacing; different
  otherwise.
* duplicate_mask: against np.unique(return_index=True) (first copies) and np.isin (reference).
"""

from html.parser import HTMLParser

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcode import scratch

ns = scratch("24_workflow_capstone")
standardize = ns["standardize"]
review_key = ns["review_key"]
duplicate_mask = ns["duplicate_mask"]

PLAIN = [
    "A fine movie. The END... 10/10, don't miss it!",
    'Worst film EVER!!! (1/10) -- "avoid"; #waste of $9 & 2 hours?',
    "It's a 'classic': [sic] {really} @home ~ a_b c^d |e| back\\slash +plus=minus",
    "Ünïcode ÉTÉ café — naïve “quotes” stay",  # non-ASCII: Keras leaves it alone
    "  spaces   and\ttabs\nand newlines  ",
]
TAGGED = [
    "A fine movie.<br /><br />The END... 10/10, don't miss it!",
    "Bad.<br/>Really<BR>bad<br /><br />",
    "<i>Casablanca</i> is <b>great</b>,<em>truly</em>.",
    'A <a href="http://x.org/a.html">link</a> here</p>',
    "Math: 3 < 4 and 5 > 2, no tag here",
]


def _keras_default(texts):
    """Keras's own default standardisation of each text (as str)."""
    out = []
    for text in texts:  # one at a time: the vocabulary is then exactly that standardised string
        layer = keras.layers.TextVectorization(split=None)  # default standardize
        layer.adapt([text])
        vocab = layer.get_vocabulary()  # ["", "[UNK]", the one token]
        assert len(vocab) == 3, vocab
        out.append(vocab[2])
    return out


class _TagsToSpaces(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs=None):  # every tag becomes one space
        self.parts.append(" ")

    handle_endtag = handle_startendtag = handle_starttag


def _strip_tags(text):
    parser = _TagsToSpaces()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def _ours(texts):
    return [s.decode() for s in standardize(tf.constant(texts)).numpy()]


def test_standardize_is_keras_default_without_tags():
    ours, theirs = _ours(PLAIN), _keras_default(PLAIN)
    assert ours == theirs
    assert ours[0] == "a fine movie the end 1010 dont miss it"  # deleted, not replaced


def test_standardize_replaces_tags_by_spaces_then_does_what_keras_does():
    reference = [_strip_tags(t) for t in TAGGED]
    assert "<" not in "".join(reference[:4])  # the parser removed every tag
    assert _ours(TAGGED) == _keras_default(reference)


def test_tags_no_longer_glue_words_together():
    text = "A fine movie.<br /><br />The end"
    assert _ours([text])[0].split() == ["a", "fine", "movie", "the", "end"]
    glued = _keras_default([text])[0].split()
    assert glued == ["a", "fine", "moviebr", "br", "the", "end"]  # what Keras's default makes


def test_standardize_inside_text_vectorization():
    texts = TAGGED + PLAIN
    layer = keras.layers.TextVectorization(standardize=standardize)
    layer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(4))  # traced in a tf.function
    vocab = set(layer.get_vocabulary())
    assert {"movie", "the", "casablanca", "great", "really", "bad", "link"} <= vocab
    assert not [w for w in vocab if "br" in w or w in {"i", "b", "em", "p"}]  # no tag leftovers
    default = keras.layers.TextVectorization()
    default.adapt(texts)
    assert {"moviebr", "br", "icasablancai"} <= set(default.get_vocabulary())


def test_review_key_ignores_what_a_reader_would_not_notice():
    same = [
        "Great movie.<br /><br />Loved it!",
        "great   movie<br/>loved it",
        "GREAT MOVIE... LOVED IT",
        "  Great <i>movie</i>. Loved it.  ",
    ]
    different = ["Great movie. Hated it!", "Great movie loved it too"]
    keys = review_key(same + different)
    assert isinstance(keys, np.ndarray) and len(keys) == len(same) + len(different)
    assert len(set(keys[: len(same)])) == 1
    assert keys[0] == b"great movie loved it"
    assert len(set(keys)) == 1 + len(different)


@pytest.mark.parametrize("seed", range(5))
def test_duplicate_mask_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    keys = rng.integers(0, max(1, n // 3), n)  # many repeats
    reference = rng.integers(0, n, int(rng.integers(0, 50)))
    first = np.unique(keys, return_index=True)[1]
    expected = np.ones(n, dtype=bool)
    expected[first] = False
    np.testing.assert_array_equal(duplicate_mask(keys), expected)
    np.testing.assert_array_equal(
        duplicate_mask(keys, reference=reference), expected | np.isin(keys, reference)
    )


def test_duplicate_mask_on_review_keys():
    texts = ["a b", "A, b!", "c", "a  b", "d", "C."]
    test = ["d", "e"]
    keys, test_keys = review_key(texts), review_key(test)
    np.testing.assert_array_equal(duplicate_mask(keys), [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(duplicate_mask(keys, reference=test_keys), [0, 1, 0, 1, 1, 1])
    kept = keys[~duplicate_mask(keys, reference=test_keys)]
    assert len(set(kept)) == len(kept) and not set(kept) & set(test_keys)
    assert duplicate_mask(np.array([], dtype=object)).shape == (0,)
