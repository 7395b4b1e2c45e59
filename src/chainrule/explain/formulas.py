"""Pieces of maths for a worked solution, each written twice: as plain text and as LaTeX.

Everything here reads the graph through ``chainrule.lang.notation`` and the op table, never an op by
its name, so a new op is explained as soon as the table knows how to write it."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..core.node import Node, apply, new_node
from ..core.node_math import NodeMath
from ..core.values import decimal, is_exact, is_rational, sign_of
from ..lang import symbols
from ..lang.naming import Naming
from ..lang.notation import definition, latex_name, nested_text, number_text, partial_formula
from ..lang.typography import MINUS, TO_SUBSCRIPT, latex_array
from ..ops import OPS

SUBSCRIPTS = TO_SUBSCRIPT
_TOKEN = "Q{}Z"  # a placeholder name that both styles write unchanged (see ``substituted``)


@dataclass(frozen=True)
class Math:
    """One piece of maths in both styles: ``text`` for terminals, ``latex`` for $…$."""

    text: str
    latex: str

    def __add__(self, other: Math) -> Math:
        return Math(self.text + other.text, self.latex + other.latex)


def _text_minus(s: str) -> str:
    if "-" not in s:  # most labels and numbers: nothing to replace
        return s
    out = []
    for i, ch in enumerate(s):
        if ch == "-" and (i == 0 or s[i - 1] in " ([,") and not (i > 0 and s[i - 1] == "e"):
            out.append(MINUS)
        else:
            out.append(ch)
    return "".join(out)


_CACHE_MAX = 1 << 16  # entries of each memo here


def num(value: Any, digits: int) -> Math:
    """A value as a decimal with ``digits`` significant digits (arrays element by element).

    A float's decimal is remembered: a worked solution writes each number several times (a
    value, then a factor of a product, a term of a sum). 0.0 and −0.0 share an entry; both are
    written 0."""
    if type(value) is float or type(value) is np.float64:
        return _float_num(value, digits)
    return _num(value, digits)


@lru_cache(maxsize=_CACHE_MAX)
def _float_num(value: float, digits: int) -> Math:
    return _num(value, digits)


def _num(value: Any, digits: int) -> Math:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        parts = [num(v, digits) for v in value]
        flat = parts if value.ndim == 1 else [num(v, digits) for v in value.reshape(-1)]
        cells = [p.latex for p in flat]
        return Math("[" + ", ".join(p.text for p in parts) + "]", latex_array(cells, value.shape))
    text = decimal(value, digits)
    latex = text
    if "e" in text:
        mant, exp = text.split("e")
        latex = f"{mant} \\times 10^{{{int(exp)}}}"
    return Math(_text_minus(text), latex)


def exact_num(value: Any) -> Math | None:
    """The exact rational form of a value (4/5, [1, 1]), or None when it has none."""
    if not is_rational(value):
        return None
    if isinstance(value, np.ndarray):
        return Math(
            _text_minus(nested_text(value, lambda x: number_text(x, "text"))),
            nested_text(value, lambda x: number_text(x, "latex"), "latex"),
        )
    return Math(_text_minus(number_text(value, "text")), number_text(value, "latex"))


def _is_negative(value: Any) -> bool:
    """Whether a number is below zero, exact ones by their sign (an exact 6e324 has no float)."""
    if isinstance(value, np.ndarray):
        return False
    try:
        return (sign_of(value) if is_exact(value) else float(value)) < 0
    except (TypeError, ValueError):
        return False


def factor(value: Any, digits: int) -> Math:
    """A number written as a factor of a product: negative numbers in parentheses."""
    m = num(value, digits)
    if _is_negative(value):
        return Math(f"({m.text})", rf"\left({m.latex}\right)")
    return m


# ------------------------------------------------------------------ names of nodes


_TEXT_ONLY: ContextVar[bool] = ContextVar("chainrule_text_only", default=False)


@contextmanager
def text_only() -> Iterator[None]:
    """Labels, formulas and substitutions written in text only inside (their LaTeX left
    empty), in this thread: for a reader that shows no LaTeX, such as the explorer, which is
    then spared writing every label and formula a second time."""
    token = _TEXT_ONLY.set(True)
    try:
        yield
    finally:
        _TEXT_ONLY.reset(token)


# A naming's labels, each worked out once: a worked solution writes the same labels many times
# a node (its step, d…/d… and ∂…/∂… of every edge, in text and LaTeX). Only labelled nodes are
# kept, whose label is fixed with the naming; a number is written from its value every time.
# Keyed by the node and whether the LaTeX is written (see ``text_only``).
_LABELS: weakref.WeakKeyDictionary[Naming, dict[tuple[Node, bool], tuple[Math, str, str]]] = (
    weakref.WeakKeyDictionary()
)


def _labelled(node: Node, names: Naming) -> tuple[Math, str, str]:
    """The node's label, and its text and LaTeX as they stand in a derivative (bracketed
    unless a single name)."""
    known = _LABELS.get(names)
    if known is None:
        known = _LABELS[names] = {}
    bare = _TEXT_ONLY.get()
    got = known.get((node, bare))
    if got is not None:
        return got
    m = Math(_text_minus(names.label(node)), "" if bare else names.latex(node))
    if _needs_parens(node, names):
        got = (m, f"({m.text})", rf"\left({m.latex}\right)")
    else:
        got = (m, m.text, m.latex)
    if node in names:
        known[(node, bare)] = got
    return got


def label(node: Node, names: Naming) -> Math:
    """What a node is called in a worked solution: its label in the graph's naming (its name,
    x′, a short expression such as ŷ − y, or a generated a₁)."""
    return _labelled(node, names)[0]


def _needs_parens(node: Node, names: Naming) -> bool:
    """Any label but a single name is bracketed in a derivative: d(y²), ∂n/∂(x1*w1 + x2*w2)."""
    if not names.is_atom(node) and bool(node.args):
        return True
    return not symbols.is_single_name(names.label(node))


def _parts(top: Node, bottom: Node, names: Naming) -> tuple[str, str, str, str]:
    _, tt, tl = _labelled(top, names)
    _, bt, bl = _labelled(bottom, names)
    return tt, bt, tl, bl


def top_of(output: Node, names: Naming) -> Math:
    """What totals are derivatives of: the output, or (Σy) when it is a vector (the seed of
    ones differentiates the sum of its elements)."""
    t = label(output, names)
    if symbols.is_vector(output.value):
        return Math(symbols.summed_text(t.text), symbols.summed_latex(t.latex))
    tt, _, tl, _ = _parts(output, output, names)
    return Math(tt, tl)


def derivative(top: Node, bottom: Node, names: Naming) -> Math:
    """The total dtop/dbottom: the gradient of the output ``top`` with respect to a node,
    summed over every path (``chainrule.lang.symbols``). Remembered for labelled nodes, like
    their labels: every node's total is written several times (its step, each edge's product,
    the page's data)."""
    if top in names and bottom in names:
        known = _TOTALS.get(names)
        if known is None:
            known = _TOTALS[names] = {}
        key = (top, bottom, symbols.is_vector(top.value), _TEXT_ONLY.get())
        got = known.get(key)
        if got is None:
            got = known[key] = _derivative(top, bottom, names)
        return got
    return _derivative(top, bottom, names)


_TOTALS: weakref.WeakKeyDictionary[Naming, dict[tuple[Node, Node, bool, bool], Math]] = (
    weakref.WeakKeyDictionary()
)


def _derivative(top: Node, bottom: Node, names: Naming) -> Math:
    t = top_of(top, names)
    _, bt, _, bl = _parts(top, bottom, names)
    return Math(symbols.total_text(t.text, bt), symbols.total_latex(t.latex, bl))


def partial_label(consumer: Node, bottom: Node, names: Naming) -> Math:
    """The local partial ∂consumer/∂bottom of one edge, with parentheses around an unnamed
    expression."""
    tt, bt, tl, bl = _parts(consumer, bottom, names)
    return Math(symbols.local_text(tt, bt), symbols.local_latex(tl, bl))


def element_label(node: Node, index: tuple[int, ...], names: Naming) -> Math:
    """The name of one element of a vector or matrix input as maths writes it, counting from
    1: x₁, W₁,₂ (LaTeX x_{1}, W_{1,2}). A name that ends in a digit (w1) or an expression takes
    the program's brackets in text, counting from 0 as the program does (w1[0]); ``check``
    reads both back (docs/explain.md)."""
    base = label(node, names)
    ones = [i + 1 for i in index]
    name = names.label(node) if names.is_atom(node) else ""
    plain_name = bool(name) and not name[-1].isdigit() and name[-1] not in "₀₁₂₃₄₅₆₇₈₉"
    inner = ",".join(str(i) for i in ones)
    latex = f"{_subscripted(base.latex)}_{{{inner}}}"
    if plain_name:
        subscripts = ",".join(str(i).translate(SUBSCRIPTS) for i in ones)
        return Math(base.text + subscripts, latex)
    return Math(f"{base.text}[{','.join(str(i) for i in index)}]", latex)


def _subscripted(latex: str) -> str:
    """A base that takes a subscript: one that has its own (W_{1}) or is a bracket in braces,
    where a second subscript would be a LaTeX error."""
    return latex if latex.replace("\\", "").isalnum() else f"{{{latex}}}"


def element_derivative(top: Node, bottom: Node, index: tuple[int, ...], names: Naming) -> Math:
    """The total with respect to one element of an input: dL/dx₁."""
    t = top_of(top, names)
    e = element_label(bottom, index, names)
    return Math(symbols.total_text(t.text, e.text), symbols.total_latex(t.latex, e.latex))


def element_partial(top: Node, bottom: Node, index: tuple[int, ...], names: Naming) -> Math:
    """The local partial with respect to one element of an input: ∂z/∂w₁."""
    t = label(top, names)
    e = element_label(bottom, index, names)
    return Math(symbols.local_text(t.text, e.text), symbols.local_latex(t.latex, e.latex))


# ------------------------------------------------------------------ formulas


def formula(node: Node, names: Naming) -> Math | None:
    """The right-hand side defining an operation node, its inputs written by their labels."""
    if not node.args:
        return None
    text = _text_minus(definition(node, "text", names=names))
    return Math(text, "" if _TEXT_ONLY.get() else definition(node, "latex", names=names))


def _write(node: Node, style: str, names: Naming | None) -> str:
    return definition(node, style, names=names) if node.args else latex_name(node.name or "")


def _placeholder(value: Any, kind: int, token: str) -> Node:
    return new_node(value, OPS["input"], (), kind, False, None, token)


def _fill(expr: Node, fills: dict[str, Math], names: Naming | None = None) -> Math:
    """Write ``expr`` and put each placeholder's text in place of its token; nodes of the
    graph are written by their labels in ``names``."""
    return _filled(_write(expr, "text", names), _write(expr, "latex", names), fills)


def _filled(text: str, latex: str, fills: dict[str, Math]) -> Math:
    """``_fill`` on an expression already written."""
    if _TEXT_ONLY.get():
        for token, m in fills.items():
            text = glue_text(text, token).replace(token, m.text)
        return Math(_text_minus(text), "")
    for token, m in fills.items():
        # A number put where a name stood next to another factor (2x, xy) needs a visible
        # product sign: 2x at x = 3 is 2·3, never 23.
        text = glue_text(text, token).replace(token, m.text)
        latex = _latex_products(latex.replace(rf"\mathit{{{token}}}", token), token)
        latex = latex.replace(token, m.latex)
    return Math(_text_minus(text), latex)


_GLUE_TEXT = "A-Za-z0-9_α-ωΑ-Ω"
_LATEX_COMMAND_END = re.compile(r"\\[A-Za-z]+ ?$")


def glue_text(text: str, token: str) -> str:
    """``·`` on each side of ``token`` where a number put in its place would touch another
    factor (2x at x = 3 is 2·3, never 23)."""
    text = re.sub(rf"(?<=[{_GLUE_TEXT}\)\]²³]){token}", "·" + token, text)
    return re.sub(rf"{token}(?=[{_GLUE_TEXT}(\[])", token + "·", text)


def _latex_products(latex: str, token: str) -> str:
    """``\\cdot`` on each side of ``token`` where LaTeX would juxtapose it with a factor (a
    number, a name, a bracket), never after a command such as ``\\cdot`` or ``\\left(``."""
    out: list[str] = []
    rest = latex
    while True:
        i = rest.find(token)
        if i < 0:
            out.append(rest)
            return "".join(out)
        before, after = rest[:i], rest[i + len(token) :]
        stripped = before.rstrip(" ")
        if (
            stripped
            and (stripped[-1].isalnum() or stripped[-1] in ")]}")
            and not _LATEX_COMMAND_END.search(before)
            and not stripped.endswith(("\\left(", "\\left["))
        ):
            before = stripped + " \\cdot "
        tail = after.lstrip(" ")
        if (
            tail[:1].isalnum()
            or tail.startswith(("\\left", "Q"))
            and not tail.startswith("\\right")
        ):
            after = " \\cdot " + tail
        out.append(before + token)
        rest = after


def _shown_number(
    value: Any, digits: int, exact: bool, tight: bool, argument: bool = False
) -> Math:
    """A value put in for an input; ``argument`` when it stands alone between a function's own
    brackets, where a sign needs no more of them: tanh(−0.75), not tanh((−0.75))."""
    shown = exact_num(value) if exact else None
    if shown is None:
        shown = num(value, digits)
    if argument:
        return shown
    if _is_negative(value) or (tight and "/" in shown.text and not shown.text.startswith("[")):
        return Math(f"({shown.text})", rf"\left({shown.latex}\right)")
    return shown


def _is_literal(node: Node) -> bool:
    """An unnamed constant written inside an expression (the 2 of a square)."""
    return not node.args and not node.name and not node.requires_grad


def number_brackets(node: Node) -> tuple[bool, bool]:
    """How the numbers put into ``node``'s operation are bracketed: (tight, bare). Tight: a
    fraction is bracketed too, next to an operator that binds harder than + (2·(3/5)); bare:
    a number alone between a function's own brackets needs none, even negative (tanh(−0.75))."""
    nt = node.op.notation
    function = nt.style == "function"
    return not function and nt.precedence > OPS["add"].notation.precedence, function


def substituted(node: Node, digits: int, exact: bool) -> Math | None:
    """The node's own operation with its inputs' values put in: (−0.057324)², 11/5 + 3/5.

    In exact mode only rational inputs are put in (an irrational one is shown by its exact form
    instead, which the caller adds)."""
    if not node.args:
        return None
    if exact and not all(is_rational(a.value) for a in node.args):
        return None
    tight, bare = number_brackets(node)
    fills: dict[str, Math] = {}
    for i, a in enumerate(node.args):
        if not _is_literal(a):
            fills[_TOKEN.format(_letters(i))] = _shown_number(a.value, digits, exact, tight, bare)
    return _filled(*with_tokens(node), fills)


_WITH_TOKENS: dict[tuple[Any, ...], tuple[str, str]] = {}


def with_tokens(node: Node) -> tuple[str, str]:
    """``node``'s operation written over its inputs (text, LaTeX), each input that is not a
    literal written as its token (``Q{letters}Z``, see ``substituted``). Worked out once per
    operation, parameters and inputs' shapes: a deep chain repeats a few operations."""
    key = _token_key(node)
    got = _WITH_TOKENS.get(key) if key is not None else None
    if got is None:
        holders = [
            a if _is_literal(a) else _placeholder(a.value, a.kind, _TOKEN.format(_letters(i)))
            for i, a in enumerate(node.args)
        ]
        expr = apply(node.op, tuple(holders), node.params)
        got = (_write(expr, "text", None), _write(expr, "latex", None))
        if key is not None:
            if len(_WITH_TOKENS) >= _CACHE_MAX:
                _WITH_TOKENS.clear()
            _WITH_TOKENS[key] = got
    return got


def _plain(v: Any) -> bool:
    if isinstance(v, tuple):
        return all(_plain(x) for x in v)
    return v is None or type(v) in (str, int, float, bool)


def _token_key(node: Node) -> tuple[Any, ...] | None:
    """What ``with_tokens`` depends on, or None where that is not a short plain key (an array
    parameter or literal)."""
    params = node.params or {}
    if not all(_plain(v) for v in params.values()):
        return None
    args: list[Any] = []
    for a in node.args:
        if _is_literal(a):
            v = a.value
            if type(v) not in (int, float, bool, Fraction, np.float64):
                return None
            args.append(("literal", a.op, type(v), repr(v)))
        else:
            args.append((a.kind, np.shape(a.value)))
    return (node.op, tuple(sorted(params.items())), tuple(args))


def _letters(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def partial(node: Node, i: int, names: Naming) -> Math | None:
    """The local partial ∂node/∂input_i as the op table writes it, when it has a readable form,
    in terms of the labels people see (∂f/∂z = q for f = q·z, never q written out)."""
    text = partial_formula(node, i, "text", names)
    if text is not None and _TEXT_ONLY.get():
        return Math(_text_minus(text), "")
    latex = partial_formula(node, i, "latex", names)
    if text is None or latex is None:
        return None
    return Math(_text_minus(text), latex)


def vjp_formula(
    node: Node, i: int, output: Node, digits: int, names: Naming
) -> tuple[Math, Math] | None:
    """For ops that mix elements (no elementwise partial), the chain-rule product as the op
    table's own vector–Jacobian rule writes it: symbolically (upstream gradient and inputs by
    name) and with the numbers put in."""
    # written in both styles even in ``text_only``: whether the numbers are put in depends on
    # the LaTeX too (a stand-in name in either)
    token = _TEXT_ONLY.set(False)
    try:
        return _vjp_formula(node, i, output, digits, names)
    finally:
        _TEXT_ONLY.reset(token)


def _vjp_formula(
    node: Node, i: int, output: Node, digits: int, names: Naming
) -> tuple[Math, Math] | None:
    op = node.op
    if op.vjps is None or node.grad is None:
        return None
    g_token = _TOKEN.format("G")
    g = _placeholder(node.grad, node.kind, g_token)
    twin = apply(op, tuple(node.args), node.params)
    holders = []
    fills: dict[str, Math] = {g_token: factor(node.grad, digits)}
    for k, a in enumerate(node.args):
        if _is_literal(a):
            holders.append(a)
            continue
        token = _TOKEN.format(_letters(k))
        holders.append(_placeholder(a.value, a.kind, token))
        fills[token] = _shown_number(a.value, digits, False, True)
    try:
        symbolic = op.vjps[i](NodeMath, g, tuple(node.args), twin, node.params)
        numeric = op.vjps[i](
            NodeMath, g, tuple(holders), apply(op, tuple(holders), node.params), node.params
        )
    except Exception:  # noqa: BLE001 - a rule without a readable form is simply not written
        return None
    if not isinstance(symbolic, Node) or not isinstance(numeric, Node):
        return None
    up = derivative(output, node, names)
    if symbolic is not g:
        up = Math(f"({up.text})", rf"\left({up.latex}\right)")
    with_numbers = _fill(numeric, fills)
    if _STAND_IN.search(with_numbers.text) or _STAND_IN_LATEX.search(with_numbers.latex):
        # too long to write out, the numbers named parts of it a₆, a name no step defines:
        # the rule is shown with its symbols and then its value only
        with_numbers = num(numeric.value, digits)
    return _fill(symbolic, {g_token: up}, names), with_numbers


#: a name such as a₆ that writing a long expression gives a repeated part of it
_STAND_IN = re.compile(r"(?<![\w.])[^\W\d_][₀-₉]+(?![\w(])")
_STAND_IN_LATEX = re.compile(r"(?<![\w\\.])[^\W\d_]_\{\d+\}")


__all__ = [
    "Math",
    "derivative",
    "element_derivative",
    "element_partial",
    "partial_label",
    "top_of",
    "element_label",
    "exact_num",
    "factor",
    "formula",
    "is_exact",
    "label",
    "num",
    "partial",
    "substituted",
    "vjp_formula",
]
