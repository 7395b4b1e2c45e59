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
    return {"graph.svg": encode(drawing, ".svg"), "graph.png": encode(drawing, ".png")}
