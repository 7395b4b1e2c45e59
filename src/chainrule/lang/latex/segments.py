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
# Where a piece may start; each kind is then tried in order at that place, as an alternation
# would, but its closing delimiter is looked for with str.find (or one search) and a delimiter
# that is missing after some place is remembered as missing after every later one: a text of
# 50,000 "\\[" with no "\\]" is read in linear time (a lazy ".+?" per opening took 46 s).
_STARTS_MD = re.compile(r"^```|`|\\\$|\$|\\\[|\\\(|\\begin\{", re.M)
_STARTS_TEX = re.compile(r"%|\\\$|\$|\\\[|\\\(|\\begin\{")
_FENCE_OPEN = re.compile(r"^```+[ \t]*math[ \t]*\n", re.M)
_FENCE_CLOSE = re.compile(r"^```+[ \t]*$", re.M)
_CODE_OPEN = re.compile(r"^```", re.M)
_CODE_CLOSE = re.compile(r"^```[ \t]*$", re.M)
_ICODE = re.compile(r"`[^`\n]+`")
_ENV_OPEN = re.compile(r"\\begin\{(" + _ENVS + r")\}")
# inline maths may wrap across a line break, as TeX and pandoc allow, but not a blank line
_INLINE = re.compile(r"\$((?:[^$\n]|\n(?![ \t]*\n))+?)\$")
_COMMENT = re.compile(r"%[^\n]*")
_MARKDOWN_KINDS = ("fence", "code", "icode", "esc", "dd", "bracket", "paren", "env", "d")
_LATEX_KINDS = ("comment", "esc", "dd", "bracket", "paren", "env", "d")
_PAIRS = {"dd": ("$$", "$$"), "bracket": ("\\[", "\\]"), "paren": ("\\(", "\\)")}


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
    return _Scanner(text, latex).run()


class _Scanner:
    """One pass over the text: at each place a piece may start, the kinds are tried in order
    (the first that is complete wins; none, and the scan moves on by one character)."""

    def __init__(self, text: str, latex: bool) -> None:
        self.text = text
        self.kinds = _LATEX_KINDS if latex else _MARKDOWN_KINDS
        self.starts = _STARTS_TEX if latex else _STARTS_MD
        self.missing: dict[str, int] = {}  # closing delimiter → found nowhere from here on
        self.out: list[Segment] = []

    def run(self) -> list[Segment]:
        pos = 0
        while True:
            m = self.starts.search(self.text, pos)
            if m is None:
                return self.out
            p = m.start()
            end = None
            for kind in self.kinds:
                end = self.piece(kind, p)
                if end is not None:
                    break
            pos = end if end is not None else p + 1

    def find(self, closer: str, start: int, pattern: re.Pattern[str] | None = None) -> int:
        """Where ``closer`` (or ``pattern``) next occurs from ``start`` (-1: nowhere)."""
        key = pattern.pattern if pattern is not None else closer
        if start >= self.missing.get(key, len(self.text) + 1):
            return -1
        if pattern is not None:
            m = pattern.search(self.text, start)
            at = m.start() if m else -1
        else:
            at = self.text.find(closer, start)
        if at < 0:
            self.missing[key] = min(start, self.missing.get(key, start))
        return at

    def piece(self, kind: str, p: int) -> int | None:
        """The end of a piece of ``kind`` starting at ``p`` (recording its maths), or None."""
        t = self.text
        if kind == "comment":
            if t.startswith("%", p) and (p == 0 or t[p - 1] != "\\"):
                m = _COMMENT.match(t, p)
                return m.end() if m else None
            return None
        if kind == "esc":
            return p + 2 if t.startswith("\\$", p) else None
        if kind == "icode":
            m = _ICODE.match(t, p)
            return m.end() if m else None
        if kind == "d":
            m = _INLINE.match(t, p)
            if m is None:
                return None
            self.out.append(Segment(m.group(1), m.start(1), False))
            return m.end()
        if kind in ("fence", "code"):
            opener = _FENCE_OPEN if kind == "fence" else _CODE_OPEN
            m = opener.match(t, p)
            if m is None:
                return None
            closer = _FENCE_CLOSE if kind == "fence" else _CODE_CLOSE
            at = self.find("", m.end(), closer)
            if at < 0:
                return None
            close = closer.match(t, at)
            assert close is not None
            if kind == "fence":
                self.out.append(Segment(t[m.end() : at], m.end(), True))
            return close.end()
        if kind == "env":
            m = _ENV_OPEN.match(t, p)
            if m is None:
                return None
            end_tag = "\\end{" + m.group(1) + "}"
            at = self.find(end_tag, m.end())
            if at < 0:
                return None
            self.out.append(Segment(t[p : at + len(end_tag)], p, True))
            return at + len(end_tag)
        opening, closing = _PAIRS[kind]
        if not t.startswith(opening, p):
            return None
        body = p + len(opening)
        at = self.find(closing, body + 1)  # the body holds one character at least
        if at < 0:
            return None
        self.out.append(Segment(t[body:at], body, kind != "paren"))
        return at + len(closing)
