"""The characters chainrule writes and reads, in one place: the typographic minus, sub- and
superscript digits, Greek letters and accents with their LaTeX names, and LaTeX's special
characters. Every writer and reader takes its tables from here, so they can never disagree."""

from __future__ import annotations

import re
import unicodedata

MINUS = "\u2212"  # −, the minus of typeset maths (the hyphen-minus "-" is what people type)

DIGITS = "0123456789"
SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUPERSCRIPT_MINUS = "⁻"

TO_SUBSCRIPT = str.maketrans(DIGITS, SUBSCRIPT_DIGITS)
FROM_SUBSCRIPT = str.maketrans(SUBSCRIPT_DIGITS, DIGITS)
TO_SUPERSCRIPT = str.maketrans(DIGITS + "-", SUPERSCRIPT_DIGITS + SUPERSCRIPT_MINUS)
#: superscript digit → digit (the language reads x² as x ** 2)
SUPERSCRIPT_VALUES = dict(zip(SUPERSCRIPT_DIGITS, DIGITS, strict=True))
#: subscript digit → digit (b₀ is b_{0} in LaTeX, b0 as people type it)
SUBSCRIPT_VALUES = dict(zip(SUBSCRIPT_DIGITS, DIGITS, strict=True))

#: a layer label glued to a name, z⁽¹⁾ (z^{(1)} in LaTeX): part of the name, never a power
LAYER_OPEN, LAYER_CLOSE = "⁽", "⁾"
LAYER_MARK = "⁽[⁰¹²³⁴⁵⁶⁷⁸⁹]+⁾"


def layer_mark(digits: str) -> str:
    """The layer label of layer ``digits`` ("1" → ⁽¹⁾), as names carry it."""
    return LAYER_OPEN + digits.translate(TO_SUPERSCRIPT) + LAYER_CLOSE


# a layer label as typed or in LaTeX: W^(1), W^[1], W^{(1)}, W^{[1]} are all W⁽¹⁾
_LAYER_TYPED = re.compile(r"\^\s*(\{\s*)?(?:\((\d+)\)|\[(\d+)\])(?(1)\s*\})")


def layer_spelled(name: str) -> str:
    """A name typed with its layer label as in LaTeX or on a keyboard (W^(1), W^{[1]}) as
    chainrule spells it (W⁽¹⁾), so every spelling finds the same node."""
    if "^" not in name:
        return name
    return _LAYER_TYPED.sub(lambda m: layer_mark(str(int(m.group(2) or m.group(3)))), name)


def layer_at(text: str, i: int) -> int:
    """The end of a layer label ⁽¹²⁾ starting at ``i`` of ``text``, or ``i`` if none."""
    if text[i : i + 1] != LAYER_OPEN:
        return i
    j = i + 1
    while j < len(text) and text[j] in SUPERSCRIPT_VALUES:
        j += 1
    return j + 1 if j > i + 1 and text[j : j + 1] == LAYER_CLOSE else i


#: Greek letter → its LaTeX command name (without the backslash)
GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta",
    "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}  # fmt: skip

#: combining accent → its name (ŷ is y-hat): LaTeX's maths accent \hat, and how people type it
ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot"}
#: combining accent → LaTeX's text-mode accent command (\^y in running text)
TEXT_ACCENTS = {"\u0302": r"\^", "\u0303": r"\~", "\u0304": r"\=", "\u0307": r"\.", "\u0301": "\\'"}

#: characters LaTeX treats specially, written so that text mode prints them as they are
LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': "''",
}  # fmt: skip


def latex_text(s: str) -> str:
    """Any text escaped for LaTeX's text mode (and inside \\text{...})."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in s)


MATRIX_COLUMNS = 10  # amsmath's default MaxMatrixCols: a wider bmatrix is a LaTeX error


def latex_array(cells: list[str], shape: tuple[int, ...]) -> str:
    """An array's element texts (row-major) in LaTeX: a matrix as a matrix (bmatrix, as a
    textbook writes it), a vector, higher ranks and matrices wider than amsmath's matrix
    environments allow (``MaxMatrixCols``, 10) as brackets. No recursion on the rank."""
    if len(shape) == 2 and cells and shape[1] <= MATRIX_COLUMNS:
        rows, cols = shape
        lines = [" & ".join(cells[r * cols : (r + 1) * cols]) for r in range(rows)]
        return r"\begin{bmatrix}" + r" \\ ".join(lines) + r"\end{bmatrix}"
    if not cells:
        return r"\left[\right]"
    parts = cells
    for size in reversed(shape):  # innermost axis first
        parts = [
            r"\left[" + ", ".join(parts[k : k + size]) + r"\right]"
            for k in range(0, len(parts), size)
        ]
    return parts[0]


def latex_decimal(text: str) -> str:
    """A decimal's text in LaTeX: 1.5e-07 as 1.5 × 10⁻⁷."""
    mant, e, exp = text.partition("e")
    if e and mant.lstrip("-").replace(".", "").isdigit() and exp.lstrip("+-").isdigit():
        return f"{mant} \\times 10^{{{int(exp)}}}"
    return text


#: more combining accents, for LaTeX maths only (café's é is \acute{e})
MATH_ACCENTS = {"\u0301": "acute", "\u0300": "grave", "\u0308": "ddot", "\u030c": "check",
                "\u0306": "breve", "\u030a": "mathring"}  # fmt: skip

# characters pdflatex's utf8 input already typesets in T1 text (beyond Latin-1 and Extended-A)
_TYPESET = set("–—‘’‚“”„…•†‡€™")
#: maths symbols chainrule writes, as LaTeX maths (the TikZ writer and the documents' Unicode
#: declarations both read this table)
MATH_SYMBOLS = {
    "∂": r"\partial", "−": "-", "×": r"\times", "·": r"\cdot", "≈": r"\approx",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "→": r"\rightarrow", "←": r"\leftarrow",
    "↑": r"\uparrow", "↓": r"\downarrow", "√": r"\surd", "∑": r"\sum", "∞": r"\infty",
    "ᵀ": r"^{\top}", "∈": r"\in", "±": r"\pm", "⋅": r"\cdot", "⊙": r"\odot",
    "⊗": r"\otimes", "↦": r"\mapsto", "ℓ": r"\ell", "∇": r"\nabla", "⊟": r"\boxminus",
    "⊞": r"\boxplus",
}  # fmt: skip
_DECLARED = {**MATH_SYMBOLS, "′": r"\prime"}


def unicode_declarations(tex: str) -> str:
    """``\\DeclareUnicodeCharacter`` lines for the characters of ``tex`` that pdflatex's utf8
    input cannot typeset (a name Δw, ℓ, a Cyrillic one): Greek letters and maths symbols as
    themselves, subscript and superscript digits as scripts, anything else as its code point
    (U+0436), so the document compiles whatever the names."""
    lines = []
    for ch in sorted({c for c in tex if ord(c) > 0x17F and c not in _TYPESET}):
        if ch in GREEK:
            rep = "\\ensuremath{\\" + GREEK[ch] + "}"
        elif ch in _DECLARED:
            rep = "\\ensuremath{" + _DECLARED[ch] + "}"
        elif ch in SUBSCRIPT_VALUES:
            rep = "\\ensuremath{_{" + SUBSCRIPT_VALUES[ch] + "}}"
        elif ch in SUPERSCRIPT_VALUES:
            rep = "\\ensuremath{^{" + SUPERSCRIPT_VALUES[ch] + "}}"
        elif ch in (LAYER_OPEN, LAYER_CLOSE):  # z⁽¹⁾ in running text
            rep = "\\ensuremath{^{" + ("(" if ch == LAYER_OPEN else ")") + "}}"
        elif unicodedata.category(ch).startswith("M"):
            rep = ""  # a combining mark on its own: dropped rather than an error
        else:
            rep = f"\\ensuremath{{\\langle\\mathrm{{U{{+}}{ord(ch):04X}}}\\rangle}}"
        lines.append(f"\\DeclareUnicodeCharacter{{{ord(ch):04X}}}{{{rep}}}")
    return "\n".join(lines)
