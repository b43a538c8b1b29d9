"""Bars and sweeps: ``cost_bars`` (parameters and MACs side by side), ``sweep`` (a measured
value against a swept setting) and ``grouped_bars`` (a few quantities for each of many items)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from casebook.costs import human
from casebook.figures.style import (
    _FONT,
    _TITLE_FONT,
    PALETTE,
    _is_number,
    _listlike,
    _series,
    _style_axes,
    _text_width_in,
)


def _counts(values, name: str, length: int) -> np.ndarray:
    if not _listlike(values):
        raise ValueError(f"{name} must be a list of numbers, got {type(values).__name__}")
    values = list(values)
    if len(values) != length:
        raise ValueError(
            f"{name} has {len(values)} values but names has {length}: pass one per name"
        )
    out = []
    for v in values:
        if not _is_number(v) and not isinstance(v, np.number):
            raise ValueError(f"{name} must hold numbers, got {v!r}")
        v = float(v)
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must hold finite counts >= 0, got {v!r}")
        out.append(v)
    return np.array(out, dtype=float)


def cost_bars(names, params, macs, title: str | None = None, log: bool = True) -> Figure:
    """Two horizontal bar panels side by side: parameters (left) and MACs (right).

    One bar per name (layers or architectures), first name on top, the value written at the bar
    end in human form ("15.5 G", "61.7 K").  With ``log=True`` the axes are log scaled so that
    a 60 K LeNet and a 138 M VGG both show; zero counts (pooling has no parameters) get no bar,
    only their "0" label.
    """
    if not _listlike(names):
        raise ValueError(f"names must be a list of strings, got {type(names).__name__}")
    names = [str(n) for n in names]
    if not names:
        raise ValueError("names is empty: pass at least one layer or architecture name")
    p = _counts(params, "params", len(names))
    m = _counts(macs, "macs", len(names))

    bar_h = 0.27
    fig_h = max(2.0, 0.9 + bar_h * len(names) + (0.3 if title else 0.0))
    label_w = max(_text_width_in(n, _FONT) for n in names)
    fig_w = min(11.0, max(7.5, 6.0 + label_w))
    fig, axes = plt.subplots(1, 2, figsize=(fig_w, fig_h), sharey=True)
    y = np.arange(len(names))
    for ax, values, panel, colour in (
        (axes[0], p, "parameters", PALETTE["conv"]),
        (axes[1], m, "multiply-accumulates (MACs)", PALETTE["pool"]),
    ):
        positive = values[values > 0]
        shown = np.where(values > 0, values, np.nan) if log else values
        ax.barh(y, np.nan_to_num(shown, nan=0.0), height=0.62, color=colour, zorder=2)
        _style_axes(ax, grid_axis="x")
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.set_title(panel, fontsize=_FONT + 1, color=PALETTE["text"], loc="left")
        if log:
            ax.set_xscale("log")
            low = positive.min() / 3 if positive.size else 1.0
            high = positive.max() * 25 if positive.size else 10.0
            ax.set_xlim(low, high)
            label_at = [v * 1.12 if v > 0 else low * 1.15 for v in values]
        else:
            high = values.max() if values.max() > 0 else 1.0
            ax.set_xlim(0, high * 1.22)
            label_at = [v + high * 0.015 for v in values]
        for x, yi, v in zip(label_at, y, values, strict=True):
            ax.text(
                x,
                yi,
                human(v),
                va="center",
                ha="left",
                fontsize=_FONT - 0.5,
                color=PALETTE["text"],
            )
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: human(v)))
        if log:
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(names, fontsize=_FONT)
    axes[0].set_ylim(len(names) - 0.5, -0.5)  # first name on top
    if title:
        fig.suptitle(title, fontsize=_TITLE_FONT, fontweight="bold", color=PALETTE["text"])
    fig.tight_layout()
    return fig


def sweep(
    x,
    series,
    baseline=None,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    log_x: bool = True,
) -> Figure:
    """One line per series of measurements against a swept setting (a bottleneck's width,
    a network's depth), and optionally a horizontal baseline ``(label, value)``.

    Args:
        x: the swept values (positive numbers when ``log_x``), shared by every series.
        series: maps a label to one measured value per entry of ``x``.
        baseline: ``(label, value)`` drawn as a dashed line across the plot, or None.
    """
    if not _listlike(x) or len(x) == 0:
        raise ValueError("x must be a non-empty list of the swept values")
    xs = np.asarray(list(x), dtype=float)
    if log_x and (xs <= 0).any():
        raise ValueError("log_x needs positive x values; pass log_x=False for others")
    if not isinstance(series, Mapping) or not series:
        raise ValueError("series must be a dict mapping a label to one value per x")
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    _style_axes(ax, grid_axis="both")
    for r, (label, values) in enumerate(series.items()):
        ys = _series(list(values), str(label), "values")
        if ys.size != xs.size:
            raise ValueError(f"series {label!r} has {ys.size} values for {xs.size} x values")
        colour = PALETTE["series"][r % len(PALETTE["series"])]
        ax.plot(xs, ys, marker="o", markersize=4, linewidth=1.8, color=colour, label=str(label))
    if baseline is not None:
        label, value = baseline
        ax.axhline(float(value), color=PALETTE["muted"], linestyle="--", linewidth=1.4, label=label)
    if log_x:
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
    ax.set_xlabel(xlabel, fontsize=_FONT, color=PALETTE["text"])
    ax.set_ylabel(ylabel, fontsize=_FONT, color=PALETTE["text"])
    if title:
        ax.set_title(title, fontsize=_FONT + 1, color=PALETTE["text"])
    ax.legend(fontsize=_FONT - 0.5, frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def grouped_bars(
    names, series, ylabel: str = "", title: str | None = None, log: bool = False
) -> Figure:
    """Vertical bars, one group per name (a block, a layer) and one bar per series in it.

    Args:
        names: the labels along the x axis.
        series: maps a legend label to one non-negative value per name.
    """
    if not _listlike(names) or len(names) == 0:
        raise ValueError("names must be a non-empty list of labels")
    if not isinstance(series, Mapping) or not series:
        raise ValueError("series must be a dict mapping a label to one value per name")
    n, k = len(names), len(series)
    width = 0.8 / k
    fig, ax = plt.subplots(figsize=(min(max(6.0, 0.32 * n * k + 1.5), 12.0), 3.6))
    _style_axes(ax, grid_axis="y")
    x = np.arange(n)
    for r, (label, values) in enumerate(series.items()):
        heights = _counts(values, str(label), n)
        colour = PALETTE["series"][r % len(PALETTE["series"])]
        ax.bar(x + (r - (k - 1) / 2) * width, heights, width, color=colour, label=str(label))
    ax.set_xticks(x, [str(name) for name in names], rotation=60, ha="right", fontsize=_FONT - 1)
    if log:
        ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
    ax.set_ylabel(ylabel, fontsize=_FONT, color=PALETTE["text"])
    if title:
        ax.set_title(title, fontsize=_FONT + 1, color=PALETTE["text"])
    ax.legend(fontsize=_FONT - 0.5, frameon=False)
    fig.tight_layout()
    return fig
