"""Standard output and error in an encoding that is not UTF-8 (``PYTHONIOENCODING=ascii``,
a Latin-1 terminal): every character the encoding cannot carry is written as the nearest text
it can (− as -, · as *, ŷ as y^, x₁ as x1, σ as sigma), a '?' where there is none, instead of
a UnicodeEncodeError from the first minus sign of a table. Files chainrule writes stay UTF-8."""

from __future__ import annotations

import codecs
import sys
import unicodedata
from typing import Any

HANDLER = "chainrule-nearest"

_NEAREST = {
    "−": "-",
    "·": "*",
    "×": "x",
    "÷": "/",
    "≈": "~",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "…": "...",
    "∂": "d",
    "∇": "grad ",
    "′": "'",
    "″": "''",
    "→": "->",
    "←": "<-",
    "↦": "->",
    "∞": "inf",
    "√": "sqrt",
    "σ": "sigma",
    "π": "pi",
    "Σ": "sum",
    "ℓ": "l",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "--",
    "\u00a0": " ",
    "\u2500": "-",
    "\u2502": "|",
    "\u2501": "-",
    "\u2503": "|",
}


def nearest(ch: str) -> str:
    """The closest plain text to one character: a table of the notation chainrule prints,
    then the character's compatibility decomposition without its accents (ŷ → y^, ² → 2)."""
    if ch in _NEAREST:
        return _NEAREST[ch]
    if unicodedata.combining(ch):
        return "^" if ch == "\u0302" else ""
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    hat = "^" if "\u0302" in decomposed else ""
    if base and base.isascii():
        if "SUPERSCRIPT" in unicodedata.name(ch, ""):  # x² → x^2
            return "^" + base
        return base + hat
    return "?"


def _handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    out = []
    for ch in bad:
        text = nearest(ch)
        try:
            text.encode(exc.encoding)
        except (UnicodeError, LookupError):
            text = "?"
        out.append(text)
    return "".join(out), exc.end


codecs.register_error(HANDLER, _handler)


def _is_unicode(encoding: str | None) -> bool:
    if not encoding:
        return True
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name.startswith("utf")


def carry_what_the_encoding_can(*streams: Any) -> None:
    """Set the nearest-text error handler on each stream whose encoding is not Unicode."""
    for stream in streams or (sys.stdout, sys.stderr):
        if _is_unicode(getattr(stream, "encoding", None)):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=HANDLER)
            except (ValueError, OSError):  # a stream already in use another way: leave it
                pass
