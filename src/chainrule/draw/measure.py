"""Text widths in DejaVu Sans (shipped with matplotlib), so boxes fit their text exactly.

The layout engine only estimates widths of non-ASCII text; we measure every label ourselves
with the very font the SVG, PNG and PDF writers use. Characters the font lacks (CJK, emoji …)
get a fallback width, so every identifier can be drawn."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

FONT_FAMILY = "DejaVu Sans"
FONT_SIZE = 14.0  # points, for titles and values
SMALL_SIZE = 12.0  # points, for arrow labels
TITLE_SIZE = 15.0  # points, for the title of a drawing
LINE_GAP = 1.25  # line height as a multiple of the font size


@lru_cache(maxsize=1)
def font_files() -> tuple[Path, Path]:
    """The regular and bold DejaVu Sans files that matplotlib ships."""
    import matplotlib  # matplotlib (its fonts), only when text is measured

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"


@lru_cache(maxsize=2)
def _font(bold: bool):  # type: ignore[no-untyped-def]
    from matplotlib import ft2font  # matplotlib (its fonts), only when text is measured

    regular, heavy = font_files()
    font = ft2font.FT2Font(str(heavy if bold else regular))
    font.set_size(100, 72)
    return font


#: width in em of a character DejaVu Sans lacks: about the font's average advance, and a full
#: em for East Asian wide characters (CJK, most emoji), which are square
NARROW_FALLBACK = 0.6
WIDE_FALLBACK = 1.0


@lru_cache(maxsize=4096)
def _advance(ch: str, bold: bool) -> float:
    """Advance width of one character at 1 pt (combining marks take no room)."""
    if unicodedata.combining(ch):
        return 0.0
    font = _font(bold)
    if font.get_char_index(ord(ch)) == 0:
        return fallback_advance(ch)
    try:
        glyph = font.load_char(ord(ch))
    except RuntimeError:  # a glyph the font lists but cannot load
        return fallback_advance(ch)
    return float(glyph.linearHoriAdvance) / 65536.0 / 100.0


def fallback_advance(ch: str) -> float:
    """The width of a character missing from the font: the writers show it in another font or
    as a box, so only its room matters; marks and invisible format characters take none."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return WIDE_FALLBACK
    return NARROW_FALLBACK


def text_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Width in points of one line of text."""
    return sum(_advance(ch, bold) for ch in text) * size
