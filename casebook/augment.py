"""Data augmentation: the distortions of the course notes in NumPy, and an input pipeline that
applies them on CPU threads while the model trains.

An image is a float array ``H x W x C`` with values in [0, 1]: ``C`` is 3 for a photo and 1 for
Fashion-MNIST. Every function returns a new array and leaves its input alone.

- geometry: :func:`mirror`, :func:`crop`, :func:`rotate`, :func:`shear`, :func:`local_warp`
- colour: :func:`color_shift`, and AlexNet's PCA colour augmentation (Krizhevsky et al., 2012,
  Sec. 4.1): :func:`rgb_pca` finds the principal directions of the training pixels' colours,
  :func:`pca_color_augmentation` moves every pixel of an image along them
- ``random_*``: the same distortions with their parameters drawn from a NumPy generator
  (``np.random.default_rng(seed)``), so a seed gives the same distortions on every machine
- :func:`mirror_and_translate`: the AlexNet recipe (reflections and shifted crops) for a whole
  batch at once, and :class:`AugmentedBatches`, a ``keras.utils.PyDataset`` whose worker
  threads distort the next batches while the model trains on the current one
- :class:`MirrorAndTranslate`: the same recipe as a Keras layer written in ``keras.ops``, which
  ``training.train`` puts in front of the model so that the distortion runs inside the
  compiled training step, on the device, with no CPU thread in the way

Nothing here uses a backend's own image ops, so the pipeline and the layer run on TensorFlow,
JAX and PyTorch alike.
"""

import math
import threading

import keras
import numpy as np

# --------------------------------------------------------------------------------------------
# checking what comes in
# --------------------------------------------------------------------------------------------


def check_image(image, what="image", channels=None):
    """``image`` as a float32 ``H x W x C`` array, or a ValueError that says what to change."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        raise ValueError(
            f"{what} holds uint8 values (0 to 255): convert it first with "
            "image.astype('float32') / 255."
        )
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{what} must hold numbers, not {array.dtype}.")
    if array.ndim != 3:
        hint = " (add a channel axis: image[..., None])" if array.ndim == 2 else ""
        raise ValueError(f"{what} must be shaped H x W x C, got shape {array.shape}{hint}.")
    if channels is not None and array.shape[-1] != channels:
        raise ValueError(
            f"{what} must have {channels} colour channels (H x W x {channels}), "
            f"got shape {array.shape}."
        )
    if array.size and not np.all(np.isfinite(array)):
        raise ValueError(f"{what} holds NaN or infinite values.")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(
            f"{what} must hold values in [0, 1], got {array.min():.4g} to {array.max():.4g}: "
            "divide 0-255 data by 255 and undo any standardisation first."
        )
    return array.astype(np.float32, copy=False)


def check_vector(values, length, what):
    """``values`` as a float64 vector of ``length`` numbers, or a ValueError."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (length,):
        raise ValueError(f"{what} must hold {length} numbers, got shape {array.shape}.")
    return array


# --------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------


def mirror(image):
    """The image reflected left to right: what is on the left comes out on the right."""
    return np.ascontiguousarray(check_image(image)[:, ::-1])


def crop(image, top, left, height, width):
    """The ``height x width`` window whose top-left pixel is at row ``top``, column ``left``."""
    image = check_image(image)
    rows, cols = image.shape[:2]
    for name, value in (("top", top), ("left", left), ("height", height), ("width", width)):
        if not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be a whole number of pixels, got {value!r}.")
    if height < 1 or width < 1:
        raise ValueError(f"the crop must be at least 1x1 pixels, got {height}x{width}.")
    if top < 0 or left < 0 or top + height > rows or left + width > cols:
        raise ValueError(
            f"a {height}x{width} crop at row {top}, column {left} does not fit in a "
            f"{rows}x{cols} image: keep 0 <= top <= {rows} - height and "
            f"0 <= left <= {cols} - width."
        )
    return image[top : top + height, left : left + width].copy()


def resample(image, rows, cols, fill=0.0):
    """The image read at fractional positions (bilinear interpolation between the four nearest
    pixels); positions outside the image read ``fill``. ``rows`` and ``cols`` are the source
    position of every output pixel, so a distortion is written as where each pixel comes from."""
    height, width = image.shape[:2]
    # A border of `fill` around the image: neighbours outside it are read from there.
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), constant_values=fill)
    top, left = np.floor(rows), np.floor(cols)
    down, right = (rows - top)[..., None], (cols - left)[..., None]
    r0, c0 = top.astype(np.int64) + 1, left.astype(np.int64) + 1  # +1: the border
    r0, r1 = np.clip(r0, 0, height + 1), np.clip(r0 + 1, 0, height + 1)
    c0, c1 = np.clip(c0, 0, width + 1), np.clip(c0 + 1, 0, width + 1)
    upper = padded[r0, c0] * (1 - right) + padded[r0, c1] * right
    lower = padded[r1, c0] * (1 - right) + padded[r1, c1] * right
    return (upper * (1 - down) + lower * down).astype(np.float32)


def centred_grid(image):
    """Each pixel's row and column, measured from the image centre."""
    height, width = image.shape[:2]
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return rows - (height - 1) / 2, cols - (width - 1) / 2


def rotate(image, degrees, fill=0.0):
    """The image turned ``degrees`` anticlockwise about its centre, as ``np.rot90`` turns it for
    90; corners that come from outside the image are ``fill``."""
    image = check_image(image)
    angle = math.radians(degrees)
    dy, dx = centred_grid(image)
    height, width = image.shape[:2]
    # Where each output pixel comes from: the inverse rotation (rows point down, so the signs
    # are those of a clockwise rotation in the usual x-y plane).
    source_cols = dx * math.cos(angle) - dy * math.sin(angle) + (width - 1) / 2
    source_rows = dx * math.sin(angle) + dy * math.cos(angle) + (height - 1) / 2
    return resample(image, source_rows, source_cols, fill)


def shear(image, factor, fill=0.0):
    """Each row slid sideways in proportion to its height above the centre row: a rectangle
    becomes a parallelogram whose sides lean by ``factor`` pixels per row."""
    image = check_image(image)
    dy, dx = centred_grid(image)
    height, width = image.shape[:2]
    return resample(image, dy + (height - 1) / 2, dx + factor * dy + (width - 1) / 2, fill)


def local_warp(image, rng, strength=2.0, grid=4):
    """A smooth random deformation: every point of a ``(grid + 1) x (grid + 1)`` lattice over the
    image moves by a random offset (normal, ``strength`` pixels), and the pixels in between
    follow by interpolation, so nearby pixels move together and the image bends, not tears."""
    image = check_image(image)
    height, width = image.shape[:2]
    offsets = rng.normal(0.0, strength, size=(grid + 1, grid + 1, 2)).astype(np.float32)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    # Spread the lattice's offsets over every pixel by reading them at scaled positions.
    field = resample(offsets, rows * grid / max(height - 1, 1), cols * grid / max(width - 1, 1))
    # Clamping to the border repeats the edge pixels instead of bringing in a black frame.
    source_rows = np.clip(rows + field[..., 0], 0, height - 1)
    source_cols = np.clip(cols + field[..., 1], 0, width - 1)
    return resample(image, source_rows, source_cols)


# --------------------------------------------------------------------------------------------
# colour
# --------------------------------------------------------------------------------------------


def color_shift(image, shifts):
    """One number added to each channel of every pixel (more red, less blue...), kept in [0, 1]."""
    image = check_image(image)
    shifts = check_vector(shifts, image.shape[-1], "shifts (one per channel)")
    return np.clip(image + shifts, 0.0, 1.0).astype(np.float32)


def rgb_pca(images):
    """The principal directions of the colours of all the pixels of ``images``.

    ``images`` is one ``H x W x 3`` image or a batch ``N x H x W x 3``, values in [0, 1]. Returns
    ``(eigenvalues, eigenvectors)`` of the 3x3 covariance of the pixels' RGB values (``np.cov``'s
    definition, divided by the number of pixels - 1): eigenvalues largest first, the eigenvector
    of ``eigenvalues[i]`` in column ``i``, each turned so that its largest component is
    positive (an eigenvector's sign is arbitrary; this makes the answer unique).
    """
    array = np.asarray(images)
    batch = array if array.ndim == 4 else array[np.newaxis]
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(
            f"images must be one H x W x 3 image or a batch N x H x W x 3, got shape {array.shape}."
        )
    check_image(batch.reshape(-1, *batch.shape[2:]), "images", channels=3)
    pixels = batch.reshape(-1, 3).astype(np.float64)
    if len(pixels) < 2:
        raise ValueError("a covariance needs at least 2 pixels.")
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    largest = eigenvectors[np.argmax(np.abs(eigenvectors), axis=0), np.arange(3)]
    return eigenvalues, eigenvectors * np.sign(largest)


def pca_color_augmentation(image, eigenvalues, eigenvectors, alphas):
    """AlexNet's colour augmentation: add ``eigenvectors @ (alphas * eigenvalues)`` to every
    pixel and keep the result in [0, 1]. The whole image moves along the directions in which
    the training pixels' colours vary, most along the direction in which they vary most."""
    image = check_image(image, channels=3)
    eigenvalues = check_vector(eigenvalues, 3, "eigenvalues")
    alphas = check_vector(alphas, 3, "alphas (one per eigenvector)")
    eigenvectors = np.asarray(eigenvectors, dtype=np.float64)
    if eigenvectors.shape != (3, 3):
        raise ValueError(
            f"eigenvectors must be a 3x3 matrix with one eigenvector per column, "
            f"got shape {eigenvectors.shape}."
        )
    shift = eigenvectors @ (alphas * eigenvalues)
    return np.clip(image + shift, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------------------------
# random distortions: parameters drawn from a seeded generator
# --------------------------------------------------------------------------------------------


def random_mirror(image, rng, probability=0.5):
    """The image mirrored with the given probability, else unchanged."""
    return mirror(image) if rng.random() < probability else check_image(image).copy()


def random_crop(image, height, width, rng):
    """A ``height x width`` window at a position drawn uniformly among those that fit."""
    image = check_image(image)
    rows, cols = image.shape[:2]
    if height > rows or width > cols:
        raise ValueError(f"a {height}x{width} crop does not fit in a {rows}x{cols} image.")
    top, left = rng.integers(0, rows - height + 1), rng.integers(0, cols - width + 1)
    return crop(image, int(top), int(left), height, width)


def random_rotation(image, rng, max_degrees=15.0, fill=0.0):
    """The image rotated by an angle drawn uniformly from [-max_degrees, max_degrees]."""
    return rotate(image, rng.uniform(-max_degrees, max_degrees), fill)


def random_shear(image, rng, max_factor=0.2, fill=0.0):
    """The image sheared by a factor drawn uniformly from [-max_factor, max_factor]."""
    return shear(image, rng.uniform(-max_factor, max_factor), fill)


def random_color_shift(image, rng, scale=0.1):
    """Each channel shifted by a number drawn uniformly from [-scale, scale]."""
    image = check_image(image)
    return color_shift(image, rng.uniform(-scale, scale, size=image.shape[-1]))


def random_pca_color(image, eigenvalues, eigenvectors, rng, std=0.1):
    """AlexNet's draw: alphas from a normal with mean 0 and standard deviation 0.1."""
    return pca_color_augmentation(image, eigenvalues, eigenvectors, rng.normal(0.0, std, size=3))


# --------------------------------------------------------------------------------------------
# distortions in parallel to training
# --------------------------------------------------------------------------------------------


def mirror_and_translate(images, rng, pad=2):
    """AlexNet's recipe for a batch ``N x H x W x C``, in a few vectorised NumPy operations:
    mirror each image with probability 1/2, then take an ``H x W`` crop of it padded by ``pad``
    zero pixels on each side, so the object moves by up to ``pad`` pixels each way."""
    count, height, width, _ = images.shape
    flipped = rng.random(count) < 0.5
    images = np.where(flipped[:, None, None, None], images[:, :, ::-1], images)
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    tops = rng.integers(0, 2 * pad + 1, size=count)
    lefts = rng.integers(0, 2 * pad + 1, size=count)
    rows = (tops[:, None] + np.arange(height))[:, :, None]
    cols = (lefts[:, None] + np.arange(width))[:, None, :]
    return padded[np.arange(count)[:, None, None], rows, cols]


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled batches of ``(x, y)``, each distorted by ``augment(batch, rng)`` when it is given.

    With ``workers`` threads, Keras asks for the next batches while the model trains on the
    current one, so the distortions run in parallel to training, as the notes describe. The
    randomness does not depend on which thread runs first: epoch ``e`` shuffles with the seed
    ``(seed, e)`` and batch ``i`` of it is distorted with the seed ``(seed, e, i)``.
    """

    def __init__(self, x, y, batch_size, seed, augment=None, workers=2, **kwargs):
        super().__init__(workers=workers, use_multiprocessing=False, **kwargs)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}.")
        self.x, self.y, self.batch_size = x, y, batch_size
        self.seed, self.augment, self.epoch = seed, augment, 0
        self._orders, self._lock = {}, threading.Lock()

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def order(self, epoch):
        """The sample order of an epoch (computed once, by whichever thread asks first)."""
        with self._lock:
            if epoch not in self._orders:
                self._orders = {
                    epoch: np.random.default_rng([self.seed, epoch]).permutation(len(self.x))
                }
            return self._orders[epoch]

    def __getitem__(self, index):
        epoch = self.epoch
        rows = self.order(epoch)[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.x[rows]
        if self.augment is not None:
            batch = self.augment(batch, np.random.default_rng([self.seed, epoch, index]))
        return batch, self.y[rows]

    def on_epoch_end(self):
        # Keras calls this after its worker threads have stopped: no batch is half-way through.
        self.epoch += 1


# --------------------------------------------------------------------------------------------
# the same distortion inside the training step, on the device
# --------------------------------------------------------------------------------------------


def mirror_and_translate_ops(images, flipped, tops, lefts, pad=2):
    """``mirror_and_translate`` with its draws given, in ``keras.ops``: image ``n`` is mirrored
    where ``flipped[n]`` and cropped from its zero-padded self at ``(tops[n], lefts[n])``.

    One gather does both: column ``j`` of the crop of a mirrored image is column
    ``W + 2 pad - 1 - (lefts[n] + j)`` of the padded original."""
    ops = keras.ops
    count, height, width, channels = ops.shape(images)
    padded = ops.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    padded_width = width + 2 * pad
    rows = tops[:, None] + ops.arange(height)[None, :]
    cols = lefts[:, None] + ops.arange(width)[None, :]
    cols = ops.where(flipped[:, None], padded_width - 1 - cols, cols)
    pixels = rows[:, :, None] * padded_width + cols[:, None, :]  # N x H x W into the flat image
    flat = ops.reshape(padded, (count, -1, channels))
    index = ops.broadcast_to(ops.reshape(pixels, (count, -1, 1)), (count, height * width, channels))
    return ops.reshape(ops.take_along_axis(flat, index, axis=1), (count, height, width, channels))


class MirrorAndTranslate(keras.layers.Layer):
    """AlexNet's reflections and shifted crops as a layer: while training, each image of the
    batch is mirrored with probability 1/2 and moved by up to ``pad`` pixels each way, drawn
    from the layer's own seeded generator; at inference it passes the images on unchanged.

    ``training.train(model, ..., augment=MirrorAndTranslate(seed=seed))`` runs it in front of
    the model inside the compiled step, so the batch never leaves the device to be distorted.
    It draws the same kinds of distortions as :func:`mirror_and_translate`, from another
    generator, so the two give different but equally distributed images."""

    def __init__(self, pad=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(pad, int) or pad < 0:
            raise ValueError(f"pad must be a whole number of pixels >= 0, not {pad!r}")
        self.pad, self.seed = pad, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        count = keras.ops.shape(images)[0]
        flipped = keras.random.uniform((count,), seed=self.generator) < 0.5
        tops, lefts = (
            keras.random.randint((count,), 0, 2 * self.pad + 1, seed=self.generator)
            for _ in range(2)
        )
        return mirror_and_translate_ops(images, flipped, tops, lefts, self.pad)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "seed": self.seed}
