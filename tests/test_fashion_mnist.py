"""utils.fashion_mnist: Keras's shapes and dtypes, from a fake mirror and from the real one."""

import numpy as np
from datafiles import needs_mirror

from utils import data

pytest_plugins = ["datafiles"]


def test_fashion_from_mirror_has_keras_shapes_and_dtypes(fake_fashion):
    _, arrays = fake_fashion
    loaded = data.load_fashion_mnist()
    (x, y), (xt, yt) = loaded
    assert x.shape == (20, 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8
    assert np.array_equal(x, arrays["train_images"]) and np.array_equal(yt, arrays["test_labels"])
    assert loaded.source == "mirror" and not loaded.synthetic
    assert loaded.class_names[9] == "Ankle boot"


@needs_mirror
def test_real_fashion_mnist_matches_the_upstream_content():
    (x, y), (xt, yt) = loaded = data.load_fashion_mnist(standin="never")
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10 and not loaded.synthetic
