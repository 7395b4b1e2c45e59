"""LaTeX writer: a complete document that pdflatex compiles (amsmath and graphicx only)."""

from __future__ import annotations

from ..notation import latex_text
from .document import Block, Document, Equation, Figure, Heading, Inline, Paragraph, Table
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


def _equation(eq: Equation) -> str:
    lines = [eq.parts[0].latex]
    for rel, part in zip(eq.relations, eq.parts[1:], strict=True):
        r = r"\approx" if rel == "≈" else "="
        lines.append(f"&{r} {part.latex}")
    if len(lines) <= 3:
        body = lines[0] + " " + " ".join(lines[1:])
        return "\\begin{align*}\n" + body + "\n\\end{align*}"
    # a long chain: one equality per line, aligned on the relation
    body = lines[0] + " " + lines[1] + " \\\\\n" + " \\\\\n".join(lines[2:])
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


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
    parts = [PREAMBLE]
    if doc.title:
        parts.append(f"\\title{{{text(doc.title)}}}\n\\date{{}}")
    parts.append("\\begin{document}")
    if doc.title:
        parts.append("\\maketitle")
    parts.extend(_block(b) for b in doc.blocks)
    parts.append("\\end{document}")
    return "\n\n".join(parts) + "\n"
