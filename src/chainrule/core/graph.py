"""``Graph``: a tape of nodes in topological order, with names, re-evaluation and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from ..lang.naming import Naming, definition
from ..lang.naming import key as naming_key
from .autodiff import backward, evaluate, local_partial, topo_order
from .display import svg
from .errors import ChainruleError, DomainError, ValueInputError
from .graph_load import MAX_JSON_CHARS, SCHEMA, parse_json, read_graph, read_value
from .lazy import is_sympy, sympy
from .node import REDUCE, Node
from .values import EXACT_ARRAY, FLOAT, decimal, fraction_text, kind_of, normalize


class Graph:
    """The nodes an output depends on, inputs first: the tape every algorithm walks.

    ``source`` maps a node to where the program text defined it (line, column), when the
    graph came from a program. ``naming`` is what every output calls each node (by default
    worked out from this graph; a program's graph for a chosen ``--output`` shares the naming of
    the whole program, so names do not shift; a graph built on another one, such as its
    gradient graph, takes ``names_from`` it). ``aliases`` are further names of nodes
    (``y = x``); ``symbols`` names constants that stand for e or π. ``modules`` gives the
    module path each operation ran in, for graphs of PyTorch models (drawings collapse them)."""

    def __init__(
        self,
        outputs: Node | Iterable[Node],
        *,
        source: Mapping[Node, tuple[int, int]] | None = None,
        text: str | None = None,
        naming: Naming | None = None,
        aliases: Mapping[str, Node] | None = None,
        symbols: Mapping[Node, str] | None = None,
        names_from: Graph | None = None,
        modules: Mapping[Node, str] | None = None,
    ) -> None:
        self.outputs = [outputs] if isinstance(outputs, Node) else list(outputs)
        if not self.outputs:
            raise ChainruleError("a graph needs at least one output")
        self.nodes: list[Node] = topo_order(self.outputs)
        self.source: dict[Node, tuple[int, int]] = dict(source or {})
        self.text = text
        self._index = {n: i for i, n in enumerate(self.nodes)}
        self.aliases: dict[str, Node] = {
            k: n for k, n in (aliases or {}).items() if n in self._index
        }
        self.symbols: dict[Node, str] = dict(symbols or {})
        self._naming = naming
        self._names_from = names_from
        self.modules: dict[Node, str] = {
            n: m for n, m in (modules or {}).items() if n in self._index
        }

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """``pickle`` and ``copy.deepcopy``: every node once, still one graph."""
        return REDUCE["graph"](self)

    # -------------------------------------------------------------- names
    @property
    def naming(self) -> Naming:
        """The labels of this graph's nodes (computed once, on first use)."""
        if self._naming is None:
            base = self._names_from.naming if self._names_from is not None else None
            self._naming = Naming(
                self.nodes, symbols=self.symbols, base=base, reserved=self.aliases
            )
        return self._naming

    def label(self, node: Node) -> str:
        """What every output calls ``node``: x, x′, ŷ − y, a₁ (see ``chainrule.lang.naming``)."""
        return self.naming.label(node)

    def find(self, name: str) -> Node | None:
        """The node a typed name stands for: a label (x′, a₁, ``w @ x``) or an alias."""
        node = self.naming.find(name)
        if node is not None and node in self._index:
            return node
        alias = self.aliases.get(name)
        if alias is None:
            alias = {naming_key(k): n for k, n in self.aliases.items()}.get(naming_key(name))
        return alias

    def labels(self) -> dict[str, Node]:
        """Every label of the graph (numbers aside) and alias, in graph order."""
        out = {label: n for label, n in self.naming.items() if n in self._index}
        for k, n in self.aliases.items():
            out.setdefault(k, n)
        return out

    def where(self, node: Node) -> str | None:
        """``line L, column C`` of the program text that made ``node``, when known."""
        at = self.source.get(node)
        return None if at is None else f"line {at[0]}, column {at[1]}"

    # -------------------------------------------------------------- lookup
    @property
    def output(self) -> Node:
        return self.outputs[0]

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def index(self, node: Node) -> int:
        return self._index[node]

    @property
    def names(self) -> dict[str, Node]:
        """Named nodes by name (a later node with the same name wins, as in a program)."""
        return {n.name: n for n in self.nodes if n.name}

    @property
    def inputs(self) -> list[Node]:
        return [n for n in self.nodes if n.op.name == "input"]

    def __getitem__(self, name: str) -> Node:
        node = self.find(name)
        if node is None:
            known = ", ".join(self.labels()) or "none"
            raise ChainruleError(f"no node is named {name!r} (named nodes: {known})")
        return node

    def consumers(self) -> dict[Node, list[tuple[Node, int]]]:
        """For each node, the (node, input slot) pairs that use it: the fan-out."""
        uses: dict[Node, list[tuple[Node, int]]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            for i, a in enumerate(n.args):
                uses[a].append((n, i))
        return uses

    # -------------------------------------------------------------- computation
    def forward(self, at: Mapping[str, Any] | None = None, *, exact: bool | None = None) -> Graph:
        """Recompute every value, after setting named inputs from ``at``."""
        if at:
            names = self.names
            for name, value in at.items():
                node = names.get(name)
                if node is not None and node.args:  # x = 2; x = 3*x: --at x is the input 2
                    node = next((n for n in self.inputs if n.name == name), node)
                if node is None:
                    known = ", ".join(n.name for n in self.inputs if n.name) or "none"
                    raise ValueInputError(
                        f"--at {name}: no input is named {name!r} (inputs: {known})"
                    )
                if node.args:
                    raise ValueInputError(
                        f"--at {name}: {name!r} is computed by the program, not an input"
                    )
                want_exact = node.exact if exact is None else exact
                node.value = normalize(value, exact=want_exact)
                node.kind = kind_of(node.value)
        evaluate(self.nodes)
        return self

    def backward(self, output: Node | None = None) -> Graph:
        """Gradients of ``output`` (default: the graph's output) on every node. A local partial
        that is undefined (√x at 0) is reported with the node's label and where the program
        wrote it."""
        try:
            if output is None:
                backward(self.output, order=self.nodes)
            else:  # a node has no truth value: `output or ...` raised TypeError
                backward(output, order=topo_order(output))
        except DomainError as exc:
            raise self._located(exc) from None
        return self

    def _located(self, exc: DomainError) -> DomainError:
        if exc.line is not None or exc.node is None:
            return exc
        # The engine names the node by its own label; find it, and prefer the one whose
        # local partial really fails when several carry that name.
        found = [n for n in self.nodes if n.args and n.label() == exc.node]
        node = next((n for n in found if _partial_fails(n)), found[0] if found else None)
        if node is None:
            return exc
        at = self.source.get(node)
        line, column = at if at is not None else (None, None)
        text = None
        if line is not None and self.text is not None:
            lines = self.text.splitlines()
            text = lines[line - 1] if 0 < line <= len(lines) else None
        return DomainError(
            exc.message, line=line, column=column, source=text, node=self.label(node)
        )

    # -------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for n in self.nodes:
            entry: dict[str, Any] = {
                "id": self._index[n],
                "op": n.op.name,
                "inputs": [self._index[a] for a in n.args],
                "value": encode_value(n.value),
            }
            if n.name:
                entry["name"] = n.name
            if n in self.naming and self.label(n) != n.name:
                entry["label"] = self.label(n)
            if n.params:
                entry["params"] = _encode_params(n.params)
            if n.grad is not None:
                entry["grad"] = encode_value(n.grad)
            if n in self.source:
                entry["source"] = list(self.source[n])
            if not n.args:
                entry["requires_grad"] = n.requires_grad
            nodes.append(entry)
        return {
            "schema": SCHEMA,
            "nodes": nodes,
            "outputs": [self._index[o] for o in self.outputs],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        """A graph from ``to_dict`` data, checked field by field (``graph_load``): a mistake is
        one ``ValueInputError`` naming the node, and inputs must be earlier nodes (no cycle)."""
        _, outputs, source = read_graph(data)
        return cls(outputs, source=source)

    @classmethod
    def from_json(cls, text: str | bytes, *, max_chars: int = MAX_JSON_CHARS) -> Graph:
        """A graph from ``to_json`` text; text longer than ``max_chars`` is refused."""
        return cls.from_dict(parse_json(text, max_chars))

    # -------------------------------------------------------------- display
    def table(self, digits: int = 6) -> list[dict[str, str]]:
        """One row per node: name, operation, value, gradient (as text)."""
        rows = []
        names = self.naming
        for n in self.nodes:
            rows.append(
                {
                    "node": names.label(n),
                    "operation": definition(n, names=names),
                    "value": decimal(n.value, digits),
                    "gradient": "—" if n.grad is None else decimal(n.grad, digits),
                }
            )
        return rows

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, output {self.label(self.output)}>"

    def _repr_svg_(self) -> str | None:  # Jupyter
        return svg(self)


def _partial_fails(node: Node) -> bool:
    for i in range(len(node.args)):
        try:
            local_partial(node, i)
        except (ZeroDivisionError, OverflowError, ValueError, ChainruleError):
            return True
    return False


# ------------------------------------------------------------------ value encoding


def encode_value(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        if v.dtype == object:
            return {"exact_array": [_exact_text(x) for x in v.reshape(-1)], "shape": list(v.shape)}
        return {"array": v.tolist(), "dtype": str(v.dtype)}
    if isinstance(v, Fraction):
        return {"fraction": fraction_text(v)}
    if is_sympy(v):
        return {"irrational": str(v), "decimal": float(sympy.N(v, 17))}
    f = float(v)
    if f != f or f in (float("inf"), float("-inf")):
        return {"float": str(f)}
    return f


def _exact_text(x: Any) -> Any:
    if isinstance(x, Fraction):
        return fraction_text(x)
    return {"irrational": str(x), "decimal": float(sympy.N(x, 17))}


def decode_value(v: Any) -> Any:
    """An encoded value back to float, Fraction or ndarray (checked: see ``graph_load``)."""
    return read_value(v)


def _encode_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        out[k] = _encode_param(v)
    return out


def _encode_param(v: Any) -> Any:
    if isinstance(v, slice):
        return {"slice": [v.start, v.stop, v.step]}
    if isinstance(v, tuple):
        return {"tuple": [_encode_param(x) for x in v]}
    if isinstance(v, np.ndarray):
        return {"ndarray": v.tolist()}
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


__all__ = ["Graph", "SCHEMA", "encode_value", "decode_value", "FLOAT", "EXACT_ARRAY"]
