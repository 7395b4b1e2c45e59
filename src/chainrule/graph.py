"""``Graph``: a tape of nodes in topological order, with names, re-evaluation and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from .autodiff import backward, evaluate, topo_order
from .errors import ChainruleError, ValueInputError
from .graph_load import MAX_JSON_CHARS, SCHEMA, parse_json, read_graph, read_value
from .node import Node
from .values import (
    EXACT_ARRAY,
    FLOAT,
    decimal,
    fraction_text,
    kind_of,
    normalize,
)


class Graph:
    """The nodes an output depends on, inputs first: the tape every algorithm walks.

    ``source`` maps a node to where the program text defined it (line, column), when the
    graph came from a program."""

    def __init__(
        self,
        outputs: Node | Iterable[Node],
        *,
        source: Mapping[Node, tuple[int, int]] | None = None,
        text: str | None = None,
    ) -> None:
        self.outputs = [outputs] if isinstance(outputs, Node) else list(outputs)
        if not self.outputs:
            raise ChainruleError("a graph needs at least one output")
        self.nodes: list[Node] = topo_order(self.outputs)
        self.source: dict[Node, tuple[int, int]] = dict(source or {})
        self.text = text
        self._index = {n: i for i, n in enumerate(self.nodes)}

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
        try:
            return self.names[name]
        except KeyError:
            known = ", ".join(self.names) or "none"
            raise ChainruleError(f"no node is named {name!r} (named nodes: {known})") from None

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
        backward(output or self.output, order=topo_order(output) if output else self.nodes)
        return self

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
        from .notation import Written, definition

        memo = Written()  # each node written once: shared unnamed nodes stay linear
        rows = []
        for n in self.nodes:
            rows.append(
                {
                    "node": n.label(),
                    "operation": definition(n, memo=memo),
                    "value": decimal(n.value, digits),
                    "gradient": "—" if n.grad is None else decimal(n.grad, digits),
                }
            )
        return rows

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, output {self.output.label()}>"

    def _repr_svg_(self) -> str | None:  # Jupyter
        from .display import svg

        return svg(self)


# ------------------------------------------------------------------ value encoding


def encode_value(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        if v.dtype == object:
            return {"exact_array": [_exact_text(x) for x in v.reshape(-1)], "shape": list(v.shape)}
        return {"array": v.tolist(), "dtype": str(v.dtype)}
    if isinstance(v, Fraction):
        return {"fraction": fraction_text(v)}
    if isinstance(v, sympy.Basic):
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
