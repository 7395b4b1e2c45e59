"""Text widths in DejaVu Sans (shipped with matplotlib), so boxes fit their text exactly.

The widths are read from the font file's own tables (``FontMetrics``): matplotlib is not
imported to measure a label.

The layout engine only estimates widths of non-ASCII text; we measure every label ourselves
with the very font the SVG, PNG and PDF writers use. Characters the font lacks (CJK, emoji …)
get a fallback width, so every identifier can be drawn."""

from __future__ import annotations

import importlib.util
import struct
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
    """The regular and bold DejaVu Sans files that matplotlib ships, found without importing
    matplotlib (a fifth of a second that a drawing does not otherwise need)."""
    spec = importlib.util.find_spec("matplotlib")
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    for place in places:
        base = Path(place) / "mpl-data" / "fonts" / "ttf"
        if (base / "DejaVuSans.ttf").is_file():
            return base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"
    import matplotlib  # an installation laid out otherwise: ask matplotlib itself

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"


class FontMetrics:
    """A TrueType font's advance widths and character map, read from its ``head``, ``hhea``,
    ``hmtx`` and ``cmap`` tables: the numbers FreeType's unhinted ``linearHoriAdvance`` gives
    (tests/test_draw_glyphs.py compares every character with matplotlib's FreeType), without
    loading FreeType through matplotlib."""

    def __init__(self, data: bytes) -> None:
        count = struct.unpack_from(">H", data, 4)[0]
        tables: dict[str, int] = {}
        for k in range(count):
            tag, _, offset, _ = struct.unpack_from(">4sLLL", data, 12 + 16 * k)
            tables[tag.decode("latin-1")] = offset
        self.units_per_em = struct.unpack_from(">H", data, tables["head"] + 18)[0]
        metrics = struct.unpack_from(">H", data, tables["hhea"] + 34)[0]
        # hmtx: (advance, left side bearing) pairs; glyphs past the last pair share its advance
        self.advances = struct.unpack_from(f">{2 * metrics}H", data, tables["hmtx"])[::2]
        self.glyphs = _character_map(data, tables["cmap"])

    def advance(self, code: int) -> float | None:
        """The advance of a character in em, or None when the font has no glyph for it."""
        glyph = self.glyphs.get(code, 0)
        if glyph == 0:
            return None
        return self.advances[min(glyph, len(self.advances) - 1)] / self.units_per_em


def _character_map(data: bytes, cmap: int) -> dict[int, int]:
    """Character → glyph from the Unicode subtable FreeType picks (full repertoire first)."""
    count = struct.unpack_from(">H", data, cmap + 2)[0]
    subtables = {}
    for k in range(count):
        platform, encoding, offset = struct.unpack_from(">HHL", data, cmap + 4 + 8 * k)
        subtables[(platform, encoding)] = cmap + offset
    for key in ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3)):
        at = subtables.get(key)
        if at is None:
            continue
        fmt = struct.unpack_from(">H", data, at)[0]
        if fmt == 12:
            return _format_12(data, at)
        if fmt == 4:
            return _format_4(data, at)
    return {}


def _format_12(data: bytes, at: int) -> dict[int, int]:
    glyphs = {}
    for k in range(struct.unpack_from(">L", data, at + 12)[0]):
        first, last, glyph = struct.unpack_from(">LLL", data, at + 16 + 12 * k)
        for code in range(first, last + 1):
            glyphs[code] = glyph + code - first
    return glyphs


def _format_4(data: bytes, at: int) -> dict[int, int]:
    twice = struct.unpack_from(">H", data, at + 6)[0]
    n = twice // 2
    ends = struct.unpack_from(f">{n}H", data, at + 14)
    starts = struct.unpack_from(f">{n}H", data, at + 16 + twice)
    deltas = struct.unpack_from(f">{n}h", data, at + 16 + 2 * twice)
    ranges_at = at + 16 + 3 * twice
    ranges = struct.unpack_from(f">{n}H", data, ranges_at)
    glyphs = {}
    for i in range(n):
        for code in range(starts[i], min(ends[i], 0xFFFE) + 1):
            if ranges[i] == 0:
                glyph = (code + deltas[i]) & 0xFFFF
            else:
                where = ranges_at + 2 * i + ranges[i] + 2 * (code - starts[i])
                glyph = struct.unpack_from(">H", data, where)[0]
                glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            if glyph:
                glyphs[code] = glyph
    return glyphs


@lru_cache(maxsize=2)
def _font(bold: bool) -> FontMetrics:
    regular, heavy = font_files()
    return FontMetrics((heavy if bold else regular).read_bytes())


#: width in em of a character DejaVu Sans lacks: about the font's average advance, and a full
#: em for East Asian wide characters (CJK, most emoji), which are square
NARROW_FALLBACK = 0.6
WIDE_FALLBACK = 1.0


@lru_cache(maxsize=4096)
def _advance(ch: str, bold: bool) -> float:
    """Advance width of one character at 1 pt (combining marks take no room)."""
    if unicodedata.combining(ch):
        return 0.0
    width = _font(bold).advance(ord(ch))
    return fallback_advance(ch) if width is None else width


def fallback_advance(ch: str) -> float:
    """The width of a character missing from the font: the writers show it in another font or
    as a box, so only its room matters; marks and invisible format characters take none."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return WIDE_FALLBACK
    return NARROW_FALLBACK


@lru_cache(maxsize=1 << 17)
def text_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Width in points of one line of text (remembered: a box's lines are measured for its
    size, again where the writers place them, and many numbers recur)."""
    return sum(_advance(ch, bold) for ch in text) * size
