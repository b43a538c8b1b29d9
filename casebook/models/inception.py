"""Inception (Szegedy et al., 2014, "Going deeper with convolutions"): let the network choose.

An inception module runs a 1x1, a 3x3 and a 5x5 convolution and a 3x3 max pooling side by
side on the same input, all stride 1 and 'same' so the four outputs keep its height and width,
and stacks their channels. 1x1 "reduce" convolutions in front of the 3x3 and 5x5 (and after
the pooling, "pool proj") keep the cost down: a bottleneck, the notes' 1/10.

- ``inception_module`` is the module of the paper's Fig. 2(b); ``naive_inception_module`` is
  Fig. 2(a), without the reductions, to compare costs.
- ``googlenet`` is the paper's Table 1 network with its two auxiliary classifiers
  (``aux=True``: three outputs, weighted 1, 0.3 and 0.3 in the loss), or torchvision's
  re-implementation (``variant="torchvision"``: batch norm after every convolution, no bias,
  no LRN, and a 3x3 convolution where the paper has its 5x5).
- ``inception_small`` is the same idea at 28x28: a stem, three modules, optional side branches.
"""

import keras
from keras import layers

from casebook.paper_layers import LocalResponseNormalization

# (f1, f3_reduce, f3, f5_reduce, f5, pool_proj) of each module: the paper's Table 1.
GOOGLENET_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
AUX_LOSS_WEIGHT = 0.3  # "their loss gets added to the total loss with a discount weight"


def conv_relu(x, filters, kernel_size, name, strides=1, batch_norm=False, momentum=0.99):
    """A convolution and its ReLU; with ``batch_norm`` (torchvision's BasicConv2d) the
    convolution has no bias and batch norm sits between the two."""
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=not batch_norm, name=name
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(epsilon=1e-3, momentum=momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def inception_module(
    x,
    f1,
    f3_reduce,
    f3,
    f5_reduce,
    f5,
    pool_proj,
    name="inception",
    batch_norm=False,
    f5_size=5,
    momentum=0.99,
):
    """Four branches on the same input, concatenated in this order: 1x1; 1x1 -> 3x3;
    1x1 -> 5x5; 3x3 max pooling (stride 1, 'same') -> 1x1. Output channels
    f1 + f3 + f5 + pool_proj, same height and width as x."""
    kw = {"batch_norm": batch_norm, "momentum": momentum}
    branch1 = conv_relu(x, f1, 1, f"{name}_1x1", **kw)
    branch2 = conv_relu(x, f3_reduce, 1, f"{name}_3x3_reduce", **kw)
    branch2 = conv_relu(branch2, f3, 3, f"{name}_3x3", **kw)
    branch3 = conv_relu(x, f5_reduce, 1, f"{name}_5x5_reduce", **kw)
    branch3 = conv_relu(branch3, f5, f5_size, f"{name}_5x5", **kw)
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch4 = conv_relu(branch4, pool_proj, 1, f"{name}_pool_proj", **kw)
    return layers.Concatenate(name=f"{name}_output")([branch1, branch2, branch3, branch4])


def naive_inception_module(x, f1, f3, f5, name="naive"):
    """Fig. 2(a): the same branches without 1x1 reductions; the pooling branch passes all of
    x's channels through, so the output has f1 + f3 + f5 + (channels of x)."""
    branch1 = conv_relu(x, f1, 1, f"{name}_1x1")
    branch2 = conv_relu(x, f3, 3, f"{name}_3x3")
    branch3 = conv_relu(x, f5, 5, f"{name}_5x5")
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    return layers.Concatenate(name=f"{name}_output")([branch1, branch2, branch3, branch4])


def auxiliary_classifier(x, num_classes, name, pool=(5, 3), conv=128, units=1024, dropout=0.7):
    """A side branch: average pooling (5x5, stride 3), a 1x1 convolution, a dense layer,
    dropout, and a softmax of its own. Only used while training."""
    x = layers.AveragePooling2D(pool[0], strides=pool[1], name=f"{name}_pool")(x)
    x = conv_relu(x, conv, 1, f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(units, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name=f"{name}_predictions")(x)


def googlenet(input_shape=(224, 224, 3), num_classes=1000, aux=True, variant="paper"):
    """GoogLeNet: Table 1 of the paper. With ``aux`` the model has three outputs (main,
    side branch after 4a, side branch after 4d); without, one.

    ``variant="torchvision"`` follows torchvision's googlenet: BasicConv2d (conv without bias,
    batch norm, ReLU) everywhere, no LRN, and the "5x5" branch built with a 3x3 kernel.
    """
    if variant not in ("paper", "torchvision"):
        raise ValueError(f"variant must be 'paper' or 'torchvision', not {variant!r}")
    torch_like = variant == "torchvision"
    kw = {"batch_norm": torch_like}

    def lrn(x, name):  # Caffe's LRN: 5 channels, alpha 1e-4 divided by the 5
        return x if torch_like else LocalResponseNormalization(5, 1.0, 2e-5, 0.75, name=name)(x)

    def max_pool(x, name):
        return layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)

    inputs = keras.Input(input_shape, name="input")
    x = conv_relu(inputs, 64, 7, "conv1_7x7", strides=2, **kw)
    x = lrn(max_pool(x, "pool1"), "pool1_norm")
    x = conv_relu(x, 64, 1, "conv2_3x3_reduce", **kw)
    x = conv_relu(x, 192, 3, "conv2_3x3", **kw)
    x = max_pool(lrn(x, "conv2_norm"), "pool2")
    side = []
    for name, filters in GOOGLENET_MODULES.items():
        if name in ("4a", "5a"):
            x = max_pool(x, f"pool{name[0]}")
        x = inception_module(
            x, *filters, name=f"inception_{name}", f5_size=3 if torch_like else 5, **kw
        )
        if aux and name in ("4a", "4d"):
            side.append(auxiliary_classifier(x, num_classes, f"aux{len(side) + 1}"))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, [outputs, *side] if aux else outputs, name=f"googlenet_{variant}")


# The small network's layout: inception modules (f1, f3_reduce, f3, f5_reduce, f5, pool_proj)
# and "pool" for a 2x2 max pooling; about half of each module's output in its 3x3 branch.
INCEPTION_SMALL_LAYOUT = (
    ("a", (16, 16, 32, 4, 8, 8)),
    "pool",
    ("b", (32, 32, 48, 8, 16, 16)),
    ("c", (48, 32, 64, 8, 16, 16)),
)


def widened(layout, width):
    """The layout with ``width`` times the filters in every branch of every module."""
    return tuple(
        step if step == "pool" else (step[0], tuple(width * f for f in step[1])) for step in layout
    )


def inception_small(input_shape=(28, 28, 1), num_classes=10, aux=False, layout=None, width=1):
    """A small GoogLeNet for 28x28 images: a 3x3 stem and max pooling to 14x14, then the
    modules of ``layout`` (module a at 14x14, max pooling, modules b and c at 7x7), global
    average pooling, dropout and softmax. With ``aux``, side branches after modules a and b
    (outputs: main, aux1, aux2). Batch norm follows every convolution (as in Inception v2 and
    torchvision's GoogLeNet), so a few epochs on a CPU are enough to train it. ``width``
    multiplies the filters of every branch of every module (the stem keeps its 32)."""
    kw = {"batch_norm": True, "momentum": 0.9}  # 0.9: statistics that follow a short run
    inputs = keras.Input(input_shape, name="input")
    x = conv_relu(inputs, 32, 3, "stem", **kw)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    side, pools = [], 0
    for step in widened(layout or INCEPTION_SMALL_LAYOUT, width):
        if step == "pool":
            pools += 1
            x = layers.MaxPooling2D(2, padding="same", name=f"pool{pools}")(x)
            continue
        name, filters = step
        x = inception_module(x, *filters, name=f"inception_{name}", **kw)
        if aux and name in ("a", "b"):
            pool = (5, 3) if x.shape[1] >= 10 else (3, 2)  # the paper's 5x5/3 where it fits
            branch = auxiliary_classifier(
                x, num_classes, f"aux{len(side) + 1}", pool=pool, conv=32, units=128
            )
            side.append(branch)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, [outputs, *side] if aux else outputs, name="inception_small")
