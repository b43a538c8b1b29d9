"""Ten crops, multi-crop prediction and ensembles against computations written out by hand."""

import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from casebook import tricks


def numbered_image(height, width, channels):
    """Every pixel and channel holds a different number, so any misplaced crop shows."""
    return np.arange(height * width * channels, dtype="float32").reshape(height, width, channels)


def windows(image, size):
    """Every size x size window of an image, indexed [top, left] (NumPy's own sliding view)."""
    return np.moveaxis(sliding_window_view(image, (size, size), axis=(0, 1)), 2, -1)


@pytest.mark.parametrize(("height", "width", "channels", "size"), [(6, 5, 2, 3), (28, 28, 1, 24)])
def test_ten_crops_are_the_corners_the_centre_and_their_mirror_images(
    height, width, channels, size
):
    image = numbered_image(height, width, channels)
    mirror = image[:, ::-1]
    bottom, right = height - size, width - size
    places = [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]
    expected = [windows(image, size)[top, left] for top, left in places]
    expected += [windows(mirror, size)[top, left] for top, left in places]

    crops = tricks.ten_crops(image, size)

    assert crops.shape == (10, size, size, channels)
    np.testing.assert_array_equal(crops, np.stack(expected))


def test_ten_crops_of_a_small_image_by_hand():
    """A 4x4 image, 3x3 crops: top-left starts at 0, top-right at column 1, and so on."""
    image = np.arange(16).reshape(4, 4, 1)
    crops = tricks.ten_crops(image, 3)[..., 0]
    assert crops[0].tolist() == [[0, 1, 2], [4, 5, 6], [8, 9, 10]]
    assert crops[1].tolist() == [[1, 2, 3], [5, 6, 7], [9, 10, 11]]
    assert crops[3].tolist() == [[5, 6, 7], [9, 10, 11], [13, 14, 15]]
    assert crops[4].tolist() == crops[0].tolist()  # an odd margin of 1: the centre rounds down
    assert crops[5].tolist() == [[3, 2, 1], [7, 6, 5], [11, 10, 9]]  # the mirror's top-left


def test_a_full_size_crop_is_the_image_five_times_and_its_mirror_five_times():
    assert tricks.ten_crops(numbered_image(5, 7, 3), 5).shape == (10, 5, 5, 3)
    small = numbered_image(4, 4, 1)
    full = tricks.ten_crops(small, 4)
    for crop in full[:5]:
        np.testing.assert_array_equal(crop, small)
    for crop in full[5:]:
        np.testing.assert_array_equal(crop, small[:, ::-1])


@pytest.mark.parametrize(
    ("shape", "size", "message"),
    [
        ((28, 28, 1), 29, "does not fit in a 28x28 image"),
        ((20, 30, 3), 24, "at most 20"),
        ((28, 28), 24, r"image\[..., np.newaxis\]"),
        ((2, 28, 28, 1), 24, "batch"),
        ((28, 28, 1), 0, "positive whole number"),
        ((28, 28, 1), 2.5, "positive whole number"),
    ],
)
def test_ten_crops_says_what_is_wrong(shape, size, message):
    with pytest.raises(ValueError, match=message):
        tricks.ten_crops(np.zeros(shape), size)


def test_center_crops_match_the_fifth_of_the_ten_crops():
    images = np.stack([numbered_image(9, 8, 2) + 1000 * i for i in range(3)])
    centre = tricks.center_crops(images, 5)
    for image, crop in zip(images, centre, strict=True):
        np.testing.assert_array_equal(crop, tricks.ten_crops(image, 5)[4])


def test_random_crops_are_windows_of_their_own_image_and_follow_the_seed():
    images = np.stack([numbered_image(10, 10, 1) + 1000 * i for i in range(200)])
    crops = tricks.random_crops(images, 6, seed=3)
    assert crops.shape == (200, 6, 6, 1)
    places, mirrored = set(), 0
    for image, crop in zip(images, crops, strict=True):
        plain = windows(image, 6).reshape(-1, 6, 6, 1)
        flipped = windows(image[:, ::-1], 6).reshape(-1, 6, 6, 1)
        found = [i for i, w in enumerate(plain) if np.array_equal(w, crop)]
        found_mirrored = [i for i, w in enumerate(flipped) if np.array_equal(w, crop)]
        assert len(found) + len(found_mirrored) == 1, "a crop is one window of its own image"
        mirrored += bool(found_mirrored)
        places.add((found or found_mirrored)[0])
    assert len(places) == 25  # all 5 x 5 places of a 6x6 crop in a 10x10 image occur
    assert 60 < mirrored < 140  # about half are mirrored
    np.testing.assert_array_equal(crops, tricks.random_crops(images, 6, seed=3))
    assert not np.array_equal(crops, tricks.random_crops(images, 6, seed=4))
    unmirrored = tricks.random_crops(images, 6, seed=3, mirror=False)
    for image, crop in zip(images, unmirrored, strict=True):
        assert any(np.array_equal(w, crop) for w in windows(image, 6).reshape(-1, 6, 6, 1))


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def linear_softmax(input_shape, classes, seed):
    """Flatten -> dense -> softmax with seeded weights, and those weights for NumPy."""
    model = keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(classes)]
    )
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(int(np.prod(input_shape)), classes)).astype("float32") / 10
    bias = rng.normal(size=classes).astype("float32")
    model.layers[-1].set_weights([kernel, bias])
    probabilities = keras.Sequential([model, keras.layers.Softmax()])
    return probabilities, lambda x: softmax(x.reshape(len(x), -1).astype("float64") @ kernel + bias)


def test_multicrop_predict_averages_the_probabilities_of_the_ten_crops():
    model, by_hand = linear_softmax((4, 4, 2), 5, seed=0)
    image = np.random.default_rng(1).random((6, 7, 2)).astype("float32")
    mirror = image[:, ::-1]
    places = [(0, 0), (0, 3), (2, 0), (2, 3), (1, 1)]
    crops = [source[t : t + 4, c : c + 4] for source in (image, mirror) for t, c in places]
    expected = by_hand(np.stack(crops)).mean(axis=0)

    got = tricks.multicrop_predict(model, image, 4)

    assert got.shape == (5,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_multicrop_predict_on_a_batch_is_each_image_on_its_own():
    model, _ = linear_softmax((3, 3, 1), 4, seed=2)
    images = np.random.default_rng(3).random((25, 5, 5, 1)).astype("float32")
    batch = tricks.multicrop_predict(model, images, 3, batch_size=40)  # 4 images a call
    one_by_one = np.stack([tricks.multicrop_predict(model, image, 3) for image in images])
    assert batch.shape == (25, 4)
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, rtol=1e-5)


def test_multicrop_predict_refuses_logits_and_wrong_ranks():
    logits = keras.Sequential([keras.Input((3, 3, 1)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="softmax"):
        tricks.multicrop_predict(logits, np.ones((5, 5, 1)) * 3, 3)
    model, _ = linear_softmax((3, 3, 1), 4, seed=0)
    with pytest.raises(ValueError, match="got shape"):
        tricks.multicrop_predict(model, np.zeros((5, 5)), 3)
    with pytest.raises(ValueError, match="does not fit"):
        tricks.multicrop_predict(model, np.zeros((2, 2, 1)), 3)


def test_ensemble_predict_is_the_mean_of_the_members_probabilities():
    members = [linear_softmax((3, 3, 1), 4, seed=s) for s in range(3)]
    x = np.random.default_rng(5).random((11, 3, 3, 1)).astype("float32")
    expected = np.mean([by_hand(x) for _, by_hand in members], axis=0)

    got = tricks.ensemble_predict([model for model, _ in members], x)

    assert got.shape == (11, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    alone = tricks.ensemble_predict([members[0][0]], x)
    np.testing.assert_allclose(alone, members[0][1](x), rtol=1e-5, atol=1e-6)


def test_ensemble_predict_says_what_is_wrong():
    model, _ = linear_softmax((3, 3, 1), 4, seed=0)
    other, _ = linear_softmax((3, 3, 1), 6, seed=1)
    x = np.zeros((2, 3, 3, 1), dtype="float32")
    with pytest.raises(ValueError, match="empty list"):
        tricks.ensemble_predict([], x)
    with pytest.raises(TypeError, match=r"pass \[model\]"):
        tricks.ensemble_predict(model, x)
    with pytest.raises(ValueError, match="disagree"):
        tricks.ensemble_predict([model, other], x)
    with pytest.raises(ValueError, match="no inputs"):
        tricks.ensemble_predict([model], x[:0])


def test_accuracy_counts_the_rows_whose_most_probable_class_is_the_label():
    probabilities = np.array([[0.1, 0.9], [0.8, 0.2], [0.4, 0.6], [0.7, 0.3]])
    assert tricks.accuracy(probabilities, [1, 0, 0, 1]) == 0.5
