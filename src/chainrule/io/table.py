"""Box-drawn text tables for the terminal, in the style rich draws them (a heavy head, light
body), written without rich: ``chainrule eval`` prints one for every program, and importing
rich would cost it more time than the whole engine."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def cell_width(text: str) -> int:
    """Columns a string takes in a terminal: combining marks (the hat of ŷ) take none, wide
    East Asian characters two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - cell_width(text))
    return gap + text if right else text + gap


def box_table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
) -> str:
    """The table as lines of text: the title on its own line (left, padded to the table's
    width), the header between heavy rules, the rows between light ones; ``right`` says
    which columns are right-aligned. Cells are single lines (a line break becomes a space); the
    title is not wrapped (eval's is always narrower than its table)."""
    header = [" ".join(h.splitlines()) for h in header]
    body = [[" ".join(c.splitlines()) for c in row] for row in rows]
    widths = [cell_width(h) for h in header]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_width(cell))
    total = sum(widths) + 3 * len(widths) + 1

    def rule(left: str, fill: str, mid: str, end: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def line(cells: Sequence[str], bar: str) -> str:
        inner = bar.join(f" {_pad(c, w, r)} " for c, w, r in zip(cells, widths, right))
        return f"{bar}{inner}{bar}"

    out = [_pad(title, total, False)]
    out.append(rule("┏", "━", "┳", "┓"))
    out.append(line(header, "┃"))
    out.append(rule("┡", "━", "╇", "┩"))
    out.extend(line(row, "│") for row in body)
    out.append(rule("└", "─", "┴", "┘"))
    return "\n".join(out) + "\n"


__all__ = ["box_table", "cell_width"]
