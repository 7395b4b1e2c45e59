"""Each op's declared domain (``Op.domain``, printed in the op reference) against what the op
does. For the functions of numbers the domain is intervals, one union per input: points just
inside every finite end (and well inside) must give a value and, where the derivative is
declared to exist, finite partials, in floats and in exact numbers; points just outside must
raise chainrule's DomainError, for the value or (sqrt at 0) for the derivative alone. Every op
of the table must state its domain, so a new op cannot leave the reference without one."""

from __future__ import annotations

import importlib.util
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.errors import DomainError, ShapeError, ValueInputError
from chainrule.core.node import apply
from chainrule.core.values import EXACT, FLOAT
from chainrule.ops import OPS
from chainrule.ops.table import (
    NONNEGATIVE,
    NONZERO,
    POSITIVE,
    REALS,
    UNIT_OPEN,
    Interval,
    Union,
    real_domain,
    union_text,
)

ROOT = Path(__file__).resolve().parent.parent
EPS = Fraction(1, 10**9)

# Ops of numbers whose domain is no product of intervals, said in words and checked below.
TEXT_ONLY = {"pow"}


def _in(union: Union, x: Any) -> bool:
    return any(x in iv for iv in union)


def _well_inside(union: Union) -> Fraction:
    """A point far from every end of the first interval (where the other inputs sit)."""
    iv = union[0]
    if iv.low is not None and iv.high is not None:
        return (iv.low + iv.high) / 2
    if iv.low is not None:
        return iv.low + 1
    if iv.high is not None:
        return iv.high - 1
    return Fraction(1, 2)


def _probes(union: Union) -> list[Fraction]:
    """Each finite end and a hair either side of it, a point well inside, and the points where
    functions of numbers usually stop (0, ±1 and their neighbours), so a domain declared too
    wide is caught as surely as one too narrow."""
    points = {_well_inside(union), Fraction(-3, 2), Fraction(7, 3)}
    for usual in (Fraction(0), Fraction(1), Fraction(-1)):
        points |= {usual, usual - EPS, usual + EPS}
    for iv in union:
        for end in (iv.low, iv.high):
            if end is not None:
                points |= {end, end - EPS, end + EPS}
    return sorted(points)


def _numeric_ops() -> list[Any]:
    return [op for op in OPS.values() if op.domain is not None and op.domain.inputs is not None]


def _cases() -> list[Any]:
    out = []
    for op in _numeric_ops():
        for i, union in enumerate(op.domain.inputs):
            for point in _probes(union):
                for exact in (False, True):
                    kind = "exact" if exact else "float"
                    out.append(
                        pytest.param(op.name, i, point, exact, id=f"{op.name}-x{i}={point}-{kind}")
                    )
    return out


def _array_cases() -> list[Any]:
    return [
        pytest.param(op.name, i, point, id=f"{op.name}-x{i}={point}")
        for op in _numeric_ops()
        if op.elementwise
        for i, union in enumerate(op.domain.inputs)
        for point in _probes(union)
    ]


def _finite(v: Any) -> bool:
    return math.isfinite(float(v))


def _var(v: Fraction, exact: bool) -> Any:
    return cr.var(v, exact=True) if exact else cr.var(float(v))


@pytest.mark.parametrize(("name", "i", "point", "exact"), _cases())
def test_points_either_side_of_each_end(name: str, i: int, point: Fraction, exact: bool) -> None:
    op = OPS[name]
    domain = op.domain
    assert domain is not None and domain.inputs is not None
    partial = domain.partial_inputs
    assert partial is not None
    at = [_well_inside(u) for u in partial]  # the other inputs, inside both domains
    at[i] = point
    xs = [_var(v, exact) for v in at]
    if exact and EXACT not in op.forward:  # said in its domain, and refused clearly
        assert "no exact form" in domain.text, name
        with pytest.raises(DomainError, match="not defined for exact values"):
            apply(op, tuple(xs), None)
        return
    if not _in(domain.inputs[i], point):
        with pytest.raises(DomainError):
            apply(op, tuple(xs), None)
        return
    y = apply(op, tuple(xs), None)
    assert _finite(y.value), (name, at, y.value)
    if not _in(partial[i], point):
        with pytest.raises(DomainError):
            y.backward()
        return
    y.backward()
    for x in xs:
        if op.differentiable:
            assert x.grad is not None and _finite(x.grad), (name, at, x.grad)


@pytest.mark.parametrize(("name", "i", "point"), _array_cases())
def test_arrays_follow_the_same_ends(name: str, i: int, point: Fraction) -> None:
    """Elementwise on float arrays, as numpy computes: an element outside the domain gives an
    error or a value that is not finite (NaN, ±∞, which ``eval`` traces to where it began); an
    element inside gives a finite value and finite partials where the derivative exists."""
    op = OPS[name]
    domain = op.domain
    partial = domain.partial_inputs
    at = [float(_well_inside(u)) for u in partial]
    at[i] = float(point)
    xs = [cr.var(np.array([v, v])) for v in at]
    with np.errstate(all="ignore"):
        if not _in(domain.inputs[i], point):
            try:
                y = apply(op, tuple(xs), None)
            except DomainError:
                return
            assert not np.all(np.isfinite(y.value)), (name, at, y.value)
            return
        y = apply(op, tuple(xs), None)
        assert np.all(np.isfinite(y.value)), (name, at, y.value)
        if _in(partial[i], point) and op.differentiable:
            cr.functions.sum(y).backward() if np.ndim(y.value) else y.backward()
            for x in xs:
                assert np.all(np.isfinite(x.grad)), (name, at, x.grad)


@pytest.mark.parametrize(
    ("name", "inputs", "params", "error"),
    [
        ("matmul", [np.ones((2, 3)), np.ones((2, 3))], None, ShapeError),
        ("dot", [np.ones(3), np.ones(2)], None, ShapeError),
        ("one_hot", [np.array([0.0, 2.0])], {"classes": 2}, ValueInputError),
        ("one_hot", [np.array([0.5])], {"classes": 2}, ValueInputError),
        ("embedding", [np.ones((3, 2)), np.array([3.0])], None, ValueInputError),
        ("dropout", [np.ones(3), np.ones(3)], {"p": 1.0}, ValueInputError),
        ("reduce_max", [np.ones((0,))], None, ShapeError),
        ("reshape", [np.ones(6)], {"shape": (4,)}, ShapeError),
        ("concat", [np.ones((2, 3)), np.ones((2, 2))], {"axis": 0}, ShapeError),
        ("stack", [np.ones(3), np.ones(2)], None, ShapeError),
        ("broadcast_to", [np.ones(3)], {"shape": (2, 4)}, ShapeError),
        ("sum_to", [np.ones((2, 3))], {"shape": (4,)}, ShapeError),
        ("permute", [np.ones((2, 3))], {"axes": (0,)}, ShapeError),
        ("index", [np.ones(3)], {"index": 5}, ShapeError),
        ("softmax_cross_entropy", [np.ones((2, 3)), np.array([0.0, 3.0])], None, ValueInputError),
        ("max_pool2d", [np.ones((1, 1, 1, 1))], None, ShapeError),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_an_array_outside_the_words_is_refused_clearly(
    name: str, inputs: list[Any], params: Any, error: type
) -> None:
    """The domains in words (shapes, labels, probabilities): one input just outside each,
    refused with the error the words lead one to expect, never an answer."""
    with pytest.raises(error):
        apply(OPS[name], tuple(cr.var(v) for v in inputs), params)


@pytest.mark.parametrize("op", _numeric_ops(), ids=lambda op: op.name)
def test_the_next_float_past_an_end(op: Any) -> None:
    """In floats, the neighbouring float of each end (not only a hair away) is on the side the
    domain says: log of the smallest positive float is a number, sqrt of −5e-324 an error."""
    domain = op.domain
    at = [float(_well_inside(u)) for u in domain.partial_inputs]
    for i, union in enumerate(domain.inputs):
        for iv in union:
            for end in (iv.low, iv.high):
                if end is None:
                    continue
                for toward in (-math.inf, math.inf):
                    point = math.nextafter(float(end), toward)
                    xs = [cr.var(v) for v in at[:i] + [point] + at[i + 1 :]]
                    if _in(union, Fraction(point)):
                        apply(op, tuple(xs), None)  # a value (1 / 5e-324 overflows to ∞)
                    else:
                        with pytest.raises(DomainError):
                            apply(op, tuple(xs), None)


def test_every_op_states_its_domain() -> None:
    for op in OPS.values():
        assert op.domain is not None and op.domain.text.strip(), op.name


def test_every_function_of_numbers_declares_intervals() -> None:
    """Elementwise ops that take plain numbers give intervals (or are listed as words-only),
    one union per input, each union sorted and without overlaps."""
    for op in OPS.values():
        takes_numbers = FLOAT in op.forward and op.elementwise and op.arity >= 1
        if not takes_numbers or op.name in TEXT_ONLY or op.family not in ("scalar", "tensor"):
            continue
        assert op.domain is not None and op.domain.inputs is not None, op.name
    for op in _numeric_ops():
        assert len(op.domain.inputs) == op.arity, op.name
        if op.domain.derivative is not None:
            assert len(op.domain.derivative) == op.arity, op.name
        for union in op.domain.inputs:
            for a, b in zip(union, union[1:], strict=False):
                assert a.high is not None and b.low is not None and a.high <= b.low, op.name


def test_intervals_read_as_people_write_them() -> None:
    assert union_text(POSITIVE, "x") == "x > 0"
    assert union_text(NONNEGATIVE, "x") == "x ≥ 0"
    assert union_text(NONZERO, "y") == "y ≠ 0"
    assert union_text(UNIT_OPEN, "x") == "0 < x < 1"
    closed = (Interval(Fraction(-1), Fraction(1), True, True),)
    assert union_text(closed, "x") == "−1 ≤ x ≤ 1"
    assert union_text(REALS, "x") == "any x"
    assert real_domain(NONNEGATIVE, derivative=(POSITIVE,)).text == (
        "x ≥ 0; its derivative needs x > 0"
    )
    assert OPS["log"].domain.text == "x > 0"
    assert OPS["div"].domain.text == "y ≠ 0"
    assert OPS["sin"].domain.text == "any real x"
    assert 0 not in POSITIVE[0] and 0 in NONNEGATIVE[0] and 1 not in UNIT_OPEN[0]
    assert 0 not in NONZERO[0] and 0 not in NONZERO[1] and EPS in NONZERO[1]


def _pow(a: Any, b: Any, exact: bool = False, b_const: bool = False) -> Any:
    x = cr.var(a, exact=exact)
    y = cr.const(b, exact=exact) if b_const else cr.var(b, exact=exact)
    return x, y, apply(OPS["pow"], (x, y), None)


@pytest.mark.parametrize("exact", [False, True])
def test_pow_where_its_words_say(exact: bool) -> None:
    """pow's domain is no product of intervals; each clause of its text, checked."""

    def n(v: Any) -> Any:
        return Fraction(v) if exact else float(v)

    # x > 0 with any y: value and both partials
    for a, b in ((Fraction(1, 3), Fraction(-5, 2)), (Fraction(2), Fraction(1, 2))):
        x, y, z = _pow(n(a), n(b), exact)
        z.backward()
        assert _finite(z.value) and _finite(x.grad) and _finite(y.grad)
    # x = 0 with y ≥ 0 (0⁰ = 1), and never y < 0
    assert float(_pow(n(0), n(0), exact)[2].value) == 1.0
    assert float(_pow(n(0), n(Fraction(1, 2)), exact)[2].value) == 0.0
    with pytest.raises(DomainError):
        _pow(n(0), n(-1), exact)
    # x < 0 with a whole y only
    assert float(_pow(n(-2), n(3), exact)[2].value) == -8.0
    with pytest.raises(DomainError):
        _pow(n(-8), n(Fraction(1, 3)), exact)
    # the derivative in y needs x > 0
    for a in (0, -2):
        with pytest.raises(DomainError):
            _pow(n(a), n(2), exact)[2].backward()
    # with y a constant only the one in x is taken: at x = 0 it needs y = 0 or y ≥ 1
    for b in (0, 1, 2):
        x, _, z = _pow(n(0), n(b), exact, b_const=True)
        z.backward()
        assert _finite(x.grad)
    with pytest.raises(DomainError):
        _pow(n(0), n(Fraction(1, 2)), exact, b_const=True)[2].backward()


def _hooks() -> Any:
    spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "docs" / "site" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_op_reference_prints_each_domain() -> None:
    hooks = _hooks()
    page = hooks.op_reference()
    for op in OPS.values():
        if op.in_programs:
            assert f"Domain: {hooks._escape_md(op.domain.text)}." in page, op.name
    assert "Domain: x &gt; 0." in page  # log, as the page shows it
