"""Text that came from a file, made inert before it reaches a terminal, a CSV or a report.

A student's name or answer may hold escape sequences (``\\x1b]0;PWNED\\x07`` sets a terminal's
title, ``\\x1b[2J`` clears it) or characters XML 1.0 forbids: every control character is shown
as its code (``\\x1b``), never sent as it is."""

from __future__ import annotations

import unicodedata


def _shown(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert_text(text: str) -> str:
    """``text`` with every control, format-override and unpaired surrogate character written
    as an escape code (tabs and line breaks become spaces)."""
    if text.isprintable():
        # no character of the categories Cc, Cf (the overrides), Cs, Co, Cn, nor a line
        # break or tab (str.isprintable reads the same Unicode tables): nothing to escape
        return text
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
            continue
        cat = unicodedata.category(ch)
        if (
            cat in ("Cc", "Cs", "Co", "Cn")
            or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        ):
            out.append(_shown(ch))
        else:
            out.append(ch)
    return "".join(out)


def clipped(text: str, limit: int = 400) -> str:
    """A message as a person reads it: a huge piece of input quoted in it is cut in the middle,
    keeping where (the start: line, student) and why (the end of the message)."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return text[: limit - tail - 3] + " … " + text[-tail:]


__all__ = ["clipped", "inert_text"]
