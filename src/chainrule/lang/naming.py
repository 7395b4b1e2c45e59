"""What every node of one graph is called, the same in every output and accepted back as input.

A named node keeps its name. A name given twice (``x = 1; x = x + 1``) is shown apart: x, x′, x″,
x‴, x⁽⁵⁾ … in program order. An unnamed intermediate is shown by its expression while that is
short and new (``ŷ − y``); beyond that it gets a generated name a₁, a₂, … numbered in graph order
(another letter when the program's own names use that one). Numbering belongs to the graph,
never to the process, so one program always gets the same names.

The table, drawings, explanations, JSON and ``check`` all read labels from here, and
``--output``, ``--wrt`` and claims are looked up here, so every name printed is a name accepted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from ..core.autodiff import topo_order
from ..core.node import Node
from .typography import TO_SUBSCRIPT, TO_SUPERSCRIPT, layer_spelled
from .writing import (
    ATOM,
    _vector_form,
    _write,
    latex_name,
    name_precedence,
    number_text,
    write_one_level,
)

MAX_EXPRESSION = 18  # characters: a longer expression is referred to by a generated name
MAX_OPERATIONS = 2  # binary operations: a label of more (a² / 2 + 10 / a²) reads as a formula
_BINARY = (" + ", " − ", " · ", " / ", " @ ", " ⊙ ", " × ")
LETTERS = "autsrpqkmn"  # letters for generated names, the first one the program leaves free
_SUBSCRIPT = TO_SUBSCRIPT
_SUPERSCRIPT = TO_SUPERSCRIPT
_PRIMES = ("′", "″", "‴")
_OPERATORS = str.maketrans({"−": "-", "·": "*", "⋅": "*", "×": "*", "÷": "/", "'": "′"})


def key(text: str) -> str:
    """How a typed name is compared with a label: Unicode-normalised (b₀ is b0, as in
    programs), spaces dropped, typographic operators as typed (− is -, · is *), primes as
    typed on a keyboard (h'' is h″), a layer label as in LaTeX (W^(1), W^{[1]} are W⁽¹⁾)."""
    normal = unicodedata.normalize("NFKC", layer_spelled(text))
    return "".join(normal.translate(_OPERATORS).split())


def version_name(name: str, k: int) -> str:
    """The k-th (k ≥ 1) reassignment of ``name``: x′, x″, x‴, then x⁽⁵⁾ for the fifth."""
    if k <= len(_PRIMES):
        return name + _PRIMES[k - 1]
    return f"{name}⁽{str(k + 1).translate(_SUPERSCRIPT)}⁾"


class Naming:
    """Labels for the nodes of one graph (given in topological order), text and LaTeX.

    ``symbols`` names constant leaves that stand for a constant such as e or π. With ``base``
    (the naming of a graph these nodes extend, such as the gradient graph of a program), nodes
    ``base`` knows keep their labels and new ones are numbered after its own. ``reserved``
    names (aliases such as ``a1 = x``) are never handed out. Nodes ``through`` (a drawing's
    reshapes and transposes folded into an edge, with no box to carry a name) are always
    written out by their expression, never given a generated name, and are not looked up."""

    def __init__(
        self,
        nodes: Iterable[Node],
        symbols: Mapping[Node, str] | None = None,
        base: Naming | None = None,
        reserved: Iterable[str] = (),
        through: Collection[Node] = (),
    ) -> None:
        self._letter: str
        self._generated: int
        self._used: set[str]
        self._seen: dict[str, int]
        self._text: dict[Node, tuple[str, int]] = {}
        self._latex: dict[Node, tuple[str, int]] | None = None  # filled when first asked for
        self._atoms: set[Node] = set()  # shown by a name, never written out
        self._order: list[Node] = []
        self._by_key: dict[str, Node] = {}
        nodes = list(nodes)
        symbols = dict(symbols or {})
        taken = {key(n.name) for n in nodes if n.name} | {key(r) for r in reserved}
        letter = _free_letter(taken)
        generated = 0
        seen: dict[str, int] = {}  # name key → times given so far
        used: set[str] = set(taken)  # keys of every label handed out (and every user name)
        if base is not None:
            letter, generated = base._letter, base._generated
            self._text.update(base._text)
            self._atoms.update(base._atoms)
            self._order.extend(base._order)
            self._by_key.update(base._by_key)
            used |= base._used
            seen = dict(base._seen)
            nodes = [n for n in nodes if n not in base._text]

        generated_set: set[Node] = set()  # generated names and expressions built on them

        def name_atom(node: Node, label: str) -> None:
            self._text[node] = (label, name_precedence(label))
            self._atoms.add(node)
            self._remember(node, label)

        for node in nodes:
            if node.name:
                k = key(node.name)
                times = seen.get(k, 0)
                seen[k] = times + 1
                label = node.name
                version = times
                while version:
                    label = version_name(node.name, version)
                    if key(label) not in used:
                        break
                    version += 1
                used.add(key(label))
                name_atom(node, label)
                continue
            if not node.args:
                if node in symbols:
                    self._text[node] = (symbols[node], ATOM)
                    continue
                if node.op.name == "const":
                    continue  # a number: written as its value wherever it appears
            else:
                text = self._expression(node, "text")
                if node in through:
                    self._text[node] = text
                    if any(a in generated_set for a in node.args):
                        generated_set.add(node)
                    continue
                # built on generated names (an unlabelled micrograd graph), an expression is
                # kept only while it reads at a glance: a₁ · a₂ + a₂³, never a₇² / 2 + 10 / a₇²
                on_generated = any(a in generated_set for a in node.args)
                if on_generated:
                    generated_set.add(node)
                if (
                    len(text[0]) <= MAX_EXPRESSION
                    and not (on_generated and _operations(text[0]) > MAX_OPERATIONS)
                    and key(text[0]) not in used
                ):
                    used.add(key(text[0]))
                    self._text[node] = text
                    self._remember(node, text[0])
                    continue
            while True:
                generated += 1
                label = f"{letter}{str(generated).translate(_SUBSCRIPT)}"
                if key(label) not in used:
                    break
            used.add(key(label))
            name_atom(node, label)
            generated_set.add(node)
        self._letter, self._generated, self._used, self._seen = letter, generated, used, seen

    def _remember(self, node: Node, label: str) -> None:
        self._order.append(node)
        self._by_key.setdefault(key(label), node)

    def _expression(self, node: Node, style: str) -> tuple[str, int]:
        forms = self._text if style == "text" else self._latex_forms()
        vector = _vector_form(node)  # x ⊗ y and M @ g are written with the vectors' labels
        operands = node.args if vector is None else (*node.args, *vector[1:])
        return write_one_level(
            node, style, {a: forms[a] for a in operands if a in forms}, naming_of
        )

    def _latex_forms(self) -> dict[Node, tuple[str, int]]:
        """The LaTeX of every label, worked out on first use (a table never needs it)."""
        if self._latex is None:
            self._latex = {}
            for node, (text, _) in self._text.items():  # in graph order: inputs first
                if node in self._atoms or not node.args:
                    self._latex[node] = (latex_name(text), name_precedence(text))
                else:
                    self._latex[node] = self._expression(node, "latex")
        return self._latex

    # -------------------------------------------------------------- reading
    def label(self, node: Node) -> str:
        """The node's label in text: x, x′, ŷ − y, a₁, or a constant's value."""
        got = self._text.get(node)
        if got is not None:
            return got[0]
        return number_text(node.value)

    def latex(self, node: Node) -> str:
        got = self._latex_forms().get(node)
        if got is not None:
            return got[0]
        return number_text(node.value, "latex")

    def form(self, node: Node, style: str = "text") -> tuple[str, int] | None:
        """(text, precedence) of the node as a piece of a larger expression, or None for a
        number (written as its value)."""
        return (self._text if style == "text" else self._latex_forms()).get(node)

    def is_atom(self, node: Node) -> bool:
        """Whether the node is shown by a name (its own, x′, a₁) rather than written out."""
        return node in self._atoms

    def find(self, text: str) -> Node | None:
        """The node a typed label stands for (x, x′, a₁, a1, ``ŷ - y``), or None. A module
        path as PyTorch writes it (``net.0.weight``) finds the node shown as ``net[0].weight``."""
        found = self._by_key.get(key(text))
        if found is None and "." in text and _DOTTED.match(text):
            found = self._by_key.get(key(index_path(text)))
        return found

    def __contains__(self, node: object) -> bool:
        return node in self._text

    def items(self) -> Iterator[tuple[str, Node]]:
        """(label, node) for every labelled node except numbers, in graph order."""
        for node in self._order:
            yield self._text[node][0], node

    def labels(self) -> list[str]:
        return [label for label, _ in self.items()]


_DOTTED = re.compile(r"^\w+(\.\w+)+$")


def index_path(path: str, root: str = "layers") -> str:
    """A module path whose numbered parts read as indices, never as numbers: ``0`` →
    ``layers[0]``, ``net.2.weight`` → ``net[2].weight``, ``blocks.1.attn`` → ``blocks[1].attn``
    (a box ``1 = relu(0)`` or an edge ∂(1)/∂(0) reads as arithmetic)."""
    out = ""
    for part in path.split("."):
        if part.isdigit():
            out = f"{out or root}[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def _operations(text: str) -> int:
    """The binary operations written in a label (ŷ − y: 1; a₇² / 2 + 10 / a₇²: 3), so that a
    label is a short name or a short expression, never a formula repeated in every d(…)/d(…)."""
    grouping = sum(
        1 for i, ch in enumerate(text) if ch == "(" and (i == 0 or not text[i - 1].isalnum())
    )  # a bracketed sub-expression, (ŷ − y)², is one more step to read; σ(z) is a call
    return sum(text.count(op) for op in _BINARY) + grouping


def _free_letter(taken: set[str]) -> str:
    """The first letter of LETTERS that no user name uses alone or followed by digits (so a₁ is
    never read as element 1 of a vector a, nor clashes with the program's own a1)."""
    for letter in LETTERS:
        if not any(t == letter or (t.startswith(letter) and t[1:].isdigit()) for t in taken):
            return letter
    return LETTERS[0]


def naming_of(root: Node | Iterable[Node], **kwargs: Any) -> Naming:
    """The naming of the graph of ``root`` (for callers that hold a node, not a graph)."""
    roots = [root] if isinstance(root, Node) else list(root)
    return Naming(topo_order(roots), **kwargs)


def definition(
    node: Node, style: str = "text", digits: int = 6, names: Naming | None = None
) -> str:
    """The right-hand side that defines a node: its op applied to its inputs, each written by
    its label in ``names`` (a graph's ``Naming``; without one, unnamed inputs are written out
    in full). Leaves give their value."""
    if not node.args:
        return "input" if node.op.name == "input" else "constant"
    return _write(node, style, True, set(), digits, top=True, names=names, make_names=naming_of)[0]


def new_definition(node: Node, names: Naming) -> str:
    """``node``'s definition, or nothing when its label already is it: a note says
    'relu(x) is at a kink', never 'relu(x) = relu(x) is at a kink'."""
    text = definition(node, names=names)
    return "" if text == names.label(node) else text


def stated(node: Node, names: Naming) -> str:
    """``y = relu(x)``: the label and, when it says more, the definition."""
    return " = ".join(t for t in (names.label(node), new_definition(node, names)) if t)


def also_called(aliases: Mapping[str, Node], naming: Naming) -> dict[Node, list[str]]:
    """The further names a program gives nodes (``y = x`` gives x a second name, y): node →
    those names, so that every output can show the name the user wrote, not only the first."""
    out: dict[Node, list[str]] = {}
    for name, node in aliases.items():
        if key(name) != key(naming.label(node)):
            out.setdefault(node, []).append(name)
    return out


__all__ = [
    "MAX_EXPRESSION",
    "Naming",
    "also_called",
    "definition",
    "index_path",
    "key",
    "naming_of",
    "version_name",
]
