"""EfficientNet (Tan and Le, 2019, arXiv 1905.11946): scale depth, width and resolution together.

A baseline found by architecture search, B0, is scaled by one coefficient phi: depth by
alpha^phi, width by beta^phi and input resolution by gamma^phi, with alpha = 1.2, beta = 1.1
and gamma = 1.15 chosen so that alpha * beta^2 * gamma^2 is about 2: each step of phi about
doubles the arithmetic. The building block is MobileNet v2's inverted residual ("MBConv")
with a squeeze-and-excitation gate and the swish activation.

``efficientnet`` builds B0..B7 as keras.applications does (layer names included), from the
block table of the paper's Table 1 and the width and depth coefficients Keras ships;
``efficientnet_scaled`` builds B0 scaled by any multipliers, the formula's included.
"""

import math
from typing import NamedTuple

import keras
from keras import layers

from casebook.models.mobilenet import make_divisible


class MBConvStage(NamedTuple):
    """One row of the paper's Table 1: ``repeats`` MBConv blocks; the first changes the
    channels from ``channels_in`` to ``channels_out`` and takes the stride."""

    kernel: int
    repeats: int
    channels_in: int
    channels_out: int
    expansion: int
    stride: int


# The paper's Table 1 (B0), one stage a row.
B0_BLOCKS = (
    MBConvStage(3, 1, 32, 16, 1, 1),
    MBConvStage(3, 2, 16, 24, 6, 2),
    MBConvStage(5, 2, 24, 40, 6, 2),
    MBConvStage(3, 3, 40, 80, 6, 2),
    MBConvStage(5, 3, 80, 112, 6, 1),
    MBConvStage(5, 4, 112, 192, 6, 2),
    MBConvStage(3, 1, 192, 320, 6, 1),
)
# A small baseline for 28x28 grey images: three stages of MBConv blocks.
SMALL_BLOCKS = (
    MBConvStage(3, 1, 16, 16, 1, 1),
    MBConvStage(3, 2, 16, 24, 4, 2),
    MBConvStage(3, 2, 24, 40, 4, 2),
)
SMALL_BN_MOMENTUM = 0.9  # statistics that settle within a short run (see resnet_small)
# (width, depth, resolution) that keras.applications ships for B0..B7 (hand-picked, close to
# but not exactly beta^phi, alpha^phi and 224 * gamma^phi).
SCALING = {
    "b0": (1.0, 1.0, 224),
    "b1": (1.0, 1.1, 240),
    "b2": (1.1, 1.2, 260),
    "b3": (1.2, 1.4, 300),
    "b4": (1.4, 1.8, 380),
    "b5": (1.6, 2.2, 456),
    "b6": (1.8, 2.6, 528),
    "b7": (2.0, 3.1, 600),
}
SE_RATIO = 0.25


def compound_multipliers(phi, alpha=1.2, beta=1.1, gamma=1.15):
    """(depth, width, resolution) multipliers of compound scaling: alpha^phi, beta^phi and
    gamma^phi."""
    return alpha**phi, beta**phi, gamma**phi


def round_filters(filters, width, divisor=8):
    """Scale a channel count by ``width`` and round it to a multiple of ``divisor``, never
    below 90% of the scaled value (MobileNet v2's rule, kept by EfficientNet)."""
    return make_divisible(filters * width, divisor)


def round_repeats(repeats, depth):
    """Scale a stage's number of blocks by ``depth``, rounding up."""
    return int(math.ceil(depth * repeats))


def squeeze_excite(x, reduced_filters, name, activation="swish"):
    """Squeeze (global average pooling) -> excite (1x1 to ``reduced_filters`` with swish, 1x1
    back with sigmoid): one gate in (0, 1) per channel, multiplied into x."""
    channels = x.shape[-1]
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, channels), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(reduced_filters, 1, activation=activation, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}se_expand")(se)
    return layers.Multiply(name=f"{name}se_excite")([x, se])


def mbconv(
    x,
    filters_in,
    filters_out,
    kernel_size,
    strides,
    expand_ratio,
    name,
    drop_rate=0.0,
    momentum=0.99,
):
    """MobileNet v2's inverted residual with swish and squeeze-and-excitation: expand (1x1),
    depthwise (k x k), SE gate, linear projection (1x1); the input is added back (through
    stochastic depth while training) when the block keeps the shape."""
    inputs, filters = x, filters_in * expand_ratio
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"{name}expand_bn")(x)
        x = layers.Activation("swish", name=f"{name}expand_activation")(x)
    x = layers.DepthwiseConv2D(
        kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}dwconv"
    )(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}bn")(x)
    x = layers.Activation("swish", name=f"{name}activation")(x)
    x = squeeze_excite(x, max(1, int(filters_in * SE_RATIO)), name)
    x = layers.Conv2D(filters_out, 1, use_bias=False, name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:  # stochastic depth: drop the whole residual branch per example
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def mbconv_stages(x, blocks, width, depth, drop_connect_rate=0.0, momentum=0.99):
    """The MBConv stages of ``blocks`` (kernel, repeats, channels in, channels out, expansion,
    stride per stage) with channels x ``width`` and repeats x ``depth``, rounded as B0-B7 are.
    A stage's first block changes the channels and takes the stride; the stochastic-depth
    rate grows linearly from 0 over all the blocks. Blocks are named block1a_, block1b_, ..."""
    blocks = [MBConvStage(*stage) for stage in blocks]
    total = sum(round_repeats(stage.repeats, depth) for stage in blocks)
    index = 0
    for number, (kernel, repeats, c_in, c_out, expansion, stride) in enumerate(blocks, 1):
        filters_in, filters_out = round_filters(c_in, width), round_filters(c_out, width)
        for repeat in range(round_repeats(repeats, depth)):
            x = mbconv(
                x,
                filters_in if repeat == 0 else filters_out,
                filters_out,
                kernel,
                stride if repeat == 0 else 1,
                expansion,
                name=f"block{number}{chr(ord('a') + repeat)}_",
                drop_rate=drop_connect_rate * index / total,
                momentum=momentum,
            )
            index += 1
    return x


def efficientnet(variant="b0", input_shape=None, num_classes=1000, drop_connect_rate=0.2):
    """EfficientNet-B0..B7 as keras.applications builds it, with the width, depth and
    resolution Keras ships for ``variant`` (``SCALING``)."""
    width, depth, resolution = SCALING[variant]
    dropout = {"b0": 0.2, "b1": 0.2, "b2": 0.3, "b3": 0.3, "b4": 0.4}.get(variant, 0.5)
    return efficientnet_scaled(
        width,
        depth,
        resolution,
        input_shape=input_shape,
        num_classes=num_classes,
        dropout=dropout,
        drop_connect_rate=drop_connect_rate,
        name=f"efficientnet_{variant}",
    )


def efficientnet_scaled(
    width,
    depth,
    resolution=224,
    input_shape=None,
    num_classes=1000,
    dropout=0.2,
    drop_connect_rate=0.2,
    name="efficientnet",
):
    """B0 scaled by any ``width`` and ``depth`` multipliers at ``resolution``: rescaling and
    normalization of the input, a 3x3 stride-2 stem, the MBConv stages of ``B0_BLOCKS``, a
    1x1 convolution to 1280 (scaled) channels, pooling, dropout and softmax."""
    inputs = keras.Input(input_shape or (resolution, resolution, 3), name="input")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    x = layers.Normalization(axis=-1, name="normalization")(x)
    x = layers.Conv2D(
        round_filters(32, width), 3, strides=2, padding="same", use_bias=False, name="stem_conv"
    )(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)
    x = mbconv_stages(x, B0_BLOCKS, width, depth, drop_connect_rate=drop_connect_rate)
    x = layers.Conv2D(round_filters(1280, width), 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(name="top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="top_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def efficientnet_small(
    width=1.0, depth=1.0, resolution=28, input_shape=(28, 28, 1), num_classes=10
):
    """A small EfficientNet-style baseline for Fashion-MNIST, scaled like B0: the input is
    resized to ``resolution`` inside the model (so every variant reads the same data), then a
    3x3 stride-2 stem (16 channels x width), the stages of ``SMALL_BLOCKS`` with their repeats
    x depth (rounded up) and channels x width (rounded to multiples of 8), a 1x1 convolution to
    128 x width channels, pooling and softmax."""
    inputs = keras.Input(input_shape, name="input")
    x = inputs
    if resolution != input_shape[0]:
        x = layers.Resizing(resolution, resolution, name="resolution")(x)
    x = layers.Conv2D(
        round_filters(16, width), 3, strides=2, padding="same", use_bias=False, name="stem_conv"
    )(x)
    x = layers.BatchNormalization(momentum=SMALL_BN_MOMENTUM, name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)
    x = mbconv_stages(x, SMALL_BLOCKS, width, depth, momentum=SMALL_BN_MOMENTUM)
    x = layers.Conv2D(round_filters(128, width), 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(momentum=SMALL_BN_MOMENTUM, name="top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="efficientnet_small")
