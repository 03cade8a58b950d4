"""Plotting plumbing: several runs' learning curves on one figure, lines, and image grids."""

from __future__ import annotations

import numpy as np

from ._checks import as_array, check_int, check_str


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
):
    """One line per run for ``metric`` (solid: training, dashed: validation); returns the axes.

    ``runs`` maps a label to a ``keras.callbacks.History`` (what ``fit`` returns) or its dict.
    """
    import matplotlib.pyplot as plt

    if not isinstance(runs, dict) or not runs:
        raise TypeError("runs must be a non-empty dict {label: History or dict}")
    check_str("metric", metric)
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for i, (name, run) in enumerate(runs.items()):
        hist = _history_dict(name, run)
        keys = [metric] + ([f"val_{metric}"] if validation else [])
        if not any(k in hist for k in keys):
            raise ValueError(f"run {name!r} has no {metric!r}; it has {sorted(hist)}")
        color = f"C{i % 10}"
        for key, style in zip(keys, ("-", "--"), strict=False):
            if key in hist:
                values = np.asarray(hist[key], dtype=float)
                label = f"{name} ({'val' if key.startswith('val_') else 'train'})"
                ax.plot(np.arange(1, len(values) + 1), values, style, color=color, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric)
    if logy:
        ax.set_yscale("log")
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
):
    """Several named 1-D series on one axes (loss per step, a schedule, a sweep); returns the axes.

    ``x`` is shared by all series (default 0..n-1); a series may also be an ``(x, y)`` pair.
    """
    import matplotlib.pyplot as plt

    if not isinstance(series, dict) or not series:
        raise TypeError("series must be a non-empty dict {label: values or (x, values)}")
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name, values in series.items():
        if isinstance(values, tuple) and len(values) == 2:
            xs, ys = as_array(f"series[{name!r}][0]", values[0], ndim=1), values[1]
        else:
            xs, ys = x, values
        ys = as_array(f"series[{name!r}]", ys, ndim=1).astype(float)
        xs = np.arange(len(ys)) if xs is None else as_array("x", xs, ndim=1)
        if len(xs) != len(ys):
            raise ValueError(f"x has {len(xs)} points but series {name!r} has {len(ys)}")
        ax.plot(xs, ys, label=str(name))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
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
):
    """A grid of the first ``n`` images, titled by class name (and prediction, red when wrong).

    ``images``: (N, H, W) or (N, H, W, C), uint8 0..255 or float 0..1. Returns the figure.
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
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, 1.6 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = images[k]
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
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
    fig.tight_layout()
    return fig
