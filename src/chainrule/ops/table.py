"""The op table: every primitive declared once.

Each entry gives the forward computation for each kind of number, its derivative rules written
against one maths backend protocol (``backends.Backend``), its declared parameters and the
notation people read. A rule is either a local partial ``(M, x, y, p)`` — elementwise ops, and
ops whose local derivative has a readable form (dot: ∂(w·x)/∂w = x) — or a vector–Jacobian
product ``(M, g, x, y, p)``: the contribution ``g · ∂y/∂xᵢ`` computed directly, for ops that mix
elements. Because rules only speak to ``M``, one rule serves every purpose: numbers with the
numeric backends, the gradient as a graph (and so every higher derivative) with ``NodeMath``,
the formula in a worked solution, and sympy's expressions in the tests.

Every other form of an op is declared on the op too, so adding an op touches its entry and its
test data only: its JavaScript form for the explorer (``js``), its PyTorch form both ways
(``torch``: the call ``to_torch`` replays, and the ATen calls ``from_torch`` reads as this op),
its convention where it has no derivative (``kink``), how a drawing expands it element by element
(``scalars``), its name in the Python API (``api``) and its compiled form (``planned``: its numpy
calls into a compiled plan's kept buffers, the longer ones in ``ops/kernels.py``). An op that
truly has no form of a kind says so with ``NoForm(reason)``; ``tests/test_ops.py`` fails when an
op of a family lacks a form the family requires. Nothing here imports torch or the explorer: the
forms receive what they need.

Ops are immutable once registered: a cache keyed on an op can never go stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np

from ..core.backends import (
    ArrayMath,
    Backend,
    ExactArrayMath,
    ExactMath,
    FloatMath,
)
from ..core.errors import ValueInputError
from ..core.values import ARRAY, EXACT, EXACT_ARRAY, FLOAT

Partial = Callable[[Backend, Any, Any, Any], Any]
Vjp = Callable[[Backend, Any, Any, Any, Any], Any]


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


@dataclass(frozen=True)
class NoForm:
    """An op that has no form of some kind, and why (read where the form would be used)."""

    why: str


class Decline(Exception):
    """An ATen call uses an option the op lacks: ``from_torch`` makes it opaque (or composite)."""


Reader = Callable[..., tuple[tuple[Any, ...], dict[str, Any] | None]]


@dataclass(frozen=True)
class Torch:
    """An op in PyTorch, both ways. ``call(torch, xs, p)`` computes it on tensors (``to_torch``
    replays graphs with it; ``torch`` is the module, passed in so the table never imports it).
    ``aten`` names the ATen calls that are this op; ``read(*args, **kwargs)`` turns such a call's
    arguments into the op's inputs and parameters (by default every argument is an input), and
    raises ``Decline`` for an option the op does not have."""

    call: Callable[[Any, list[Any], dict[str, Any]], Any]
    aten: tuple[str, ...] = ()
    read: Reader | None = None


@dataclass(frozen=True)
class Planned:
    """An op in a compiled plan (``chainrule.compile``): ``forward(site)`` and
    ``reverse(site)`` each give the step's ``core.kernels.Kernel`` for the traced shapes (the
    op's own numpy calls into kept buffers), or None, and the plan takes the op's rule."""

    forward: Callable[[Any], Any] | None = None
    reverse: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Kink:
    """Where an op has no derivative: the convention its rules use there, and a test of whether
    a node's inputs sit exactly on such a point."""

    convention: str
    at: Callable[[list[Any], Mapping[str, Any]], bool]


# ------------------------------------------------------------------ domains


@dataclass(frozen=True)
class Interval:
    """A stretch of the real line; ``None`` is an end at infinity, and each finite end is open
    or closed. Declared on an op so that a test can put points just inside and just outside
    each end, and the reference can print the same thing people read."""

    low: Fraction | None = None
    high: Fraction | None = None
    low_closed: bool = False
    high_closed: bool = False

    def __contains__(self, x: Any) -> bool:
        if self.low is not None and (x < self.low or (x == self.low and not self.low_closed)):
            return False
        return not (
            self.high is not None and (x > self.high or (x == self.high and not self.high_closed))
        )

    def text(self, var: str) -> str:
        """``x > 0``, ``−1 ≤ x ≤ 1``, ``any x``."""
        lo = "≤" if self.low_closed else "<"
        hi = "≤" if self.high_closed else "<"
        if self.low is None and self.high is None:
            return f"any {var}"
        if self.high is None:
            return f"{var} {'≥' if self.low_closed else '>'} {_number(self.low)}"
        if self.low is None:
            return f"{var} {hi} {_number(self.high)}"
        return f"{_number(self.low)} {lo} {var} {hi} {_number(self.high)}"


Union = tuple[Interval, ...]


def _number(v: Fraction | None) -> str:
    if v is None:
        return "∞"
    text = str(v)
    return text.replace("-", "−")


def union_text(union: Union, var: str) -> str:
    """A union of intervals as people write it: ``x ≠ 0`` for the reals without one point."""
    if (
        len(union) == 2
        and union[0].low is None
        and union[1].high is None
        and union[0].high == union[1].low
        and union[0].high is not None
        and not union[0].high_closed
        and not union[1].low_closed
    ):
        return f"{var} ≠ {_number(union[0].high)}"
    return " or ".join(i.text(var) for i in union)


REALS: Union = (Interval(),)
POSITIVE: Union = (Interval(low=Fraction(0)),)
NONNEGATIVE: Union = (Interval(low=Fraction(0), low_closed=True),)
NONZERO: Union = (Interval(high=Fraction(0)), Interval(low=Fraction(0)))
UNIT_OPEN: Union = (Interval(low=Fraction(0), high=Fraction(1)),)


@dataclass(frozen=True)
class Domain:
    """Where an op gives a value, and where its derivative exists.

    ``text`` is what the op reference prints. For an op of numbers whose domain is one union of
    intervals per input (log: x > 0; div: y ≠ 0), ``inputs`` holds them and ``derivative`` the
    narrower ones where the local partials exist (sqrt: the value at 0, no slope there), so
    ``tests/test_op_domains.py`` evaluates points just inside and just outside every end.
    Ops of arrays (shapes that must agree) and ops whose domain is no such product (pow) state
    it in words only (``inputs`` is None). Outside its domain a number is refused with a
    DomainError; an element of a float array becomes NaN or ±∞, as numpy computes it (``eval``
    reports where such a value began)."""

    text: str
    inputs: tuple[Union, ...] | None = None
    derivative: tuple[Union, ...] | None = None

    @property
    def partial_inputs(self) -> tuple[Union, ...] | None:
        """Where the local partials exist (the value's domain unless narrower)."""
        return self.derivative if self.derivative is not None else self.inputs


def real_domain(
    *inputs: Union, derivative: tuple[Union, ...] | None = None, note: str = ""
) -> Domain:
    """The domain of an op of numbers, one union of intervals per input (x, y), its text
    written from them: ``real_domain(POSITIVE)`` is "x > 0"."""
    names = ("x", "y") if len(inputs) == 2 else ("x",) if len(inputs) == 1 else ()
    parts = [union_text(u, v) for u, v in zip(inputs, names, strict=True)]
    if all(p.startswith("any ") for p in parts):
        text = "any real " + " and ".join(names) if len(names) > 1 else "any real x"
    else:
        text = ", ".join(p for p in parts if not p.startswith("any "))
    if derivative is not None:
        need = [union_text(u, v) for u, v in zip(derivative, names, strict=True)]
        text += "; its derivative needs " + ", ".join(p for p in need if not p.startswith("any "))
    if note:
        text += f" ({note})"
    return Domain(text, tuple(inputs), tuple(derivative) if derivative is not None else None)


def shape_of(v: Any) -> tuple[int, ...]:
    """The shape of an ATen argument (a node, a number): what readers check."""
    return tuple(np.shape(getattr(v, "value", v)))


def float_dtype(v: Any) -> Any:
    """The float type of an ATen argument's values (float64 for anything else)."""
    d = np.asarray(getattr(v, "value", v)).dtype
    return d if d.kind == "f" else np.float64


def torch_axis(d: Any, nd: int) -> int:
    """A PyTorch dimension (negative counts from the end) as an axis."""
    return int(d) % max(nd, 1)


def torch_same(name: str) -> Torch:
    """The PyTorch form of an op that is ``torch.<name>`` applied to its inputs, ATen's
    ``aten.<name>.default``."""
    return Torch(lambda t, x, p: getattr(t, name)(*x), (f"aten.{name}.default",))


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
    # The explorer's JavaScript form: None when the forward itself runs on JavaScript
    # expressions (operators, numpy on object arrays, a backend method); else
    # ``js(M, x, p)``, the forward written against ``M`` (``explorer.jsmath.JSMath``, whose
    # ``where`` and ``reduce_max`` write branches and maxima); or NoForm.
    js: Callable[[Any, tuple[Any, ...], Mapping[str, Any]], Any] | NoForm | None = None
    # a JavaScript function the page defines as ``cr.<name>`` when its code calls it (an
    # arrow function's source), for what ``Math`` lacks (erf) or computes with overflow
    js_function: str = ""
    torch: Torch | NoForm | None = None
    kink: Kink | None = None
    # its form in a compiled plan, where it has one (``ops/kernels.py``): None runs its rule
    planned: Planned | None = None
    # A drawing of scalars (``draw.scalars``): None for an elementwise op (applied element by
    # element); else ``scalars(E, args, p)`` with the inputs as object arrays of scalar nodes
    # and ``E`` the expander's helpers (``each``, ``total``, ``mean``, ``matmul``); or NoForm.
    scalars: Callable[[Any, list[Any], Mapping[str, Any]], Any] | NoForm | None = None
    # its name in the Python API (``chainrule.functions``, ``chainrule``); "" for none
    api: str | None = None
    # where it gives a value and where its derivative exists (the op reference prints it;
    # tests/test_op_domains.py checks the intervals of ops of numbers at their ends)
    domain: Domain | None = None
    family: str = field(default="", init=False)
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


_OVERLOADS: dict[tuple[str, int], Op] = {}


def register(op: Op, family: str = "", overloads: tuple[str, ...] = ()) -> Op:
    """Add an op to the table. A name (or alias) already taken is refused: ops never change.
    ``overloads`` are names of other ops this op answers when called with its own number of
    inputs (``max(v)``: one vector, the largest element)."""
    for name in (op.name, *op.aliases):
        if name in OPS._ops or name in _ALIASES:
            raise ValueError(f"an op named {name!r} is already registered")
    object.__setattr__(op, "family", family)
    for name in overloads:
        _OVERLOADS[(name, op.arity)] = op
    OPS._ops[op.name] = op
    for alias in op.aliases:
        _ALIASES[alias] = op
    return op


def registrar(family: str) -> Callable[..., Op]:
    """``register`` for the entries of one family (its module's name)."""

    def put(op: Op, overloads: tuple[str, ...] = ()) -> Op:
        return register(op, family, overloads)

    return put


def overload(name: str, count: int) -> Op | None:
    """The op a program means by ``name`` with ``count`` inputs when that is not the op the
    name stands for (``max(v)`` is the largest element, ``max(a, b)`` the larger one)."""
    return _OVERLOADS.get((name, count))


def api_name(op: Op) -> str:
    """The op's name in the Python API ("" when it has none there)."""
    return op.name if op.api is None else op.api


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


def fn(name: str, latex: str, symbol: str | None = None) -> Notation:
    return Notation("function", name, latex, 100, symbol or name)


def infix(text: str, latex: str, precedence: int) -> Notation:
    return Notation("infix", text, latex, precedence, text.strip())
