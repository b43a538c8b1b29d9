"""1x1 convolutions as a bottleneck (Lin et al., 2013, "Network in network"; Szegedy et al.).

A 1x1 convolution mixes the channels of each pixel and nothing else: with fewer filters than
input channels it shrinks the channels while keeping height and width, which pooling cannot
do (pooling shrinks height and width and keeps the channels). Placed before an expensive
f x f convolution it is a *bottleneck*: the f x f layer then reads a thin tensor.

``reduced_conv_net(width)`` is a small Fashion-MNIST network whose two 5x5 convolutions each
read a ``width``-channel 1x1 bottleneck (``width=None``: no bottleneck), to measure how thin
a bottleneck can be before accuracy suffers.
"""

import keras
from keras import layers


def channel_reducer(x, c_out, name):
    """1x1 convolution with ``c_out`` filters and a ReLU: same height and width, c_out channels."""
    return layers.Conv2D(c_out, 1, activation="relu", name=name)(x)


def reduced_conv(x, width, f, c_out, name):
    """An f x f 'same' convolution to ``c_out`` channels, read through a 1x1 bottleneck of
    ``width`` channels (or directly when ``width`` is None)."""
    if width is not None:
        x = channel_reducer(x, width, f"{name}_reduce")
    return layers.Conv2D(c_out, f, padding="same", activation="relu", name=f"{name}_{f}x{f}")(x)


def reduced_conv_net(width=None, input_shape=(28, 28, 1), num_classes=10, channels=(32, 32)):
    """3x3 stem (``channels[0]``), 2x2 max pooling, then twice: a 5x5 convolution to
    ``channels[1]`` behind a ``width``-channel bottleneck, and 2x2 max pooling; global
    average pooling and softmax. With equal channels every bottleneck reads as many channels
    as the 5x5 would without it, so ``width`` is the only thing that changes."""
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(channels[0], 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for index in (1, 2):
        x = reduced_conv(x, width, 5, channels[1], f"conv{index}")
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"bottleneck_{width or 'none'}")
