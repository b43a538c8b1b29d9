"""casebook.augment against independent computations: NumPy's flips and rotations, np.cov and
scikit-learn's PCA, hand-worked pixels; seeds reproduce; bad inputs get clear errors."""

import numpy as np
import pytest

from casebook import augment


def photo(height=6, width=5, channels=3, seed=0):
    return np.random.default_rng(seed).random((height, width, channels)).astype(np.float32)


# --- geometry --------------------------------------------------------------------------------


def test_mirror_is_a_left_right_flip():
    image = photo()
    np.testing.assert_array_equal(augment.mirror(image), np.fliplr(image))
    np.testing.assert_array_equal(augment.mirror(augment.mirror(image)), image)


def test_crop_takes_the_window_it_names():
    image = photo(8, 7)
    np.testing.assert_array_equal(augment.crop(image, 2, 1, 4, 5), image[2:6, 1:6])
    assert augment.crop(image, 0, 0, 8, 7).shape == (8, 7, 3)


@pytest.mark.parametrize("degrees, turns", [(90, 1), (180, 2), (270, 3), (-90, -1), (0, 0)])
def test_rotating_by_right_angles_matches_rot90(degrees, turns):
    image = photo(5, 5)
    np.testing.assert_allclose(augment.rotate(image, degrees), np.rot90(image, turns), atol=1e-6)


def test_rotating_a_non_square_image_half_a_turn_reverses_it():
    image = photo(6, 4, channels=1)
    np.testing.assert_allclose(augment.rotate(image, 180), image[::-1, ::-1], atol=1e-6)


def test_rotation_fills_corners_that_come_from_outside():
    turned = augment.rotate(np.ones((9, 9, 1), np.float32), 45, fill=0.0)
    assert turned[0, 0, 0] == 0.0 and turned[4, 4, 0] == pytest.approx(1.0)


def test_shear_slides_each_row_by_factor_times_its_offset_from_the_centre():
    image = np.zeros((5, 9, 1), np.float32)
    image[:, 4] = 1.0  # a vertical line through the centre
    sheared = augment.shear(image, 1.0)
    # Row r comes from column c + (r - 2): the line leans one pixel per row.
    for row in range(5):
        assert np.argmax(sheared[row, :, 0]) == 4 - (row - 2)
    np.testing.assert_array_equal(augment.shear(image, 0.0), image)


def test_local_warp_is_seeded_smooth_and_zero_strength_changes_nothing():
    image = photo(20, 16)
    first = augment.local_warp(image, np.random.default_rng(3), strength=2.0)
    again = augment.local_warp(image, np.random.default_rng(3), strength=2.0)
    other = augment.local_warp(image, np.random.default_rng(4), strength=2.0)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    still = augment.local_warp(image, np.random.default_rng(3), strength=0.0)
    np.testing.assert_allclose(still, image, atol=1e-6)
    assert first.min() >= 0 and first.max() <= 1


# --- colour ----------------------------------------------------------------------------------


def test_color_shift_adds_one_number_per_channel_and_clips():
    image = np.full((2, 2, 3), 0.5, np.float32)
    shifted = augment.color_shift(image, [0.1, -0.7, 0.8])
    np.testing.assert_allclose(shifted[0, 0], [0.6, 0.0, 1.0], atol=1e-7)
    assert shifted.dtype == np.float32


def test_rgb_pca_matches_np_cov_and_scikit_learn():
    from sklearn.decomposition import PCA

    images = np.random.default_rng(0).random((4, 6, 5, 3)).astype(np.float32) ** 2
    eigenvalues, eigenvectors = augment.rgb_pca(images)
    pixels = images.reshape(-1, 3).astype(np.float64)
    covariance = np.cov(pixels.T)
    np.testing.assert_allclose(covariance @ eigenvectors, eigenvectors * eigenvalues, atol=1e-12)
    np.testing.assert_allclose(eigenvectors.T @ eigenvectors, np.eye(3), atol=1e-12)
    assert np.all(np.diff(eigenvalues) <= 0)
    pca = PCA(3).fit(pixels)
    np.testing.assert_allclose(eigenvalues, pca.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(eigenvectors.T @ pca.components_.T), np.eye(3), atol=1e-8)
    assert np.all(np.abs(eigenvectors).argmax(axis=0) == np.argmax(eigenvectors, axis=0))


def test_rgb_pca_of_colours_along_one_direction_finds_that_direction():
    direction = np.array([1.0, 2.0, 2.0]) / 3
    amounts = np.linspace(0, 0.3, 12)
    image = (0.1 + amounts[:, None] * direction).reshape(3, 4, 3)
    eigenvalues, eigenvectors = augment.rgb_pca(image)
    np.testing.assert_allclose(eigenvectors[:, 0], direction, atol=1e-9)
    assert eigenvalues[0] == pytest.approx(np.var(amounts, ddof=1))
    np.testing.assert_allclose(eigenvalues[1:], 0, atol=1e-15)


def test_pca_color_augmentation_adds_the_same_shift_to_every_pixel():
    image = np.full((3, 4, 3), 0.5, np.float32)
    eigenvectors = np.eye(3)[:, [2, 0, 1]]  # columns: blue, red, green
    shifted = augment.pca_color_augmentation(image, [0.2, 0.1, 0.05], eigenvectors, [1, -1, 2])
    # blue + 0.2, red - 0.1, green + 0.1
    np.testing.assert_allclose(shifted, np.broadcast_to([0.4, 0.6, 0.7], (3, 4, 3)), atol=1e-7)
    unchanged = augment.pca_color_augmentation(image, [0.2, 0.1, 0.05], eigenvectors, [0, 0, 0])
    np.testing.assert_array_equal(unchanged, image)
    clipped = augment.pca_color_augmentation(image, [1.0, 0, 0], eigenvectors, [10, 0, 0])
    assert clipped.max() == 1.0


# --- randomness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "distort",
    [
        lambda im, rng: augment.random_mirror(im, rng),
        lambda im, rng: augment.random_crop(im, 4, 3, rng),
        lambda im, rng: augment.random_rotation(im, rng),
        lambda im, rng: augment.random_shear(im, rng),
        lambda im, rng: augment.random_color_shift(im, rng),
        lambda im, rng: augment.random_pca_color(im, [0.1, 0.01, 0.001], np.eye(3), rng),
    ],
)
def test_random_distortions_repeat_with_their_seed(distort):
    image = photo()
    np.testing.assert_array_equal(
        distort(image, np.random.default_rng(7)), distort(image, np.random.default_rng(7))
    )


def test_random_crop_stays_inside_and_varies():
    image = photo(10, 10)
    rng = np.random.default_rng(0)
    corners = set()
    for _ in range(40):
        window = augment.random_crop(image, 8, 8, rng)
        matches = [
            (r, c)
            for r in range(3)
            for c in range(3)
            if np.array_equal(window, image[r : r + 8, c : c + 8])
        ]
        corners.update(matches)
    assert len(corners) > 3


def test_mirror_and_translate_matches_a_per_image_pad_and_crop():
    images = np.random.default_rng(1).random((16, 6, 5, 1)).astype(np.float32)
    out = augment.mirror_and_translate(images, np.random.default_rng(2), pad=2)
    assert out.shape == images.shape
    for image, moved in zip(images, out, strict=True):
        candidates = [image, np.fliplr(image)]
        padded = [np.pad(c, ((2, 2), (2, 2), (0, 0))) for c in candidates]
        windows = [p[r : r + 6, c : c + 5] for p in padded for r in range(5) for c in range(5)]
        assert any(np.array_equal(moved, w) for w in windows)
    again = augment.mirror_and_translate(images, np.random.default_rng(2), pad=2)
    np.testing.assert_array_equal(out, again)


def test_augmented_batches_are_seeded_per_epoch_and_batch_not_per_thread():
    x = np.random.default_rng(0).random((10, 4, 4, 1)).astype(np.float32)
    y = np.arange(10)
    batches = augment.AugmentedBatches(x, y, 4, seed=5, augment=augment.mirror_and_translate)
    assert len(batches) == 3
    late_first = [batches[i] for i in (2, 0, 1)]  # threads may ask in any order
    again = augment.AugmentedBatches(x, y, 4, seed=5, augment=augment.mirror_and_translate)
    for (bx, by), (ax, ay) in zip(late_first, [again[i] for i in (2, 0, 1)], strict=True):
        np.testing.assert_array_equal(bx, ax)
        np.testing.assert_array_equal(by, ay)
    assert sorted(np.concatenate([b[1] for b in late_first])) == list(range(10))
    first_epoch = batches[0][1]
    batches.on_epoch_end()
    assert not np.array_equal(batches[0][1], first_epoch)  # a new order each epoch
    plain = augment.AugmentedBatches(x, y, 4, seed=5)
    bx, by = plain[0]
    np.testing.assert_array_equal(bx, x[by])  # no augment: the images themselves


def test_train_reads_a_stream_of_distorted_batches_with_its_own_batch_size_and_timings():
    import keras

    from casebook import training

    x = np.random.default_rng(0).random((24, 6, 6, 1)).astype(np.float32)
    y = np.arange(24) % 3
    training.seed_everything(0)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model.add(keras.layers.Softmax())
    batches = augment.AugmentedBatches(x, y, 8, seed=0, augment=augment.mirror_and_translate)
    run = training.train(
        model, batches, (x, y), epochs=2, seed=0, validation_data=(x[:6], y[:6]), verbose=0
    )
    assert len(run.extra["epoch_seconds"]) == 2 and len(run.history["val_accuracy"]) == 2
    assert run.images_per_s == pytest.approx(24 * 2 / run.wall_s)
    with pytest.raises(ValueError, match="several outputs"):
        two_heads = keras.Model(model.inputs, [model.outputs[0], model.outputs[0]])
        training.train(two_heads, batches, (x, y), epochs=1, seed=0, verbose=0)


def test_train_on_arrays_holds_out_a_split_or_validates_on_the_set_it_is_given():
    import keras

    from casebook import training

    x = np.random.default_rng(1).random((40, 4, 4, 1)).astype(np.float32)
    y = np.arange(40) % 2

    def fit(**options):
        training.seed_everything(0)
        model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()])
        model.add(keras.layers.Dense(2, activation="softmax"))
        return training.train(model, (x, y), (x, y), epochs=1, seed=0, verbose=0, **options)

    split = fit(batch_size=8, validation_split=0.25)  # trains on the first 30
    assert split.images_per_s == pytest.approx(30 / split.wall_s)
    given = fit(batch_size=8, validation_data=(x[:5], y[:5]))  # trains on all 40
    assert given.images_per_s == pytest.approx(40 / given.wall_s)
    (accuracy,) = given.history["val_accuracy"]  # of the 5 images given: a multiple of 1/5
    assert accuracy * 5 == pytest.approx(round(accuracy * 5))


def test_train_with_augment_distorts_training_batches_and_holds_out_plain_images():
    import keras

    from casebook import training

    x = np.random.default_rng(2).random((40, 4, 4, 1)).astype(np.float32)
    y = np.arange(40) % 2
    seen = []

    def remember(batch, rng):
        seen.append(batch.copy())
        return augment.mirror_and_translate(batch, rng, pad=1)

    training.seed_everything(0)
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()])
    model.add(keras.layers.Dense(2, activation="softmax"))
    run = training.train(
        model, (x, y), (x, y), epochs=2, seed=0, batch_size=8, augment=remember, verbose=0
    )
    assert run.images_per_s == pytest.approx(36 * 2 / run.wall_s)  # the last 10% held out
    # every training image each epoch (Keras may draw a first batch once more to read its shape)
    assert sum(len(batch) for batch in seen) >= 36 * 2
    held_out = {image.tobytes() for image in x[36:]}
    assert not any(image.tobytes() in held_out for batch in seen for image in batch)
    batches = augment.AugmentedBatches(x, y, 8, seed=0)
    with pytest.raises(ValueError, match="augment distorts training arrays"):
        training.train(model, batches, (x, y), epochs=1, seed=0, augment=remember, verbose=0)
    (first, second) = run.history["val_accuracy"]  # of 4 plain images: multiples of 1/4
    assert first * 4 == pytest.approx(round(first * 4)) and second * 4 == pytest.approx(
        round(second * 4)
    )


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: augment.mirror(np.zeros((4, 4), np.float32)), r"H x W x C.*image\[\.\.\., None\]"),
        (lambda: augment.mirror(np.zeros((4, 4, 3), np.uint8)), r"uint8.*/ 255"),
        (lambda: augment.mirror(np.full((4, 4, 3), 2.0)), r"\[0, 1\], got 2 to 2"),
        (lambda: augment.mirror(np.full((4, 4, 3), np.nan)), "NaN"),
        (lambda: augment.crop(photo(6, 5), 3, 0, 4, 5), r"does not fit in a 6x5 image"),
        (lambda: augment.crop(photo(), 0, 0, 0, 2), "at least 1x1"),
        (lambda: augment.crop(photo(), 0.5, 0, 2, 2), "whole number"),
        (lambda: augment.color_shift(photo(), [0.1, 0.2]), r"one per channel.*3 numbers"),
        (lambda: augment.rgb_pca(photo(channels=1)), "x 3"),
        (lambda: augment.rgb_pca(np.zeros((1, 1, 3))), "at least 2 pixels"),
        (
            lambda: augment.pca_color_augmentation(photo(), [1, 2, 3], np.eye(2), [0, 0, 0]),
            "one eigenvector per column",
        ),
        (
            lambda: augment.pca_color_augmentation(
                photo(channels=1), [1, 2, 3], np.eye(3), [0] * 3
            ),
            "3 colour channels",
        ),
        (lambda: augment.random_crop(photo(6, 5), 7, 2, np.random.default_rng(0)), "does not fit"),
    ],
)
def test_bad_inputs_say_what_was_wrong_and_what_to_do(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_batches_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        augment.AugmentedBatches(np.zeros((3, 2, 2, 1)), np.zeros(2), 2, seed=0)
