"""The gradient graph as a person would write it: for the backward view only.

``autodiff.grad`` builds the gradient by applying each op's rule literally, so it holds nodes
such as ``2 − 1``, ``g · 1``, ``u¹`` and a second copy of a forward node (``ŷ − y``) that a
rule rebuilt. For the drawing, constants are folded, multiplications by one, powers of one and
additions of zero are dropped, and equal subexpressions are shared, forward nodes included. The
engine's graph is not changed: new nodes are made for the drawing, in one pass over the tape."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.autodiff import topo_order
from ..core.node import Node, apply, new_node
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


def _unbroadcast(
    args: tuple[Node, ...], shape: tuple[int, ...], keep: set[Node]
) -> tuple[Node, ...]:
    """An elementwise op's inputs with the ``broadcast_to``/``reshape`` boxes a rule made to
    line shapes up (never ones the student wrote) folded into the edge they serve: the op
    broadcasts by itself, so ``x + broadcast(reshape(s, (1,)), (4,))`` is drawn ``x + s``."""
    out = list(args)
    for k, a in enumerate(args):
        b = a
        while b.op.name in _SHAPING and b not in keep and not b.name and len(b.args) == 1:
            b = b.args[0]
        if b is a:
            continue
        others = [np.shape(o.value) for j, o in enumerate(out) if j != k]
        try:
            if np.broadcast_shapes(np.shape(b.value), *others) == tuple(shape):
                out[k] = b
        except ValueError:
            continue
    return tuple(out)


def _key(n: Node, args: tuple[Node, ...]) -> tuple[Any, ...]:
    params = repr(sorted(n.params.items())) if n.params else ""
    return (n.op.name, params, tuple(id(a) for a in args))


def simplify(roots: list[Node], keep: set[Node]) -> tuple[list[Node], list[Node]]:
    """The roots rebuilt for reading; returns the nodes to draw from and, for each root, the
    node that now shows it. Nodes in ``keep`` (the forward graph) are never rebuilt."""
    canon: dict[Node, Node] = {}
    table: dict[tuple[Any, ...], Node] = {}
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
        same = _identity(n, args)
        if same is not None:
            canon[n] = same
            continue
        if all(_is_constant(a) for a in args):
            folded = new_node(n.value, _CONST, (), n.kind, False)
            canon[n] = table.setdefault(("const", n.kind, _value_key(n.value)), folded)
            continue
        key = _key(n, args)
        found = table.get(key)
        if found is None:
            found = n if args == n.args else apply(n.op, args, n.params)
            table[key] = found
        canon[n] = found
    shown = [canon[r] for r in roots]
    return list(dict.fromkeys(shown)), shown
