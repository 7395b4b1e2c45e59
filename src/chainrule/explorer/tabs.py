"""Where an open group's ⊟ tab goes: above its output's box, clear of every arrow.

The tab sits in the gap above the box, where the arrows leaving (or reaching) that box run: put
at the box's left edge, as it first was, the arrow into the box's top went through it. Here the
tab slides along the gap to the nearest place that no arrow crosses and no box or arrow label
covers, computed once from draw's layout (the page moves tabs only along the rank axis, and
stretches arrows the same way, so what is clear here stays clear)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..draw.layout import Layout, Point, lines_size
from ..draw.measure import text_width

TAB_H = 20.0  # the tab's height (the page draws it 20 units tall, 12-unit text)
TAB_ABOVE = 28.0  # from the tab's top to its box's top
TAB_FONT = 12.0
CLEAR = 4.0  # room kept between a tab and an arrow, a box or a label
ROW = 32.0  # the height of a bucket of arrow points (a tab spans at most two)
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


def tab_width(name: str) -> float:
    """The width the page draws the tab ``⊟ name`` with: its text and 6 units each side."""
    label = "⊟ " + name
    return max(text_width(label, TAB_FONT), len(label) * TAB_FONT * 0.6) + 12


def tab_places(
    lay: Layout, lids: Sequence[Sequence[float] | None], names: Sequence[str], labels: Any
) -> list[list[float] | None]:
    """[x, y, w, h] of each group's tab (None where its group has no box in this drawing).
    ``lids`` are the output boxes (x, y, w, h), ``labels`` the arrows' label rectangles."""
    points = _Points(lay.edges)
    blocks: list[Rect] = [
        (p.x - p.w / 2, p.y - p.h / 2, p.x + p.w / 2, p.y + p.h / 2) for p in lay.boxes.values()
    ]
    blocks += [(r[0], r[1], r[0] + r[2], r[1] + r[3]) for r in labels]
    out: list[list[float] | None] = []
    for lid, name in zip(lids, names, strict=True):
        if lid is None:
            out.append(None)
            continue
        x, y, w, _ = lid
        tw = tab_width(name)
        o, top = next(
            (
                (o, top)
                for o, top, beside in _candidates(x, y, w, tw, points, blocks)
                if 0 <= o
                and o + tw <= lay.width
                and 0 <= top  # inside the picture
                # clear of every arrow from the tab's top down to the box (the page may move
                # the tab down that far, and stretches arrows along the same axis)
                and not points.inside((o, top, o + tw, max(top + TAB_H, y)), CLEAR)
                # above the box, the page moves the tab off a box or label it covers; beside
                # the box, it must find its place clear of them
                and not (beside and _covered((o, top, o + tw, top + TAB_H), blocks))
            ),
            (x - 6, y - TAB_ABOVE, False),  # nowhere clear: where the page first drew it
        )[:2]
        blocks.append((o, top, o + tw, top + TAB_H))  # the next tabs keep clear too
        out.append([round(o, 2), round(top, 2), round(tw, 2), TAB_H])
    return out


def _candidates(
    x: float, y: float, w: float, tw: float, points: _Points, blocks: list[Rect]
) -> Iterator[tuple[float, float, bool]]:
    """Places for a tab (left, top, beside the box?), best first: above the box and over it
    (its left edge, its right edge, either side of an arrow there); beside the box's top, right
    then left; then anywhere along the gap above it, nearest first."""
    top = y - TAB_ABOVE
    first = x - 6  # left-aligned with the box's halo, as the page first drew it
    crossing = points.xs(top - CLEAR, y)
    slides = [first, x + w + 6 - tw]
    slides += [c + CLEAR + 1 for c in crossing] + [c - CLEAR - 1 - tw for c in crossing]
    slides.sort(key=lambda o: (abs(o - first), o))
    yield from ((o, top, False) for o in slides if x - tw < o < x + w)
    yield x + w + 6 + CLEAR, y, True
    yield x - 6 - CLEAR - tw, y, True
    yield from ((o, top, False) for o in slides)


def _covered(rect: Rect, blocks: Iterable[Rect]) -> bool:
    x0, y0, x1, y1 = rect
    return any(
        x0 < b[2] + CLEAR and b[0] - CLEAR < x1 and y0 < b[3] + CLEAR and b[1] - CLEAR < y1
        for b in blocks
    )


class _Points:
    """Points along every arrow (curves and heads, at most 3 units apart), bucketed by height."""

    def __init__(self, edges: Iterable[Any]) -> None:
        self.rows: dict[int, list[Point]] = {}
        for shape in edges:
            for curve in shape.curves:
                for i in range(0, len(curve) - 3, 3):
                    self._add(_bezier(curve[i], curve[i + 1], curve[i + 2], curve[i + 3]))
            for head in shape.heads:
                self._add(head)

    def _add(self, pts: Iterable[Point]) -> None:
        for p in pts:
            self.rows.setdefault(math.floor(p[1] / ROW), []).append(p)

    def _near(self, y0: float, y1: float) -> Iterable[Point]:
        for row in range(math.floor(y0 / ROW), math.floor(y1 / ROW) + 1):
            yield from self.rows.get(row, ())

    def xs(self, y0: float, y1: float) -> list[float]:
        """Where arrows run across the band between heights y0 and y1."""
        return sorted({round(x, 1) for x, y in self._near(y0, y1) if y0 <= y <= y1})

    def inside(self, rect: Rect, clear: float) -> bool:
        x0, y0, x1, y1 = rect
        return any(
            x0 - clear < x < x1 + clear and y0 - clear < y < y1 + clear
            for x, y in self._near(y0 - clear, y1 + clear)
        )


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point) -> list[Point]:
    """Points of one cubic piece, at most about 3 units apart."""
    length = math.dist(p0, p1) + math.dist(p1, p2) + math.dist(p2, p3)
    n = max(2, math.ceil(length / 3))
    out = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        out.append(
            (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )
        )
    return out


def label_rects(drawing: Any, lay: Layout) -> list[tuple[float, float, float, float]]:
    """Each arrow label's rectangle (x, y, w, h) as the SVG writer draws it."""
    out = []
    for arrow, shape in zip(drawing.arrows, lay.edges, strict=True):
        if arrow.lines and shape.label_at is not None:
            w, h = lines_size(arrow.lines, in_box=False)
            cx, cy = shape.label_at
            out.append((cx - w / 2 - 3, cy - h / 2 - 2, w + 6, h + 4))
    return out
