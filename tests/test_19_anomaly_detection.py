"""19_anomaly_detection: the scratch PCA, reconstruction score, ROC/AUC and thresholds.

* pca_fit / pca_reconstruct against sklearn.decomposition.PCA (svd_solver="full", float64):
  mean, directions up to sign, variances and variance ratios, reconstructions of unseen rows
  (tolerance 1e-8); the mean training error is exactly the discarded variance, k = 0 gives the
  mean image and full rank gives the data back.
* reconstruction_error against keras.losses.mean_squared_error (float32: 1e-6), and the mean
  score of an autoencoder equals the "mse" loss Keras trains it on.
* roc_points against sklearn.metrics.roc_curve(drop_intermediate=False): the same points
  (1e-12) with and without tied scores, every point reproduced by the rule 'score > t', and the
  trapezoid area equal to roc_auc_score.
* auc_rank against sklearn.metrics.roc_auc_score with and without ties (1e-12), and by hand.
* percentile_threshold against numpy.percentile(method="inverted_cdf") and its promise: at most
  (100 - q)% of the normal scores lie above t, and no smaller score keeps that promise.
* youden_threshold: TPR - FPR at its t equals the largest on scikit-learn's ROC curve (1e-12).
"""

import keras
import numpy as np
import pytest
from nbcode import scratch
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score, roc_curve

ns = scratch("19_anomaly_detection")
pca_fit = ns["pca_fit"]
pca_reconstruct = ns["pca_reconstruct"]
reconstruction_error = ns["reconstruction_error"]
roc_points = ns["roc_points"]
auc_rank = ns["auc_rank"]
percentile_threshold = ns["percentile_threshold"]
youden_threshold = ns["youden_threshold"]

N, D = 300, 20


def _data(seed=0, rank=5):
    """Low-rank rows plus noise, far from the origin (so forgetting to centre shows)."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(100).normal(size=(rank, D))  # one subspace for every seed
    z = rng.normal(size=(N, rank)) * np.linspace(3.0, 1.0, rank)
    return z @ basis + 0.1 * rng.normal(size=(N, D)) + 5.0


# ------------------------------------------------------------------ PCA
@pytest.mark.parametrize("k", [1, 3, 7, D])
def test_pca_matches_sklearn(k):
    x = _data()
    mean, comps, var = pca_fit(x, k)
    sk = PCA(n_components=k, svd_solver="full").fit(x)
    assert comps.shape == (k, D) and var.shape == (D,)
    np.testing.assert_allclose(mean, sk.mean_, atol=1e-10)
    signs = np.sign(np.sum(comps * sk.components_, axis=1))  # directions are defined up to sign
    np.testing.assert_allclose(comps * signs[:, None], sk.components_, atol=1e-8)
    np.testing.assert_allclose(var[:k], sk.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(var[:k] / var.sum(), sk.explained_variance_ratio_, rtol=1e-8)
    x_new = _data(seed=1)  # rows the PCA was not fitted on
    expected = sk.inverse_transform(sk.transform(x_new))
    np.testing.assert_allclose(pca_reconstruct(x_new, mean, comps), expected, atol=1e-8)


def test_pca_training_error_is_the_discarded_variance():
    x = _data()
    mean, comps, var = pca_fit(x, D)
    np.testing.assert_allclose(comps @ comps.T, np.eye(D), atol=1e-10)  # orthonormal
    errors = []
    for k in range(D + 1):
        err = reconstruction_error(x, pca_reconstruct(x, mean, comps[:k])).mean()
        # mean over rows of |x - x_hat|^2 / d = (sum of the variances left out) * (n - 1) / n / d
        assert err == pytest.approx(var[k:].sum() * (N - 1) / N / D, rel=1e-8, abs=1e-12)
        errors.append(err)
    assert np.all(np.diff(errors) < 0)  # every component removes training error
    np.testing.assert_allclose(pca_reconstruct(x, mean, comps[:0]), np.tile(x.mean(0), (N, 1)))
    np.testing.assert_allclose(pca_reconstruct(x, mean, comps), x, atol=1e-10)  # full rank


@pytest.mark.parametrize("k", [-1, D + 1, 2.5, True, None])
def test_pca_fit_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        pca_fit(_data(), k)


@pytest.mark.parametrize("x", [np.ones(5), np.ones((1, 4)), np.array([[0.0, np.nan], [1, 2]])])
def test_pca_fit_rejects_bad_x(x):
    with pytest.raises(ValueError, match="x must be"):
        pca_fit(x, 1)


# ------------------------------------------------------------------ the score
def test_reconstruction_error_matches_keras_mse():
    rng = np.random.default_rng(0)
    x, x_hat = (rng.uniform(size=(8, 28, 28, 1)).astype("float32") for _ in range(2))
    ours = reconstruction_error(x, x_hat)
    assert ours.shape == (8,) and ours.dtype == np.float64
    ref = keras.losses.mean_squared_error(x.reshape(8, -1), x_hat.reshape(8, -1))
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(ref), rtol=1e-6)
    by_hand = ((x.astype("float64") - x_hat) ** 2).reshape(8, -1).mean(axis=1)
    np.testing.assert_allclose(ours, by_hand, rtol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_error(x, x_hat[:, :27])


def test_mean_score_is_the_autoencoders_training_loss():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
            keras.layers.Dense(784, activation="sigmoid"),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    model.compile(loss="mse")
    x = np.random.default_rng(1).uniform(size=(64, 28, 28, 1)).astype("float32")
    loss = model.evaluate(x, x, batch_size=64, verbose=0)
    scores = reconstruction_error(x, model.predict(x, verbose=0))
    assert scores.mean() == pytest.approx(loss, rel=1e-5)


# ------------------------------------------------------------------ ROC and AUC
def _scores(seed=0, ties=False, n=400):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    s = rng.normal(size=n) + 1.2 * y
    return y, (np.round(s, 1) if ties else s)  # rounding: many ties, also across the classes


@pytest.mark.parametrize("ties", [False, True])
def test_roc_points_match_sklearn(ties):
    y, s = _scores(ties=ties)
    fpr, tpr, thr = roc_points(y, s)
    sk_fpr, sk_tpr, sk_thr = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr, sk_tpr, rtol=0, atol=1e-12)
    # sklearn flags 'score >= t'; our cut 'score > t' uses the next distinct score down
    np.testing.assert_array_equal(thr[:-1], sk_thr[1:])
    assert thr[-1] == -np.inf and (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    for f, t, cut in zip(fpr, tpr, thr, strict=True):  # every point is what 'score > t' does
        assert np.mean(s[y == 0] > cut) == pytest.approx(f, abs=1e-12)
        assert np.mean(s[y == 1] > cut) == pytest.approx(t, abs=1e-12)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoids
    assert area == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_auc_rank_matches_sklearn(seed, ties):
    y, s = _scores(seed, ties)
    assert auc_rank(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auc_rank(y, np.exp(s)) == pytest.approx(auc_rank(y, s), abs=1e-12)  # ranks only
    assert auc_rank(y, -s) == pytest.approx(1 - auc_rank(y, s), abs=1e-12)


def test_auc_rank_by_hand():
    y = [0, 0, 1, 1]
    assert auc_rank(y, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc_rank(y, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert auc_rank(y, [1.0, 1.0, 1.0, 1.0]) == 0.5  # all tied: chance
    # pairs (normal, anomaly): 0.1<0.3, 0.1<0.4, 0.3=0.3 (half), 0.3<0.4 -> 3.5 / 4
    assert auc_rank(y, [0.1, 0.3, 0.3, 0.4]) == pytest.approx(0.875, abs=1e-15)


@pytest.mark.parametrize(
    "y, s",
    [([0, 0, 0], [1, 2, 3]), ([0, 2, 1], [1, 2, 3]), ([0, 1], [1, 2, 3]), ([0, 1], [0, np.nan])],
)
def test_roc_and_auc_reject_bad_input(y, s):
    for fn in (roc_points, auc_rank, youden_threshold):
        with pytest.raises(ValueError, match="y_true"):
            fn(y, s)


# ------------------------------------------------------------------ thresholds
@pytest.mark.parametrize("n", [1, 7, 100, 1000, 1001])
@pytest.mark.parametrize("q", [1, 50, 90, 95, 99, 99.5, 100])
def test_percentile_threshold_keeps_its_promise(n, q):
    s = np.random.default_rng(n).normal(size=n)
    s[: n // 3] = np.round(s[: n // 3], 1)  # some ties
    t = percentile_threshold(s, q)
    assert t == np.percentile(s, q, method="inverted_cdf")
    assert np.mean(s > t) <= 1 - q / 100 + 1e-12  # at most (100 - q)% flagged
    below = s[s < t]
    if len(below):  # and it is the smallest score that keeps that promise
        assert np.mean(s > below.max()) > 1 - q / 100


@pytest.mark.parametrize("bad", [0, -5, 100.5])
def test_percentile_threshold_rejects_bad_q(bad):
    with pytest.raises(ValueError, match="q must be"):
        percentile_threshold(np.arange(10.0), bad)


@pytest.mark.parametrize("scores", [[], [1.0, np.inf]])
def test_percentile_threshold_rejects_bad_scores(scores):
    with pytest.raises(ValueError, match="normal_scores"):
        percentile_threshold(scores, 95)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_youden_threshold_maximises_j(seed, ties):
    y, s = _scores(seed, ties)
    t = youden_threshold(y, s)
    j = np.mean(s[y == 1] > t) - np.mean(s[y == 0] > t)
    sk_fpr, sk_tpr, _ = roc_curve(y, s)
    assert j == pytest.approx(np.max(sk_tpr - sk_fpr), abs=1e-12)
    assert 0 < j < 1
