"""Broadcasting is written once (``backends.broadcast_array``, with ``sum_to_shape`` its
transpose) and every backend reads it: floats, exact numbers and the explorer's JavaScript
expressions. numpy's own ``np.broadcast_to`` is the oracle, on random pairs of shapes that
broadcast."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.core.backends import (
    ArrayMath,
    ExactArrayMath,
    ExactMath,
    FloatMath,
    broadcast_array,
    sum_to_shape,
)
from chainrule.explorer.jsmath import JS, JSMath


@st.composite
def shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A shape and a shape it broadcasts to (numpy's rules: leading axes added, 1s stretched)."""
    target = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    keep = draw(st.integers(0, len(target)))
    small = tuple(1 if draw(st.booleans()) else n for n in target[len(target) - keep :])
    return small, target


def _filled(shape: tuple[int, ...], rng: Any) -> Any:
    return rng.normal(size=shape) if shape else float(rng.normal())


@settings(max_examples=200, deadline=None)
@given(shapes(), st.integers(0, 2**32 - 1))
def test_every_backend_broadcasts_as_numpy(pair: Any, seed: int) -> None:
    small, target = pair
    rng = np.random.default_rng(seed)
    a = _filled(small, rng)
    want = np.broadcast_to(np.asarray(a), target)
    for M in (FloatMath, ArrayMath):
        got = M.broadcast_to(a, target)
        if not target:
            assert got is a
            continue
        assert got.shape == target and got.dtype == np.float64
        assert got.flags.writeable  # a new array, not numpy's read-only view
        np.testing.assert_array_equal(got, want)
    # exact numbers: the same positions, as Fractions in an object array
    exact = np.vectorize(Fraction, otypes=[object])(np.asarray(a)) if small else Fraction(a)
    for M in (ExactMath, ExactArrayMath):
        got = M.broadcast_to(exact, target)
        if target:
            assert got.dtype == object
            np.testing.assert_array_equal(got.astype(float), want)
    # JavaScript expressions: each element names the input element numpy puts there
    names = np.empty(small, dtype=object)
    for idx in np.ndindex(small):
        names[idx] = JS(f"a{list(idx)}")
    expr = names if small else JS("a[]")
    got = JSMath.broadcast_to(expr, target)
    if not target:
        assert got is expr
        return
    oracle = np.broadcast_to(np.asarray(expr, dtype=object), target)
    for idx in np.ndindex(target):
        assert got[idx].code == oracle[idx].code


@settings(max_examples=100, deadline=None)
@given(shapes(), st.integers(0, 2**32 - 1))
def test_summing_back_is_the_transpose_of_broadcasting(pair: Any, seed: int) -> None:
    """⟨broadcast(a), g⟩ = ⟨a, sum_to(g)⟩: what the backward of a broadcast must be."""
    small, target = pair
    rng = np.random.default_rng(seed)
    a = _filled(small, rng)
    g = _filled(target, rng)
    left = float(np.sum(broadcast_array(a, target) * g))
    right = float(np.sum(np.asarray(a) * sum_to_shape(g, small)))
    assert np.isclose(left, right, rtol=1e-12, atol=1e-12)


def test_the_dtype_follows_the_input() -> None:
    a = np.ones((1, 3), dtype=np.float32)
    assert broadcast_array(a, (2, 3)).dtype == np.float32
    assert broadcast_array(2.0, (2,)).dtype == np.float64
    assert broadcast_array(a, (2, 3), object).dtype == object
