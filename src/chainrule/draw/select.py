"""Which nodes get a box: paths from chosen inputs, hidden constants, collapsed sub-expressions.

Works on the tape in one or two linear passes (no recursion), so it stays fast at 10⁴ nodes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from ..lang.naming import index_path


@dataclass
class Selection:
    key: dict[Node, str] = field(default_factory=dict)  # node → the id of the box it is drawn in
    boxes: dict[str, list[Node]] = field(default_factory=dict)  # box id → nodes, head last
    group_names: dict[str, str] = field(default_factory=dict)
    grouped: set[Node] = field(default_factory=set)


def select(
    g: Graph,
    collapse: list[str],
    paths_from: list[str],
    constants: bool,
    gradients: bool,
) -> Selection:
    nodes = g.nodes
    visible = [True] * len(nodes)
    if paths_from:
        _keep_paths(g, paths_from, visible)
    for i, n in enumerate(nodes):
        if not constants and not n.requires_grad and n.op.name != "input":
            if not n.args or gradients:
                visible[i] = False
    groups = _groups(g, collapse) if collapse else {}
    sel = Selection()
    for i, n in enumerate(nodes):
        if not visible[i]:
            continue
        name = groups.get(n)
        key = f"g_{collapse.index(name)}" if name is not None else f"n{i}"
        if name is not None:
            sel.group_names[key] = name
            sel.grouped.add(n)
        sel.key[n] = key
        sel.boxes.setdefault(key, []).append(n)
    return sel


def module_groups(g: Graph) -> list[str]:
    """The modules of a PyTorch model's graph to draw as one box each, by default.

    A module is worth a box when it holds two operations or more (a lone ``Linear`` stays
    visible, with its formula); a module that holds more than half the model's operations and
    has sub-modules (``blocks`` of a ``Sequential``) is opened, and its sub-modules are judged
    the same way, so a model is never folded into one box. A parameter's transposition
    (``fc1.weightᵀ``) is not counted: it is how PyTorch stores a weight, not an operation."""
    paths = [
        m
        for n, m in g.modules.items()
        if not (n.op.name in ("permute", "transpose") and all(not a.args for a in n.args))
    ]
    total = len(paths)
    groups: list[str] = []
    pending = [""]
    while pending:  # a work list, not recursion: module trees can be deep
        prefix = pending.pop(0)
        children: dict[str, int] = {}
        deeper: set[str] = set()
        for p in paths:
            if prefix and not p.startswith(prefix):
                continue
            rest = p[len(prefix) :]
            head = rest.split(".", 1)[0]
            child = prefix + head
            children[child] = children.get(child, 0) + 1
            if "." in rest:
                deeper.add(child)
        for child, count in children.items():
            if count * 2 > total and child in deeper:
                pending.append(child + ".")
            elif count >= 2:
                groups.append(child)
    return groups


def _keep_paths(g: Graph, names: list[str], visible: list[bool]) -> None:
    """Keep the nodes that depend on one of the named inputs (all of them lead to the output)."""
    starts = set()
    for name in names:
        node = g.find(name)
        if node is None:
            listing = ", ".join(g.labels()) or "none"
            raise ChainruleError(f"paths from {name!r}: no node has that name (names: {listing})")
        starts.add(node)
    reached: set[Node] = set()
    for i, n in enumerate(g.nodes):
        if n in starts or any(a in reached for a in n.args):
            reached.add(n)
        else:
            visible[i] = False


def _groups(g: Graph, collapse: list[str]) -> dict[Node, str]:
    """node → the collapse name whose box holds it.

    A group is seeded by the nodes named ``c`` or ``c.<anything>``; an unnamed node joins it when
    every node that uses it is already in the group (walking the tape backwards, one pass)."""
    owner: dict[Node, str] = {}
    consumers = g.consumers()
    for c in collapse:
        path = c
        if "." in c and not any(n.name == c for n in g.nodes if n.name):
            path = index_path(c)  # blocks.0 as PyTorch writes it: the module shown as blocks[0]
        seeds = [
            n
            for n in g.nodes
            if n.name and (n.name == path or n.name.startswith((path + ".", path + "[")))
        ]
        if not seeds:
            names = ", ".join(g.names) or "none"
            raise ChainruleError(f"collapse {c!r}: no node has that name (names: {names})")
        members = set(seeds)
        last = max(g.index(s) for s in seeds)
        for i in range(last, -1, -1):
            n = g.nodes[i]
            if n in members or n in owner or n.name or n.op.name == "input":
                continue
            uses = consumers[n]
            if uses and all(u in members for u, _ in uses):
                members.add(n)
        for n in members:
            owner.setdefault(n, c)
    return owner
