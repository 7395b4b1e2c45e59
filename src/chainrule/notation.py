"""How expressions, definitions and local partials are written for people, in text and LaTeX.

The op table says how each op is written (style, symbol, precedence); this module walks an
expression (iteratively) and puts the pieces together. The formulas of local partials come from
the op table's own generic partials evaluated on placeholder nodes, so the formula shown is
exactly the rule the engine uses."""

from __future__ import annotations

import re
import weakref
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from .node import Node, apply
from .ops import OPS
from .values import decimal, fraction_text

SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
ATOM = 100
_INPUT = OPS["input"]

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta",
    "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}  # fmt: skip
_SUBSCRIPT_DIGITS = {"₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6",
                     "₇": "7", "₈": "8", "₉": "9"}  # fmt: skip
_ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot"}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': "''",
}  # fmt: skip


def latex_text(s: str) -> str:
    """Escape any text for LaTeX (used inside \\text{...} and in text mode)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in s)


def latex_name(name: str) -> str:
    """A variable name in LaTeX maths: ŷ → \\hat{y}, b₀ → b_{0}, w1 → w_{1}, σ → \\sigma.

    Anything that is not a plain identifier is escaped and set as text, so a hostile name
    such as ``\\input{/etc/passwd}`` is printed, never executed."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", name)
    m = re.fullmatch(r"([^\W\d_]+?)(\d*)", decomposed.replace("_", ""))
    base = decomposed
    sub = ""
    # Unicode subscripts (b₀) and trailing digits (w1) both become subscripts.
    while base and base[-1] in _SUBSCRIPT_DIGITS:
        sub = _SUBSCRIPT_DIGITS[base[-1]] + sub
        base = base[:-1]
    if not sub and m and m.group(2) and "_" not in name:
        base, sub = m.group(1), m.group(2)
    if "_" in name and re.fullmatch(r"[A-Za-z]+_[A-Za-z0-9]+", name):
        base, sub = name.split("_", 1)
    out = ""
    i = 0
    pieces = []
    while i < len(base):
        ch = base[i]
        accent = None
        if i + 1 < len(base) and base[i + 1] in _ACCENTS:
            accent = _ACCENTS[base[i + 1]]
            i += 1
        if ch in _GREEK:
            piece = "\\" + _GREEK[ch]
        elif ch.isascii() and ch.isalpha():
            piece = ch
        elif ch.isascii() and ch.isdigit():
            piece = ch
        else:
            piece = r"\text{" + latex_text(ch) + "}"
        if accent:
            piece = f"\\{accent}{{{piece}}}"
        pieces.append(piece)
        i += 1
    out = "".join(pieces)
    if len(pieces) > 1 and all(p.isascii() and p.isalpha() for p in pieces):
        out = r"\mathit{" + out + "}"
    if sub:
        out += "_{" + (sub if sub.isalnum() and sub.isascii() else latex_text(sub)) + "}"
    return out


_NAMED_CONSTANTS = {sympy.pi: ("π", "\\pi"), sympy.E: ("e", "e")}


def number_text(v: Any, style: str = "text", digits: int = 6) -> str:
    if isinstance(v, sympy.Basic) and v in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[v][0 if style == "text" else 1]
    if isinstance(v, Fraction):
        if style == "latex" and v.denominator != 1:
            sign = "-" if v < 0 else ""
            return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
        return fraction_text(v)
    if isinstance(v, np.ndarray):
        text = decimal(v, digits)
        return text if style == "text" else text.replace("[", "\\left[").replace("]", "\\right]")
    if isinstance(v, sympy.Basic):
        return decimal(v, digits)
    text = decimal(v, digits)
    if style == "latex" and "e" in text:
        mant, exp = text.split("e")
        return f"{mant} \\times 10^{{{int(exp)}}}"
    return text


def _is_number_node(n: Node) -> bool:
    return n.op.name == "const" and not n.name


#: characters: an unnamed sub-expression used more than once and longer than this is written
#: by its label (v12), so graphs that share unnamed nodes (y = y · y, repeated) are written in
#: linear space instead of doubling with every use
MAX_EXPRESSION = 160


def expression(
    root: Node,
    style: str = "text",
    *,
    expand_unnamed: bool = True,
    stop: set[Node] | None = None,
    digits: int = 6,
) -> str:
    """Write ``root`` as an expression. Named nodes (and nodes in ``stop``) are atoms; unnamed
    intermediate nodes are written out, so a formula reads like maths; one used more than
    once whose text passes ``MAX_EXPRESSION`` characters is written by its label."""
    return _write(root, style, expand_unnamed, stop or set(), digits, top=True)[0]


class Written:
    """The text of every node seen so far as an input of another (``_write``'s memo): one
    ``Written`` shared across the rows of a table writes each node once. With a memo every
    sub-expression past ``MAX_EXPRESSION`` is written by its label, shared or not, since each
    node has a row of its own: a table stays linear even for a deep unnamed chain."""

    def __init__(self, style: str = "text", digits: int = 6) -> None:
        self.style = style
        self.digits = digits
        #: node → (text, precedence, whether it is nothing but unnamed constants)
        self.inner: dict[Node, tuple[str, int, bool]] = {}


def _write(
    root: Node,
    style: str,
    expand: bool,
    stop: set[Node],
    digits: int,
    top: bool = False,
    given: dict[int, tuple[str, int]] | None = None,
    memo: Written | None = None,
) -> tuple[str, int]:
    """The text of ``root`` built from its inputs' texts (iterative post-order).

    An input is written as an atom when it is a leaf, named, in ``stop``, or ``expand`` is
    off; as its value when it holds nothing but unnamed constants; else written out, or by
    its label when it is used more than once (any node, with a memo) and its text passes
    ``MAX_EXPRESSION``. ``given`` fixes the texts of some inputs (by ``id``); ``memo`` keeps
    texts across calls with the same style, ``expand`` and ``stop``."""
    if not root.args:
        return _atom(root, style, digits), ATOM
    inner = memo.inner if memo is not None else {}
    fixed = given or {}
    uses = None if memo is not None else _uses(root, expand, stop, fixed)
    stack: list[tuple[Node, bool]] = [(a, False) for a in root.args]
    while stack:
        node, ready = stack.pop()
        if node in inner:
            continue
        if id(node) in fixed:
            text, prec = fixed[id(node)]
            inner[node] = (text, prec, False)
            continue
        if (not node.args) or node.name or node in stop or not expand:
            inner[node] = (_atom(node, style, digits), ATOM, _is_number_node(node))
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in inner)
            continue
        parts = [inner[a] for a in node.args]
        if all(p[2] for p in parts):
            inner[node] = (number_text(node.value, style, digits), ATOM, True)
            continue
        text, prec = _combine(node, [(t, p) for t, p, _ in parts], style, digits)
        if len(text) > MAX_EXPRESSION and (uses is None or uses.get(node, 0) > 1):
            text, prec = _atom(node, style, digits), ATOM
        inner[node] = (text, prec, False)
    return _combine(root, [inner[a][:2] for a in root.args], style, digits)


def _uses(root: Node, expand: bool, stop: set[Node], fixed: dict[int, Any]) -> dict[Node, int]:
    """How many times each node is an input of a node that ``_write`` writes out."""
    uses: dict[Node, int] = {}
    seen: set[Node] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        for a in node.args:
            uses[a] = uses.get(a, 0) + 1
            written_out = expand and a.args and not a.name and a not in stop
            if written_out and a not in seen and id(a) not in fixed:
                seen.add(a)
                stack.append(a)
    return uses


def _all_constant(node: Node) -> bool:
    """True when a subtree holds nothing but unnamed constants: it is written as its value."""
    stack = [node]
    seen: set[Node] = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if not n.args:
            if not _is_number_node(n):
                return False
        elif n.name:
            return False
        else:
            stack.extend(n.args)
    return True


def _atom(node: Node, style: str, digits: int) -> str:
    if node.name:
        return latex_name(node.name) if style == "latex" else node.name
    if node.op.name in ("const", "input"):
        return number_text(node.value, style, digits)
    return latex_name(node.label()) if style == "latex" else node.label()


def _paren(text: str, style: str) -> str:
    return f"\\left({text}\\right)" if style == "latex" else f"({text})"


def _combine(node: Node, parts: list[tuple[str, int]], style: str, digits: int) -> tuple[str, int]:
    op = node.op
    nt = op.notation
    prec = nt.precedence
    if nt.style == "infix":
        (lt, lp), (rt, rp) = parts
        if lp < prec:
            lt = _paren(lt, style)
        if rp < prec or (rp == prec and nt.grouping_right):
            rt = _paren(rt, style) if not (style == "latex" and nt.fraction) else rt
        if nt.juxtapose:
            a, b = node.args
            if _is_number_node(b) and not b.shape and b.value == 1:
                return parts[0]
            if _is_number_node(a) and not a.shape and a.value == 1:
                return parts[1]
            number_first = _is_number_node(a) and not _is_number_node(b)
            if style == "latex":
                joiner = " " if (rt.startswith("\\left(") or number_first) else " \\cdot "
                return f"{lt}{joiner}{rt}", prec
            if rt.startswith("(") or number_first:
                return f"{lt}{rt}", prec
            return f"{lt}{nt.text}{rt}", prec
        if nt.fraction and style == "latex":
            return f"\\frac{{{parts[0][0]}}}{{{parts[1][0]}}}", ATOM
        if style == "latex":
            if nt.latex_vectors and all(a.ndim == 1 for a in node.args):
                return nt.latex_vectors.format(lt, rt), prec
            return nt.latex.format(lt, rt), prec
        return f"{lt}{nt.text}{rt}", prec
    if nt.style == "prefix":
        ((t, p),) = parts
        if p < prec:
            t = _paren(t, style)
        return (f"-{t}" if style == "latex" else f"−{t}"), prec
    if nt.style == "power":
        (bt, bp), (et, _) = parts
        base_node, exp_node = node.args
        if bp < ATOM or (bp == ATOM and base_node.args and base_node.op.notation.style == "power"):
            bt = _paren(bt, style)
        if _all_constant(exp_node) and not isinstance(exp_node.value, np.ndarray):
            e = exp_node.value
            if e == 1:
                return parts[0]  # x¹ is x, with x's own precedence
            if float(e).is_integer() and style == "text":
                return bt + str(int(e)).translate(SUPERSCRIPTS), prec
        if style == "latex":
            return f"{{{bt}}}^{{{et}}}", prec
        if not et.replace(".", "").isalnum():
            et = f"({et})"
        return f"{bt}^{et}", prec
    if nt.style == "postfix":
        ((t, p),) = parts
        if p < prec:
            t = _paren(t, style)
        return (nt.latex.format(t) if style == "latex" else t + nt.text), prec
    if nt.style == "index":
        ((t, p),) = parts
        idx = (node.params or {}).get("index")
        return (f"{t}_{{{idx}}}" if style == "latex" else f"{t}[{idx}]"), ATOM
    # function style
    inner = ", ".join(t for t, _ in parts)
    if op.written is not None:
        name = op.written(node.params)
        if style == "latex":
            return f"\\text{{{latex_text(name)}}}\\left({inner}\\right)", ATOM
        return f"{name}({inner})", ATOM
    if style == "latex":
        if "{}" in nt.latex:
            return nt.latex.format(inner), ATOM
        if nt.latex == "\\sqrt":
            return f"\\sqrt{{{inner}}}", ATOM
        return f"{nt.latex}\\left({inner}\\right)", ATOM
    if "{}" in nt.text:
        return nt.text.format(inner), ATOM
    return f"{nt.text}({inner})", ATOM


def definition(
    node: Node, style: str = "text", digits: int = 6, memo: Written | None = None
) -> str:
    """The right-hand side that defines a node: its op applied to its inputs (unnamed inputs
    written out). Leaves give their value. Pass one ``Written(style, digits)`` as ``memo``
    when writing many nodes of one graph, so each shared input is written once."""
    if not node.args:
        return "input" if node.op.name == "input" else "constant"
    if memo is not None and (memo.style, memo.digits) != (style, digits):
        raise ValueError("the memo was made for another style or number of digits")
    return _write(node, style, True, set(), digits, top=True, memo=memo)[0]


def partial_formula(node: Node, i: int, style: str = "text") -> str | None:
    """The local partial ∂node/∂input_i as a formula in the inputs' names, e.g. σ(z)(1 − σ(z)).

    Built by running the op table's own partial on placeholder nodes (NodeMath)."""
    from .functions import NodeMath

    op = node.op
    if op.partials is None or i >= len(node.args):
        return None
    args = tuple(node.args)
    out = apply(op, args, node.params)  # an unnamed twin, so that σ(z) is written out
    try:
        d = op.partials[i](NodeMath, args, out, node.params)
    except Exception:  # noqa: BLE001 - a formula we cannot build is simply not shown
        return None
    if d is None:
        return None
    if not isinstance(d, Node):
        return number_text(d, style)
    return _write(d, style, True, set(), 6, top=True)[0]


_EXACT_CACHE: weakref.WeakKeyDictionary[Node, tuple[Any, tuple[str, int] | None]] = (
    weakref.WeakKeyDictionary()
)
_EXACT_CACHE_LATEX: weakref.WeakKeyDictionary[Node, tuple[Any, tuple[str, int] | None]] = (
    weakref.WeakKeyDictionary()
)
EXACT_FORM_MAX = 48


def exact_form(node: Node, style: str = "text", digits: int = 6) -> str | None:
    """The exact value of a node as people write it: 14/5, or σ(14/5) for an irrational result,
    written through the node's own operation with its inputs' exact forms substituted
    ((σ(14/5) − 1)²) while that stays short; longer inputs are referred to by name, so closed
    forms never swell. None when the value is not exact."""
    cache = _EXACT_CACHE if style == "text" else _EXACT_CACHE_LATEX
    cached = cache.get(node)
    if cached is not None and cached[0] is node.value:
        return None if cached[1] is None else cached[1][0]
    # Fill the cache for the irrational ancestors first, inputs before users (no recursion);
    # LaTeX follows the very same choices as text, measured on the text form.
    from .autodiff import topo_order

    forms: dict[Node, tuple[str, int] | None] = {}
    for n in topo_order(node):
        c = cache.get(n)
        if c is not None and c[0] is n.value:
            forms[n] = c[1]
            continue
        forms[n] = _exact_form_one(n, style, digits, forms)
        cache[n] = (n.value, forms[n])
    result = forms[node]
    return None if result is None else result[0]


def _exact_form_one(
    node: Node, style: str, digits: int, forms: dict[Node, tuple[str, int] | None]
) -> tuple[str, int] | None:
    v = node.value
    if isinstance(v, Fraction):
        return number_text(v, style), (ATOM if v >= 0 and v.denominator == 1 else 70)
    if isinstance(v, np.ndarray) and v.dtype == object:
        if all(isinstance(x, Fraction) for x in v.reshape(-1)):
            inner = ", ".join(number_text(x, style) for x in v.reshape(-1))
            return (f"[{inner}]" if style == "text" else f"\\left[{inner}\\right]"), ATOM
        return None
    if not isinstance(v, sympy.Basic):
        return None
    if not node.args:
        return number_text(v, style, digits), ATOM
    stand_ins: list[Node] = []
    given: dict[int, tuple[str, int]] = {}
    for a in node.args:
        if isinstance(a.value, Fraction):
            stand_ins.append(Node(a.value, OPS["const"], (), a.kind, False))
            continue
        form = forms.get(a)
        s = Node(a.value, _INPUT, (), a.kind, True, None, a.label())
        if form is not None and style != "text":
            text_form = exact_form(a, "text", digits)
            if text_form is not None and len(text_form) <= EXACT_FORM_MAX:
                given[id(s)] = form
        elif form is not None and len(form[0]) <= EXACT_FORM_MAX:
            given[id(s)] = form
        stand_ins.append(s)
    shown = apply(node.op, tuple(stand_ins), node.params)
    return _write(shown, style, True, set(), digits, top=True, given=given)
