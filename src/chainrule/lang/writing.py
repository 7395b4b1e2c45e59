"""The writing layer of the notation: numbers, names and one op applied to its inputs' texts,
in text and LaTeX, with parentheses by precedence.

It sits below ``naming`` (which labels a graph's nodes with these pieces) and ``notation``
(which writes whole expressions, definitions and partials with a graph's labels): it never
imports either, and where a long shared sub-expression needs a label the caller passes
``make_names`` (``naming_of``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.lazy import is_sympy, sympy
from ..core.node import Node
from ..core.values import decimal, fraction_text
from ..ops import OPS
from .typography import (
    ACCENTS,
    GREEK,
    LAYER_MARK,
    MATH_ACCENTS,
    SUBSCRIPT_VALUES,
    SUPERSCRIPT_VALUES,
    TO_SUPERSCRIPT,
    latex_array,
    latex_decimal,
    latex_text,
)

if TYPE_CHECKING:
    from .naming import Naming

SUPERSCRIPTS = TO_SUPERSCRIPT
ATOM = 100


def latex_name(name: str) -> str:
    """A variable name in LaTeX maths: ŷ → \\hat{y}, b₀ → b_{0}, w1 → w_{1}, σ → \\sigma.

    Anything that is not a plain identifier is escaped and set as text, so a hostile name
    such as ``\\input{/etc/passwd}`` is printed, never executed."""
    mark = re.search(r"(′+|″|‴)$", name)  # x′, x″, x‴: a name given again
    if mark and mark.start() > 0:
        return _scripted(latex_name(name[: mark.start()])) + _latex_version(mark.group(1))
    # a layer label (z⁽¹⁾, W⁽²⁾₁,₂, a name's fifth version x⁽⁵⁾): z^{(1)}, W_{1,2}^{(2)}
    layers = list(re.finditer(LAYER_MARK, name))
    if layers and layers[-1].start() > 0:
        last = layers[-1]
        rest = name[: last.start()] + name[last.end() :]
        return _scripted(latex_name(rest)) + _latex_version(last.group())
    decomposed = unicodedata.normalize("NFD", name)
    m = re.fullmatch(r"([^\W\d_]+?)(\d*)", decomposed.replace("_", ""))
    base = decomposed
    sub = ""
    # Unicode subscripts (b₀) and trailing digits (w1) both become subscripts.
    while base and base[-1] in SUBSCRIPT_VALUES:
        sub = SUBSCRIPT_VALUES[base[-1]] + sub
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
        if i + 1 < len(base) and (base[i + 1] in ACCENTS or base[i + 1] in MATH_ACCENTS):
            accent = ACCENTS.get(base[i + 1]) or MATH_ACCENTS[base[i + 1]]
            i += 1
        if ch in GREEK:
            piece = "\\" + GREEK[ch]
        elif ch == "ℓ":
            piece = r"\ell"
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
    # a word of several letters is one name set upright in italics (\mathit{weight}), also
    # inside a path such as layers[2].weight, not a product of variables l·a·y·e·r·s
    runs: list[list[str]] = []
    for piece in pieces:
        letter = piece.isascii() and piece.isalpha() and len(piece) == 1
        if letter and runs and runs[-1][0] == "letters":
            runs[-1].append(piece)
        else:
            runs.append(["letters" if letter else "other", piece])
    written = [
        r"\mathit{" + "".join(r[1:]) + "}" if r[0] == "letters" and len(r) > 2 else "".join(r[1:])
        for r in runs
    ]
    # a command before a letter needs its end marked: Δw is \Delta{}w, never \Deltaw
    out = "".join(
        w + "{}" if re.search(r"\\[A-Za-z]+$", w) and k + 1 < len(written) else w
        for k, w in enumerate(written)
    )
    if sub:
        out += "_{" + (sub if sub.isalnum() and sub.isascii() else latex_text(sub)) + "}"
    return out


def _scripted(latex: str) -> str:
    """A name that has a superscript already, braced before another one: {z^{(1)}}' (LaTeX
    refuses z^{(1)}', a double superscript)."""
    return "{" + latex + "}" if "^" in latex else latex


def _latex_version(mark: str) -> str:
    """The prime marks of x′, x″, x‴ as LaTeX primes; x⁽⁵⁾ as x^{(5)}."""
    if mark.startswith("⁽"):
        digits = "".join(SUPERSCRIPT_VALUES[c] for c in mark[1:-1])
        return f"^{{({digits})}}"
    primes = len(mark) if mark[0] == "′" else {"″": 2, "‴": 3}[mark]
    return "'" * primes


def _named_constant(v: Any, style: str) -> str | None:
    """π and e by name (only called on a sympy number, so sympy is already loaded)."""
    if v == sympy.pi:
        return "π" if style == "text" else "\\pi"
    if v == sympy.E:
        return "e"
    return None


def number_text(v: Any, style: str = "text", digits: int = 6) -> str:
    """A number as people write it; in text with the typographic minus (−3/20)."""
    if is_sympy(v) and (named := _named_constant(v, style)) is not None:
        return named
    if isinstance(v, Fraction):
        if style == "latex" and v.denominator != 1:
            sign = "-" if v < 0 else ""
            return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
        return fraction_text(v) if style == "latex" else typographic(fraction_text(v))
    if isinstance(v, np.ndarray):
        if style == "text":
            return typographic(decimal(v, digits))
        cells = [latex_decimal(decimal(x, digits)) for x in v.reshape(-1)]
        return latex_array(cells, v.shape)
    if is_sympy(v):
        return typographic(decimal(v, digits)) if style == "text" else decimal(v, digits)
    text = decimal(v, digits)
    if style == "latex" and "e" in text:
        mant, exp = text.split("e")
        return f"{mant} \\times 10^{{{int(exp)}}}"
    return typographic(text) if style == "text" else text


def typographic(text: str) -> str:
    """The minus sign of a number as printed (−0.5, [−1, 2]); an exponent's sign (1e-05) stays."""
    return "".join(
        "−" if ch == "-" and (i == 0 or text[i - 1] in " ([,") else ch for i, ch in enumerate(text)
    )


_NEGATIVE = 65  # a negative number binds like a signed term: (−2)², x − (−2) is x + 2
_QUOTIENT = 70  # a fraction such as 3/4 binds like a quotient: (3/4)²


def _number_precedence(v: Any) -> int:
    """How tightly a number written as text binds (for parentheses around it)."""
    if isinstance(v, np.ndarray) or is_sympy(v):
        return ATOM
    try:
        if v < 0:
            return _NEGATIVE
    except TypeError:
        return ATOM
    if isinstance(v, Fraction) and v.denominator != 1:
        return _QUOTIENT
    return ATOM


_LOOSE = 0  # a label with an operator in it: bracketed wherever it is part of an expression
_OPERATOR_CHARS = frozenset("+-−*·×÷/^@%=<>,;|&!~ \t") | frozenset("⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def name_precedence(name: str) -> int:
    """How tightly a name binds when written inside an expression: a name (x, ŷ, b₀, W[1, 2],
    fc1.weight, σ(z)) is an atom; a label people gave with operators in it (micrograd's
    ``n.label = "x1*w1 + x2*w2"``) is bracketed, so that its use reads (x1*w1 + x2*w2) · c
    and (x*y)², never x1*w1 + x2*w2 · c. A sum or a product binds as one (x1*w1 + x2*w2 =
    x1*w1 + x2*w2 inside a sum, never (x1*w1) + (x2*w2)); anything else is bracketed."""
    depth = 0
    found: set[str] = set()
    for k, ch in enumerate(name):
        if ch in "([{⁽":
            depth += 1
        elif ch in ")]}⁾":
            depth -= 1
        elif depth == 0 and ch in _OPERATOR_CHARS:
            found.add("sum" if ch in "+-−" and name[:k].strip() else ch)
    if not found:
        return ATOM
    products = set("*·×/÷ ")
    if "sum" in found and found - {"sum"} <= products:
        return int(OPS["add"].notation.precedence)
    if found & set("*·×/÷") and found <= products:
        return int(OPS["mul"].notation.precedence)
    return _LOOSE


def _is_number_node(n: Node) -> bool:
    return n.op.name == "const" and not n.name


def write_one_level(
    node: Node,
    style: str,
    forms: dict[Node, tuple[str, int]],
    make_names: Callable[[Node], Naming] | None = None,
) -> tuple[str, int]:
    """``node``'s op applied to its inputs' given forms (numbers written as values)."""
    given = {id(a): f for a, f in forms.items()}
    return _write(node, style, False, set(), 6, top=True, given=given, make_names=make_names)


def _write(
    root: Node,
    style: str,
    expand: bool,
    stop: set[Node],
    digits: int,
    top: bool = False,
    given: dict[int, tuple[str, int]] | None = None,
    names: Naming | None = None,
    make_names: Callable[[Node], Naming] | None = None,
) -> tuple[str, int]:
    """The text and precedence of ``root``. ``make_names`` (``naming_of``, passed in by the
    modules above this one) labels a shared long sub-expression or an unnamed atom; without
    it such a node is written out in full."""
    # Iterative post-order: each node's text is built from its inputs' texts.
    done: dict[int, tuple[str, int]] = dict(given or {})
    uses: dict[Node, int] | None = None
    label_of: Naming | None = None
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        if names is not None and node is not root:
            form = names.form(node, style)
            if form is not None:
                done[id(node)] = form
                continue
        atomic = (not node.args) or (node is not root and (node.name or node in stop or not expand))
        if atomic:
            if _is_number_node(node):
                prec = _number_precedence(node.value)
            elif node.name and not (names is not None and node in names):
                prec = name_precedence(node.name)
            else:
                prec = ATOM
            done[id(node)] = (_atom(node, style, digits, names, make_names), prec)
            continue
        if node is not root and not node.name and _all_constant(node):
            text = number_text(node.value, style, digits)
            done[id(node)] = (text, _number_precedence(node.value))
            continue
        vector = _vector_form(node)  # g ⊗ v, not reshape(g, (2, 1)) @ reshape(v, (2, 1))ᵀ
        if not ready:
            stack.append((node, True))
            for a in node.args if vector is None else vector[1:]:
                if id(a) not in done:
                    stack.append((a, False))
            continue
        if vector is not None:
            text, prec = _write_vector_form(vector, done, style)
        else:
            parts = [done[id(a)] for a in node.args]
            text, prec = _combine(node, parts, style, digits)
        if len(text) > MAX_EXPRESSION and node is not root and names is None:
            if uses is None:
                uses = _uses(root)
            if uses.get(node, 0) > 1 and make_names is not None:
                # shared: its label, or the text doubles with every use
                if label_of is None:
                    label_of = make_names(root)
                text, prec = label_of.form(node, style) or (text, prec)
        done[id(node)] = (text, prec)
    return done[id(root)]


def _column(n: Node) -> Node | None:
    """The vector x of an unnamed ``reshape(x, shape=(n, 1))`` (a column made for a product)."""
    if n.op.name != "reshape" or n.name or len(n.args) != 1:
        return None
    x = n.args[0]
    if np.ndim(x.value) == 1 and np.shape(n.value) == (np.shape(x.value)[0], 1):
        return x
    return None


def _vector_form(node: Node) -> tuple[str, Node, Node] | None:
    """A product of vectors that the rules write with columns, read as people write it:
    ``reshape(g, (n, 1)) @ reshape(v, (m, 1))ᵀ`` is the outer product g ⊗ v, and
    ``reshape(M @ reshape(g, (n, 1)), (m,))`` is M @ g."""
    name = node.op.name
    if name == "matmul" and len(node.args) == 2:
        left, right = node.args
        x = _column(left)
        swapped = right.op.name == "transpose" or (
            right.op.name == "permute" and tuple((right.params or {}).get("axes", ())) == (1, 0)
        )
        if x is not None and swapped and not right.name:
            y = _column(right.args[0])
            if y is not None:
                return ("outer", x, y)
    if name == "reshape" and np.ndim(node.value) == 1 and len(node.args) == 1:
        inner = node.args[0]
        if inner.op.name == "matmul" and not inner.name and len(inner.args) == 2:
            m, col = inner.args
            g = _column(col)
            if g is not None and np.ndim(m.value) == 2:
                return ("matvec", m, g)
    return None


def _write_vector_form(
    form: tuple[str, Node, Node], done: dict[int, tuple[str, int]], style: str
) -> tuple[str, int]:
    kind, a, b = form
    (at, ap), (bt, bp) = done[id(a)], done[id(b)]
    if kind == "outer":
        prec = OPS["mul"].notation.precedence
        at = at if ap > prec else _paren(at, style)
        bt = bt if bp > prec else _paren(bt, style)
        return (f"{at} ⊗ {bt}" if style == "text" else f"{at} \\otimes {bt}"), prec
    nt = OPS["matmul"].notation
    at = at if ap >= nt.precedence else _paren(at, style)
    bt = bt if bp > nt.precedence else _paren(bt, style)
    return (f"{at}{nt.text}{bt}" if style == "text" else nt.latex.format(at, bt)), nt.precedence


#: characters: an unnamed sub-expression used more than once and longer than this is written
#: by its label, so graphs that share unnamed nodes (y = y · y, repeated) are written in
#: linear space instead of doubling with every use
MAX_EXPRESSION = 160


def _uses(root: Node) -> dict[Node, int]:
    """How many times each node is an input of another in ``root``'s graph."""
    uses: dict[Node, int] = {}
    seen: set[Node] = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for a in node.args:
            uses[a] = uses.get(a, 0) + 1
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return uses


def _all_constant(node: Node) -> bool:
    """True when a subtree holds nothing but unnamed constants: it is written as its value."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if not n.args:
            if not _is_number_node(n):
                return False
        else:
            if n.name:
                return False
            stack.extend(n.args)
    return True


def _atom(
    node: Node,
    style: str,
    digits: int,
    names: Naming | None = None,
    make_names: Callable[[Node], Naming] | None = None,
) -> str:
    if node.name:
        return latex_name(node.name) if style == "latex" else node.name
    if node.op.name in ("const", "input") and (names is None or node not in names):
        return number_text(node.value, style, digits)
    if names is None:
        if make_names is None:
            return number_text(node.value, style, digits)
        names = make_names(node)
    return names.latex(node) if style == "latex" else names.label(node)


def _reverses_axes(node: Any) -> bool:
    """A transpose, or a permute that reverses every axis: two of them in a row are nothing."""
    if node.op is None or node.op.name not in ("transpose", "permute"):
        return False
    axes = (node.params or {}).get("axes")
    return axes is None or tuple(axes) == tuple(reversed(range(len(axes))))


def _paren(text: str, style: str) -> str:
    return f"\\left({text}\\right)" if style == "latex" else f"({text})"


def _given_params(node: Node, style: str) -> str:
    """Parameters that differ from the op's declared defaults, as a program writes them
    (``sum(W, axis=0)``), so a definition says what was computed."""
    if not node.params or not node.op.params:
        return ""
    out = []
    for q in node.op.params:
        v = node.params.get(q.name, q.default)
        if isinstance(v, np.ndarray) or v == q.default:
            continue
        text = str(tuple(v) if isinstance(v, list) else v)
        if isinstance(v, str):  # a word, quoted as a program writes it: approximate='tanh'
            text = f"\\text{{'{v}'}}" if style == "latex" else repr(v)
        out.append(f"\\mathrm{{{q.name}}}{{=}}{text}" if style == "latex" else f"{q.name}={text}")
    return ", ".join(out)


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
            if np.ndim(a.value) > 0 and np.ndim(b.value) > 0:
                # two arrays multiplied element by element: "u · v" would read as their dot
                # product, so the Hadamard product's own sign, as the backward pass writes it
                # (lang/symbols.ELEMENTWISE, a floor above this one)
                joiner = " \\odot " if style == "latex" else " ⊙ "
                return f"{lt}{joiner}{rt}", prec
            # a number before a name reads as a coefficient (2x); an array does not: [1, 2] · x,
            # nor 1, which would vanish (1 · u is an operation the program wrote, not u)
            number_first = (
                _is_number_node(a)
                and not _is_number_node(b)
                and not isinstance(a.value, np.ndarray)
                and a.value != 1
            )
            if number_first and style == "text":
                return _coefficient(a.value, parts[0][0], rt)
            if style == "latex":
                glued = (rt.startswith("\\left(") and _glues(a, b, lt)) or number_first
                joiner = " " if glued else " \\cdot "
                return f"{lt}{joiner}{rt}", prec
            if (rt.startswith("(") and _glues(a, b, lt)) or number_first:
                return f"{lt}{rt}", prec
            return f"{lt}{nt.text}{rt}", prec
        if nt.fraction and style == "latex":
            return f"\\frac{{{parts[0][0]}}}{{{parts[1][0]}}}", ATOM
        minus = "-" if style == "latex" else "−"
        if node.op is OPS["add"] and rt.startswith(minus):
            node_op, rt = OPS["sub"], rt[1:]  # a + −b is a − b
        elif node.op is OPS["sub"] and rt.startswith(minus):
            node_op, rt = OPS["add"], rt[1:]  # a − −b is a + b
        else:
            node_op = node.op
        nt = node_op.notation
        if style == "latex":
            if nt.latex_vectors and all(a.ndim == 1 for a in node.args):
                return nt.latex_vectors.format(_scripted(lt), rt), prec  # {w^{(2)}}^{\top} a
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
        end = "^{\\top}" if style == "latex" else "ᵀ"
        if _reverses_axes(node) and _reverses_axes(node.args[0]) and t.endswith(end):
            return t[: -len(end)], p  # (xᵀ)ᵀ is x
        if node.op.name == "permute" and not _reverses_axes(node):
            axes = ", ".join(str(a) for a in (node.params or {})["axes"])  # not a transpose: no ᵀ
            if style == "latex":
                return f"\\text{{permute}}\\left({t}, ({axes})\\right)", ATOM
            return f"permute({t}, axes=({axes}))", ATOM
        if p < prec:
            t = _paren(t, style)
        return (nt.latex.format(_scripted(t)) if style == "latex" else t + nt.text), prec
    if nt.style == "index":
        ((t, p),) = parts
        raw = (node.params or {}).get("index")
        idx = index_text(raw)
        if style == "latex":
            # a subscript counts from 1, as element names do (x₁ is x[0]): p[1] is p₂
            return f"{t}_{{{_counted_from_one(raw) or idx}}}", ATOM
        return f"{t}[{idx}]", ATOM
    # function style
    inner = ", ".join(t for t, _ in parts)
    if op.written is not None:
        name = op.written(node.params)
        if style == "latex":
            return f"\\text{{{latex_text(name)}}}\\left({inner}\\right)", ATOM
        return f"{name}({inner})", ATOM
    given = _given_params(node, style)
    if given:
        inner = f"{inner}, {given}"
    if style == "latex":
        if "{}" in nt.latex:
            return nt.latex.format(inner), ATOM
        if nt.latex == "\\sqrt":
            return f"\\sqrt{{{inner}}}", ATOM
        return f"{nt.latex}\\left({inner}\\right)", ATOM
    if "{}" in nt.text:
        return nt.text.format(inner), ATOM
    return f"{nt.text}({inner})", ATOM


def _glues(a: Node, b: Node, left: str) -> bool:
    """Whether ``a`` times a bracketed ``b`` may be written side by side, as in σ(z)(1 − σ(z))
    and (x + 1)(x − 1): only after a closing bracket. After a name it would read as a call
    (u(−0.5), h(x + 1): u · (−0.5)); a number in brackets is never a factor written so; and
    arrays side by side read as a matrix product, so their elementwise product keeps its dot."""
    if _is_number_node(b) or a.ndim or b.ndim:
        return False
    return left.endswith(("\\right)", ")"))


def _coefficient(value: Any, written: str, rest: str) -> tuple[str, int]:
    """A number times an expression as a textbook writes it: 3x, −x, σ(z)/2, −3σ(z)/2."""
    sign = "−" if value < 0 else ""
    if isinstance(value, Fraction) and value.denominator != 1:
        top = abs(value.numerator)
        body = rest if top == 1 else f"{top}{rest}"
        divide = OPS["div"].notation.text
        return f"{sign}{body}{divide}{value.denominator}", _NEGATIVE if sign else _QUOTIENT
    if value == -1:
        return f"−{rest}", _NEGATIVE
    written = written.removeprefix("(").removesuffix(")") if sign else written
    return f"{written}{rest}", _NEGATIVE if sign else OPS["mul"].notation.precedence


def _counted_from_one(index: Any) -> str | None:
    """Whole non-negative indices counted from 1 (``1`` → ``2``, ``(0, 2)`` → ``1,3``), or None
    for slices, negative and fancy indices (written as the program writes them)."""
    items = index if isinstance(index, tuple) else (index,)
    if not items or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items
    ):
        return None
    return ",".join(str(i + 1) for i in items)


def index_text(index: Any) -> str:
    """An index as people write it between brackets: ``2``, ``:, 0:8``, ``1:``, ``[0, 2]``."""
    if isinstance(index, tuple):
        return ", ".join(index_text(i) for i in index)
    if isinstance(index, slice):
        start = "" if index.start is None else str(index.start)
        stop = "" if index.stop is None else str(index.stop)
        step = "" if index.step is None else f":{index.step}"
        return f"{start}:{stop}{step}"
    if index is Ellipsis:
        return "..."
    if isinstance(index, list):
        return "[" + ", ".join(index_text(i) for i in index) + "]"
    if hasattr(index, "tolist"):
        return index_text(index.tolist())
    return str(index)
