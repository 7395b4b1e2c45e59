"""A private copy of a graph with its own gradients.

Drawings and worked solutions need the gradient of the output on every node. Running
``backward`` on the caller's graph would overwrite gradients the caller may have computed
differently (another output, ``accumulate=True``, a custom seed), so the teaching outputs copy
the tape and run backward on the copy: the caller's nodes are never changed."""

from __future__ import annotations

from .graph import Graph
from .node import Node, new_node


def copy_graph(g: Graph) -> tuple[Graph, dict[Node, Node]]:
    """The same nodes (values, names, ops, parameters) as new objects, with the graph's
    aliases, symbols and modules; and old → new."""
    made: dict[Node, Node] = {}
    for n in g.nodes:
        args = tuple(made[a] for a in n.args)
        params = dict(n.params) if n.params is not None else None
        made[n] = new_node(n.value, n.op, args, n.kind, n.requires_grad, params, n.name)
    copy = Graph(
        [made[o] for o in g.outputs],
        source={made[n]: where for n, where in g.source.items() if n in made},
        text=g.text,
        aliases={k: made[n] for k, n in g.aliases.items() if n in made},
        symbols={made[n]: s for n, s in g.symbols.items() if n in made},
        modules={made[n]: m for n, m in g.modules.items() if n in made},
    )
    return copy, made


def with_gradients(g: Graph) -> Graph:
    """A copy of ``g`` after a fresh backward pass from its output (seed 1, or ones)."""
    copy, _ = copy_graph(g)
    copy.backward()
    return copy
