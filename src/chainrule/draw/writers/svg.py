"""SVG: boxes, curves and text drawn from the layout, every label escaped as XML text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..colours import STROKES, TEXT, fill_of
from ..layout import Layout, Point, line_size, lines_size, text_rows
from ..measure import FONT_FAMILY, TITLE_SIZE
from ..model import Drawing, Line, arrow_category, box_category

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\"'\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FONT_STACK = f"'{FONT_FAMILY}', Verdana, Arial, sans-serif"


def svg_escape(text: str) -> str:
    """Text as XML character data or attribute value: markup characters become entities and
    characters XML forbids are dropped."""
    if _SPECIAL.search(text) is None:  # most labels: nothing to replace
        return text
    text = _CONTROL.sub("", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _n(v: float) -> str:
    text = f"{v:.2f}"
    return text.rstrip("0").rstrip(".") if text[-1] == "0" else text


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
    written = {cx: _n(cx)}  # the lines share their centre and a few font sizes
    for line, (x, y) in zip(lines, text_rows(lines, cx, cy, in_box), strict=True):
        weight = ' font-weight="bold"' if line.role == "title" and in_box else ""
        size = line_size(line, in_box)
        xs = written.get(x) or _n(x)
        sizes = written.get(size) or written.setdefault(size, _n(size))
        out.append(
            f'<text x="{xs}" y="{_n(y)}" font-size="{sizes}" '
            f'fill="{TEXT.get(line.role, "#000")}"{weight}>{svg_escape(line.text)}</text>'
        )
    return out


@dataclass
class SvgParts:
    """The SVG document in the pieces it is made of, each one or more lines: ``edges[k]`` is
    arrow k's element, ``labels[k]`` its label's (None without one), ``nodes[k]`` box k's
    (None where the layout has no place for it); the document is every piece in order, one
    line apart. The explorer keeps elements aside from these, without reading the text back."""

    head: list[str]
    edges: list[str]
    labels: list[str | None]
    nodes: list[str | None]
    tail: list[str]

    def pieces(self) -> Iterator[str]:
        yield from self.head
        yield from self.edges
        yield "</g>"
        yield '<g class="edge-labels">'
        yield from (p for p in self.labels if p is not None)
        yield "</g>"
        yield '<g class="nodes">'
        yield from (p for p in self.nodes if p is not None)
        yield from self.tail

    def text(self) -> str:
        return "\n".join(self.pieces()) + "\n"


def write_svg(drawing: Drawing, lay: Layout) -> str:
    return svg_parts(drawing, lay).text()


def svg_parts(drawing: Drawing, lay: Layout) -> SvgParts:
    """``write_svg``'s document, in its pieces (``SvgParts``)."""
    w, h = lay.width, lay.height
    head = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(w)}" height="{_n(h)}" '
        f'viewBox="0 0 {_n(w)} {_n(h)}" font-family="{svg_escape(FONT_STACK)}" '
        'text-anchor="middle">',
        f"<title>{svg_escape(drawing.title or 'chainrule drawing')}</title>",
        f'<rect x="0" y="0" width="{_n(w)}" height="{_n(h)}" fill="white"/>',
    ]
    for row, (x, y) in lay.title_rows:
        head.append(
            f'<text class="title" x="{_n(x)}" y="{_n(y)}" font-size="{_n(TITLE_SIZE)}" '
            f'font-weight="bold" fill="#222">{svg_escape(row)}</text>'
        )
    head.append('<g class="edges">')
    edges: list[str] = []
    for k, (arrow, shape) in enumerate(zip(drawing.arrows, lay.edges, strict=True)):
        category = arrow_category(arrow)
        colour = STROKES.get(category, "#333")
        dash = ' stroke-dasharray="4,3"' if category == "faint" else ""
        out = [
            f'<g class="edge {category}" data-i="{k}">',
            f"<title>{svg_escape(arrow.tooltip)}</title>",
        ]
        if shape.curves:
            out.append(
                f'<path d="{_path(shape.curves)}" fill="none" stroke="{colour}" '
                f'stroke-width="1.3"{dash}/>'
            )
        for head_points in shape.heads:
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in head_points)
            out.append(f'<polygon points="{pts}" fill="{colour}" stroke="{colour}"/>')
        out.append("</g>")
        edges.append("\n".join(out))
    labels: list[str | None] = []
    for k, (arrow, shape) in enumerate(zip(drawing.arrows, lay.edges, strict=True)):
        if not arrow.lines or shape.label_at is None:
            labels.append(None)
            continue
        cx, cy = shape.label_at
        lw, lh = lines_size(arrow.lines, in_box=False)
        out = [
            f'<g class="edge-label" data-i="{k}">',
            f'<rect x="{_n(cx - lw / 2 - 3)}" y="{_n(cy - lh / 2 - 2)}" width="{_n(lw + 6)}" '
            f'height="{_n(lh + 4)}" fill="white" rx="3"/>',
        ]
        out.extend(_text(arrow.lines, cx, cy, in_box=False))
        out.append("</g>")
        labels.append("\n".join(out))
    nodes: list[str | None] = []
    for box in drawing.boxes:
        p = lay.boxes.get(box.id)
        if p is None:
            nodes.append(None)
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
        out = [
            f'<g class="node {category}" id="{svg_escape(box.id)}">',
            f"<title>{svg_escape(box.tooltip or box.title)}</title>",
            f'<rect x="{_n(p.x - p.w / 2)}" y="{_n(p.y - p.h / 2)}" width="{_n(p.w)}" '
            f'height="{_n(p.h)}" rx="7" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width}"{dash}/>',
        ]
        out.extend(_text(box.lines, p.x, p.y, in_box=True))
        out.append("</g>")
        nodes.append("\n".join(out))
    tail = ["</g>"]
    if lay.legend_at is not None:
        cx, cy = lay.legend_at
        tail.extend(_text(drawing.legend, cx, cy, in_box=False))
    tail.append("</svg>")
    return SvgParts(head, edges, labels, nodes, tail)
