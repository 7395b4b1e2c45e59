"""What kind of mistake a first slip most likely is.

The step is recomputed from the learner's own earlier numbers with the usual wrong rules, and
the first rule that reproduces the learner's number names the mistake: the function where its
derivative belongs (σ(z) for σ′(z)), a dropped constant factor (the 2 of a square), a sign
error, a missing fan-out term, the local partial of the wrong input (∂(w·x)/∂w = w), the
upstream gradient not carried, rounding too early. When none reproduces it, an arithmetic slip."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from .judge import FIRST_SLIP, Verdict, _given, _matches
from .names import GRADIENT, PARTIAL, Quantity
from .rule import Rule
from .world import Given, recompute

FUNCTION_FOR_DERIVATIVE = "function for its derivative"
DROPPED_FACTOR = "dropped constant factor"
SIGN = "sign error"
FAN_OUT = "missing fan-out term"
WRONG_INPUT = "partial of the wrong input"
NOT_CARRIED = "upstream gradient not carried"
VALUE_NOT_CARRIED = "upstream value not carried"
EARLY_ROUNDING = "rounded too early"
ARITHMETIC = "arithmetic slip"
ZERO = "0 written"  # 0 where the value is not 0: no working to follow, not a slip in one

KINDS = (
    FUNCTION_FOR_DERIVATIVE,
    DROPPED_FACTOR,
    SIGN,
    FAN_OUT,
    WRONG_INPUT,
    NOT_CARRIED,
    VALUE_NOT_CARRIED,
    EARLY_ROUNDING,
    ARITHMETIC,
    ZERO,
)

# each kind in words, after "N students …" or "it looks as if you …"
KIND_SENTENCES = {
    "function for its derivative": "used the function where its derivative belongs (σ(z) for "
    "σ′(z))",
    "dropped constant factor": "dropped a constant factor (such as the 2 of a square)",
    "sign error": "made a sign error",
    "missing fan-out term": "left out a term of a fan-out sum",
    "partial of the wrong input": "took the local partial of the wrong input (∂(w·x)/∂w = w)",
    "upstream gradient not carried": "did not multiply by the upstream gradient",
    "upstream value not carried": "used an input where the value computed from it belongs "
    "(ŷ where ŷ − y belongs)",
    "rounded too early": "rounded too early",
    "arithmetic slip": "made an arithmetic slip (no usual wrong rule gives the number)",
    "0 written": "wrote 0 where the value is not 0 (no working to follow)",
}

_BINARY_PRODUCTS = ("mul", "matmul", "dot")


def _pick(value: Any, index: tuple[int, ...] | None) -> Any:
    if index is None or not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    return value[index]


def _close(v: Verdict, candidate: Any, rule: Rule) -> bool:
    if candidate is None:
        return False
    try:
        arr = np.asarray(candidate, dtype=float)
    except (TypeError, ValueError):
        return False
    if not np.all(np.isfinite(arr)):
        return False
    return _matches(v.claim, candidate, rule)


def _consumers(graph: Graph, node: Node) -> list[Node]:
    return [n for n in graph.nodes if any(a is node for a in n.args)]


def _again(graph: Graph, given: list[Given], q: Quantity) -> Any:
    try:
        return recompute(graph, given, [q]).get(q.key())
    except (ChainruleError, ArithmeticError, ValueError, TypeError):
        return None


def mistake_kind(graph: Graph, v: Verdict, verdicts: list[Verdict], rule: Rule) -> str | None:
    """The kind of the first slip ``v`` (None when ``v`` is not a first slip)."""
    if v.origin != FIRST_SLIP or not v.claim.numbers or not all(n.finite for n in v.claim.numbers):
        return None
    q = v.quantity
    own = v.recomputed
    given = [_given(u) for u in verdicts if u is not v and u.quantity.key() != q.key()]
    with np.errstate(all="ignore"):
        kind = _kind(graph, v, q, own, given, rule)
    if kind == ARITHMETIC and all(n.value == 0 for n in v.claim.numbers):
        return ZERO  # a blank answered as 0 (a sheet of zeros): no slip to name
    return kind


def _kind(
    graph: Graph, v: Verdict, q: Quantity, own: Any, given: list[Given], rule: Rule
) -> str | None:
    # the learner's world: their numbers where they gave them, the true values elsewhere
    values = _world_values(graph, given)
    if q.claim_type in (GRADIENT, PARTIAL):
        # σ(z) written where σ′(z) belongs: the local partial of a one-input node replaced by
        # the node's own value
        for n in graph.nodes:
            if len(n.args) != 1 or n.op.partials is None or not n.args[0].requires_grad:
                continue
            if q.claim_type == PARTIAL:
                if (
                    q.top is n
                    and n.args[0] is q.node
                    and _close(v, _pick(values.get(id(n)), q.index), rule)
                ):
                    return FUNCTION_FOR_DERIVATIVE
                continue
            swap = Given(Quantity(PARTIAL, n.args[0], None, n), values.get(id(n)))
            if _close(v, _again(graph, [*given, swap], q), rule):
                return FUNCTION_FOR_DERIVATIVE
    if own is not None:
        own_arr = np.asarray(own, dtype=float)
        if np.any(own_arr != 0):
            for k in (2.0, 0.5):
                if _close(v, own_arr * k, rule):
                    return DROPPED_FACTOR
            if _close(v, -own_arr, rule):
                return SIGN
            for k in (2.0, 0.5):
                if _close(v, -own_arr * k, rule):
                    return SIGN
    if q.claim_type == GRADIENT:
        users = _consumers(graph, q.node)
        if len(users) > 1:
            for u in users:
                cut = Given(Quantity(GRADIENT, u), _zero_like(u))
                if _close(v, _again(graph, [*given, cut], q), rule):
                    return FAN_OUT
        for u in users:
            if u.op.name in _BINARY_PRODUCTS and len(u.args) == 2 and own is not None:
                i = 0 if u.args[0] is q.node else 1
                mine, other = values.get(id(u.args[i])), values.get(id(u.args[1 - i]))
                if mine is None or other is None:
                    continue
                with np.errstate(all="ignore"):
                    a = np.asarray(mine, dtype=float)
                    b = np.asarray(other, dtype=float)
                    if a.shape == b.shape and np.all(b != 0):
                        cand = np.asarray(own, dtype=float) * _pick(a / b, q.index)
                        if _close(v, cand, rule):
                            return WRONG_INPUT
            if u is not graph.output and own is not None:
                g = values.get(("grad", id(u)))
                if g is not None and np.all(np.asarray(g, dtype=float) != 0):
                    if u.value is not None and np.shape(g) == np.shape(u.value):
                        one = Given(
                            Quantity(GRADIENT, u),
                            np.ones_like(np.asarray(g, dtype=float)) if np.ndim(g) else 1.0,
                        )
                        if _close(v, _again(graph, [*given, one], q), rule):
                            return NOT_CARRIED
    if q.claim_type in (GRADIENT, PARTIAL):
        # a value not carried: a node's value replaced by one of its inputs' (ŷ where ŷ − y
        # belongs), the step recomputed from there
        for n in graph.nodes:
            if not n.args or n is q.node or n is graph.output:
                continue
            for source in n.args:
                shown = values.get(id(source))
                if shown is None or source.op.name == "const":
                    continue
                if np.shape(shown) != np.shape(n.value):
                    continue
                swap = Given(Quantity("value", n), shown)
                cand = _again(graph, [*given, swap], q)
                if _close(v, cand, rule) and not _close(v, own, rule):
                    return VALUE_NOT_CARRIED
    if q.claim_type == PARTIAL and q.top is not None and len(q.top.args) == 2:
        i = 0 if q.top.args[0] is q.node else 1
        same = _pick(values.get(id(q.top.args[i])), q.index)
        if q.top.op.name in _BINARY_PRODUCTS and _close(v, same, rule):
            return WRONG_INPUT
    return ARITHMETIC


def _zero_like(node: Node) -> Any:
    return np.zeros(np.shape(node.value)) if np.ndim(node.value) else 0.0


def _world_values(graph: Graph, given: list[Given]) -> dict[Any, Any]:
    """Every node's value (and gradient) recomputed from the learner's numbers."""
    wanted = [Quantity("value", n) for n in graph.nodes]
    wanted += [Quantity(GRADIENT, n) for n in graph.nodes if n.requires_grad]
    try:
        got = recompute(graph, given, wanted)
    except (ChainruleError, ArithmeticError, ValueError, TypeError):
        return {}
    out: dict[Any, Any] = {}
    for q in wanted:
        if q.key() in got:
            out[id(q.node) if q.claim_type == "value" else ("grad", id(q.node))] = got[q.key()]
    # a value the learner gave replaces the recomputed one (their world)
    for g in given:
        if g.quantity.claim_type == "value" and g.quantity.index is None:
            out[id(g.quantity.node)] = g.value
    return out


__all__ = ["ARITHMETIC", "KINDS", "KIND_SENTENCES", "ZERO", "mistake_kind"]
