import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from utils import noise


def test_accuracy_se_matches_the_spread_of_simulated_accuracies():
    rng = np.random.default_rng(0)
    p, n = 0.83, 400
    simulated = rng.binomial(n, p, size=20_000) / n
    assert noise.accuracy_se(p, n) == pytest.approx(simulated.std(), rel=0.03)
    assert noise.accuracy_se(p, n) == pytest.approx(math.sqrt(p * (1 - p) / n))


def test_unpaired_difference_se_adds_variances():
    se = noise.unpaired_difference_se(0.8, 1000, 0.7, 500)
    assert se == pytest.approx(math.sqrt(0.8 * 0.2 / 1000 + 0.7 * 0.3 / 500))


def test_paired_difference_se_matches_a_paired_t_statistic():
    rng = np.random.default_rng(1)
    a = rng.random(500) < 0.85
    b = np.where(rng.random(500) < 0.9, a, ~a)  # mostly the same mistakes
    se = noise.paired_difference_se(a, b)
    t = stats.ttest_rel(a.astype(float), b.astype(float)).statistic
    assert (a.mean() - b.mean()) / se == pytest.approx(t)
    unpaired = noise.unpaired_difference_se(a.mean(), 500, b.mean(), 500)
    assert se < unpaired  # pairing removes the shared variance


def test_seed_spread_is_the_sample_standard_deviation():
    assert noise.seed_spread([0.80, 0.82, 0.81]) == pytest.approx(np.std([0.8, 0.82, 0.81], ddof=1))


def test_auc_se_matches_the_spread_of_simulated_aucs():
    rng = np.random.default_rng(2)
    n_pos, n_neg, repeats = 60, 90, 3000
    scores = np.concatenate(
        [rng.normal(1.0, 1, (repeats, n_pos)), rng.normal(0, 1, (repeats, n_neg))], axis=1
    )
    ranks = stats.rankdata(scores, axis=1)  # AUC = Mann-Whitney U / (n_pos * n_neg)
    aucs = (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    labels = np.r_[np.ones(n_pos), np.zeros(n_neg)]
    assert aucs[0] == pytest.approx(roc_auc_score(labels, scores[0]))
    se = noise.auc_se(float(np.mean(aucs)), n_pos, n_neg)
    assert se == pytest.approx(np.std(aucs), rel=0.1)


@pytest.mark.parametrize(
    "a,b,se,expected",
    [(0.85, 0.84, 0.01, "a tie"), (0.85, 0.80, 0.01, "higher"), (0.80, 0.85, 0.01, "lower")],
)
def test_compare(a, b, se, expected):
    assert noise.compare(a, b, se) == expected


def test_compare_boundary_is_a_tie_and_k_scales_the_band():
    assert noise.compare(0.9, 0.8, 0.05) == "a tie"  # exactly 2 SE apart
    assert noise.compare(0.9, 0.8, 0.05, k=1) == "higher"


def test_describe_says_tie_or_names_the_winner():
    tie = noise.describe("dropout", 0.842, "none", 0.835, 0.005)
    assert tie.endswith("a tie") and "+0.007" in tie and "±0.010" in tie
    win = noise.describe("dropout", 0.862, "none", 0.835, 0.005, higher="better")
    assert win.endswith("dropout is better")
    loss = noise.describe("L2", 0.40, "none", 0.60, 0.01, higher="worse", lower="better")
    assert loss.endswith("L2 is better")


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: noise.accuracy_se(1.2, 10), ValueError, "accuracy"),
        (lambda: noise.accuracy_se(0.5, 0), ValueError, "n"),
        (lambda: noise.accuracy_se(0.5, 2.5), TypeError, "n"),
        (lambda: noise.seed_spread([0.8]), ValueError, "values"),
        (lambda: noise.seed_spread([0.8, float("nan")]), ValueError, "values"),
        (lambda: noise.paired_difference_se([1, 0, 1], [1, 0]), ValueError, "same length"),
        (lambda: noise.paired_difference_se([1, 2, 1], [1, 0, 1]), ValueError, "0/1"),
        (lambda: noise.compare(0.5, 0.4, -0.1), ValueError, "noise"),
        (lambda: noise.compare("0.5", 0.4, 0.1), TypeError, "a"),
        (lambda: noise.auc_se(0.7, 0, 5), ValueError, "n_positive"),
        (lambda: noise.describe("", 0.5, "b", 0.4, 0.1), ValueError, "name_a"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
