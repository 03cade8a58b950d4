"""How big is the noise? Standard errors and seed spreads, and verdicts that respect them.

A difference between two results is only a finding when it is larger than its noise. The noise
is either a *standard error* (from the number of examples an accuracy was measured on) or a
*seed spread* (the standard deviation of the same run repeated with other seeds). Here a
difference counts when it exceeds ``k`` (default 2) times the noise of the difference; inside
that it is called **a tie**.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_array, check_int, check_number, check_str

TIE = "a tie"


def accuracy_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` examples: sqrt(p(1-p)/n)."""
    p = check_number("accuracy", accuracy, minimum=0.0, maximum=1.0)
    n = check_int("n", n, minimum=1)
    return math.sqrt(p * (1.0 - p) / n)


def unpaired_difference_se(accuracy_a: float, n_a: int, accuracy_b: float, n_b: int) -> float:
    """Standard error of ``accuracy_a - accuracy_b`` measured on two independent sets."""
    return math.hypot(accuracy_se(accuracy_a, n_a), accuracy_se(accuracy_b, n_b))


def paired_difference_se(correct_a, correct_b) -> float:
    """Standard error of the accuracy difference of two models scored on the *same* examples.

    ``correct_a``/``correct_b``: per-example 0/1 (or bool) arrays. Pairing removes the variance
    the two models share (the same easy and hard examples), so it is smaller than the unpaired
    standard error, and the right yardstick when both were scored on one test set.
    """
    a = as_array("correct_a", correct_a, ndim=1, min_len=2).astype(float)
    b = as_array("correct_b", correct_b, ndim=1, min_len=2).astype(float)
    if a.shape != b.shape:
        raise ValueError(
            f"correct_a and correct_b must have the same length, got {a.shape} and {b.shape}"
        )
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        raise ValueError("correct_a and correct_b must hold only 0/1 (or True/False)")
    difference = a - b
    return float(difference.std(ddof=1) / math.sqrt(len(difference)))


def seed_spread(values) -> float:
    """Sample standard deviation (ddof=1) of one result repeated with different seeds.

    The noise of a *difference* between two single runs is about ``sqrt(2)`` times this.
    """
    arr = as_array("values", values, ndim=1, min_len=2, finite=True).astype(float)
    return float(arr.std(ddof=1))


def auc_se(auc: float, n_positive: int, n_negative: int) -> float:
    """Hanley & McNeil (1982) standard error of a ROC AUC from its positive/negative counts."""
    a = check_number("auc", auc, minimum=0.0, maximum=1.0)
    n_pos = check_int("n_positive", n_positive, minimum=1)
    n_neg = check_int("n_negative", n_negative, minimum=1)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (
        n_pos * n_neg
    )
    return math.sqrt(max(variance, 0.0))


def compare(a: float, b: float, noise: float, *, k: float = 2.0) -> str:
    """``"higher"``, ``"lower"`` or ``"a tie"``: is ``a`` above ``b`` by more than ``k * noise``?

    ``noise`` is the standard error (or seed spread) of the *difference* ``a - b``.
    """
    a = check_number("a", a)
    b = check_number("b", b)
    noise = check_number("noise", noise, minimum=0.0)
    k = check_number("k", k, minimum=0.0)
    if abs(a - b) <= k * noise:
        return TIE
    return "higher" if a > b else "lower"


def describe(
    name_a: str,
    a: float,
    name_b: str,
    b: float,
    noise: float,
    *,
    k: float = 2.0,
    digits: int = 3,
    higher: str = "higher",
    lower: str = "lower",
) -> str:
    """A sentence comparing two results against their noise, e.g.

    ``"dropout 0.842 vs none 0.835: +0.007, inside the noise (2 × 0.005 = 0.010): a tie"`` or
    ``"dropout 0.862 vs none 0.835: +0.027, beyond the noise (0.010): dropout is higher"``.
    ``higher``/``lower`` name the two outcomes (``"better"``/``"worse"`` for an accuracy,
    ``"worse"``/``"better"`` for a loss).
    """
    check_str("name_a", name_a)
    check_str("name_b", name_b)
    digits = check_int("digits", digits, minimum=0)
    verdict = compare(a, b, noise, k=k)
    band = k * noise
    head = f"{name_a} {a:.{digits}f} vs {name_b} {b:.{digits}f}: {a - b:+.{digits}f}"
    if verdict == TIE:
        return f"{head}, inside the noise (±{band:.{digits}f}): {TIE}"
    word = higher if verdict == "higher" else lower
    return f"{head}, beyond the noise (±{band:.{digits}f}): {name_a} is {word}"
