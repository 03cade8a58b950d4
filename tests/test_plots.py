import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import plots


def teardown_function():
    plt.close("all")


def test_plot_curves_draws_train_and_validation():
    runs = {"a": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "b": {"loss": [2.0, 1.0, 0.5]}}
    ax = plots.plot_curves(runs, "loss", logy=True)
    assert len(ax.get_lines()) == 3
    assert ax.get_yscale() == "log"


def test_plot_curves_accepts_history_objects():
    class History:
        history = {"accuracy": [0.1, 0.2]}

    assert len(plots.plot_curves({"h": History()}, "accuracy").get_lines()) == 1


@pytest.mark.parametrize(
    "runs,metric,exc",
    [
        ({}, "loss", TypeError),
        ({"a": [1, 2]}, "loss", TypeError),
        ({"a": {"loss": [1]}}, "accuracy", ValueError),
        ({"a": {"loss": [1]}}, "", ValueError),
    ],
)
def test_plot_curves_bad_input(runs, metric, exc):
    with pytest.raises(exc):
        plots.plot_curves(runs, metric)


def test_plot_lines():
    ax = plots.plot_lines({"a": [1, 2, 3], "b": ([1, 10, 100], [3, 2, 1])}, logx=True)
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="x has 2 points"):
        plots.plot_lines({"a": [1, 2, 3]}, x=[1, 2])
    with pytest.raises(TypeError):
        plots.plot_lines([1, 2])


def test_image_grid_marks_mistakes_in_red():
    imgs = np.random.default_rng(0).integers(0, 255, (5, 8, 8), dtype=np.uint8)
    fig = plots.image_grid(
        imgs,
        [0, 1, 2, 0, 1],
        class_names=["x", "y", "z"],
        predictions=[0, 1, 1, 0, 1],
        confidences=[0.9] * 5,
        n=5,
        ncols=3,
    )
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 5 and "true: z" in titles[2]
    assert fig.axes[2].title.get_color() == "red"


def test_image_grid_rgb_and_bad_input():
    plots.image_grid(np.zeros((3, 8, 8, 3)), n=3)
    with pytest.raises(ValueError, match="images"):
        plots.image_grid(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="labels"):
        plots.image_grid(np.zeros((4, 8, 8)), [0], n=4)
    with pytest.raises(ValueError, match="n must be"):
        plots.image_grid(np.zeros((4, 8, 8)), n=0)
