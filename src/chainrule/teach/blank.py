"""The forward graph without its numbers, for a worksheet: students write the values on it.

Built from the drawing package's forward view: every line that shows a value is dropped, and
so are the tooltips (they hold the values too); names, operations and constants stay."""

from __future__ import annotations

from ..core.graph import Graph

TITLE = "The graph: write the value of every node"
WRITE_HERE = "= ______"  # a value's line, left for the student


def blank_drawing(graph: Graph) -> dict[str, bytes]:
    """``{"graph.svg": …, "graph.png": …}``, or an empty dict when the drawing package is not
    available."""
    try:
        from ..draw.model import Line  # optional: sheets without drawings
        from ..draw.render import encode  # optional: sheets without drawings
        from ..draw.views import build  # optional: sheets without drawings
    except ImportError:
        return {}
    drawing = build(graph, "forward")
    for box in drawing.boxes:
        box.lines = [
            Line(WRITE_HERE, "value") if line.role == "value" else line for line in box.lines
        ]
        box.tooltip = ""
    drawing.title = TITLE
    drawing.legend = []
    svg = encode(drawing, ".svg")
    return {"graph.svg": svg, "graph.png": _png(svg)}


_PNGS: dict[bytes, bytes] = {}  # a class's variants share one structure: one blank picture


def _png(svg: bytes) -> bytes:
    """The PNG of a blank drawing's SVG (rasterised once for every variant that draws the same
    graph: a class of 200 spent 14 s rasterising the same picture)."""
    png = _PNGS.get(svg)
    if png is None:
        from ..draw.writers.png import svg_to_png  # optional, as above

        if len(_PNGS) >= 8:
            _PNGS.clear()
        png = _PNGS[svg] = svg_to_png(svg.decode("utf-8"))
    return png
