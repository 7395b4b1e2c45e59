"""A graph compiled to one JavaScript function: every value, gradient, local partial,
contribution and running sum at fan-out, recomputed from the inputs in the page.

Every scalar the page shows lives in one slot of a ``Float64Array``; the function is straight-line
code (``S[7]=(S[3]*S[5]);``) written by running the op table's own rules with ``JSMath``: the
forward of each op, its local partials, and ``autodiff.contribution`` — the one reverse step —
for every edge. A node whose forward or rule cannot be written as JavaScript keeps its
Python-computed numbers (it is listed in ``frozen`` and the page says so)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.autodiff import contribution, edge_contribution
from ..core.backends import FloatMath
from ..core.graph import Graph
from ..core.node import Node
from ..core.values import ARRAY, FLOAT, to_float
from ..ops import OPS
from ..ops.table import NoForm
from .jsmath import JS, JSMath, NotExpressible, lift

Shape = tuple[int, ...]

#: beyond this many scalars the page shows the numbers but does not recompute them
MAX_SLOTS = 400_000


@dataclass
class Slots:
    """Where one quantity lives: its slots (row-major) and its shape (``[]`` for a number)."""

    at: list[int]
    shape: list[int]

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "shape": self.shape}


@dataclass
class Edge:
    """Edge ``i`` of ``node`` (input ``source``): what flows back along it."""

    node: int
    i: int
    source: int
    local: Slots | None = None
    contribution: Slots | None = None
    running: Slots | None = None  # the source's gradient so far, this edge included


@dataclass
class Program:
    code: str
    size: int
    init: list[float]
    values: list[Slots]
    grads: list[Slots | None]
    edges: list[Edge]
    inputs: list[int]  # the nodes the page lets people change
    frozen: dict[int, str] = field(default_factory=dict)  # node → why it is not recomputed
    interactive: bool = True
    # slots that hold, or are computed from, a number the page cannot recompute: after a
    # what-if change they are stale, and the page says so instead of showing them
    stale: list[int] = field(default_factory=list)


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.init: list[float] = []
        self.kept: set[int] = set()  # slots of Python's numbers for frozen quantities

    def slot(self, value: float = 0.0) -> int:
        self.init.append(value)
        return len(self.init) - 1

    def store(self, value: Any, shape: Shape) -> tuple[Slots, Any]:
        """Write each element of an expression (or array of them) into a new slot; returns the
        slots and the same quantity as references to them."""
        arr = np.asarray(value, dtype=object) if isinstance(value, np.ndarray) else None
        if arr is not None and tuple(arr.shape) != tuple(shape):
            arr = np.broadcast_to(arr, shape)
        elems = list(arr.reshape(-1)) if arr is not None else [value]
        if arr is None and shape:
            elems = elems * int(np.prod(shape))
        at = []
        refs = []
        for e in elems:
            j = lift(e)
            k = self.slot(j.const if j.const is not None else 0.0)
            if j.const is None:
                self.lines.append(f"S[{k}]={j.code};")
            at.append(k)
            refs.append(JS(f"S[{k}]"))
        return Slots(at, list(shape)), _shaped(refs, shape)

    def constant(self, value: Any, frozen: bool = False) -> tuple[Slots, Any]:
        """Numbers known in Python, kept in slots (leaves, and ``frozen`` quantities: numbers
        the page cannot recompute)."""
        v = np.asarray(to_float(value), dtype=float)
        at = [self.slot(float(x)) for x in v.reshape(-1)]
        if frozen:
            self.kept.update(at)
        refs = [JS(f"S[{k}]") for k in at]
        return Slots(at, list(v.shape)), _shaped(refs, tuple(v.shape))


def _shaped(refs: list[JS], shape: Shape) -> Any:
    if not shape:
        return refs[0]
    out = np.empty(len(refs), dtype=object)
    out[:] = refs
    return out.reshape(shape)


def _shape(value: Any) -> Shape:
    if type(value) is float:  # most values: no conversion to an array to learn it has no axes
        return ()
    return tuple(np.shape(value))


def forward(node: Node, x: list[Any]) -> Any:
    """The node's forward on expressions: the op's declared JavaScript form (``Op.js``), else
    the table's own function when it is the backend's (exp, σ …) or runs on symbols
    (operators, numpy on object arrays)."""
    op = node.op
    params = node.params or {}
    form = op.js
    if isinstance(form, NoForm):
        raise NotExpressible(form.why)
    if form is not None:
        return form(JSMath, tuple(x), params)
    if op.forward.get(FLOAT) is not None and op.forward.get(FLOAT) is getattr(
        FloatMath, op.name, None
    ):
        return getattr(JSMath, op.name)(*x)
    for fn in (op.forward.get(ARRAY), op.forward.get(FLOAT)):
        if fn is None:
            continue
        try:
            out = fn(*x, **params)
        except Exception:  # noqa: BLE001 - a numeric forward that needs numbers
            continue
        if _expressible(out):
            return out
    raise NotExpressible(f"{op.name} has no JavaScript form")


def library(lines: list[str]) -> list[str]:
    """The ops' JavaScript functions (``Op.js_function``) the code calls, each defined once
    on the page's ``cr`` object."""
    text = "\n".join(lines)
    return [
        f"cr.{op.name}=cr.{op.name}||({op.js_function});"
        for op in OPS.values()
        if op.js_function and f"cr.{op.name}(" in text
    ]


def _expressible(out: Any) -> bool:
    if isinstance(out, JS):
        return True
    if isinstance(out, np.ndarray):
        return out.dtype == object and all(isinstance(e, JS) for e in out.reshape(-1))
    return False


def compile_graph(g: Graph, editable: list[Node] | None = None) -> Program:
    """The page's program for a graph after ``backward`` (gradients on its nodes)."""
    w = _Writer()
    index = {n: k for k, n in enumerate(g.nodes)}
    refs: list[Any] = []
    values: list[Slots] = []
    frozen: dict[int, str] = {}
    inputs = [index[n] for n in (editable if editable is not None else g.inputs)]
    for k, n in enumerate(g.nodes):
        shape = _shape(n.value)
        if not n.args:
            slots, ref = w.constant(n.value)
        else:
            try:
                out = forward(n, [refs[index[a]] for a in n.args])
                if _shape(out) != shape:
                    raise NotExpressible(f"shape {_shape(out)} instead of {shape}")
                slots, ref = w.store(out, shape)
            except Exception as exc:  # noqa: BLE001 - kept as Python's numbers, and said so
                frozen[k] = f"{n.op.name}: {exc}"
                slots, ref = w.constant(n.value, frozen=True)
        values.append(slots)
        refs.append(ref)

    grads: list[Slots | None] = [None] * len(g.nodes)
    grad_refs: list[Any] = [None] * len(g.nodes)
    edges: list[Edge] = []
    by_pair: dict[tuple[int, int], Edge] = {}
    uses = g.consumers()
    out = g.output
    for k in range(len(g.nodes) - 1, -1, -1):
        n = g.nodes[k]
        if n is out:
            slots, ref = w.store(FloatMath.ones_like(to_float(n.value)), _shape(n.value))
            grads[k], grad_refs[k] = slots, ref
        elif n.requires_grad or (not n.args and n.op.name == "input"):
            running: Any = None
            for consumer, i in uses.get(n, []):
                e = by_pair.get((index[consumer], i))
                if e is None or e.contribution is None:
                    continue
                c = _refs_of(e.contribution)
                running = c if running is None else running + c
                e.running, running = w.store(running, _shape(n.value))
            if running is None:
                slots, ref = w.constant(np.zeros(_shape(n.value)) if _shape(n.value) else 0.0)
            else:
                slots, ref = _slots_of(running, n.value), running
            grads[k], grad_refs[k] = slots, ref
        g_ref = grad_refs[k]
        if g_ref is None or not n.args:
            continue
        x = [refs[index[a]] for a in n.args]
        for i, a in enumerate(n.args):
            e = Edge(k, i, index[a])
            edges.append(e)
            by_pair[(k, i)] = e
            if not a.requires_grad:
                continue
            _edge(w, e, n, i, x, refs[k], g_ref, refs[index[a]], frozen)
    edges.sort(key=lambda e: (e.node, e.i))
    return Program(
        code="\n".join(library(w.lines) + w.lines),
        size=len(w.init),
        init=w.init,
        values=values,
        grads=grads,
        edges=edges,
        inputs=inputs,
        frozen=frozen,
        interactive=len(w.init) <= MAX_SLOTS,
        stale=_stale(w),
    )


_SLOT = re.compile(r"S\[(\d+)\]")


def _stale(w: _Writer) -> list[int]:
    """Every slot computed, directly or through others, from a frozen quantity's slots: the
    straight-line code is in order, so one pass over its lines finds them all."""
    stale = set(w.kept)
    for line in w.lines:
        target, _, expr = line.partition("=")
        if any(int(j) in stale for j in _SLOT.findall(expr)):
            stale.add(int(target[2:-1]))
    return sorted(stale)


def _edge(
    w: _Writer, e: Edge, n: Node, i: int, x: list[Any], y: Any, g: Any, like: Any, frozen: dict
) -> None:
    """The local partial (when the op has a readable one) and the contribution of one edge."""
    op = n.op
    p = n.params
    k = e.node
    if op.partials is not None and n.local is not None and n.local[i] is not None:
        try:
            d = op.partials[i](JSMath, tuple(x), y, p)
            if d is not None:
                e.local, _ = w.store(d, _shape(n.local[i]))
        except Exception as exc:  # noqa: BLE001
            frozen.setdefault(k, f"{op.name}: {exc}")
            e.local, _ = w.constant(n.local[i], frozen=True)
    numeric = edge_contribution(n, i)
    if numeric is None:
        return
    try:
        c = contribution(op, i, JSMath, g, tuple(x), y, p, like)
        if c is None:
            return
        e.contribution, _ = w.store(c, _shape(numeric))
    except Exception as exc:  # noqa: BLE001
        frozen.setdefault(k, f"{op.name}: {exc}")
        e.contribution, _ = w.constant(numeric, frozen=True)


def _refs_of(s: Slots) -> Any:
    return _shaped([JS(f"S[{k}]") for k in s.at], tuple(s.shape))


def _slots_of(ref: Any, like: Any) -> Slots:
    flat = list(ref.reshape(-1)) if isinstance(ref, np.ndarray) else [ref]
    return Slots([int(r.code[2:-1]) for r in flat], list(_shape(like)))
