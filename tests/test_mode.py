import numpy as np
import pytest

from utils import mode


@pytest.mark.parametrize(
    "raw,expected",
    [("1", True), ("true", True), ("ON", True), ("0", False), ("", False), ("no", False)],
)
def test_is_quick_values(monkeypatch, raw, expected):
    monkeypatch.setenv("KTT_QUICK", raw)
    assert mode.is_quick() is expected


def test_is_quick_rejects_garbage(monkeypatch):
    monkeypatch.setenv("KTT_QUICK", "maybe")
    with pytest.raises(ValueError, match="KTT_QUICK"):
        mode.is_quick()


def test_pick(monkeypatch):
    monkeypatch.setenv("KTT_QUICK", "1")
    assert mode.pick(full=20, quick=2) == 2
    assert mode.pick(full=None, quick=300) == 300
    monkeypatch.setenv("KTT_QUICK", "0")
    assert mode.pick(full=20, quick=2) == 20
    assert mode.pick(full=1.5, quick=1) == 1.5
    with pytest.raises(TypeError, match="same kind"):
        mode.pick(full=[1, 2], quick=3)


def test_subset_is_stratified_and_deterministic():
    y = np.repeat(np.arange(4), [100, 200, 300, 400])
    x = np.arange(len(y))[:, None] * np.ones((1, 3))
    xs, ys = mode.subset(x, y, 100, seed=1)
    assert len(xs) == len(ys) == 100
    assert np.bincount(ys).tolist() == [10, 20, 30, 40]
    assert np.array_equal(y[xs[:, 0].astype(int)], ys)  # rows stay paired with their labels
    xs2, _ = mode.subset(x, y, 100, seed=1)
    assert np.array_equal(xs, xs2)
    xs3, _ = mode.subset(x, y, 100, seed=2)
    assert not np.array_equal(xs, xs3)


def test_subset_none_or_large_returns_everything():
    x, y = np.zeros((10, 2)), np.arange(10) % 2
    assert mode.subset(x, y, None)[0] is x
    assert mode.subset(x, y, 50)[0] is x


def test_subset_object_arrays_and_lists():
    x = np.empty(6, dtype=object)
    x[:] = [[1], [2, 2], [3], [4], [5], [6]]
    xs, ys = mode.subset(x, np.array([0, 1, 0, 1, 0, 1]), 4)
    assert xs.dtype == object and len(xs) == 4
    xl, _ = mode.subset(list(x), np.array([0, 1, 0, 1, 0, 1]), 2)
    assert isinstance(xl, list) and len(xl) == 2


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"n": 0}, ValueError, "n must be"),
        ({"n": 2.5}, TypeError, "n must be an int"),
        ({"n": 1}, ValueError, "number of classes"),
        ({"n": 3, "seed": -1}, ValueError, "seed"),
    ],
)
def test_subset_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mode.subset(np.zeros((10, 2)), np.arange(10) % 2, **kwargs)


def test_subset_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        mode.subset(np.zeros((5, 2)), np.zeros(6), 2)


def test_subset_column_labels_are_stratified():
    y = np.repeat(np.arange(2), [30, 70]).reshape(-1, 1)  # CIFAR-style (n, 1) labels
    _, ys = mode.subset(np.zeros((100, 2)), y, 10)
    assert np.bincount(ys.ravel()).tolist() == [3, 7]
