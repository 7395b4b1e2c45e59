"""Markdown writer: words as Markdown, maths in ``$…$`` so that it renders on GitHub and Jupyter."""

from __future__ import annotations

from .document import Block, Document, Equation, Figure, Heading, Inline, Paragraph, Table, in_style
from .formulas import Math

_MD_SPECIAL = "\\`*_[]<>#|$"


def escape(text: str) -> str:
    """Escape Markdown's active characters in plain words."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def _math(m: Math, *, in_table: bool = False) -> str:
    latex = m.latex
    if in_table:
        latex = latex.replace("|", r"\vert ")
    return f"${latex}$"


def _inline(pieces: list[Inline], *, in_table: bool = False) -> str:
    out = []
    for p in pieces:
        out.append(_math(p, in_table=in_table) if isinstance(p, Math) else escape(p))
    return "".join(out)


def _relation(r: str) -> str:
    return r"\approx" if r == "≈" else "="


def _equation(eq: Equation) -> str:
    eq = in_style(eq, "latex")
    latex = eq.parts[0].latex
    for rel, part in zip(eq.relations, eq.parts[1:], strict=True):
        latex += f" {_relation(rel)} {part.latex}"
    return f"$${latex}$$"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + escape(block.text)
    if isinstance(block, Paragraph):
        return _inline(block.pieces)
    if isinstance(block, Equation):
        return _equation(block)
    if isinstance(block, Figure):
        return f"![{escape(block.caption)}](<{block.path}>)"
    if isinstance(block, Table):
        lines = ["| " + " | ".join(escape(h) for h in block.header) + " |"]
        lines.append("|" + "---|" * len(block.header))
        for row in block.rows:
            cells = [_inline([c], in_table=True) for c in row]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)
    raise TypeError(f"unknown block {block!r}")


def write(doc: Document) -> str:
    parts = []
    if doc.title:
        parts.append("# " + escape(doc.title))
    parts.extend(_block(b) for b in doc.blocks)
    return "\n\n".join(parts) + "\n"
