"""Words and numbers for the boxes: what a node is called, what it holds, how it is defined.

This is the one place of the drawing package that reads engine objects' text helpers
(``chainrule.lang.notation``); everything it returns is plain text."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..core import anomaly
from ..core.node import Node
from ..core.values import decimal, is_exact, is_rational
from ..lang.naming import Naming
from ..lang.notation import (
    cancelled_value,
    definition,
    exact_form,
    nested_text,
    partial_formula,
)
from ..lang.symbols import local_text
from ..lang.typography import MINUS

MAX_FORMULA = 36  # characters: longer definitions are written one level deep
MAX_SUBTREE = 12  # unnamed nodes written out inside one definition
SHORT_ARRAY = 6  # arrays with at most this many elements are shown in full


def _wrap(text: str) -> str:
    """Parenthesise a formula used as a name: ∂L/∂(wᵀ @ x)."""
    if any(ch in text for ch in " +−-·/@^") and not (text.startswith("(") and _outer(text)):
        return f"({text})"
    return text


def _outer(text: str) -> bool:
    """Whether the first parenthesis closes at the very end (the whole text is wrapped)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def factor(text: str) -> str:
    """A number as a factor of a product: negative ones in parentheses."""
    return f"({text})" if text.startswith(MINUS) else text


def pretty(text: str) -> str:
    """Typographic minus signs in numbers (−0.11 rather than -0.11)."""
    if "-" not in text:  # most numbers: nothing to replace
        return text
    out = []
    for i, ch in enumerate(text):
        if ch == "-" and (i == 0 or text[i - 1] in " ([,=e"):
            out.append(MINUS if (i == 0 or text[i - 1] != "e") else "-")
        else:
            out.append(ch)
    return "".join(out)


def number(value: Any, digits: int) -> str:
    """A value as a short decimal; arrays in full when short, else shape and summary. A
    float's decimal is remembered: a drawing writes most numbers more than once (a value, a
    gradient, a factor of an edge's product); 0.0 and −0.0 share an entry, both written 0."""
    if type(value) is float or type(value) is np.float64:
        return _float_number(value, digits)
    return _number(value, digits)


@lru_cache(maxsize=1 << 16)
def _float_number(value: float, digits: int) -> str:
    return _number(value, digits)


def _number(value: Any, digits: int) -> str:
    if isinstance(value, np.ndarray) and value.size > SHORT_ARRAY:
        flat = np.asarray([float(v) for v in value.reshape(-1)], dtype=float)
        shape = "×".join(str(n) for n in value.shape)
        lo = decimal(float(flat.min()), 3)
        hi = decimal(float(flat.max()), 3)
        mean = decimal(float(flat.mean()), 3)
        return pretty(f"{shape}: mean {mean}, range [{lo}, {hi}]")
    return pretty(decimal(value, digits))


def value_text(node: Node, digits: int, names: Naming | None = None) -> str:
    """The value row: ``14/5 = 2.8``, ``σ(14/5) ≈ 0.94268`` or just ``0.94268``."""
    v = node.value
    dec = number(v, digits)
    if cancelled_value(node):  # 0.1 + 0.2 − 0.3: rounding, not a number worth reading
        return f"0 up to rounding ({dec})"
    if not is_exact(v) or (isinstance(v, np.ndarray) and v.size > SHORT_ARRAY):
        return dec
    form = exact_form(node, "text", digits, names=names) if _small(node) else None
    if form is None:
        return f"≈ {dec}"
    form = pretty(form)
    if form == dec:
        return dec
    if is_rational(v):
        return f"{form} = {dec}"
    if len(form) > MAX_FORMULA:
        return f"≈ {dec}"
    return f"{form} ≈ {dec}"


def grad_number(value: Any, digits: int) -> str:
    """A gradient: exact fractions stay exact (``−3/25 = −0.12``), the rest is decimal."""
    dec = number(value, digits)
    if is_rational(value) and not (isinstance(value, np.ndarray) and value.size > SHORT_ARRAY):
        if isinstance(value, np.ndarray):
            exact = nested_text(value, _fraction)  # a matrix stays a matrix
        else:
            exact = _fraction(value)
        exact = pretty(exact)
        if exact != dec:
            return f"{exact} = {dec}"
    return dec


def _fraction(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _small(node: Node) -> bool:
    """Whether writing a node out in full stays short (few unnamed nodes under it)."""
    count = 0
    stack = list(node.args)
    while stack:
        n = stack.pop()
        if n.name or not n.args:
            continue
        count += 1
        if count > MAX_SUBTREE:
            return False
        stack.extend(n.args)
    return True


class Namer:
    """Short names for nodes, from the graph's naming: x, x′, a short expression, a₁."""

    def __init__(
        self, naming: Naming, digits: int, also: dict[Node, list[str]] | None = None
    ) -> None:
        self.naming = naming
        self.digits = digits
        self.also = also or {}  # further names the program gave (y = x): shown in the title
        # titles written so far: a box and its tooltip both start with one (a Namer lives for
        # one drawing, whose numbers do not change meanwhile)
        self._titles: dict[Node, str] = {}

    def name(self, node: Node) -> str:
        """What ∂L/∂(…) is written with: the label, an expression in parentheses."""
        if node not in self.naming:
            return self.constant(node)
        label = pretty(self.naming.label(node))
        return label if self.naming.is_atom(node) else _wrap(label)

    def constant(self, node: Node) -> str:
        """A constant as the program wrote it: 1/5 stays 1/5 in exact arithmetic, a float is
        its decimal."""
        v = node.value
        if isinstance(v, Fraction):
            return pretty(_fraction(v))
        return number(v, self.digits)

    def fallback(self, node: Node) -> str:
        return pretty(self.naming.label(node))

    def definition(self, node: Node) -> str:
        """The right-hand side: the op applied to its inputs' labels (σ(a₃), w @ x + b₀)."""
        if not node.args:
            return ""
        return pretty(definition(node, "text", self.digits, names=self.naming))

    def title(self, node: Node) -> str:
        """The first line of a box: ``z = wᵀ @ x + b₀``, ``a₁ = σ(…)``, ``w``, ``2``."""
        got = self._titles.get(node)
        if got is None:
            got = self._titles[node] = self._title(node)
        return got

    def _title(self, node: Node) -> str:
        if not node.args:
            head = self.fallback(node) if node in self.naming else self.constant(node)
            return " = ".join([*self.also.get(node, []), head])
        d = self.definition(node)
        name = self.fallback(node)
        title = f"{name} = {d}" if self.naming.is_atom(node) and name != d else d
        return " = ".join([*self.also.get(node, []), title])


def partial_text(node: Node, i: int, namer: Namer, digits: int) -> str | None:
    """``∂ŷ/∂z = σ(z)(1 − σ(z)) = 0.054038`` for edge i of ``node`` (None without a partial)."""
    local = node.local[i] if node.local is not None else None
    if local is None:
        return None
    head = local_text(namer.name(node), namer.name(node.args[i]))
    formula = partial_formula(node, i, "text", namer.naming) if _small(node) else None
    value = grad_number(local, digits)
    if _at_a_kink(node):  # relu at 0: the number is a convention, and the drawing says so
        value = f"{value} (at a kink of {node.op.name}: by convention)"
    if formula is not None:
        formula = pretty(formula)
        if formula not in (value, number(local, digits)) and len(formula) <= MAX_FORMULA:
            return f"{head} = {formula} = {value}"
    return f"{head} = {value}"


def _at_a_kink(node: Node) -> bool:
    """Whether ``node`` is evaluated exactly where its op has no derivative (relu at 0)."""
    return node.op.name in anomaly.KINK_CONVENTIONS and bool(anomaly.kinks([node]))
