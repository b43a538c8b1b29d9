"""Plain-words checks for the graded exercises.

Every check raises ``AssertionError`` with a message that says what was checked, what was
expected and what came, in words a student can act on, for example::

    conv_output_size(32, 5) should be 28 (32 - 5 + 1), but your function returned 27.

The checks compare behaviour (values, output shapes, parameter counts), never layer class
names or ``layer.output_shape`` (gone in Keras 3), so any correct way of building a model passes.
It imports no nbgrader and no Keras of its own: models are used through their public methods,
and their feature maps through ``casebook.costs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from casebook import costs

__all__ = [
    "expect_arrays_close",
    "expect_between",
    "expect_callable",
    "expect_channel_scaling",
    "expect_close",
    "expect_equal",
    "expect_feature_maps",
    "expect_nonnegative",
    "expect_output_shape",
    "expect_params",
    "expect_reach",
    "expect_some_negative",
    "expect_stage_shapes",
    "expect_tensor_shape",
    "stage_shapes",
    "zero_last_convolution",
]


def _because(why: str | None) -> str:
    return f" ({why})" if why else ""


def _show(value: Any) -> str:
    """An int with thousands separators (138,357,544), anything else as Python writes it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return repr(value)


def _shape_text(shape: Sequence[Any]) -> str:
    return "x".join(str(d) for d in shape) if len(shape) else "a scalar"


def expect_equal(got: Any, expected: Any, what: str, why: str | None = None) -> None:
    """Check ``got == expected``; ``what`` names the call, ``why`` optionally shows the working."""
    if isinstance(expected, int) and isinstance(got, float) and got.is_integer():
        raise AssertionError(
            f"{what} should be the whole number {_show(expected)}{_because(why)}, "
            f"but your function returned the float {got!r}: return an int (use // or int(...))."
        )
    if not bool(np.all(got == expected)):
        raise AssertionError(
            f"{what} should be {_show(expected)}{_because(why)}, "
            f"but your function returned {_show(got)}."
        )


def expect_close(
    got: Any, expected: Any, what: str, rel: float = 1e-6, why: str | None = None
) -> None:
    """Check that ``got`` equals ``expected`` within a relative tolerance (scalars or arrays)."""
    try:
        ok = bool(np.allclose(got, expected, rtol=rel, atol=0.0))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise AssertionError(
            f"{what} should be {expected!r} (within a relative {rel:g}){_because(why)}, "
            f"but your code gave {got!r}."
        )


def expect_callable(namespace_or_obj: Any, name: str) -> Callable[..., Any]:
    """Check that ``name`` is defined (in a dict such as ``globals()``, or as an attribute)."""
    if isinstance(namespace_or_obj, Mapping):
        found = name in namespace_or_obj
        value = namespace_or_obj.get(name)
    else:
        found = hasattr(namespace_or_obj, name)
        value = getattr(namespace_or_obj, name, None)
    if not found:
        raise AssertionError(
            f"define a function called {name} (nothing with that name exists: check the "
            "spelling and run the cell that defines it)."
        )
    if not callable(value):
        raise AssertionError(
            f"{name} should be a function, but it is {value!r} (of type {type(value).__name__})."
        )
    return value


def _count_params(model: Any, what: str) -> int:
    try:
        return int(model.count_params())
    except Exception as error:  # an unbuilt model, or not a model at all
        raise AssertionError(
            f"{what}: could not count the parameters of what your function returned "
            f"({type(model).__name__}: {error}). Return a keras.Model that starts with "
            "keras.Input(shape=input_shape)."
        ) from None


def expect_params(model: Any, expected: int, what: str, why: str | None = None) -> None:
    """Check ``model.count_params()`` (trainable and non-trainable weights together);
    ``why`` optionally shows the count by hand."""
    got = _count_params(model, what)
    if got != expected:
        diff = got - expected
        more = f"{abs(diff):,} {'more' if diff > 0 else 'fewer'}"
        raise AssertionError(
            f"{what} should have {expected:,} parameters{_because(why)}, "
            f"but your model has {got:,} ({more}). "
            "Check filter sizes, channel counts and biases layer by layer (model.summary())."
        )


def _input_shape(model: Any, what: str) -> tuple[int, ...]:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise AssertionError(
            f"{what}: your model has no defined input. Start it with "
            "keras.Input(shape=input_shape) so its shapes are known."
        )
    return tuple(inputs[0].shape)[1:]


def expect_output_shape(model: Any, expected: Sequence[int], what: str) -> None:
    """Call the model on one image of zeros and compare the output shape (without the batch)."""
    shape = _input_shape(model, what)
    try:
        output = model(np.zeros((1, *shape), dtype="float32"))
    except Exception as error:
        raise AssertionError(
            f"{what}: calling your model on one {_shape_text(shape)} input failed "
            f"({type(error).__name__}: {error})."
        ) from None
    got = tuple(int(d) for d in output.shape[1:])
    expected = tuple(expected)
    if got != expected:
        raise AssertionError(
            f"{what} should give an output of shape {expected} for one input, "
            f"but your model gives {got}."
        )


def expect_tensor_shape(tensor: Any, expected: Sequence[int], what: str) -> None:
    """Check the shape of a tensor a function returned, batch axis left out.

    For functions that take a tensor and return one (a block of layers applied to
    ``keras.Input(shape=...)``), where there is no model to call yet.
    """
    shape = getattr(tensor, "shape", None)
    expected = tuple(expected)
    if shape is None or len(shape) == 0:
        raise AssertionError(
            f"{what} should return a tensor of shape {expected} for each input, but your function "
            f"returned {tensor!r} (of type {type(tensor).__name__}): return the output tensor."
        )
    got = tuple(None if d is None else int(d) for d in shape[1:])
    if got != expected:
        raise AssertionError(
            f"{what} should return a tensor of shape {expected} for each input, "
            f"but yours has shape {got}."
        )


def stage_shapes(model: Any, what: str | None = None) -> list[tuple[int, ...]]:
    """The feature-map shapes ``(h, w, c)`` a model goes through, consecutive repeats removed.

    The shapes come from ``casebook.costs.feature_map_shapes`` (nested models are looked into).
    Two 'same' convolutions in a row count as one stage: parameter counts tell those apart.
    """
    what = what or getattr(model, "name", "your model")
    input_shape = _input_shape(model, what)
    shapes = _feature_maps(model, what)
    # A first layer that keeps the input's shape is not a stage (Sequential models have no
    # InputLayer, functional ones do): the same answer either way.
    return shapes[1:] if shapes and shapes[0] == input_shape else shapes


def _feature_maps(model: Any, what: str) -> list[tuple[int, ...]]:
    try:
        return costs.feature_map_shapes(model)
    except Exception as error:  # subclassed models have no symbolic layer outputs
        raise AssertionError(
            f"could not read the layer shapes of {what} ({type(error).__name__}: {error}). "
            "Build it with keras.Sequential or the functional API, starting with keras.Input."
        ) from None


def expect_stage_shapes(model: Any, expected: Sequence[Sequence[int]], what: str) -> None:
    """Compare :func:`stage_shapes` with the expected list and name the first stage that differs."""
    got = stage_shapes(model, what)
    expected = [tuple(s) for s in expected]
    if got == expected:
        return
    path = " -> ".join(_shape_text(s) for s in expected)
    yours = " -> ".join(_shape_text(s) for s in got) or "no 3D feature maps at all"
    for i, (want, have) in enumerate(zip(expected, got, strict=False), start=1):
        if want != have:
            first = f"stage {i} should be {_shape_text(want)}, but yours is {_shape_text(have)}"
            break
    else:
        first = f"it should go through {len(expected)} stages, but yours goes through {len(got)}"
    raise AssertionError(
        f"{what}: {first}. Expected feature maps {path}; your model gives {yours}."
    )


def expect_feature_maps(model: Any, expected: Sequence[Sequence[int]], what: str) -> None:
    """Compare the set of feature maps ``(h, w, c)`` a model computes with ``expected``.

    Where a network branches (a shortcut, the four branches of an inception module) the order of
    its layers depends on the order in which the code joins the branches, so only the set is
    compared: every expected shape must be computed somewhere, and no other. Every layer's output
    counts (a branch may keep the input's shape), the input itself does not.
    """
    _input_shape(model, what)
    got = set(_feature_maps(model, what))
    expected = [tuple(s) for s in expected]
    missing = [s for s in expected if s not in got]
    extra = sorted(got - set(expected), key=lambda s: (-_size(s), s))
    if not missing and not extra:
        return
    problems = []
    if missing:
        problems.append(f"yours never computes {_shape_list(missing)}")
    if extra:
        problems.append(f"{'and it' if missing else 'yours'} also computes {_shape_list(extra)}")
    raise AssertionError(
        f"{what} should compute feature maps of the shapes {_shape_list(expected)} "
        f"(in any order), but {' '.join(problems)}."
    )


def _size(shape: Sequence[int]) -> int:
    return int(np.prod([d or 1 for d in shape[:-1]]))


def _shape_list(shapes: Sequence[Sequence[int]]) -> str:
    return ", ".join(_shape_text(s) for s in shapes)


def zero_last_convolution(model: Any, what: str) -> str:
    """Set every weight (kernel and bias) of the model's last convolution to zero; return its name.

    The last convolution is the last layer, in the order the model runs them, with a kernel of
    four axes (height, width, input channels, filters); nested models are looked into. In a
    residual block that is the convolution before the addition: with it at zero the main path adds
    nothing (after batch normalization in inference mode, with its initial statistics).
    """
    convolutions = [
        layer for layer in _flat_layers(model) if any(len(w.shape) == 4 for w in layer.weights)
    ]
    if not convolutions:
        raise AssertionError(
            f"{what}: found no convolution to set to zero (no layer has a kernel of shape "
            "f x f x input channels x filters)."
        )
    last = convolutions[-1]
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    return last.name


def _flat_layers(model: Any) -> list[Any]:
    flat = []
    for layer in getattr(model, "layers", []):
        flat += _flat_layers(layer) if hasattr(layer, "layers") else [layer]
    return flat


def _as_array(values: Any) -> np.ndarray:
    return np.asarray(_to_numpy(values), dtype="float64")


def _to_numpy(values: Any) -> Any:
    """A backend tensor (TensorFlow, JAX or a PyTorch tensor that tracks gradients) as NumPy."""
    if isinstance(values, (np.ndarray, list, tuple, int, float)):
        return values
    import keras

    return keras.ops.convert_to_numpy(values)


def expect_arrays_close(
    got: Any, expected: Any, what: str, tol: float = 1e-5, why: str | None = None
) -> None:
    """Check two arrays of the same shape value by value, within ``tol`` (absolute and relative).

    A failure names how many values differ and the largest difference, not the whole array.
    """
    got, expected = _as_array(got), _as_array(expected)
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what} should have shape {expected.shape}{_because(why)}, but yours has {got.shape}."
        )
    bad = ~np.isclose(got, expected, rtol=tol, atol=tol)
    if bad.any():
        diff = np.where(bad, np.nan_to_num(np.abs(got - expected), nan=np.inf), -1.0)
        index = np.unravel_index(int(np.argmax(diff)), diff.shape)
        where = f" at index {tuple(int(i) for i in index)}" if index else ""
        raise AssertionError(
            f"{what} should match the expected values{_because(why)}, but {int(bad.sum()):,} of "
            f"{bad.size:,} differ by more than {tol:g}; the largest difference is{where}: yours "
            f"{got[index]:.6g}, expected {expected[index]:.6g}."
        )


def expect_nonnegative(values: Any, what: str, why: str | None = None) -> None:
    """Check that no value is negative (the output of a ReLU, say)."""
    values = _as_array(values)
    negative = int((values < 0).sum())
    if negative or np.isnan(values).any():
        found = f"{negative:,} of {values.size:,} are negative" if negative else "some are NaN"
        smallest = f" (the smallest is {np.nanmin(values):.4g})" if negative else ""
        raise AssertionError(f"{what} should all be >= 0{_because(why)}, but {found}{smallest}.")


def expect_between(values: Any, low: float, high: float, what: str, why: str | None = None) -> None:
    """Check that every value lies between ``low`` and ``high`` (a ReLU6 gives [0, 6])."""
    values = _as_array(values)
    found = []
    below, above = int((values < low).sum()), int((values > high).sum())
    if below:
        found.append(f"{below:,} are below {low:g} (the smallest is {np.nanmin(values):.4g})")
    if above:
        found.append(f"{above:,} are above {high:g} (the largest is {np.nanmax(values):.4g})")
    if np.isnan(values).any():
        found.append("some are NaN")
    if found:
        raise AssertionError(
            f"{what} should all lie between {low:g} and {high:g}{_because(why)}, but of "
            f"{values.size:,} values {' and '.join(found)}."
        )


def expect_some_negative(values: Any, what: str, why: str | None = None) -> None:
    """Check that at least one value is negative (the output of a layer with no ReLU after it)."""
    values = _as_array(values)
    if not (values < 0).any():
        smallest = "" if np.isnan(values).all() else f" (the smallest is {np.nanmin(values):.4g})"
        raise AssertionError(
            f"{what} should include negative values{_because(why)}, but none of the "
            f"{values.size:,} is negative{smallest}."
        )


def expect_channel_scaling(
    inputs: Any,
    outputs: Any,
    what: str,
    low: float = 0.0,
    high: float = 1.0,
    tol: float = 1e-5,
    why: str | None = None,
) -> np.ndarray:
    """Check that each channel of the output is the same channel of the input times one number,
    the same at every pixel, and that the number lies between ``low`` and ``high``: what a gate per
    channel (squeeze-and-excitation) does. Returns those numbers, one per image and channel.

    ``inputs`` and ``outputs`` are arrays of shape (images, height, width, channels), and no channel
    of an input image may be all zero. The number of a channel is the one that fits it best (least
    squares): the sum of input * output over its pixels divided by the sum of input ** 2.
    """
    inputs, outputs = _as_array(inputs), _as_array(outputs)
    if inputs.ndim != 4:
        raise ValueError(f"inputs should be images x height x width x channels, not {inputs.shape}")
    if outputs.shape != inputs.shape:
        raise AssertionError(
            f"{what} should have the shape of its input, {inputs.shape}, but yours has "
            f"{outputs.shape}."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        scales = (inputs * outputs).sum(axis=(1, 2)) / (inputs**2).sum(axis=(1, 2))
    expected = inputs * scales[:, None, None, :]
    bad = ~np.isclose(outputs, expected, rtol=tol, atol=tol)
    if bad.any():
        diff = np.where(bad, np.nan_to_num(np.abs(outputs - expected), nan=np.inf), -1.0)
        b, i, j, c = (int(k) for k in np.unravel_index(int(np.argmax(diff)), diff.shape))
        raise AssertionError(
            f"each channel of {what} should be the same channel of the input times one number, "
            f"the same at every pixel{_because(why)}, but channel {c} of image {b} is not: at "
            f"pixel ({i}, {j}) the input {inputs[b, i, j, c]:.4g} gives {outputs[b, i, j, c]:.4g}, "
            f"where the number that fits that channel best ({scales[b, c]:.4g}) would give "
            f"{expected[b, i, j, c]:.4g}."
        )
    outside = (scales < low) | (scales > high)
    if outside.any():
        b, c = (int(k) for k in np.argwhere(outside)[0])
        raise AssertionError(
            f"{what} should multiply each channel by a number between {low:g} and {high:g}"
            f"{_because(why)}, but it multiplies channel {c} of image {b} by {scales[b, c]:.4g} "
            f"({int(outside.sum()):,} of the {outside.size:,} numbers lie outside)."
        )
    return scales


def expect_reach(
    model: Any,
    size: int,
    what: str,
    channels: tuple[int, int] | None = None,
    why: str | None = None,
) -> None:
    """Check how far the change of one input pixel reaches: a ``size`` x ``size`` output window.

    The model gets a random input (values in [0, 1)), then the same input with one pixel near the
    centre set to 10 in every channel. The output channels ``channels`` (``(start, stop)``, all by
    default) must change only within the ``size`` x ``size`` window around that pixel (``size`` 1:
    at that pixel alone, as a 1x1 convolution does; 3 for a 3x3 convolution or pooling), and
    somewhere on its border. The model's input needs a fixed height and width of at least
    ``size + 2``; the output keeps the input's height and width.
    """
    shape = _input_shape(model, what)
    if len(shape) != 3 or None in shape:
        raise AssertionError(f"{what}: the model needs a fixed h x w x c input, not {shape}.")
    h, w, c = shape
    row, col = h // 2, w // 2
    before = np.random.default_rng(0).random((1, h, w, c)).astype("float32")
    after = before.copy()
    after[0, row, col, :] = 10.0
    outputs = []
    for images in (before, after):
        try:
            outputs.append(np.asarray(_to_numpy(model(images))))
        except Exception as error:
            raise AssertionError(
                f"{what}: calling it on one {_shape_text(shape)} input failed "
                f"({type(error).__name__}: {error})."
            ) from None
    first, second = outputs
    if first.ndim != 4 or first.shape[1:3] != (h, w):
        raise AssertionError(
            f"{what} should keep the height and width of its {h}x{w} input, "
            f"but its output has shape {first.shape[1:]}."
        )
    start, stop = channels if channels is not None else (0, first.shape[-1])
    if stop > first.shape[-1]:
        raise AssertionError(
            f"{what} should have at least {stop} output channels, but it has {first.shape[-1]}."
        )
    first, second = first[0, :, :, start:stop], second[0, :, :, start:stop]
    scale = 1.0 + max(np.abs(first).max(initial=0.0), np.abs(second).max(initial=0.0))
    changed = np.argwhere(np.abs(second - first).max(axis=-1) > 1e-4 * scale)
    distance = np.abs(changed - [row, col]).max(axis=1) if len(changed) else np.array([-1])
    radius = size // 2
    part = "the output" if channels is None else f"output channels {start} to {stop - 1}"
    window = (
        "at that pixel only" if size == 1 else f"only within the {size}x{size} pixels around it"
    )
    if distance.max() > radius:
        raise AssertionError(
            f"{what}: changing the input at one pixel should change {part} {window}"
            f"{_because(why)}, but {part} also changed {_pixels(distance.max())} away from it."
        )
    if distance.max() < radius:
        target = "at that pixel" if size == 1 else f"up to {_pixels(radius)} away from it"
        if len(changed) == 0:
            reached = "did not change at all"
        elif distance.max() == 0:
            reached = "changed only at that pixel"
        else:
            reached = f"changed only up to {_pixels(distance.max())} away"
        raise AssertionError(
            f"{what}: changing the input at one pixel should change {part} {target} "
            f"({size}x{size} window){_because(why)}, but {part} {reached}."
        )


def _pixels(n: int) -> str:
    return f"{int(n)} pixel{'' if n == 1 else 's'}"


def expect_raises(
    function: Callable[..., Any],
    args: Sequence[Any],
    error: type[BaseException],
    what: str,
    why: str | None = None,
) -> None:
    """Check that ``function(*args)`` raises ``error`` (a ValueError for a crop that does not fit,
    say); ``what`` names the call in the message."""
    try:
        result = function(*args)
    except error:
        return
    except Exception as other:
        raise AssertionError(
            f"{what} should raise {error.__name__}{_because(why)}, but it raised "
            f"{type(other).__name__}: {other}."
        ) from None
    raise AssertionError(
        f"{what} should raise {error.__name__}{_because(why)}, but it returned "
        f"{_summary(result)} without an error."
    )


def _summary(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape):
        return f"an array of shape {tuple(int(d) for d in shape)}"
    return repr(value)


def expect_columns_up_to_sign(
    got: Any, expected: Any, what: str, tol: float = 1e-4, why: str | None = None
) -> None:
    """Check a matrix column by column where each column may come out multiplied by -1 (an
    eigenvector's sign is arbitrary); names the first column that matches neither way."""
    got, expected = _as_array(got), _as_array(expected)
    if got.shape != expected.shape or got.ndim != 2:
        raise AssertionError(
            f"{what} should be a matrix of shape {expected.shape}{_because(why)}, "
            f"but yours has shape {got.shape}."
        )
    for column in range(expected.shape[1]):
        mine, want = got[:, column], expected[:, column]
        if not (np.allclose(mine, want, atol=tol) or np.allclose(mine, -want, atol=tol)):
            shown = np.array2string(mine, precision=4)
            wanted = np.array2string(want, precision=4)
            raise AssertionError(
                f"{what}: column {column} should be {wanted} (or its negative){_because(why)}, "
                f"but yours is {shown}. Check the order of the columns (largest eigenvalue "
                "first) and that each eigenvector is a column, not a row."
            )
