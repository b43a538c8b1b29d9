"""Figures the chapters show, drawn with matplotlib only.

Every function returns a :class:`matplotlib.figure.Figure` built with the object API and never
calls ``plt.show``: a notebook displays the returned figure, a script saves it with
``fig.savefig(...)``.  Nothing here picks a backend; the notebook (or the test) decides.

- :func:`architecture_diagram` the classic left-to-right paper figure of a Keras model
- :func:`block_diagram`        one block or module (its branches and shortcuts) as a graph
- :func:`cost_bars`            parameters and multiply-accumulates side by side
- :func:`training_curves`      training (solid) and validation (dashed) curves per run
- :func:`sample_predictions`   a grid of images titled "pred (true)", green when right
- :func:`image_grid`           a plain grid of data samples
- :func:`sweep`                a measured value against a swept setting, with a baseline
- :func:`grouped_bars`         a few quantities side by side for each of many named items

All figures share one calm style, taken from :data:`PALETTE`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

__all__ = [
    "PALETTE",
    "architecture_diagram",
    "block_diagram",
    "cost_bars",
    "training_curves",
    "sample_predictions",
    "image_grid",
    "sweep",
    "grouped_bars",
]

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


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _human(value: float) -> str:
    """Return a count in human form with three significant digits: 15.5 G, 61.7 K, 138 M, 850."""
    value = float(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    scaled, suffix = value, ""
    for div, name in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if value >= div * 0.9995:
            scaled, suffix = value / div, name
            break
    if scaled >= 99.95:
        text = f"{scaled:.0f}"
    elif scaled >= 9.995:
        text = f"{scaled:.1f}"
    elif suffix or scaled != int(scaled):
        text = f"{scaled:.2f}"
    else:
        text = f"{scaled:.0f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{sign}{text} {suffix}".rstrip()


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


# --------------------------------------------------------------------------------------------
# architecture_diagram
# --------------------------------------------------------------------------------------------

# layer kinds that always get a box, even when the tensor keeps its shape ("same" convolutions)
_OPERATION_KINDS = {"conv", "dwconv", "sepconv", "convT", "maxpool", "avgpool", "gpool", "dense"}
_OPERATION_KINDS |= {"flatten", "lrn"}
# layer kinds that never get a box when they keep the shape
_PASS_KINDS = {"input", "activation", "dropout", "norm"}

_KIND_COLOUR = {
    "input": "input",
    "conv": "conv",
    "dwconv": "conv",
    "sepconv": "conv",
    "convT": "conv",
    "maxpool": "pool",
    "avgpool": "pool",
    "gpool": "pool",
    "dense": "dense",
    "flatten": "input",
    "lrn": "norm",
    "norm": "norm",
}


def _layer_kind(layer) -> str:
    """Classify a Keras layer by isinstance, falling back to its class name for custom layers."""
    from keras import layers as L

    checks = [
        ("input", ("InputLayer",)),
        ("sepconv", ("SeparableConv1D", "SeparableConv2D")),
        ("dwconv", ("DepthwiseConv1D", "DepthwiseConv2D")),
        ("convT", ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")),
        ("conv", ("Conv1D", "Conv2D", "Conv3D")),
        ("maxpool", ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D")),
        ("avgpool", ("AveragePooling1D", "AveragePooling2D", "AveragePooling3D")),
        (
            "gpool",
            (
                "GlobalAveragePooling1D",
                "GlobalAveragePooling2D",
                "GlobalAveragePooling3D",
                "GlobalMaxPooling1D",
                "GlobalMaxPooling2D",
                "GlobalMaxPooling3D",
            ),
        ),
        ("dense", ("Dense",)),
        ("flatten", ("Flatten",)),
        ("activation", ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")),
        ("dropout", ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise")),
        ("norm", ("BatchNormalization", "LayerNormalization", "GroupNormalization")),
    ]
    for kind, class_names in checks:
        classes = tuple(getattr(L, n) for n in class_names if hasattr(L, n))
        if classes and isinstance(layer, classes):
            return kind

    name = type(layer).__name__.lower()
    if "lrn" in name or "localresponse" in name:
        return "lrn"
    if "separable" in name:
        return "sepconv"
    if "depthwise" in name:
        return "dwconv"
    if "globalaverage" in name or "globalmax" in name or "globalpool" in name:
        return "gpool"
    if "pool" in name:
        return "avgpool" if ("avg" in name or "average" in name) else "maxpool"
    if "conv" in name:
        return "conv"
    if "dense" in name:
        return "dense"
    if "flatten" in name:
        return "flatten"
    if "dropout" in name:
        return "dropout"
    if "norm" in name:
        return "norm"
    if "activation" in name or name in {"relu", "softmax", "tanh", "sigmoid"}:
        return "activation"
    return "other"


def _window(value) -> str:
    if value is None:
        return "?"
    if isinstance(value, numbers.Integral):
        value = (int(value), int(value))
    return "x".join(str(int(v)) for v in value)


def _strides_suffix(layer, window) -> str:
    """'/2' when the layer moves by a stride other than its natural one (1 for conv, window
    for pooling)."""
    strides = getattr(layer, "strides", None)
    if strides is None:
        return ""
    strides = tuple(strides) if not isinstance(strides, numbers.Integral) else (strides,)
    natural = window if window is not None else (1,) * len(strides)
    if isinstance(natural, numbers.Integral):
        natural = (natural,) * len(strides)
    if tuple(strides) == tuple(natural)[: len(strides)]:
        return ""
    if len(set(strides)) == 1:
        return f"/{strides[0]}"
    return "/" + "x".join(str(s) for s in strides)


def _operation_label(layer, kind: str) -> str:
    if kind == "conv" or kind == "convT":
        k = getattr(layer, "kernel_size", None)
        prefix = "conv" if kind == "conv" else "conv-T"
        label = f"{prefix} {_window(k)}{_strides_suffix(layer, None)}"
        filters = getattr(layer, "filters", None)
        return f"{label}, {filters}" if filters is not None else label
    if kind == "sepconv":
        k = getattr(layer, "kernel_size", None)
        return f"sep-conv {_window(k)}{_strides_suffix(layer, None)}, {layer.filters}"
    if kind == "dwconv":
        k = getattr(layer, "kernel_size", None)
        return f"dw-conv {_window(k)}{_strides_suffix(layer, None)}"
    if kind in ("maxpool", "avgpool"):
        pool = getattr(layer, "pool_size", None)
        prefix = "max-pool" if kind == "maxpool" else "avg-pool"
        return f"{prefix} {_window(pool)}{_strides_suffix(layer, pool)}"
    if kind == "gpool":
        name = type(layer).__name__.lower()
        return "global max-pool" if "max" in name else "global avg-pool"
    if kind == "dense":
        return f"dense {getattr(layer, 'units', '?')}"
    if kind == "flatten":
        return "flatten"
    if kind == "lrn":
        return "LRN"
    simple = {
        "ZeroPadding2D": "pad",
        "ZeroPadding1D": "pad",
        "Concatenate": "concat",
        "Add": "add",
        "Reshape": "reshape",
        "Resizing": "resize",
        "UpSampling2D": "upsample",
        "Cropping2D": "crop",
    }
    cls = type(layer).__name__
    return simple.get(cls, cls.lower())


def _shape_of(tensor) -> tuple:
    if isinstance(tensor, (list, tuple)):
        tensor = tensor[0]
    shape = tuple(tensor.shape)[1:]  # drop the batch axis
    return tuple(None if d is None else int(d) for d in shape)


def _shape_label(shape: tuple) -> str:
    return "x".join("?" if d is None else str(d) for d in shape) if shape else "scalar"


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


def _text_width_in(text: str, size: float) -> float:
    """Rough width of a label in inches (DejaVu Sans averages ~0.58 em per character)."""
    return len(text) * size * 0.58 / 72


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


# --------------------------------------------------------------------------------------------
# block_diagram
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# cost_bars
# --------------------------------------------------------------------------------------------


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
                _human(v),
                va="center",
                ha="left",
                fontsize=_FONT - 0.5,
                color=PALETTE["text"],
            )
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _human(v)))
        if log:
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(names, fontsize=_FONT)
    axes[0].set_ylim(len(names) - 0.5, -0.5)  # first name on top
    if title:
        fig.suptitle(title, fontsize=_TITLE_FONT, fontweight="bold", color=PALETTE["text"])
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# training_curves
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# image grids
# --------------------------------------------------------------------------------------------


def _as_image(image, index: int) -> np.ndarray:
    """Validate one image: HxW, HxWx1 or HxWx3, floats in [0, 1] or uint8."""
    try:
        arr = np.asarray(image)
    except (TypeError, ValueError):
        raise ValueError(f"image {index} is not an array") from None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise ValueError(f"image {index} has shape {arr.shape}: expected HxW, HxWx1 or HxWx3")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image {index} is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"image {index} must hold numbers, got dtype {arr.dtype}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"image {index} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"image {index} has values from {lo:.3g} to {hi:.3g}: pass floats in [0, 1] or "
            f"uint8 (divide 0-255 data by 255, undo any standardisation first)"
        )
    return np.clip(arr, 0.0, 1.0)


def _as_images(images) -> list[np.ndarray]:
    if images is None or isinstance(images, (str, bytes)):
        raise ValueError("images must be an array of images (N x H x W[x C]) or a list of them")
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images has shape {images.shape}: expected a batch N x H x W, N x H x W x 1 "
                f"or N x H x W x 3"
            )
        seq = list(images)
    else:
        try:
            seq = list(images)
        except TypeError:
            raise ValueError("images must be an array or a list of images") from None
    if not seq:
        raise ValueError("images is empty: pass at least one image")
    return [_as_image(img, i) for i, img in enumerate(seq)]


def _grid(n: int, cols: int, cell: float = 1.45, title_space: float = 0.28):
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * cell, rows * (cell + title_space)), squeeze=False
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def _show(ax, image: np.ndarray, cmap) -> None:
    if image.ndim == 2:
        vmax = 255 if image.dtype == np.uint8 else 1.0
        ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(PALETTE["grid"])


def _class_indices(values, name: str, count: int) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of class indices") from None
    if arr.ndim == 2:  # one-hot labels or per-class probabilities
        arr = arr.argmax(axis=1)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} has shape {arr.shape}: expected one class index per image "
            f"(or one row of scores per image)"
        )
    if arr.size != count:
        raise ValueError(f"{name} has {arr.size} entries but there are {count} images")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole class indices")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold class indices (integers), got dtype {arr.dtype}")
    return arr.astype(int)


def sample_predictions(
    images, labels, predicted, class_names, n: int = 12, cols: int = 6
) -> Figure:
    """A grid of the first ``n`` images, each titled "pred (true)": green right, red wrong.

    ``labels`` and ``predicted`` hold class indices (one-hot rows or per-class scores are
    reduced with argmax); ``class_names`` turns an index into words.
    """
    n = _positive_int(n, "n")
    cols = _positive_int(cols, "cols")
    imgs = _as_images(images)
    if not _listlike(class_names):
        raise ValueError("class_names must be a list of class names, one per class index")
    class_names = [str(c) for c in class_names]
    if not class_names:
        raise ValueError("class_names is empty: pass one name per class")
    true = _class_indices(labels, "labels", len(imgs))
    pred = _class_indices(predicted, "predicted", len(imgs))
    for name, arr in (("labels", true), ("predicted", pred)):
        bad = arr[(arr < 0) | (arr >= len(class_names))]
        if bad.size:
            raise ValueError(
                f"{name} holds class index {int(bad[0])} but class_names has only "
                f"{len(class_names)} names (indices 0 to {len(class_names) - 1})"
            )

    count = min(n, len(imgs))
    fig, axes = _grid(count, cols)
    for i, ax in enumerate(axes):
        _show(ax, imgs[i], "gray")
        right = pred[i] == true[i]
        ax.set_title(
            f"{class_names[pred[i]]} ({class_names[true[i]]})",
            fontsize=_FONT,
            color=PALETTE["right"] if right else PALETTE["wrong"],
            fontweight="normal" if right else "bold",
            pad=3,
        )
    correct = int(np.sum(pred[:count] == true[:count]))
    fig.suptitle(
        f"predicted (true): {correct} of {count} right",
        fontsize=_FONT + 1,
        color=PALETTE["text"],
    )
    fig.tight_layout()
    return fig


def image_grid(images, titles=None, cols: int = 6, cmap: str = "gray") -> Figure:
    """A plain grid of images (data samples), optionally titled; grayscale images use ``cmap``."""
    cols = _positive_int(cols, "cols")
    imgs = _as_images(images)
    if titles is not None:
        if not _listlike(titles):
            raise ValueError("titles must be a list of strings, one per image, or None")
        if len(titles) != len(imgs):
            raise ValueError(f"titles has {len(titles)} entries but there are {len(imgs)} images")
    try:
        plt.get_cmap(cmap)
    except (ValueError, TypeError):
        raise ValueError(f"cmap {cmap!r} is not a matplotlib colormap name") from None
    fig, axes = _grid(len(imgs), cols, title_space=0.28 if titles is not None else 0.08)
    for i, ax in enumerate(axes):
        _show(ax, imgs[i], cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=_FONT, color=PALETTE["text"], pad=3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# sweeps
# --------------------------------------------------------------------------------------------


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
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _human(v)))
    ax.set_ylabel(ylabel, fontsize=_FONT, color=PALETTE["text"])
    if title:
        ax.set_title(title, fontsize=_FONT + 1, color=PALETTE["text"])
    ax.legend(fontsize=_FONT - 0.5, frameon=False)
    fig.tight_layout()
    return fig
