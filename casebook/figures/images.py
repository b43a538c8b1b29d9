"""Image grids: ``image_grid`` (data samples) and ``sample_predictions`` (titled
"pred (true)", green when right)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from casebook.figures.style import _FONT, PALETTE, _listlike, _positive_int


def _as_image(image, index: int) -> np.ndarray:
    """Validate one image: HxW, HxWx1 or HxWx3, floats in [0, 1] or uint8."""
    try:
        arr = np.asarray(image)
    except (TypeError, ValueError):
        raise ValueError(f"image {index} is not an array") from None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise ValueError(f"image {index} has shape {arr.shape}: expected HxW, HxWx1 or HxWx3")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image {index} is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"image {index} must hold numbers, got dtype {arr.dtype}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"image {index} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"image {index} has values from {lo:.3g} to {hi:.3g}: pass floats in [0, 1] or "
            f"uint8 (divide 0-255 data by 255, undo any standardisation first)"
        )
    return np.clip(arr, 0.0, 1.0)


def _as_images(images) -> list[np.ndarray]:
    if images is None or isinstance(images, (str, bytes)):
        raise ValueError("images must be an array of images (N x H x W[x C]) or a list of them")
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images has shape {images.shape}: expected a batch N x H x W, N x H x W x 1 "
                f"or N x H x W x 3"
            )
        seq = list(images)
    else:
        try:
            seq = list(images)
        except TypeError:
            raise ValueError("images must be an array or a list of images") from None
    if not seq:
        raise ValueError("images is empty: pass at least one image")
    return [_as_image(img, i) for i, img in enumerate(seq)]


def _grid(n: int, cols: int, cell: float = 1.45, title_space: float = 0.28):
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * cell, rows * (cell + title_space)), squeeze=False
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def _show(ax, image: np.ndarray, cmap) -> None:
    if image.ndim == 2:
        vmax = 255 if image.dtype == np.uint8 else 1.0
        ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(PALETTE["grid"])


def _class_indices(values, name: str, count: int) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of class indices") from None
    if arr.ndim == 2:  # one-hot labels or per-class probabilities
        arr = arr.argmax(axis=1)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} has shape {arr.shape}: expected one class index per image "
            f"(or one row of scores per image)"
        )
    if arr.size != count:
        raise ValueError(f"{name} has {arr.size} entries but there are {count} images")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole class indices")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold class indices (integers), got dtype {arr.dtype}")
    return arr.astype(int)


def sample_predictions(
    images, labels, predicted, class_names, n: int = 12, cols: int = 6
) -> Figure:
    """A grid of the first ``n`` images, each titled "pred (true)": green right, red wrong.

    ``labels`` and ``predicted`` hold class indices (one-hot rows or per-class scores are
    reduced with argmax); ``class_names`` turns an index into words.
    """
    n = _positive_int(n, "n")
    cols = _positive_int(cols, "cols")
    imgs = _as_images(images)
    if not _listlike(class_names):
        raise ValueError("class_names must be a list of class names, one per class index")
    class_names = [str(c) for c in class_names]
    if not class_names:
        raise ValueError("class_names is empty: pass one name per class")
    true = _class_indices(labels, "labels", len(imgs))
    pred = _class_indices(predicted, "predicted", len(imgs))
    for name, arr in (("labels", true), ("predicted", pred)):
        bad = arr[(arr < 0) | (arr >= len(class_names))]
        if bad.size:
            raise ValueError(
                f"{name} holds class index {int(bad[0])} but class_names has only "
                f"{len(class_names)} names (indices 0 to {len(class_names) - 1})"
            )

    count = min(n, len(imgs))
    fig, axes = _grid(count, cols)
    for i, ax in enumerate(axes):
        _show(ax, imgs[i], "gray")
        right = pred[i] == true[i]
        ax.set_title(
            f"{class_names[pred[i]]} ({class_names[true[i]]})",
            fontsize=_FONT,
            color=PALETTE["right"] if right else PALETTE["wrong"],
            fontweight="normal" if right else "bold",
            pad=3,
        )
    correct = int(np.sum(pred[:count] == true[:count]))
    fig.suptitle(
        f"predicted (true): {correct} of {count} right",
        fontsize=_FONT + 1,
        color=PALETTE["text"],
    )
    fig.tight_layout()
    return fig


def image_grid(images, titles=None, cols: int = 6, cmap: str = "gray") -> Figure:
    """A plain grid of images (data samples), optionally titled; grayscale images use ``cmap``."""
    cols = _positive_int(cols, "cols")
    imgs = _as_images(images)
    if titles is not None:
        if not _listlike(titles):
            raise ValueError("titles must be a list of strings, one per image, or None")
        if len(titles) != len(imgs):
            raise ValueError(f"titles has {len(titles)} entries but there are {len(imgs)} images")
    try:
        plt.get_cmap(cmap)
    except (ValueError, TypeError):
        raise ValueError(f"cmap {cmap!r} is not a matplotlib colormap name") from None
    fig, axes = _grid(len(imgs), cols, title_space=0.28 if titles is not None else 0.08)
    for i, ax in enumerate(axes):
        _show(ax, imgs[i], cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=_FONT, color=PALETTE["text"], pad=3)
    fig.tight_layout()
    return fig
