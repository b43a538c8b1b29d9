"""ResNets (He et al., 2015, arXiv 1512.03385): a shortcut makes very deep networks trainable.

A residual block adds its input a[l] to the output of its last layer before that layer's
ReLU: a[l+2] = g(z[l+2] + a[l]). With the last layer's weights and bias at zero the block
returns g(a[l]) = a[l] (a ReLU output is left unchanged by a ReLU), so a block can always
fall back to doing nothing, and adding blocks does not make the network worse.

- ``identity_block`` and ``convolutional_block`` are ResNet-50's bottleneck blocks
  (1x1 -> f x f -> 1x1 convolutions); the second has a projection shortcut, the notes' W_s
  (a 1x1 convolution with the block's stride, then batch norm), for when the shape changes.
- ``resnet50`` is keras.applications' ResNet50 layer for layer (v1, the stride in the first
  1x1 convolution of a block), or torchvision's "v1.5" (the stride in the 3x3, no conv biases).
- ``resnet_small`` is the paper's CIFAR family (Sec. 4.2: 6n+2 layers of 3x3 convolutions,
  16-32-64 channels, blocks of two convolutions) sized for 28x28 images; ``residual=False``
  builds the plain network of the same depth, ``shortcut="zeros"`` the parameter-free option A.
"""

from typing import NamedTuple

import keras
from keras import layers

from casebook.paper_layers import ZeroPaddingShortcut

BN_EPSILON = 1.001e-5  # keras.applications' value
# The small networks' batch norm forgets faster than Keras' default (0.99): PyTorch's default
# (0.9 here), so the statistics used at test time follow a run of a few hundred steps.
SMALL_BN_MOMENTUM = 0.9


class ResNetStage(NamedTuple):
    """A stage of ResNet-50: ``blocks`` bottleneck blocks whose first two convolutions have
    ``width`` filters and whose output has 4 x width channels."""

    width: int
    blocks: int


# Stages are named conv2 ... conv5 as in the paper's Table 1.
RESNET50_STAGES = tuple(ResNetStage(*row) for row in ((64, 3), (128, 4), (256, 6), (512, 3)))


def conv_bn(x, filters, kernel_size, name, strides=1, use_bias=True, momentum=0.99):
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        name=f"{name}_conv",
    )(x)
    bn = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=momentum, name=f"{name}_bn")
    return bn(x)


def bottleneck_path(x, f, filters, name, s=1, stride_at="1x1", use_bias=True):
    """1x1 (F1) -> f x f (F2) -> 1x1 (F3), batch norm after each, ReLU after the first two.

    ``stride_at`` says which convolution carries the stride ``s``: "1x1" as in the paper and
    keras.applications (v1), "3x3" as in torchvision (v1.5, which sees 4x more of the input).
    """
    f1, f2, f3 = filters
    first, middle = (s, 1) if stride_at == "1x1" else (1, s)
    x = conv_bn(x, f1, 1, f"{name}_1", strides=first, use_bias=use_bias)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = conv_bn(x, f2, f, f"{name}_2", strides=middle, use_bias=use_bias)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    return conv_bn(x, f3, 1, f"{name}_3", use_bias=use_bias)


def identity_block(x, f, filters, name, use_bias=True):
    """Bottleneck block whose input already has the output's shape: the shortcut is x itself."""
    z = bottleneck_path(x, f, filters, name, use_bias=use_bias)
    x = layers.Add(name=f"{name}_add")([x, z])
    return layers.Activation("relu", name=f"{name}_out")(x)


def convolutional_block(x, f, filters, name, s=2, stride_at="1x1", use_bias=True):
    """Bottleneck block that changes the shape (stride s, F3 channels): the shortcut is
    projected by W_s, a 1x1 convolution with stride s followed by batch norm."""
    shortcut = conv_bn(x, filters[2], 1, f"{name}_0", strides=s, use_bias=use_bias)
    z = bottleneck_path(x, f, filters, name, s=s, stride_at=stride_at, use_bias=use_bias)
    x = layers.Add(name=f"{name}_add")([shortcut, z])
    return layers.Activation("relu", name=f"{name}_out")(x)


def resnet50(input_shape=(224, 224, 3), num_classes=1000, version="v1"):
    """ResNet-50: "v1" is keras.applications.ResNet50 (convolutions with biases, the stride
    in the 1x1); "v1.5" is torchvision's resnet50 (no conv biases, the stride in the 3x3)."""
    if version not in ("v1", "v1.5"):
        raise ValueError(f"version must be 'v1' or 'v1.5', not {version!r}")
    use_bias, stride_at = (True, "1x1") if version == "v1" else (False, "3x3")
    inputs = keras.Input(input_shape, name="input")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (width, blocks) in enumerate(RESNET50_STAGES, start=2):
        filters = (width, width, 4 * width)
        s = 1 if stage == 2 else 2  # conv2 follows the max pooling: no second downsampling
        name = f"conv{stage}_block"
        x = convolutional_block(x, 3, filters, f"{name}1", s, stride_at, use_bias)
        for block in range(2, blocks + 1):
            x = identity_block(x, 3, filters, f"{name}{block}", use_bias)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"resnet50_{version.replace('.', '_')}")


def basic_block(x, filters, name, s=1, shortcut="projection"):
    """Two 3x3 conv-BN layers with a ReLU between them (the blocks of ResNet-18/34 and the
    CIFAR nets). ``shortcut`` is what happens where the shape changes: "projection" (W_s,
    option B), "zeros" (option A: subsample, pad channels with zeros) or None (a plain
    network: no shortcut anywhere)."""
    kw = {"use_bias": False, "momentum": SMALL_BN_MOMENTUM}
    z = conv_bn(x, filters, 3, f"{name}_1", strides=s, **kw)
    z = layers.Activation("relu", name=f"{name}_1_relu")(z)
    z = conv_bn(z, filters, 3, f"{name}_2", **kw)
    if shortcut is None:
        return layers.Activation("relu", name=f"{name}_out")(z)
    if s == 1 and x.shape[-1] == filters:
        skip = x
    elif shortcut == "projection":
        skip = conv_bn(x, filters, 1, f"{name}_0", strides=s, **kw)
    elif shortcut == "zeros":
        skip = ZeroPaddingShortcut(filters, s, name=f"{name}_0_pad")(x)
    else:
        raise ValueError(f"shortcut must be 'projection', 'zeros' or None, not {shortcut!r}")
    x = layers.Add(name=f"{name}_add")([skip, z])
    return layers.Activation("relu", name=f"{name}_out")(x)


def resnet_small(
    depth=20,
    widths=(16, 32, 64),
    input_shape=(28, 28, 1),
    num_classes=10,
    residual=True,
    shortcut="projection",
    stem_pool=False,
):
    """The CIFAR ResNets (ResNet-20, -32, -56, ...): a 3x3 stem convolution, three stages of
    n blocks (depth = 6n + 2 weighted layers), global average pooling and a softmax layer.
    Each stage after the first halves height and width and doubles the channels;
    ``stem_pool`` halves them once more after the stem."""
    blocks, rest = divmod(depth - 2, 2 * len(widths))
    if rest or blocks < 1:
        raise ValueError(
            f"depth must be {2 * len(widths)}n + 2 for {len(widths)} stages (8, 14, 20, 32, 56 "
            f"for three), not {depth}"
        )
    inputs = keras.Input(input_shape, name="input")
    x = conv_bn(inputs, widths[0], 3, "stem", use_bias=False, momentum=SMALL_BN_MOMENTUM)
    x = layers.Activation("relu", name="stem_relu")(x)
    if stem_pool:  # as ResNet-50's stem does: every stage then costs a quarter
        x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for stage, width in enumerate(widths, start=1):
        for block in range(1, blocks + 1):
            s = 2 if stage > 1 and block == 1 else 1
            x = basic_block(
                x, width, f"stage{stage}_block{block}", s, shortcut if residual else None
            )
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    kind = "resnet" if residual else "plain"
    return keras.Model(inputs, outputs, name=f"{kind}{depth}")
