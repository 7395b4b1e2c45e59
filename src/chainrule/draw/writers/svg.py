"""SVG: boxes, curves and text drawn from the layout, every label escaped as XML text."""

from __future__ import annotations

import re

from ..colours import STROKES, TEXT, fill_of
from ..layout import Layout, Point, line_size, lines_size, text_rows
from ..measure import FONT_FAMILY, TITLE_SIZE
from ..model import Drawing, Line, arrow_category, box_category

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FONT_STACK = f"'{FONT_FAMILY}', Verdana, Arial, sans-serif"


def svg_escape(text: str) -> str:
    """Text as XML character data or attribute value: markup characters become entities and
    characters XML forbids are dropped."""
    text = _CONTROL.sub("", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _path(curves: list[list[Point]]) -> str:
    parts = []
    for c in curves:
        parts.append(f"M{_n(c[0][0])},{_n(c[0][1])}")
        for i in range(1, len(c) - 2, 3):
            (x1, y1), (x2, y2), (x3, y3) = c[i], c[i + 1], c[i + 2]
            parts.append(f"C{_n(x1)},{_n(y1)} {_n(x2)},{_n(y2)} {_n(x3)},{_n(y3)}")
    return " ".join(parts)


def _text(lines: list[Line], cx: float, cy: float, in_box: bool) -> list[str]:
    out = []
    for line, (x, y) in zip(lines, text_rows(lines, cx, cy, in_box), strict=True):
        weight = ' font-weight="bold"' if line.role == "title" and in_box else ""
        out.append(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(line_size(line, in_box))}" '
            f'fill="{TEXT.get(line.role, "#000")}"{weight}>{svg_escape(line.text)}</text>'
        )
    return out


def write_svg(drawing: Drawing, lay: Layout) -> str:
    w, h = lay.width, lay.height
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(w)}" height="{_n(h)}" '
        f'viewBox="0 0 {_n(w)} {_n(h)}" font-family="{svg_escape(FONT_STACK)}" '
        'text-anchor="middle">',
        f"<title>{svg_escape(drawing.title or 'chainrule drawing')}</title>",
        f'<rect x="0" y="0" width="{_n(w)}" height="{_n(h)}" fill="white"/>',
    ]
    for row, (x, y) in lay.title_rows:
        out.append(
            f'<text class="title" x="{_n(x)}" y="{_n(y)}" font-size="{_n(TITLE_SIZE)}" '
            f'font-weight="bold" fill="#222">{svg_escape(row)}</text>'
        )
    out.append('<g class="edges">')
    for k, (arrow, shape) in enumerate(zip(drawing.arrows, lay.edges, strict=True)):
        category = arrow_category(arrow)
        colour = STROKES.get(category, "#333")
        dash = ' stroke-dasharray="4,3"' if category == "faint" else ""
        out.append(f'<g class="edge {category}" data-i="{k}">')
        out.append(f"<title>{svg_escape(arrow.tooltip)}</title>")
        if shape.curves:
            out.append(
                f'<path d="{_path(shape.curves)}" fill="none" stroke="{colour}" '
                f'stroke-width="1.3"{dash}/>'
            )
        for head in shape.heads:
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in head)
            out.append(f'<polygon points="{pts}" fill="{colour}" stroke="{colour}"/>')
        out.append("</g>")
    out.append("</g>")
    out.append('<g class="edge-labels">')
    for k, (arrow, shape) in enumerate(zip(drawing.arrows, lay.edges, strict=True)):
        if not arrow.lines or shape.label_at is None:
            continue
        cx, cy = shape.label_at
        lw, lh = lines_size(arrow.lines, in_box=False)
        out.append(f'<g class="edge-label" data-i="{k}">')
        out.append(
            f'<rect x="{_n(cx - lw / 2 - 3)}" y="{_n(cy - lh / 2 - 2)}" width="{_n(lw + 6)}" '
            f'height="{_n(lh + 4)}" fill="white" rx="3"/>'
        )
        out.extend(_text(arrow.lines, cx, cy, in_box=False))
        out.append("</g>")
    out.append("</g>")
    out.append('<g class="nodes">')
    for box in drawing.boxes:
        p = lay.boxes.get(box.id)
        if p is None:
            continue
        fill = fill_of(box)
        category = box_category(box)
        stroke, width, dash = "#333", "1.2", ""
        if category == "output":
            width = "2.4"
        elif category == "result":
            stroke, width = STROKES["gradient"], "2.4"
        elif category == "const":
            stroke, dash = "#888", ' stroke-dasharray="4,3"'
        elif category == "group":
            width, dash = "2", ' stroke-dasharray="7,3"'
        out.append(f'<g class="node {category}" id="{svg_escape(box.id)}">')
        out.append(f"<title>{svg_escape(box.tooltip or box.title)}</title>")
        out.append(
            f'<rect x="{_n(p.x - p.w / 2)}" y="{_n(p.y - p.h / 2)}" width="{_n(p.w)}" '
            f'height="{_n(p.h)}" rx="7" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width}"{dash}/>'
        )
        out.extend(_text(box.lines, p.x, p.y, in_box=True))
        out.append("</g>")
    out.append("</g>")
    if lay.legend_at is not None:
        cx, cy = lay.legend_at
        out.extend(_text(drawing.legend, cx, cy, in_box=False))
    out.append("</svg>")
    return "\n".join(out) + "\n"
