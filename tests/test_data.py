"""The data loaders: real files, deterministic splits, a clear error when data is missing."""

import numpy as np
import pytest

from casebook import data


@pytest.fixture(scope="module")
def fashion():
    return data.load_fashion_mnist()


def test_fashion_mnist_is_the_real_data_set(fashion):
    (x_train, y_train), (x_test, y_test) = fashion
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert x_train.dtype == np.uint8
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images of each class.
    assert np.bincount(y_train).tolist() == [6_000] * 10
    assert np.bincount(y_test).tolist() == [1_000] * 10


def test_missing_fashion_mnist_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "none")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("CASEBOOK_FASHION_MNIST", raising=False)

    def offline():
        raise OSError("network is unreachable")

    import keras

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(data.DataUnavailable, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist()


def test_a_folder_named_by_the_environment_comes_first(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEBOOK_FASHION_MNIST", str(tmp_path))
    assert data.fashion_mnist_folders()[0] == tmp_path


def test_mnist_5k_split_is_balanced_and_deterministic():
    (x_train, y_train), (x_test, y_test) = data.load_mnist_5k(test_size=1000, seed=3)
    assert x_train.shape == (4_000, 28, 28) and x_test.shape == (1_000, 28, 28)
    assert np.bincount(y_test).tolist() == [100] * 10
    (again, _), _ = data.load_mnist_5k(test_size=1000, seed=3)
    np.testing.assert_array_equal(x_train, again)
    (other, _), _ = data.load_mnist_5k(test_size=1000, seed=4)
    assert not np.array_equal(x_train, other)


def test_subset_keeps_the_class_balance():
    labels = np.repeat(np.arange(10), 100)
    images = np.arange(1000)
    x, y = data.subset(images, labels, 200, seed=0)
    assert np.bincount(y).tolist() == [20] * 10
    assert len(set(x.tolist())) == 200


def test_image_helpers():
    images = np.full((2, 28, 28), 255, np.uint8)
    floats = data.to_float(images)
    assert floats.shape == (2, 28, 28, 1) and floats.max() == 1.0
    padded = data.pad_to(floats, 32)
    assert (
        padded.shape == (2, 32, 32, 1)
        and padded[0, :2].sum() == 0
        and padded[0, 2:30, 2:30].min() == 1
    )
    assert data.resize(floats, 56).shape == (2, 56, 56, 1)
    assert data.to_rgb(floats).shape == (2, 28, 28, 3)
    with pytest.raises(ValueError, match="cannot pad"):
        data.pad_to(floats, 20)
    with pytest.raises(ValueError, match="one channel"):
        data.to_rgb(data.to_rgb(floats))
