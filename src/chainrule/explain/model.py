"""The ``Derivation``: a worked solution as data, read off a graph after ``backward``.

Every number in it is the engine's own (values, local partials, edge contributions, gradients);
this module only puts them in the order a person follows: the forward pass in topological order,
then the backward pass in reverse, then the gradient with respect to every input. Writers
(Markdown, LaTeX, text) turn it into words without computing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.autodiff import edge_contribution
from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from ..core.snapshot import with_gradients
from ..lang.naming import Naming, also_called
from ..lang.notation import exact_form, latex_name
from . import formulas as f
from .formulas import Math

ROLE_INPUT = "input"
ROLE_CONSTANT = "constant"
ROLE_OPERATION = "operation"


@dataclass
class ForwardStep:
    """One node of the forward pass: name = definition = numbers put in = result."""

    node: Node
    label: Math
    role: str
    value: Any
    formula: Math | None = None
    substituted: Math | None = None
    exact: Math | None = None  # an exact form (14/5, σ(14/5)) in exact mode


@dataclass
class LocalPartial:
    """∂consumer/∂input on one edge: the op table's formula and its value, when elementwise."""

    consumer: Node
    index: int
    label: Math
    formula: Math | None
    value: Any


@dataclass
class Term:
    """One chain-rule product carried by an edge: ∂L/∂consumer · ∂consumer/∂node."""

    consumer: Node
    index: int
    upstream_label: Math
    upstream: Any
    local: LocalPartial
    contribution: Any
    vjp: tuple[Math, Math] | None = None  # the product as a rule and with numbers put in


@dataclass
class BackwardStep:
    """∂L/∂node: the seed for the output, otherwise the sum of the terms over its uses."""

    node: Node
    label: Math
    value: Any
    terms: list[Term] = field(default_factory=list)
    seed: bool = False

    @property
    def fan_out(self) -> bool:
        return len(self.terms) > 1


@dataclass
class InputGradient:
    """A row of the final table: the gradient with respect to one input (or one element)."""

    node: Node
    index: tuple[int, ...] | None
    label: Math
    value: Any


@dataclass
class Derivation:
    """A whole worked solution of one graph."""

    graph: Graph
    output: Node
    digits: int
    exact: bool
    forward: list[ForwardStep]
    backward: list[BackwardStep]
    gradients: list[InputGradient]

    @property
    def output_label(self) -> Math:
        return f.label(self.output, self.graph.naming)

    def label(self, node: Node) -> Math:
        """A node's label in this solution (the graph's naming)."""
        return f.label(node, self.graph.naming)

    @property
    def fan_outs(self) -> list[BackwardStep]:
        return [s for s in self.backward if s.fan_out]

    def step(self, node: Node) -> BackwardStep | None:
        for s in self.backward:
            if s.node is node:
                return s
        return None


def _role(node: Node) -> str:
    if node.args:
        return ROLE_OPERATION
    return ROLE_INPUT if node.requires_grad else ROLE_CONSTANT


def _shown(node: Node) -> bool:
    """Unnamed constants (the 2 of a square) live inside expressions, not as steps."""
    return bool(node.args) or bool(node.name) or node.requires_grad


def _forward_step(
    node: Node, digits: int, exact: bool, names: Naming, also: list[str] | None = None
) -> ForwardStep:
    role = _role(node)
    label = f.label(node, names)
    if also:  # y = x: the step of x says that y is x, so the user's name y is found and shown
        label = Math(
            " = ".join([*also, label.text]),
            " = ".join([*(latex_name(a) for a in also), label.latex]),
        )
    step = ForwardStep(node, label, role, node.value)
    if node.args:
        step.formula = f.formula(node, names)
        step.substituted = f.substituted(node, digits, exact)
    if exact and f.is_exact(node.value):
        rational = f.exact_num(node.value)
        if rational is not None:
            step.exact = rational
        else:
            text = exact_form(node, "text", names=names)
            latex = exact_form(node, "latex", names=names)
            if text and latex:
                step.exact = Math(text, latex)
    return step


def _terms(
    node: Node, output: Node, uses: list[tuple[Node, int]], digits: int, names: Naming
) -> list[Term]:
    terms = []
    for consumer, i in uses:
        if consumer.grad is None or consumer.local is None:
            continue  # not on a path to the output
        contribution = edge_contribution(consumer, i)
        if contribution is None:
            continue
        local_value = consumer.local[i]
        local = LocalPartial(
            consumer,
            i,
            f.partial_label(consumer, node, names),
            f.partial(consumer, i, names) if local_value is not None else None,
            local_value,
        )
        terms.append(
            Term(
                consumer,
                i,
                f.derivative(output, consumer, names),
                consumer.grad,
                local,
                contribution,
                None
                if local_value is not None
                else f.vjp_formula(consumer, i, output, digits, names),
            )
        )
    return terms


def _input_rows(nodes: list[Node], output: Node, names: Naming) -> list[InputGradient]:
    rows = []
    for node in nodes:
        if node.args or not node.requires_grad or node.grad is None:
            continue
        g = node.grad
        if isinstance(g, np.ndarray) and g.ndim > 0:
            for index in np.ndindex(g.shape):
                rows.append(
                    InputGradient(
                        node, index, f.element_derivative(output, node, index, names), g[index]
                    )
                )
        else:
            rows.append(InputGradient(node, None, f.derivative(output, node, names), g))
    return rows


def derive(graph: Graph, digits: int = 5, *, exact: bool | None = None) -> Derivation:
    """The worked solution of ``graph``, from a fresh backward pass on a private copy (the
    caller's gradients are never read or changed; ``Derivation.graph`` is the copy).

    ``digits`` is the number of significant digits of every decimal shown; ``exact`` (default:
    whether the output holds an exact value) adds exact forms such as 14/5 and σ(14/5)."""
    if digits < 1:
        raise ChainruleError(f"digits must be 1 or more, got {digits}")
    return derive_fresh(with_gradients(graph), digits, exact=exact)


def derive_fresh(graph: Graph, digits: int = 5, *, exact: bool | None = None) -> Derivation:
    """``derive`` on a graph that is already a private copy holding the gradients of a fresh
    backward pass from its output (``core.snapshot.with_gradients``): the explorer makes that
    copy once and draws it too, instead of one copy and one backward pass per reader."""
    if digits < 1:
        raise ChainruleError(f"digits must be 1 or more, got {digits}")
    output = graph.output
    if exact is None:
        exact = f.is_exact(output.value) or any(f.is_exact(n.value) for n in graph.inputs)
    nodes = [n for n in graph.nodes if _shown(n)]
    names = graph.naming
    also = also_called(graph.aliases, names)
    forward = [_forward_step(n, digits, exact, names, also.get(n)) for n in nodes]
    uses = graph.consumers()
    backward = []
    for node in reversed(nodes):
        if node is output:
            backward.append(
                BackwardStep(node, f.derivative(output, node, names), node.grad, seed=True)
            )
            continue
        if not node.requires_grad or node.grad is None:
            continue
        terms = _terms(node, output, uses.get(node, []), digits, names)
        backward.append(BackwardStep(node, f.derivative(output, node, names), node.grad, terms))
    return Derivation(
        graph, output, digits, exact, forward, backward, _input_rows(graph.nodes, output, names)
    )
