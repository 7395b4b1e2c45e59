"""Groups of nodes the explorer can show as one box: a PyTorch model's modules, and the repeated
blocks of a program (a layer applied n times, a chain of the same neuron).

A big graph read node by node is thousands of steps of the same few operations; collapsed, each
module or block is one box (its name, its output's value or gradient) and one forward and one
backward step, opened on demand. Modules are the drawings' own (``draw.select.module_groups``);
blocks are found on the tape: each named operation is a statement together with the unnamed
nodes and the leaves only it uses, and a run of three or more statements (or sequences of up to
``MAX_PERIOD`` statements) written with the same operations in the same arrangement is a run of
blocks. Everything here is one or two passes over the tape: no recursion on graph depth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.graph import Graph
from ..core.node import Node
from ..draw.select import _groups as module_members
from ..draw.select import module_groups

MAX_PERIOD = 8  # statements in one block, at most
MIN_REPEATS = 3  # a block is a block when it comes three times or more in a row


@dataclass
class Group:
    """One collapsible group: its name, its nodes (tape order), the nodes it hands on (used
    outside it, or the graph's output) and the outside nodes it reads."""

    name: str
    kind: str  # module | block
    members: list[int]
    outputs: list[int] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "members": self.members,
            "outputs": self.outputs,
            "inputs": self.inputs,
        }


def find_groups(g: Graph) -> list[Group]:
    """The groups of a graph: its PyTorch modules when it has them, else its repeated blocks."""
    index = {n: k for k, n in enumerate(g.nodes)}
    sets: list[tuple[str, str, list[int]]] = []
    if g.modules:
        names = module_groups(g)
        owner = module_members(g, names) if names else {}
        by: dict[str, list[int]] = {}
        for n, name in owner.items():
            by.setdefault(name, []).append(index[n])
        sets = [(name, "module", sorted(by[name])) for name in names if name in by]
    else:
        sets = [(name, "block", members) for name, members in _blocks(g, index)]
    out: list[Group] = []
    consumers = g.consumers()
    for name, kind, members in sets:
        if len(members) < 2:
            continue
        inside = set(members)
        outputs = [k for k in members if _used_outside(g.nodes[k], g, consumers, index, inside)]
        inputs: list[int] = []
        for k in members:
            for a in g.nodes[k].args:
                j = index[a]
                if j not in inside and j not in inputs:
                    inputs.append(j)
        if not outputs:
            outputs = [members[-1]]
        out.append(Group(name, kind, members, outputs, inputs))
    return out


def _used_outside(
    n: Node,
    g: Graph,
    consumers: dict[Node, list[tuple[Node, int]]],
    index: dict[Node, int],
    inside: set[int],
) -> bool:
    return n is g.output or any(index[u] not in inside for u, _ in consumers[n])


def _statements(g: Graph, index: dict[Node, int]) -> list[list[int]]:
    """Each named operation with the unnamed nodes and the leaves that only it uses (its
    members, tape order); a member belongs to the first statement that claims it."""
    consumers = g.consumers()
    claimed: set[int] = set()
    out: list[list[int]] = []
    for k, n in enumerate(g.nodes):
        if not n.args or not n.name:
            continue
        members = {k}
        work = [n]
        while work:  # a work list: statements can be deep expressions
            m = work.pop()
            for a in m.args:
                j = index[a]
                if j in members or j in claimed or (a.name and a.args):
                    continue
                if all(index[u] in members for u, _ in consumers[a]):
                    members.add(j)
                    work.append(a)
        claimed |= members
        out.append(sorted(members))
    return out


def _signature(g: Graph, members: list[int], index: dict[Node, int]) -> tuple[Any, ...]:
    """The operations of a statement and how they connect, without its numbers, names or
    leaves (a leaf it reads is an input wherever it lives: the first neuron's x is its own)."""
    ops = [k for k in members if g.nodes[k].args]
    local = {k: j for j, k in enumerate(ops)}
    sig: list[Any] = []
    for k in ops:
        n = g.nodes[k]
        shape = tuple(np.shape(n.value))
        refs = tuple(local.get(index[a], -1) for a in n.args)
        sig.append((n.op.name, repr(sorted(n.params.items())) if n.params else "", shape, refs))
    return tuple(sig)


def _blocks(g: Graph, index: dict[Node, int]) -> list[tuple[str, list[int]]]:
    """Runs of repeated statements, one group per repetition, named by its place in the run
    (``block 3 of 5``; ``run 2, block 3 of 5`` when a program has several runs)."""
    stmts = _statements(g, index)
    sigs = [_signature(g, s, index) for s in stmts]
    runs: list[list[list[int]]] = []
    i, m = 0, len(stmts)
    while i < m:
        best: tuple[int, int] | None = None
        for p in range(1, MAX_PERIOD + 1):
            if i + p * MIN_REPEATS > m:
                break
            r = 1
            while i + (r + 1) * p <= m and sigs[i + r * p : i + (r + 1) * p] == sigs[i : i + p]:
                r += 1
            if r >= MIN_REPEATS and (best is None or r * p > best[0] * best[1]):
                best = (p, r)
        if best is None:
            i += 1
            continue
        p, r = best
        runs.append(
            [sorted(k for s in stmts[i + j * p : i + (j + 1) * p] for k in s) for j in range(r)]
        )
        i += p * r
    out: list[tuple[str, list[int]]] = []
    for n, run in enumerate(runs):
        head = f"run {n + 1}, " if len(runs) > 1 else ""
        out.extend((f"{head}block {j + 1} of {len(run)}", members) for j, members in enumerate(run))
    return out
