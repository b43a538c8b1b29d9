"""Layers the classic papers used and modern libraries dropped.

They are written with ``keras.ops`` only, so they run on every Keras 3 backend, and each one
says how many multiply-accumulates it costs (``count_macs``) so that ``casebook.costs`` can
count a whole network without a profiler.
"""

import math

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="casebook")
class ScaledTanh(keras.layers.Layer):
    """LeNet-5's squashing function f(a) = A tanh(S a), with A = 1.7159 and S = 2/3.

    LeCun et al. chose the constants so that f(1) = 1 and f(-1) = -1, which keeps the
    activations of a normalised input near the region of maximal gain.
    """

    def __init__(self, amplitude=1.7159, slope=2.0 / 3.0, **kwargs):
        super().__init__(**kwargs)
        self.amplitude = amplitude
        self.slope = slope

    def call(self, inputs):
        return self.amplitude * ops.tanh(self.slope * inputs)

    def get_config(self):
        return {**super().get_config(), "amplitude": self.amplitude, "slope": self.slope}


@keras.saving.register_keras_serializable(package="casebook")
class Subsampling2D(keras.layers.Layer):
    """LeNet-5's S-layers: the sum of each 2x2 window times one trainable coefficient per map,
    plus one trainable bias per map (2 parameters a feature map, 12 in S2 and 32 in S4).

    Today's average pooling is this layer with the coefficient frozen at 1/4 and no bias.
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size

    def build(self, input_shape):
        channels = input_shape[-1]
        self.coefficient = self.add_weight(
            shape=(channels,), initializer="ones", name="coefficient"
        )
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")

    def call(self, inputs):
        window = self.pool_size * self.pool_size
        summed = ops.average_pool(inputs, self.pool_size, self.pool_size, padding="valid") * window
        return summed * self.coefficient + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height // self.pool_size, width // self.pool_size, channels)

    def count_macs(self, input_shape, output_shape):
        return math.prod(output_shape)  # one multiplication by the coefficient per output

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


# Table I of LeCun et al. (1998): which S2 maps (rows 0-5) feed each C3 map (columns 0-15).
# Six maps see 3 contiguous inputs, six see 4 contiguous, three see 4 non-contiguous, one sees all.
LENET_C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


@keras.saving.register_keras_serializable(package="casebook")
class PartiallyConnectedConv2D(keras.layers.Layer):
    """A 'valid' convolution in which output map j only sees the input maps ``table[j]``.

    LeCun et al. did this in C3 "to break the symmetry in the network" and to keep the number
    of connections down. Each output map owns a kernel over its own inputs only, so the
    trainable parameters are exactly those of the paper (1,516 for C3).
    """

    def __init__(self, table, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.table = tuple(tuple(int(i) for i in inputs) for inputs in table)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        channels = input_shape[-1]
        if max(max(inputs) for inputs in self.table) >= channels:
            raise ValueError(
                f"{self.name}: the connection table names input map "
                f"{max(max(i) for i in self.table)} but the input has only {channels} maps."
            )
        size = self.kernel_size
        self.kernels = [
            self.add_weight(
                shape=(size, size, len(inputs), 1),
                initializer="glorot_uniform",
                name=f"kernel_{j}",
            )
            for j, inputs in enumerate(self.table)
        ]
        self.bias = self.add_weight(shape=(len(self.table),), initializer="zeros", name="bias")

    def call(self, inputs):
        maps = [
            ops.conv(ops.take(inputs, list(sources), axis=-1), kernel, padding="valid")
            for sources, kernel in zip(self.table, self.kernels, strict=True)
        ]
        return ops.concatenate(maps, axis=-1) + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        shrink = self.kernel_size - 1
        return (batch, height - shrink, width - shrink, len(self.table))

    def count_macs(self, input_shape, output_shape):
        height, width, _ = output_shape
        taps = self.kernel_size * self.kernel_size
        return height * width * taps * sum(len(inputs) for inputs in self.table)

    def get_config(self):
        config = super().get_config()
        return {**config, "table": [list(t) for t in self.table], "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="casebook")
class EuclideanRBF(keras.layers.Layer):
    """LeNet-5's output layer: y_i = sum_j (x_j - w_ij)^2, a distance, so smaller is better.

    The paper fixed the prototypes w_i by hand (stylised 7x12 bitmaps of each character, entries
    +1/-1) and did not train them. The bitmaps are not published as data, so this layer draws a
    fixed, seeded +1/-1 code of the same size instead. The weights are non-trainable, as in
    the paper: 84 x 10 = 840 parameters that do not count towards the 60,000 trainable ones.
    """

    def __init__(self, units, seed=1998, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.seed = seed

    def build(self, input_shape):
        rng = np.random.default_rng(self.seed)
        code = rng.choice([-1.0, 1.0], size=(input_shape[-1], self.units)).astype("float32")
        self.prototypes = self.add_weight(
            shape=code.shape,
            initializer=keras.initializers.Constant(code),
            trainable=False,
            name="prototypes",
        )

    def call(self, inputs):
        difference = ops.expand_dims(inputs, -1) - self.prototypes
        return ops.sum(ops.square(difference), axis=-2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def count_macs(self, input_shape, output_shape):
        return input_shape[-1] * self.units  # one squaring per (input, prototype) pair

    def get_config(self):
        return {**super().get_config(), "units": self.units, "seed": self.seed}


@keras.saving.register_keras_serializable(package="casebook")
class LocalResponseNormalization(keras.layers.Layer):
    """AlexNet's LRN: b = a / (k + alpha * sum of a^2 over n neighbouring channels)^beta.

    Krizhevsky et al. used k=2, n=5, alpha=1e-4, beta=0.75 after conv1 and conv2. Each position
    competes with the same position in nearby channels, so a few very strong responses damp
    their neighbours. Later work (VGG, Sec. 4.1) found it does not help; it is here for history.
    Note the paper's alpha multiplies the plain sum (Caffe divides alpha by n).
    """

    def __init__(self, depth=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth, self.k, self.alpha, self.beta = depth, k, alpha, beta

    def build(self, input_shape):
        # Summing over neighbouring channels is a product with a band matrix: one matmul, fast
        # on every backend and exact at the edges (channels past the ends count as zero).
        channels = np.arange(input_shape[-1])
        band = np.abs(channels[:, None] - channels[None, :]) <= self.depth // 2
        self.band = ops.convert_to_tensor(band.astype("float32"))

    def call(self, inputs):
        window_sum = ops.matmul(ops.square(inputs), ops.cast(self.band, inputs.dtype))
        return inputs / ops.power(self.k + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, input_shape, output_shape):
        return 0  # normalisation, not a weighted sum: counted as 0 like BatchNormalization

    def get_config(self):
        config = {"depth": self.depth, "k": self.k, "alpha": self.alpha, "beta": self.beta}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="casebook")
class ZeroPaddingShortcut(keras.layers.Layer):
    """Option A of He et al. (2015) for a shortcut that changes shape, with no parameters:
    keep every ``stride``-th pixel (the stride of the main path) and append zero channels up
    to ``channels``. The notes' alternative to a learned W_s: "use zero padding to make
    a[l] 256 dimensional"."""

    def __init__(self, channels, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.stride = stride

    def call(self, inputs):
        s = self.stride
        subsampled = inputs[:, ::s, ::s, :]
        extra = self.channels - inputs.shape[-1]
        if extra < 0:
            raise ValueError(
                f"ZeroPaddingShortcut pads channels up to {self.channels}, but its input already "
                f"has {inputs.shape[-1]}: use a projection shortcut to reduce channels."
            )
        return ops.pad(subsampled, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        shrink = lambda n: None if n is None else -(-n // self.stride)  # noqa: E731 (ceil)
        return (batch, shrink(height), shrink(width), self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "stride": self.stride}
