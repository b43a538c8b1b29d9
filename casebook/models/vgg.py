"""VGG (Simonyan and Zisserman, 2015): only 3x3 'same' convolutions and 2x2 max pooling.

The whole architecture is data: a list of blocks, each (number of convolutions, channels).
After every block the pooling halves height and width while the next block doubles the
channels (until 512), so each block does about the same amount of work.
Layer names match keras.applications, so the two can be compared layer by layer.
"""

from typing import NamedTuple

import keras
from keras import layers


class VGGBlock(NamedTuple):
    """``convs`` 3x3 'same' convolutions of ``channels`` filters, then 2x2 max pooling."""

    convs: int
    channels: int


def _blocks(*rows):
    return tuple(VGGBlock(*row) for row in rows)


VGG16_BLOCKS = _blocks((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
VGG19_BLOCKS = _blocks((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
# The same pattern, fewer channels and three blocks, for 28x28 images.
VGG_SMALL_BLOCKS = _blocks((2, 16), (2, 32), (2, 64))


def vgg(
    blocks,
    input_shape=(224, 224, 3),
    num_classes=1000,
    fc_units=4096,
    dropout=0.5,
    name="vgg",
):
    """A VGG network from its block list; the paper's dropout of 0.5 sits after fc1 and fc2."""
    inputs = keras.Input(input_shape, name="input")
    x = inputs
    for index, (convs, channels) in enumerate(blocks, start=1):
        x = vgg_block(x, convs, channels, f"block{index}")
    x = layers.Flatten(name="flatten")(x)
    for fc in ("fc1", "fc2"):
        x = layers.Dense(fc_units, activation="relu", name=fc)(x)
        x = layers.Dropout(dropout, name=f"{fc}_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def vgg_block(x, convs, channels, name):
    for index in range(1, convs + 1):
        x = layers.Conv2D(
            channels, 3, padding="same", activation="relu", name=f"{name}_conv{index}"
        )(x)
    return layers.MaxPooling2D(2, strides=2, name=f"{name}_pool")(x)


def vgg16(input_shape=(224, 224, 3), num_classes=1000):
    return vgg(VGG16_BLOCKS, input_shape, num_classes, name="vgg16")


def vgg19(input_shape=(224, 224, 3), num_classes=1000):
    return vgg(VGG19_BLOCKS, input_shape, num_classes, name="vgg19")


def vgg_small(
    input_shape=(28, 28, 1), num_classes=10, blocks=VGG_SMALL_BLOCKS, fc_units=128, width=1.0
):
    """Three blocks of 16-32-64 for 28x28 images; ``width`` multiplies every block's channels
    (rounded to a whole number), to compare it with a MobileNet of the same width multiplier."""
    blocks = tuple(VGGBlock(convs, round(channels * width)) for convs, channels in blocks)
    return vgg(blocks, input_shape, num_classes, fc_units=fc_units, name="vgg_small")
