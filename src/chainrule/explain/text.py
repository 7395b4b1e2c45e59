"""Plain-text writer: for terminals, with Unicode maths (∂L/∂z, σ(z), ŷ)."""

from __future__ import annotations

import textwrap

from .document import Block, Document, Equation, Figure, Heading, Inline, Paragraph, Table, in_style
from .formulas import Math

WIDTH = 96


def _clean(s: str) -> str:
    """No control characters reach the terminal (names come from user programs)."""
    return "".join(ch if ch.isprintable() or ch == "\n" else "\ufffd" for ch in s)


def _inline(pieces: list[Inline]) -> str:
    return _clean("".join(p.text if isinstance(p, Math) else p for p in pieces))


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        t = _clean(block.text)
        return f"{t}\n{'=' * len(t) if block.level <= 2 else '-' * len(t)}"
    if isinstance(block, Paragraph):
        return textwrap.fill(_inline(block.pieces), WIDTH)
    if isinstance(block, Equation):
        block = in_style(block, "text")
        s = "  " + block.parts[0].text
        for rel, part in zip(block.relations, block.parts[1:], strict=True):
            s += f" {rel} {part.text}"
        return _clean(s)
    if isinstance(block, Figure):
        return _clean(f"  [{block.caption} See {block.path}]")
    if isinstance(block, Table):
        rows = [[_clean(h) for h in block.header]]
        rows += [[_inline([c]) for c in row] for row in block.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(block.header))]
        lines = [
            "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        ]
        lines.insert(1, "  " + "  ".join("-" * w for w in widths))
        return "\n".join(lines)
    raise TypeError(f"unknown block {block!r}")


def write(doc: Document) -> str:
    parts = []
    if doc.title:
        t = _clean(doc.title)
        parts.append(f"{t}\n{'#' * len(t)}")
    parts.extend(_block(b) for b in doc.blocks)
    return "\n\n".join(parts) + "\n"
