"""14_data_splits_and_sampling: the from-scratch splitter, class weights, under-sampling and data
preparation (median imputation, IQR fences, one-hot) against scikit-learn and NumPy.

Everything here is exact arithmetic on small arrays, so comparisons are exact (integer indices,
counts, 0/1 matrices) or to float64 rounding (rtol 1e-12).
"""

import numpy as np
import pytest
from nbcode import scratch
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.class_weight import compute_class_weight

ns = scratch("14_data_splits_and_sampling")
stratified_kfold = ns["stratified_kfold"]
balanced_class_weights = ns["balanced_class_weights"]
undersample = ns["undersample"]
median_impute_fit = ns["median_impute_fit"]
median_impute_apply = ns["median_impute_apply"]
iqr_fences = ns["iqr_fences"]
one_hot_fit = ns["one_hot_fit"]
one_hot_apply = ns["one_hot_apply"]


def _labels(seed, n, classes, p=None):
    return np.random.default_rng(seed).choice(classes, size=n, p=p)


LABEL_CASES = {
    "balanced binary": (0, 100, [0, 1], None),
    "imbalanced binary": (1, 403, [0, 1], [0.95, 0.05]),
    "three classes, odd sizes": (2, 157, [0, 1, 2], [0.6, 0.3, 0.1]),
    "string labels, first seen not smallest": (3, 211, ["dog", "cat", "eel"], [0.5, 0.3, 0.2]),
    "ten classes": (4, 1000, list(range(10)), None),
}


def _fold_counts(y, folds, classes):
    """counts[f, c]: how many examples of classes[c] are in test fold f."""
    return np.array([[np.sum(y[te] == c) for c in classes] for _, te in folds])


@pytest.mark.parametrize("case", LABEL_CASES)
@pytest.mark.parametrize("n_splits", [2, 3, 5, 7])
@pytest.mark.parametrize("shuffle", [False, True])
def test_stratified_kfold_has_sklearns_per_fold_class_counts(case, n_splits, shuffle):
    y = _labels(*LABEL_CASES[case])
    classes = np.unique(y)
    rng = np.random.default_rng(10) if shuffle else None
    ours = stratified_kfold(y, n_splits, rng=rng)
    theirs = list(
        StratifiedKFold(n_splits, shuffle=shuffle, random_state=0 if shuffle else None).split(y, y)
    )
    assert len(ours) == n_splits
    # Which examples land in which fold may differ; how many of each class per fold must not.
    np.testing.assert_array_equal(_fold_counts(y, ours, classes), _fold_counts(y, theirs, classes))


@pytest.mark.parametrize("case", LABEL_CASES)
@pytest.mark.parametrize("shuffle", [False, True])
def test_stratified_kfold_folds_partition_the_data(case, shuffle):
    y = _labels(*LABEL_CASES[case])
    folds = stratified_kfold(y, 5, rng=np.random.default_rng(11) if shuffle else None)
    tests = np.concatenate([te for _, te in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(y)))  # each example tested once
    for tr, te in folds:
        assert np.intersect1d(tr, te).size == 0
        np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(len(y)))
    sizes = [len(te) for _, te in folds]
    assert max(sizes) - min(sizes) <= 1


def test_stratified_kfold_keeps_proportions_within_one():
    y = _labels(*LABEL_CASES["three classes, odd sizes"])
    counts = _fold_counts(y, stratified_kfold(y, 4), np.unique(y))
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all()


def test_stratified_kfold_shuffle_depends_on_the_generator():
    y = _labels(*LABEL_CASES["imbalanced binary"])
    a = stratified_kfold(y, 5, rng=np.random.default_rng(1))
    b = stratified_kfold(y, 5, rng=np.random.default_rng(1))
    c = stratified_kfold(y, 5, rng=np.random.default_rng(2))
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b, strict=True))
    assert not all(np.array_equal(x[1], z[1]) for x, z in zip(a, c, strict=True))


def test_stratified_kfold_accepts_column_labels():
    y = _labels(*LABEL_CASES["balanced binary"])
    flat = stratified_kfold(y, 4)
    column = stratified_kfold(y.reshape(-1, 1), 4)
    assert all(np.array_equal(f[1], c[1]) for f, c in zip(flat, column, strict=True))


@pytest.mark.parametrize("n_splits", [0, 1, 102])
def test_stratified_kfold_bad_n_splits(n_splits):
    with pytest.raises(ValueError, match="n_splits"):
        stratified_kfold(np.arange(101) % 2, n_splits)


@pytest.mark.parametrize("case", LABEL_CASES)
def test_balanced_class_weights_match_sklearn(case):
    y = _labels(*LABEL_CASES[case])
    classes = np.unique(y)
    ours = balanced_class_weights(y)
    assert list(ours) == classes.tolist()
    expected = compute_class_weight("balanced", classes=classes, y=y)
    np.testing.assert_allclose([ours[c] for c in classes.tolist()], expected, rtol=1e-12)
    # every class then carries the same total weight, n_samples / n_classes
    totals = [ours[c] * np.sum(y == c) for c in classes.tolist()]
    np.testing.assert_allclose(totals, len(y) / len(classes), rtol=1e-12)


def test_balanced_class_weights_keys_are_python_ints_for_keras():
    weights = balanced_class_weights(np.array([0, 0, 0, 1], dtype="int64"))
    assert all(type(k) is int for k in weights)
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})


@pytest.mark.parametrize("case", LABEL_CASES)
def test_undersample_keeps_the_rarest_class_and_equal_counts(case):
    y = _labels(*LABEL_CASES[case])
    classes, counts = np.unique(y, return_counts=True)
    keep = undersample(y, np.random.default_rng(5))
    assert np.all(np.diff(keep) > 0)  # sorted, no repeats
    kept_classes, kept_counts = np.unique(y[keep], return_counts=True)
    np.testing.assert_array_equal(kept_classes, classes)
    assert (kept_counts == counts.min()).all()
    rarest = classes[counts.argmin()]
    np.testing.assert_array_equal(keep[y[keep] == rarest], np.flatnonzero(y == rarest))


def _with_nans(seed=6, shape=(60, 5), frac=0.15):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * [1, 10, 100, 0.1, 5]
    x[rng.random(shape) < frac] = np.nan
    return x


def test_median_imputation_matches_simple_imputer():
    x_fit, x_new = _with_nans(6), _with_nans(7, shape=(25, 5))
    medians = median_impute_fit(x_fit)
    imputer = SimpleImputer(strategy="median").fit(x_fit)
    np.testing.assert_allclose(medians, imputer.statistics_, rtol=1e-12)
    for x in (x_fit, x_new):  # fitted on training rows, applied to any rows
        out = median_impute_apply(x, medians)
        assert not np.isnan(out).any()
        np.testing.assert_allclose(out, imputer.transform(x), rtol=1e-12)
    observed = ~np.isnan(x_new)
    np.testing.assert_array_equal(median_impute_apply(x_new, medians)[observed], x_new[observed])


def test_iqr_fences_match_percentiles_and_ignore_nan():
    x = _with_nans(8)
    lo, hi = iqr_fences(x)
    for j in range(x.shape[1]):
        col = x[~np.isnan(x[:, j]), j]
        q1, q3 = np.percentile(col, [25, 75])
        np.testing.assert_allclose([lo[j], hi[j]], [q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)])
    lo3, hi3 = iqr_fences(x, k=3.0)
    assert (lo3 < lo).all() and (hi3 > hi).all()


def test_iqr_fences_flag_a_planted_outlier():
    x = np.arange(1.0, 21.0)  # Q1 = 5.75, Q3 = 15.25, IQR = 9.5 -> fences -8.5, 29.5
    lo, hi = iqr_fences(np.append(x, 200.0).reshape(-1, 1))
    assert lo[0] < 1 and 20 < hi[0] < 200
    assert iqr_fences(x.reshape(-1, 1))[1][0] == pytest.approx(29.5)


@pytest.mark.parametrize(
    "train, new",
    [
        (np.array([2, 1, 2, 2, 1]), np.array([1, 2, 2])),
        (np.array([0, 3, 1, 2, 3, 0]), np.array([3, 3, 0, 1, 2])),
        (np.array(["red", "green", "red", "blue"]), np.array(["blue", "red", "green"])),
        (np.array([1.0, 2.0, 1.0]), np.array([2.0, 1.0])),  # sex is stored as 1.0 / 2.0
    ],
)
def test_one_hot_matches_sklearn(train, new):
    categories = one_hot_fit(train)
    encoder = OneHotEncoder(sparse_output=False, handle_unknown="ignore")
    encoder.fit(train.reshape(-1, 1))
    np.testing.assert_array_equal(categories, encoder.categories_[0])
    for values in (train, new):
        ours = one_hot_apply(values, categories)
        assert ours.dtype == np.float32 and ours.shape == (len(values), len(categories))
        np.testing.assert_array_equal(ours, encoder.transform(values.reshape(-1, 1)))
        np.testing.assert_array_equal(ours.sum(axis=1), 1)  # exactly one 1 per row


def test_one_hot_unknown_category_is_all_zeros_like_sklearn():
    train, new = np.array([0, 1, 2, 1]), np.array([1, 7, 2, -1])
    encoder = OneHotEncoder(sparse_output=False, handle_unknown="ignore")
    expected = encoder.fit(train.reshape(-1, 1)).transform(new.reshape(-1, 1))
    ours = one_hot_apply(new, one_hot_fit(train))
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(ours.sum(axis=1), [1, 0, 1, 0])


def test_one_hot_of_several_columns_matches_sklearn():
    rng = np.random.default_rng(9)
    table = np.column_stack([rng.integers(0, 4, 50), rng.integers(1, 3, 50)])
    ours = np.hstack([one_hot_apply(col, one_hot_fit(col)) for col in table.T])
    theirs = OneHotEncoder(sparse_output=False).fit_transform(table)
    np.testing.assert_array_equal(ours, theirs)
