"""Every equation of a document, with its line: the formulas found by ``segments`` split into
statements and parsed into chains; maths that cannot be read is kept as a problem with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .parse import Chain, Unreadable, chain, pieces, tokens, user_macros
from .segments import Lines, math_segments


@dataclass
class Statement:
    """One equation chain of the document."""

    chain: Chain
    line: int
    offset: int  # where the statement starts in the document
    base: int  # the document offset of the maths text the chain's spans count from
    text: str  # the statement as written
    stop: int = -1  # where the formula holding it ends in the document


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}: {self.text}"


def read_statements(
    text: str, *, latex: bool, lenient: bool = False
) -> tuple[list[Statement], list[Problem]]:
    """The equations of a Markdown (``latex=False``) or LaTeX document, in order; ``lenient``
    (a worked solution) keeps a chain whose middle steps cannot be read (see ``Unread``)."""
    lines = Lines(text)
    out: list[Statement] = []
    problems: list[Problem] = []
    macros = user_macros(_uncommented(text) if latex else text)
    for seg in math_segments(text, latex=latex):
        try:
            toks = tokens(seg.text, macros)
        except Unreadable as exc:
            where = seg.offset + exc.pos
            problems.append(Problem(lines.line(where), exc.message, _snippet(seg.text)))
            continue
        for piece in pieces(toks):
            start = seg.offset + piece.pos
            try:
                c = chain(piece, lenient=lenient)
            except Unreadable as exc:
                problems.append(
                    Problem(lines.line(seg.offset + exc.pos), exc.message, _snippet(seg.text))
                )
                continue
            if c is None:
                continue
            end = c.spans[-1][1]
            written = seg.text[piece.pos : end].strip()
            stop = seg.offset + len(seg.text)
            out.append(Statement(c, lines.line(start), start, seg.offset, written, stop))
    return out, problems


def _uncommented(text: str) -> str:
    return re.sub(r"(?<!\\)%[^\n]*", "", text)


def _snippet(s: str, width: int = 70) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 1] + "…"
