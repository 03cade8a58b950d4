"""Plotting plumbing: several runs' learning curves on one figure, lines, and image grids.

Shared conventions: one colour per run name across every panel of a figure (pass the same
``colors`` mapping, see :func:`run_colors`), whole-number epoch ticks, markers on short series
(so one or two points stay visible), and log axes labelled only at the values plotted.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_array, check_int, check_str

SHORT_SERIES = 12  # series with at most this many points get a marker on every point


def run_colors(names) -> dict:
    """A stable ``{name: colour}`` map (Matplotlib's C0..C9 in order), to share across panels."""
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError("names must not be empty")
    return {name: f"C{i % 10}" for i, name in enumerate(names)}


def integer_ticks(ax, axis: str = "x") -> None:
    """Only whole numbers on ``axis`` (epochs, steps): no 1.25, 1.5 on a three-epoch run."""
    from matplotlib.ticker import MaxNLocator

    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))


def log_axis(ax, axis: str = "x", ticks=None) -> None:
    """A log-scaled ``axis`` whose labels stay readable.

    With ``ticks`` (e.g. the λ values of a sweep), exactly those values are labelled in plain
    notation; minor tick labels are always switched off (Matplotlib labels them on short ranges,
    and they print over each other).
    """
    from matplotlib.ticker import NullFormatter

    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    getattr(ax, f"set_{axis}scale")("log")
    target = getattr(ax, f"{axis}axis")
    target.set_minor_formatter(NullFormatter())
    if ticks is not None:
        values = sorted({float(v) for v in as_array("ticks", ticks, ndim=1, finite=True)})
        if min(values) <= 0:
            raise ValueError("ticks on a log axis must be positive")
        getattr(ax, f"set_{axis}ticks")(values, labels=[f"{v:g}" for v in values])
        target.set_minor_formatter(NullFormatter())


def _marker(n_points: int) -> str:
    return "o" if n_points <= SHORT_SERIES else ""


def _history_dict(name: str, run) -> dict[str, list[float]]:
    hist = getattr(run, "history", run)  # a keras History or its .history dict
    if not isinstance(hist, dict):
        raise TypeError(
            f"run {name!r} must be a keras History or a dict of lists, got {type(run).__name__}"
        )
    return hist


def plot_curves(
    runs: dict,
    metric: str = "loss",
    *,
    validation: bool = True,
    ax=None,
    title: str | None = None,
    logy: bool = False,
    xlabel: str = "epoch",
    colors: dict | None = None,
):
    """One line per run for ``metric`` (solid: training, dashed: validation); returns the axes.

    ``runs`` maps a label to a ``keras.callbacks.History`` (what ``fit`` returns) or its dict.
    ``colors`` maps labels to colours (default :func:`run_colors` of the labels, in order).
    """
    import matplotlib.pyplot as plt

    if not isinstance(runs, dict) or not runs:
        raise TypeError("runs must be a non-empty dict {label: History or dict}")
    check_str("metric", metric)
    colors = {**run_colors(runs), **(colors or {})}
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name, run in runs.items():
        hist = _history_dict(name, run)
        keys = [metric] + ([f"val_{metric}"] if validation else [])
        if not any(k in hist for k in keys):
            raise ValueError(f"run {name!r} has no {metric!r}; it has {sorted(hist)}")
        for key, style in zip(keys, ("-", "--"), strict=False):
            if key in hist:
                values = np.asarray(hist[key], dtype=float)
                label = f"{name} ({'val' if key.startswith('val_') else 'train'})"
                ax.plot(
                    np.arange(1, len(values) + 1),
                    values,
                    style,
                    marker=_marker(len(values)),
                    markersize=4,
                    color=colors[name],
                    label=label,
                )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric)
    integer_ticks(ax, "x")
    if logy:
        log_axis(ax, "y")
    ax.set_title(title or metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_lines(
    series: dict,
    *,
    x=None,
    ax=None,
    xlabel: str = "step",
    ylabel: str = "",
    title: str = "",
    logx: bool = False,
    logy: bool = False,
    colors: dict | None = None,
):
    """Several named 1-D series on one axes (loss per step, a schedule, a sweep); returns the axes.

    ``x`` is shared by all series (default 0..n-1); a series may also be an ``(x, y)`` pair.
    Short series get markers; a log x axis with few distinct x values is labelled at them.
    """
    import matplotlib.pyplot as plt

    if not isinstance(series, dict) or not series:
        raise TypeError("series must be a non-empty dict {label: values or (x, values)}")
    colors = {**run_colors(series), **(colors or {})}
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    all_x = []
    for name, values in series.items():
        if isinstance(values, tuple) and len(values) == 2:
            xs, ys = as_array(f"series[{name!r}][0]", values[0], ndim=1), values[1]
        else:
            xs, ys = x, values
        ys = as_array(f"series[{name!r}]", ys, ndim=1).astype(float)
        xs = np.arange(len(ys)) if xs is None else as_array("x", xs, ndim=1)
        if len(xs) != len(ys):
            raise ValueError(f"x has {len(xs)} points but series {name!r} has {len(ys)}")
        ax.plot(xs, ys, marker=_marker(len(ys)), markersize=4, color=colors[name], label=str(name))
        all_x.extend(np.asarray(xs, dtype=float).tolist())
    if logx:
        distinct = sorted(set(all_x))
        few_positive = len(distinct) <= 8 and min(distinct) > 0
        log_axis(ax, "x", ticks=distinct if few_positive else None)
    if logy:
        log_axis(ax, "y")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def image_grid(
    images,
    labels=None,
    *,
    class_names=None,
    predictions=None,
    confidences=None,
    n: int = 16,
    ncols: int = 8,
    cmap: str = "gray",
    title: str | None = None,
    value_range: tuple[float, float] | str | None = "auto",
):
    """A grid of the first ``n`` images, titled by class name (and prediction, red when wrong).

    ``images``: (N, H, W) or (N, H, W, C), uint8 0..255 or float 0..1. Returns the figure.
    ``value_range``: the intensities that map to black and white. ``"auto"``: 0..255 for uint8,
    0..1 for floats inside [0, 1] (so a brightness or contrast change stays visible), otherwise
    each image stretched to its own range; ``None``: always stretch; or a ``(low, high)`` pair.
    """
    import matplotlib.pyplot as plt

    images = as_array("images", images, ndim=(3, 4))
    n = check_int("n", n, minimum=1)
    ncols = check_int("ncols", ncols, minimum=1)
    n = min(n, len(images))
    labels = None if labels is None else np.asarray(labels).reshape(len(labels), -1)[:, 0]
    if labels is not None and len(labels) < n:
        raise ValueError(f"labels has {len(labels)} entries for {n} images")
    preds = None if predictions is None else np.asarray(predictions).reshape(-1)
    if preds is not None and len(preds) < n:
        raise ValueError(f"predictions has {len(preds)} entries for {n} images")
    if confidences is not None and len(confidences) < n:
        raise ValueError(f"confidences has {len(confidences)} entries for {n} images")
    name = (lambda i: str(class_names[int(i)])) if class_names is not None else str
    if value_range == "auto":
        if images.dtype == np.uint8:
            value_range = (0, 255)
        elif np.issubdtype(images.dtype, np.floating) and images.min() >= 0 and images.max() <= 1:
            value_range = (0.0, 1.0)
        else:
            value_range = None
    elif value_range is not None:
        if isinstance(value_range, str) or len(value_range) != 2:
            raise ValueError(
                f"value_range must be 'auto', None or (low, high), got {value_range!r}"
            )
        if not value_range[0] < value_range[1]:
            raise ValueError(f"value_range must have low < high, got {value_range!r}")
    low, high = value_range if value_range is not None else (None, None)
    nrows = -(-n // ncols)
    title_lines = 2 if preds is not None and labels is not None else 1
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(1.4 * ncols, (1.4 + 0.22 * title_lines) * nrows + (0.4 if title else 0)),
        squeeze=False,
        layout="constrained",
    )
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = images[k]
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, vmin=low, vmax=high)
        text, color = "", "black"
        if preds is not None:
            text = name(preds[k])
            if confidences is not None:
                text += f" {100 * float(confidences[k]):.0f}%"
            if labels is not None and preds[k] != labels[k]:
                text, color = f"{text}\n(true: {name(labels[k])})", "red"
        elif labels is not None:
            text = name(labels[k])
        ax.set_title(text, fontsize=7, color=color)
    if title:
        fig.suptitle(title)
    return fig


def plot_with_errors(
    values: dict,
    errors: dict,
    *,
    ax=None,
    k: float = 2.0,
    xlabel: str = "",
    title: str = "",
    colors: dict | None = None,
):
    """One dot per named result with a ±k·error bar (k = 2 by default), best read as "do the bars
    overlap?"; returns the axes. ``errors``: a standard error or seed spread per name."""
    import matplotlib.pyplot as plt

    if not isinstance(values, dict) or not values:
        raise TypeError("values must be a non-empty dict {name: number}")
    if not isinstance(errors, dict) or set(errors) != set(values):
        raise ValueError("errors must be a dict with the same names as values")
    colors = {**run_colors(values), **(colors or {})}
    ax = ax or plt.subplots(figsize=(7, 0.45 * len(values) + 1.2))[1]
    names = list(values)
    for row, name in enumerate(names):
        ax.errorbar(
            float(values[name]),
            row,
            xerr=k * float(errors[name]),
            fmt="o",
            color=colors[name],
            capsize=4,
        )
    ax.set_yticks(range(len(names)), labels=[str(n) for n in names])
    ax.invert_yaxis()
    ax.set(xlabel=xlabel or f"value (bars: ±{k:g} × noise)", title=title)
    ax.grid(alpha=0.3, axis="x")
    return ax
