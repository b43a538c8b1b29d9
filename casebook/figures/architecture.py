"""``architecture_diagram``: the classic left-to-right paper figure of a Keras model."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from casebook.figures.layer_labels import (
    _KIND_COLOUR,
    _OPERATION_KINDS,
    _PASS_KINDS,
    _layer_kind,
    _operation_label,
    _shape_label,
    _shape_of,
)
from casebook.figures.style import (
    _FONT,
    _TITLE_FONT,
    PALETTE,
    _edge,
    _positive_int,
    _shade,
    _text_width_in,
)


def _walk_layers(model):
    """Yield the layers of a model in order, opening nested models (a base inside a head)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model) and layer is not model:
            yield from _walk_layers(layer)
        else:
            yield layer


def _diagram_stages(model) -> list[dict]:
    """The boxes of the diagram: input first, then each layer that changes the tensor.

    Each stage is a dict with ``kind``, ``op`` (the label above), ``shape`` (a tuple) and
    ``label`` (the text below, e.g. "28x28x6").
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(
            f"model must be a Keras model (keras.Model or keras.Sequential), "
            f"got {type(model).__name__}"
        )
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            "model has no defined input: build it with keras.Input(shape) as its first layer"
        )
    shape = _shape_of(inputs[0])
    stages = [{"kind": "input", "op": "input", "shape": shape, "label": _shape_label(shape)}]
    for layer in _walk_layers(model):
        kind = _layer_kind(layer)
        if kind == "input":
            continue
        try:
            out_shape = _shape_of(layer.output)
        except (AttributeError, ValueError) as err:
            raise ValueError(
                f"layer {layer.name!r} has no defined output shape; build the model on "
                f"keras.Input(shape) first ({err})"
            ) from None
        keeps_shape = out_shape == stages[-1]["shape"]
        if kind not in _OPERATION_KINDS and (kind in _PASS_KINDS or keeps_shape):
            continue
        stages.append(
            {
                "kind": kind,
                "op": _operation_label(layer, kind),
                "shape": out_shape,
                "label": _shape_label(out_shape),
            }
        )
    if len(stages) == 1:
        raise ValueError("model has no layers to draw: add at least one layer after the input")
    return stages


def _channels_last() -> bool:
    try:
        import keras

        return keras.config.image_data_format() != "channels_first"
    except Exception:  # pragma: no cover - keras always has config
        return True


def _split_shape(shape: tuple, channels_last: bool) -> tuple[float, float, float] | None:
    """(height, width, channels) of a feature map; None for a flat vector."""
    dims = [1 if d is None else d for d in shape]
    if len(dims) <= 1:
        return None
    if not channels_last and len(dims) >= 3:
        dims = dims[1:] + dims[:1]
    if len(dims) == 2:  # a sequence: steps x channels
        return float(dims[0]), 1.0, float(dims[1])
    return float(dims[0]), float(dims[1]), float(dims[-1])


def architecture_diagram(model, title: str | None = None, max_layers: int | None = None) -> Figure:
    """Draw a Keras model as the classic left-to-right chain of feature maps.

    Each tensor-changing layer becomes a box: feature maps are slanted blocks whose height grows
    with the spatial size and whose width grows (log scaled) with the channel count, flat
    vectors (Flatten / Dense outputs) are thin tall bars.  The operation ("conv 5x5, 6",
    "max-pool 2x2", "dense 120") sits above each box and the output shape ("28x28x6") below it.
    Layers that keep the shape (activations, dropout, batch norm) are left out; the input box
    comes first.  Long models wrap onto several rows.

    Args:
        model: a functional or Sequential Keras model built on ``keras.Input``.
        title: optional title above the diagram.
        max_layers: draw only the first ``max_layers`` boxes after the input; the figure says
            how many were left out.
    """
    if max_layers is not None:
        max_layers = _positive_int(max_layers, "max_layers")
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be a string or None, got {type(title).__name__}")
    stages = _diagram_stages(model)
    hidden = 0
    if max_layers is not None and len(stages) - 1 > max_layers:
        hidden = len(stages) - 1 - max_layers
        stages = stages[: max_layers + 1]

    channels_last = _channels_last()
    maps = [_split_shape(s["shape"], channels_last) for s in stages]
    spatial_max = max((m[0] for m in maps if m is not None), default=1.0)
    vec_sizes = [
        max(1, s["shape"][0] or 1) if m is None and s["shape"] else 1
        for s, m in zip(stages, maps, strict=True)
    ]
    vec_max = max(vec_sizes)

    # box geometry in inches: front face (w, h) plus a slanted depth (dx, dy)
    h_min, h_max = 0.16, 1.25
    boxes = []
    for m, n in zip(maps, vec_sizes, strict=True):
        if m is None:  # flat vector: thin tall bar, height by log size
            frac = math.log(n + 1) / math.log(vec_max + 1) if vec_max > 1 else 1.0
            h = h_min + (h_max - h_min) * max(frac, 0.05)
            w, dx, dy = 0.07, 0.05, 0.04
        else:
            rows, cols, chans = m
            h = h_min + (h_max - h_min) * math.sqrt(rows / spatial_max)
            depth = h_min + (h_max - h_min) * math.sqrt(cols / spatial_max)
            w = 0.05 + 0.034 * math.log2(max(chans, 1.0))
            dx, dy = 0.24 * depth, 0.16 * depth
        boxes.append({"w": w, "h": h, "dx": dx, "dy": dy})

    font = _FONT
    slot = max(
        max(b["w"] + b["dx"] for b in boxes) + 0.22,
        max(_text_width_in(s["op"], font) for s in stages) + 0.16,
        max(_text_width_in(s["label"], font) for s in stages) + 0.16,
    )
    margin = 0.25
    max_width = 10.0
    per_row = max(1, int((max_width - 2 * margin) // slot))
    n_rows = math.ceil(len(stages) / per_row)
    per_row = math.ceil(len(stages) / n_rows)  # balance the rows
    rows = [list(range(i, min(i + per_row, len(stages)))) for i in range(0, len(stages), per_row)]

    label_gap, text_h = 0.07, font * 1.35 / 72

    def row_body(row):  # front faces share a centre line; the slanted depth rises above it
        tallest = max(boxes[i]["h"] for i in row)
        return tallest, max(tallest / 2 + boxes[i]["h"] / 2 + boxes[i]["dy"] for i in row)

    row_heights = [text_h + label_gap + row_body(row)[1] + label_gap + text_h for row in rows]
    row_gap = 0.28
    title_h = (_TITLE_FONT * 1.6 / 72 + 0.08) if title else 0.0
    note_h = text_h + 0.1 if hidden else 0.0
    fig_w = 2 * margin + per_row * slot
    fig_h = 2 * 0.15 + title_h + sum(row_heights) + row_gap * (len(rows) - 1) + note_h

    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    ax.set_position((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    ax.set_aspect("equal")
    ax.axis("off")

    if title:
        ax.text(
            fig_w / 2,
            fig_h - 0.12,
            title,
            ha="center",
            va="top",
            fontsize=_TITLE_FONT,
            fontweight="bold",
            color=PALETTE["text"],
        )

    top = fig_h - 0.15 - title_h
    for r, row in enumerate(rows):
        height = row_heights[r]
        tallest, body = row_body(row)
        body_bottom = top - height + text_h + label_gap
        centre = body_bottom + tallest / 2
        op_y = body_bottom + body + label_gap
        shape_y = body_bottom - label_gap
        previous_right = None
        for col, i in enumerate(row):
            stage, box = stages[i], boxes[i]
            slot_left = margin + col * slot
            x0 = slot_left + (slot - box["w"] - box["dx"]) / 2
            y0 = centre - box["h"] / 2
            _draw_block(ax, x0, y0, box, PALETTE[_KIND_COLOUR.get(stage["kind"], "other")], i)
            x_mid = slot_left + slot / 2
            labels = (
                (op_y, stage["op"], "bottom", PALETTE["text"], "op"),  # the operation above
                (shape_y, stage["label"], "top", PALETTE["muted"], "shape"),  # the shape below
            )
            for y, text, va, colour, gid in labels:
                ax.text(
                    x_mid,
                    y,
                    text,
                    ha="center",
                    va=va,
                    fontsize=font,
                    color=colour,
                    gid=f"{gid}-{i}",
                )
            if previous_right is not None:
                _arrow(ax, previous_right + 0.03, x0 - 0.03, centre)
            elif r > 0:  # continued from the row above
                _arrow(ax, margin * 0.3, x0 - 0.03, centre)
            previous_right = x0 + box["w"]
        if r < len(rows) - 1 and previous_right is not None:
            _arrow(ax, previous_right + 0.03, fig_w - margin * 0.3, centre)
        top -= height + row_gap

    if hidden:
        ax.text(
            fig_w - margin,
            0.15,
            f"... {hidden} more layer{'s' if hidden != 1 else ''} not shown",
            ha="right",
            va="bottom",
            fontsize=font,
            style="italic",
            color=PALETTE["muted"],
        )
    return fig


def _draw_block(ax, x0: float, y0: float, box: dict, colour: str, index: int) -> None:
    """A slanted 3D-looking block: front face, top face and right side face."""
    w, h, dx, dy = box["w"], box["h"], box["dx"], box["dy"]
    edge = dict(edgecolor=_shade(colour, -0.45), linewidth=0.7, joinstyle="round")
    front = Rectangle((x0, y0), w, h, facecolor=colour, gid=f"box-{index}", zorder=3, **edge)
    top = Polygon(
        [(x0, y0 + h), (x0 + dx, y0 + h + dy), (x0 + w + dx, y0 + h + dy), (x0 + w, y0 + h)],
        closed=True,
        facecolor=_shade(colour, 0.35),
        zorder=2,
        **edge,
    )
    side = Polygon(
        [(x0 + w, y0), (x0 + w + dx, y0 + dy), (x0 + w + dx, y0 + h + dy), (x0 + w, y0 + h)],
        closed=True,
        facecolor=_shade(colour, -0.18),
        zorder=2,
        **edge,
    )
    for patch in (side, top, front):
        ax.add_patch(patch)


def _arrow(ax, x_start: float, x_end: float, y: float) -> None:
    if x_end - x_start < 0.04:
        return
    _edge(ax, (x_start, y), (x_end, y), scale=7, width=0.8)
