"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012).

Five convolutions and three fully connected layers, ReLU everywhere, Local Response
Normalization after conv1 and conv2, overlapping 3x3 max pooling with stride 2, dropout in fc6
and fc7. The paper split conv2, conv4 and conv5 across two GPUs: each half of those layers
only sees the half of the previous layer on its own GPU, which is a grouped convolution with
two groups. ``groups=2`` builds that original network (60,965,224 parameters);
``groups=1`` the single-stream version most re-implementations use (62,378,344).
"""

import keras
from keras import layers

from casebook.paper_layers import LocalResponseNormalization

ALEXNET_FILTERS = (96, 256, 384, 384, 256)
# Which convolutions the two GPUs did not share (conv3 and the fc layers talk across GPUs).
SPLIT_ACROSS_GPUS = {"conv2", "conv4", "conv5"}


def alexnet(
    input_shape=(227, 227, 3),
    num_classes=1000,
    groups=1,
    filters=ALEXNET_FILTERS,
    fc_units=4096,
    conv1=(11, 4, "valid"),
    lrn=True,
    dropout=0.5,
):
    """AlexNet; ``filters``, ``fc_units`` and ``conv1`` (kernel, stride, padding) scale it down.

    The paper says 224x224 inputs, but its own arithmetic ((224 - 11) / 4 + 1 = 54.25) only
    works for 227x227, which is what Caffe and the 55x55 maps of Figure 2 use.
    """
    kernel, stride, padding = conv1
    inputs = keras.Input(input_shape, name="input")
    x = conv(inputs, filters[0], kernel, "conv1", strides=stride, padding=padding)
    x = normalize_and_pool(x, "1", lrn)
    x = conv(x, filters[1], 5, "conv2", groups=groups)
    x = normalize_and_pool(x, "2", lrn)
    x = conv(x, filters[2], 3, "conv3")
    x = conv(x, filters[3], 3, "conv4", groups=groups)
    x = conv(x, filters[4], 3, "conv5", groups=groups)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    for name in ("fc6", "fc7"):
        x = layers.Dense(fc_units, activation="relu", name=name)(x)
        x = layers.Dropout(dropout, name=f"drop{name[-1]}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="fc8")(x)
    suffix = "" if groups == 1 else f"_{groups}groups"
    return keras.Model(inputs, outputs, name=f"alexnet{suffix}")


def alexnet_small(input_shape=(28, 28, 1), num_classes=10, groups=1, lrn=True):
    """AlexNet's pattern with fewer channels and a 5x5 stride-1 first layer, for 28x28 images."""
    return alexnet(
        input_shape,
        num_classes,
        groups=groups,
        filters=(32, 64, 96, 96, 64),
        fc_units=256,
        conv1=(5, 1, "same"),
        lrn=lrn,
    )


def conv(x, filters, kernel, name, strides=1, padding="same", groups=1):
    return layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, groups=groups,
        activation="relu", name=name,
    )(x)  # fmt: skip


def normalize_and_pool(x, index, lrn):
    if lrn:
        x = LocalResponseNormalization(name=f"norm{index}")(x)
    return layers.MaxPooling2D(3, strides=2, name=f"pool{index}")(x)
