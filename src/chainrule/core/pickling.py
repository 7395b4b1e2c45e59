"""Pickling and copying nodes and graphs (``pickle``, ``copy.deepcopy``), with no recursion.

Python's default pickling follows a node's inputs one call deeper per level, so a chain a few
thousand operations long would overflow the stack; and an op holds its rules in read-only
mappings that cannot be pickled. Here a node is written as the flat list of the nodes it
depends on, in graph order, each with its op's *name* (ops are looked up in the table again
when read back). Leaves (inputs, parameters, constants) are written as objects of their own, so
the leaves that several pickled nodes share stay one object when read back (a model's
parameters and a loss pickled together); the operations between them are rebuilt for each
pickled node. A ``Graph`` is written whole: its nodes stay one graph.

Read back, every node gets a fresh creation number in graph order, which keeps the invariant
the engine relies on (a node is created after its inputs). What a node memoised from its value
(local partials, what an op kept for backward) is not written: it is recomputed when needed."""

from __future__ import annotations

from typing import Any

from ..ops import OPS
from .autodiff import topo_order
from .graph import Graph
from .node import REDUCE, Node, new_node

# (class, op name, input positions, value, grad, name, kind, requires_grad, params, extras)
Record = tuple[Any, str, tuple[int, ...], Any, Any, Any, int, bool, Any, Any]


def _record(node: Node, positions: tuple[int, ...]) -> Record:
    op = node.op
    if OPS.get(op.name) is not op:
        raise TypeError(
            f"node {node.label()}: its op {op.name!r} is not one of chainrule's op table, "
            "so it cannot be pickled or copied"
        )
    # a subclass's own slots (micrograd's Value marks nodes there) start empty
    extras = {s: None for c in type(node).__mro__[:-2] for s in c.__dict__.get("__slots__", ())}
    params = None if node.params is None else dict(node.params)
    return (
        type(node),
        op.name,
        positions,
        node.value,
        node.grad,
        node.name,
        node.kind,
        node.requires_grad,
        params,
        extras,
    )


def _build(record: Record, inputs: tuple[Node, ...]) -> Node:
    cls, op, _, value, grad, name, kind, requires_grad, params, extras = record
    n = new_node(value, OPS[op], inputs, kind, requires_grad, params, name, cls=cls)
    n.grad = grad
    for slot, v in (extras or {}).items():
        setattr(n, slot, v)
    return n


def _entries(nodes: list[Node]) -> list[Any]:
    """Leaves as themselves (pickled on their own), every other node as a record of its
    inputs' positions in ``nodes`` (which is in graph order)."""
    where = {n: i for i, n in enumerate(nodes)}
    return [n if n.a0 is None else _record(n, tuple(where[a] for a in n.args)) for n in nodes]


def _rebuild(entries: list[Any]) -> list[Node]:
    nodes: list[Node] = []
    for e in entries:
        if isinstance(e, tuple):
            nodes.append(_build(e, tuple(nodes[i] for i in e[2])))
        else:
            nodes.append(e)  # a leaf, already read back
    return nodes


def leaf(record: Record) -> Node:
    """A leaf read back (``pickle`` calls this)."""
    return _build(record, ())


def node(entries: list[Any]) -> Node:
    """A node read back with everything it depends on (``pickle`` calls this)."""
    return _rebuild(entries)[-1]


def reduce_node(n: Node) -> tuple[Any, tuple[Any, ...]]:
    """``Node.__reduce__``: a leaf as its record; an operation as its whole tape."""
    if n.a0 is None:
        return leaf, (_record(n, ()),)
    return node, (_entries(topo_order(n)),)


def graph(
    entries: list[Any], outputs: list[int], text: str | None, extras: dict[str, Any]
) -> Graph:
    """A graph read back (``pickle`` calls this)."""
    nodes = _rebuild(entries)
    return Graph(
        [nodes[i] for i in outputs],
        text=text,
        source={nodes[i]: at for i, at in extras["source"]},
        aliases={k: nodes[i] for k, i in extras["aliases"]},
        symbols={nodes[i]: s for i, s in extras["symbols"]},
        modules={nodes[i]: m for i, m in extras["modules"]},
    )


def reduce_graph(g: Graph) -> tuple[Any, tuple[Any, ...]]:
    """``Graph.__reduce__``: its nodes once, and its maps by node position. Labels are worked
    out again from the nodes when read back."""
    at = g.index
    extras = {
        "source": [(at(n), v) for n, v in g.source.items() if n in g._index],
        "aliases": [(k, at(n)) for k, n in g.aliases.items()],
        "symbols": [(at(n), s) for n, s in g.symbols.items() if n in g._index],
        "modules": [(at(n), m) for n, m in g.modules.items()],
    }
    return graph, (_entries(g.nodes), [at(o) for o in g.outputs], g.text, extras)


REDUCE["node"] = reduce_node
REDUCE["graph"] = reduce_graph
