"""Vectors and matrices drawn element by element: a graph of scalar nodes (w₁, w₂, …).

The new graph is built through the public API, one op per element, walking the tape once; it
is a drawing device, so only the ops whose elements can be written separately are supported:
elementwise ops, and the ops that declare how (``Op.scalars``: sums, products, indexing ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ChainruleError, ShapeError
from ..core.graph import Graph
from ..core.node import Node, apply, const, var
from ..lang.typography import TO_SUBSCRIPT
from ..ops.table import NoForm

LIMIT = 20_000  # scalar nodes: beyond this, expanding helps nobody read the drawing
_SUB = TO_SUBSCRIPT


def subscript(name: str, index: tuple[int, ...]) -> str:
    """w, (0,) → w₁; W, (0, 1) → W₁,₂ (counting from 1, as the exercise does)."""
    return name + ",".join(str(i + 1).translate(_SUB) for i in index)


def _grid(shape: tuple[int, ...]) -> np.ndarray:
    return np.empty(shape, dtype=object)


def _leaf(node: Node) -> Any:
    v = node.value
    make = var if node.requires_grad else const
    if not isinstance(v, np.ndarray):
        return make(v, node.name, exact=node.exact)
    out = _grid(v.shape)
    for idx in np.ndindex(v.shape):
        name = subscript(node.name, idx) if node.name else None
        out[idx] = make(v[idx], name, exact=node.exact)
    return out


def _as_grid(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    g = _grid(())
    g[()] = x
    return g


def _total(items: list[Any]) -> Any:
    acc = items[0]
    for item in items[1:]:
        acc = acc + item
    return acc


def _matmul(a: Any, b: Any) -> Any:
    a, b = _as_grid(a), _as_grid(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ChainruleError("@ needs two arrays")
    va = a if a.ndim == 2 else a.reshape(1, -1)
    vb = b if b.ndim == 2 else b.reshape(-1, 1)
    if va.shape[1] != vb.shape[0]:
        raise ChainruleError(f"@ cannot multiply shapes {a.shape} and {b.shape}")
    out = _grid((va.shape[0], vb.shape[1]))
    for i in range(va.shape[0]):
        for j in range(vb.shape[1]):
            out[i, j] = _total([va[i, k] * vb[k, j] for k in range(va.shape[1])])
    if a.ndim == 1 and b.ndim == 1:
        return out[0, 0]
    if a.ndim == 1:
        return out.reshape(-1)
    if b.ndim == 1:
        return out.reshape(-1)
    return out


def _elementwise(node: Node, args: list[Any]) -> Any:
    grids = np.broadcast_arrays(*[_as_grid(a) for a in args])
    out = _grid(grids[0].shape)
    for idx in np.ndindex(out.shape):
        items: tuple[Node, ...] = tuple(g[idx] for g in grids)  # type: ignore[misc]
        out[idx] = apply(node.op, items, node.params)
    return out if out.ndim else out[()]


def _mean_of(items: list[Node]) -> Node:
    total = _total(items)
    return total if len(items) == 1 else total / len(items)


class _Expander:
    """What an op's drawing form (``Op.scalars``) builds with: ``each`` applies the node's
    own op element by element; ``total``, ``mean`` and ``matmul`` add and multiply scalar
    nodes; ``grid`` makes a number an array of one."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def each(self, *args: Any) -> Any:
        return _elementwise(self.node, list(args))

    total = staticmethod(_total)
    mean = staticmethod(_mean_of)
    matmul = staticmethod(_matmul)
    grid = staticmethod(_as_grid)


def _one(node: Node, args: list[Any], label: str) -> Any:
    form = node.op.scalars
    if not any(isinstance(a, np.ndarray) for a in args) and node.op.arity != -1:
        return apply(node.op, tuple(args), node.params)
    if callable(form):
        try:
            return form(_Expander(node), args, node.params or {})
        except ShapeError as exc:
            raise ChainruleError(f"{exc.message} (node {label})") from None
    if form is None and node.op.elementwise:
        return _elementwise(node, args)
    if not any(isinstance(a, np.ndarray) for a in args):
        return apply(node.op, tuple(args), node.params)
    why = (
        f": {form.why}"
        if isinstance(form, NoForm)
        else ": each element of its result depends on every element of its input, and chainrule "
        "has no element-by-element form of it; draw without --expand, or write it out in the "
        "program (softmax as exp(z) / sum(exp(z)))"
    )
    raise ChainruleError(f"cannot draw {node.op.name} element by element (node {label}){why}")


def expand(g: Graph) -> Graph:
    """The same computation on scalars: one node per element of every vector and matrix."""
    made: dict[Node, Any] = {}
    drawn: set[int] = set()
    count = 0
    for node in g.nodes:
        if not node.args:
            result = _leaf(node)
        else:
            result = _one(node, [made[a] for a in node.args], g.label(node))
            if isinstance(result, np.ndarray) and result.ndim == 0:
                result = result[()]
        items = list(np.ndenumerate(result)) if isinstance(result, np.ndarray) else [((), result)]
        if node.name and node.args:
            for idx, item in items:
                if item.id not in drawn:  # an earlier node passed through (xᵀ, x[0]) keeps its name
                    label = g.label(node)  # x′ for a name given twice
                    item.name = subscript(label, idx) if idx else label
        drawn.update(item.id for _, item in items)
        count += len(items)
        if count > LIMIT:
            raise ChainruleError(
                f"expanding to scalars would draw more than {LIMIT} nodes; draw without expand"
            )
        made[node] = result
    outs = []
    for o in g.outputs:
        r = made[o]
        outs.extend(list(r.reshape(-1)) if isinstance(r, np.ndarray) else [r])
    return Graph(outs)
