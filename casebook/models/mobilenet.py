"""MobileNet v1 (Howard et al., 2017) and v2 (Sandler et al., 2018): convolutions for phones.

A depthwise-separable convolution splits a normal f x f convolution in two: a *depthwise*
f x f convolution that filters each input channel on its own, and a *pointwise* 1x1
convolution that mixes the channels. For c' output channels it costs 1/c' + 1/f^2 of the
normal one, about 1/8 to 1/9 for 3x3 filters.

- ``depthwise_separable_block`` is v1's block: depthwise 3x3 -> BN -> ReLU6 -> pointwise 1x1
  -> BN -> ReLU6; ``mobilenet_v1`` stacks 13 of them (keras.applications' MobileNet, layer
  names included), with the width multiplier ``alpha`` and any input size.
- ``inverted_residual_block`` is v2's block: a 1x1 *expansion* (6x the channels) -> depthwise
  3x3 -> a *linear* 1x1 projection back to a thin bottleneck, with a residual connection
  between bottlenecks when shapes allow; ``mobilenet_v2`` is keras.applications' MobileNetV2.
- ``mobilenet_v1_small`` and ``mobilenet_v2_small`` are the same designs at 28x28.
"""

from typing import NamedTuple

import keras
from keras import layers


class SeparableBlock(NamedTuple):
    """One depthwise separable block of v1: its pointwise filters and its stride."""

    filters: int
    stride: int


class InvertedResidualStage(NamedTuple):
    """One row of v2's Table 2: expansion t, output channels c, repeats n, first stride s."""

    expansion: int
    channels: int
    repeats: int
    stride: int


# v1's 13 blocks: the paper's Table 1.
MOBILENET_V1_BLOCKS = tuple(
    SeparableBlock(*row)
    for row in (
        (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
        (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
    )
)  # fmt: skip
# v2's stages: the paper's Table 2.
MOBILENET_V2_STAGES = (
    InvertedResidualStage(1, 16, 1, 1),
    InvertedResidualStage(6, 24, 2, 2),
    InvertedResidualStage(6, 32, 3, 2),
    InvertedResidualStage(6, 64, 4, 2),
    InvertedResidualStage(6, 96, 3, 1),
    InvertedResidualStage(6, 160, 3, 2),
    InvertedResidualStage(6, 320, 1, 1),
)


def relu6(name):
    """min(max(x, 0), 6): a ReLU capped at 6, robust in low-precision arithmetic."""
    return layers.ReLU(6.0, name=name)


def bn(name, epsilon=1e-3, momentum=0.99):
    return layers.BatchNormalization(epsilon=epsilon, momentum=momentum, name=name)


def depthwise_separable_block(x, filters, stride=1, name="dw", momentum=0.99):
    """Depthwise 3x3 (one filter per input channel) -> BN -> ReLU6 -> pointwise 1x1 to
    ``filters`` channels -> BN -> ReLU6. No biases: batch norm's offset does their job."""
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=name)(x)
    x = relu6(f"{name}_relu")(bn(f"{name}_bn", momentum=momentum)(x))
    pointwise = name.replace("dw", "pw")
    x = layers.Conv2D(filters, 1, use_bias=False, name=pointwise)(x)
    return relu6(f"{pointwise}_relu")(bn(f"{pointwise}_bn", momentum=momentum)(x))


def mobilenet_v1(input_shape=(224, 224, 3), num_classes=1000, alpha=1.0, dropout=1e-3):
    """MobileNet v1 as keras.applications builds it: a 3x3 stride-2 convolution, 13
    depthwise-separable blocks, global average pooling, a 1x1 convolution as classifier.
    ``alpha`` (the width multiplier) scales every layer's channels."""
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(
        inputs
    )
    x = relu6("conv1_relu")(bn("conv1_bn")(x))
    for index, (filters, stride) in enumerate(MOBILENET_V1_BLOCKS, start=1):
        x = depthwise_separable_block(x, int(filters * alpha), stride, name=f"conv_dw_{index}")
    x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 1, name="conv_preds")(x)
    x = layers.Reshape((num_classes,), name="reshape_2")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"mobilenet_v1_{alpha:g}")


def make_divisible(value, divisor=8):
    """Round a channel count to the nearest multiple of ``divisor``, never more than 10%
    down (MobileNet v2 and EfficientNet keep channel counts hardware-friendly)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def inverted_residual_block(
    x, expansion, filters, stride, name="block", momentum=0.999, epsilon=1e-3
):
    """1x1 expansion to ``expansion`` x the input channels -> BN -> ReLU6 -> depthwise 3x3
    -> BN -> ReLU6 -> 1x1 *linear* projection to ``filters`` -> BN, no activation. The input is
    added back when the block keeps the shape (stride 1, same channels)."""
    channels = x.shape[-1]
    shortcut = x
    if expansion != 1:
        x = layers.Conv2D(expansion * channels, 1, use_bias=False, name=f"{name}expand")(x)
        x = relu6(f"{name}expand_relu")(bn(f"{name}expand_BN", epsilon, momentum)(x))
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=f"{name}depthwise"
    )(x)
    x = relu6(f"{name}depthwise_relu")(bn(f"{name}depthwise_BN", epsilon, momentum)(x))
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}project")(x)
    # Linear: a ReLU here would zero part of a thin tensor for good (the paper's Sec. 3.2).
    x = bn(f"{name}project_BN", epsilon, momentum)(x)
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}add")([shortcut, x])
    return x


def mobilenet_v2(input_shape=(224, 224, 3), num_classes=1000, alpha=1.0, bn_epsilon=1e-3):
    """MobileNet v2 as keras.applications builds it (layer names included): a 3x3 stride-2
    convolution, 17 inverted residual blocks (Table 2), a 1x1 convolution to 1280 channels,
    global average pooling and a dense softmax. ``bn_epsilon`` is Keras' 1e-3 by default;
    weights trained in PyTorch need its 1e-5."""
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(
        make_divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = relu6("Conv1_relu")(bn("bn_Conv1", bn_epsilon, momentum=0.999)(x))
    block = 0
    for expansion, channels, repeats, first_stride in MOBILENET_V2_STAGES:
        for repeat in range(repeats):
            name = f"block_{block}_" if block else "expanded_conv_"
            stride = first_stride if repeat == 0 else 1
            filters = make_divisible(int(channels * alpha))
            x = inverted_residual_block(
                x, expansion, filters, stride, name=name, epsilon=bn_epsilon
            )
            block += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = relu6("out_relu")(bn("Conv_1_bn", bn_epsilon, momentum=0.999)(x))
    x = layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"mobilenet_v2_{alpha:g}")


# The same designs for 28x28 images: a stride-2 stem to 14x14, then fewer, narrower blocks.
MOBILENET_V1_SMALL_BLOCKS = tuple(
    SeparableBlock(*row) for row in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1))
)
MOBILENET_V2_SMALL_STAGES = tuple(
    InvertedResidualStage(*row)
    for row in ((1, 16, 1, 1), (6, 24, 1, 2), (6, 32, 1, 1), (6, 64, 1, 2))
)


def mobilenet_v1_small(input_shape=(28, 28, 1), num_classes=10, blocks=None, alpha=1.0):
    """MobileNet v1's pattern at 28x28: a 3x3 stride-2 convolution (32), the blocks of
    ``blocks`` (pointwise filters, stride), global average pooling and a dense softmax. Batch
    norm momentum 0.9, so the statistics used at test time follow a short run. ``alpha`` is
    the width multiplier, applied as ``mobilenet_v1`` applies it: every layer's filters times
    alpha."""
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(
        inputs
    )
    x = relu6("conv1_relu")(bn("conv1_bn", momentum=0.9)(x))
    for index, (filters, stride) in enumerate(blocks or MOBILENET_V1_SMALL_BLOCKS, start=1):
        x = depthwise_separable_block(
            x, int(filters * alpha), stride, name=f"conv_dw_{index}", momentum=0.9
        )
    x = layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v1_small")


def mobilenet_v2_small(input_shape=(28, 28, 1), num_classes=10, stages=None, last=256, alpha=1.0):
    """MobileNet v2's pattern at 28x28: a 3x3 stride-2 convolution (16), the inverted residual
    stages of ``stages`` (t, c, n, s), a 1x1 convolution to ``last`` channels, global average
    pooling and a dense softmax. ``alpha`` is the width multiplier, applied as ``mobilenet_v2``
    applies it: every block's channels times alpha, rounded to a multiple of 8, and the last
    convolution widened only for an alpha above 1."""
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(
        make_divisible(16 * alpha), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = relu6("Conv1_relu")(bn("bn_Conv1", momentum=0.9)(x))
    block = 0
    for expansion, channels, repeats, first_stride in stages or MOBILENET_V2_SMALL_STAGES:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            filters = make_divisible(int(channels * alpha))
            x = inverted_residual_block(
                x, expansion, filters, stride, name=f"block_{block}_", momentum=0.9
            )
            block += 1
    last = make_divisible(last * alpha) if alpha > 1.0 else last
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = relu6("out_relu")(bn("Conv_1_bn", momentum=0.9)(x))
    x = layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2_small")
