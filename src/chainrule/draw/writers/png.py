"""PNG: the SVG rasterised by resvg with the DejaVu Sans files the layout was measured with."""

from __future__ import annotations

import math
import re

from ...errors import ChainruleError
from ..measure import font_files

MAX_SIDE = 16_000  # pixels
MAX_PIXELS = 60_000_000


def fitted_scale(svg: str, scale: float) -> float:
    """The scale, lowered when the picture would be too big to rasterise in memory."""
    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"', svg)
    if not m:
        return scale
    w, h = float(m.group(1)), float(m.group(2))
    if w <= 0 or h <= 0:
        return scale
    return min(scale, MAX_SIDE / max(w, h), math.sqrt(MAX_PIXELS / (w * h)))


def svg_to_png(svg: str, scale: float = 2.0) -> bytes:
    """PNG bytes of an SVG; ``scale`` 2 gives crisp text when printed."""
    try:
        import resvg_py
    except ImportError as exc:
        raise ChainruleError("PNG output needs resvg-py (pip install resvg-py)") from exc
    if not 0.1 <= scale <= 8:
        raise ChainruleError(f"scale {scale}: use a number from 0.1 to 8")
    scale = fitted_scale(svg, scale)
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
