"""The gradient graph as a person would write it: for the backward view only.

``autodiff.grad`` builds the gradient by applying each op's rule literally, so it holds nodes
such as ``2 − 1``, ``g · 1``, ``u¹`` and a second copy of a forward node (``ŷ − y``) that a
rule rebuilt. For the drawing, constants are folded, multiplications by one, powers of one and
additions of zero are dropped, and equal subexpressions are shared, forward nodes included.

The matrix rules work with columns and rows (``reshape(g, (n, 1))``) and transposes; the
drawing writes them as a student would: ``reshape(M @ reshape(g, (n, 1)), (m,))`` is ``M @ g``,
a column times a row is the outer product ``x ⊗ y`` (always built as ``reshape(x, (n, 1)) @
reshape(y, (m, 1))ᵀ``, the one form ``lang.writing`` reads as ⊗), ``(A @ B)ᵀ`` is ``Bᵀ @ Aᵀ``,
``(xᵀ)ᵀ`` is ``x``, ``sum_to(g, (3,))`` is ``sum(g, axis=0)``, and a constant array of one
repeated number in an elementwise op is that number. Every rewrite is an identity of values,
and the nodes it makes are evaluated by their ops: a drawn value is computed, never copied.
``folded`` then picks the reshapes, broadcasts and transposes left that nobody wrote: the view
draws each inside the edge it serves, labelled with what it did (``ᵀ ↦ 3×2``, ``↦ 2×1``).

The engine's graph is not changed: new nodes are made for the drawing, in one pass over the
tape."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.autodiff import topo_order
from ..core.node import Node, apply, new_node
from ..core.values import kind_of
from ..ops import OPS

_CONST = OPS["const"]


def _value_key(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return ("array", v.shape, tuple(v.reshape(-1).tolist()))
    return ("scalar", v)


def _is_constant(n: Node) -> bool:
    return not n.args and not n.name and not n.requires_grad


def _constant_equal(n: Node, target: int) -> bool:
    if not _is_constant(n):
        return False
    try:
        return bool(np.all(np.asarray(n.value) == target))
    except (TypeError, ValueError):
        return False


def _same_shape(a: Node, n: Node) -> bool:
    return np.shape(a.value) == np.shape(n.value)


def _identity(n: Node, args: tuple[Node, ...]) -> Node | None:
    """The input a node equals without computing (x · 1, x¹, x + 0, x − 0, x / 1, −(−x))."""
    name = n.op.name
    if name == "mul":
        a, b = args
        if _constant_equal(b, 1) and _same_shape(a, n):
            return a
        if _constant_equal(a, 1) and _same_shape(b, n):
            return b
    elif name == "add":
        a, b = args
        if _constant_equal(b, 0) and _same_shape(a, n):
            return a
        if _constant_equal(a, 0) and _same_shape(b, n):
            return b
    elif name in ("sub", "div"):
        a, b = args
        if _constant_equal(b, 0 if name == "sub" else 1) and _same_shape(a, n):
            return a
    elif name == "pow":
        a, b = args
        if _constant_equal(b, 1) and _same_shape(a, n):
            return a
    elif name == "neg":
        (a,) = args
        if a.op.name == "neg" and not a.name:
            return a.args[0]
    return None


_ELEMENTWISE = ("add", "sub", "mul", "div", "pow", "maximum", "minimum")
_SHAPING = ("broadcast_to", "reshape")
#: the most ones written out in a formula (g ⊗ [1, 1, 1]); beyond, a broadcast stays one
SHORT_ONES = 6
#: ops that move or copy elements without computing: a rule's columns, rows and transposes
SHAPE_OPS = ("reshape", "broadcast_to", "transpose", "permute")


def swaps_last(n: Node) -> bool:
    """Whether ``n`` is the matrix transpose of its input: ``transpose`` of a matrix, or a
    ``permute`` that swaps the last two axes of a stack of matrices."""
    nd = np.ndim(n.value)
    if n.op.name == "transpose":
        return nd == 2
    if n.op.name == "permute" and nd >= 2:
        axes = tuple((n.params or {}).get("axes") or ())
        return axes == (*range(nd - 2), nd - 1, nd - 2)
    return False


def _unbroadcast(
    args: tuple[Node, ...], shape: tuple[int, ...], keep: set[Node]
) -> tuple[Node, ...]:
    """An elementwise op's inputs with the ``broadcast_to``/``reshape`` boxes a rule made to
    line shapes up (never ones the student wrote) folded into the edge they serve: the op
    broadcasts by itself, so ``x + broadcast(reshape(s, (1,)), (4,))`` is drawn ``x + s``.

    Only what broadcasting would do again is dropped: a ``broadcast_to``, and a reshape that
    adds or removes leading axes of length 1. A reshape that moves an axis, (3,) → (3, 1), says
    which axis the copies run along and stays (numpy would copy (3,) along the other one)."""
    out = list(args)
    for k, a in enumerate(args):
        others = [np.shape(o.value) for j, o in enumerate(out) if j != k]
        b = a
        while b.op.name in _SHAPING and b not in keep and not b.name and len(b.args) == 1:
            inner = b.args[0]
            if b.op.name == "reshape" and not _leading_ones(np.shape(inner.value), b.value):
                break
            b = inner
            try:
                if np.broadcast_shapes(np.shape(b.value), *others) == tuple(shape):
                    out[k] = b
            except ValueError:
                break
    return tuple(out)


def _leading_ones(before: tuple[int, ...], after: Any) -> bool:
    """Whether a reshape from ``before`` to the shape of ``after`` only adds or removes
    leading axes of length 1 (which broadcasting adds back by itself)."""
    a, b = tuple(before), tuple(np.shape(after))
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    head = long[: len(long) - len(short)]
    return long[len(head) :] == short and all(k == 1 for k in head)


def _equal_elements(n: Node) -> Any:
    """The one number every element of an unnamed constant array holds, or None."""
    v = n.value
    if not _is_constant(n) or not isinstance(v, np.ndarray) or v.size < 2:
        return None
    first = v.reshape(-1)[0]
    try:
        return first if bool(np.all(v == first)) else None
    except (TypeError, ValueError):
        return None


def _key(n: Node, args: tuple[Node, ...]) -> tuple[Any, ...]:
    params = repr(sorted(n.params.items())) if n.params else ""
    return (n.op.name, params, tuple(id(a) for a in args))


def simplify(roots: list[Node], keep: set[Node]) -> tuple[list[Node], list[Node]]:
    """The roots rebuilt for reading; returns the nodes to draw from and, for each root, the
    node that now shows it. Nodes in ``keep`` (the forward graph) are never rebuilt."""
    canon: dict[Node, Node] = {}
    table: dict[tuple[Any, ...], Node] = {}

    def constant(value: Any, kind: int) -> Node:
        folded = new_node(value, _CONST, (), kind, False)
        return table.setdefault(("const", kind, _value_key(value)), folded)

    def make(name: str, args: tuple[Node, ...], params: dict[str, Any] | None = None) -> Node:
        made = apply(OPS[name], args, params)
        return table.setdefault(_key(made, args), made)

    rules = _Rules(keep, constant, make)
    for n in topo_order(roots):
        if n in keep:
            canon[n] = n
            if n.args:
                table.setdefault(_key(n, n.args), n)
            elif _is_constant(n):
                table.setdefault(("const", n.kind, _value_key(n.value)), n)
            continue
        if not n.args:
            canon[n] = table.setdefault(("const", n.kind, _value_key(n.value)), n)
            continue
        args = tuple(canon[a] for a in n.args)
        if n.op.name in _ELEMENTWISE and len(args) == 2:
            args = _unbroadcast(args, np.shape(n.value), keep)
            args = rules.scalars(args, np.shape(n.value))
        same = _identity(n, args)
        if same is not None:
            canon[n] = same
            continue
        if all(_is_constant(a) for a in args):
            folded = new_node(n.value, _CONST, (), n.kind, False)
            canon[n] = table.setdefault(("const", n.kind, _value_key(n.value)), folded)
            continue
        written = rules.rewrite(n, args)
        if written is not None:
            canon[n] = written
            continue
        key = _key(n, args)
        found = table.get(key)
        if found is None:
            found = n if args == n.args else apply(n.op, args, n.params)
            table[key] = found
        canon[n] = found
    shown = []
    for r in roots:  # a gradient that is a broadcast is written with ones (g ⊗ [1, 1])
        spread = rules.spread(canon[r])
        shown.append(canon[r] if spread is None else spread)
    return list(dict.fromkeys(shown)), shown


class _Rules:
    """The matrix rewrites of ``simplify``: each returns a node of the same value (made by
    ``make``, so shared like any other) or None when the pattern does not apply."""

    def __init__(
        self,
        keep: set[Node],
        constant: Callable[[Any, int], Node],
        make: Callable[..., Node],
    ) -> None:
        self.keep = keep
        self.constant = constant
        self.make = make

    def internal(self, n: Node) -> bool:
        """Made by a rule: neither in the forward graph nor named."""
        return n not in self.keep and not n.name

    def vector_of(self, n: Node) -> Node | None:
        """The vector that an internal column (n, 1) or row (1, n) holds: the 1-D node its
        reshapes and transposes start from, or an unnamed constant read as a vector."""
        shape = np.shape(n.value)
        if len(shape) != 2 or 1 not in shape or not self.internal(n):
            return None
        if _is_constant(n):
            return self.constant(np.asarray(n.value).reshape(-1), n.kind)
        b = n
        while b.op.name in ("reshape", "transpose", "permute") and len(b.args) == 1:
            if b is not n and not self.internal(b):
                return None
            b = b.args[0]
            if np.ndim(b.value) == 1:
                return b
        return None

    def transposed(self, a: Node) -> Node:
        """aᵀ (the last two axes swapped), with (xᵀ)ᵀ = x and constants folded."""
        if swaps_last(a):
            return a.args[0]
        nd = np.ndim(a.value)
        if _is_constant(a):
            return self.constant(np.swapaxes(np.asarray(a.value), -1, -2), a.kind)
        if nd == 2:
            return self.make("transpose", (a,))
        return self.make("permute", (a,), {"axes": (*range(nd - 2), nd - 1, nd - 2)})

    def outer(self, x: Node, y: Node) -> Node:
        """x ⊗ y in the one form the notation writes as ⊗."""
        col_x = self.make("reshape", (x,), {"shape": (np.shape(x.value)[0], 1)})
        col_y = self.make("reshape", (y,), {"shape": (np.shape(y.value)[0], 1)})
        return self.make("matmul", (col_x, self.make("transpose", (col_y,))))

    def scalars(self, args: tuple[Node, ...], shape: tuple[int, ...]) -> tuple[Node, ...]:
        """An elementwise op's unnamed constant array of one repeated number (a mean's
        [[0.25, 0.25], [0.25, 0.25]]) is that number, when the other input has the shape."""
        out = list(args)
        for k, a in enumerate(args):
            same = _equal_elements(a) if a not in self.keep else None
            other = args[1 - k]
            if same is not None and np.shape(other.value) == tuple(shape):
                out[k] = self.constant(same, a.kind)
        return tuple(out)

    def summed(self, a: Node, shape: tuple[int, ...]) -> Node | None:
        """``sum_to(a, shape)`` as people write it: ``sum(a, axis=0)`` over the rows a
        broadcast added, ``sum(a, axis=1, keepdims=True)`` over a column's copies."""
        src = tuple(np.shape(a.value))
        lead = len(src) - len(shape)
        if lead < 0:
            return None
        kept = tuple(lead + i for i, k in enumerate(shape) if k == 1 and src[lead + i] != 1)
        out = a
        if kept:
            axis: Any = kept if len(kept) > 1 else kept[0]
            out = self.make("sum", (out,), {"axis": axis, "keepdims": True})
        if lead:
            out = self.make("sum", (out,), {"axis": tuple(range(lead)) if lead > 1 else 0})
        return out if out is not a else None

    def ones(self, like: Node, shape: tuple[int, ...]) -> Node:
        """A constant of ones, exact where ``like`` is exact."""
        exact = isinstance(like.value, np.ndarray) and like.value.dtype == object
        value = np.full(shape, Fraction(1), dtype=object) if exact else np.ones(shape)
        return self.constant(value, kind_of(value))

    def spread(self, n: Node) -> Node | None:
        """A gradient that is a broadcast, as people write it: a vector g copied along each
        row is g ⊗ [1, 1, 1], copied down each column [1, 1] ⊗ g, a number copied into a
        vector y · [1, 1, 1]. Only where the ones are short enough to write out."""
        if n.op.name != "broadcast_to" or not self.internal(n):
            return None
        shape = tuple(np.shape(n.value))
        (x,) = n.args
        while x.op.name == "reshape" and self.internal(x):
            if not _leading_ones(np.shape(x.args[0].value), x.value):
                break
            x = x.args[0]
        sx = tuple(np.shape(x.value))
        if len(shape) == 2 and sx == (shape[0], 1) and shape[1] <= SHORT_ONES:
            g = self.vector_of(x)
            if g is not None:
                return self.outer(g, self.ones(n, (shape[1],)))
        if len(shape) == 2 and sx == (shape[1],) and shape[0] <= SHORT_ONES:
            return self.outer(self.ones(n, (shape[0],)), x)
        if sx == () and int(np.prod(shape)) <= SHORT_ONES:
            return self.make("mul", (x, self.ones(n, shape)))
        return None

    def rewrite(self, n: Node, args: tuple[Node, ...]) -> Node | None:
        name = n.op.name
        if name in ("transpose", "permute") and swaps_last(n):
            (a,) = args
            if swaps_last(a):
                return a.args[0]  # (xᵀ)ᵀ = x
            if a.op.name == "matmul" and self.internal(a):
                left, right = a.args
                if np.ndim(left.value) >= 2 and np.ndim(right.value) >= 2:
                    return self.make("matmul", (self.transposed(right), self.transposed(left)))
            return None
        if name == "reshape" and np.ndim(n.value) == 1:
            (m,) = args
            if m.op.name != "matmul" or not self.internal(m):
                return None
            left, right = m.args
            if np.ndim(left.value) == 2 and np.shape(right.value)[-1:] == (1,):
                g = self.vector_of(right)  # reshape(M @ column(g)) = M @ g
                if g is not None:
                    return self.make("matmul", (left, g))
            if np.ndim(right.value) == 2 and np.shape(left.value)[:1] == (1,):
                g = self.vector_of(left)  # reshape(row(g) @ M) = g @ M
                if g is not None:
                    return self.make("matmul", (g, right))
            return None
        if name == "sum_to":
            return self.summed(args[0], tuple(np.shape(n.value)))
        if name == "matmul":
            left, right = args
            sl, sr = np.shape(left.value), np.shape(right.value)
            if len(sl) == 2 and len(sr) == 2 and sl[1] == 1 and sr[0] == 1:
                x, y = self.vector_of(left), self.vector_of(right)
                if x is not None and y is not None:
                    return self.outer(x, y)  # a column times a row
        return None


def folded(nodes: list[Node], keep: set[Node], results: set[Node]) -> set[Node]:
    """The shape boxes nobody wrote, to be drawn inside the edge they serve: reshapes,
    broadcasts and transposes made by a rule (neither in the forward graph nor named), except
    a node that holds a result (it keeps its box, marked with its gradient)."""
    return {
        n
        for n in nodes
        if n.op.name in SHAPE_OPS
        and len(n.args) == 1
        and n not in keep
        and not n.name
        and n not in results
    }


def outer_operands(n: Node) -> tuple[Node, Node] | None:
    """(x, y) of a node built as ``reshape(x, (n, 1)) @ reshape(y, (m, 1))ᵀ``: the outer
    product x ⊗ y, whose edges take the vectors as they are."""
    if n.op.name != "matmul" or len(n.args) != 2:
        return None
    left, right = n.args
    if left.op.name != "reshape" or not swaps_last(right) or right.args[0].op.name != "reshape":
        return None
    x, y = left.args[0], right.args[0].args[0]
    if np.ndim(x.value) == 1 and np.ndim(y.value) == 1:
        return x, y
    return None


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(k) for k in shape) if shape else "a scalar"


def fold_text(chain: list[Node]) -> str:
    """What the folded shape boxes of one edge did, from the drawn source to the box that
    uses it: ``ᵀ ↦ 3×2``, ``↦ 2×1``, ``copied ↦ 2×3`` (consecutive reshapes written once)."""
    parts: list[str] = []
    last = ""
    for n in chain:
        shape = shape_text(tuple(np.shape(n.value)))
        if swaps_last(n):
            part = f"ᵀ ↦ {shape}"
        elif n.op.name == "broadcast_to":
            part = f"copied ↦ {shape}"
        elif n.op.name == "reshape":
            part = f"↦ {shape}"
            if last == "reshape":
                parts.pop()
        else:  # another order of the axes
            axes = tuple((n.params or {}).get("axes") or ())
            part = f"axes {axes} ↦ {shape}" if axes else f"axes reversed ↦ {shape}"
        parts.append(part)
        last = n.op.name if not swaps_last(n) else "T"
    return ", ".join(parts)
