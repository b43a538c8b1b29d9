"""Plain-words checks for the graded exercises.

Every check raises ``AssertionError`` with a message that says what was checked, what was
expected and what came, in words a student can act on, for example::

    conv_output_size(32, 5) should be 28 (32 - 5 + 1), but your function returned 27.

The checks compare behaviour (values, output shapes, parameter counts), never layer class
names or ``layer.output_shape`` (gone in Keras 3), so any correct way of building a model passes.
This module imports neither keras nor nbgrader: models are used through their public methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from casebook import costs

__all__ = [
    "expect_callable",
    "expect_close",
    "expect_equal",
    "expect_output_shape",
    "expect_params",
    "expect_stage_shapes",
    "stage_shapes",
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


def expect_params(model: Any, expected: int, what: str) -> None:
    """Check ``model.count_params()`` (trainable and non-trainable weights together)."""
    got = _count_params(model, what)
    if got != expected:
        diff = got - expected
        more = f"{abs(diff):,} {'more' if diff > 0 else 'fewer'}"
        raise AssertionError(
            f"{what} should have {expected:,} parameters, but your model has {got:,} ({more}). "
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


def stage_shapes(model: Any, what: str | None = None) -> list[tuple[int, ...]]:
    """The feature-map shapes ``(h, w, c)`` a model goes through, consecutive repeats removed.

    The shapes come from ``casebook.costs.feature_map_shapes`` (nested models are looked into).
    Two 'same' convolutions in a row count as one stage: parameter counts tell those apart.
    """
    what = what or getattr(model, "name", "your model")
    input_shape = _input_shape(model, what)
    try:
        shapes = costs.feature_map_shapes(model)
    except Exception as error:  # subclassed models have no symbolic layer outputs
        raise AssertionError(
            f"could not read the layer shapes of {what} ({type(error).__name__}: {error}). "
            "Build it with keras.Sequential or the functional API, starting with keras.Input."
        ) from None
    # A first layer that keeps the input's shape is not a stage (Sequential models have no
    # InputLayer, functional ones do): the same answer either way.
    return shapes[1:] if shapes and shapes[0] == input_shape else shapes


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
