"""Verdicts on claimed numbers, rounding-aware, and where a wrong number's slip began.

A claim is right when it equals the true value rounded to the digits the learner wrote (0.94 for
0.94268). It is a rounding difference, not an error, when it is a plausible rounding of the true
value: the same sign, within half a unit of its last digit plus one unit of slack, and with that
unit at most a tenth of the true value, so that claim and truth share their order of magnitude
and the slack is a small part of the number (−0.12 for −0.11465 is a rounding difference; 4 for
2.8 or 1 for 0.0033 is wrong). ``nan`` and ``±inf`` are right only when the true value is the
same. Anything else is wrong. A wrong claim is a *first slip* when the learner's own earlier
numbers do not give it; otherwise it *follows* from an earlier wrong claim, or only *carries the
rounding* of earlier right numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.autodiff import grad as grad_graph
from ..core.errors import ChainruleError, ValueInputError
from ..core.graph import Graph
from ..core.snapshot import copy_graph
from ..core.values import evalf, is_exact, to_float
from .claims import Claim, Number
from .names import GRADIENT, PARTIAL, VALUE, Quantity, Resolver
from .world import Given, recompute

RIGHT = "right"
ROUNDING = "rounding"
WRONG = "wrong"

FIRST_SLIP = "first slip"
FOLLOWS = "follows"
CARRIED_ROUNDING = "carried rounding"

MATCH_RELATIVE = Fraction(1, 100)  # slack when comparing with the learner's own recomputation


@dataclass
class Verdict:
    """The judgement of one claim."""

    claim: Claim
    quantity: Quantity
    true: Any  # float or float array (Fractions for exact numbers past the float range)
    verdict: str
    origin: str | None = None  # for wrong claims: FIRST_SLIP, FOLLOWS, CARRIED_ROUNDING
    follows: list[Verdict] = field(default_factory=list)
    recomputed: Any = None  # from the learner's own numbers, when it could be traced

    @property
    def ok(self) -> bool:
        return self.verdict != WRONG


def true_value(q: Quantity, label: str | None = None) -> Any:
    """The engine's value of a quantity (the graph has been through ``backward``); ``label``
    is what the node is called in messages."""
    if q.claim_type == VALUE:
        raw = q.node.value
    elif q.claim_type == GRADIENT:
        raw = q.node.grad
        if raw is None:
            who = label if label is not None else q.node.name or "this node"
            raise ValueInputError(f"{who} has no gradient (it is a constant)")
    else:
        top = q.top
        assert top is not None
        slots = [i for i, a in enumerate(top.args) if a is q.node]
        locals_ = [top.local[i] for i in slots] if top.local is not None else []
        if slots and locals_ and all(v is not None for v in locals_):
            raw = locals_[0]
            for v in locals_[1:]:
                raw = raw + v
        else:
            raw = grad_graph(top, q.node).value
    value = to_float(raw)
    if is_exact(raw) and not np.all(np.isfinite(value)):
        value = _beyond_floats(raw)  # an exact 6e324 is not inf: it is graded as itself
    if q.index is not None:
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            return value  # the same for every element (a broadcast partial)
        one = value[q.index]
        return one if one.__class__ is Fraction else float(one)
    return value


def _beyond_floats(raw: Any) -> Any:
    """An exact value some of whose numbers are past the float range: those numbers as
    Fractions (to 30 digits where irrational, e^900), the others as floats."""
    if isinstance(raw, np.ndarray):
        out = np.empty(raw.shape, dtype=object)
        out.reshape(-1)[:] = [_beyond_floats(v) for v in raw.reshape(-1)]
        return out
    f = to_float(raw)
    if math.isfinite(f) or math.isnan(f):
        return f
    return raw if isinstance(raw, Fraction) else Fraction(str(evalf(raw, 30)))


def _finite(x: Any) -> bool:
    return x.__class__ is Fraction or math.isfinite(x)


def _same_special(a: float, b: Any) -> bool:
    if b.__class__ is Fraction:  # an exact number past the float range is finite
        return False
    return (math.isnan(a) and math.isnan(b)) or a == b


def _grade(number: Number, true: Any) -> str:
    if not number.finite or not _finite(true):
        return RIGHT if _same_special(as_float(number.value), true) else WRONG
    c, t = Fraction(number.value), Fraction(true)
    diff = abs(c - t)
    if number.quantum == 0:
        return RIGHT if diff <= Fraction(1, 10**9) * max(Fraction(1), abs(t)) else WRONG
    half = number.quantum / 2
    if diff <= half * (1 + Fraction(1, 10**9)):
        return RIGHT
    if diff <= 3 * half and plausible_rounding(c, t, number.quantum):
        return ROUNDING
    return WRONG


def plausible_rounding(claim: Fraction, true: Fraction, unit: Fraction) -> bool:
    """Could ``claim`` (last digit ``unit``) be ``true`` rounded with a slip of one unit? Only
    with the same sign and a unit at most a tenth of the true value: a one-digit claim has no
    room for slack (4 is not a rounding of 2.8, nor 1 of 0.0033)."""
    same_sign = (claim > 0 and true > 0) or (claim < 0 and true < 0)
    return same_sign and 10 * unit <= abs(true)


_ORDER = {RIGHT: 0, ROUNDING: 1, WRONG: 2}


def _flat(value: Any) -> list[Any]:
    """The numbers of a true value: floats, and Fractions for exact ones past the float range."""
    items = value.reshape(-1).tolist() if isinstance(value, np.ndarray) else [value]
    return [v if v.__class__ is Fraction else float(v) for v in items]


def grade(claim: Claim, true: Any) -> str:
    trues = _flat(true)
    if claim.vector and len(claim.numbers) != len(trues):
        raise ValueInputError(
            f"{claim.text!r}: {len(claim.numbers)} numbers given, the quantity has {len(trues)}"
        )
    if not claim.vector and len(trues) != 1:
        raise ValueInputError(
            f"{claim.text!r}: the quantity has {len(trues)} elements; give them all as "
            f"[a, b, …] or name one element (such as {claim.name}1)"
        )
    grades = [_grade(n, t) for n, t in zip(claim.numbers, trues, strict=True)]
    return max(grades, key=lambda g: _ORDER[g])


def _matches(claim: Claim, value: Any) -> bool:
    """Does the learner's claim agree with a recomputation from their own numbers?"""
    values = _flat(value)
    if len(values) != len(claim.numbers):
        return False
    for n, v in zip(claim.numbers, values, strict=True):
        if not n.finite or not _finite(v):
            if not _same_special(as_float(n.value), v):
                return False
            continue
        claimed, own = Fraction(n.value), Fraction(v)
        diff = abs(claimed - own)
        if n.quantum == 0:
            if diff > Fraction(1, 10**6) * max(Fraction(1), abs(own)):
                return False
            continue
        carried = MATCH_RELATIVE * abs(own)  # rounded numbers carried along the way
        if diff <= n.quantum / 2 + carried:
            continue
        if diff <= 3 * n.quantum / 2 + carried and plausible_rounding(claimed, own, n.quantum):
            continue
        return False
    return True


def as_float(value: Fraction | float) -> float:
    """A number as the learner's world (and JSON) uses it; past the largest float, ±inf."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _given(v: Verdict) -> Given:
    nums = [as_float(n.value) for n in v.claim.numbers]
    return Given(v.quantity, np.array(nums) if v.claim.vector else nums[0])


def judge(graph: Graph, claims: list[Claim]) -> list[Verdict]:
    """Judge every claim against ``graph``. The graph is not touched: a private copy is run
    through ``backward`` for the true gradients; the verdicts name the caller's own nodes."""
    graph, made = copy_graph(graph)
    with np.errstate(all="ignore"):
        graph.backward()
        resolver = Resolver(graph)
        verdicts: list[Verdict] = []
        for claim in claims:
            try:
                q = resolver.quantity(claim.name)
                t = true_value(q, graph.label(q.node))
                verdict = grade(claim, t)
            except ValueInputError as exc:
                if claim.line is not None and not exc.message.startswith("line "):
                    raise ValueInputError(f"line {claim.line}: {exc.message}") from None
                raise
            verdicts.append(Verdict(claim, q, t, verdict))
        _trace(graph, verdicts)
    back = {c: n for n, c in made.items()}
    for v in verdicts:
        q = v.quantity
        v.quantity = replace(q, node=back[q.node], top=None if q.top is None else back[q.top])
    return verdicts


def _trace(graph: Graph, verdicts: list[Verdict]) -> None:
    wrong = [v for v in verdicts if v.verdict == WRONG]
    if not wrong:
        return
    fine = [v for v in verdicts if v.verdict != WRONG]

    def world(used: list[Verdict], v: Verdict) -> Any:
        given = [_given(u) for u in used if u.quantity.key() != v.quantity.key()]
        if not given:
            return v.true  # nothing of the learner's own: their world is the true one
        try:
            return recompute(graph, given, [v.quantity]).get(v.quantity.key())
        except (ChainruleError, ArithmeticError, ValueError):
            return None  # the learner's numbers leave a domain (log of a negative, ...)

    for v in wrong:
        own = world(verdicts, v)
        v.recomputed = own
        if own is None or not _matches(v.claim, own):
            v.origin = FIRST_SLIP
            continue
        from_right = world(fine, v)
        if from_right is not None and _matches(v.claim, from_right):
            v.origin = CARRIED_ROUNDING
            continue
        v.origin = FOLLOWS
        for w in wrong:
            if w is v:
                continue
            without = world([u for u in verdicts if u is not w], v)
            if without is None or not _matches(v.claim, without):
                v.follows.append(w)
        if not v.follows:
            for w in wrong:
                alone = world(fine + [w], v) if w is not v else None
                if alone is not None and _matches(v.claim, alone):
                    v.follows.append(w)


__all__ = [
    "CARRIED_ROUNDING",
    "FIRST_SLIP",
    "FOLLOWS",
    "GRADIENT",
    "PARTIAL",
    "RIGHT",
    "ROUNDING",
    "VALUE",
    "WRONG",
    "Verdict",
    "grade",
    "judge",
    "plausible_rounding",
    "true_value",
]
