"""The quantities a worksheet asks for, named as people write them (``z``, ``ŷ``, ``dL/dw1``,
``∂ŷ/∂z``), with the engine's true value of each.

These names are the contract between the answer key, the manifest and a class's submissions:
``check``'s resolver reads every one of them back to the same node."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..check.judge import true_value
from ..check.names import GRADIENT, PARTIAL, VALUE, Quantity, Resolver
from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.node import Node
from ..explain.formulas import (
    Math,
    derivative,
    element_derivative,
    element_label,
    element_partial,
    label,
    partial_label,
)


@dataclass(frozen=True)
class Asked:
    """One asked quantity: its written name, its label in maths, and the true value."""

    name: str
    math: Math
    quantity: Quantity
    value: float


def _element_name(node: Node, index: tuple[int, ...]) -> str:
    """An element as a student types it: w1, W1,2 (counting from 1, as maths does); after a
    name that ends in a digit, the program's brackets, counting from 0 (w1[0])."""
    name = node.name or node.label()
    if not name[-1].isdigit() and name[-1] not in "₀₁₂₃₄₅₆₇₈₉":
        return name + ",".join(str(i + 1) for i in index)
    return f"{name}[{','.join(str(i) for i in index)}]"


def _elements(node: Node) -> list[tuple[int, ...] | None]:
    value = node.value
    if isinstance(value, np.ndarray) and value.ndim:
        return list(np.ndindex(value.shape))
    return [None]


def _asked(q: Quantity, name: str, math: Math) -> Asked:
    value = true_value(q)
    if isinstance(value, np.ndarray):
        value = float(value.reshape(-1)[0]) if value.size == 1 else value
    if isinstance(value, np.ndarray):
        raise ValueInputError(f"{name}: asks for a whole array; name one element")
    return Asked(name, math, q, float(value))


def asked_quantities(
    graph: Graph,
    values: list[str] | None,
    gradients: list[str] | None,
    partials: list[str],
) -> list[Asked]:
    """Every asked quantity of a graph after ``backward``, vectors split into elements: the
    values (default: every named operation), the local partials, then the totals (default: with
    respect to every named input)."""
    resolver = Resolver(graph)
    output = graph.output
    out_name = graph.label(output)
    names = graph.naming
    asked: list[Asked] = []
    if values is None:
        values = [n.name for n in graph.nodes if n.name and n.args]
    for name in values:
        node, index = resolver.element(name, name)
        for idx in _elements(node) if index is None else [index]:
            if idx is None:
                asked.append(_asked(Quantity(VALUE, node), node.name or name, label(node, names)))
            else:
                q = Quantity(VALUE, node, idx)
                asked.append(_asked(q, _element_name(node, idx), element_label(node, idx, names)))
    for text in partials:
        q = resolver.quantity(text)
        if q.claim_type != PARTIAL or q.top is None:
            raise ValueInputError(
                f"[ask] partials: {text!r} is not a local partial (∂top/∂node, top not the output)"
            )
        top = q.top
        top_name = graph.label(top)
        for idx in _elements(q.node) if q.index is None else [q.index]:
            if idx is None:
                name = f"∂{top_name}/∂{graph.label(q.node)}"
                asked.append(_asked(q, name, partial_label(top, q.node, names)))
            else:
                qi = Quantity(PARTIAL, q.node, idx, top)
                name = f"∂{top_name}/∂{_element_name(q.node, idx)}"
                asked.append(_asked(qi, name, element_partial(top, q.node, idx, names)))
    if gradients is None:
        gradients = [n.name for n in graph.inputs if n.name and n.requires_grad]
    for name in gradients:
        node, index = resolver.element(name, name)
        if node.grad is None:
            raise ValueInputError(f"[ask] gradients: {name!r} has no gradient (a constant)")
        for idx in _elements(node) if index is None else [index]:
            if idx is None:
                q = Quantity(GRADIENT, node)
                written = f"d{out_name}/d{node.name or name}"
                asked.append(_asked(q, written, derivative(output, node, names)))
            else:
                q = Quantity(GRADIENT, node, idx)
                written = f"d{out_name}/d{_element_name(node, idx)}"
                asked.append(_asked(q, written, element_derivative(output, node, idx, names)))
    seen: set[str] = set()
    unique = []
    for a in asked:
        if a.name not in seen:
            seen.add(a.name)
            unique.append(a)
    return unique
