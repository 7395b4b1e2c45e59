"""PNG: the SVG rasterised by resvg with the DejaVu Sans files the layout was measured with."""

from __future__ import annotations

from ...errors import ChainruleError
from ..measure import font_files


def svg_to_png(svg: str, scale: float = 2.0) -> bytes:
    """PNG bytes of an SVG; ``scale`` 2 gives crisp text when printed."""
    try:
        import resvg_py
    except ImportError as exc:
        raise ChainruleError("PNG output needs resvg-py (pip install resvg-py)") from exc
    if not 0.1 <= scale <= 8:
        raise ChainruleError(f"scale {scale}: use a number from 0.1 to 8")
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
