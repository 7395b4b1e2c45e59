"""What a student of a variant writes after one known slip, carried forward.

``generate`` uses these sheets to keep apart variants that grading could not tell apart: a
student of one variant whose one slip lands on another variant's key looks like a copy of it.
The slips are the kinds ``check``'s judge names (``check.kinds``): a sign error or a dropped
factor of 2 at any asked quantity, σ(z) where σ′(z) belongs, the upstream gradient or value
not carried, the partial of the wrong input, a missing fan-out term. Each sheet holds the slip
at one quantity and every later number recomputed from it (``check.world.recompute``, as the
judge traces carry-forward); the numbers before it are right."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..check.kinds import (
    DROPPED_FACTOR,
    FAN_OUT,
    FUNCTION_FOR_DERIVATIVE,
    NOT_CARRIED,
    SIGN,
    VALUE_NOT_CARRIED,
    WRONG_INPUT,
)
from ..check.names import GRADIENT, PARTIAL, VALUE, Quantity
from ..check.rule import Rule
from ..check.world import Forward, Given, recompute
from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node

if TYPE_CHECKING:
    from .quantities import Asked
    from .variants import Variant

# the factors check.kinds tries: a sign, a factor of 2 dropped or doubled, and both at once
FACTORS: tuple[tuple[float, str], ...] = (
    (-1.0, SIGN),
    (2.0, DROPPED_FACTOR),
    (0.5, DROPPED_FACTOR),
    (-2.0, SIGN),
    (-0.5, SIGN),
)
PRODUCTS = ("mul", "matmul", "dot")
TOO_FEW = "rounding to too few digits"


@dataclass(frozen=True)
class Sheet:
    """One slip and the numbers it leaves on the sheet, by asked name; ``moved`` names the
    numbers that differ from the variant's key (the slip and what it carried)."""

    slip: str
    values: dict[str, float]
    moved: tuple[str, ...]


def _pick(value: Any, index: tuple[int, ...] | None) -> float | None:
    arr = np.asarray(value, dtype=float)
    one = arr if index is None or arr.ndim == 0 else arr[index]
    f = float(np.asarray(one).reshape(-1)[0]) if np.size(one) == 1 else None
    return f if f is not None and math.isfinite(f) else None


def _world(
    graph: Graph, given: list[Given], wanted: list[Quantity], forwards: Any
) -> dict[Any, Any]:
    """The asked quantities recomputed from ``given``; empty where the numbers leave a domain."""
    try:
        with np.errstate(all="ignore"):
            return recompute(graph, given, wanted, forwards)
    except (ChainruleError, ArithmeticError, ValueError, TypeError):
        return {}


def _consumers(graph: Graph, node: Node) -> list[Node]:
    return [n for n in graph.nodes if any(a is node for a in n.args)]


def _like(node: Node, fill: float) -> Any:
    return np.full(np.shape(node.value), fill) if np.ndim(node.value) else fill


def _twists(graph: Graph) -> Iterator[tuple[str, Given, Node]]:
    """The backward-pass slips that change the student's whole world rather than one number:
    (kind, the wrong number put in, the node it replaces)."""
    for n in graph.nodes:
        if len(n.args) == 1 and n.op.partials is not None and n.args[0].requires_grad:
            swap = Given(Quantity(PARTIAL, n.args[0], None, n), n.value)
            yield FUNCTION_FOR_DERIVATIVE, swap, n
    for n in graph.nodes:
        if n is graph.output or not n.args:
            continue
        for source in n.args:
            if source.op.name != "const" and np.shape(source.value) == np.shape(n.value):
                yield VALUE_NOT_CARRIED, Given(Quantity(VALUE, n), source.value), n


Numbers = list[float | None]  # every asked number, in the asked order (None: not computed)


def _backward_candidates(
    graph: Graph, q: Quantity, true: float, worlds: _Worlds
) -> Iterator[tuple[str, float | None]]:
    """(kind, the wrong number) for one asked gradient or local partial beyond a sign or a
    factor, as ``check.kinds`` tries them, each from the world of its usual wrong rule."""
    at = worlds.position[q.key()]
    if q.claim_type == PARTIAL and q.top is not None:
        top = q.top
        if len(top.args) == 1 and top.op.partials is not None:
            yield FUNCTION_FOR_DERIVATIVE, _pick(top.value, q.index)
        if len(top.args) == 2 and top.op.name in PRODUCTS:
            yield WRONG_INPUT, _pick(q.node.value, q.index)
    for kind, given, node in _twists(graph):
        if node is not q.node:  # as check.kinds: a node's own value is not "carried"
            yield kind, worlds.twisted(kind, given, node)[at]
    if q.claim_type != GRADIENT:
        return
    users = _consumers(graph, q.node)
    for u in users:
        if len(users) > 1:
            cut = Given(Quantity(GRADIENT, u), _like(u, 0.0))
            yield FAN_OUT, worlds.twisted(FAN_OUT, cut, u)[at]
        if u.op.name in PRODUCTS and len(u.args) == 2:
            other = u.args[1] if u.args[0] is q.node else u.args[0]
            mine, theirs = np.asarray(q.node.value, float), np.asarray(other.value, float)
            if mine.shape == theirs.shape and np.all(theirs != 0):
                ratio = _pick(mine / theirs, q.index)
                yield WRONG_INPUT, None if ratio is None else true * ratio
        if u is not graph.output and u.grad is not None and np.all(np.asarray(u.grad) != 0):
            one = Given(Quantity(GRADIENT, u), _like(u, 1.0))
            yield NOT_CARRIED, worlds.twisted(NOT_CARRIED, one, u)[at]


class _Worlds:
    """The asked numbers recomputed from one wrong number of the student's, each world
    computed once. The backward pass is linear in any one of its numbers (the forward values
    stay), so a wrong gradient or local partial is carried by scaling the response to a
    probe (the number plus 1) instead of walking the graph again."""

    def __init__(self, variant: Variant) -> None:
        self.graph = variant.graph
        self.asked = variant.asked
        self.true: list[float] = [a.value for a in variant.asked]
        self.wanted = [a.quantity for a in variant.asked]
        self.position = {q.key(): i for i, q in enumerate(self.wanted)}
        self.forwards: dict[Any, Forward] = {}
        self.probes: dict[int, Numbers] = {}
        self.twists: dict[tuple[str, int], Numbers] = {}

    def numbers(self, given: Given) -> Numbers:
        """Every asked number of the world where ``given`` is the student's only own number."""
        got = _world(self.graph, [given], self.wanted, self.forwards)
        return [
            _pick(got.get(q.key(), t), None) for q, t in zip(self.wanted, self.true, strict=True)
        ]

    def probe(self, i: int) -> Numbers:
        """The world of asked number i moved: by +1 in the backward pass, else its sign."""
        if i not in self.probes:
            q, t = self.wanted[i], self.true[i]
            backward = q.claim_type in (GRADIENT, PARTIAL)
            self.probes[i] = self.numbers(Given(q, t + 1.0 if backward else -t))
        return self.probes[i]

    def carried(self, i: int, wrong: float) -> Numbers:
        """The world of asked backward number i written as ``wrong``, from its probe."""
        first, t = self.probe(i), self.true[i]
        return [
            None if f is None else u + (wrong - t) * (f - u)
            for f, u in zip(first, self.true, strict=True)
        ]

    def twisted(self, kind: str, given: Given, node: Node) -> Numbers:
        key = (kind, id(node))
        if key not in self.twists:
            i = self.position.get(given.quantity.key())
            value = given.value
            if i is not None and given.quantity.claim_type != VALUE and np.ndim(value) == 0:
                self.twists[key] = self.carried(i, float(value))  # an asked number: its probe
            else:
                self.twists[key] = self.numbers(given)
        return self.twists[key]


def shortened(true: float, rule: Rule) -> list[float]:
    """``true`` rounded to fewer digits than the rule asks (grading's "too few digits", which
    it counts as the student's own working when later numbers follow from it)."""
    if true == 0 or not math.isfinite(true):
        return []
    if rule.sigfig is not None:
        first = math.floor(math.log10(abs(true)))
        return [round(true, d - 1 - first) for d in range(1, rule.sigfig)]
    if rule.decdig is not None:
        return [round(true, d) for d in range(rule.decdig)]
    return []


def slip_sheets(variant: Variant, rule: Rule | None = None) -> list[Sheet]:
    """Every sheet one known slip gives a student of ``variant``, the slip carried forward,
    that moves two numbers or more (one moved number cannot look like another key: grading
    needs two more numbers right for it); with ``rule``, also a number written with fewer
    digits than it asks, carried forward."""
    asked = variant.asked
    worlds = _Worlds(variant)
    true = worlds.true
    sheets: list[Sheet] = []
    for i, a in enumerate(asked):
        q, t = a.quantity, a.value
        backward = q.claim_type in (GRADIENT, PARTIAL)
        if t == 0 and not backward or (q.claim_type == GRADIENT and not q.node.args):
            continue  # a given's gradient is carried nowhere
        first = worlds.probe(i)
        if not any(j != i and v is not None and not _same(v, true[j]) for j, v in enumerate(first)):
            continue  # nothing carries this number: a slip here moves one number only
        found: list[tuple[str, float | None]] = [(kind, k * t) for k, kind in FACTORS if t != 0]
        found += [(TOO_FEW, short) for short in (shortened(t, rule) if rule else [])]
        if backward:
            found += list(_backward_candidates(worlds.graph, q, t, worlds))
        seen: set[float] = set()
        for kind, wrong in found:
            if wrong is None or not math.isfinite(wrong) or _same(wrong, t) or wrong in seen:
                continue
            seen.add(wrong)
            if backward:
                numbers = worlds.carried(i, wrong)
            else:
                numbers = first if wrong == -t else worlds.numbers(Given(q, wrong))
            numbers[i] = wrong
            sheet = _sheet(f"{_article(kind)} {kind} at {a.name}", asked, numbers)
            if sheet is not None:
                sheets.append(sheet)
    return sheets


def _sheet(slip: str, asked: list[Asked], numbers: Numbers) -> Sheet | None:
    """The sheet, when every number is finite and two or more differ from the key."""
    values: dict[str, float] = {}
    moved: list[str] = []
    for a, v in zip(asked, numbers, strict=True):
        if v is None or not math.isfinite(v):
            return None
        values[a.name] = v
        if not _same(v, a.value):
            moved.append(a.name)
    return Sheet(slip, values, tuple(moved)) if len(moved) >= 2 else None


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"
