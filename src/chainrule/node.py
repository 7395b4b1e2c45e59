"""``Node``: one value in a computational graph, built by operator overloading.

Nodes are created in topological order (an input always exists before the operation that uses
it), so every node carries a creation number and a graph is the set of nodes an output depends
on, sorted by that number: no recursion anywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from .errors import ChainruleError, DomainError, ShapeError
from .numbers import (
    ARRAY,
    EXACT,
    EXACT_ARRAY,
    FLOAT,
    combine_kinds,
    convert,
    decimal,
    kind_of,
    normalize,
    to_exact,
)
from .ops import OPS, Op

_ids = itertools.count()

_INPUT = OPS["input"]
_CONST = OPS["const"]


class Node:
    """A value in a graph: its operation, its inputs, and after ``backward`` its gradient."""

    __slots__ = (
        "value",
        "grad",
        "op",
        "args",
        "name",
        "kind",
        "requires_grad",
        "params",
        "local",
        "contrib",
        "id",
        "__weakref__",
    )

    def __init__(
        self,
        value: Any,
        op: Op,
        args: tuple[Node, ...],
        kind: int,
        requires_grad: bool,
        params: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.value = value
        self.op = op
        self.args = args
        self.kind = kind
        self.requires_grad = requires_grad
        self.params = params
        self.name = name
        self.grad: Any = None
        self.local: tuple[Any, ...] | None = None
        self.contrib: tuple[Any, ...] | None = None
        self.id = next(_ids)

    # -------------------------------------------------------------- information
    @property
    def is_leaf(self) -> bool:
        return not self.args

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.value))

    @property
    def ndim(self) -> int:
        return int(np.ndim(self.value))

    @property
    def exact(self) -> bool:
        return self.kind in (EXACT, EXACT_ARRAY)

    def label(self) -> str:
        """The name people know this node by (its name, or its creation number)."""
        return self.name if self.name else f"v{self.id}"

    def named(self, name: str) -> Node:
        self.name = name
        return self

    def item(self) -> float:
        return float(self.value) if not isinstance(self.value, np.ndarray) else float(
            self.value.item()
        )

    def __repr__(self) -> str:
        who = f"{self.name} = " if self.name else ""
        grad = "" if self.grad is None else f", grad={decimal(self.grad)}"
        return f"<Node {who}{self.op.name} value={decimal(self.value)}{grad}>"

    def _repr_svg_(self) -> str | None:  # Jupyter
        try:
            from .draw import to_svg
        except ImportError:
            return None
        return to_svg(self)  # type: ignore[no-any-return]

    # -------------------------------------------------------------- differentiation
    def backward(self, seed: Any = None, *, accumulate: bool = False) -> None:
        """Fill ``grad`` on every node this one depends on (reverse mode).

        Gradients are reset first, so calling it twice gives the same numbers; pass
        ``accumulate=True`` to add to the gradients already there instead."""
        from .autodiff import backward

        backward(self, seed=seed, accumulate=accumulate)

    # -------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Node:
        return apply(_ADD, (self, lift(other, self)))

    def __radd__(self, other: Any) -> Node:
        return apply(_ADD, (lift(other, self), self))

    def __sub__(self, other: Any) -> Node:
        return apply(_SUB, (self, lift(other, self)))

    def __rsub__(self, other: Any) -> Node:
        return apply(_SUB, (lift(other, self), self))

    def __mul__(self, other: Any) -> Node:
        return apply(_MUL, (self, lift(other, self)))

    def __rmul__(self, other: Any) -> Node:
        return apply(_MUL, (lift(other, self), self))

    def __truediv__(self, other: Any) -> Node:
        return apply(_DIV, (self, lift(other, self)))

    def __rtruediv__(self, other: Any) -> Node:
        return apply(_DIV, (lift(other, self), self))

    def __pow__(self, other: Any) -> Node:
        return apply(_POW, (self, lift(other, self)))

    def __rpow__(self, other: Any) -> Node:
        return apply(_POW, (lift(other, self), self))

    def __neg__(self) -> Node:
        return apply(_NEG, (self,))

    def __pos__(self) -> Node:
        return self

    def __matmul__(self, other: Any) -> Node:
        return apply(_MATMUL, (self, lift(other, self)))

    def __rmatmul__(self, other: Any) -> Node:
        return apply(_MATMUL, (lift(other, self), self))

    def __getitem__(self, index: Any) -> Node:
        return apply(OPS["index"], (self,), {"index": index})

    @property
    def T(self) -> Node:
        return apply(OPS["transpose"], (self,))

    def __iter__(self) -> Iterator[Node]:
        if not isinstance(self.value, np.ndarray) or self.value.ndim == 0:
            raise TypeError("a scalar node cannot be iterated")
        return (self[i] for i in range(self.value.shape[0]))

    def __len__(self) -> int:
        if not isinstance(self.value, np.ndarray) or self.value.ndim == 0:
            raise TypeError("a scalar node has no length")
        return int(self.value.shape[0])

    def __float__(self) -> float:
        return self.item()

    def __bool__(self) -> bool:
        raise TypeError(
            "a node has no truth value; compare node.value instead (graphs hold no branches)"
        )


_ADD = OPS["add"]
_SUB = OPS["sub"]
_MUL = OPS["mul"]
_DIV = OPS["div"]
_POW = OPS["pow"]
_NEG = OPS["neg"]
_MATMUL = OPS["matmul"]


def compute(op: Op, args: tuple[Node, ...], params: dict[str, Any] | None) -> tuple[Any, int]:
    """Run an op's forward on its inputs' values; returns (value, kind)."""
    if len(args) == 1:
        kind = args[0].kind
        vals = [args[0].value]
    else:
        k0 = args[0].kind
        if all(a.kind == k0 for a in args):
            kind = k0
            vals = [a.value for a in args]
        else:
            kind = combine_kinds([a.kind for a in args])
            vals = [convert(a.value, kind) for a in args]
    try:
        value = op.forward[kind](*vals, **params) if params else op.forward[kind](*vals)
    except ChainruleError:
        raise
    except ZeroDivisionError as exc:
        raise DomainError(f"division by zero in {op.name}") from exc
    except OverflowError as exc:
        raise DomainError(f"{op.name} overflowed (the result is too large for a float)") from exc
    except ValueError as exc:
        if kind in (ARRAY, EXACT_ARRAY):
            shapes = " and ".join(str(np.shape(v)) for v in vals)
            raise ShapeError(f"{op.name} cannot combine shapes {shapes}") from exc
        raise DomainError(f"{op.name} is undefined at {', '.join(map(decimal, vals))}") from exc
    except TypeError as exc:
        raise DomainError(f"{op.name} cannot take these inputs ({exc})") from exc
    except KeyError as exc:
        raise DomainError(f"{op.name} is not defined for {KIND_TEXT[kind]} values") from exc
    if kind == FLOAT and value.__class__ is not float:
        value = _settle_float(value)
    elif kind == ARRAY and value.__class__ is not np.ndarray:
        value = float(value)
        kind = FLOAT
    elif kind == EXACT_ARRAY and value.__class__ is not np.ndarray:
        kind = EXACT
    elif kind == EXACT and isinstance(value, np.ndarray):
        kind = EXACT_ARRAY
    return value, kind


KIND_TEXT = {FLOAT: "float", EXACT: "exact", ARRAY: "array", EXACT_ARRAY: "exact array"}


def _settle_float(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value
    return float(value)


def apply(op: Op, args: tuple[Node, ...], params: dict[str, Any] | None = None) -> Node:
    """Create the node of ``op`` applied to ``args``: the one way every operation is built."""
    value, kind = compute(op, args, params)
    rg = False
    for a in args:
        if a.requires_grad:
            rg = True
            break
    return Node(value, op, args, kind, rg and op.differentiable, params)


# ------------------------------------------------------------------ leaves


def var(value: Any, name: str | None = None, *, exact: bool = False) -> Node:
    """An input (leaf) whose gradient is wanted. ``exact=True`` keeps rationals exact."""
    v = normalize(value, exact=exact)
    return Node(v, _INPUT, (), kind_of(v), True, None, name)


def const(value: Any, name: str | None = None, *, exact: bool = False) -> Node:
    """A constant: not differentiated (a literal inside an expression)."""
    v = normalize(value, exact=exact)
    return Node(v, _CONST, (), kind_of(v), False, None, name)


def lift(x: Any, like: Node | None = None) -> Node:
    """Make a node of ``x``: nodes pass through, numbers become constants of a matching kind."""
    if x.__class__ is Node:
        return x  # type: ignore[no-any-return]
    if like is not None and like.kind in (EXACT, EXACT_ARRAY):
        if isinstance(x, (int, float, Fraction, list, tuple, np.ndarray)) or isinstance(
            x, sympy.Basic
        ):
            return const(x, exact=True)
    if x.__class__ is float:
        return Node(x, _CONST, (), FLOAT, False)
    if isinstance(x, Fraction):
        return Node(x, _CONST, (), EXACT, False)
    return const(x)


def exact_value(x: Any) -> Any:
    return to_exact(x)
