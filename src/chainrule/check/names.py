"""Quantities named as people write them: ``L``, ``yhat`` or ``ŷ``, ``b0`` or ``b₀``, ``x1`` for the
first element of ``x``, ``dL/dz``, ``∂L/∂w₁``, ``grad w1``, ``∂ŷ/∂z``."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.node import Node
from ..lang.typography import ACCENTS, FROM_SUBSCRIPT, TO_SUPERSCRIPT, layer_spelled

VALUE = "value"
GRADIENT = "gradient"
PARTIAL = "partial"

_ACCENTS = ACCENTS
_SUBSCRIPTS = FROM_SUBSCRIPT
# primes as typed on a keyboard or as printed: h'' and h″ are one name (h′′)
_OPERATORS = str.maketrans(
    {"−": "-", "·": "*", "⋅": "*", "×": "*", "⊙": "*", "÷": "/", "'": "′", "″": "′′", "‴": "′′′"}
)
_POWER = re.compile(r"\^\{?(-?\d+)\}?")
_LATEX_ACCENT = re.compile(r"\\(hat|tilde|bar|dot)\{?([A-Za-z])\}?")


@dataclass(frozen=True)
class Quantity:
    """What a claim is about: a value, ∂output/∂node, or ∂top/∂node; maybe one element.

    ``claim_type`` is VALUE, GRADIENT or PARTIAL (``kind`` elsewhere in chainrule means the kind
    of number a node holds, hence a name of its own here)."""

    claim_type: str
    node: Node
    index: tuple[int, ...] | None = None
    top: Node | None = None  # for PARTIAL

    def key(self) -> tuple[str, int, tuple[int, ...] | None, int | None]:
        return (
            self.claim_type,
            id(self.node),
            self.index,
            id(self.top) if self.top is not None else None,
        )


# an element's name and where its count starts: brackets as programs (w[0] is the first),
# digits and subscripts as maths (w1, w₁, W1,2, W₁,₂ and W_{1,2} are canonically w1 and W1,2)
_ELEMENT_FORMS = (
    (re.compile(r"(.+?)\[(\d+(?:,\d+)*)\]"), 0),
    (re.compile(r"(.*?\D)(\d+,\d+)"), 1),
    (re.compile(r"(.*?\D)(\d+)"), 1),
)


def _unwrapped(s: str) -> str:
    """``s`` without brackets around the whole of it: (h ⊙ h) → h ⊙ h, but log(p[0]) and
    (a)(b) stay as they are."""
    while s.startswith("(") and s.endswith(")"):
        depth = 0
        for k, ch in enumerate(s):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and k < len(s) - 1:
                return s  # the first bracket closes before the end
        s = s[1:-1].strip()
    return s


def canon(name: str) -> str:
    """A spelling-free key: ŷ, yhat, y_hat, \\hat{y} → yhat; b₀, b_0, b0 → b0; z⁽¹⁾, z^(1),
    z^{[1]} → z⁽¹⁾."""
    s = _LATEX_ACCENT.sub(lambda m: m.group(2) + m.group(1), layer_spelled(name))
    # a whole power as typed, (s - y)^2, is the label's (s − y)²; a bare ^ after a name is a hat
    s = _POWER.sub(lambda m: m.group(1).translate(TO_SUPERSCRIPT), s)
    s = unicodedata.normalize("NFD", s).translate(_SUBSCRIPTS).translate(_OPERATORS)
    out = []
    for ch in s:
        if ch in _ACCENTS:
            out.append(_ACCENTS[ch])
        elif ch in "_{}\\ \t":
            continue
        elif ch == "^" and out:
            out.append("hat")
        else:
            out.append(ch)
    return "".join(out)


class Resolver:
    """Finds the node (and element) a learner's name stands for in one graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.output = graph.output
        self.by_key: dict[str, Node] = {}
        # every label the outputs print (x, x′, a₁, ŷ − y) and every alias
        for name, node in graph.labels().items():
            self.by_key.setdefault(canon(name), node)
        self.by_lower: dict[str, list[Node]] = {}
        for key, node in self.by_key.items():
            self.by_lower.setdefault(key.lower(), []).append(node)

    def known(self) -> str:
        return ", ".join(self.graph.labels()) or "none"

    def _node(self, key: str) -> Node | None:
        if key in self.by_key:
            return self.by_key[key]
        nodes = self.by_lower.get(key.lower(), [])
        return nodes[0] if len(nodes) == 1 else None

    def element(self, name: str, original: str) -> tuple[Node, tuple[int, ...] | None]:
        """A named node, or one element of a vector or matrix: in brackets as the program
        indexes it, from 0 (``w[0]``, ``W[0,1]``); with digits or subscripts as maths does,
        from 1 (``w1``, ``w₁``, ``w_1``; ``W1,2``, ``W₁,₂``, ``W_{1,2}``)."""
        key = canon(_unwrapped(name.strip()))
        node = self._node(key)
        if node is not None:
            return node, None
        for pattern, start in _ELEMENT_FORMS:
            m = pattern.fullmatch(key)
            base = self._node(m.group(1)) if m else None
            if m is None or base is None:
                continue
            if not (isinstance(base.value, np.ndarray) and base.value.ndim):
                break
            index = tuple(int(i) - start for i in m.group(2).split(","))
            who = self.graph.label(base)
            if len(index) == 1 and base.value.ndim > 1:
                raise ValueInputError(
                    f"{original!r}: {who} is a matrix; name an element by row and column, "
                    f"{who}1,2 (from 1) or {who}[0,1] (from 0, as the program indexes it)"
                )
            if len(index) != base.value.ndim or any(
                not 0 <= i < n for i, n in zip(index, base.value.shape, strict=True)
            ):
                counting = (
                    "in brackets elements count from 0, as in the program"
                    if start == 0
                    else "written with digits or subscripts, elements count from 1"
                )
                raise ValueInputError(
                    f"{original!r}: {who} has shape {base.value.shape}; {counting}"
                )
            return base, index
        raise ValueInputError(
            f"{original!r}: no quantity is named {name.strip()!r} (named: {self.known()})"
        )

    def quantity(self, name: str) -> Quantity:
        text = name.strip()
        s = text.replace("∂", "d").replace(" ", "")
        m = re.fullmatch(r"(?:grad|∇|nabla)_?(.+)", s)
        if m and not self._node(canon(s)):
            node, index = self.element(m.group(1), text)
            return Quantity(GRADIENT, node, index)
        m = re.fullmatch(r"d(\(.+?\)|[^/]+)/d(\(.+\)|.+)", s)
        if m and not self._node(canon(s)):
            top, top_index = self.element(m.group(1), text)
            if top_index is not None:
                raise ValueInputError(f"{text!r}: the top of a derivative must be a whole node")
            node, index = self.element(m.group(2), text)
            if top is self.output:
                return Quantity(GRADIENT, node, index)
            return Quantity(PARTIAL, node, index, top)
        node, index = self.element(text, text)
        return Quantity(VALUE, node, index)
