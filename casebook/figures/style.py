"""The one style every figure shares: the palette, fonts, calm axes, arrows, and the small
checks of what a figure is given."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.patches import FancyArrowPatch

#: The one palette every figure draws from: muted colours per layer kind, text and grid greys,
#: right/wrong colours and a short cycle of series colours for runs.
PALETTE = {
    "input": "#B9BEC6",
    "conv": "#5B8DB8",
    "pool": "#E3A857",
    "dense": "#6FAE7A",
    "norm": "#A58BC4",
    "other": "#C8B89A",
    "text": "#2F3437",
    "muted": "#7A828A",
    "grid": "#E4E7EB",
    "right": "#2E8540",
    "wrong": "#C23B30",
    "series": ("#4C78A8", "#E8853D", "#59A14F", "#B07AA1", "#D9534F", "#5FA8A8", "#9C755F"),
}

_FONT = 9  # points; small labels, still readable at 100 % zoom
_TITLE_FONT = 11


def _style_axes(ax, grid_axis: str = "y") -> None:
    """Calm axes: no top/right spines, grey ticks, a light grid behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(PALETTE["muted"])
    ax.tick_params(colors=PALETTE["text"], labelsize=_FONT, length=3)
    ax.set_axisbelow(True)
    if grid_axis:
        ax.grid(True, axis=grid_axis, color=PALETTE["grid"], linewidth=0.8)


def _shade(color: str, amount: float) -> tuple:
    """Lighten (amount > 0) or darken (amount < 0) a colour towards white or black."""
    rgb = np.array(mcolors.to_rgb(color))
    target = np.ones(3) if amount > 0 else np.zeros(3)
    return tuple(rgb + (target - rgb) * abs(amount))


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _listlike(values) -> bool:
    """A list, tuple, array or pandas Series/Index: anything ordered that is not text or a dict."""
    if isinstance(values, (str, bytes, Mapping)) or values is None:
        return False
    if isinstance(values, np.ndarray):
        return values.ndim >= 1
    return isinstance(values, Sequence) or (
        hasattr(values, "__len__") and hasattr(values, "__iter__")
    )


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def _text_width_in(text: str, size: float) -> float:
    """Rough width of a label in inches (DejaVu Sans averages ~0.58 em per character)."""
    return len(text) * size * 0.58 / 72


def _edge(ax, start, end, connection: str = "arc3", scale: float = 8, width: float = 0.9):
    """The one arrow style of the diagrams: a straight arrow, or an arc for a shortcut."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=scale,
            color=PALETTE["muted"],
            linewidth=width,
            connectionstyle=connection,
            shrinkA=0,
            shrinkB=0,
            zorder=1,
        )
    )


def _series(values, run: str, key: str) -> np.ndarray:
    if not _listlike(values):
        raise ValueError(f"run {run!r}: {key!r} must be a list of numbers, one per epoch")
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"run {run!r}: {key!r} must hold numbers, one per epoch") from None
    if arr.size == 0:
        raise ValueError(f"run {run!r}: {key!r} is empty: it needs one value per epoch")
    return arr
