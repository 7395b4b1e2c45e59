"""Arrows as the layout engine gives them back, made ready to draw: a labelled arrow's two
halves joined through its label, and every arrow's ends brought from the room kept round a box
(see ``layout.BOX_CLEAR``) onto the box itself."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass
class EdgeShape:
    curves: list[list[Point]] = field(default_factory=list)  # cubic Bézier point lists
    heads: list[list[Point]] = field(default_factory=list)  # arrowhead polygons
    label_at: Point | None = None


def edge_shapes(
    data: dict,  # type: ignore[type-arg]
    count: int,
    flip: Callable[[list[float] | tuple[float, float]], Point],
) -> list[EdgeShape]:
    """Each arrow's curve, arrowheads and label centre from the engine's answer. A labelled
    arrow came back as two edges, into its label (``e<k>``) and out of it (``f<k>``): they are
    joined by a straight piece through the label, so the arrow is one line from box to box and
    its label sits on it."""
    edges = [EdgeShape() for _ in range(count)]
    halves: dict[int, dict[str, list[list[Point]]]] = {}
    for e in data.get("edges", []):
        name = str(e.get("id", ""))
        k = int(name[1:]) if name[:1] in ("e", "f") and name[1:].isdigit() else -1
        if not 0 <= k < count:
            continue
        shape = edges[k]
        for op in e.get("_draw_", []):
            if op["op"] in ("b", "B"):
                halves.setdefault(k, {}).setdefault(name[0], []).append(
                    [flip(p) for p in op["points"]]
                )
        for key in ("_hdraw_", "_tdraw_"):
            for op in e.get(key, []):
                if op["op"] in ("P", "p"):
                    shape.heads.append([flip(p) for p in op["points"]])
        if "lp" in e:
            shape.label_at = flip([float(v) for v in e["lp"].split(",")])
    for k, parts in sorted(halves.items()):
        into, out = parts.get("e", []), parts.get("f", [])
        if into and out:
            (ax, ay), (bx, by) = into[-1][-1], out[0][0]
            through = [(ax + (bx - ax) * t / 3, ay + (by - ay) * t / 3) for t in (1, 2)]
            into, out = into[:-1] + [[*into[-1], *through, *out[0]]], out[1:]
        edges[k].curves = into + out
    for obj in data.get("objects", []):
        name = str(obj.get("name", ""))
        k = int(name[1:]) if name[:1] == "l" and name[1:].isdigit() else -1
        if 0 <= k < count and "pos" in obj:
            edges[k].label_at = flip([float(v) for v in obj["pos"].split(",")])
    return edges


def reach_boxes(shape: EdgeShape, boxes: list[Rect]) -> None:
    """Carry each end of an arrow from where the engine stopped it, on the room kept round a
    box, onto the box it joins (the nearer of ``boxes``) with a short straight piece; an
    arrowhead there moves with its end. Other arrows were kept out of that room, so none runs
    along a box it does not join."""
    if not shape.curves or not boxes:
        return
    for at_start in (True, False):
        curve = shape.curves[0] if at_start else shape.curves[-1]
        end = curve[0] if at_start else curve[-1]
        other = shape.curves[-1][-1] if at_start else shape.curves[0][0]
        head = min(shape.heads, key=lambda h: _gap(h, end), default=None)
        if head is not None and _gap(head, end) >= _gap(head, other):
            head = None  # the arrowhead is at the other end
        if head is not None:  # the tip goes on, the way the arrowhead points
            tip = max(head, key=lambda p: math.dist(p, end))
            way = (tip[0] - end[0], tip[1] - end[1])
        else:  # the curve goes on, the way it leaves its last piece
            tip = end
            before = next((p for p in (curve[1:] if at_start else curve[-2::-1]) if p != end), end)
            way = (end[0] - before[0], end[1] - before[1])
        dx, dy = _onto(tip, way, _near(tip, boxes))
        if dx == 0 and dy == 0:
            continue
        if head is not None:
            head[:] = [(x + dx, y + dy) for x, y in head]
        far = (end[0] + dx, end[1] + dy)
        piece = [far, _lerp(far, end, 1 / 3), _lerp(far, end, 2 / 3), end]
        if at_start:
            curve[:0] = piece[:-1]
        else:
            curve.extend(piece[::-1][1:])


def _onto(p: Point, way: Point, box: Rect) -> Point:
    """The move that takes ``p`` along ``way`` onto ``box`` (straight onto the nearest point of
    the box when that line misses it or would go far)."""
    clamp = min(max(p[0], box[0]), box[2]) - p[0], min(max(p[1], box[1]), box[3]) - p[1]
    if clamp == (0.0, 0.0):
        return clamp
    length = math.hypot(*way)
    if length == 0:
        return clamp
    u = (way[0] / length, way[1] / length)
    lo, hi = 0.0, math.inf
    for axis in (0, 1):
        a, b = box[axis] - p[axis], box[axis + 2] - p[axis]
        if u[axis] == 0:
            if not a <= 0 <= b:
                return clamp
            continue
        t1, t2 = sorted((a / u[axis], b / u[axis]))
        lo, hi = max(lo, t1), min(hi, t2)
    if lo > hi or lo > 3 * math.hypot(*clamp):
        return clamp
    return u[0] * lo, u[1] * lo


def _gap(poly: list[Point], p: Point) -> float:
    return min(math.dist(q, p) for q in poly)


def _near(p: Point, boxes: list[Rect]) -> Rect:
    """The box nearest to ``p``."""

    def d(r: Rect) -> float:
        return math.hypot(max(r[0] - p[0], 0, p[0] - r[2]), max(r[1] - p[1], 0, p[1] - r[3]))

    return min(boxes, key=d)


def _lerp(a: Point, b: Point, t: float) -> Point:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
