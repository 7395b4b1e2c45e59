"""Sizes past which a drawing format is refused rather than written badly or slowly.

Each limit is where a format stops being readable or possible: a PNG whose text would be
smaller than a few pixels, a PDF slower than about ten seconds to write or whose text, scaled
to fit the largest page PDF allows, could not be read zoomed in, a TikZ picture past TeX's
largest dimension. Past a
limit, chainrule names it and suggests SVG or HTML (no size limit: zoom in the browser) or
fewer boxes."""

from __future__ import annotations

from ..core.errors import ChainruleError

MAX_PNG_SIDE = 16_000  # pixels
MAX_PNG_PIXELS = 60_000_000
MIN_PNG_SCALE = 0.4  # below this, 14 pt text is under 8 pixels tall: unreadable
PNG_PIXEL_BUDGET = 4_000_000  # pixels a PNG is drawn at scale 2 within, before going lower
READABLE_PNG_SCALE = 0.75  # where a big PNG stops shrinking for the budget: 14 pt text 10 px tall
MAX_PDF_BOXES = 2_000  # about ten seconds of matplotlib on a small machine
MAX_PDF_SIDE = 14_400  # points (200 inches): the largest page the PDF specification allows
MIN_PDF_SCALE = 0.1  # a bigger drawing is scaled down to fit the page, but not below this
MAX_TEX_SIDE = 16_000  # points: TeX's largest dimension is 16,383.99 pt

ADVICE = (
    "write SVG or HTML instead (-o graph.svg), or draw fewer boxes "
    "(--collapse NAME, --paths-from NAME)"
)


class DrawingTooLarge(ChainruleError):
    """A drawing past the size a format can hold or write in reasonable time."""


def check_boxes(count: int, limit: int, fmt: str) -> None:
    if count > limit:
        raise DrawingTooLarge(
            f"a {fmt} of {count:,} boxes is refused: the limit is {limit:,} boxes; {ADVICE}"
        )


def check_side(width: float, height: float, limit: float, fmt: str, unit: str) -> None:
    if max(width, height) > limit:
        raise DrawingTooLarge(
            f"a {fmt} of this drawing would be {width:,.0f} × {height:,.0f} {unit}; "
            f"the limit is {limit:,.0f} {unit} a side; {ADVICE}"
        )
