"""numpy values meeting nodes the everyday way: a numpy number or array on the left of an
operator and numpy's functions give a node (not an array of objects with no ``backward``);
arrays that hold no real numbers (complex, text, dates) are refused rather than made real."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize(
    "left",
    [np.float64(2.5), np.float32(2.5), np.int64(2), np.array([2.5, 0.5]), np.array(2.5)],
    ids=["float64", "float32", "int64", "array", "0-d"],
)
def test_numpy_on_the_left_of_an_operator_builds_a_node(left: object) -> None:
    x = cr.var([1.5, 3.0])
    a = np.asarray(left, dtype=np.float64)
    for f, df in (
        (lambda u, v: u * v, lambda u, v: u),
        (lambda u, v: u - v, lambda u, v: -np.ones_like(v)),
        (lambda u, v: u / v, lambda u, v: -u / v**2),
        (lambda u, v: u**v, lambda u, v: u**v * np.log(u)),
    ):
        y = f(left, x)
        assert isinstance(y, cr.Node)
        assert np.allclose(y.value, f(a, np.array([1.5, 3.0])), rtol=1e-6)
        x.grad = None
        y.sum().backward()
        want = np.broadcast_to(df(a, np.array([1.5, 3.0])), (2,))
        assert np.allclose(x.grad, want, rtol=1e-6)


def test_numpy_functions_on_a_node_are_its_ops() -> None:
    x = cr.var([0.5, 2.0])
    y = np.exp(x) + np.tanh(x) + abs(-x)
    assert isinstance(y, cr.Node)
    y.sum().backward()
    v = np.array([0.5, 2.0])
    assert np.allclose(x.grad, np.exp(v) + 1 / np.cosh(v) ** 2 + 1, rtol=1e-14)
    s = np.sqrt(cr.var(4.0))
    assert isinstance(s, cr.Node) and s.value == 2.0


def test_a_numpy_function_chainrule_lacks_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="floor"):
        np.floor(cr.var([1.5, 2.5]))


@pytest.mark.parametrize(
    "value",
    [
        np.array([1 + 1j, 2.0]),
        np.array([1.0, 2.0], dtype=np.complex64),
        np.array(["1", "2"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
    ids=["complex128", "complex64", "text", "dates"],
)
def test_arrays_without_real_numbers_are_refused(value: np.ndarray) -> None:
    with pytest.raises(cr.ValueInputError, match=re.escape(str(value.dtype))):
        cr.var(value)
    with pytest.raises(cr.ValueInputError, match=re.escape(str(value.dtype))):
        cr.var([1.0, 2.0]) * value


def test_integer_and_bool_arrays_still_read_as_floats() -> None:
    x = cr.var(np.array([1, 2, 3], dtype=np.int8))
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert cr.var(np.array([True, False])).value.tolist() == [1.0, 0.0]
    assert math.isclose(float(cr.var(np.float32(0.5)).value), 0.5)


def test_the_repr_of_a_large_node_is_short() -> None:
    """A node of a thousand numbers printed in full hid which node it was."""
    x = cr.var(np.arange(1000.0))
    (x * x).sum().backward()
    text = repr(x)
    assert len(text) < 160, text
    assert "[0, 1, 2, …, 997, 998, 999] (1000, float64)" in text
    assert "grad=[0, 2, 4, …, 1994, 1996, 1998]" in text
    assert repr(cr.var(np.array([1.5, 2.0]))) == "<Node input value=[1.5, 2]>"
