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


def test_epoch_ticks_are_whole_numbers_and_short_series_have_markers():
    ax = plots.plot_curves({"a": {"loss": [1.0, 0.8, 0.7]}}, "loss")
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert ax.get_lines()[0].get_marker() == "o"
    long_run = plots.plot_curves({"a": {"loss": list(np.linspace(1, 0, 40))}}, "loss")
    assert long_run.get_lines()[0].get_marker() in ("", "None", None)


def test_one_colour_per_run_across_panels():
    colors = plots.run_colors(["step", "cosine", "constant"])
    left = plots.plot_curves({"cosine": {"loss": [1, 0.5]}}, "loss", colors=colors)
    right = plots.plot_lines({"step": [1, 2], "cosine": [2, 3]}, colors=colors)
    assert left.get_lines()[0].get_color() == colors["cosine"] == "C1"
    assert right.get_lines()[1].get_color() == "C1" and right.get_lines()[0].get_color() == "C0"
    with pytest.raises(ValueError, match="names"):
        plots.run_colors([])


def test_log_axis_labels_only_the_plotted_values():
    ax = plots.plot_lines({"sweep": ([250, 500, 1000], [0.3, 0.2, 0.1])}, logx=True)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels == ["250", "500", "1000"]
    minor = [t.get_text() for t in ax.xaxis.get_minorticklabels() if t.get_text()]
    assert minor == []
    with pytest.raises(ValueError, match="positive"):
        plots.log_axis(ax, "x", ticks=[0, 1])


def test_image_grid_keeps_a_fixed_intensity_range():
    dim = np.full((2, 4, 4), 0.2, dtype=np.float32)
    fig = plots.image_grid(dim, n=2, ncols=2)
    image = fig.axes[0].get_images()[0]
    assert image.get_clim() == (0.0, 1.0)  # not stretched: a dim image stays dim
    stretched = plots.image_grid(dim, n=2, ncols=2, value_range=None).axes[0].get_images()[0]
    assert stretched.get_clim() != (0.0, 1.0)
    raw = plots.image_grid((dim * 255).astype(np.uint8), n=1).axes[0].get_images()[0]
    assert raw.get_clim() == (0, 255)
    with pytest.raises(ValueError, match="value_range"):
        plots.image_grid(dim, value_range=(1, 0))


def test_image_grid_titles_do_not_overlap_the_row_above():
    rng = np.random.default_rng(0)
    fig = plots.image_grid(
        rng.random((8, 28, 28)),
        labels=[0] * 8,
        predictions=[1] * 8,
        class_names=["Coat", "Bag"],
        n=8,
        ncols=4,
    )
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    top_row_image = fig.axes[0].get_window_extent(renderer)
    second_row_title = fig.axes[4].title.get_window_extent(renderer)
    assert second_row_title.y1 <= top_row_image.y0 + 1  # title box lies below the image above


def test_plot_with_errors_draws_one_bar_per_result():
    ax = plots.plot_with_errors({"a": 0.8, "b": 0.82}, {"a": 0.01, "b": 0.01})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="errors"):
        plots.plot_with_errors({"a": 0.8}, {"b": 0.1})
