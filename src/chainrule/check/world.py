"""The learner's world: the graph evaluated again with the learner's own numbers put in.

Walking the tape forward (values) and backward (gradients, local partials) in plain floats, each
claimed quantity is first computed from what comes before it, then replaced by the learner's
number, so that every later step uses the learner's numbers as they did by hand. The backward
walk is the engine's reference sweep (``autodiff.reference_backward``), run on a shadow of the
graph that holds the recomputed values, with the learner's numbers put in through its hooks.
What a quantity would have been *from the learner's own inputs* tells a first slip from a
consequence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.autodiff import grad, reference_backward
from ..core.graph import Graph
from ..core.node import Node, compute, new_node
from ..core.values import kind_of, to_float
from .names import GRADIENT, PARTIAL, VALUE, Quantity


@dataclass(frozen=True)
class Given:
    """A number the learner gave for a quantity (a float, or an array for a whole vector)."""

    quantity: Quantity
    value: Any


def _overlay(current: Any, index: tuple[int, ...] | None, value: Any) -> Any:
    if index is None:
        if isinstance(current, np.ndarray) and current.ndim:
            return np.broadcast_to(np.asarray(value, dtype=float), current.shape).copy()
        return float(value) if not isinstance(value, np.ndarray) else value
    arr = np.array(to_float(current), dtype=float)
    arr[index] = float(value)
    return arr


def _apply(current: Any, given: list[Given], like: Any = None) -> Any:
    for g in given:
        if (
            g.quantity.index is not None
            and not isinstance(current, np.ndarray)
            and like is not None
        ):
            current = np.full(np.shape(like), float(current))
        current = _overlay(current, g.quantity.index, g.value)
    return current


def _direct(q: Quantity) -> bool:
    return q.top is not None and any(a is q.node for a in q.top.args)


def _pick(value: Any, index: tuple[int, ...] | None) -> Any:
    if index is None or not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    return value[index]


Forward = tuple[dict[Node, Node], dict[int, Any]]


def _value_key(items: list[Given]) -> tuple[Any, ...]:
    """The learner's values as a key: quantity and the exact bits of every number, in order."""
    out: list[Any] = []
    for g in items:
        v = g.value
        if isinstance(v, np.ndarray):
            arr = np.ascontiguousarray(v, dtype=float)
            out.append((g.quantity.key(), arr.shape, arr.tobytes()))
        else:
            out.append((g.quantity.key(), float(v).hex()))
    return tuple(out)


def _forward(graph: Graph, by_node: dict[tuple[str, int], list[Given]]) -> Forward:
    """The graph's values walked again with the learner's values put in: a shadow node for
    each node, and each node's value as computed before the learner's number replaced it."""
    computed: dict[int, Any] = {}
    shadow: dict[Node, Node] = {}
    for n in graph.nodes:
        if n.args:
            args = tuple(shadow[a] for a in n.args)
            value, _ = compute(n.op, args, n.params)
        else:
            args = ()
            value = to_float(n.value)
        computed[id(n)] = value
        value = _apply(value, by_node.get((VALUE, id(n)), []), n.value)
        shadow[n] = new_node(value, n.op, args, kind_of(value), n.requires_grad, n.params, n.name)
    return shadow, computed


def recompute(
    graph: Graph,
    given: Iterable[Given],
    wanted: Iterable[Quantity],
    forwards: dict[Any, Forward] | None = None,
) -> dict[Any, Any]:
    """For each wanted quantity, its value computed from the given numbers that come before it
    (before the learner's own number for it is put in). Keys are ``Quantity.key()``.

    ``forwards`` keeps forward walks by the learner's values (the walk depends on nothing
    else; the backward walk reads the shadow nodes and never changes them), so the gradients
    and partials a learner's other numbers move, and other learners who wrote the same values,
    reuse one walk. Not used for a partial that is not on one edge (``grad`` builds on the
    shadow nodes)."""
    by_node: dict[tuple[str, int], list[Given]] = {}
    local_given: dict[tuple[int, int], list[Given]] = {}
    for item in given:
        q = item.quantity
        if q.claim_type == PARTIAL:
            if _direct(q) and q.top is not None:
                local_given.setdefault((id(q.top), id(q.node)), []).append(item)
            continue
        by_node.setdefault((q.claim_type, id(q.node)), []).append(item)
    wanted = list(wanted)
    want_value = {id(q.node) for q in wanted if q.claim_type == VALUE}
    want_grad = {id(q.node) for q in wanted if q.claim_type == GRADIENT}
    want_local = {(id(q.top), id(q.node)) for q in wanted if q.claim_type == PARTIAL and _direct(q)}
    rec: dict[tuple[str, int, Any], Any] = {}

    if forwards is not None and not any(q.claim_type == PARTIAL and not _direct(q) for q in wanted):
        values = [g for (kind, _), items in by_node.items() if kind == VALUE for g in items]
        key = (id(graph), _value_key(values))
        walk = forwards.get(key)
        if walk is None:
            walk = _forward(graph, by_node)
            if len(forwards) >= 1024:  # about 2.6 kB each for a neuron
                forwards.clear()
            forwards[key] = walk
    else:
        walk = _forward(graph, by_node)
    shadow, computed = walk
    for n in graph.nodes:
        if id(n) in want_value:
            rec[(VALUE, id(n), None)] = computed[id(n)]

    original = {id(s): n for n, s in shadow.items()}

    def reached(s: Node, g: Any) -> Any:
        """A gradient as the sweep computed it, then the learner's number for it put in."""
        n = original[id(s)]
        if id(n) in want_grad:
            rec[(GRADIENT, id(n), None)] = g
        return _apply(g, by_node.get((GRADIENT, id(n)), []), n.value)

    def local(s: Node, i: int, d: Any) -> Any:
        """A local partial as the op's rule gives it, then the learner's number put in."""
        n = original[id(s)]
        a = n.args[i]
        key = (id(n), id(a))
        if key in want_local:
            rec[(PARTIAL, id(a), id(n))] = d
        return _apply(d, local_given.get(key, []), a.value)

    reference_backward(shadow[graph.output], reached=reached, local=local)

    out: dict[Any, Any] = {}
    for q in wanted:
        if q.claim_type == PARTIAL and not _direct(q):
            assert q.top is not None
            try:
                raw = to_float(grad(shadow[q.top], shadow[q.node]).value)
            except Exception:  # noqa: BLE001 - no learner-world value: the claim is judged alone
                continue
        else:
            k = (q.claim_type, id(q.node), id(q.top) if q.claim_type == PARTIAL else None)
            if k not in rec:
                continue
            raw = rec[k]
        out[q.key()] = _pick(to_float(raw), q.index)
    return out
