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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy

from .backends import (
    ArrayMath,
    Backend,
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
from .errors import DomainError, ShapeError, ValueInputError
from .limits import check_elements
from .values import ARRAY, EXACT, EXACT_ARRAY, FLOAT, sign_of, to_sympy

Partial = Callable[[Backend, Any, Any, Any], Any]
Vjp = Callable[[Backend, Any, Any, Any, Any], Any]
Rule = Callable[..., Any]


@dataclass(frozen=True)
class Notation:
    """How people write an op: ``style`` is infix, prefix, function, power or atom."""

    style: str
    text: str
    latex: str
    precedence: int = 100
    symbol: str = ""  # the short label drawn inside an operation box
    # Infix details: the right operand needs brackets at equal precedence (a − (b − c));
    # a product may be written by juxtaposition (2x, σ(z)(1 − σ(z))); LaTeX writes a fraction.
    grouping_right: bool = False
    juxtapose: bool = False
    fraction: bool = False
    latex_vectors: str = ""  # LaTeX when every input is a vector (wᵀx for a product of two)


# ------------------------------------------------------------------ declared parameters


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError("a whole number")
    return int(v)


def as_axis(v: Any) -> int:
    return _int(v)


def as_axes(v: Any) -> int | tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return tuple(_int(a) for a in v)
    return _int(v)


def as_shape(v: Any) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)):
        raise TypeError("a shape, as in (2, 3)")
    return tuple(_int(s) for s in v)


def as_perm(v: Any) -> tuple[int, ...] | None:
    return None if v is None else as_shape(v)


def as_bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError("True or False")
    return v


def as_number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, Fraction, np.integer, np.floating)):
        raise TypeError("a number")
    return float(v)


def as_index(v: Any) -> Any:
    return v


@dataclass(frozen=True)
class Param:
    """A declared parameter: its name, default, and the check that reads a given value."""

    name: str
    default: Any
    read: Callable[[Any], Any] = as_index
    doc: str = ""


_EXPECT: dict[Callable[[Any], Any], str] = {
    as_axis: "a whole number",
    as_axes: "None, a whole number or a tuple of them",
    as_shape: "a shape, as in (2, 3)",
    as_perm: "None or an order of axes, as in (1, 0)",
    as_bool: "True or False",
    as_number: "a number",
}


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive. Frozen: registering is the only way to put an op in the table."""

    name: str
    arity: int  # -1: any number of inputs
    forward: Mapping[int, Callable[..., Any]]
    notation: Notation
    partials: tuple[Partial, ...] | None = None
    vjps: Any = None  # tuple of Vjp, or PerInput for ops with any number of inputs
    elementwise: bool = True
    differentiable: bool = True
    doc: str = ""
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    in_programs: bool = True  # callable by its name (and aliases) from program text
    # the name written for one node, from its parameters (an opaque op's PyTorch name)
    written: Callable[[Mapping[str, Any] | None], str] | None = None
    # What PyTorch calls saving tensors for backward: a forward, per kind of number, that also
    # returns what the vjps would otherwise recompute (a fused loss's gradient direction).
    # ``apply`` keeps it on the node, and the numeric reverse sweep hands it to
    # ``kept_vjps[i](M, g, kept, x, y, p)`` while the node still holds the value it came with;
    # everywhere else (gradient graphs, exact numbers, a recomputed value) ``vjps`` serve.
    keeping: Mapping[int, Callable[..., tuple[Any, Any]]] | None = None
    kept_vjps: tuple[Any, ...] | None = None
    defaults: Mapping[str, Any] = field(init=False, repr=False)
    # the partials when the reverse sweep may take its lean loop for this op's number nodes
    # (an elementwise op with partials: its inputs are then numbers and the chain rule on an
    # edge is g · partial); None otherwise. Derived, so it never disagrees with the rules.
    lean_partials: tuple[Partial, ...] | None = field(init=False, repr=False)
    # its one partial, for a one-input op that takes the lean loop (the sweep down a chain of
    # such nodes reads it); None otherwise
    lean_unary: Partial | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lean = self.partials if self.vjps is None and self.elementwise else None
        object.__setattr__(self, "lean_partials", lean)
        object.__setattr__(self, "lean_unary", lean[0] if lean and self.arity == 1 else None)
        object.__setattr__(self, "forward", MappingProxyType(dict(self.forward)))
        if (self.keeping is None) != (self.kept_vjps is None):
            raise ValueError(f"{self.name}: keeping and kept_vjps come together")
        if self.keeping is not None:
            if self.vjps is None or len(self.kept_vjps or ()) != self.arity:
                raise ValueError(f"{self.name}: kept_vjps need vjps, one per input")
            object.__setattr__(self, "keeping", MappingProxyType(dict(self.keeping)))
        object.__setattr__(
            self, "defaults", MappingProxyType({q.name: q.default for q in self.params})
        )

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    @property
    def label(self) -> str:
        return self.notation.symbol or self.notation.text

    def label_for(self, params: Mapping[str, Any] | None) -> str:
        """The label of one node of this op (its own name for an op that names each node)."""
        return self.written(params) if self.written is not None else self.label

    def bind(self, given: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The op's parameters with defaults filled in; a clear error for an unknown name or a
        value of the wrong type."""
        if not self.params:
            if given:
                raise ValueInputError(f"{self.name} takes no parameters (given {', '.join(given)})")
            return None
        out = dict(self.defaults)
        if given:
            for key, value in given.items():
                if key not in out:
                    known = ", ".join(q.name for q in self.params)
                    raise ValueInputError(
                        f"{self.name} has no parameter {key!r} (its parameters: {known})"
                    )
                out[key] = value
            for q in self.params:
                try:
                    out[q.name] = q.read(out[q.name])
                except (TypeError, ValueError) as exc:
                    want = _EXPECT.get(q.read, str(exc))
                    raise ValueInputError(
                        f"{self.name}: parameter {q.name} must be {want}, got {out[q.name]!r}"
                    ) from None
        return out


class PerInput(tuple):  # type: ignore[type-arg]
    """The vjps of an op that takes any number of inputs: ``rules[i]`` is the rule of input i."""

    def __new__(cls, rule: Callable[..., Any]) -> PerInput:
        return super().__new__(cls, (rule,))

    def __getitem__(self, i: Any) -> Any:  # type: ignore[override]
        rule = tuple.__getitem__(self, 0)
        if isinstance(i, slice):
            raise TypeError("the rules of a variadic op cannot be sliced")

        def bound(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
            return rule(i, M, g, x, y, p)

        return bound


class _Table(Mapping[str, Op]):
    """The op table, read-only: ``register`` is the one way in."""

    def __init__(self) -> None:
        self._ops: dict[str, Op] = {}

    def __getitem__(self, name: str) -> Op:
        return self._ops[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ops)

    def __len__(self) -> int:
        return len(self._ops)


OPS = _Table()
_ALIASES: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add an op to the table. A name (or alias) already taken is refused: ops never change."""
    for name in (op.name, *op.aliases):
        if name in OPS._ops or name in _ALIASES:
            raise ValueError(f"an op named {name!r} is already registered")
    OPS._ops[op.name] = op
    for alias in op.aliases:
        _ALIASES[alias] = op
    return op


def lookup(name: str) -> Op | None:
    """The op a function name stands for (aliases included)."""
    op = OPS._ops.get(name)
    return op if op is not None else _ALIASES.get(name)


def program_functions() -> dict[str, Op]:
    """Every name program text may call, from the table (ops flagged ``in_programs``)."""
    out: dict[str, Op] = {}
    for op in OPS.values():
        if op.in_programs:
            out[op.name] = op
            for alias in op.aliases:
                out[alias] = op
    return out


MATH: dict[int, Any] = {
    FLOAT: FloatMath,
    ARRAY: ArrayMath,
    EXACT: ExactMath,
    EXACT_ARRAY: ExactArrayMath,
}

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


def fn(name: str, latex: str, symbol: str | None = None) -> Notation:
    return Notation("function", name, latex, 100, symbol or name)


def infix(text: str, latex: str, precedence: int) -> Notation:
    return Notation("infix", text, latex, precedence, text.strip())


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
            EXACT: exact_fn(sympy.atan, "atan"),
            EXACT_ARRAY: ufunc(exact_fn(sympy.atan, "atan")),
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

# ------------------------------------------------------------------ reductions and linear algebra


def norm_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints (``None`` means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ShapeError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(set(out)))


def settle(r: Any) -> Any:
    """A result as the engine stores it: arrays with axes stay arrays, 0-d become scalars."""
    if isinstance(r, np.ndarray):
        if r.ndim:
            return r
        return r.item() if r.dtype == object else float(r)
    if isinstance(r, (np.floating, np.integer)):
        return float(r)
    return r


def expand(M: Backend, g: Any, axes: tuple[int, ...], keepdims: bool, shape: Any) -> Any:
    """A reduced gradient broadcast back to the shape it was reduced from."""
    if not keepdims and axes:
        kept = list(M.shape(g))
        for a in axes:
            kept.insert(a, 1)
        g = M.reshape(g, tuple(kept))
    return M.broadcast_to(g, tuple(shape))


def _reduction(np_fn: Callable[..., Any]) -> Callable[..., Any]:
    def f(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        return settle(np_fn(a, axis=norm_axes(axis, a.ndim), keepdims=keepdims))

    return f


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _exact_mean(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if not isinstance(a, np.ndarray):
        return a
    axes = norm_axes(axis, a.ndim)
    return settle(np.sum(a, axis=axes, keepdims=keepdims) / _count(a.shape, axes))


_REDUCE_PARAMS = (
    Param("axis", None, as_axes, "the axes to reduce (every axis when None)"),
    Param("keepdims", False, as_bool, "keep reduced axes with length 1"),
)


def _sum_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = M.shape(x[0])
    return expand(M, g, norm_axes(p["axis"], len(s)), p["keepdims"], s)


def _mean_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = M.shape(x[0])
    axes = norm_axes(p["axis"], len(s))
    return expand(M, g / _count(s, axes), axes, p["keepdims"], s)


def _whole(rule: Partial) -> Partial:
    """A readable local partial for a reduction over every axis (none over some axes)."""

    def partial(M: Backend, x: Any, y: Any, p: Any) -> Any:
        return rule(M, x, y, p) if p is None or p["axis"] is None else None

    return partial


_sum = _reduction(np.sum)
register(
    Op(
        "sum",
        1,
        {k: _sum for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("sum", "\\sum"),
        partials=(_whole(lambda M, x, y, p: M.ones_like(x[0])),),
        vjps=(_sum_vjp,),
        elementwise=False,
        params=_REDUCE_PARAMS,
        doc="the sum of the elements (over the given axes; every axis by default)",
    )
)
_mean = _reduction(np.mean)
register(
    Op(
        "mean",
        1,
        {FLOAT: _mean, ARRAY: _mean, EXACT: _exact_mean, EXACT_ARRAY: _exact_mean},
        fn("mean", "\\operatorname{mean}"),
        partials=(_whole(lambda M, x, y, p: M.ones_like(x[0]) / M.size(x[0])),),
        vjps=(_mean_vjp,),
        elementwise=False,
        params=_REDUCE_PARAMS,
        doc="the mean of the elements (over the given axes; every axis by default)",
    )
)


def _dot(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.ndim != 1 or b.ndim != 1:
            raise ShapeError(f"dot needs two vectors, got shapes {a.shape} and {b.shape}")
        if a.shape != b.shape:
            raise ShapeError(f"dot needs vectors of one length, got {a.shape[0]} and {b.shape[0]}")
        return settle(np.dot(a, b))
    return a * b


register(
    Op(
        "dot",
        2,
        {k: _dot for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("dot", "\\operatorname{dot}"),
        partials=(lambda M, x, y, p: x[1], lambda M, x, y, p: x[0]),
        vjps=(lambda M, g, x, y, p: g * x[1], lambda M, g, x, y, p: g * x[0]),
        elementwise=False,
        doc="wᵀx: the inner product of two vectors",
    )
)


def _matmul(a: Any, b: Any) -> Any:
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or 0 in (a.ndim, b.ndim):
        raise ShapeError("@ needs two arrays (vectors or matrices)")
    try:
        return settle(np.matmul(a, b))
    except ValueError as exc:
        raise ShapeError(f"@ cannot multiply shapes {a.shape} and {b.shape}") from exc


def _matmul_partial(i: int) -> Partial:
    """wᵀx: ∂(w @ x)/∂w = x and ∂(w @ x)/∂x = w; matrices have no readable local partial."""

    def rule(M: Backend, x: Any, y: Any, p: Any) -> Any:
        if M.ndim(x[0]) == 1 and M.ndim(x[1]) == 1:
            return x[1 - i]
        return None

    return rule


def swap_last(M: Backend, a: Any) -> Any:
    """The matrix transpose of (a stack of) matrices: the last two axes swapped."""
    n = M.ndim(a)
    return M.permute(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _matmul_vjp(which: int) -> Vjp:
    """Promote vectors as numpy does, multiply by the other factor, sum broadcast batch axes."""

    def rule(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
        a, b = x
        sa, sb = M.shape(a), M.shape(b)
        if len(sa) == 1 and len(sb) == 1:
            return g * (b if which == 0 else a)
        a2 = a if len(sa) > 1 else M.reshape(a, (1,) + sa)
        b2 = b if len(sb) > 1 else M.reshape(b, sb + (1,))
        sg = M.shape(g)
        if len(sa) == 1:
            sg = sg[:-1] + (1,) + sg[-1:] if len(sb) > 1 else sg + (1,)
        if len(sb) == 1:
            sg = sg + (1,)
        g2 = M.reshape(g, sg)
        if which == 0:
            c = M.matmul(g2, swap_last(M, b2))
            return M.reshape(M.sum_to(c, M.shape(a2)), sa)
        c = M.matmul(swap_last(M, a2), g2)
        return M.reshape(M.sum_to(c, M.shape(b2)), sb)

    return rule


register(
    Op(
        "matmul",
        2,
        {k: _matmul for k in (ARRAY, EXACT_ARRAY, FLOAT, EXACT)},
        Notation(
            "infix", " @ ", "{} {}", 70, "@", grouping_right=True, latex_vectors="{}^{{\\top}} {}"
        ),
        partials=(_matmul_partial(0), _matmul_partial(1)),
        vjps=(_matmul_vjp(0), _matmul_vjp(1)),
        elementwise=False,
        doc="matrix product (batch axes broadcast; a vector @ a vector is their inner product)",
    )
)


def _transpose(a: Any) -> Any:
    return np.transpose(a) if isinstance(a, np.ndarray) else a


register(
    Op(
        "transpose",
        1,
        {k: _transpose for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        Notation("postfix", "ᵀ", "{{{}}}^{{\\top}}", 95, "ᵀ"),
        vjps=(lambda M, g, x, y, p: M.transpose(g),),
        elementwise=False,
        doc="aᵀ: the axes reversed (harmless on a vector)",
    )
)


def _index(a: Any, index: Any = 0) -> Any:
    if not isinstance(a, np.ndarray):
        raise ShapeError("only vectors and matrices can be indexed")
    try:
        r = a[index]
    except IndexError as exc:
        raise ShapeError(f"index {index} is out of range for shape {a.shape}") from exc
    return settle(r)


def as_index_value(v: Any) -> Any:
    """numpy's indices: whole numbers, slices, None, ..., and arrays of whole numbers."""
    parts = v if isinstance(v, tuple) else (v,)
    for part in parts:
        if isinstance(part, (list, np.ndarray)):
            if np.asarray(part).dtype.kind not in "iub":
                raise TypeError("an index array must hold whole numbers")
        elif not (part is None or isinstance(part, slice) or part is Ellipsis):
            _int(part)
    return v


_EXPECT[as_index_value] = "a whole number, a slice, or a tuple of them"

register(
    Op(
        "index",
        1,
        {k: _index for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        Notation("index", "[]", "{}_{{{}}}", 95, "[ ]"),
        vjps=(lambda M, g, x, y, p: M.scatter(g, p["index"], M.shape(x[0])),),
        elementwise=False,
        params=(Param("index", 0, as_index_value, "which element(s)"),),
        doc="a[i]: one element (or a slice) of an array",
    )
)


def _scatter(a: Any, index: Any = 0, shape: Any = ()) -> Any:
    check_elements(shape, "scatter")
    try:
        return FloatMath.scatter(a, index, tuple(shape))
    except (IndexError, ValueError) as exc:
        raise ShapeError(f"cannot place shape {np.shape(a)} at {index} in {shape}") from exc


register(
    Op(
        "scatter",
        1,
        {k: _scatter for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("scatter", "\\operatorname{scatter}"),
        vjps=(lambda M, g, x, y, p: M.take(g, p["index"]),),
        elementwise=False,
        params=(
            Param("index", 0, as_index_value, "where to place the input"),
            Param("shape", (), as_shape, "the shape of the zeros it is placed in"),
        ),
        doc="zeros of a shape with the input added at an index (how a[i] sends its gradient back)",
    )
)

# ------------------------------------------------------------------ losses


def _mse(a: Any, b: Any) -> Any:
    d = a - b
    if isinstance(d, np.ndarray):
        return settle((d * d).sum() / d.size) if d.dtype == object else float(np.mean(d * d))
    return d * d


def _bce_float(p: Any, t: Any) -> Any:
    if isinstance(p, np.ndarray) or isinstance(t, np.ndarray):
        pa = np.asarray(p, dtype=np.float64)
        if not np.all((pa > 0) & (pa < 1)):
            raise DomainError(
                "binary cross-entropy needs every prediction strictly between 0 and 1"
            )
        v = -(t * np.log(pa) + (1 - t) * np.log(1 - pa))
        return float(np.mean(v))
    if not 0 < p < 1:
        raise DomainError(
            f"binary cross-entropy needs a prediction strictly between 0 and 1, got {p}"
        )
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def _bce_exact(p: Any, t: Any) -> Any:
    if isinstance(p, Fraction) and not 0 < p < 1:
        raise DomainError(
            f"binary cross-entropy needs a prediction strictly between 0 and 1, got {p}"
        )
    ps, ts = to_sympy(p), to_sympy(t)
    return check_exact(-(ts * sympy.log(ps) + (1 - ts) * sympy.log(1 - ps)), "bce")


def _bce_exact_array(p: Any, t: Any) -> Any:
    v = ufunc(_bce_exact, 2)(p, t)
    return check_exact(to_sympy(v.sum()) / v.size, "bce")


def _n(M: Backend, x: Any) -> int:
    """How many elements a loss averages over (inputs broadcast against each other)."""
    return max(M.size(x[0]), M.size(x[1]))


register(
    Op(
        "mse",
        2,
        {k: _mse for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("MSE", "\\operatorname{MSE}"),
        partials=(
            lambda M, x, y, p: 2 * (x[0] - x[1]) / _n(M, x),
            lambda M, x, y, p: -2 * (x[0] - x[1]) / _n(M, x),
        ),
        elementwise=False,
        doc="mean squared error: mean((ŷ − y)²); for scalars (ŷ − y)²",
        aliases=("MSE",),
    )
)
register(
    Op(
        "bce",
        2,
        {FLOAT: _bce_float, ARRAY: _bce_float, EXACT: _bce_exact, EXACT_ARRAY: _bce_exact_array},
        fn("BCE", "\\operatorname{BCE}"),
        partials=(
            lambda M, x, y, p: (x[0] - x[1]) / (x[0] * (1 - x[0])) / _n(M, x),
            lambda M, x, y, p: (M.log(1 - x[0]) - M.log(x[0])) / _n(M, x),
        ),
        elementwise=False,
        doc="binary cross-entropy −(y log p + (1 − y) log(1 − p)), averaged over elements",
        aliases=("BCE",),
    )
)
