"""The plain-words checks of casebook.grading: each passes on right answers and, on wrong ones,
fails with a message that says what was expected and what came."""

import keras
import numpy as np
import pytest
from keras import layers

from casebook import costs, grading


def fails(message_part):
    return pytest.raises(AssertionError, match=message_part)


def conv_model(input_shape, *stack):
    """A functional model: the given layers one after the other on keras.Input(input_shape)."""
    x = inputs = keras.Input(shape=input_shape)
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def residual_model(input_shape=(6, 6, 4), shortcut_first=False):
    """conv 1x1 -> conv 3x3 'same' plus the input, then ReLU; the branches built in either order.

    Seeded: with some initial weights both ReLU filters are dead on positive inputs and the
    block is the identity before any weight is zeroed."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=input_shape)
    if shortcut_first:
        shortcut = layers.Conv2D(input_shape[-1], 1)(inputs)
    x = layers.Conv2D(2, 1, activation="relu")(inputs)
    x = layers.Conv2D(input_shape[-1], 3, padding="same")(x)
    if not shortcut_first:
        shortcut = inputs
    return keras.Model(inputs, layers.ReLU()(layers.Add()([x, shortcut])))


def test_expect_params_shows_the_count_by_hand():
    model = conv_model((8, 8, 3), layers.Conv2D(4, 1))
    grading.expect_params(model, 16, "conv", why="3 * 4 + 4")
    with fails(r"conv should have 12 parameters \(3 \* 4, no bias\), but your model has 16"):
        grading.expect_params(model, 12, "conv", why="3 * 4, no bias")
    with fails(r"^conv should have 12 parameters, but"):
        grading.expect_params(model, 12, "conv")


def test_expect_tensor_shape_reads_a_returned_tensor_without_the_batch_axis():
    x = keras.Input(shape=(8, 8, 3))
    y = layers.Conv2D(5, 3, strides=2, padding="same")(x)
    grading.expect_tensor_shape(y, (4, 4, 5), "block(x)")
    grading.expect_tensor_shape(np.zeros((2, 4, 4, 5)), (4, 4, 5), "block(x)")
    with fails(r"block\(x\) should return a tensor of shape \(8, 8, 5\) .* yours has shape"):
        grading.expect_tensor_shape(y, (8, 8, 5), "block(x)")
    with fails("but your function returned None .* return the output tensor"):
        grading.expect_tensor_shape(None, (4, 4, 5), "block(x)")


def test_expect_feature_maps_ignores_the_order_of_the_branches():
    expected = [(6, 6, 2), (6, 6, 4)]
    for shortcut_first in (False, True):
        model = residual_model(shortcut_first=shortcut_first)
        grading.expect_feature_maps(model, expected, "block")
        grading.expect_feature_maps(model, expected[::-1], "block")
    strided = conv_model((6, 6, 4), layers.Conv2D(2, 1), layers.Conv2D(4, 3, strides=2))
    with fails(r"yours never computes 6x6x4 and it also computes 2x2x4\.$"):
        grading.expect_feature_maps(strided, expected, "block")
    with fails(r"\(in any order\), but yours also computes 6x6x4\.$"):
        grading.expect_feature_maps(residual_model(), [(6, 6, 2)], "block")


def test_expect_feature_maps_counts_a_branch_that_keeps_the_input_shape():
    for pool_first in (True, False):
        inputs = keras.Input(shape=(6, 6, 4))
        pool = layers.MaxPooling2D(3, strides=1, padding="same")(inputs)
        conv = layers.Conv2D(2, 1)(inputs)
        model = keras.Model(
            inputs, layers.Concatenate()([pool, conv] if pool_first else [conv, pool])
        )
        assert costs.feature_map_shapes(model)[0] == ((6, 6, 4) if pool_first else (6, 6, 2))
        grading.expect_feature_maps(model, [(6, 6, 4), (6, 6, 2), (6, 6, 6)], "module")


def test_zero_last_convolution_makes_a_residual_block_the_identity():
    model = residual_model(shortcut_first=False)
    x = np.random.default_rng(0).random((2, 6, 6, 4), dtype="float32")
    assert not np.allclose(keras.ops.convert_to_numpy(model(x)), x)
    name = grading.zero_last_convolution(model, "block")
    assert name == model.layers[2].name  # the 3x3 convolution, not the first one
    assert all(not w.any() for w in model.layers[2].get_weights())
    assert model.layers[1].get_weights()[0].any()
    grading.expect_arrays_close(model(x), x, "block(x)")


def test_zero_last_convolution_looks_into_nested_models():
    inner = keras.Sequential([layers.Conv2D(3, 1), layers.Conv2D(3, 1)])
    model = conv_model((4, 4, 3), inner, layers.ReLU())
    assert grading.zero_last_convolution(model, "block") == inner.layers[-1].name
    assert not keras.ops.convert_to_numpy(model(np.ones((1, 4, 4, 3), "float32"))).any()
    with fails("found no convolution to set to zero"):
        grading.zero_last_convolution(conv_model((4, 4, 3), layers.ReLU()), "block")


def test_expect_arrays_close_counts_the_differences_instead_of_printing_arrays():
    expected = np.zeros((2, 3, 4))
    got = expected.copy()
    got[1, 2, 3], got[0, 0, 0] = 0.5, 1e-7
    grading.expect_arrays_close(expected + 1e-7, expected, "y")
    message = (
        r"^y should match the expected values \(ReLU\(x\) = x\), but 1 of 24 differ by more than "
        r"1e-05; the largest difference is at index \(1, 2, 3\): yours 0\.5, expected 0\.$"
    )
    with fails(message):
        grading.expect_arrays_close(got, expected, "y", why="ReLU(x) = x")
    with fails(r"y should have shape \(2, 3, 4\), but yours has \(3, 4\)"):
        grading.expect_arrays_close(expected[0], expected, "y")
    with fails("1 of 24 differ"):
        grading.expect_arrays_close(np.where(got > 0.1, np.nan, got), expected, "y")


def test_expect_nonnegative():
    grading.expect_nonnegative(np.array([0.0, 2.0]), "relu(x)")
    with fails(r"^relu\(x\) should all be >= 0 \(ReLU\), but 2 of 3 are negative \(the smallest"):
        grading.expect_nonnegative(np.array([-1.0, 0.0, -0.5]), "relu(x)", why="ReLU")
    with fails("some are NaN"):
        grading.expect_nonnegative(np.array([np.nan, 1.0]), "relu(x)")


@pytest.mark.parametrize(
    ("stack", "size"),
    [
        ([layers.Conv2D(16, 1, activation="relu")], 1),
        ([layers.Conv2D(16, 3, padding="same")], 3),
        ([layers.MaxPooling2D(3, strides=1, padding="same")], 3),
        ([layers.Conv2D(8, 1, activation="relu"), layers.Conv2D(8, 5, padding="same")], 5),
    ],
)
def test_expect_reach_measures_the_window_of_one_pixel(stack, size):
    model = conv_model((9, 9, 4), *stack)
    grading.expect_reach(model, size, "f(x)")
    if size > 1:
        with fails(f"at that pixel only, but the output also changed {size // 2} pixel"):
            grading.expect_reach(model, 1, "f(x)")
    reached = "at that pixel" if size == 1 else f"up to {size // 2} pixel"
    message = (
        f"should change the output up to {size // 2 + 1} pixels? away from it "
        f"\\({size + 2}x{size + 2} window\\), but the output changed only {reached}"
    )
    with fails(message):
        grading.expect_reach(model, size + 2, "f(x)")


def test_expect_reach_of_some_channels():
    inputs = keras.Input(shape=(7, 7, 3))
    pointwise = layers.Conv2D(8, 1, activation="relu")(inputs)
    spatial = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, layers.Concatenate()([pointwise, spatial]))
    grading.expect_reach(model, 1, "f(x)", channels=(0, 8))
    grading.expect_reach(model, 3, "f(x)", channels=(8, 12))
    with fails(r"should change output channels 4 to 11 at that pixel only \(a 1x1 convolution\)"):
        grading.expect_reach(model, 1, "f(x)", channels=(4, 12), why="a 1x1 convolution")
    with fails("should have at least 13 output channels, but it has 12"):
        grading.expect_reach(model, 3, "f(x)", channels=(8, 13))
    constant = conv_model((7, 7, 3), layers.Conv2D(2, 1, kernel_initializer="zeros"))
    with fails(r"change the output at that pixel \(1x1 window\), but the output did not change"):
        grading.expect_reach(constant, 1, "f(x)")
    with fails("should keep the height and width of its 7x7 input"):
        grading.expect_reach(conv_model((7, 7, 3), layers.Conv2D(2, 3)), 3, "f(x)")


def test_expect_between():
    grading.expect_between(np.array([0.0, 3.0, 6.0]), 0, 6, "relu6(x)")
    message = (
        r"^relu6\(x\) should all lie between 0 and 6 \(ReLU6\), but of 4 values 2 are above 6 "
        r"\(the largest is 9\)\.$"
    )
    with fails(message):
        grading.expect_between(np.array([7.0, 9.0, 0.0, 6.0]), 0, 6, "relu6(x)", why="ReLU6")
    with fails(r"1 are below 0 \(the smallest is -1\) and 1 are above 6 \(the largest is 7\)\.$"):
        grading.expect_between(np.array([-1.0, 7.0]), 0, 6, "relu6(x)")
    with fails("some are NaN"):
        grading.expect_between(np.array([np.nan, 1.0]), 0, 6, "relu6(x)")


def test_expect_some_negative():
    grading.expect_some_negative(np.array([[0.5, -1e-3]]), "z")
    message = (
        r"^z should include negative values \(no ReLU\), but none of the 2 is negative "
        r"\(the smallest is 0\.5\)\.$"
    )
    with fails(message):
        grading.expect_some_negative(np.array([0.5, 2.0]), "z", why="no ReLU")
    with fails(r"none of the 1 is negative\.$"):
        grading.expect_some_negative(np.array([np.nan]), "z")


def test_expect_channel_scaling_returns_one_number_per_image_and_channel():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.5, 1.5, size=(2, 4, 5, 3)) * rng.choice([-1.0, 1.0], size=(2, 4, 5, 3))
    gates = rng.uniform(0.1, 0.9, size=(2, 3))
    scaled = images * gates[:, None, None, :]
    np.testing.assert_allclose(grading.expect_channel_scaling(images, scaled, "se(x)"), gates)
    with fails(r"^se\(x\) should multiply each channel by a number between 0 and 1 \(sigmoid\), "):
        grading.expect_channel_scaling(images, 2 * scaled, "se(x)", why="sigmoid")
    grading.expect_channel_scaling(images, 2 * scaled, "se(x)", high=2)
    pixelwise = scaled.copy()
    pixelwise[1, 2, 3, 0] *= 1.5
    message = (
        r"^each channel of se\(x\) should be the same channel of the input times one number, "
        r"the same at every pixel, but channel 0 of image 1 is not: at pixel \(2, 3\)"
    )
    with fails(message):
        grading.expect_channel_scaling(images, pixelwise, "se(x)")
    with fails(r"should have the shape of its input, \(2, 4, 5, 3\), but yours has \(2, 4, 5, 2\)"):
        grading.expect_channel_scaling(images, scaled[..., :2], "se(x)")
