"""PNG: the SVG rasterised by resvg with the DejaVu Sans files the layout was measured with.

The picture is rasterised at the size it needs: scale 2 (crisp when printed) while that stays
within ``PNG_PIXEL_BUDGET`` pixels, lower for a big drawing down to ``READABLE_PNG_SCALE`` (text
at its size on a screen), since resvg's time and the file grow with every pixel, most of them
white around the boxes of a big drawing. The scale is lowered further only to keep the picture
within ``MAX_PNG_SIDE`` pixels a side and ``MAX_PNG_PIXELS`` in all; a drawing that would need a
scale below ``MIN_PNG_SCALE`` (text a few pixels tall) is refused with a ``DrawingTooLarge``
that suggests SVG."""

from __future__ import annotations

import math
import re

from ...core.errors import ChainruleError
from ..limits import (
    ADVICE,
    MAX_PNG_PIXELS,
    MAX_PNG_SIDE,
    MIN_PNG_SCALE,
    PNG_PIXEL_BUDGET,
    READABLE_PNG_SCALE,
    DrawingTooLarge,
)
from ..measure import font_files

MAX_SIDE = MAX_PNG_SIDE
MAX_PIXELS = MAX_PNG_PIXELS


def fitted_scale(svg: str, scale: float) -> float:
    """The scale, lowered when the picture would be too big to rasterise in memory."""
    w, h = _size(svg)
    if w <= 0 or h <= 0:
        return scale
    return min(scale, MAX_SIDE / max(w, h), math.sqrt(MAX_PIXELS / (w * h)))


def needed_scale(svg: str, scale: float) -> float:
    """The scale a picture needs: ``scale`` while it stays within ``PNG_PIXEL_BUDGET``
    pixels, else the scale that fills the budget, but never below ``READABLE_PNG_SCALE``
    (nor above ``scale``)."""
    w, h = _size(svg)
    if w <= 0 or h <= 0 or w * h * scale * scale <= PNG_PIXEL_BUDGET:
        return scale
    return min(scale, max(READABLE_PNG_SCALE, math.sqrt(PNG_PIXEL_BUDGET / (w * h))))


def _size(svg: str) -> tuple[float, float]:
    """The width and height an SVG declares (0, 0 when it declares none)."""
    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"', svg)
    return (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)


def svg_to_png(
    svg: str, scale: float = 2.0, *, min_scale: float = MIN_PNG_SCALE, fit: bool = True
) -> bytes:
    """PNG bytes of an SVG; ``scale`` 2 gives crisp text when printed, and a big picture is
    rasterised at the scale it needs (``needed_scale``; ``fit=False`` keeps ``scale``). A
    picture that would have to shrink below ``min_scale`` to fit the pixel limits is refused."""
    try:
        import resvg_py  # resvg-py is optional: only PNG needs it
    except ImportError as exc:
        raise ChainruleError("PNG output needs resvg-py (pip install resvg-py)") from exc
    if not 0.1 <= scale <= 8:
        raise ChainruleError(f"scale {scale}: use a number from 0.1 to 8")
    wanted = scale
    if fit:
        scale = needed_scale(svg, scale)
    scale = fitted_scale(svg, scale)
    if scale < min(min_scale, wanted):
        w, h = _size(svg)
        raise DrawingTooLarge(
            f"a PNG of this drawing ({w:,.0f} × {h:,.0f} pt) would have to shrink to scale "
            f"{scale:.2g} to stay within {MAX_SIDE:,} pixels a side and {MAX_PIXELS:,} pixels; "
            f"below scale {min_scale:g} its text cannot be read; {ADVICE}"
        )
    regular, bold = font_files()
    data = resvg_py.svg_to_bytes(
        svg_string=svg,
        dpi=96,
        zoom=scale,
        background="white",
        font_files=[str(regular), str(bold)],
        font_family="DejaVu Sans",
        sans_serif_family="DejaVu Sans",
        skip_system_fonts=True,
    )
    return bytes(data)
