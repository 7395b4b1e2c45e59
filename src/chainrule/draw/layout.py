"""Where everything goes: sizes measured in DejaVu Sans, positions from Graphviz's dot layout.

Graphviz lays out boxes of the exact sizes we measured (their labels are left empty), and gives
back positions, edge curves, arrowheads and label centres. The SVG, PNG, PDF and TikZ writers all
draw from this one ``Layout``; the layout engine never sees a label, so it needs no escaping."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import ChainruleError
from .measure import FONT_SIZE, LINE_GAP, SMALL_SIZE, text_width
from .model import Arrow, Box, Drawing, Line, arrow_category, direction_of

PAD_X, PAD_Y = 10.0, 7.0
MARGIN = 12.0
BIG = 250  # boxes: above this the layout trades some polish for speed
Point = tuple[float, float]


def line_size(line: Line, in_box: bool) -> float:
    if not in_box:
        return SMALL_SIZE
    return FONT_SIZE if line.role == "title" else FONT_SIZE - 1


def lines_size(lines: list[Line], in_box: bool) -> tuple[float, float]:
    """Width and height in points of a stack of lines (without padding)."""
    width = 0.0
    height = 0.0
    for line in lines:
        size = line_size(line, in_box)
        width = max(width, text_width(line.text, size, bold=line.role == "title"))
        height += size * LINE_GAP
    return width, height


@dataclass
class Placed:
    x: float  # centre
    y: float  # centre (y grows downwards)
    w: float
    h: float


@dataclass
class EdgeShape:
    curves: list[list[Point]] = field(default_factory=list)  # cubic Bézier point lists
    heads: list[list[Point]] = field(default_factory=list)  # arrowhead polygons
    label_at: Point | None = None


@dataclass
class Layout:
    width: float
    height: float
    boxes: dict[str, Placed]
    edges: list[EdgeShape]  # one per arrow of the drawing, same order
    title_at: Point | None = None
    legend_at: Point | None = None


def text_rows(lines: list[Line], cx: float, cy: float, in_box: bool) -> list[tuple[float, float]]:
    """Baselines (x centre, y) of stacked lines centred on (cx, cy)."""
    _, height = lines_size(lines, in_box)
    y = cy - height / 2
    rows = []
    for line in lines:
        size = line_size(line, in_box)
        y += size * LINE_GAP
        rows.append((cx, y - size * (LINE_GAP - 1) - size * 0.22))
    return rows


# ------------------------------------------------------------------ the engine


@lru_cache(maxsize=1)
def engine() -> list[str]:
    """The dot layout command: graphviz-pure from this environment, else a system ``dot``."""
    here = Path(sys.executable).parent
    for candidate in (here / "graphviz-pure", here / "graphviz-pure.exe"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("graphviz-pure") or shutil.which("dot")
    if found:
        return [found]
    raise ChainruleError(
        "no layout engine: install the graphviz-pure wheel (pip install graphviz-pure) "
        "or Graphviz's dot"
    )


def run_engine(dot_text: str, fmt: str) -> str:
    cmd = [*engine(), f"-T{fmt}", "-q"]
    env = dict(os.environ)
    try:
        done = subprocess.run(
            cmd, input=dot_text.encode("utf-8"), capture_output=True, timeout=600, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise ChainruleError("the layout engine took more than 10 minutes") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise ChainruleError(f"the layout engine failed: {message[:500]}")
    return done.stdout.decode("utf-8")


# ------------------------------------------------------------------ layout


def _inches(points: float) -> str:
    return f"{points / 72:.4f}"


def layout_dot(drawing: Drawing) -> str:
    """DOT with generated ids (``n<position>``) and fixed sizes only: no user text, no id and
    no field of the drawing but its direction (one of four words) reaches the engine."""
    fast = ", splines=true"
    if len(drawing.boxes) > BIG:
        # network simplex and spline routing dominate on big graphs: bound them
        fast = ", nslimit=2, nslimit1=2, mclimit=0.1, splines=line"
    out = [
        "digraph layout {",
        f"  graph [rankdir={direction_of(drawing)}, nodesep=0.3, ranksep=0.45{fast}];",
        '  node [shape=box, fixedsize=true, label=""];',
        "  edge [arrowsize=0.8];",
    ]
    number = drawing.numbers()
    for k, box in enumerate(drawing.boxes):
        w, h = box_size(box)
        out.append(f"  n{k} [width={_inches(w)}, height={_inches(h)}];")
    for k, arrow in enumerate(drawing.arrows):
        tail_id, head_id, back = _data_direction(arrow)
        tail, head = f"n{number[tail_id]}", f"n{number[head_id]}"
        attrs = [f"id=e{k}"]
        if back:
            attrs.append("dir=back")
        if arrow.lines:
            w, h = lines_size(arrow.lines, in_box=False)
            attrs.append(
                f'label=<<TABLE FIXEDSIZE="TRUE" WIDTH="{int(w) + 8}" HEIGHT="{int(h) + 4}" '
                'BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD></TD></TR></TABLE>>'
            )
        out.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _data_direction(arrow: Arrow) -> tuple[str, str, bool]:
    """Lay edges out in the direction data flows, so ranks match in every view."""
    if arrow_category(arrow) in ("gradient", "faint"):
        return arrow.target, arrow.source, True
    return arrow.source, arrow.target, False


def box_size(box: Box) -> tuple[float, float]:
    w, h = lines_size(box.lines, in_box=True)
    return max(w + 2 * PAD_X, 36.0), h + 2 * PAD_Y


def layout(drawing: Drawing) -> Layout:
    if not drawing.boxes:
        raise ChainruleError("nothing to draw: no node is left after the chosen filters")
    drawing.check()
    data = json.loads(run_engine(layout_dot(drawing), "json"))
    _, _, bw, bh = (float(v) for v in data["bb"].split(","))
    top = MARGIN
    if drawing.title:
        top += lines_size([Line(drawing.title, "title")], True)[1] + 6
    bottom = MARGIN
    if drawing.legend:
        bottom += lines_size(drawing.legend, False)[1] + 6

    def flip(p: list[float] | tuple[float, float]) -> Point:
        return (float(p[0]) + MARGIN, bh - float(p[1]) + top)

    boxes: dict[str, Placed] = {}
    for obj in data.get("objects", []):
        if "pos" not in obj:
            continue
        x, y = (float(v) for v in obj["pos"].split(","))
        cx, cy = flip((x, y))
        name = str(obj.get("name", ""))
        k = int(name[1:]) if name[:1] == "n" and name[1:].isdigit() else -1
        if not 0 <= k < len(drawing.boxes):
            continue
        boxes[drawing.boxes[k].id] = Placed(
            cx, cy, float(obj["width"]) * 72, float(obj["height"]) * 72
        )
    edges = [EdgeShape() for _ in drawing.arrows]
    for e in data.get("edges", []):
        k = int(str(e.get("id", "e-1"))[1:])
        if not 0 <= k < len(edges):
            continue
        shape = edges[k]
        for op in e.get("_draw_", []):
            if op["op"] in ("b", "B"):
                shape.curves.append([flip(p) for p in op["points"]])
        for key in ("_hdraw_", "_tdraw_"):
            for op in e.get(key, []):
                if op["op"] in ("P", "p"):
                    shape.heads.append([flip(p) for p in op["points"]])
        if "lp" in e:
            shape.label_at = flip([float(v) for v in e["lp"].split(",")])
    width = bw + 2 * MARGIN
    title_at = None
    if drawing.title:
        tw = lines_size([Line(drawing.title, "title")], True)[0]
        width = max(width, tw + 2 * MARGIN)
        title_at = (width / 2, MARGIN + FONT_SIZE)
    legend_at = None
    height = bh + top + bottom
    if drawing.legend:
        lw = lines_size(drawing.legend, False)[0]
        width = max(width, lw + 2 * MARGIN)
        legend_at = (width / 2, bh + top + 6 + lines_size(drawing.legend, False)[1] / 2)
    # centre the graph when the title or legend is wider than it
    shift = (width - (bw + 2 * MARGIN)) / 2
    if shift > 0:
        for p in boxes.values():
            p.x += shift
        for shape in edges:
            shape.curves = [[(x + shift, y) for x, y in c] for c in shape.curves]
            shape.heads = [[(x + shift, y) for x, y in c] for c in shape.heads]
            if shape.label_at:
                shape.label_at = (shape.label_at[0] + shift, shape.label_at[1])
    return Layout(width, height, boxes, edges, title_at, legend_at)
