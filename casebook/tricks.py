"""Tricks that win benchmarks and cost inference time: ensembles and multi-crop testing.

The notes' tips for doing well on benchmarks (not in production):

- **ensembling**: train several networks independently and average their outputs;
- **multi-crop at test time**: run the network on several crops of each test image and
  average. The classic ten crops (AlexNet, 2012) are the four corners and the centre of the
  image, then the same five of its left-right mirror image.

``ten_crops``, ``multicrop_predict`` and ``ensemble_predict`` are the reference
implementations of exercise 9; ``random_crops`` and ``center_crops`` prepare the training and
test images of a network that reads crops; ``casebook.timing`` times them against each other.
Everything works on NumPy arrays and ``model.predict_on_batch``, so it runs on any Keras backend.
"""

import numpy as np

CROP_NAMES = (
    "top-left", "top-right", "bottom-left", "bottom-right", "centre",
    "mirrored top-left", "mirrored top-right", "mirrored bottom-left",
    "mirrored bottom-right", "mirrored centre",
)  # fmt: skip


def crop_offsets(height, width, size):
    """(top, left) of the five crops, in the order top-left, top-right, bottom-left,
    bottom-right, centre. The centre rounds down where the margin is odd."""
    bottom, right = height - size, width - size
    return [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]


def ten_crops(image, size):
    """The ten ``size`` x ``size`` crops of one image (height, width, channels):
    shape (10, size, size, channels), in the order of ``CROP_NAMES``."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(
            f"ten_crops takes one image shaped (height, width, channels), got shape {image.shape}. "
            + _rank_hint(image.ndim)
        )
    return _ten_crops_of_batch(image[np.newaxis], size)[0]


def _rank_hint(ndim):
    if ndim == 2:
        return "Add a channel axis to a grey image first: image[..., np.newaxis]."
    if ndim == 4:
        return "For a batch of images, crop them one at a time or use multicrop_predict."
    return "Pass a single image with a channel axis."


def _ten_crops_of_batch(images, size):
    """(N, H, W, C) -> (N, 10, size, size, C): the same ten windows of every image."""
    height, width = images.shape[1:3]
    _check_size(size, height, width)
    offsets = crop_offsets(height, width, size)
    mirrored = images[:, :, ::-1]  # left-right: the width axis
    crops = [
        source[:, top : top + size, left : left + size]
        for source in (images, mirrored)
        for top, left in offsets
    ]
    return np.stack(crops, axis=1)


def _check_size(size, height, width):
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"the crop size must be a positive whole number, got {size!r}.")
    if size > height or size > width:
        raise ValueError(
            f"a {size}x{size} crop does not fit in a {height}x{width} image: choose a size of at "
            f"most {min(height, width)}, or pad the image first (casebook.data.pad_to)."
        )


def center_crops(images, size):
    """The centre ``size`` x ``size`` crop of each image of a batch (N, H, W, C)."""
    images = _batch(images, "center_crops")
    _check_size(size, *images.shape[1:3])
    top, left = crop_offsets(*images.shape[1:3], size)[4]
    return images[:, top : top + size, left : left + size]


def random_crops(images, size, seed, mirror=True):
    """One random ``size`` x ``size`` crop of each image of a batch (N, H, W, C), at a place
    drawn for each image by a seeded generator, and with ``mirror`` half of them mirrored left
    to right: the training side of ten-crop testing (AlexNet's augmentation)."""
    images = _batch(images, "random_crops")
    count, height, width = images.shape[:3]
    _check_size(size, height, width)
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, height - size + 1, count)
    lefts = rng.integers(0, width - size + 1, count)
    rows = tops[:, None] + np.arange(size)  # (N, size): the rows each crop keeps
    cols = lefts[:, None] + np.arange(size)
    if mirror:  # a mirrored crop reads its columns from right to left
        flip = rng.random(count) < 0.5
        cols[flip] = cols[flip, ::-1]
    return images[np.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _batch(images, caller):
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"{caller} takes a batch shaped (images, height, width, channels), got shape "
            f"{images.shape}. Add a batch axis to one image with image[np.newaxis]."
        )
    return images


def class_probabilities(model, x, batch_size=1024):
    """The model's outputs for ``x``, checked to be class probabilities (each row sums to 1).

    Batches go through ``model.predict_on_batch``: ``model.predict`` sets up a data pipeline on
    every call, which costs more than the arithmetic of a small network on a few images and
    would hide the cost this module measures.
    """
    x = np.asarray(x)
    if len(x) == 0:
        raise ValueError("there is nothing to predict: x holds no inputs.")
    probabilities = np.concatenate(
        [
            np.asarray(model.predict_on_batch(x[start : start + batch_size]))
            for start in range(0, len(x), batch_size)
        ]
    )
    sums = probabilities.sum(axis=-1)
    if probabilities.min() < 0 or not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(
            f"{getattr(model, 'name', 'the model')} does not return class probabilities (its "
            f"outputs range from {probabilities.min():.3g} to {probabilities.max():.3g} and "
            f"rows sum to {sums.min():.3g}..{sums.max():.3g}): end it with a softmax, or wrap "
            "it: keras.Sequential([model, keras.layers.Softmax()])."
        )
    return probabilities


def multicrop_predict(model, images, size, batch_size=1024):
    """The model's class probabilities averaged over the ten crops of each image.

    ``images`` is one image (H, W, C), giving (classes,), or a batch (N, H, W, C), giving
    (N, classes). The model reads ``size`` x ``size`` inputs.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            "multicrop_predict takes one image (height, width, channels) or a batch (images, "
            f"height, width, channels), got shape {images.shape}. " + _rank_hint(images.ndim)
        )
    if images.ndim == 3:
        return multicrop_predict(model, images[np.newaxis], size, batch_size)[0]
    chunk = max(1, batch_size // 10)  # ten crops of each image: keep the arrays small
    averaged = []
    for start in range(0, len(images), chunk):
        crops = _ten_crops_of_batch(images[start : start + chunk], size)
        flat = crops.reshape(-1, *crops.shape[2:])
        probabilities = class_probabilities(model, flat, batch_size)
        averaged.append(probabilities.reshape(len(crops), 10, -1).mean(axis=1))
    return np.concatenate(averaged)


def ensemble_predict(models, x, batch_size=1024):
    """The class probabilities of several models on the same inputs, averaged."""
    if not isinstance(models, list | tuple):
        raise TypeError(
            f"ensemble_predict takes a list of models, got {type(models).__name__}: "
            "for one model pass [model]."
        )
    if not models:
        raise ValueError("ensemble_predict got an empty list: pass at least one trained model.")
    outputs = [class_probabilities(model, x, batch_size) for model in models]
    shapes = {output.shape for output in outputs}
    if len(shapes) > 1:
        raise ValueError(
            f"the models disagree on the shape of their outputs ({sorted(shapes)}): an "
            "ensemble averages models that predict the same classes for the same inputs."
        )
    return np.mean(outputs, axis=0)


def accuracy(probabilities, labels):
    """The share of rows whose most probable class is the label."""
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))
