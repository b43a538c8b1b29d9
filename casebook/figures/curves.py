"""``training_curves``: training (solid) and validation (dashed) curves per run."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from casebook.figures.style import _FONT, PALETTE, _listlike, _series, _style_axes


def _pretty_metric(metric: str) -> str:
    text = metric.replace("_", " ")
    return text[:1].upper() + text[1:]


def training_curves(histories, metrics=("loss", "accuracy")) -> Figure:
    """One panel per metric; per run training is solid and validation dashed, same colour.

    Args:
        histories: maps a run label to a Keras ``History.history``-like dict, e.g.
            ``{"lenet": {"loss": [...], "val_loss": [...], "accuracy": [...]}}``.  A
            ``keras.callbacks.History`` object is accepted in place of its dict.
        metrics: the metric names to draw (each looked up as ``m`` and ``val_m``).
    """
    if not isinstance(histories, Mapping):
        raise ValueError(
            f"histories must be a dict mapping run labels to History.history dicts, "
            f"got {type(histories).__name__}"
        )
    if not histories:
        raise ValueError("histories is empty: pass at least one run")
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not _listlike(metrics):
        raise ValueError(f"metrics must be a list of metric names, got {type(metrics).__name__}")
    metrics = list(metrics)
    if not metrics:
        raise ValueError("metrics is empty: name at least one metric, e.g. ('loss',)")
    for metric in metrics:
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metrics must be metric names (strings), got {metric!r}")

    runs = {}
    for label, history in histories.items():
        history = getattr(history, "history", history)
        if not isinstance(history, Mapping):
            raise ValueError(
                f"run {label!r} must be a History.history-like dict, got {type(history).__name__}"
            )
        runs[str(label)] = history
    for metric in metrics:
        if not any(metric in h or f"val_{metric}" in h for h in runs.values()):
            found = sorted({k for h in runs.values() for k in h})
            raise ValueError(
                f"metric {metric!r} is in none of the runs; "
                f"they record {', '.join(found) or 'nothing'}"
            )

    n = len(metrics)
    fig, axes = plt.subplots(1, n, figsize=(min(4.6 * n, 12.0), 3.4), squeeze=False)
    axes = axes[0]
    series = PALETTE["series"]
    for ax, metric in zip(axes, metrics, strict=True):
        _style_axes(ax, grid_axis="both")
        for r, (label, history) in enumerate(runs.items()):
            colour = series[r % len(series)]
            for key, style in ((metric, "-"), (f"val_{metric}", "--")):
                if key not in history:
                    continue
                values = _series(history[key], label, key)
                epochs = np.arange(1, values.size + 1)
                ax.plot(
                    epochs,
                    values,
                    linestyle=style,
                    color=colour,
                    linewidth=1.8,
                    marker="o" if values.size <= 20 else None,
                    markersize=3.5,
                )
        ax.set_title(_pretty_metric(metric), fontsize=_FONT + 1, color=PALETTE["text"])
        ax.set_xlabel("epoch", fontsize=_FONT, color=PALETTE["text"])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        left, right = ax.get_xlim()
        ax.set_xlim(max(left, 0.5), max(right, 1.5))

    handles = [
        Line2D([], [], color=series[r % len(series)], linewidth=2.2) for r in range(len(runs))
    ]
    labels = list(runs)
    handles += [
        Line2D([], [], color=PALETTE["muted"], linestyle="-", linewidth=1.6),
        Line2D([], [], color=PALETTE["muted"], linestyle="--", linewidth=1.6),
    ]
    labels += ["training", "validation"]
    axes[-1].legend(
        handles,
        labels,
        fontsize=_FONT - 0.5,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
    )
    fig.tight_layout()
    return fig
