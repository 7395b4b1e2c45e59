"""The op table: every primitive declared once.

Each entry gives the forward computation for each kind of number, its derivative rules written
against one maths backend protocol (``backends.Backend``), its declared parameters and the
notation people read. A rule is either a local partial ``(M, x, y, p)`` — elementwise ops, and
ops whose local derivative has a readable form (dot: ∂(w·x)/∂w = x) — or a vector–Jacobian
product ``(M, g, x, y, p)``: the contribution ``g · ∂y/∂xᵢ`` computed directly, for ops that mix
elements. Because rules only speak to ``M``, one rule serves every purpose: numbers with the
numeric backends, the gradient as a graph (and so every higher derivative) with ``NodeMath``,
the formula in a worked solution, and sympy's expressions in the tests.

Ops are immutable once registered: a cache keyed on an op can never go stale.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.backends import (
    ArrayMath,
    ExactArrayMath,
    ExactMath,
    FloatMath,
    check_exact,
    exact_fn,
    exact_softplus,
    softplus_array,
    softplus_float,
    ufunc,
)
from ..core.errors import DomainError
from ..core.lazy import function as lazy_function
from ..core.values import ARRAY, EXACT, EXACT_ARRAY, FLOAT, sign_of
from .table import MATH, Notation, Op, fn, infix, register

# ------------------------------------------------------------------ helpers for the table


def _exact_arith(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def f(a: Any, b: Any) -> Any:
        return check_exact(fn(a, b), "the result")

    return f


def _same(fn: Callable[..., Any]) -> dict[int, Callable[..., Any]]:
    """One forward for every kind (Python operators work on floats, Fractions and arrays)."""
    return {FLOAT: fn, ARRAY: fn, EXACT: _exact_arith(fn), EXACT_ARRAY: fn}


def _unary(name: str) -> dict[int, Callable[..., Any]]:
    return {
        FLOAT: getattr(FloatMath, name),
        ARRAY: getattr(ArrayMath, name),
        EXACT: getattr(ExactMath, name),
        EXACT_ARRAY: getattr(ExactArrayMath, name),
    }


# ------------------------------------------------------------------ leaves

register(
    Op(
        "input",
        0,
        {},
        Notation("atom", "", "", 100, ""),
        doc="A leaf: a value given by the user, differentiable.",
        in_programs=False,
    )
)
register(
    Op(
        "const",
        0,
        {},
        Notation("atom", "", "", 100, ""),
        differentiable=False,
        doc="A constant written inside an expression: not differentiated.",
        in_programs=False,
    )
)

# ------------------------------------------------------------------ arithmetic

register(
    Op(
        "add",
        2,
        _same(operator.add),
        infix(" + ", "{} + {}", 60),
        partials=(lambda M, x, y, p: 1, lambda M, x, y, p: 1),
        doc="a + b",
    )
)
register(
    Op(
        "sub",
        2,
        _same(operator.sub),
        Notation("infix", " − ", "{} - {}", 60, "−", grouping_right=True),
        partials=(lambda M, x, y, p: 1, lambda M, x, y, p: -1),
        doc="a − b",
    )
)
register(
    Op(
        "mul",
        2,
        _same(operator.mul),
        Notation("infix", " · ", "{} \\cdot {}", 70, "·", juxtapose=True),
        partials=(lambda M, x, y, p: x[1], lambda M, x, y, p: x[0]),
        doc="a · b",
    )
)
register(
    Op(
        "div",
        2,
        _same(operator.truediv),
        Notation("infix", " / ", "\\frac{{{}}}{{{}}}", 70, "/", grouping_right=True, fraction=True),
        partials=(lambda M, x, y, p: 1 / x[1], lambda M, x, y, p: -x[0] / x[1] ** 2),
        doc="a / b",
    )
)
register(
    Op(
        "neg",
        1,
        _same(operator.neg) | {EXACT: operator.neg},
        Notation("prefix", "−", "-", 80, "−"),
        partials=(lambda M, x, y, p: -1,),
        doc="−a",
    )
)


def _pow_float(a: float, b: float) -> float:
    r = a**b
    if isinstance(r, complex):
        raise DomainError(f"{a} raised to the power {b} is not a real number")
    return float(r)


register(
    Op(
        "pow",
        2,
        {
            FLOAT: _pow_float,
            ARRAY: np.power,
            EXACT: ExactMath.power,
            EXACT_ARRAY: ExactArrayMath.power,
        },
        Notation("power", "^", "{}^{{{}}}", 90, "^"),
        partials=(
            lambda M, x, y, p: x[1] * M.power(x[0], M.exponent_less_one(x[1])),
            lambda M, x, y, p: y * M.log(x[0]),
        ),
        doc="a to the power b (b may be a variable)",
        aliases=("power",),
    )
)

# ------------------------------------------------------------------ elementwise functions

register(Op("exp", 1, _unary("exp"), fn("exp", "\\exp"), partials=(lambda M, x, y, p: y,)))
register(
    Op(
        "log",
        1,
        _unary("log"),
        fn("log", "\\log"),
        partials=(lambda M, x, y, p: 1 / x[0],),
        aliases=("ln",),
    )
)
register(
    Op(
        "sqrt",
        1,
        _unary("sqrt"),
        Notation("function", "√", "\\sqrt", 100, "√"),
        partials=(lambda M, x, y, p: 1 / (2 * y),),
    )
)
register(
    Op("sin", 1, _unary("sin"), fn("sin", "\\sin"), partials=(lambda M, x, y, p: M.cos(x[0]),))
)
register(
    Op("cos", 1, _unary("cos"), fn("cos", "\\cos"), partials=(lambda M, x, y, p: -M.sin(x[0]),))
)
register(
    Op(
        "atan",
        1,
        {
            FLOAT: math.atan,
            ARRAY: np.arctan,
            EXACT: exact_fn(lazy_function("atan"), "atan"),
            EXACT_ARRAY: ufunc(exact_fn(lazy_function("atan"), "atan")),
        },
        fn("atan", "\\arctan"),
        partials=(lambda M, x, y, p: 1 / (1 + x[0] ** 2),),
        doc="the angle whose tangent is a",
    )
)
register(
    Op(
        "tanh",
        1,
        _unary("tanh"),
        fn("tanh", "\\tanh"),
        partials=(lambda M, x, y, p: 1 - y**2,),
    )
)
register(
    Op(
        "sigmoid",
        1,
        _unary("sigmoid"),
        fn("σ", "\\sigma"),
        partials=(lambda M, x, y, p: y * (1 - y),),
        aliases=("σ",),
    )
)
register(
    Op(
        "step",
        1,
        _unary("step"),
        fn("step", "\\operatorname{step}"),
        partials=(lambda M, x, y, p: 0,),
        differentiable=False,
        doc="1 where a > 0, else 0 (the derivative of relu)",
    )
)
register(
    Op(
        "sign",
        1,
        _unary("sign"),
        fn("sign", "\\operatorname{sign}"),
        partials=(lambda M, x, y, p: 0,),
        differentiable=False,
    )
)
register(
    Op(
        "ge",
        2,
        _unary("ge"),
        fn("ge", "\\mathbb{1}"),
        partials=(lambda M, x, y, p: 0, lambda M, x, y, p: 0),
        differentiable=False,
        doc="1 where a ≥ b, else 0",
    )
)


def _relu(kind: int) -> Callable[[Any], Any]:
    step = MATH[kind].step
    return lambda a: a * step(a)


register(
    Op(
        "relu",
        1,
        {
            FLOAT: lambda a: a if a > 0 else 0.0,
            ARRAY: lambda a: np.maximum(a, 0),
            EXACT: lambda a: a if sign_of(a) > 0 else Fraction(0),
            EXACT_ARRAY: _relu(EXACT_ARRAY),
        },
        fn("relu", "\\operatorname{relu}"),
        partials=(lambda M, x, y, p: M.step(x[0]),),
    )
)
register(
    Op(
        "abs",
        1,
        {FLOAT: abs, ARRAY: np.abs, EXACT: abs, EXACT_ARRAY: np.abs},
        Notation("function", "|{}|", "\\left|{}\\right|", 100, "|·|"),
        partials=(lambda M, x, y, p: M.sign(x[0]),),
    )
)
register(
    Op(
        "softplus",
        1,
        {
            FLOAT: softplus_float,
            ARRAY: softplus_array,
            EXACT: exact_fn(exact_softplus, "softplus"),
            EXACT_ARRAY: ufunc(exact_fn(exact_softplus, "softplus")),
        },
        fn("softplus", "\\operatorname{softplus}"),
        partials=(lambda M, x, y, p: M.sigmoid(x[0]),),
    )
)


def _max2(kind: int) -> Callable[[Any, Any], Any]:
    if kind in (ARRAY,):
        return np.maximum
    if kind == EXACT_ARRAY:
        return ufunc(lambda a, b: a if a >= b else b, 2)
    return lambda a, b: a if a >= b else b


def _min2(kind: int) -> Callable[[Any, Any], Any]:
    if kind in (ARRAY,):
        return np.minimum
    if kind == EXACT_ARRAY:
        return ufunc(lambda a, b: a if a <= b else b, 2)
    return lambda a, b: a if a <= b else b


register(
    Op(
        "maximum",
        2,
        {k: _max2(k) for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("max", "\\max"),
        partials=(lambda M, x, y, p: M.ge(x[0], x[1]), lambda M, x, y, p: 1 - M.ge(x[0], x[1])),
        doc="the larger of a and b (a tie sends the gradient to a)",
        aliases=("max",),
    )
)
register(
    Op(
        "minimum",
        2,
        {k: _min2(k) for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("min", "\\min"),
        partials=(lambda M, x, y, p: M.ge(x[1], x[0]), lambda M, x, y, p: 1 - M.ge(x[1], x[0])),
        doc="the smaller of a and b (a tie sends the gradient to a)",
        aliases=("min",),
    )
)
