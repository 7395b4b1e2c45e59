"""Where a NaN or an infinity began: always on, and cheap (one walk over the tape).

A non-finite number spreads: every node downstream of an overflow holds inf or nan too, and so
does every gradient upstream of one. What helps is the first place it appeared — the node whose
value is not finite although its inputs are, and the edge whose contribution is not finite
although the gradient arriving there is — with the line and column that defined it, the
operation, and the numbers that went in. ``eval`` prints them under its table and in its JSON
(``"anomalies"``); ``explain`` writes them into the worked solution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..ops import OPS
from .lazy import is_sympy
from .node import Node
from .values import decimal


@dataclass(frozen=True)
class Anomaly:
    """The first appearance of a NaN or ±inf: in a value (forward) or a gradient (backward)."""

    where: str  # "value" or "gradient"
    node: Node
    what: str  # "nan", "inf", "-inf" or "nan and inf" (arrays may hold several)
    inputs: tuple[Any, ...]  # the values that went in (forward) or the node's value (backward)
    source: tuple[int, int] | None

    def describe(self, label: str, definition: str = "") -> str:
        at = f"line {self.source[0]}, column {self.source[1]}: " if self.source else ""
        if self.where == "value":
            args = ", ".join(decimal(v) for v in self.inputs)
            what = f"{label} = {definition}" if definition else label
            return (
                f"{at}{what} is {self.what} with finite inputs ({self.node.op.name} of {args}): "
                "the first non-finite value"
            )
        return (
            f"{at}the gradient of {label} is {self.what} although every gradient arriving at "
            f"it is finite: a local partial of {label} overflowed or is undefined here"
        )

    def to_json(self, label: str, definition: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"where": self.where, "node": label, "op": self.node.op.name}
        out["what"] = self.what
        if self.source:
            out["line"], out["column"] = self.source
        out["message"] = self.describe(label, definition)
        return out


def finite(value: Any) -> bool:
    """True when every element is a finite number (exact values are always finite here)."""
    if value is None:
        return True
    if isinstance(value, float):
        return value - value == 0.0
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return all(finite(v) for v in value.reshape(-1).tolist())
        return bool(np.isfinite(value).all())
    if isinstance(value, Fraction) or is_sympy(value):
        return True  # exact numbers are finite: 1/0 and log 0 are refused when computed
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError, OverflowError):
        return True


def _what(value: Any) -> str:
    arr = np.asarray(value, dtype=float) if not isinstance(value, float) else np.array(value)
    kinds = []
    if np.isnan(arr).any():
        kinds.append("nan")
    if np.isposinf(arr).any():
        kinds.append("inf")
    if np.isneginf(arr).any():
        kinds.append("-inf")
    return " and ".join(kinds) or "not finite"


def find(
    order: Sequence[Node], source: Mapping[Node, tuple[int, int]] | None = None
) -> list[Anomaly]:
    """The first non-finite values and gradients along a tape (inputs before their users)."""
    source = source or {}
    out: list[Anomaly] = []
    for n in order:
        args = n.args
        if not finite(n.value) and all(finite(a.value) for a in args):
            out.append(
                Anomaly("value", n, _what(n.value), tuple(a.value for a in args), source.get(n))
            )
    users: dict[Node, list[Node]] = {}
    for n in order:
        for a in n.args:
            users.setdefault(a, []).append(n)
    for n in reversed(order):
        if n.grad is None or finite(n.grad):
            continue
        ups = users.get(n, [])
        if all(finite(u.grad) for u in ups) and all(finite(u.value) for u in ups):
            out.append(Anomaly("gradient", n, _what(n.grad), (n.value,), source.get(n)))
    return out


# ------------------------------------------------------------------ non-differentiable points

# The convention at each kink is declared on the op (``Op.kink``: its text and the test of
# whether a node sits on one); documented in docs/reliability.md.


def _at_kink(n: Node) -> bool:
    kink = n.op.kink
    if kink is None:
        return False
    try:
        return kink.at([a.value for a in n.args], n.params or {})
    except (TypeError, ValueError):
        return False


#: op name → its convention at a kink, read from the table (``teach`` asks which ops have one)
KINK_CONVENTIONS = {name: op.kink.convention for name, op in OPS.items() if op.kink is not None}


def kinks(order: Sequence[Node]) -> list[tuple[Node, str]]:
    """Nodes evaluated exactly at a point where their op has no derivative, with the
    convention the table uses there (only nodes the gradient flows through)."""
    return [
        (n, n.op.kink.convention)
        for n in order
        if n.op.kink is not None and n.requires_grad and _at_kink(n)
    ]
