"""What a diagram writes for a layer: its kind, its operation ("conv 5x5, 6") and its shape."""

from __future__ import annotations

import numbers

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
