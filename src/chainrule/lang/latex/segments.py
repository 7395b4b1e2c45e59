"""Where the maths is in a Markdown or LaTeX text: ``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``,
```` ```math ```` fences and the display environments (equation, align, …); everything else is
prose and is skipped. Each piece keeps its offset, so every statement can name its line."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_ENVS = (
    "equation|equation\\*|align|align\\*|aligned|gather|gather\\*|multline|multline\\*|"
    "eqnarray|eqnarray\\*|displaymath|math|flalign|flalign\\*|alignat|alignat\\*"
)
_COMMON = (
    r"(?P<esc>\\\$)"
    r"|\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<bracket>.+?)\\\]"
    r"|\\\((?P<paren>.+?)\\\)"
    r"|(?P<env>\\begin\{(?P<ename>" + _ENVS + r")\}.*?\\end\{(?P=ename)\})"
    r"|\$(?P<d>[^$\n]+?)\$"
)
_MARKDOWN = re.compile(
    r"(?P<fence>^```+[ \t]*math[ \t]*\n(?P<fbody>.*?)^```+[ \t]*$)"
    r"|(?P<code>^```.*?^```[ \t]*$)"
    r"|(?P<icode>`[^`\n]+`)|" + _COMMON,
    re.S | re.M,
)
_LATEX = re.compile(r"(?P<comment>(?<!\\)%[^\n]*)|" + _COMMON, re.S | re.M)


@dataclass(frozen=True)
class Segment:
    """A piece of maths and where it starts in the text (offset of its first character)."""

    text: str
    offset: int
    display: bool


class Lines:
    """Offsets → 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def math_segments(text: str, *, latex: bool) -> list[Segment]:
    """The maths of a document. In LaTeX, ``%`` starts a comment; in Markdown, code is skipped."""
    out: list[Segment] = []
    pattern = _LATEX if latex else _MARKDOWN
    for m in pattern.finditer(text):
        groups = m.groupdict()
        if groups.get("fence") is not None:
            out.append(Segment(m.group("fbody"), m.start("fbody"), True))
        elif m.group("env") is not None:
            out.append(Segment(m.group("env"), m.start("env"), True))
        elif m.group("dd") is not None:
            out.append(Segment(m.group("dd"), m.start("dd"), True))
        elif m.group("bracket") is not None:
            out.append(Segment(m.group("bracket"), m.start("bracket"), True))
        elif m.group("paren") is not None:
            out.append(Segment(m.group("paren"), m.start("paren"), False))
        elif m.group("d") is not None:
            out.append(Segment(m.group("d"), m.start("d"), False))
    return out
