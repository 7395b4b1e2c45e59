"""An exercise as written (LaTeX or Markdown with maths) → a chainrule program.

What the text says becomes statements of the program language, each with the line it came from:

- a name set equal to numbers only (``b_0 = \\frac{3}{5}``, a ``bmatrix``) is a given value,
  unless the text also defines that name by a formula (then the numbers are working, as in
  ``z = \\frac{4}{5} + \\frac{7}{5} + \\frac{3}{5} = \\frac{14}{5}``), or the name is an element
  of a given vector (``x_1 = 1`` when ``\\mathbf{x}`` is given);
- a name set equal to a formula of names is a definition; a name defined more than once must get
  the same value from each definition (else the text is ambiguous, and the error names the lines),
  and the definition that goes through the text's other quantities is kept
  (``\\hat{y} = \\sigma(z)`` over ``\\hat{y} = \\sigma(\\mathbf{w}^T\\mathbf{x} + b_0)`` when
  ``z`` is defined);
- ``L = MSE(\\hat{y}, y)`` beside ``L = (\\hat{y} - y)^2`` defines MSE by the text;
  ``F(a, b) = …`` defines F outright;
- ``x_1`` is the first element of ``\\mathbf{x}`` when the text gives the vector, a product of two
  vectors or matrices (written side by side, with ``\\cdot`` or ``\\times``) is ``@``, and
  ``\\sum_{i=1}^{n}`` is written out term by term.

The output is the quantity nothing else is computed from (the last defined when there are several).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ...core.errors import ChainruleError, ValueInputError
from ...core.graph import Graph
from ..language import CONSTANTS, parse
from .parse import element_index
from .statements import Problem, Statement, read_statements
from .tree import (
    Bin,
    Call,
    Deriv,
    Expr,
    Index,
    Matrix,
    Name,
    Neg,
    Num,
    OpChooser,
    Sum,
    Transpose,
    has_names,
    names_in,
    program_text,
    rewrite,
    walk,
)

#: functions of the text → functions of the program language
PROGRAM_FUNCTIONS = {
    "σ": "σ", "exp": "exp", "log": "log", "tanh": "tanh", "sin": "sin", "cos": "cos",
    "sqrt": "sqrt", "abs": "abs", "softmax": "softmax", "MSE": "MSE", "mse": "MSE",
    "relu": "relu", "max": "max", "min": "min", "atan": "atan", "sum": "sum", "mean": "mean",
    "bce": "bce", "softplus": "softplus", "gelu": "gelu", "cross_entropy": "cross_entropy",
    "log_softmax": "log_softmax", "sign": "sign",
}  # fmt: skip
_SCALAR_RESULT = {"MSE", "sum", "mean", "bce", "cross_entropy"}
MAX_TERMS = 1000  # a \sum written out has at most this many terms


class AmbiguityError(ValueInputError):
    """The text gives two different meanings to one name."""


@dataclass
class ProgramLine:
    """A statement of the program read, and the line of the text it came from."""

    name: str
    text: str  # the program statement, "z = w.T @ x + b₀"
    line: int
    source: str  # the statement as written in the text
    offset: int = -1  # where that statement starts in the text


@dataclass
class Reading:
    """What was read from a document."""

    statements: list[ProgramLine]
    output: str
    problems: list[Problem] = field(default_factory=list)
    title: str | None = None
    filename: str | None = None

    @property
    def program(self) -> str:
        """The program, each statement with a comment giving its line in the text."""
        width = max((len(s.text) for s in self.statements), default=0)
        head = f"# read from {self.filename}\n" if self.filename else ""
        body = "".join(
            f"{s.text.ljust(width)}  # line {s.line}: {_one_line(s.source)}\n"
            for s in self.statements
        )
        return head + body

    @property
    def plain_program(self) -> str:
        """The program without comments (what the language parses)."""
        return "".join(s.text + "\n" for s in self.statements)


def _one_line(s: str, width: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 1] + "…"


@dataclass
class _Candidate:
    expr: Expr
    st: Statement

    @property
    def line(self) -> int:
        return self.st.line


def read_document(
    text: str,
    *,
    latex: bool = False,
    filename: str | None = None,
    given: Iterable[str] = (),
    output: str | None = None,
) -> Reading:
    """Read an exercise; ``given`` names values supplied elsewhere (``--at``), ``output`` the
    quantity wanted (else the one nothing else is computed from)."""
    statements, problems = read_statements(text, latex=latex)
    if not statements and problems:  # maths there, none of it readable: say why, and where
        first = problems[0]
        more = f" (and {len(problems) - 1} more formulas)" if len(problems) > 1 else ""
        raise ValueInputError(
            f"line {first.line}: {first.message}: {_one_line(first.text)}; no formula of the "
            f"text could be read{more}"
        )
    reading = _Reader(statements, set(given)).read(output)
    reading.problems = problems
    if output is None:
        _lost_definitions(reading)
    reading.title = _title(text)
    reading.filename = filename
    return reading


def _lost_definitions(reading: Reading) -> None:
    """A formula that could not be read, is the only definition of its name (a typo in
    ``L = \\left(h - 1\\right^2``) and comes after the output's is an error: read, it would
    have been the output (nothing read uses it, or its name would be undefined), so the
    exercise would otherwise be solved for another quantity without a word."""
    defined = {s.name for s in reading.statements}
    at = [s.line for s in reading.statements if s.name == reading.output]
    for p in reading.problems:
        lhs = _left_side(p.text)
        if lhs is None or (at and p.line <= at[-1]):
            continue  # a formula before the output's: were it read, the output would stay
        try:
            found, _ = read_statements(f"${lhs} = 0$", latex=False)
        except ChainruleError:
            continue
        if len(found) != 1 or not isinstance(found[0].chain.items[0], Name):
            continue
        key = found[0].chain.items[0].key()
        if key not in defined:
            raise ValueInputError(
                f"line {p.line}: {p.message}: {_one_line(p.text)}; this is the only formula "
                f"for {key}, so the exercise cannot be solved for it (the output would be "
                f"{reading.output or 'something else'}): correct the formula"
            )


def _left_side(text: str) -> str | None:
    """The left side of ``NAME = …`` (``&=`` too), when it is short enough to be a name."""
    depth = 0
    for k, ch in enumerate(text[:80]):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif ch == "=" and depth == 0:
            lhs = text[:k].replace("&", "").strip()
            return lhs if lhs and len(lhs) <= 40 and "=" not in lhs else None
    return None


def _title(text: str) -> str | None:
    for raw in text.splitlines():
        line = raw.strip().lstrip("#").strip()
        m = re.match(r"\\(?:section|subsection|title)\*?\{(.+)\}", line)
        if m:
            return m.group(1).strip()
        if re.match(r"(Exercise|Problem|Question|Aufgabe|Exercice|Übung)\b", line, re.I):
            return line
    return None


class Shapes(OpChooser):
    """Shapes of what the text writes, so that a product of two vectors is ``@``."""

    def __init__(self) -> None:
        self.shapes: dict[str, tuple[int, ...]] = {}

    def product(self, e: Bin) -> str:
        if e.op in ("jux", "dot", "times") and self.shape(e.a) and self.shape(e.b):
            return "@"
        return "*"

    def shape(self, e: Expr) -> tuple[int, ...]:
        if isinstance(e, Num):
            return ()
        if isinstance(e, Name):
            return self.shapes.get(e.key(), ())
        if isinstance(e, Index):
            full = self.shape(e.a)
            return full[len(e.at) :]
        if isinstance(e, Matrix):
            if e.column:
                return (sum(len(r) for r in e.rows),)
            return (len(e.rows), len(e.rows[0]))
        if isinstance(e, Transpose):
            return tuple(reversed(self.shape(e.a)))
        if isinstance(e, Neg):
            return self.shape(e.a)
        if isinstance(e, Call):
            if e.fn in _SCALAR_RESULT:
                return ()
            shapes = [self.shape(a) for a in e.args]
            return max(shapes, key=len) if shapes else ()
        if isinstance(e, Bin):
            a, b = self.shape(e.a), self.shape(e.b)
            if e.op in ("jux", "dot", "times", "@") and a and b:
                return _matmul_shape(a, b)
            return a if len(a) >= len(b) else b
        return ()


def _matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 2 and len(b) == 1:
        return (a[0],)
    if len(a) == 1 and len(b) == 2:
        return (b[1],)
    return (a[0], b[-1])


class _Reader:
    def __init__(self, statements: list[Statement], given: set[str]) -> None:
        self.statements = statements
        self.given_elsewhere = given
        self.defs: dict[str, list[_Candidate]] = {}
        self.numeric: dict[str, list[_Candidate]] = {}
        self.functions: dict[str, tuple[tuple[str, ...], Expr, Statement]] = {}
        self.shapes = Shapes()

    # -- collecting -------------------------------------------------------------------------

    def collect(self) -> None:
        named = {st.chain.items[0].key() for st in self.statements
                 if isinstance(st.chain.items[0], Name)}  # fmt: skip
        for st in self.statements:
            c = st.chain
            lhs, rhs = c.items[0], c.items[1]
            if any(isinstance(n, Deriv) for n in walk(rhs)):
                continue  # notation (\dot v = ∂L/∂v) or a derivative: solution, not definition
            if c.rels[0] != "=":
                continue
            if isinstance(lhs, Name):
                if _symbolic(rhs, named):
                    self.defs.setdefault(lhs.key(), []).append(_Candidate(rhs, st))
                elif len(c.items) == 2:
                    self.numeric.setdefault(lhs.key(), []).append(_Candidate(rhs, st))
            elif (
                isinstance(lhs, Call)
                and lhs.args
                and all(isinstance(a, Name) for a in lhs.args)
                and _symbolic(rhs, named)
            ):
                params = tuple(a.key() for a in lhs.args if isinstance(a, Name))
                if lhs.fn not in self.functions:
                    self.functions[lhs.fn] = (params, rhs, st)

    # -- reading ----------------------------------------------------------------------------

    def read(self, output: str | None) -> Reading:
        self.collect()
        givens = self.given_values()
        self.functions_by_text()
        chosen = self.choose(givens)
        order = self.order(givens, chosen)
        self.check_defined(givens, chosen)
        lines: list[ProgramLine] = []
        for key in order:
            if key in givens:
                cand = givens[key]
            else:
                cand = chosen[key]
            text = f"{key} = {self.write(cand.expr)}"
            lines.append(ProgramLine(key, text, cand.line, cand.st.text, cand.st.offset))
        out = self.output(chosen, givens, output)
        last = [p for p in lines if p.name == out and out in chosen]
        if last and all(out not in {n.key() for n in names_in(c.expr)} for c in chosen.values()):
            lines.remove(last[0])  # nothing uses the output: it may come last, where the
            lines.append(last[0])  # program language looks for it
        if not lines:
            raise ValueInputError(
                "no definitions found: write the exercise's formulas between $…$ (or in an "
                "equation environment), such as $L = (\\hat{y} - y)^2$"
            )
        return Reading(lines, out)

    def given_values(self) -> dict[str, _Candidate]:
        givens: dict[str, _Candidate] = {}
        for key, cands in self.numeric.items():
            if key in self.defs:
                continue
            values = [c for c in cands if not self._element_of_given(c)]
            if not values:
                continue
            first = values[0]
            for other in values[1:]:
                if _value(other.expr) != _value(first.expr):
                    raise AmbiguityError(
                        f"line {other.line}: {key} is given twice, with different values "
                        f"(line {first.line}: {first.st.text}; line {other.line}: "
                        f"{other.st.text})"
                    )
            givens[key] = first
            self.shapes.shapes[key] = self.shapes.shape(first.expr)
        return givens

    def _element_of_given(self, c: _Candidate) -> bool:
        lhs = c.st.chain.items[0]
        if not isinstance(lhs, Name) or lhs.sub is None or element_index(lhs.sub) is None:
            return False
        base = lhs.plain.key()
        cands = self.numeric.get(base, [])
        return any(isinstance(x.expr, Matrix) for x in cands) or base in self.defs

    def functions_by_text(self) -> None:
        """``L = Loss(ŷ, y)`` and ``L = (ŷ − y)²`` in the same text: Loss is defined there.
        A function chainrule knows (MSE) keeps its meaning; the two definitions must then
        agree, and the written-out one is kept for its nodes."""
        for cands in self.defs.values():
            calls = [c for c in cands if isinstance(c.expr, Call)]
            others = [c for c in cands if not isinstance(c.expr, Call)]
            for c in calls:
                assert isinstance(c.expr, Call)
                if c.expr.fn in self.functions or not others:
                    continue
                if not all(isinstance(a, Name) for a in c.expr.args):
                    continue
                params = tuple(a.key() for a in c.expr.args if isinstance(a, Name))
                body = others[0]
                used = {n.key() for n in names_in(body.expr)}
                if set(params) <= used and c.expr.fn not in PROGRAM_FUNCTIONS:
                    self.functions[c.expr.fn] = (params, body.expr, body.st)

    def choose(self, givens: Mapping[str, _Candidate]) -> dict[str, _Candidate]:
        chosen: dict[str, _Candidate] = {}
        defined = set(self.defs)
        for key, cands in self.defs.items():
            expanded = [_Candidate(self.expand(c.expr, c.st), c.st) for c in cands]
            written = {id(e): not self._text_call(c.expr) for e, c in zip(expanded, cands)}
            usable = [c for c in expanded if not self._unknown_calls(c.expr)]
            if not usable:
                bad = self._unknown_calls(expanded[0].expr)
                raise ValueInputError(
                    f"line {cands[0].line}: {key} = … uses {bad[0]}, which the text does not "
                    f"define and chainrule does not know ({cands[0].st.text})"
                )
            known = set(givens) | defined | self.given_elsewhere | set(CONSTANTS)
            complete = [c for c in usable if self._knows(c.expr, known)]
            usable = complete or usable  # y = f(x) in the prose beside y = σ(z): σ(z)

            others = defined - {key}

            def score(
                c: _Candidate, others: set[str] = others, written: dict[int, bool] = written
            ) -> tuple[int, int, bool, int]:
                refs = {n.key() for n in names_in(c.expr)} & others
                return (len(refs), _ops(c.expr), written[id(c)], -c.line)

            usable.sort(key=score, reverse=True)
            chosen[key] = usable[0]
        # every other definition of a name must give it the same value
        for key, cands in self.defs.items():
            if len(cands) < 2:
                continue
            self.agree(key, chosen, givens)
        return chosen

    def agree(
        self, key: str, chosen: dict[str, _Candidate], givens: Mapping[str, _Candidate]
    ) -> None:
        values: list[tuple[_Candidate, Any]] = []
        for cand in self.defs[key]:
            expanded = _Candidate(self.expand(cand.expr, cand.st), cand.st)
            if self._unknown_calls(expanded.expr):
                continue
            trial = dict(chosen)
            trial[key] = expanded
            try:
                value = self.evaluate(key, givens, trial)
            except (ChainruleError, ArithmeticError, ValueError):
                continue  # judged by the definition kept
            values.append((cand, value))
        for cand, value in values[1:]:
            first, v0 = values[0]
            if not _close(v0, value):
                raise AmbiguityError(
                    f"line {cand.line}: {key} is defined twice with different values "
                    f"(line {first.line}: {first.st.text}; line {cand.line}: {cand.st.text}); "
                    "keep one definition"
                )

    def evaluate(
        self, key: str, givens: Mapping[str, _Candidate], defs: dict[str, _Candidate]
    ) -> Any:
        order = self.order(givens, defs, only=key)
        text = "".join(
            f"{k} = {self.write((givens[k] if k in givens else defs[k]).expr)}\n" for k in order
        )
        at = {k: 1.0 for k in self.given_elsewhere}
        graph = parse(text, output=key, at=at or None)
        return graph.output.value

    @staticmethod
    def _knows(e: Expr, known: set[str]) -> bool:
        """Does every name of ``e`` have a value (itself, or as an element of a vector)?"""
        return all(n.key() in known or n.plain.key() in known for n in names_in(e))

    def _text_call(self, e: Expr) -> bool:
        """Is ``e`` a call of a function the text defines (L = MSE(ŷ, y))?"""
        return isinstance(e, Call) and e.fn in self.functions

    def _unknown_calls(self, e: Expr) -> list[str]:
        return [
            n.fn
            for n in walk(e)
            if isinstance(n, Call) and n.fn not in PROGRAM_FUNCTIONS and n.fn not in self.functions
        ]

    def expand(self, e: Expr, st: Statement) -> Expr:
        """Functions the text defines, substituted; sums written out."""
        return rewrite(e, lambda n: self._expand_one(n, st))

    def _expand_one(self, n: Expr, st: Statement) -> Expr | None:
        if isinstance(n, Call) and n.fn in self.functions:
            params, body, where = self.functions[n.fn]
            if len(params) != len(n.args):
                raise ValueInputError(
                    f"line {st.line}: {n.fn} takes {len(params)} argument(s) (line {where.line})"
                )
            table = dict(zip(params, n.args, strict=True))
            if body == n:
                return None
            return rewrite(body, lambda m: table.get(m.key()) if isinstance(m, Name) else None)
        if isinstance(n, Sum):
            return self._write_out(n, st)
        return None

    def _write_out(self, s: Sum, st: Statement) -> Expr:
        lo = _value(s.lo) if s.lo is not None else Fraction(1)
        if s.hi is not None and not has_names(s.hi):
            hi = _value(s.hi)
        else:
            lengths = set()
            for n in names_in(s.body):
                if n.sub == s.var:
                    shape = self.shapes.shapes.get(n.plain.key()) or self._def_shape(n.plain.key())
                    if shape:
                        lengths.add(shape[0])
            if len(lengths) != 1:
                raise ValueInputError(
                    f"line {st.line}: cannot tell how many terms \\sum over {s.var} has; "
                    f"write its bounds, as \\sum_{{{s.var}=1}}^{{3}}"
                )
            hi = Fraction(lengths.pop()) + lo - 1
        if lo.denominator != 1 or hi.denominator != 1 or hi < lo or hi - lo >= MAX_TERMS:
            raise ValueInputError(f"line {st.line}: the bounds of \\sum must be whole numbers")
        terms: list[Expr] = []
        for k in range(int(lo), int(hi) + 1):

            def at(m: Expr, k: int = k) -> Expr | None:
                if m == Name(s.var):
                    return Num(Fraction(k), str(k))  # the index itself: \sum_i i x_i
                if isinstance(m, Name) and m.sub == s.var:
                    return Name(m.base, m.accent, str(k), m.layer)
                return None

            terms.append(rewrite(s.body, at))
        return _balanced(terms)

    def _def_shape(self, key: str) -> tuple[int, ...]:
        cands = self.defs.get(key)
        if not cands:
            return ()
        return self.shapes.shape(cands[0].expr)

    # -- the program ------------------------------------------------------------------------

    def elements(self, e: Expr, defined: set[str]) -> Expr:
        """x_1 → x[0] where x is a vector of the text and x_1 is not a name of its own."""

        def one(n: Expr) -> Expr | None:
            if not isinstance(n, Name) or n.sub is None or n.key() in defined:
                return None
            base = n.plain.key()
            shape = self.shapes.shapes.get(base)
            if base not in defined or not shape:
                return None
            index = element_index(n.sub)
            if index is None:
                return None
            if len(shape) == 2 and len(index) == 1 and len(n.sub) == 2:
                index = (int(n.sub[0]) - 1, int(n.sub[1]) - 1)
            if len(index) != len(shape):
                return None
            return Index(n.plain, index)

        return rewrite(e, one)

    def write(self, e: Expr) -> str:
        return program_text(self.elements(e, self._defined), self.shapes)

    def order(
        self,
        givens: Mapping[str, _Candidate],
        defs: Mapping[str, _Candidate],
        only: str | None = None,
    ) -> list[str]:
        """Givens in the order of the text, then definitions after what they use."""
        self._defined = set(givens) | set(defs) | self.given_elsewhere
        deps: dict[str, set[str]] = {}
        for key, cand in defs.items():
            used = set()
            for n in names_in(self.elements(cand.expr, self._defined)):
                for k in (n.key(), n.plain.key()):  # ŷ₁ needs ŷ
                    if k in defs and k != key:
                        used.add(k)
            deps[key] = used
        wanted: set[str] | None = None
        if only is not None:
            wanted = set()
            stack = [only]
            while stack:
                k = stack.pop()
                if k in wanted:
                    continue
                wanted.add(k)
                stack.extend(deps.get(k, ()))
                if k in defs:
                    stack.extend(
                        n.key() for n in names_in(self.elements(defs[k].expr, self._defined))
                    )
        out = [
            k
            for k in sorted(givens, key=lambda k: givens[k].st.offset)
            if wanted is None or k in wanted
        ]
        done: set[str] = set(out)
        pending = sorted(
            (k for k in defs if wanted is None or k in wanted), key=lambda k: defs[k].st.offset
        )
        while pending:
            ready = [k for k in pending if deps[k] <= done | {k}]
            if not ready:
                cyc = ", ".join(f"{k} (line {defs[k].line})" for k in pending)
                raise AmbiguityError(f"these definitions use one another in a circle: {cyc}")
            k = ready[0]
            out.append(k)
            done.add(k)
            pending.remove(k)
            cand = defs[k]
            self.shapes.shapes[k] = self.shapes.shape(self.elements(cand.expr, self._defined))
        return out

    def check_defined(
        self, givens: Mapping[str, _Candidate], defs: Mapping[str, _Candidate]
    ) -> None:
        known = set(givens) | set(defs) | self.given_elsewhere | set(CONSTANTS)
        for key, cand in defs.items():
            for n in names_in(self.elements(cand.expr, self._defined)):
                if n.key() in known:
                    continue
                raise ValueInputError(
                    f"line {cand.line}: {n.key()} is used in {key} = … but the text never gives "
                    f"its value (give it with --at {n.key()}=VALUE)"
                )

    def output(
        self, defs: Mapping[str, _Candidate], givens: Mapping[str, _Candidate], wanted: str | None
    ) -> str:
        if wanted is not None:
            return wanted
        used: set[str] = set()
        for key, cand in defs.items():
            used |= {n.key() for n in names_in(cand.expr) if n.key() != key}
            used |= {n.plain.key() for n in names_in(cand.expr)}
        sinks = [k for k in defs if k not in used]
        pool = sinks or list(defs) or list(givens)
        if not pool:
            return ""
        table = {**givens, **defs}
        return max(pool, key=lambda k: table[k].st.offset)


def _balanced(terms: list[Expr]) -> Expr:
    """t₁ + t₂ + … as the text reads it while short; a long sum as a balanced tree, so that
    a written-out \\sum of many terms is not hundreds of additions deep."""
    if len(terms) <= 8:
        out = terms[0]
        for t in terms[1:]:
            out = Bin("+", out, t)
        return out
    half = len(terms) // 2
    return Bin("+", _balanced(terms[:half]), _balanced(terms[half:]))


def _symbolic(e: Expr, named: set[str]) -> bool:
    """Does ``e`` use names (not only numbers and the constants e and π, unless the text names
    something e or π itself)?"""
    return any(
        isinstance(n, Name) and (n.key() not in CONSTANTS or n.key() in named) for n in walk(e)
    ) or any(isinstance(n, Sum) for n in walk(e))


def _ops(e: Expr) -> int:
    return sum(isinstance(n, (Call, Bin, Neg, Transpose, Sum)) for n in walk(e))


def _value(e: Expr) -> Any:
    """The value of a numbers-only expression (for comparing two givens of one name)."""
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Neg):
        return -_value(e.a)
    if isinstance(e, Bin) and e.op in ("+", "-", "*", "/", "jux", "dot", "times"):
        a, b = _value(e.a), _value(e.b)
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "/":
                return a / b if b else None
            return a * b
    if isinstance(e, Matrix):
        return tuple(tuple(_value(x) for x in row) for row in e.rows)
    return repr(e)


def _close(a: Any, b: Any) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                rtol=1e-9, atol=1e-12))  # fmt: skip
    except (TypeError, ValueError):
        return False


def parse_document(
    text: str,
    *,
    latex: bool = False,
    exact: bool = False,
    at: Mapping[str, Any] | None = None,
    output: str | None = None,
    filename: str | None = None,
) -> tuple[Graph, Reading]:
    """The graph of an exercise written as a document, and what was read (to show the user)."""
    reading = read_document(
        text, latex=latex, filename=filename, given=list(at or {}), output=output
    )
    return graph_of(reading, exact=exact, at=at), reading


def graph_of(
    reading: Reading, *, exact: bool = False, at: Mapping[str, Any] | None = None
) -> Graph:
    """The graph of a program read from a document; an error names the line of the text."""
    try:
        return parse(reading.plain_program, exact=exact, at=at, output=reading.output)
    except ChainruleError as exc:
        raise _mapped(exc, reading) from None


def _mapped(exc: ChainruleError, reading: Reading) -> ChainruleError:
    """A program error at statement K → the same error at the line of the text it came from."""
    k = exc.line
    if k is None or not 1 <= k <= len(reading.statements):
        return exc
    st = reading.statements[k - 1]
    out = type(exc)(f"{exc.message} (the text's {st.source!r}, read as {st.text})", node=exc.node)
    out.line = st.line  # the line of the text; the program's column would not fit it
    return out
