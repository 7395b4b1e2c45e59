"""LaTeX writer: a complete document that pdflatex compiles (amsmath and graphicx only)."""

from __future__ import annotations

import re

from ..lang.notation import latex_text
from ..lang.typography import unicode_declarations
from .document import Block, Document, Equation, Figure, Heading, Inline, Paragraph, Table, in_style
from .formulas import Math

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage[margin=2.2cm]{geometry}
\allowdisplaybreaks
"""

_UNICODE_TEXT = {"–": "--", "—": "---", "∂": r"$\partial$", "·": r"$\cdot$", "≈": r"$\approx$"}


def text(s: str) -> str:
    """Plain words for text mode: LaTeX specials escaped, a few symbols made portable."""
    out = latex_text(s)
    for ch, rep in _UNICODE_TEXT.items():
        out = out.replace(ch, rep)
    return out


def _inline(pieces: list[Inline]) -> str:
    return "".join(f"${p.latex}$" if isinstance(p, Math) else text(p) for p in pieces)


LINE = 64  # characters of LaTeX source that fit one row of a display (about)


def _equation(eq: Equation) -> str:
    """One ``&`` per row, so nothing is spread across the page: ``a &= b = c`` on one row while
    it is short, else one relation per row; a part too long for a row (a long vector) is
    broken between its elements."""
    eq = in_style(eq, "latex")
    rels = [r"\approx" if rel == "≈" else "=" for rel in eq.relations]
    parts = [p.latex for p in eq.parts]
    one_row = parts[0] + "".join(
        f" {'&' if k == 0 else ''}{r} {p}" for k, (r, p) in enumerate(zip(rels, parts[1:]))
    )
    if len(_visible(one_row)) <= LINE or not rels:
        return "\\begin{align*}\n" + one_row + "\n\\end{align*}"
    rows: list[str] = []
    for k, (r, p) in enumerate(zip(rels, parts[1:], strict=True)):
        pieces = _break(p)
        first = (parts[0] + " " if k == 0 else "") + f"&{r} " + pieces[0]
        rows.append(first)
        rows.extend("&\\quad " + piece for piece in pieces[1:])
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _visible(latex: str) -> str:
    """Roughly what is printed: commands and braces dropped, for measuring a row."""
    text = re.sub(r"\\(left|right|frac|mathrm|cdot|odot|partial|textstyle|sum)\b", " ", latex)
    return re.sub(r"[{}\\]", "", text)


def _break(latex: str) -> list[str]:
    """A long piece of maths cut after commas or before + between its terms, closing each
    open ``\\left`` on the row with ``\\right.`` and reopening it with ``\\left.``, so
    long vectors and sums continue on the next row."""
    if len(_visible(latex)) <= LINE:
        return [latex]
    rows: list[str] = []
    opened: list[str] = []
    start = 0
    since = 0
    depth = 0
    i = 0
    while i < len(latex):
        if latex.startswith("\\left", i):
            opened.append("left")
            i += 5
            continue
        if latex.startswith("\\right", i):
            if opened:
                opened.pop()
            i += 6
            continue
        ch = latex[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        cut = depth == 0 and (latex.startswith(", ", i) or latex.startswith(" + ", i))
        if cut and len(_visible(latex[since:i])) >= LINE:
            end = i + 1 if latex[i] == "," else i
            closing = " \\right." * len(opened)
            rows.append(latex[start:end] + closing)
            start = end
            since = end
            reopen = "\\left. " * len(opened)
            latex = latex[:start] + reopen + latex[start:].lstrip()
            i = start + len(reopen)
            continue
        i += 1
    rows.append(latex[start:])
    return rows


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return ("\\section*{" if block.level <= 2 else "\\subsection*{") + text(block.text) + "}"
    if isinstance(block, Paragraph):
        return _inline(block.pieces)
    if isinstance(block, Equation):
        return _equation(block)
    if isinstance(block, Figure):
        path = block.path.replace("\\", "/")
        return (
            "\\begin{center}\n"
            f"\\IfFileExists{{{latex_text(path)}}}"
            f"{{\\includegraphics[width=0.9\\linewidth,height=0.4\\textheight,keepaspectratio]"
            f"{{{latex_text(path)}}}}}"
            f"{{\\fbox{{{text('drawing not found: ' + block.path)}}}}}\\\\\n"
            f"\\small {text(block.caption)}\n"
            "\\end{center}"
        )
    if isinstance(block, Table):
        cols = "l" * len(block.header)
        lines = ["\\begin{center}", "\\renewcommand{\\arraystretch}{1.8}"]
        lines += [f"\\begin{{tabular}}{{{cols}}}", "\\hline"]
        lines.append(" & ".join(text(h) for h in block.header) + " \\\\ \\hline")
        for row in block.rows:
            lines.append(" & ".join(_inline([c]) for c in row) + " \\\\")
        lines += ["\\hline", "\\end{tabular}", "\\end{center}"]
        return "\n".join(lines)
    raise TypeError(f"unknown block {block!r}")


def write(doc: Document) -> str:
    parts = []
    if doc.title:
        parts.append(f"\\title{{{text(doc.title)}}}\n\\date{{}}")
    parts.append("\\begin{document}")
    if doc.title:
        parts.append("\\maketitle")
    parts.extend(_block(b) for b in doc.blocks)
    parts.append("\\end{document}")
    body = "\n\n".join(parts)
    declared = unicode_declarations(body)  # names such as Δw, ℓ: the document still compiles
    return PREAMBLE + (declared + "\n" if declared else "") + "\n\n" + body + "\n"
