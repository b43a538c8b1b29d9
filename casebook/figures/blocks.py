"""``block_diagram``: one block or module, its branches and shortcuts, as a graph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from casebook.figures.layer_labels import _layer_kind, _operation_label, _shape_label, _shape_of
from casebook.figures.style import _FONT, _TITLE_FONT, PALETTE, _edge, _shade

_FOLDED_KINDS = ("norm", "activation", "dropout")  # drawn inside the box of the layer before


def _folded_name(layer, kind: str) -> str:
    if kind == "norm":
        return "BN"
    if kind == "dropout":
        return "dropout"
    name = getattr(getattr(layer, "activation", None), "__name__", type(layer).__name__.lower())
    if type(layer).__name__ == "ReLU":
        name = "relu6" if getattr(layer, "max_value", None) == 6 else "relu"
    return {"relu": "ReLU", "relu6": "ReLU6"}.get(name, name)


def _inbound(layer) -> list[str]:
    """The names of the layers whose outputs ``layer`` reads (Keras 3 functional models)."""
    tensors = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    return [t._keras_history.operation.name for t in tensors]


def _block_graph(model) -> list[dict]:
    """Boxes (name, kind, op, folded labels, shape, parents) in the model's order, with the
    batch norms and activations that follow a layer alone folded into that layer's box."""
    import keras

    if not isinstance(model, keras.Model) or not model.inputs:
        raise ValueError("model must be a functional Keras model built on keras.Input(shape)")
    boxes = {}
    host = {}  # the box that draws each layer: its own, or the one it is folded into
    children = {}
    for layer in model.layers:
        if _layer_kind(layer) != "input":
            for parent in _inbound(layer):
                children.setdefault(parent, []).append(layer.name)
    for layer in model.layers:
        kind = _layer_kind(layer)
        if kind == "input":
            shape = _shape_of(layer.output)
            boxes[layer.name] = dict(name=layer.name, kind="input", op="input", folded=[],
                                     shape=shape, parents=[])  # fmt: skip
            host[layer.name] = layer.name
            continue
        parents = [host[p] for p in _inbound(layer)]
        lone = len(parents) == 1 and len(children.get(_inbound(layer)[0], [])) == 1
        if kind in _FOLDED_KINDS and lone and boxes[parents[0]]["kind"] != "input":
            boxes[parents[0]]["folded"].append(_folded_name(layer, kind))
            boxes[parents[0]]["shape"] = _shape_of(layer.output)
            host[layer.name] = parents[0]
            continue
        boxes[layer.name] = dict(
            name=layer.name,
            kind=kind,
            op=_operation_label(layer, kind),
            folded=[],
            shape=_shape_of(layer.output),
            parents=parents,
        )
        host[layer.name] = layer.name
    return list(boxes.values())


def _block_layout(boxes: list[dict]) -> dict:
    """(column, row) of every box. Rows follow the longest path from the input. Columns are
    handed out from the output backwards, one per branch in the order the merge lists them; a
    shortcut (an input of a merge that another of its inputs already depends on) gets no column
    of its own, so the main path stays straight. A merge sits centred under its branches, a
    split centred over them."""
    by_name = {box["name"]: box for box in boxes}
    ancestors = {}
    for box in boxes:  # in the model's order, so parents come first
        ancestors[box["name"]] = set(box["parents"]).union(*(ancestors[p] for p in box["parents"]))

    def branches(box):
        parents = box["parents"]
        return [p for p in parents if not any(p in ancestors[q] for q in parents if q != p)]

    column, free = {}, [0]

    def visit(name, at):
        if name in column:
            return
        column[name] = at
        for k, parent in enumerate(branches(by_name[name])):
            if k:
                free[0] += 1
            visit(parent, at if k == 0 else free[0])

    for box in reversed(boxes):  # the output first; anything left over gets its own column
        if box["name"] not in column:
            visit(box["name"], free[0] + 1 if column else 0)
            free[0] = max(free[0], int(max(column.values())))
    for box in boxes:  # merges under the middle of their branches
        if len(branches(box)) > 1:
            column[box["name"]] = float(np.mean([column[p] for p in branches(box)]))
    for box in reversed(boxes):  # splits over the middle of theirs
        below = [b["name"] for b in boxes if box["name"] in branches(b)]
        if len(below) > 1:
            column[box["name"]] = float(np.mean([column[c] for c in below]))
    rows = {}
    for box in boxes:
        rows[box["name"]] = 1 + max((rows[p] for p in box["parents"]), default=-1)
    return {name: (float(column[name]), rows[name]) for name in rows}


def block_diagram(model, title: str | None = None) -> Figure:
    """Draw a small functional model (a residual block, an inception module, an inverted
    residual) as a graph read from top to bottom.

    Each layer that computes something (convolution, pooling, add, concatenate) is a box with
    its operation, the batch norms and activations that follow it ("conv 1x1, 64 + BN + ReLU")
    and its output shape. A branch gets a column of its own; a shortcut that skips layers is
    drawn as an arc beside them.

    Args:
        model: a functional Keras model built on ``keras.Input``, small enough to read
            (one block or module, not a whole network: that is :func:`architecture_diagram`).
        title: optional title above the diagram.
    """
    boxes = _block_graph(model)
    if len(boxes) > 40:
        raise ValueError(
            f"model has {len(boxes)} boxes to draw: pass one block, e.g. "
            "keras.Model(inputs, identity_block(inputs, ...)), or use architecture_diagram"
        )
    place = _block_layout(boxes)
    columns = [c for c, _ in place.values()]
    rows = max(r for _, r in place.values()) + 1
    width_in = 2.7 * (max(columns) - min(columns) + 1) + 0.8
    # pyplot's figure, as every figure here: the notebook shows it at the end of the cell
    fig = plt.figure(figsize=(max(width_in, 4.0), 0.85 * rows + (0.6 if title else 0.3)))
    ax = fig.add_axes((0, 0, 1, 0.94 if title else 1))
    box_w, box_h, step_x, step_y = 2.3, 0.62, 2.7, 0.85
    colours = {"maxpool": "pool", "avgpool": "pool", "gpool": "pool", "sepconv": "conv",
               "dwconv": "conv", "convT": "conv", "flatten": "dense"}  # fmt: skip

    def centre(name):
        column, row = place[name]
        return column * step_x, -row * step_y

    for box in boxes:
        x, y = centre(box["name"])
        colour = PALETTE.get(colours.get(box["kind"], box["kind"]), PALETTE["other"])
        edge = _shade(colour, -0.45)
        corner = (x - box_w / 2, y - box_h / 2)
        ax.add_patch(Rectangle(corner, box_w, box_h, facecolor=colour, edgecolor=edge, zorder=3))
        ink = "white" if box["kind"].endswith("conv") else PALETTE["text"]
        operation = " + ".join([box["op"], *box["folded"]])
        ax.text(x, y + 0.1, operation, ha="center", va="center", fontsize=_FONT - 0.5, color=ink)
        shape = _shape_label(box["shape"])
        ax.text(x, y - 0.16, shape, ha="center", va="center", fontsize=_FONT - 1.5, color=ink)
        for parent in box["parents"]:
            px, py = centre(parent)
            skips = place[box["name"]][1] - place[parent][1] > 1
            if px == x and skips:  # a shortcut past the boxes between: an arc on the right
                _edge(ax, (px + box_w / 2, py), (x + box_w / 2, y), "arc3,rad=-0.45")
            elif skips:  # a short branch: straight down its own column, then across
                bend = y + step_y - box_h / 2
                ax.plot([px, px], [py - box_h / 2, bend], color=PALETTE["muted"], lw=0.9)
                _edge(ax, (px, bend), (x, y + box_h / 2), "arc3,rad=0")
            else:
                _edge(ax, (px, py - box_h / 2), (x, y + box_h / 2), "arc3,rad=0")
    ax.set_xlim(min(columns) * step_x - box_w / 2 - 0.6, max(columns) * step_x + box_w / 2 + 0.8)
    ax.set_ylim(-(rows - 1) * step_y - box_h / 2 - 0.1, box_h / 2 + 0.1)
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=_TITLE_FONT, color=PALETTE["text"])
    return fig
