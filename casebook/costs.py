"""Parameters and multiply-accumulates (MACs) per layer and per model, counted analytically.

Why MACs: the "FLOPs" of the MobileNet, ResNet and EfficientNet papers and torchvision's GFLOPS
are multiply-adds, one per weight use. A MAC is one multiplication plus one addition, so a
hardware FLOP count is about twice these numbers; always say which one a number is.

What is counted (per call of a layer, output sizes read from the model graph, batch axis left out):

- ``Conv1D/2D/3D`` (any strides, padding, dilation, ``groups``):
  prod(output spatial) * c_out * prod(kernel) * c_in / groups
- ``DepthwiseConv1D/2D``: prod(output spatial) * c_in * depth_multiplier * prod(kernel)
- ``SeparableConv1D/2D``: the depthwise part
  + prod(output spatial) * c_in * depth_multiplier * c_out
- ``Conv1D/2D/3DTranspose``: prod(input spatial) * c_in * prod(kernel) * c_out
- ``Dense``: prod(leading non-batch dims of its input) * n_in * n_out
- a custom layer that defines ``count_macs(self, input_shape, output_shape) -> int`` (shapes
  without the batch axis, a tuple of shapes for several inputs): whatever it returns.
- everything else counts 0 MACs: BatchNormalization, pooling, activations, Add, Multiply,
  Rescaling, Normalization, padding, reshapes, dropout, and also any layer not listed above
  (EinsumDense, attention, recurrent layers...): give those a ``count_macs`` if they matter.

Biases, activations, normalisation and pooling are left out as the papers leave them out. A layer
called several times (shared weights) counts its MACs at every call and its parameters once.
Parameters come from each layer's own weights, so they add up to ``model.count_params()``, which
includes the BatchNorm moving statistics (non-trainable): Keras' *trainable* count is the one
to compare with torchvision's ``num_params``.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import keras
import pandas as pd

__all__ = [
    "Costs",
    "LayerCost",
    "conv_macs",
    "conv_output_size",
    "conv_params",
    "cost_table",
    "dense_params",
    "depthwise_separable_macs",
    "feature_map_shapes",
    "human",
    "layer_costs",
    "layer_differences",
    "model_costs",
    "stage_table",
]


# ---------------------------------------------------------------- formulas of the notes


def _int(name, value, minimum=1):
    """``value`` as an int >= minimum, or a ValueError that names the argument."""
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def _kernel(f):
    """A filter size given as ``f`` or ``(fh, fw)``, as a pair of ints."""
    if isinstance(f, (tuple, list)):
        if len(f) != 2:
            raise ValueError(f"filter size must be an int or a pair (fh, fw), got {f!r}")
        return _int("fh", f[0]), _int("fw", f[1])
    f = _int("f", f)
    return f, f


def _groups(c_in, c_out, groups):
    groups = _int("groups", groups)
    for name, channels in (("c_in", c_in), ("c_out", c_out)):
        if channels % groups:
            raise ValueError(f"{name}={channels} is not divisible by groups={groups}")
    return groups


def conv_output_size(n, f, p=0, s=1):
    """Output length of a convolution or pooling window: floor((n + 2p - f) / s) + 1."""
    n, f, p, s = _int("n", n), _int("f", f), _int("p", p, minimum=0), _int("s", s)
    if f > n + 2 * p:
        raise ValueError(f"filter f={f} is larger than the padded input n + 2p = {n + 2 * p}")
    return (n + 2 * p - f) // s + 1


def conv_params(f, c_in, c_out, bias=True, groups=1):
    """Weights of a convolution: fh * fw * (c_in / groups) * c_out, plus c_out biases."""
    fh, fw = _kernel(f)
    c_in, c_out = _int("c_in", c_in), _int("c_out", c_out)
    groups = _groups(c_in, c_out, groups)
    return fh * fw * (c_in // groups) * c_out + (c_out if bias else 0)


def conv_macs(h_out, w_out, c_in, f, c_out, groups=1):
    """Multiplications of a convolution that produces h_out x w_out x c_out.

    Each output value takes fh * fw * c_in / groups products, whatever the stride or padding.
    """
    fh, fw = _kernel(f)
    h_out, w_out = _int("h_out", h_out), _int("w_out", w_out)
    c_in, c_out = _int("c_in", c_in), _int("c_out", c_out)
    groups = _groups(c_in, c_out, groups)
    return h_out * w_out * c_out * fh * fw * (c_in // groups)


def dense_params(n_in, n_out, bias=True):
    """Weights of a fully connected layer: n_in * n_out, plus n_out biases."""
    n_in, n_out = _int("n_in", n_in), _int("n_out", n_out)
    return n_in * n_out + (n_out if bias else 0)


def depthwise_separable_macs(h_out, w_out, c_in, f, c_out):
    """Depthwise f x f conv (one filter per channel) followed by a pointwise 1x1 conv.

    Divided by ``conv_macs`` of the same shape it gives the notes' ratio 1/c_out + 1/f^2.
    """
    depthwise = conv_macs(h_out, w_out, c_in, f, c_in, groups=c_in)
    return depthwise + conv_macs(h_out, w_out, c_in, 1, c_out)


# ---------------------------------------------------------------- counting a Keras model


@dataclass
class LayerCost:
    """Cost of one layer; ``name`` is "outer/inner" for layers of a nested model."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    trainable: int
    non_trainable: int
    macs: int


@dataclass
class Costs:
    """Totals of a model; ``params`` equals ``model.count_params()``."""

    params: int
    trainable: int
    non_trainable: int
    macs: int


def _graph_outputs(model):
    """The symbolic outputs of a Functional or built Sequential model, else None."""
    if not isinstance(model, keras.Model):
        return None
    try:
        return model.outputs or None
    except (AttributeError, ValueError):  # unbuilt Sequential or subclassed model
        return None


def _graph_nodes(model):
    """ids of the nodes of the model's own graph.

    A layer keeps the nodes of every graph it was ever called in (Sequential rebuilds itself
    on each ``add``), so only the nodes reachable from the outputs belong to this model.
    """
    nodes, stack = set(), list(model.outputs)
    while stack:
        operation, node_index, _ = stack.pop()._keras_history
        node = operation._inbound_nodes[node_index]
        if id(node) not in nodes:
            nodes.add(id(node))
            stack.extend(node.input_tensors)
    return nodes


def _shapes(tensors):
    """Shapes without the batch axis: one tuple for one tensor, a tuple of them for several."""
    shapes = tuple(tuple(t.shape[1:]) for t in tensors)
    return shapes[0] if len(shapes) == 1 else shapes


def _defined(layer, shape):
    if None in shape:
        raise ValueError(
            f"layer '{layer.name}' has a shape with an unknown size {shape}: "
            "give the model's Input a concrete shape (e.g. keras.Input((224, 224, 3)))"
        )
    return shape


def _channel_split(layer, shape):
    """(spatial dims, channels) of a conv layer's input or output."""
    _defined(layer, shape)
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return shape[1:], shape[0]
    return shape[:-1], shape[-1]


def _layer_macs(layer, in_shape, out_shape):
    """MACs of one call of a (non-model) layer; the formulas are in the module docstring."""
    layers = keras.layers
    if hasattr(layer, "count_macs"):
        return int(layer.count_macs(in_shape, out_shape))
    if isinstance(layer, layers.Dense):
        return math.prod(_defined(layer, in_shape)) * layer.units
    if not isinstance(
        layer,
        (
            layers.Conv1D, layers.Conv2D, layers.Conv3D,
            layers.DepthwiseConv1D, layers.DepthwiseConv2D,
            layers.SeparableConv1D, layers.SeparableConv2D,
            layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose,
        ),
    ):  # fmt: skip
        return 0
    in_spatial, c_in = _channel_split(layer, in_shape)
    out_spatial, c_out = _channel_split(layer, out_shape)
    kernel = math.prod(layer.kernel_size)
    if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)):
        return math.prod(in_spatial) * c_in * kernel * c_out
    if hasattr(layer, "depth_multiplier"):  # depthwise, or the first half of separable
        macs = math.prod(out_spatial) * c_in * layer.depth_multiplier * kernel
        if isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D)):
            macs += math.prod(out_spatial) * c_in * layer.depth_multiplier * c_out
        return macs
    return math.prod(out_spatial) * c_out * kernel * c_in // layer.groups


def _weight_counts(layer, seen):
    """(trainable, non-trainable) sizes of the layer's weights not counted yet."""
    counts = []
    for weights in (layer.trainable_weights, layer.non_trainable_weights):
        new = [w for w in weights if id(w) not in seen]
        seen.update(id(w) for w in new)
        counts.append(sum(math.prod(w.shape) for w in new))
    return tuple(counts)


def _retraced(model, shapes):
    """A clone of ``model`` traced on inputs of the given shapes (weights are not copied)."""
    inputs = [keras.Input(shape=s) for s in shapes]
    return keras.models.clone_model(model, input_tensors=inputs[0] if len(inputs) == 1 else inputs)


def _nested_costs(model, calls, prefix, seen, count_macs):
    """Rows of a nested model, with MACs summed over each call of it in the outer graph.

    A call on inputs of another shape than the nested graph was built for (a base built with
    ``input_shape=None``, say) is counted on a clone traced at the shape of that call.
    """
    rows = _costs(model, prefix, seen, count_macs=False)
    if not count_macs:
        return rows
    own_shapes = [tuple(t.shape[1:]) for t in model.inputs]
    per_call = {}
    for node in calls:
        shapes = [tuple(t.shape[1:]) for t in node.input_tensors]
        key = tuple(shapes)
        if key not in per_call:
            graph = model if shapes == own_shapes else _retraced(model, shapes)
            per_call[key] = {r.name: r for r in _costs(graph, prefix, set())}
        for row in rows:
            traced = per_call[key].get(row.name)
            if traced is not None:
                row.macs += traced.macs
                if node is calls[0]:
                    row.output_shape = traced.output_shape
    return rows


def _costs(model, prefix, seen, count_macs=True):
    if _graph_outputs(model) is None:
        if isinstance(model, keras.Sequential):
            raise ValueError(
                f"model '{model.name}' is not built, so its layers have no shapes yet: "
                "call the model on an input or give it an Input layer first"
            )
        raise ValueError(
            f"model '{model.name}' has no layer graph (a subclassed model?): costs are read "
            "from a Functional or Sequential model; call the model on an input or give it an "
            "Input layer first"
        )
    nodes = _graph_nodes(model)
    rows = []
    for layer in model.layers:
        calls = [node for node in layer._inbound_nodes if id(node) in nodes]
        if not calls:
            continue
        name = f"{prefix}{layer.name}"
        if _graph_outputs(layer) is not None:
            rows += _nested_costs(layer, calls, f"{name}/", seen, count_macs)
            continue
        trainable, non_trainable = _weight_counts(layer, seen)
        macs = 0
        if count_macs:
            macs = sum(
                _layer_macs(layer, _shapes(c.input_tensors), _shapes(c.output_tensors))
                for c in calls
            )
        out_shape = _shapes(calls[0].output_tensors)
        kind = type(layer).__name__
        params = trainable + non_trainable
        rows.append(LayerCost(name, kind, out_shape, params, trainable, non_trainable, macs))
    return rows


def layer_costs(model):
    """One LayerCost per layer of ``model``, nested Functional/Sequential models expanded."""
    return _costs(model, "", set())


def layer_differences(model, reference):
    """Compare two models layer by layer, matching layers by name.

    Returns ``(shared, differing)``: the names both models have, and those among them whose
    output shape, parameters or MACs disagree. An independent implementation with the same
    names (keras.applications) checks a builder on every layer, not only on the total.
    """
    theirs = {cost.name: cost for cost in layer_costs(reference)}
    shared, differing = [], []
    for cost in layer_costs(model):
        other = theirs.get(cost.name)
        if other is not None:
            shared.append(cost.name)
            mine = (cost.output_shape, cost.params, cost.macs)
            if mine != (other.output_shape, other.params, other.macs):
                differing.append(cost.name)
    return shared, differing


def model_costs(model):
    """Total parameters (as ``model.count_params()``) and MACs of one forward pass of one input."""
    rows = layer_costs(model)
    return Costs(
        params=sum(r.params for r in rows),
        trainable=sum(r.trainable for r in rows),
        non_trainable=sum(r.non_trainable for r in rows),
        macs=sum(r.macs for r in rows),
    )


# ---------------------------------------------------------------- tables and prose


def cost_table(model, total=True):
    """Per-layer table (layer, kind, output shape, params, MACs) for a notebook."""
    rows = layer_costs(model)
    table = pd.DataFrame(
        {
            "layer": [r.name for r in rows],
            "kind": [r.kind for r in rows],
            "output shape": [r.output_shape for r in rows],
            "params": [r.params for r in rows],
            "MACs": [r.macs for r in rows],
        }
    )
    if total:
        table.loc[len(table)] = ["total", "", "", table["params"].sum(), table["MACs"].sum()]
    return table


def _spatial_size(shape):
    """Number of positions of a feature map; None for vectors and 1x1 maps.

    Those (global pooling, squeeze-and-excite, the classifier head) stay in the stage they sit in
    instead of looking like a drop in resolution.
    """
    if shape and isinstance(shape[0], tuple):  # several outputs: the first one
        shape = shape[0]
    if len(shape) < 3:
        return None
    channels_first = keras.config.image_data_format() == "channels_first"
    spatial = shape[1:] if channels_first else shape[:-1]
    size = math.prod(d or 1 for d in spatial)
    return size if size > 1 else None


def stage_table(model):
    """Layers grouped into stages, each ending at a layer that lowers the spatial size.

    The layer that downsamples (pooling, strided conv) closes its stage, so the stage's output
    shape is the resolution it hands on. Shows where the parameters and MACs of a network sit.
    """
    rows = layer_costs(model)
    size = _spatial_size(tuple(model.inputs[0].shape[1:]))
    stages, current = [], []
    for row in rows:
        current.append(row)
        new = _spatial_size(row.output_shape)
        if new is not None and size is not None and new < size:
            stages.append(current)
            current = []
        size = new if new is not None and (size is None or new < size) else size
    if current:
        stages.append(current)
    return pd.DataFrame(
        {
            "stage": [s[0].name if len(s) == 1 else f"{s[0].name} … {s[-1].name}" for s in stages],
            "output shape": [s[-1].output_shape for s in stages],
            "params": [sum(r.params for r in s) for s in stages],
            "MACs": [sum(r.macs for r in s) for s in stages],
        }
    )


_PREFIXES = (("K", 1e3, 1), ("M", 1e6, 1), ("G", 1e9, 2), ("T", 1e12, 2))


def human(n, unit=""):
    """Short form for prose: 15.47 G, 568.7 M, 61.7 K (and "3.86 GMACs" with unit="MACs").

    Moves up a prefix whenever the number shown would reach 1000, so 999,960 is "1.0 M".
    """
    sign, n = ("-" if n < 0 else ""), abs(n)
    value, text = n, f"{n:g} {unit}".strip()
    for prefix, scale, digits in _PREFIXES:
        if value < 1000:
            break
        value = round(n / scale, digits)
        text = f"{value:.{digits}f} {prefix}{unit}"
    return sign + text


def feature_map_shapes(model):
    """The (h, w, c) feature maps a model computes, in order, without the input and without
    repeats: what a paper's architecture figure shows. Read from the layers' output shapes."""
    shapes = []
    for cost in layer_costs(model):
        shape = tuple(cost.output_shape)
        if len(shape) == 3 and cost.kind != "InputLayer" and (not shapes or shapes[-1] != shape):
            shapes.append(shape)
    return shapes
