"""The maths of an exercise as a small tree, and that tree written as chainrule program text.

The reader never evaluates what the user wrote: LaTeX becomes these nodes, the nodes become
program text, and the program language (``lang/language.py``) reads that text with its own
whitelist. The same nodes are evaluated on a learner's numbers by ``check/solution.py``, again
by walking them, never through ``eval``."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ..typography import TO_SUBSCRIPT, layer_mark

ACCENT_MARKS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304", "dot": "\u0307"}


@dataclass(frozen=True)
class Num:
    value: Fraction
    text: str  # as written (0,94 keeps its comma; the number of decimals is its precision)


@dataclass(frozen=True)
class Name:
    base: str  # a letter or word: y, σ, MSE
    accent: str | None = None  # hat, tilde, bar, dot
    sub: str | None = None  # 0, 12, i, out
    layer: str | None = None  # 1 for z^{(1)}, z^{[1]}, z^(1) or z⁽¹⁾: a label, not a power

    @property
    def plain(self) -> Name:
        """The name without its subscript (W^{(1)} for W^{(1)}_{12})."""
        return Name(self.base, self.accent, None, self.layer)

    def key(self) -> str:
        """The name as chainrule writes it: ŷ, b₀, w₁₂, h_out, z⁽¹⁾, a⁽²⁾₁."""
        s = self.base
        if self.accent:
            s = unicodedata.normalize("NFC", s + ACCENT_MARKS[self.accent])
        if self.layer is not None:
            s += layer_mark(self.layer)
        if self.sub is not None:
            s += self.sub.translate(TO_SUBSCRIPT) if self.sub.isdigit() else "_" + self.sub
        return s


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Bin:
    op: str  # + - * / ^ @, and "jux" (written side by side) or "dot" (\cdot), "times" (\times),
    # "outer" (\otimes: read, so a line of a worked solution is, but not a program's)
    a: Expr
    b: Expr


@dataclass(frozen=True)
class Neg:
    a: Expr


@dataclass(frozen=True)
class Transpose:
    a: Expr


@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[Expr, ...], ...]
    column: bool  # one column (or one row): a vector


@dataclass(frozen=True)
class Index:
    """An element of a vector or matrix named by its subscript: x_1 → x[0]."""

    a: Expr
    at: tuple[int, ...]  # from 0


@dataclass(frozen=True)
class Deriv:
    """∂top/∂var (a quantity of a worked solution, not of a program)."""

    top: Expr
    var: Expr
    partial: bool = False  # written with ∂ (rather than d): where a text writes both, local


@dataclass(frozen=True)
class Sum:
    var: str
    lo: Expr | None
    hi: Expr | None
    body: Expr


@dataclass(frozen=True)
class Unread:
    """A middle step of a worked solution's chain that could not be read (a rule written
    out, ``scatter(…, shape=(3,))``): the numbers around it still are."""

    message: str
    pos: int


Expr = Num | Name | Call | Bin | Neg | Transpose | Matrix | Index | Deriv | Sum | Unread


def rewrite(e: Expr, f: Callable[[Expr], Expr | None]) -> Expr:
    """``e`` with every node ``n`` for which ``f(n)`` is not None replaced (bottom-up for the
    rest). Recursion follows the nesting of one written formula."""
    got = f(e)
    if got is not None:
        return got
    if isinstance(e, Call):
        return Call(e.fn, tuple(rewrite(a, f) for a in e.args))
    if isinstance(e, Bin):
        return Bin(e.op, rewrite(e.a, f), rewrite(e.b, f))
    if isinstance(e, Neg):
        return Neg(rewrite(e.a, f))
    if isinstance(e, Transpose):
        return Transpose(rewrite(e.a, f))
    if isinstance(e, Index):
        return Index(rewrite(e.a, f), e.at)
    if isinstance(e, Matrix):
        return Matrix(tuple(tuple(rewrite(x, f) for x in row) for row in e.rows), e.column)
    if isinstance(e, Deriv):
        return Deriv(rewrite(e.top, f), rewrite(e.var, f), e.partial)
    if isinstance(e, Sum):
        return Sum(
            e.var,
            None if e.lo is None else rewrite(e.lo, f),
            None if e.hi is None else rewrite(e.hi, f),
            rewrite(e.body, f),
        )
    return e


def walk(e: Expr) -> list[Expr]:
    """Every node of a tree, without recursion (exercises are short, but the rule holds)."""
    out: list[Expr] = []
    stack: list[Expr] = [e]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(children(n))
    return out


def depth(e: Expr) -> int:
    """How deeply operations nest in ``e`` (counted without recursion)."""
    best = 0
    stack: list[tuple[Expr, int]] = [(e, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best


def children(e: Expr) -> list[Expr]:
    if isinstance(e, Call):
        return list(e.args)
    if isinstance(e, Bin):
        return [e.a, e.b]
    if isinstance(e, (Neg, Transpose)):
        return [e.a]
    if isinstance(e, Index):
        return [e.a]
    if isinstance(e, Matrix):
        return [x for row in e.rows for x in row]
    if isinstance(e, Deriv):
        return [e.top, e.var]
    if isinstance(e, Sum):
        return [x for x in (e.lo, e.hi, e.body) if x is not None]
    return []


def names_in(e: Expr) -> list[Name]:
    return [n for n in walk(e) if isinstance(n, Name)]


def has_names(e: Expr) -> bool:
    return any(isinstance(n, (Name, Deriv)) for n in walk(e))


def calls_in(e: Expr) -> list[Call]:
    return [n for n in walk(e) if isinstance(n, Call)]


def count_ops(e: Expr) -> int:
    return sum(isinstance(n, (Call, Bin, Neg, Transpose, Sum)) for n in walk(e))


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "neg": 3, "^": 4}


def program_text(e: Expr, op_of: OpChooser) -> str:
    """The tree in the program language; ``op_of`` decides what a product written side by side
    (or with \\cdot) means: ``*``, or ``@`` between vectors and matrices."""
    text, _ = _write(e, op_of)
    return text


class OpChooser:
    """What a written product is: overridden by the reader, which knows the shapes."""

    def product(self, e: Bin) -> str:
        return "*"


def _whole(e: Expr) -> bool:
    return isinstance(e, Num) and e.value.denominator == 1 and e.value >= 0


def _num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _write(e: Expr, ops: OpChooser) -> tuple[str, int]:
    if isinstance(e, Num):
        if e.value.denominator == 1:
            return str(e.value.numerator), (3 if e.value < 0 else 9)
        dec = e.text.replace(",", ".").replace("−", "-").strip()
        if dec.replace(".", "", 1).lstrip("+-").isdigit() and "." in dec:
            return dec, (3 if e.value < 0 else 9)
        return _num(e.value), 2  # a fraction: 4/5 (a rational in the program language)
    if isinstance(e, Name):
        return e.key(), 9
    if isinstance(e, Call):
        return e.fn + "(" + ", ".join(_write(a, ops)[0] for a in e.args) + ")", 9
    if isinstance(e, Neg):
        s, p = _write(e.a, ops)
        return "-" + (s if p > _PREC["neg"] else f"({s})"), _PREC["neg"]
    if isinstance(e, Transpose):
        s, p = _write(e.a, ops)
        return (s if p >= 9 else f"({s})") + ".T", 9
    if isinstance(e, Index):
        s, p = _write(e.a, ops)
        s = s if p >= 9 else f"({s})"
        return s + "".join(f"[{i}]" for i in e.at), 9
    if isinstance(e, Matrix):
        if e.column:
            items = [x for row in e.rows for x in row]
            return "[" + ", ".join(_write(x, ops)[0] for x in items) + "]", 9
        rows = ["[" + ", ".join(_write(x, ops)[0] for x in row) + "]" for row in e.rows]
        return "[" + ", ".join(rows) + "]", 9
    if isinstance(e, Bin):
        if e.op == "outer":
            raise ValueError("an outer product (⊗) has no form in a program")
        if e.op == "/" and _whole(e.a) and _whole(e.b):
            return f"{_write(e.a, ops)[0]}/{_write(e.b, ops)[0]}", 2  # a rational: 4/5
        op = e.op if e.op in "+-/^" else ops.product(e)
        p = _PREC[op]
        a, pa = _write(e.a, ops)
        b, pb = _write(e.b, ops)
        if op == "^":
            a = a if pa > p else f"({a})"
            b = b if pb > p else f"({b})"
            return f"{a}^{b}", p
        a = a if pa >= p else f"({a})"
        # left-associative: the right operand needs brackets at equal precedence
        b = b if pb > p else f"({b})"
        return f"{a} {op} {b}", p
    raise ValueError(f"cannot write {type(e).__name__} in a program")
