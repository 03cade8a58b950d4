import numpy as np
import pytest

from utils import data, splits


@pytest.fixture(scope="module")
def fashion():
    return data.load_fashion_mnist()


def test_splits_are_the_documented_slices_of_the_real_files(fashion):
    (x_all, y_all), (x_test_all, y_test_all) = fashion
    parts = splits.fashion_mnist(shape="raw")
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = parts
    assert np.array_equal(x_train, x_all[:50_000]) and np.array_equal(y_val, y_all[50_000:])
    assert np.array_equal(x_test, x_test_all) and np.array_equal(y_test, y_test_all)
    assert parts.class_names == fashion.class_names and parts.synthetic == fashion.synthetic
    assert "50000 train / 10000 validation / 10000 test" in repr(parts)


def test_subsets_are_stratified_deterministic_and_disjoint(fashion):
    first = splits.fashion_mnist(500, 200, 300, shape="image")
    second = splits.fashion_mnist(500, 200, 300, shape="image")
    (x_train, y_train), (x_val, y_val), (x_test, _) = first
    assert x_train.shape == (500, 28, 28, 1) and x_val.shape == (200, 28, 28, 1)
    assert x_test.shape == (300, 28, 28, 1) and x_train.dtype == np.float32
    assert np.array_equal(np.bincount(y_train, minlength=10), [50] * 10)
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    train_rows = {row.tobytes() for row in x_train.reshape(500, -1)}
    assert not any(row.tobytes() in train_rows for row in x_val.reshape(200, -1))


def test_prepare_images_scales_to_unit_range():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    flat = splits.prepare_images(x, "flat")
    assert flat.shape == (1, 4) and flat.dtype == np.float32
    assert np.allclose(flat, [[0, 1, 0.2, 0.4]])
    assert splits.prepare_images(x, "image").shape == (1, 2, 2, 1)
    assert splits.prepare_images(x, "raw") is x


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"shape": "square"}, ValueError, "shape"),
        ({"n_train": 5}, ValueError, "n_train"),
        ({"n_val": 1.5}, TypeError, "n_val"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        splits.fashion_mnist(**kwargs)


def test_prepare_images_rejects_flat_input():
    with pytest.raises(ValueError, match="x must have shape"):
        splits.prepare_images(np.zeros((3, 784), np.uint8))
