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
(``scalars``) and its name in the Python API (``api``). An op that truly has no form of a kind says
so with ``NoForm(reason)``; ``tests/test_ops.py`` fails when an op of a family lacks a form the
family requires. Nothing here imports torch or the explorer: the forms receive what they need.

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
class Kink:
    """Where an op has no derivative: the convention its rules use there, and a test of whether
    a node's inputs sit exactly on such a point."""

    convention: str
    at: Callable[[list[Any], Mapping[str, Any]], bool]


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
    # A drawing of scalars (``draw.scalars``): None for an elementwise op (applied element by
    # element); else ``scalars(E, args, p)`` with the inputs as object arrays of scalar nodes
    # and ``E`` the expander's helpers (``each``, ``total``, ``mean``, ``matmul``); or NoForm.
    scalars: Callable[[Any, list[Any], Mapping[str, Any]], Any] | NoForm | None = None
    # its name in the Python API (``chainrule.functions``, ``chainrule``); "" for none
    api: str | None = None
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
