"""Verdicts on claimed numbers under the rule for "right", and where a wrong number's slip began.

The rule (``rule.Rule``; default 3 significant figures) says which numbers are right; one unit
off in the last asked digit is a *rounding* difference; the true value rounded to fewer digits
than asked is *too few digits*; 0 is never right for a non-zero value. ``nan`` and ``±inf`` are
right only when the true value is the same. Anything else is wrong. A wrong claim is a *first
slip* when the learner's own earlier numbers do not give it; otherwise it *follows* from an
earlier wrong claim, or only *carries the rounding* of earlier numbers ("rounded too early"):
recomputed from the learner's own numbers, within the precision those numbers imply (each moved
by half a unit of its last written digit; a number written as the true value itself, 1.4 for
1.4, is not a rounding and moves nothing), and only when some of those earlier numbers do differ
from the truth. A wrong number that follows only trivially (0 from 0,
a given copied) *follows trivially* and earns no carry-forward credit."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.autodiff import grad as grad_graph
from ..core.errors import ChainruleError, ValueInputError
from ..core.graph import Graph
from ..core.lazy import sympy
from ..core.node import Node
from ..core.snapshot import copy_graph
from ..core.values import evalf, is_exact, to_float
from .claims import Claim, Number
from .inert import clipped
from .names import GRADIENT, PARTIAL, VALUE, Quantity, Resolver
from .rule import SLACK, Rule
from .world import Forward, Given, recompute

RIGHT = "right"
ROUNDING = "rounding"
WRONG = "wrong"

TOO_FEW = "too few digits"

# readings of a claim other than the quantity its name resolves to (Verdict.reading)
ONE_EDGE = "one edge"  # ∂y/∂x where y takes x more than once: the partial along one edge
LOCAL = "local partial"  # ∂L/∂x written beside totals dL/dx: the output's own operation's

FIRST_SLIP = "first slip"
FOLLOWS = "follows"
CARRIED_ROUNDING = "carried rounding"
TRIVIAL = "follows trivially"  # 0 from 0, or a copied given: no method to credit


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
    reading: str | None = None  # ONE_EDGE or LOCAL when the claim was right under that one

    @property
    def ok(self) -> bool:
        return self.verdict in (RIGHT, ROUNDING)


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
    value = _exact_true(raw) if is_exact(raw) else to_float(raw)
    if q.index is not None:
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            return value  # the same for every element (a broadcast partial)
        one = value[q.index]
        return one if one.__class__ is Fraction else float(one)
    return value


def _exact_true(raw: Any) -> Any:
    """An exact value kept exact: a rational as a Fraction, an irrational to 40 digits, so a
    claim of 2.80000000000000000000 is compared with 14/5 and not with its nearest float."""
    if isinstance(raw, np.ndarray):
        out = np.empty(raw.shape, dtype=object)
        out.reshape(-1)[:] = [_exact_true(v) for v in raw.reshape(-1)]
        return out
    if isinstance(raw, Fraction):
        return raw
    if isinstance(raw, (int, np.integer)):
        return Fraction(int(raw))
    try:
        if isinstance(raw, sympy.Basic):
            if raw.is_Rational:
                return Fraction(int(raw.p), int(raw.q))
            text = str(evalf(raw, 40))
            return Fraction(text)
    except (ValueError, TypeError, ArithmeticError, ChainruleError):
        pass
    return _beyond_floats(raw)


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


def _grade(
    number: Number, true: Any, rule: Rule, spread: Fraction = Fraction(0), own: bool = False
) -> str:
    """One number against one true value under ``rule``; ``spread`` widens the window by what
    the learner's own rounded inputs leave open, and ``own`` (judging against the learner's
    own recomputation) lets 0 match 0."""
    if not number.finite or not _finite(true):
        return RIGHT if _same_special(as_float(number.value), true) else WRONG
    c, t = Fraction(number.value), Fraction(true)
    diff = abs(c - t)
    if c == 0 and not own and not rule.written and not rule.covers_zero(t):
        return WRONG  # 0, 0.0, 0e9: no digit of a non-zero value was written
    if rule.written:  # the digits the learner wrote are the precision asked
        if number.quantum == 0:
            exact = diff <= Fraction(1, 10**9) * max(Fraction(1), abs(t)) + spread
            return RIGHT if exact else WRONG
        base = number.quantum / 2
    else:
        base = rule.tolerance(t)
    tol = (base + spread) * (1 + SLACK)
    if diff <= tol:
        return RIGHT
    half = number.quantum / 2
    if number.quantum and half > tol:  # fewer digits than the rule asks
        if c != 0 and diff <= (half + spread) * (1 + SLACK):
            return TOO_FEW
        return WRONG
    digits = rule.written or rule.sigfig is not None or rule.decdig is not None
    if (
        digits
        and diff <= (3 * base + spread) * (1 + SLACK)
        and plausible_rounding(c, t, 2 * base)
        and _has_more_digits(t, 2 * base)
    ):
        return ROUNDING
    return WRONG


def _has_more_digits(true: Fraction, unit: Fraction) -> bool:
    """Is there anything to round? −1.2 at 3 figures is −1.20 exactly: −1.21 cannot be a
    rounding of it, only a slip."""
    if unit <= 0:
        return False
    rest = abs(true / unit - round(true / unit))
    return rest > Fraction(1, 10**6)


def plausible_rounding(claim: Fraction, true: Fraction, unit: Fraction) -> bool:
    """Could ``claim`` be ``true`` rounded to ``unit`` with a slip of one unit? Only with the
    same sign and a unit at most a tenth of the true value: a one-digit claim has no room for
    slack (4 is not a rounding of 2.8, nor 1 of 0.0033)."""
    same_sign = (claim > 0 and true > 0) or (claim < 0 and true < 0)
    return same_sign and unit > 0 and 10 * unit <= abs(true)


_ORDER = {RIGHT: 0, ROUNDING: 1, TOO_FEW: 2, WRONG: 3}


def _flat(value: Any) -> list[Any]:
    """The numbers of a true value: floats, and Fractions for exact ones."""
    items = value.reshape(-1).tolist() if isinstance(value, np.ndarray) else [value]
    return [v if v.__class__ is Fraction else float(v) for v in items]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def _example(shape: tuple[int, ...]) -> str:
    if len(shape) == 2:
        row = "[" + ", ".join("…" for _ in range(min(shape[1], 3))) + "]"
        return (
            "["
            + ", ".join(row for _ in range(min(shape[0], 2)))
            + (", …]" if shape[0] > 2 else "]")
        )
    return "[a, b, …]"


def grade(claim: Claim, true: Any, rule: Rule | None = None) -> str:
    """The verdict on a claim (every element of a vector or matrix claim; the worst counts)."""
    rule = rule or Rule()
    trues = _flat(true)
    shape = tuple(np.shape(true))
    if claim.vector:
        if claim.shape is not None and len(claim.shape) > 1 and claim.shape != shape:
            raise ValueInputError(
                f"{claim.text!r}: a {_shape_text(claim.shape)} matrix given; the quantity is "
                + (f"{_shape_text(shape)}" if shape else "one number")
            )
        if len(claim.numbers) != len(trues):
            raise ValueInputError(
                f"{claim.text!r}: {len(claim.numbers)} numbers given, the quantity has "
                f"{len(trues)}" + (f" (shape {_shape_text(shape)})" if len(shape) > 1 else "")
            )
        if len(shape) > 1 and (claim.shape is None or len(claim.shape) == 1):
            raise ValueInputError(
                f"{claim.text!r}: the quantity is a {_shape_text(shape)} matrix; write it row "
                f"by row, as {_example(shape)}"
            )
    if not claim.vector and len(trues) != 1:
        raise ValueInputError(
            f"{claim.text!r}: the quantity has {len(trues)} elements; give them all as "
            f"{_example(shape)} or name one element (such as {claim.name}1)"
        )
    grades = [_grade(n, t, rule) for n, t in zip(claim.numbers, trues, strict=True)]
    return max(grades, key=lambda g: _ORDER[g])


def _matches(claim: Claim, value: Any, rule: Rule | None = None, spread: Any = None) -> bool:
    """Does the learner's claim agree with a recomputation from their own numbers, within the
    rule widened by ``spread`` (what their own rounded inputs leave open)?"""
    rule = rule or Rule()
    values = _flat(value)
    if len(values) != len(claim.numbers):
        return False
    spreads = _flat(spread) if spread is not None else [0.0] * len(values)
    if len(spreads) != len(values):
        spreads = [max(spreads)] * len(values)
    for n, v, s in zip(claim.numbers, values, spreads, strict=True):
        if not n.finite or not _finite(v):
            if not _same_special(as_float(n.value), v):
                return False
            continue
        room = Fraction(s) if _finite(s) else Fraction(0)
        if _grade(n, v, rule, room, own=True) == WRONG:
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
    if v.claim.vector:
        shape = v.claim.shape if v.claim.shape and len(v.claim.shape) > 1 else None
        arr = np.array(nums)
        return Given(v.quantity, arr.reshape(shape) if shape else arr)
    return Given(v.quantity, nums[0])


class Prepared:
    """What judging any claims against one graph needs, computed once: a private copy of the
    graph through ``backward``, its resolver, and each quantity's true value as asked for. A
    class graded against one variant judges hundreds of students' claims with one of these
    instead of copying the graph, running backward and evaluating exact values per student.
    The caller's graph must not change while this is in use."""

    def __init__(self, graph: Graph) -> None:
        self.original = graph
        self.graph, made = copy_graph(graph)
        with np.errstate(all="ignore"):
            self.graph.backward()
        self.back = {c: n for n, c in made.items()}
        self.resolver = Resolver(self.graph)
        self._truths: dict[str, tuple[Quantity, Any] | ValueInputError] = {}
        self._givens: list[Fraction] | None = None
        self.forwards: dict[Any, Forward] = {}  # the learners' forward walks (world.recompute)

    def quantity_and_true(self, name: str) -> tuple[Quantity, Any]:
        """The quantity a claim's name stands for and its true value (raises ValueInputError,
        the same each time, for a name the graph does not have)."""
        hit = self._truths.get(name)
        if hit is None:
            try:
                with np.errstate(all="ignore"):
                    q = self.resolver.quantity(name)
                    hit = (q, true_value(q, self.graph.label(q.node)))
            except ValueInputError as exc:
                hit = exc
            self._truths[name] = hit
        if isinstance(hit, ValueInputError):
            raise ValueInputError(hit.message)
        return hit

    def givens(self) -> list[Fraction]:
        if self._givens is None:
            self._givens = _givens(self.graph)
        return self._givens


def judge(
    graph: Graph, claims: list[Claim], rule: Rule | None = None, prepared: Prepared | None = None
) -> list[Verdict]:
    """Judge every claim against ``graph`` under ``rule`` (default: 3 significant figures).
    The graph is not touched: a private copy is run through ``backward`` for the true
    gradients; the verdicts name the caller's own nodes. ``prepared`` (made from this graph)
    saves that copy and the true values when many learners are judged against one graph."""
    rule = rule or Rule()
    if prepared is None or prepared.original is not graph:
        prepared = Prepared(graph)
    with np.errstate(all="ignore"):
        verdicts: list[Verdict] = []
        for claim in claims:
            reading = None
            try:
                q, t = prepared.quantity_and_true(claim.name)
                verdict = grade(claim, t, rule)
                if verdict == WRONG:
                    for how, alt_q, alt_t in _readings(prepared.graph, q, claim):
                        alt = _grade_or_wrong(claim, alt_t, rule)
                        if alt in (RIGHT, ROUNDING):
                            reading, q, t, verdict = how, alt_q, alt_t, alt
                            break
            except ValueInputError as exc:
                at = "" if claim.line is None or exc.message.startswith("line ") else claim.line
                message = f"line {at}: {exc.message}" if at else exc.message
                raise ValueInputError(clipped(message)) from None
            verdicts.append(Verdict(claim, q, t, verdict, reading=reading))
        _trace(prepared.graph, verdicts, rule, prepared.givens(), prepared.forwards)
    back = prepared.back
    for v in verdicts:
        q = v.quantity
        v.quantity = replace(q, node=back[q.node], top=None if q.top is None else back[q.top])
    return verdicts


def _readings(graph: Graph, q: Quantity, claim: Claim) -> list[tuple[str, Quantity, Any]]:
    """What else a partial as written may mean, each as (reading, quantity, true value): the
    partial along one edge, where an operation takes the node more than once (chainrule's
    worked solutions write ∂y/∂x = x on each edge of y = x·x); and, for ``claim.local``, the
    local partial of the output's own operation rather than the total."""
    out: list[tuple[str, Quantity, Any]] = []
    if claim.local and q.claim_type == GRADIENT and any(a is q.node for a in graph.output.args):
        q = Quantity(PARTIAL, q.node, q.index, graph.output)
        out.append((LOCAL, q, true_value(q)))
    locals_ = q.top.local if q.top is not None else None
    if q.claim_type == PARTIAL and q.top is not None and locals_ is not None:
        slots = [i for i, a in enumerate(q.top.args) if a is q.node]
        if len(slots) > 1 and all(locals_[i] is not None for i in slots):
            for i in slots:
                raw = locals_[i]
                value = _exact_true(raw) if is_exact(raw) else to_float(raw)
                if q.index is not None and isinstance(value, np.ndarray) and value.ndim:
                    one = value[q.index]
                    value = one if one.__class__ is Fraction else float(one)
                out.append((ONE_EDGE, q, value))
    return out


def _grade_or_wrong(claim: Claim, true: Any, rule: Rule) -> str:
    try:
        return grade(claim, true, rule)
    except ValueInputError:  # a reading of another shape than the claim's
        return WRONG


def _givens(graph: Graph) -> list[Fraction]:
    """The numbers the exercise gives (the inputs' values), to spot a sheet that copies them."""
    out: list[Fraction] = []
    for n in graph.nodes:
        if n.args:
            continue
        for x in _flat(to_float(n.value)):
            if _finite(x):
                out.append(Fraction(x))
    return out


def _trivial(
    v: Verdict,
    givens: list[Fraction],
    wrong: Sequence[Verdict] = (),
    working: bool = False,
    sources: Sequence[Verdict] = (),
) -> bool:
    """A wrong number that "follows" only trivially earns nothing: 0 where the truth is not 0
    (0 from 0, a product with a factor written as 0), or a number copied from the givens —
    unless the sheet shows ``working`` (a number that is not a given: a right one, or a wrong one
    of the learner's own that is not 0) and the number is
    one of the learner's own wrong numbers (in ``wrong``) carried on: dL/dw₁ = x₁ · dL/dz with
    x₁ = 1 carries a slipped dL/dz of 0.6, which a given b₀ = 3/5 happens to equal; or it is
    recomputed from ``sources`` (the learner's wrong numbers that move it) of which one is
    neither a given nor 0: dL/dŷ = 2(ŷ − y) carries a slipped ŷ = 0.9002 to 1.800, which a
    given w₁ = 9/5 happens to equal to the digits written."""
    trues = _flat(v.true)
    nums = v.claim.numbers
    if not all(n.finite for n in nums) or len(trues) != len(nums):
        return False
    if all(Fraction(n.value) == 0 for n in nums) and any(t != 0 for t in trues):
        return True
    if not _copied(v, givens):
        return False
    if working and any(
        not _copied(w, givens) and any(n.finite and n.value != 0 for n in w.claim.numbers)
        for w in sources
    ):
        return False
    mine = [Fraction(n.value) for n in nums]
    return not working or not any(
        w.quantity.key() != v.quantity.key()
        and [Fraction(n.value) for n in w.claim.numbers if n.finite] == mine
        for w in wrong
    )


def _copied(v: Verdict, givens: list[Fraction]) -> bool:
    """Every number of the claim is a given of the exercise, to the digits written."""

    def copied(n: Number) -> bool:
        if not n.finite:
            return False
        c = Fraction(n.value)
        room = n.quantum / 2 if n.quantum else Fraction(0)
        return c != 0 and any(abs(c - g) <= room for g in givens)

    return all(copied(n) for n in v.claim.numbers)


def _as_written(claim: Claim, value: Any) -> bool:
    """Is every number of the claim ``value`` at the precision it was written (within half a
    unit of its last digit; an exact number, equal)? No rule's tolerance, no rounding slack."""
    if value is None:
        return False
    values = _flat(value)
    if len(values) != len(claim.numbers):
        return False
    for n, x in zip(claim.numbers, values, strict=True):
        if not n.finite or not _finite(x):
            if not _same_special(as_float(n.value), x):
                return False
        elif abs(Fraction(n.value) - Fraction(x)) > n.quantum / 2 * (1 + SLACK):
            return False
    return True


def _first_written(follows: list[Verdict], wrong: list[Verdict]) -> list[Verdict]:
    """Each wrong number a claim follows from, named once where the learner first wrote it: a
    slip copied onto many lines is one slip (line 3, not lines 3, 5, 7, 9)."""
    first: dict[Any, Verdict] = {}
    for w in wrong:
        first.setdefault((w.quantity.key(), w.reading, tuple(w.claim.numbers)), w)
    out: dict[int, Verdict] = {}
    for w in follows:
        f = first.get((w.quantity.key(), w.reading, tuple(w.claim.numbers)), w)
        out.setdefault(id(f), f)
    return list(out.values())


def _moved(value: Any, own: Any) -> bool:
    """Does the learner's world without one of their numbers give another value than ``own``?"""
    if value is None:
        return True
    a, b = [as_float(x) for x in _flat(value)], [as_float(y) for y in _flat(own)]
    return len(a) != len(b) or any(
        not (x == y or (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-12 * abs(y))
        for x, y in zip(a, b, strict=True)
    )


def _is_true(n: Number, true: Any) -> bool:
    """Is a number the true value itself, not a rounding of it (1.4 for 1.4, 14/5 for 2.8)?"""
    if not n.finite or not _finite(true):
        return False
    t = Fraction(true)
    return abs(Fraction(n.value) - t) <= Fraction(1, 10**9) * max(Fraction(1), abs(t))


def _rounded(v: Verdict) -> bool:
    """Does any number of a claim differ from its true value (a rounding to carry)?"""
    trues = _flat(v.true)
    if len(trues) != len(v.claim.numbers):
        return True
    return any(not _is_true(n, t) for n, t in zip(v.claim.numbers, trues, strict=True))


def influence(graph: Graph) -> Callable[[Quantity, Quantity], bool]:
    """``moves(u, v)``: can the learner's number for u change v as ``recompute`` gives it? No
    when v is recorded before u's number is put in, or is never computed from it: a value (or
    a direct local partial) is computed in the forward walk from the values upstream of it
    alone; a total gradient is complete in the backward walk (the tape in reverse) before the
    gradients of the nodes before it and the partials of their edges are put in. ``spread``
    skips the numbers that cannot move v (each would add exactly 0)."""
    position = {n: k for k, n in enumerate(graph.nodes)}
    upstream: dict[int, set[int]] = {}

    def before(node: Node) -> set[int]:
        """The node and every node its value is computed from (by id)."""
        if id(node) not in upstream:
            seen = {id(node)}
            stack = [node]
            while stack:
                for a in stack.pop().args:
                    if id(a) not in seen:
                        seen.add(id(a))
                        stack.append(a)
            upstream[id(node)] = seen
        return upstream[id(node)]

    def moves(u: Quantity, v: Quantity) -> bool:
        if v.claim_type == VALUE:
            return u.claim_type == VALUE and id(u.node) in before(v.node)
        if v.claim_type == PARTIAL and v.top is not None and any(a is v.node for a in v.top.args):
            return u.claim_type == VALUE and id(u.node) in before(v.top)
        if v.claim_type == GRADIENT and v.node in position:
            if u.claim_type == GRADIENT and u.node in position:
                return position[u.node] >= position[v.node]
            if u.claim_type == PARTIAL and u.top is not None and u.top in position:
                return position[u.top] >= position[v.node]
        return True

    return moves


def _latest(used: list[Verdict]) -> list[Verdict]:
    """The numbers that shape the learner's world: for each quantity the last one given (an
    earlier number for it is overwritten in ``recompute`` and moves nothing), in order; one
    edge's partial is not the node's and says nothing of it."""
    last: dict[Any, int] = {}
    for k, u in enumerate(used):
        if u.reading != ONE_EDGE:
            last.pop(u.quantity.key(), None)  # kept at the place of its last number
            last[u.quantity.key()] = k
    return [used[k] for k in last.values()]


def _signature(used: list[Verdict]) -> tuple[Any, ...]:
    """What the learner's world (and its spread) depends on: each quantity and its numbers as
    written; the true values follow from the quantities."""
    return tuple(
        (u.quantity.key(), u.claim.vector, u.claim.shape, tuple(u.claim.numbers)) for u in used
    )


def _trace(
    graph: Graph,
    verdicts: list[Verdict],
    rule: Rule,
    givens: list[Fraction],
    forwards: dict[Any, Forward] | None = None,
) -> None:
    """First slip, follows, carried rounding or follows trivially, for each wrong claim.
    Repeated claims cost nothing more: the learner's world keeps each quantity's latest
    number, every recomputation is kept by the numbers it used, and claims of the same
    quantity with the same numbers are traced once."""
    wrong = [v for v in verdicts if v.verdict == WRONG]
    if not wrong:
        return
    fine = [v for v in verdicts if v.verdict != WRONG]
    worlds: dict[Any, Any] = {}
    agreed: dict[Any, bool] = {}

    def world(used: list[Verdict], v: Verdict, nudge: tuple[int, int] | None = None) -> Any:
        """v recomputed from ``used`` (each quantity's latest number, see ``_latest``), with
        number j of used[k] moved by half a unit of its last digit for ``nudge`` (k, j)."""
        key = (v.quantity.key(), _signature(used), nudge)
        if key in worlds:
            return worlds[key]
        given = []
        for k, u in enumerate(used):
            if u.quantity.key() == v.quantity.key():
                continue
            g = _given(u)
            if nudge is not None and nudge[0] == k:
                n = u.claim.numbers[nudge[1]]
                step = float(n.quantum) / 2
                if isinstance(g.value, np.ndarray):
                    arr = np.array(g.value, dtype=float)
                    arr.reshape(-1)[nudge[1]] += step
                    g = Given(g.quantity, arr)
                else:
                    g = Given(g.quantity, g.value + step)
            given.append(g)
        if not given:
            out = v.true  # nothing of the learner's own: their world is the true one
        else:
            try:
                out = recompute(graph, given, [v.quantity], forwards).get(v.quantity.key())
            except (ChainruleError, ArithmeticError, ValueError):
                out = None  # the learner's numbers leave a domain (log of a negative, ...)
        worlds[key] = out
        return out

    def spread(used: list[Verdict], v: Verdict, own: Any) -> Any:
        """How far the recomputed value moves when each of the learner's numbers moves by
        half a unit of its last written digit: the precision their own numbers imply."""
        total = np.zeros(np.shape(own)) if isinstance(own, np.ndarray) else 0.0
        base = np.asarray(to_float(own), dtype=float)
        for k, u in enumerate(used):
            if u.quantity.key() == v.quantity.key() or not moves(u.quantity, v.quantity):
                continue  # moving u's numbers leaves v's recomputed value as it is: adds 0
            trues = _flat(u.true)
            for j, n in enumerate(u.claim.numbers):
                if not n.finite or n.quantum == 0 or n.value == 0 or n.quantum > 1e300:
                    continue  # exact, or a 0 that wrote no digit to round (0e9)
                if len(trues) == len(u.claim.numbers) and _is_true(n, trues[j]):
                    continue  # the true value as it is (1.4 for 1.4): nothing was rounded
                moved = world(used, v, (k, j))
                if moved is None:
                    continue
                delta = np.abs(np.asarray(to_float(moved), dtype=float) - base)
                if not np.all(np.isfinite(delta)):
                    continue
                total = total + (delta if isinstance(own, np.ndarray) else float(np.max(delta)))
        return total

    moves = influence(graph)

    def agrees(used: list[Verdict], v: Verdict) -> bool:
        """Does v's claim follow from ``used`` (deduplicated by ``_latest``)?"""
        key = (v.quantity.key(), tuple(v.claim.numbers), _signature(used))
        if key not in agreed:
            own = world(used, v)
            agreed[key] = own is not None and (
                _matches(v.claim, own, rule) or _matches(v.claim, own, rule, spread(used, v, own))
            )
        return agreed[key]

    every = _latest(verdicts)
    latest_fine = _latest(fine)
    # the sheet shows working: a right number that is not a given, or a wrong one of the
    # learner's own (neither a given nor 0: a slip at the very first quantity, all carried)
    working = any(not _copied(u, givens) for u in fine) or any(
        not _copied(w, givens) and any(n.finite and n.value != 0 for n in w.claim.numbers)
        for w in wrong
    )
    in_world = {id(u) for u in every}

    def sources(v: Verdict) -> list[Verdict]:
        """The learner's wrong numbers in their world that v is recomputed from."""
        return [
            w
            for w in wrong
            if id(w) in in_world
            and w.quantity.key() != v.quantity.key()
            and moves(w.quantity, v.quantity)
        ]

    traced: dict[Any, Verdict] = {}  # a claim traced already, by its quantity and numbers
    for v in wrong:
        group = (v.quantity.key(), v.reading, tuple(v.claim.numbers))
        done = traced.get(group)
        if done is not None:
            v.origin, v.recomputed, v.follows = done.origin, done.recomputed, list(done.follows)
            continue
        traced[group] = v
        v.recomputed = world(every, v)
        if not agrees(every, v):
            v.origin = FIRST_SLIP
            continue
        if _trivial(v, givens, wrong, working, sources(v)):
            v.origin = TRIVIAL
            continue
        if any(_rounded(u) and moves(u.quantity, v.quantity) for u in latest_fine) and agrees(
            latest_fine, v
        ):
            v.origin = CARRIED_ROUNDING
            continue
        v.origin = FOLLOWS
        others = [w for w in wrong if w.quantity.key() != v.quantity.key()]
        # without w the world changes only when w is its quantity's latest number
        for w in others:
            if id(w) in in_world and not agrees(_latest([u for u in verdicts if u is not w]), v):
                v.follows.append(w)
        if not v.follows:
            for w in others:
                alone = [u for u in latest_fine if u.quantity.key() != w.quantity.key()]
                if w.reading != ONE_EDGE:
                    alone.append(w)
                if agrees(alone, v):
                    v.follows.append(w)
        v.follows = _first_written(v.follows, wrong)
    # Too few digits for the truth, but exactly the learner's own number: carried, not cut short
    for v in verdicts:
        if v.verdict != TOO_FEW or v.reading is not None:
            continue
        own = world(every, v)
        if (
            own is None
            or not _as_written(v.claim, own)
            or _trivial(v, givens, wrong, working, sources(v))
        ):
            continue
        carried = [
            w
            for w in wrong
            if id(w) in in_world
            and w.quantity.key() != v.quantity.key()
            and moves(w.quantity, v.quantity)
            and _moved(world(_latest([u for u in verdicts if u is not w]), v), own)
        ]
        if carried:
            v.verdict, v.origin, v.recomputed = WRONG, FOLLOWS, own
            v.follows = _first_written(carried, wrong)


__all__ = [
    "CARRIED_ROUNDING",
    "LOCAL",
    "ONE_EDGE",
    "FIRST_SLIP",
    "FOLLOWS",
    "GRADIENT",
    "PARTIAL",
    "Prepared",
    "RIGHT",
    "ROUNDING",
    "TOO_FEW",
    "TRIVIAL",
    "VALUE",
    "WRONG",
    "Verdict",
    "grade",
    "judge",
    "plausible_rounding",
    "true_value",
]
