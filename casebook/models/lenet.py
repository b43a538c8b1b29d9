"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998): conv, pool, conv, pool, fc, fc, output.

Two builders: ``lenet5_1998`` follows the paper layer for layer (trainable subsampling, the
partial C3 connection table, the scaled tanh and the RBF output: 60,000 trainable parameters),
``lenet5`` is the variant courses teach today (full C3, plain average pooling, softmax:
61,706 parameters). Layer names follow the paper: C = convolution, S = subsampling, F = full.
"""

import keras
from keras import layers

from casebook.paper_layers import (
    LENET_C3_TABLE,
    EuclideanRBF,
    PartiallyConnectedConv2D,
    ScaledTanh,
    Subsampling2D,
)


def lenet5(input_shape=(32, 32, 1), num_classes=10, activation="tanh", pooling="average"):
    """The modern LeNet-5: every C3 map sees all six S2 maps; softmax output.

    ``activation`` ("tanh", "sigmoid", "relu", ...) and ``pooling`` ("average" or "max") let a
    chapter measure what the 1998 choices cost against today's.
    """
    pool = {"average": layers.AveragePooling2D, "max": layers.MaxPooling2D}[pooling]
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(6, 5, activation=activation, name="C1")(inputs)
    x = pool(pool_size=2, name="S2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="C3")(x)
    x = pool(pool_size=2, name="S4")(x)
    x = layers.Flatten(name="flatten")(x)
    # On a 32x32 input S4 is 5x5x16, so a dense layer here is the paper's 5x5 convolution C5.
    x = layers.Dense(120, activation=activation, name="C5")(x)
    x = layers.Dense(84, activation=activation, name="F6")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="lenet5")


def lenet5_1998(input_shape=(32, 32, 1), num_classes=10):
    """LeNet-5 as published: 60,000 trainable parameters, and 840 fixed ones in the RBF output.

    The output is a distance to each class prototype (smaller means more likely), not a
    probability; the paper trained it with its own loss. The book builds it to count it.
    """
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(6, 5, name="C1")(inputs)
    x = ScaledTanh(name="C1_squash")(x)
    x = Subsampling2D(2, name="S2")(x)
    x = ScaledTanh(name="S2_squash")(x)
    x = PartiallyConnectedConv2D(LENET_C3_TABLE, 5, name="C3")(x)
    x = ScaledTanh(name="C3_squash")(x)
    x = Subsampling2D(2, name="S4")(x)
    x = ScaledTanh(name="S4_squash")(x)
    x = layers.Conv2D(120, 5, name="C5")(x)
    x = ScaledTanh(name="C5_squash")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, name="F6")(x)
    x = ScaledTanh(name="F6_squash")(x)
    outputs = EuclideanRBF(num_classes, name="output")(x)
    return keras.Model(inputs, outputs, name="lenet5_1998")
