"""LaTeX maths → statements (chains such as ``L = (0,94 − 1)^2 = 0,06 \\approx 0,003``) of
expression trees.

pylatexenc tokenises the LaTeX (macros with their arguments, groups, environments); this module
reads its nodes as maths: precedence, products written side by side, ``\\frac``, ``\\sqrt``,
accents, sub- and superscripts, matrices, ``\\sum``, derivatives
``\\frac{\\partial L}{\\partial z}`` and ``\\partial L/\\partial z``. Decimal commas are read
(``0,94``) when no space follows the comma; ``a, b`` with a space separates statements."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pylatexenc import macrospec
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexCommentNode,
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexSpecialsNode,
    LatexWalker,
    LatexWalkerError,
    get_default_latex_context_db,
)

from ..typography import DIGITS, GREEK, SUBSCRIPT_VALUES, SUPERSCRIPT_VALUES, layer_at
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
    Sum,
    Transpose,
    Unread,
    depth,
)

FROM_GREEK = {v: k for k, v in GREEK.items()}
FROM_GREEK.update({"varepsilon": "ε", "vartheta": "θ", "varphi": "φ", "varsigma": "ς"})


class Unreadable(Exception):
    """Maths the reader cannot read; ``pos`` is the offset in the maths text."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


# ---------------------------------------------------------------- tokens


@dataclass
class Tok:
    kind: str  # num letter word op rel sep partial sum frac sqrt accent group matrix unknown
    text: str
    pos: int
    args: list[list[Tok]] = field(default_factory=list)
    rows: list[list[list[Tok]]] = field(default_factory=list)
    end: int = -1  # for letters: where the character ends (adjacent letters form words)
    stop: int = -1  # for macros, groups and environments: where their text ends


RELATIONS = {"approx": "≈", "simeq": "≈", "approxeq": "≈", "thickapprox": "≈", "cong": "≈",
             "coloneqq": "=", "equiv": "=", "doteq": "=",
             "eqqcolon": "="}  # fmt: skip
OTHER_RELATIONS = {"in", "leq", "geq", "le", "ge", "neq", "ne", "subset", "subseteq", "sim",
                   "lt", "gt", "leqslant", "geqslant", "lesssim", "gtrsim",
                   "notin", "propto", "ll", "gg", "mapsto", "colon"}  # fmt: skip
SEPARATORS = {"quad", "qquad", "rightarrow", "Rightarrow", "implies", "to", "longrightarrow",
              "Longrightarrow", "uparrow", "downarrow", "Uparrow", "Downarrow", "nearrow",
              "nwarrow", "searrow", "swarrow", "leftarrow", "Leftarrow", "longleftarrow",
              "iff", "Leftrightarrow", "leftrightarrow", "tag", "text", "textrm", "textit",
              "textbf", "mbox", "hbox", "intertext", "hspace", "vspace", "and", "forall",
              "enspace", "hfill"}  # fmt: skip
#: spacing between two equations (``\\hat y = 0.8 \\; L = 0.02``) or between factors
SPACES = {",", ";", ":", " ", "thinspace", "medspace", "thickspace"}
DROP = {"!", "negthinspace", "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr",
        "Bigl", "Bigr", "biggl", "biggr", "displaystyle", "textstyle", "label", "nonumber",
        "notag", "limits", "nolimits", "middle", "scriptstyle", "qedhere"}  # fmt: skip
PRODUCTS = {"cdot": "dot", "times": "times", "ast": "*", "odot": "*", "circ": "*", "div": "/",
            "otimes": "outer"}  # fmt: skip
FUNCTION_MACROS = {"exp": "exp", "log": "log", "ln": "log", "tanh": "tanh", "sin": "sin",
                   "cos": "cos", "max": "max", "min": "min", "sigma": "σ", "arctan": "atan",
                   "sqrt": "sqrt"}  # fmt: skip
STYLES = {"mathbf", "boldsymbol", "bm", "mathit", "mathsf", "mathnormal", "pmb", "mathbfit",
          "vec", "boldmath", "underline", "mathcal"}  # fmt: skip
ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde",
           "bar": "bar", "overline": "bar", "dot": "dot"}  # fmt: skip
#: words that name a function when written as text (\operatorname{softmax}, \text{MSE}, ReLU)
WORDS = {"softmax": "softmax", "mse": "MSE", "relu": "relu", "sigmoid": "σ", "tanh": "tanh",
         "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "sum": "sum", "mean": "mean",
         "bce": "bce", "sin": "sin", "cos": "cos", "max": "max", "min": "min",
         "softplus": "softplus", "gelu": "gelu", "abs": "abs", "ce": "cross_entropy",
         "crossentropy": "cross_entropy", "logsoftmax": "log_softmax", "sign": "sign",
         "log_softmax": "log_softmax", "cross_entropy": "cross_entropy"}  # fmt: skip
MATRICES = {"bmatrix", "pmatrix", "matrix", "Bmatrix", "vmatrix", "smallmatrix", "bmatrix*",
            "pmatrix*"}  # fmt: skip
ROWS = {"aligned", "align", "align*", "alignat", "alignat*", "split", "gathered", "gather",
        "gather*", "array", "eqnarray", "eqnarray*", "multline", "multline*", "equation",
        "equation*", "flalign", "flalign*", "alignedat", "displaymath", "math"}  # fmt: skip
UNICODE_OPS = {"−": "-", "–": "-", "·": "*", "⋅": "*", "×": "times", "∗": "*", "÷": "/",
               "⊙": "*", "⊗": "outer"}  # fmt: skip
UNICODE_RELS = {"≈": "≈", "≃": "≈", "≅": "≈", "≔": "="}
UNICODE_SEPS = set("→⇒↑↓↗↖↘↙←⟶⟹")
MAX_EXPONENT = 4000  # 1e-4000 is read exactly; 1e99999999 is not read
MAX_DEPTH = 200  # operations nested in one formula (a + b + … is nested on the left)
_NUMBER = re.compile(r"(?:[0-9]+(?:[.,][0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # 5e-3 too


def _context() -> Any:
    """pylatexenc's macro table, with the arguments of the maths macros it does not know."""
    db = get_default_latex_context_db()
    one = ["operatorname", "boldsymbol", "bm", "tag", "intertext", "pmb", "mathbfit",
           "mathnormal", "operatorname*", "textnormal", "textsf"]  # fmt: skip
    two = ["dfrac", "tfrac", "cfrac"]
    db = db.filter_context(keep_categories=None) if hasattr(db, "filter_context") else db
    db.add_context_category(
        "chainrule-maths",
        macros=[macrospec.MacroSpec(m, "{") for m in one]
        + [macrospec.MacroSpec(m, "{{") for m in two],
        prepend=True,
    )
    return db


_CONTEXT = _context()


def tokens(text: str, macros: dict[str, str] | None = None) -> list[Tok]:
    """The maths text as tokens (pylatexenc reads the LaTeX structure); ``macros`` are the
    document's own macros without parameters (``\\def\\yhat{\\hat{y}}``), expanded."""
    toks = _tokens(text)
    if macros:
        toks = _Expander(macros).run(toks, 0)
    return _braced_commas(_inner_spaces_dropped(toks))


def _tokens(text: str) -> list[Tok]:
    try:
        walker = LatexWalker(text, tolerant_parsing=False, latex_context=_CONTEXT)
        nodes, _, _ = walker.get_latex_nodes()
    except LatexWalkerError as exc:
        pos = getattr(exc, "pos", None)
        raise Unreadable(f"not readable as LaTeX: {exc.msg if hasattr(exc, 'msg') else exc}",
                         pos if isinstance(pos, int) else 0) from None  # fmt: skip
    except RecursionError:
        raise Unreadable("braces nested too deeply to read", 0) from None
    out: list[Tok] = []
    try:
        _nodes(nodes, out)
    except RecursionError:
        raise Unreadable("braces nested too deeply to read", 0) from None
    return out


#: what defines a macro (dropped where it stands in the maths)
_DEFINERS = {"\\def", "\\newcommand", "\\renewcommand", "\\providecommand",
             "\\DeclareMathOperator", "\\gdef", "\\let"}  # fmt: skip
MAX_MACRO_DEPTH = 8  # a macro whose body uses a macro … this deep
MAX_MACRO_TOKENS = 20_000  # tokens written by expanding macros in one formula


class _Expander:
    """The document's macros replaced by their bodies, read by the same tokeniser: each body
    once, then copied to where the macro stands (its tokens point at the macro's text)."""

    def __init__(self, macros: dict[str, str]) -> None:
        self.macros = macros
        self.bodies: dict[str, list[Tok]] = {}
        self.made = 0

    def run(self, toks: list[Tok], level: int) -> list[Tok]:
        out: list[Tok] = []
        k = 0
        while k < len(toks):
            t = toks[k]
            k += 1
            if t.kind == "unknown" and t.text in _DEFINERS:
                if t.text in ("\\def", "\\gdef", "\\let"):
                    k += 1  # the name defined
                    if t.text != "\\let" and k < len(toks) and toks[k].kind == "group":
                        k += 1  # its body
                    elif t.text == "\\let" and k < len(toks):
                        k += 1
                continue
            if t.kind == "unknown" and t.text[1:] in self.macros:
                body = self.body(t.text[1:], level)
                stop = t.stop if t.stop > 0 else t.pos + len(t.text)
                out.extend(_relocated(x, t.pos, stop) for x in body)
                self.made += len(body)
                if self.made > MAX_MACRO_TOKENS:
                    raise Unreadable("macros that expand to too much to read", t.pos)
                continue
            if t.args:
                t.args = [self.run(a, level) for a in t.args]
            if t.rows:
                t.rows = [[self.run(c, level) for c in row] for row in t.rows]
            out.append(t)
        return out

    def body(self, name: str, level: int) -> list[Tok]:
        if level >= MAX_MACRO_DEPTH:
            raise Unreadable(f"\\{name}: macros nested more than {MAX_MACRO_DEPTH} deep", 0)
        if name not in self.bodies:
            self.bodies[name] = []  # a macro that uses itself expands to nothing more
            self.bodies[name] = self.run(_tokens(self.macros[name]), level + 1)
        return self.bodies[name]


def _relocated(t: Tok, pos: int, stop: int) -> Tok:
    """A copy of a macro body's token, placed at the macro (letters keep their adjacency)."""
    return Tok(
        t.kind,
        t.text,
        pos,
        args=[[_relocated(x, pos, stop) for x in a] for a in t.args],
        rows=[[[_relocated(x, pos, stop) for x in c] for c in row] for row in t.rows],
        end=pos if t.end > 0 else t.end,
        stop=stop,
    )


_DEF = re.compile(
    r"\\(?:def|gdef)\s*\\([A-Za-z]+)\s*(?=\{)"
    r"|\\(?:newcommand|renewcommand|providecommand)\*?\s*(?:\{\s*\\([A-Za-z]+)\s*\}|\\([A-Za-z]+))\s*(?=[{\[])"
    r"|\\DeclareMathOperator\*?\s*\{\s*\\([A-Za-z]+)\s*\}\s*(?=\{)"
)
MAX_MACRO_BODY = 2000


def user_macros(text: str) -> dict[str, str]:
    """The macros a document defines without parameters: ``\\def\\yhat{\\hat{y}}``,
    ``\\newcommand{\\loss}{\\mathcal{L}}``, ``\\DeclareMathOperator{\\relu}{ReLU}``. Their bodies
    are only read as maths, never run; a macro with parameters is not expanded."""
    out: dict[str, str] = {}
    for m in _DEF.finditer(text):
        if m.group(4):
            name = m.group(4)
        else:
            name = m.group(1) or m.group(2) or m.group(3)
        at = m.end()
        if text.startswith("[", at):
            continue  # parameters
        body = _braced(text, at)
        if body is None:
            continue
        out[name] = "\\operatorname{" + body + "}" if m.group(4) else body
    return out


def _braced(text: str, at: int) -> str | None:
    """The text of the balanced {…} group starting at ``at``."""
    if not text.startswith("{", at):
        return None
    depth = 0
    j = at
    end = min(len(text), at + MAX_MACRO_BODY)
    while j < end:
        c = text[j]
        if c == "\\":
            j += 2  # \{ and \} are not braces
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[at + 1 : j]
        j += 1
    return None
    depth = 0
    for j in range(at, min(len(text), at + MAX_MACRO_BODY)):
        c = text[j]
        if c == "\\":
            continue
        if c == "{" and text[j - 1] != "\\":
            depth += 1
        elif c == "}" and text[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[at + 1 : j]
    return None


def _inner_spaces_dropped(toks: list[Tok]) -> list[Tok]:
    """Spacing inside groups, fractions and matrices is typography only; at the top level it
    is kept for ``pieces`` (it may stand between two equations)."""
    for t in toks:
        if t.args:
            t.args = [_spaces_dropped(a) for a in t.args]
        if t.rows:
            t.rows = [[_spaces_dropped(c) for c in row] for row in t.rows]
    return toks


def _spaces_dropped(toks: list[Tok]) -> list[Tok]:
    return _inner_spaces_dropped([t for t in toks if t.kind != "space"])


def _braced_commas(toks: list[Tok]) -> list[Tok]:
    """``0{,}94``, LaTeX's way of writing a decimal comma without a space after it."""
    out: list[Tok] = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if (
            t.kind == "num"
            and k + 2 < len(toks)
            and toks[k + 1].kind == "group"
            and len(toks[k + 1].args[0]) == 1
            and toks[k + 1].args[0][0].kind == "op"
            and toks[k + 1].args[0][0].text in ",."
            and toks[k + 2].kind == "num"
            and "," not in t.text
            and "." not in t.text
        ):
            merged = t.text + toks[k + 1].args[0][0].text + toks[k + 2].text
            out.append(Tok("num", merged, t.pos, stop=_tok_end(toks[k + 2])))
            k += 3
            continue
        out.append(t)
        k += 1
    return out


def _nodes(nodes: Any, out: list[Tok]) -> None:
    skip_dot = False
    for n in nodes or []:
        if n is None or isinstance(n, LatexCommentNode):
            continue
        if isinstance(n, LatexCharsNode):
            text = n.chars
            start = n.pos
            if skip_dot:
                stripped = text.lstrip()
                if stripped.startswith("."):  # \left. and \right.
                    cut = len(text) - len(stripped) + 1
                    text, start = text[cut:], start + cut
                skip_dot = False
            _chars(text, start, out)
            continue
        skip_dot = False
        if isinstance(n, LatexGroupNode):
            inner: list[Tok] = []
            _nodes(n.nodelist, inner)
            delims = getattr(n, "delimiters", ("{", "}"))
            if delims and delims[0] == "[":
                out.append(Tok("op", "[", n.pos))
                out.extend(inner)
                out.append(Tok("op", "]", n.pos + n.len - 1))
            else:
                out.append(Tok("group", "{}", n.pos, args=[inner], stop=n.pos + n.len))
        elif isinstance(n, LatexSpecialsNode):
            spec = n.specials_chars
            if spec == "&":
                out.append(Tok("sep", "&", n.pos))
            elif spec == "~":
                out.append(Tok("space", "~", n.pos))
            else:
                out.append(Tok("op", spec, n.pos))
        elif isinstance(n, LatexMathNode):
            _nodes(n.nodelist, out)
        elif isinstance(n, LatexEnvironmentNode):
            before = len(out)
            _environment(n, out)
            if len(out) == before + 1:
                out[-1].stop = n.pos + n.len
        elif isinstance(n, LatexMacroNode):
            if n.macroname in ("left", "right"):
                skip_dot = True
            before = len(out)
            _macro(n, out)
            if len(out) == before + 1:
                out[-1].stop = n.pos + n.len


def _args(n: Any) -> list[list[Tok]]:
    got: list[list[Tok]] = []
    argd = getattr(n, "nodeargd", None)
    for a in (argd.argnlist if argd is not None else None) or []:
        if a is None:
            got.append([])
            continue
        inner: list[Tok] = []
        if isinstance(a, LatexGroupNode):
            _nodes(a.nodelist, inner)
        else:
            _nodes([a], inner)
        got.append(inner)
    return got


def _plain_text(toks: list[Tok]) -> str:
    return "".join(t.text for t in toks if t.kind in ("letter", "num", "op", "word")).strip()


def _macro(n: Any, out: list[Tok]) -> None:
    name = n.macroname
    pos = n.pos
    args = _args(n)
    if name in DROP:
        return
    if name in SPACES:
        out.append(Tok("space", name, pos))
        return
    if name == "\\":
        out.append(Tok("sep", "row", pos))
    elif name in RELATIONS:
        out.append(Tok("rel", RELATIONS[name], pos))
    elif name in OTHER_RELATIONS:
        out.append(Tok("rel", name, pos))
    elif name in ("text", "textrm", "mathrm", "operatorname", "textit", "mbox", "textbf"):
        word = _plain_text(args[-1] if args else [])
        key = word.lower().replace(" ", "")
        if key in WORDS:
            out.append(Tok("word", WORDS[key], pos))
        elif name in ("mathrm", "operatorname") and word:
            if len(word) == 1 and word.isalpha():
                out.append(Tok("letter", word, pos, end=pos + 1))
            else:
                out.append(Tok("word", word, pos))
        else:
            out.append(Tok("sep", "text", pos))
    elif name in SEPARATORS:
        out.append(Tok("sep", name, pos))
    elif name in PRODUCTS:
        out.append(Tok("op", PRODUCTS[name], pos))
    elif name in ("frac", "dfrac", "tfrac", "cfrac"):
        if len(args) < 2:
            raise Unreadable(f"\\{name} needs two arguments", pos)
        out.append(Tok("frac", name, pos, args=args[-2:]))
    elif name == "sqrt":
        out.append(Tok("sqrt", name, pos, args=args[-2:] if len(args) >= 2 else [[], *args]))
    elif name in ACCENTS:
        out.append(Tok("accent", ACCENTS[name], pos, args=args[-1:]))
    elif name in STYLES or name in ("mathbb", "mathfrak"):
        if args:
            out.append(Tok("group", "{}", pos, args=args[-1:]))
    elif name in FUNCTION_MACROS:
        out.append(Tok("word", FUNCTION_MACROS[name], pos))
    elif name in FROM_GREEK:
        out.append(Tok("letter", FROM_GREEK[name], pos, end=-2))
    elif name in ("partial", "nabla"):
        out.append(Tok("partial", name, pos))
    elif name == "sum":
        out.append(Tok("sum", name, pos))
    elif name in ("top", "intercal", "mathsf"):
        out.append(Tok("letter", "T", pos, end=-2))
    elif name in ("lvert", "rvert", "vert", "|"):
        out.append(Tok("op", "|", pos))
    elif name in ("{", "lbrace"):
        out.append(Tok("op", "(", pos))
    elif name in ("}", "rbrace"):
        out.append(Tok("op", ")", pos))
    elif name in ("lbrack",):
        out.append(Tok("op", "[", pos))
    elif name in ("rbrack",):
        out.append(Tok("op", "]", pos))
    elif name in ("langle", "rangle"):
        out.append(Tok("op", "(" if name == "langle" else ")", pos))
    elif name in ("dots", "cdots", "ldots", "vdots", "ddots"):
        out.append(Tok("unknown", "…", pos))
    else:
        out.append(Tok("unknown", "\\" + name, pos))


def _environment(n: Any, out: list[Tok]) -> None:
    env = n.environmentname
    if env in MATRICES:
        rows: list[list[list[Tok]]] = [[[]]]
        flat: list[Tok] = []
        _nodes(n.nodelist, flat)
        for t in flat:
            if t.kind == "sep" and t.text == "row":
                rows.append([[]])
            elif t.kind == "sep" and t.text == "&":
                rows[-1].append([])
            else:
                rows[-1][-1].append(t)
        while rows and all(not c for c in rows[-1]):
            rows.pop()  # a \\ after the last row
        out.append(Tok("matrix", env, n.pos, rows=rows))
    elif env in ROWS or env.rstrip("*") in ROWS:
        out.append(Tok("sep", "row", n.pos))
        _nodes(n.nodelist, out)
        out.append(Tok("sep", "row", n.pos + n.len - 1))
    elif env == "cases":
        out.append(Tok("unknown", "cases", n.pos))
    else:
        out.append(Tok("unknown", f"\\begin{{{env}}}", n.pos))


def _chars(text: str, start: int, out: list[Tok]) -> None:
    i = 0
    script = False  # after ^ or _: one character only (x^23 is x^{2}3 in LaTeX)
    while i < len(text):
        ch = text[i]
        pos = start + i
        if ch.isspace():
            i += 1
            continue
        if ch in DIGITS or (ch == "." and i + 1 < len(text) and text[i + 1] in DIGITS):
            if script:
                out.append(Tok("num", ch, pos))
                i += 1
            else:
                m = _NUMBER.match(text, i)
                assert m is not None
                out.append(Tok("num", m.group(), pos))
                i = m.end()
            script = False
            continue
        script = False
        if layer_at(text, i) > i:  # z⁽¹⁾ as typed: read as z^{(1)}
            k = layer_at(text, i)
            digits = "".join(SUPERSCRIPT_VALUES[c] for c in text[i + 1 : k - 1])
            inner = [Tok("op", "(", pos), Tok("num", digits, pos), Tok("op", ")", pos)]
            out.append(Tok("op", "^", pos))
            out.append(Tok("group", "{}", pos, args=[inner]))
            i = k
            continue
        if ch in SUPERSCRIPT_VALUES or ch == "⁻":
            j = i
            while j < len(text) and (text[j] in SUPERSCRIPT_VALUES or text[j] == "⁻"):
                j += 1
            digits = "".join(SUPERSCRIPT_VALUES.get(c, "-") for c in text[i:j])
            out.append(Tok("op", "^", pos))
            out.append(Tok("group", "{}", pos, args=[_num_toks(digits, pos)]))
            i = j
            continue
        if ch in SUBSCRIPT_VALUES:
            j = i
            while j < len(text) and text[j] in SUBSCRIPT_VALUES:
                j += 1
            digits = "".join(SUBSCRIPT_VALUES[c] for c in text[i:j])
            out.append(Tok("op", "_", pos))
            out.append(Tok("group", "{}", pos, args=[[Tok("num", digits, pos)]]))
            i = j
            continue
        if ch.isalpha():
            j = i + 1
            while j < len(text) and unicodedata.category(text[j]) == "Mn":
                j += 1
            letter = text[i:j]
            decomposed = unicodedata.normalize("NFD", letter)
            base, marks = decomposed[0], decomposed[1:]
            accent = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot"}
            if marks and marks[0] in accent:
                tok = Tok("letter", base, pos, end=-2)
                out.append(Tok("accent", accent[marks[0]], pos, args=[[tok]]))
            elif ch in ("σ",):
                out.append(Tok("word", "σ", pos))
            else:
                out.append(Tok("letter", letter, pos, end=start + j))
            i = j
            continue
        if ch == "∂" or ch == "∇":
            out.append(Tok("partial", ch, pos))
        elif ch in UNICODE_OPS:
            out.append(Tok("op", UNICODE_OPS[ch], pos))
        elif ch in UNICODE_RELS:
            out.append(Tok("rel", UNICODE_RELS[ch], pos))
        elif ch in UNICODE_SEPS:
            out.append(Tok("sep", ch, pos))
        elif ch == "=":
            out.append(Tok("rel", "=", pos))
        elif ch == ":" and text[i + 1 : i + 2] == "=":
            out.append(Tok("rel", "=", pos))
            i += 1
        elif ch in "<>≤≥≠∈":
            out.append(Tok("rel", ch, pos))
        elif ch == "'" or ch == "′":
            out.append(Tok("unknown", "′", pos))
        else:
            out.append(Tok("op", ch, pos))
            script = ch in "^_"
        i += 1


def _num_toks(digits: str, pos: int) -> list[Tok]:
    if digits.startswith("-"):
        return [Tok("op", "-", pos), Tok("num", digits[1:], pos)]
    return [Tok("num", digits, pos)]


# ---------------------------------------------------------------- statements


@dataclass
class Piece:
    """One statement's tokens: an equation chain, or something that is not one."""

    toks: list[Tok]

    @property
    def pos(self) -> int:
        return self.toks[0].pos if self.toks else 0


def pieces(toks: list[Tok]) -> list[Piece]:
    """Split a formula into statements: at separators (\\quad, arrows, text, rows of aligned
    environments) and at top-level commas; the cells of an aligned row (``x &= 1 & z &= 2``)
    are joined when a cell begins with a relation, and a row that begins with an empty cell
    (``&= …``, ``&\\quad + …``) continues the equation of the row above."""
    out: list[list[Tok]] = [[]]
    depth = 0
    skip_to = 0
    for k, t in enumerate(toks):
        if k < skip_to:
            continue
        if t.kind == "sep" and t.text == "row":
            at = _continued_row(out, toks, k + 1)
            if at is not None:
                while len(out) > 1 and not out[-1]:
                    out.pop()  # after a \tag
                skip_to = at
                continue
        if t.kind == "space":
            if depth == 0 and _equation_follows(out[-1], toks, k + 1):
                out.append([])
            continue
        if t.kind == "op" and t.text in "([":
            depth += 1
        elif t.kind == "op" and t.text in ")]":
            depth = max(depth - 1, 0)
        if t.kind == "sep" and t.text == "&":
            out.append([t])  # decided below
            continue
        if t.kind == "sep" or (t.kind == "op" and t.text in ",;." and depth == 0):
            out.append([])
            depth = 0
            continue
        out[-1].append(t)
    joined: list[list[Tok]] = []
    for chunk in out:
        if chunk and chunk[0].kind == "sep":  # a cell after &
            rest = chunk[1:]
            if rest and rest[0].kind == "rel" and joined:
                joined[-1].extend(rest)
            else:
                joined.append(rest)
        else:
            joined.append(chunk)
    return [Piece(c) for c in joined if c]


def _continued_row(out: list[list[Tok]], toks: list[Tok], k: int) -> int | None:
    """Where the tokens of a row starting at ``toks[k]`` resume, when the row begins with an
    empty cell and continues the equation above (``\\ &= 5.0``); None for a new row."""
    if k >= len(toks) or toks[k].kind != "sep" or toks[k].text != "&":
        return None
    j = k + 1
    while j < len(toks) and (
        toks[j].kind == "space" or (toks[j].kind == "sep" and toks[j].text in ("quad", "qquad"))
    ):
        j += 1
    if j >= len(toks) or toks[j].kind == "sep":
        return None
    above = next((c for c in reversed(out) if c), [])
    if not any(t.kind == "rel" for t in above):
        return None
    return j


def _equation_follows(chunk: list[Tok], toks: list[Tok], k: int) -> bool:
    """Whether a space before ``toks[k]`` separates two equations: the statement so far has
    a relation, and what follows is a name or a derivative and then a relation
    (``\\hat y = 0.8 \\; L = 0.02``), not a factor (``(\\hat y - y)\\,\\hat y(1 - \\hat y)``)."""
    if not any(t.kind == "rel" for t in chunk):
        return False
    side: list[Tok] = []
    for t in toks[k:]:
        if t.kind == "rel":
            break
        if t.kind == "sep" or (t.kind == "op" and t.text in ",;"):
            return False
        if t.kind != "space":
            side.append(t)
    else:
        return False
    if not side:
        return False
    try:
        e = Parser(side, set()).whole()
    except (Unreadable, RecursionError):
        return False
    return isinstance(e, (Name, Deriv, Index))


@dataclass
class Chain:
    """``e0 r1 e1 r2 e2 …``: expressions and the relations between them."""

    items: list[Expr]
    rels: list[str]
    spans: list[tuple[int, int]]  # where each item's tokens start and end in the maths text


def chain(
    piece: Piece, functions: set[str] | None = None, *, lenient: bool = False
) -> Chain | None:
    """The chain a statement writes, or None when it has no ``=`` or ``≈`` (a list of names,
    ``x ∈ ℝ²``, an equation number)."""
    parts: list[list[Tok]] = [[]]
    rels: list[str] = []
    for t in piece.toks:
        if t.kind == "rel":
            rels.append(t.text)
            parts.append([])
        else:
            parts[-1].append(t)
    if any(r not in ("=", "≈") for r in rels):
        # an inequality beside the equation (0 < ŷ = 0.83 < 1): the run of = and ≈ is read
        runs: list[tuple[int, int]] = []  # items first..last joined by = or ≈
        first = 0
        for k, r in enumerate(rels):
            if r not in ("=", "≈"):
                if k > first:
                    runs.append((first, k))
                first = k + 1
        if len(rels) > first:
            runs.append((first, len(rels)))
        if not runs:
            return None
        a, b = runs[0]
        parts, rels = parts[a : b + 1], rels[a:b]
    if not rels:
        return None
    items: list[Expr] = []
    spans: list[tuple[int, int]] = []
    for k, part in enumerate(parts):
        if not part:
            raise Unreadable("an empty side of an equation", piece.pos)
        try:
            item = Parser(part, functions or set()).whole()
        except Unreadable as exc:
            if not lenient or k == 0:
                raise
            item = Unread(exc.message, exc.pos)  # (a worked solution's step: see Unread)
        if depth(item) > MAX_DEPTH:
            raise Unreadable(
                f"a formula more than {MAX_DEPTH} operations deep; split it into several "
                "definitions",
                part[0].pos,
            )
        items.append(item)
        spans.append((part[0].pos, _tok_end(part[-1])))
    return Chain(items, rels, spans)


def _tok_end(t: Tok) -> int:
    if t.stop > 0:
        return t.stop
    if t.end > 0:
        return t.end
    inner = [x for a in t.args for x in a] + [x for r in t.rows for c in r for x in c]
    ends = [_tok_end(x) for x in inner]
    return max([t.pos + len(t.text), *ends])


# ---------------------------------------------------------------- expressions


_ATOM_START = {"num", "letter", "word", "group", "frac", "sqrt", "accent", "matrix", "sum",
               "partial"}  # fmt: skip


class Parser:
    """Recursive descent over the tokens of one side of an equation (recursion follows the
    nesting the writer typed, never a graph's depth)."""

    def __init__(self, toks: list[Tok], functions: set[str]) -> None:
        self.toks = toks
        self.i = 0
        self.functions = functions

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_op(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "op" and t.text == text

    def expect(self, text: str, where: int) -> None:
        if not self.is_op(text):
            t = self.peek()
            raise Unreadable(f"expected {text!r}", t.pos if t else where)
        self.i += 1

    def whole(self) -> Expr:
        if not self.toks:
            raise Unreadable("nothing to read", 0)
        try:
            e = self.expr()
        except RecursionError:
            raise Unreadable("nested too deeply to read", self.toks[0].pos) from None
        t = self.peek()
        if t is not None:
            raise Unreadable(f"cannot read {t.text!r} here", t.pos)
        return e

    def expr(self) -> Expr:
        t = self.peek()
        if t is not None and t.kind == "op" and t.text in "+-":
            self.take()
            first = self.term()
            e: Expr = Neg(first) if t.text == "-" else first
        else:
            e = self.term()
        while True:
            t = self.peek()
            if t is not None and t.kind == "op" and t.text in "+-":
                self.take()
                e = Bin(t.text, e, self.term())
            else:
                return e

    def term(self) -> Expr:
        e = self.unary()
        while True:
            t = self.peek()
            if t is None:
                return e
            if t.kind == "op" and t.text in ("*", "dot", "times", "/", "outer"):
                self.take()
                rhs = self.unary()
                op = t.text
                if op == "/" and _is_partial(e) and _is_partial(rhs):
                    e = Deriv(_partial_of(e), _partial_of(rhs), partial=True)
                else:
                    e = Bin(op, e, rhs)
            elif t.kind in _ATOM_START or (t.kind == "op" and t.text in "(["):
                e = Bin("jux", e, self.unary())
            else:
                return e  # a bar after a complete factor closes |…|

    def unary(self) -> Expr:
        t = self.peek()
        if t is not None and t.kind == "op" and t.text in "+-":
            self.take()
            inner = self.unary()
            return Neg(inner) if t.text == "-" else inner
        return self.postfix()

    def script(self) -> list[Tok]:
        t = self.peek()
        if t is None:
            raise Unreadable("a sub- or superscript is missing", self.toks[-1].pos)
        self.take()
        if t.kind == "group":
            return t.args[0]
        return [t]

    def postfix(self) -> Expr:
        first = self.peek()
        bracketed = first is not None and first.kind == "op"  # (x)^{(2)} is a power
        e = self.atom()
        while True:
            labelled = not bracketed and _labelled(e)
            if self.is_op("^") and labelled and (label := self.layer()) is not None:
                assert isinstance(e, Name)
                e = Name(e.base, e.accent, e.sub, label)
            elif self.is_op("^"):
                pos = self.take().pos
                toks = self.script()
                if len(toks) == 1 and toks[0].kind == "letter" and toks[0].text == "T":
                    e = Transpose(e)
                    continue
                if len(toks) == 1 and toks[0].kind == "group":
                    toks = toks[0].args[0]
                if len(toks) == 1 and toks[0].kind == "letter" and toks[0].text == "T":
                    e = Transpose(e)
                    continue
                if not toks:
                    raise Unreadable("an empty superscript", pos)
                power = Parser(toks, self.functions).whole()
                e = Bin("^", e, power)
            elif self.is_op("_"):
                pos = self.take().pos
                toks = self.script()
                e = _subscript(e, toks, pos)
            else:
                return e

    def layer(self) -> str | None:
        """The layer label after the ``^`` at hand, taken (``^{(1)}``, ``^{[1]}``, ``^(1)``,
        ``^[1]``, and ``⁽¹⁾`` as tokenised): a whole number in brackets, or None (a power)."""
        after = self.peek(1)
        if after is None:
            return None
        if after.kind == "group":
            label = _layer_label(after.args[0])
            taken = 2
        else:
            label = _layer_label(self.toks[self.i + 1 : self.i + 4])
            taken = 4
        if label is not None:
            self.i += taken
        return label

    def atom(self) -> Expr:
        t = self.peek()
        if t is None:
            last = self.toks[-1].pos if self.toks else 0
            raise Unreadable("an operand is missing", last)
        k = t.kind
        if k == "num":
            self.take()
            return _number(t)
        if k == "letter":
            return self.letters()
        if k == "word":
            self.take()
            return self.function(t.text, t.pos)
        if k == "group":
            self.take()
            if not t.args[0]:
                raise Unreadable("an empty group {}", t.pos)
            return Parser(t.args[0], self.functions).whole()
        if k == "frac":
            self.take()
            return _fraction(t, self.functions)
        if k == "sqrt":
            self.take()
            degree, body = t.args
            inner = Parser(body, self.functions).whole()
            if degree:
                root = Parser(degree, self.functions).whole()
                return Bin("^", inner, Bin("/", Num(Fraction(1), "1"), root))
            return Call("sqrt", (inner,))
        if k == "accent":
            self.take()
            under = Parser(t.args[0], self.functions).whole() if t.args else None
            if not isinstance(under, Name) or under.accent is not None:
                raise Unreadable(f"\\{t.text} over something that is not a name", t.pos)
            return Name(under.base, t.text, under.sub, under.layer)
        if k == "matrix":
            self.take()
            rows = tuple(
                tuple(Parser(cell, self.functions).whole() for cell in row) for row in t.rows
            )
            if not rows or any(len(r) != len(rows[0]) for r in rows):
                raise Unreadable("the rows of a matrix have different lengths", t.pos)
            column = len(rows[0]) == 1 or len(rows) == 1
            if len(rows) == 1 and len(rows[0]) > 1:
                rows = tuple((x,) for x in rows[0])
            return Matrix(rows, column)
        if k == "sum":
            self.take()
            return self.summation(t)
        if k == "partial":
            self.take()
            var = self.postfix()
            return Call("∂", (var,))
        if k == "op" and t.text == "[":
            return self.bracket()
        if k == "op" and t.text == "(":
            self.take()
            e = self.expr()
            self.expect(")", t.pos)
            return e
        if k == "op" and t.text == "|":
            self.take()
            e = self.expr()
            self.expect("|", t.pos)
            return Call("abs", (e,))
        raise Unreadable(f"cannot read {t.text!r}", t.pos)

    def bracket(self) -> Expr:
        """``[…]``: a bracketed expression, or a list written as chainrule writes arrays
        (``\\left[1, -1\\right]`` a vector, ``[[1, 2], [3, 4]]`` a matrix)."""
        t = self.take()
        items = [self.expr()]
        while self.is_op(","):
            self.take()
            items.append(self.expr())
        self.expect("]", t.pos)
        if len(items) == 1 and not isinstance(items[0], Matrix):
            return items[0]
        if all(isinstance(x, Matrix) and x.column for x in items) and len(items) > 1:
            rows = tuple(
                tuple(c for r in x.rows for c in r) for x in items if isinstance(x, Matrix)
            )
            if any(len(r) != len(rows[0]) for r in rows):
                raise Unreadable("the rows of a matrix have different lengths", t.pos)
            if len(rows[0]) == 1:
                return Matrix(rows, True)
            return Matrix(rows, False)
        if len(items) == 1:  # [[1, 2]]: one row
            return items[0]
        if any(isinstance(x, Matrix) for x in items):
            raise Unreadable("a list that mixes numbers and lists", t.pos)
        return Matrix(tuple((x,) for x in items), True)

    def letters(self) -> Expr:
        """A letter, or a word of adjacent letters that names a function (MSE, softmax)."""
        first = self.take()
        word = [first]
        while True:
            nxt = self.peek()
            if (
                nxt is not None
                and nxt.kind == "letter"
                and word[-1].end > 0
                and nxt.pos == word[-1].end
            ):
                word.append(self.take())
            else:
                break
        text = "".join(t.text for t in word)
        if len(word) > 1:
            key = text.lower()
            if key in WORDS:
                return self.function(WORDS[key], first.pos)
            if text in self.functions or self.is_op("("):
                return self.function(text, first.pos)
            self.i -= len(word) - 1  # xy is x times y
            text = first.text
        if text in self.functions and self.is_op("("):
            return self.function(text, first.pos)
        return Name(text)

    def function(self, fn: str, pos: int) -> Expr:
        t = self.peek()
        power: Expr | None = None
        if self.is_op("^"):  # \sigma^2(z), \tanh^2 x
            self.take()
            power = Parser(self.script(), self.functions).whole()
            t = self.peek()
        if t is not None and t.kind == "op" and t.text == "(":
            self.take()
            args = [self.expr()]
            while self.is_op(","):
                self.take()
                args.append(self.expr())
            self.expect(")", pos)
            call: Expr = Call(fn, tuple(args))
        elif t is not None and (t.kind in _ATOM_START or (t.kind == "op" and t.text == "[")):
            call = Call(fn, (self.postfix(),))  # \log x, \exp{x}
        else:
            if fn == "σ":
                return Name("σ")
            raise Unreadable(f"{fn} needs an argument", pos)
        return Bin("^", call, power) if power is not None else call

    def summation(self, t: Tok) -> Expr:
        var = "i"
        lo: Expr | None = None
        hi: Expr | None = None
        for _ in range(2):
            if self.is_op("_"):
                self.take()
                sub = self.script()
                rel = [k for k, x in enumerate(sub) if x.kind == "rel"]
                if rel:
                    name = Parser(sub[: rel[0]], self.functions).whole()
                    lo = Parser(sub[rel[0] + 1 :], self.functions).whole()
                else:
                    name = Parser(sub, self.functions).whole()
                if not isinstance(name, Name):
                    raise Unreadable("\\sum_{i=1}: the index must be a letter", t.pos)
                var = name.base
            elif self.is_op("^"):
                self.take()
                hi = Parser(self.script(), self.functions).whole()
        body = self.term()
        return Sum(var, lo, hi, body)


_CLOSING = {"(": ")", "[": "]"}


def _labelled(e: Expr) -> bool:
    """Whether a bracketed whole number over ``e`` is a layer label: over a name without one
    already, except e itself (e^{(2)} is e², Euler's number squared)."""
    if not isinstance(e, Name) or e.layer is not None:
        return False
    return not (e.base == "e" and e.accent is None and e.sub is None)


def _layer_label(toks: list[Tok]) -> str | None:
    """``(1)`` or ``[1]`` (the superscript of z^{(1)}, W^{[2]}): the layer's number. A letter
    in its place (W^{[l]}, \\delta^{(l+1)}) is a general formula, not one layer: unreadable."""
    if len(toks) < 3 or toks[0].kind != "op" or toks[0].text not in _CLOSING:
        return None
    close = toks[-1]
    if close.kind != "op" or close.text != _CLOSING[toks[0].text]:
        return None
    middle = toks[1:-1]
    if len(middle) == 1 and middle[0].kind == "num" and middle[0].text.isdigit():
        return str(int(middle[0].text))
    if (
        middle[0].kind == "letter"
        and len(middle) in (1, 3)
        and (len(middle) == 1 or (middle[1].kind == "op" and middle[1].text in "+-"))
    ):
        written = "".join(t.text for t in middle)
        raise Unreadable(
            f"a layer named by a letter ({toks[0].text}{written}{close.text}) is a general "
            "formula, not one layer: chainrule reads layers numbered 0, 1, 2, … such as "
            "W^{(1)} or W^{[1]}",
            toks[0].pos,
        )
    return None


def _number(t: Tok) -> Num:
    s = t.text.replace(",", ".")
    if "e" in s.lower():  # e-notation: 5e-3 is 0.005
        mantissa, _, power = s.lower().partition("e")
        if abs(int(power)) > MAX_EXPONENT:
            raise Unreadable(f"a power of ten past 10^{MAX_EXPONENT}", t.pos)
        value = _number(Tok("num", mantissa, t.pos)).value * Fraction(10) ** int(power)
        return Num(value, t.text)
    if "." in s:
        whole, _, frac = s.partition(".")
        value = Fraction(int(whole or "0") * 10 ** len(frac) + int(frac), 10 ** len(frac))
    else:
        value = Fraction(int(s))
    return Num(value, t.text)


def _is_partial(e: Expr) -> bool:
    return isinstance(e, Call) and e.fn == "∂"


def _partial_of(e: Expr) -> Expr:
    assert isinstance(e, Call)
    return e.args[0]


def _fraction(t: Tok, functions: set[str]) -> Expr:
    num_toks, den_toks = t.args
    if num_toks and num_toks[0].kind == "partial" and den_toks and den_toks[0].kind == "partial":
        top = Parser(num_toks[1:], functions).whole() if len(num_toks) > 1 else None
        var = Parser(den_toks[1:], functions).whole()
        if top is None:
            raise Unreadable("∂/∂x of what?", t.pos)
        return Deriv(top, var, partial=True)
    if (
        len(num_toks) >= 2
        and len(den_toks) >= 2
        and num_toks[0].kind == "letter"
        and num_toks[0].text == "d"
        and den_toks[0].kind == "letter"
        and den_toks[0].text == "d"
    ):
        return Deriv(
            Parser(num_toks[1:], functions).whole(), Parser(den_toks[1:], functions).whole()
        )
    if not num_toks or not den_toks:
        raise Unreadable("\\frac with an empty part", t.pos)
    return Bin("/", Parser(num_toks, functions).whole(), Parser(den_toks, functions).whole())


def _subscript(e: Expr, toks: list[Tok], pos: int) -> Expr:
    if isinstance(e, Matrix) and toks and all(x.kind == "num" for x in toks):
        at = element_index("".join(x.text for x in toks))
        if at is not None and len(at) == 1:  # [0.09, 0.24, 0.67]_{1}: an element of a list
            return Index(e, at)
    if not isinstance(e, Name) or e.sub is not None:
        if isinstance(e, Call) and toks and all(x.kind in ("num", "letter") for x in toks):
            return e  # \max_i, \log_2: the subscript of an operator is not read
        raise Unreadable("a subscript on something that is not a name", pos)
    parts = []
    for x in toks:
        if x.kind in ("num", "letter"):
            parts.append(x.text)
        elif x.kind == "op" and x.text == ",":
            parts.append(",")
        elif x.kind == "group":
            parts.append(_plain_text(x.args[0]))
        elif x.kind == "accent" or x.kind == "word":
            parts.append(x.text)
        else:
            raise Unreadable("a subscript that is not letters or digits", pos)
    sub = "".join(parts).replace(" ", "")
    if not sub:
        raise Unreadable("an empty subscript", pos)
    return Name(e.base, e.accent, sub, e.layer)


def element_index(sub: str) -> tuple[int, ...] | None:
    """The index (from 0) a subscript names: 1 → (0,), 12 → (0, 1), "1,2" → (0, 1)."""
    if re.fullmatch(r"\d+", sub):
        return (int(sub) - 1,)
    if re.fullmatch(r"\d+,\d+", sub):
        a, b = sub.split(",")
        return (int(a) - 1, int(b) - 1)
    return None


__all__ = ["Chain", "Index", "Parser", "Piece", "Tok", "Unreadable", "chain", "pieces", "tokens"]
