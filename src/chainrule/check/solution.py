"""A worked solution as written (LaTeX or Markdown maths) → judged numbers, each step on the
learner's own numbers.

Every equation chain ``a = b = c ≈ d`` whose first side names a quantity of the graph
(``L``, ``\\hat{y}``, ``x_1``, ``\\frac{\\partial L}{\\partial z}``,
``\\partial L/\\partial z``, and ``\\dot{z}`` when the text defines
``\\dot{v} = \\frac{\\partial L}{\\partial v}``) is read; each plain number in it (``0,06``,
``-0,12``, ``\\frac{14}{5}``) is a claim about that quantity and is judged by ``check``'s
judge. A wrong number is then traced along its chain: the side just before it is evaluated on
the learner's own numbers (their latest number for each quantity it names,
and the numbers they wrote in it). When the number does not follow from that side, the slip is in
this step (in ``-0,12 \\cdot 0,05 = -0,06`` the product of the learner's factors is −0,006);
when it does, it follows from the learner's earlier wrong numbers that the side used."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.errors import ChainruleError, ValueInputError
from ..core.graph import Graph
from ..core.snapshot import copy_graph
from ..lang.latex.parse import element_index
from ..lang.latex.reader import Shapes
from ..lang.latex.segments import Lines
from ..lang.latex.statements import Problem, Statement, read_statements
from ..lang.latex.tree import (
    Bin,
    Call,
    Deriv,
    Expr,
    Index,
    Matrix,
    Name,
    Neg,
    Num,
    Transpose,
    Unread,
    program_text,
    rewrite,
)
from .claims import MAX_CLAIMS, Claim, read_number
from .judge import FIRST_SLIP, FOLLOWS, WRONG, Prepared, Verdict, _matches, judge, true_value
from .names import Resolver
from .rule import AS_WRITTEN, Rule

_FLOAT_FUNCTIONS = {
    "σ": lambda v: 1.0 / (1.0 + math.exp(-v)),
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "sin": math.sin,
    "cos": math.cos,
    "sqrt": math.sqrt,
    "abs": lambda v: abs(v),
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
        line = self.verdict.claim.line
        return line if line is not None else self.statement.line


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
    """The text of a plain number (a claim of a chain): 0,06 · −0,12 · 14/5 · −\\frac{3}{5} ·
    1.5 \\times 10^{-3} (as 1.5e-3)."""
    if isinstance(e, Num):
        return e.text
    if isinstance(e, Neg):
        inner = _literal(e.a)
        return None if inner is None or inner.startswith("-") else "-" + inner
    scientific = _scientific(e)
    if scientific is not None:
        return scientific
    if isinstance(e, Bin) and e.op == "/" and isinstance(e.a, Num) and isinstance(e.b, Num):
        if "." in e.a.text + e.b.text or "," in e.a.text + e.b.text:
            return None
        return f"{e.a.text}/{e.b.text}"
    return None


def _scientific(e: Expr) -> str | None:
    """m × 10^k (also m · 10^k) and 10^k, with a decimal m and a whole k, as "me k"."""
    if isinstance(e, Bin) and e.op in ("times", "dot", "*", "jux"):
        mant, power = _literal(e.a), _power_of_ten(e.b)
        if mant is None or power is None or "/" in mant or "e" in mant:
            return None
        return f"{mant}e{power}"
    power = _power_of_ten(e)
    return None if power is None else f"1e{power}"


def _power_of_ten(e: Expr) -> str | None:
    if not (isinstance(e, Bin) and e.op == "^" and isinstance(e.a, Num) and e.a.text == "10"):
        return None
    k, sign = e.b, ""
    if isinstance(k, Neg):
        k, sign = k.a, "-"
    if isinstance(k, Num) and k.text.isdigit():
        return sign + k.text
    return None


def _array(e: Expr) -> tuple[list[str], tuple[int, ...] | None] | None:
    """The numbers of a matrix of plain numbers, row by row, and its shape: None for one row
    or one column (a vector), (rows, columns) for a matrix (a gradient with respect to W).
    A transpose is read: a vector's is the vector (``[1, 2]^\\top``), a matrix's its columns."""
    if isinstance(e, Transpose) and isinstance(e.a, Matrix) and e.a.rows:
        inner = e.a
        if inner.column:
            e = inner
        else:
            rows = inner.rows
            e = Matrix(tuple(tuple(r[c] for r in rows) for c in range(len(rows[0]))), False)
    if not isinstance(e, Matrix) or not e.rows:
        return None
    texts = [_literal(x) for row in e.rows for x in row]
    if any(t is None for t in texts):
        return None
    shape = None if e.column else (len(e.rows), len(e.rows[0]))
    return [t for t in texts if t is not None], shape


def _array_text(texts: list[str], shape: tuple[int, ...] | None) -> str:
    """An array as a claim writes it, with ';' between numbers (a decimal comma stays one):
    [a; b], and a matrix row by row, [[a; b]; [c; d]]."""
    if shape is None:
        return "[" + "; ".join(texts) + "]"
    cols = shape[1]
    rows = ["[" + "; ".join(texts[r : r + cols]) + "]" for r in range(0, len(texts), cols)]
    return "[" + "; ".join(rows) + "]"


class _Names:
    """Quantities of the graph as a solution writes them (in the caller's graph, and in a
    private copy that has been through backward, for true values)."""

    def __init__(self, graph: Graph, truth: Graph) -> None:
        self.resolver = Resolver(graph)
        self.truth = Resolver(truth)
        self.dot_top: str | None = None  # \dot{v} = ∂L/∂v

    def name(self, e: Expr) -> str | None:
        if isinstance(e, Name):
            if e.accent == "dot" and self.dot_top is not None:
                return f"∂{self.dot_top}/∂{Name(e.base, None, e.sub, e.layer).key()}"
            return e.key()
        if isinstance(e, Deriv):
            # a node named by its formula in brackets, as chainrule writes an unnamed one:
            # dL/d(h ⊙ h), ∂(h ⊙ h)/∂h
            top, var = (
                x.key() if isinstance(x, Name) else f"({self.expression(x) or '?'})"
                for x in (e.top, e.var)
            )
            return None if "(?)" in (top, var) else f"∂{top}/∂{var}"
        if isinstance(e, (Bin, Neg, Call)):
            return self.expression(e)
        return None

    def expression(self, e: Expr) -> str | None:
        """An intermediate named by its formula (``w_1 x_1``, ``\\hat{y} - y``) as the graph
        labels it (``w[0] · x[0]``, ``ŷ − y``): elements become indexes, products of vectors
        ``@``, and a vector's transpose is the vector."""
        labels = self.resolver.graph.labels()
        shapes = Shapes()
        for label, node in labels.items():
            shapes.shapes[label] = tuple(np.shape(node.value))

        def one(n: Expr) -> Expr | None:
            if isinstance(n, Name) and n.sub is not None and n.key() not in labels:
                index = element_index(n.sub)
                shape = shapes.shapes.get(n.plain.key(), ())
                if index is not None and len(shape) == 2 and len(index) == 1 and len(n.sub) == 2:
                    index = (int(n.sub[0]) - 1, int(n.sub[1]) - 1)
                if index is not None and shape and len(index) == len(shape):
                    return Index(n.plain, index)
            if isinstance(n, Transpose) and len(shapes.shape(n.a)) == 1:
                return rewrite(n.a, one)
            return None

        try:
            return program_text(rewrite(e, one), shapes)
        except (ValueError, RecursionError):
            return None

    def quantity(self, e: Expr, *, truth: bool = False) -> Any:
        found = self._resolved(e, self.truth if truth else self.resolver)
        return None if found is None else found[1]

    def claim_name(self, e: Expr) -> str | None:
        """The name under which ``e`` is a quantity of the graph: as written, or as an element
        of a matrix (W_{12}: row 1, column 2 of W); None when it is none."""
        found = self._resolved(e, self.resolver)
        return None if found is None else found[0]

    def _resolved(self, e: Expr, resolver: Resolver) -> tuple[str, Any] | None:
        name = self.name(e)
        if name is None:
            return None
        alt = _matrix_element(e)
        if alt is None and isinstance(e, Deriv):
            alt = _matrix_element(e.var)
            if alt is not None and isinstance(e.top, Name):
                alt = f"∂{e.top.key()}/∂{alt}"
        for candidate in (name, alt):
            if candidate is not None:
                try:
                    return candidate, resolver.quantity(candidate)
                except ValueInputError:
                    continue
        return None


def _matrix_element(e: Expr) -> str | None:
    """W_{12} or W_{1,2} (as chainrule's own worked solutions write it, and W_{10,3}): the
    element in row 1, column 2 of W, counted from 1 (named W1,2)."""
    if isinstance(e, Name) and e.sub is not None:
        parts = e.sub.replace(" ", "").split(",")
        if len(parts) == 1 and len(parts[0]) == 2:
            parts = list(parts[0])
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return f"{e.plain.key()}{parts[0]},{parts[1]}"
    return None


def _written_key(e: Name) -> str:
    """A name as ``grade`` looks it up: W_{1,2} (no program names a node so) as W1,2."""
    if e.sub is not None and "," in e.sub:
        return _matrix_element(e) or e.key()
    return e.key()


def check_solution(
    graph: Graph,
    text: str,
    *,
    latex: bool = False,
    skip: set[int] | None = None,
    rule: Rule = AS_WRITTEN,
) -> SolutionCheck:
    """Read and judge a worked solution against ``graph`` (the exercise's graph). ``skip``
    holds the offsets of statements that are not the learner's (the exercise's own givens
    when one file holds both). Each number is judged under ``rule`` (by default on the digits
    written, as a worked solution is); each step on the learner's own numbers always is."""
    statements, problems = read_statements(text, latex=latex, lenient=True)
    truth_graph, _ = copy_graph(graph)
    truth_graph.backward()
    names = _Names(graph, truth_graph)
    skipped = list(problems)

    lines = Lines(text)  # a number's own line (an align's rows continue one equation)
    pending: list[tuple[Statement, str, int, Claim, int, int]] = []
    # a text that writes totals dL/dx may mean the local partial by ∂L/∂x (chainrule's do)
    writes_totals = any(
        isinstance(st.chain.items[0], Deriv) and not st.chain.items[0].partial for st in statements
    )
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
            and c.items[1].var == Name(lhs.base, None, lhs.sub, lhs.layer)
        ):
            names.dot_top = c.items[1].top.key()
            continue
        qname = names.claim_name(lhs)
        if qname is None:
            if any(_literal(x) is not None or _array(x) is not None for x in c.items[1:]):
                skipped.append(Problem(st.line, "names no quantity of the graph", st.text))
            else:
                _unread(st, skipped)
            continue
        before = len(pending)
        for k in range(1, len(c.items)):
            item = c.items[k]
            line = lines.line(st.base + c.spans[k][0])
            array = _array(item)
            lit = _literal(item)
            if lit is None and array is None:
                continue
            try:
                if array is not None:
                    texts, shape = array
                    numbers = tuple(read_number(t, t) for t in texts)
                    shown = _array_text(texts, shape)
                    claim = Claim(qname, numbers, True, f"{qname} = {shown}", line, shape)
                else:
                    assert lit is not None
                    claim = Claim(qname, (read_number(lit, lit),), False, f"{qname} = {lit}",
                                  line)  # fmt: skip
                if writes_totals and isinstance(lhs, Deriv) and lhs.partial:
                    claim = replace(claim, local=True)
            except ValueInputError as exc:
                skipped.append(Problem(st.line, exc.message, st.text))
                continue
            start, end = c.spans[k]
            pending.append((st, qname, k, claim, st.base + start, st.base + end))
        _unread(st, skipped, judged=len(pending) > before)

    if len(pending) > MAX_CLAIMS:
        raise ValueInputError(
            f"line {pending[MAX_CLAIMS][0].line}: the solution holds {len(pending)} numbers to "
            f"judge, more than {MAX_CLAIMS}; a learner's sheet holds tens (each wrong number is "
            "traced through all the others)"
        )
    prepared = Prepared(graph) if pending else None
    try:
        verdicts = judge(graph, [p[3] for p in pending], rule, prepared) if pending else []
    except ValueInputError:
        # a claim the judge refuses (a number for a whole vector, the wrong count of
        # numbers): that one is not checked, the others are
        kept = []
        for p in pending:
            try:
                judge(graph, [p[3]], rule, prepared)
            except ValueInputError as exc:
                skipped.append(Problem(p[0].line, exc.message, p[0].text))
                continue
            kept.append(p)
        pending = kept
        verdicts = judge(graph, [p[3] for p in pending], rule, prepared) if pending else []

    own: dict[str, Judged] = {}  # the learner's latest number for each quantity
    judged: list[Judged] = []
    for (st, _name, k, _claim, start, end), v in zip(pending, verdicts, strict=True):
        j = Judged(v, st, start, end)
        if k >= 2:
            used: list[Judged] = []
            value = _evaluate(st.chain.items[k - 1], names, own, used)
            a, b = st.chain.spans[k - 1]
            j.step_text = text[st.base + a : st.base + b].strip()
            j.step_value = value
            j.uses = used
        judged.append(j)
        q = names.quantity(st.chain.items[0])
        if q is not None:
            own[q.key()] = j
    for j in judged:
        _trace(j)
    return SolutionCheck(judged, skipped, text, latex)


def _unread(st: Statement, skipped: list[Problem], *, judged: bool = False) -> None:
    """A step of a chain that could not be read: said, with the reason, rather than passed
    over (``judged``: the chain's numbers were read all the same)."""
    gap = next((x for x in st.chain.items if isinstance(x, Unread)), None)
    if gap is not None:
        also = "; the step is not read, the numbers beside it are" if judged else ""
        skipped.append(Problem(st.line, gap.message + also, st.text))


def _trace(j: Judged) -> None:
    """First slip or following, from the step before the number (when it could be evaluated)."""
    v = j.verdict
    if v.verdict != WRONG or j.step_value is None:
        return
    if not _matches(v.claim, j.step_value, AS_WRITTEN):
        v.origin = FIRST_SLIP
        v.recomputed = j.step_value
        v.follows = []
        return
    wrong = [u for u in j.uses if u.verdict.verdict == WRONG]
    if wrong:
        v.origin = FOLLOWS
        v.recomputed = j.step_value
        v.follows = [u.verdict for u in wrong]


Own = dict[Any, Judged]


def _evaluate(e: Expr, names: _Names, own: Own, used: list[Judged]) -> Any:
    """``e`` on the learner's own numbers: exact while it is rational, floats after; None when
    it names something the learner's numbers cannot give."""
    try:
        return _eval(e, names, own, used)
    except (ArithmeticError, ValueError, TypeError, OverflowError, ChainruleError, RecursionError):
        return None


def _eval(e: Expr, names: _Names, own: Own, used: list[Judged]) -> Any:
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Neg):
        inner = _eval(e.a, names, own, used)
        return None if inner is None else -inner
    if isinstance(e, (Name, Deriv)):
        return _quantity_value(e, names, own, used)
    if isinstance(e, Bin):
        a = _eval(e.a, names, own, used)
        b = _eval(e.b, names, own, used)
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
        x = _eval(e.args[0], names, own, used)
        return None if x is None else _FLOAT_FUNCTIONS[e.fn](float(x))
    if isinstance(e, (Matrix, Index)):
        return None
    return None


def _quantity_value(e: Expr, names: _Names, own: Own, used: list[Judged]) -> Any:
    """The learner's latest number for a quantity (or its element of a vector they gave),
    else the true value: what the learner did not write is taken as known."""
    q = names.quantity(e)
    if q is None:
        return None
    j = own.get(q.key())
    if j is not None:
        used.append(j)
        return j.verdict.claim.numbers[0].value if not j.verdict.claim.vector else None
    tq = names.quantity(e, truth=True)
    if tq is None:
        return None
    value = true_value(tq)
    if q.index is not None:
        whole = own.get((q.claim_type, id(q.node), None, id(q.top) if q.top is not None else None))
        full = true_value(replace(tq, index=None))
        if whole is not None and whole.verdict.claim.vector and isinstance(full, np.ndarray):
            flat = int(np.ravel_multi_index(q.index, full.shape))
            numbers = whole.verdict.claim.numbers
            if flat < len(numbers):
                used.append(whole)
                return numbers[flat].value
    if isinstance(value, np.ndarray):
        return None
    return float(value) if value.__class__ is not Fraction else value


_HEADER = re.compile(r"^[\s>*_#-]*(variant|student)[*_]*\s*[:=]\s*[*_]*(.+?)[*_\s]*$", re.I | re.M)


def solution_answers(
    text: str, *, latex: bool = False, unread: list[Problem] | None = None
) -> tuple[list[tuple[int, str, str]], dict[str, str]]:
    """A worked solution as a submission for ``grade``: for each chain whose left side names a
    quantity (a name, a derivative, ``\\dot{z}`` once defined), its last plain number — the
    learner's answer — as (line, quantity, number); and the ``variant:`` and ``student:`` lines
    of the prose. The formulas that could not be read go to ``unread`` (each with its line)."""
    statements, problems = read_statements(text, latex=latex, lenient=True)
    if unread is not None:
        unread.extend(problems)
    answers: list[tuple[int, str, str]] = []
    dot_top: str | None = None
    for st in statements:
        items = st.chain.items
        lhs = items[0]
        if isinstance(lhs, Name) and lhs.accent == "dot" and isinstance(items[1], Deriv):
            top = items[1].top
            if isinstance(top, Name):
                dot_top = top.key()
                continue
        if isinstance(lhs, Name) and lhs.accent == "dot" and dot_top is not None:
            name = f"∂{dot_top}/∂{Name(lhs.base, None, lhs.sub, lhs.layer).key()}"
        elif isinstance(lhs, Name):
            name = _written_key(lhs)
        elif isinstance(lhs, Deriv) and isinstance(lhs.top, Name) and isinstance(lhs.var, Name):
            name = f"∂{lhs.top.key()}/∂{_written_key(lhs.var)}"
        else:
            if unread is not None:
                _unread(st, unread)
            continue
        last = None
        for item in items[1:]:
            array = _array(item)
            lit = _literal(item)
            if array is not None:
                last = _array_text(*array)
            elif lit is not None:
                last = lit
        if last is not None:
            answers.append((st.line, name, last))
        if unread is not None:
            _unread(st, unread, judged=last is not None)
    header = {m.group(1).casefold(): m.group(2).strip() for m in _HEADER.finditer(text)}
    return answers, header


__all__ = ["Judged", "SolutionCheck", "check_solution", "solution_answers"]
