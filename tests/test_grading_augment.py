"""The checks added for exercise 8: an expected error, eigenvectors up to their sign."""

import numpy as np
import pytest

from casebook import grading


def crop_rows(image, top, height):
    if top + height > len(image):
        raise ValueError("does not fit")
    return image[top : top + height]


def test_expect_raises_passes_when_the_error_comes():
    grading.expect_raises(crop_rows, (np.zeros((4, 2)), 3, 2), ValueError, "crop_rows(...)")


def test_expect_raises_says_what_came_instead():
    with pytest.raises(
        AssertionError,
        match=r"should raise ValueError \(5 > 4\), but it "
        r"returned an array of shape \(1, 2\) without an error",
    ):
        grading.expect_raises(
            crop_rows, (np.zeros((4, 2)), 3, 1), ValueError, "crop_rows(...)", why="5 > 4"
        )
    with pytest.raises(AssertionError, match="but it raised IndexError: nope"):
        grading.expect_raises(
            lambda: (_ for _ in ()).throw(IndexError("nope")), (), ValueError, "f()"
        )
    with pytest.raises(AssertionError, match="but it returned None"):
        grading.expect_raises(lambda: None, (), ValueError, "f()")


def test_columns_may_come_with_either_sign():
    expected = np.array([[0.6, 0.8], [0.8, -0.6]])
    grading.expect_columns_up_to_sign(expected * [1, -1], expected, "eigenvectors")


def test_columns_in_the_wrong_order_or_as_rows_fail_with_the_column():
    expected = np.array([[0.6, 0.8], [0.8, -0.6]])
    with pytest.raises(AssertionError, match=r"column 0 should be \[0.6 0.8\].*largest"):
        grading.expect_columns_up_to_sign(expected[:, ::-1], expected, "eigenvectors")
    with pytest.raises(AssertionError, match=r"shape \(2, 2\).*yours has shape \(2,\)"):
        grading.expect_columns_up_to_sign(expected[0], expected, "eigenvectors")
