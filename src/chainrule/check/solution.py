"""A worked solution as written (LaTeX or Markdown maths) → judged numbers, each step on the
learner's own numbers.

Every equation chain ``a = b = c ≈ d`` whose first side names a quantity of the graph
(``L``, ``\\hat{y}``, ``x_1``, ``\\frac{\\partial L}{\\partial z}``, ``\\partial L/\\partial z``, and
``\\dot{z}`` when the text defines ``\\dot{v} = \\frac{\\partial L}{\\partial v}``) is read; each
plain number in it (``0,06``, ``-0,12``, ``\\frac{14}{5}``) is a claim about that quantity and is
judged by ``check``'s judge. A wrong number is then traced along its chain: the side just before
it is evaluated on the learner's own numbers (their latest number for each quantity it names,
and the numbers they wrote in it). When the number does not follow from that side, the slip is in
this step (in ``-0,12 \\cdot 0,05 = -0,06`` the product of the learner's factors is −0,006);
when it does, it follows from the learner's earlier wrong numbers that the side used."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.errors import ChainruleError, ValueInputError
from ..core.graph import Graph
from ..core.snapshot import copy_graph
from ..lang.latex.statements import Problem, Statement, read_statements
from ..lang.latex.tree import Bin, Call, Deriv, Expr, Index, Matrix, Name, Neg, Num
from .claims import Claim, Number, read_number
from .judge import FIRST_SLIP, FOLLOWS, WRONG, Verdict, _matches, judge, true_value
from .names import Resolver

_FLOAT_FUNCTIONS = {
    "σ": lambda v: 1.0 / (1.0 + math.exp(-v)),
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "sin": math.sin,
    "cos": math.cos,
    "sqrt": math.sqrt,
    "abs": abs,
}


@dataclass
class Judged:
    """One number of the solution and its verdict."""

    verdict: Verdict
    statement: Statement
    start: int  # document offsets of the number as written
    end: int
    step_text: str | None = None  # the side before the number, as written
    step_value: Any = None  # that side on the learner's own numbers
    uses: list[Judged] = field(default_factory=list)  # numbers of earlier lines the step used

    @property
    def line(self) -> int:
        return self.statement.line


@dataclass
class SolutionCheck:
    """Everything read and judged in a solution."""

    judged: list[Judged]
    skipped: list[Problem]  # equations naming no quantity of the graph, and unreadable maths
    text: str
    latex: bool

    @property
    def verdicts(self) -> list[Verdict]:
        return [j.verdict for j in self.judged]

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)


def _literal(e: Expr) -> str | None:
    """The text of a plain number (the claims of a chain): 0,06 · −0,12 · 14/5 · −\\frac{3}{5}."""
    if isinstance(e, Num):
        return e.text
    if isinstance(e, Neg):
        inner = _literal(e.a)
        return None if inner is None or inner.startswith("-") else "-" + inner
    if isinstance(e, Bin) and e.op == "/" and isinstance(e.a, Num) and isinstance(e.b, Num):
        if "." in e.a.text + e.b.text or "," in e.a.text + e.b.text:
            return None
        return f"{e.a.text}/{e.b.text}"
    return None


class _Names:
    """Quantities of the graph as a solution writes them."""

    def __init__(self, graph: Graph) -> None:
        self.resolver = Resolver(graph)
        self.dot_top: str | None = None  # \dot{v} = ∂L/∂v

    def name(self, e: Expr) -> str | None:
        if isinstance(e, Name):
            if e.accent == "dot" and self.dot_top is not None:
                return f"∂{self.dot_top}/∂{Name(e.base, None, e.sub).key()}"
            return e.key()
        if isinstance(e, Deriv) and isinstance(e.top, Name) and isinstance(e.var, Name):
            return f"∂{e.top.key()}/∂{e.var.key()}"
        return None

    def quantity(self, e: Expr) -> Any:
        name = self.name(e)
        if name is None:
            return None
        try:
            return self.resolver.quantity(name)
        except ValueInputError:
            return None


def check_solution(
    graph: Graph, text: str, *, latex: bool = False, skip: set[int] | None = None
) -> SolutionCheck:
    """Read and judge a worked solution against ``graph`` (the exercise's graph). ``skip``
    holds the offsets of statements that are not the learner's (the exercise's own givens
    when one file holds both)."""
    statements, problems = read_statements(text, latex=latex)
    names = _Names(graph)
    truth_graph, _ = copy_graph(graph)
    truth_graph.backward()
    truth_names = Resolver(truth_graph)
    skipped = list(problems)

    pending: list[tuple[Statement, str, int, Claim, int, int]] = []
    for st in statements:
        if skip and st.offset in skip:
            continue
        c = st.chain
        lhs = c.items[0]
        if (
            isinstance(lhs, Name)
            and lhs.accent == "dot"
            and isinstance(c.items[1], Deriv)
            and isinstance(c.items[1].top, Name)
            and c.items[1].var == Name(lhs.base, None, lhs.sub)
        ):
            names.dot_top = c.items[1].top.key()
            continue
        qname = names.name(lhs)
        if qname is None or names.quantity(lhs) is None:
            if any(_literal(x) is not None for x in c.items[1:]):
                skipped.append(Problem(st.line, "names no quantity of the graph", st.text))
            continue
        for k in range(1, len(c.items)):
            lit = _literal(c.items[k])
            if lit is None:
                continue
            try:
                number = read_number(lit, lit)
            except ValueInputError as exc:
                skipped.append(Problem(st.line, exc.message, st.text))
                continue
            claim = Claim(qname, (number,), False, f"{qname} = {lit}", st.line)
            start, end = c.spans[k]
            pending.append((st, qname, k, claim, st.base + start, st.base + end))

    verdicts = judge(graph, [p[3] for p in pending]) if pending else []

    own: dict[str, Judged] = {}  # the learner's latest number for each quantity
    judged: list[Judged] = []
    for (st, qname, k, _claim, start, end), v in zip(pending, verdicts, strict=True):
        j = Judged(v, st, start, end)
        if k >= 2:
            used: list[Judged] = []
            value = _evaluate(st.chain.items[k - 1], names, own, truth_names, used)
            a, b = st.chain.spans[k - 1]
            j.step_text = text[st.base + a : st.base + b].strip()
            j.step_value = value
            j.uses = used
        judged.append(j)
        key = names.name(st.chain.items[0])
        if key is not None:
            own[_canon_key(names, st.chain.items[0])] = j
    for j in judged:
        _trace(j)
    return SolutionCheck(judged, skipped, text, latex)


def _canon_key(names: _Names, e: Expr) -> str:
    q = names.quantity(e)
    return repr(q.key()) if q is not None else (names.name(e) or "")


def _trace(j: Judged) -> None:
    """First slip or following, from the step before the number (when it could be evaluated)."""
    v = j.verdict
    if v.verdict != WRONG or j.step_value is None:
        return
    if not _matches(v.claim, j.step_value):
        v.origin = FIRST_SLIP
        v.recomputed = j.step_value
        v.follows = []
        return
    wrong = [u for u in j.uses if u.verdict.verdict == WRONG]
    if wrong:
        v.origin = FOLLOWS
        v.recomputed = j.step_value
        v.follows = [u.verdict for u in wrong]


def _evaluate(
    e: Expr, names: _Names, own: dict[str, Judged], truth: Resolver, used: list[Judged]
) -> Any:
    """``e`` on the learner's own numbers: exact while it is rational, floats after; None when
    it names something the learner's numbers cannot give."""
    try:
        return _eval(e, names, own, truth, used)
    except (ArithmeticError, ValueError, TypeError, OverflowError, ChainruleError, RecursionError):
        return None


def _eval(e: Expr, names: _Names, own: dict[str, Judged], truth: Resolver,
          used: list[Judged]) -> Any:  # fmt: skip
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Neg):
        inner = _eval(e.a, names, own, truth, used)
        return None if inner is None else -inner
    if isinstance(e, (Name, Deriv)):
        q = names.quantity(e)
        if q is None:
            return None
        key = repr(q.key())
        if key in own:
            j = own[key]
            used.append(j)
            n = j.verdict.claim.numbers[0]
            return n.value
        tq = truth.quantity(names.name(e) or "")
        value = true_value(tq)
        if isinstance(value, np.ndarray):
            return None
        return float(value) if value.__class__ is not Fraction else value
    if isinstance(e, Bin):
        a = _eval(e.a, names, own, truth, used)
        b = _eval(e.b, names, own, truth, used)
        if a is None or b is None:
            return None
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op in ("*", "jux", "dot", "times"):
            return a * b
        if e.op == "/":
            return a / b
        if e.op == "^":
            if isinstance(b, Fraction) and b.denominator == 1 and abs(b) <= 64:
                return Fraction(a) ** int(b) if isinstance(a, Fraction) else float(a) ** int(b)
            return float(a) ** float(b)
        return None
    if isinstance(e, Call) and e.fn in _FLOAT_FUNCTIONS and len(e.args) == 1:
        x = _eval(e.args[0], names, own, truth, used)
        return None if x is None else _FLOAT_FUNCTIONS[e.fn](float(x))
    if isinstance(e, (Matrix, Index)):
        return None
    return None


__all__ = ["Judged", "SolutionCheck", "check_solution"]
