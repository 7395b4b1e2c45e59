"""Where everything goes: sizes measured in DejaVu Sans, positions from Graphviz's dot layout.

Graphviz lays out boxes of the exact sizes we measured (their labels are left empty), and gives
back positions, edge curves, arrowheads and label centres. The SVG, PNG, PDF and TikZ writers all
draw from this one ``Layout``; the layout engine never sees a label, so it needs no escaping."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..core.errors import ChainruleError
from .edges import EdgeShape, Point, edge_shapes, reach_boxes
from .measure import FONT_SIZE, LINE_GAP, SMALL_SIZE, TITLE_SIZE, text_width
from .model import Arrow, Box, Drawing, Line, arrow_category, direction_of

PAD_X, PAD_Y = 10.0, 7.0
MARGIN = 12.0
BIG = 250  # boxes: above this the layout trades some polish for speed
TITLE_MIN = 420.0  # points: a title narrower than this is never wrapped
NODESEP = 0.3  # inches between boxes of one rank
RANKSEP = 0.45  # inches between ranks of boxes
LABEL_RANKSEP = 0.2  # inches between a rank of boxes and a rank of arrow labels
BOX_CLEAR = 4.0  # points round a box that arrows other than its own keep out of
LABEL_PAD_X, LABEL_PAD_Y = 6.0, 5.0  # points round an arrow label's text: other arrows keep clear
ROW_ROUNDS = 6  # layouts tried at most when fitting a maximum width
CHAIN_WEIGHT = 8  # dot's weight of an arrow that continues a longest chain (others weigh 1)


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
class Layout:
    width: float
    height: float
    boxes: dict[str, Placed]
    edges: list[EdgeShape]  # one per arrow of the drawing, same order
    title_rows: list[tuple[str, Point]] = field(default_factory=list)  # wrapped, centred
    legend_at: Point | None = None


def wrap_title(title: str, width: float) -> list[str]:
    """The title in lines no wider than ``width`` (or TITLE_MIN): a title is never cut. The
    lines are as even as that many lines can be, so that no word is left alone on the last."""
    limit = max(width, TITLE_MIN)
    lines = _fill(title, limit)
    if len(lines) < 2:
        return lines
    lo, hi = 0.0, limit  # the narrowest limit that still takes no more lines
    for _ in range(20):
        mid = (lo + hi) / 2
        if len(_fill(title, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid
    return _fill(title, hi)


def _fill(title: str, limit: float) -> list[str]:
    """Words in lines no wider than ``limit``, each line as full as it can be (a longer word
    has a line of its own)."""
    lines: list[str] = []
    current = ""
    for word in title.split():
        trial = f"{current} {word}" if current else word
        if current and text_width(trial, TITLE_SIZE, bold=True) > limit:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


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


def layout_dot(
    drawing: Drawing, stretch: dict[str, int] | None = None, leaves: set[str] | None = None
) -> str:
    """DOT with generated ids (``n<position>``) and fixed sizes only: no user text, no id and
    no field of the drawing but its direction (one of four words) reaches the engine.

    An arrow's label is a box of its own (``l<arrow>``) on the arrow's way, one rank between
    its two boxes: the arrow runs into the label and out of it, so a label always sits on its
    own arrow and the engine keeps every other arrow and label clear of it, as it does for
    boxes. (Dot's edge labels sit beside their edge, where the next edge may start right at
    the label's end, and a reader cannot tell which edge a number belongs to.) As dot does for
    its own labels, every edge is then twice as long in ranks, with half the room per rank.

    ``stretch`` lengthens the edges of some boxes by a number of ranks (see ``_fit_width``):
    the outgoing edges of a leaf, the incoming edges of any other box."""
    stretch = stretch or {}
    leaves = leaves or set()
    fast = ", splines=true"
    if len(drawing.boxes) > BIG:
        # network simplex and spline routing dominate on big graphs: bound them
        fast = ", nslimit=2, nslimit1=2, mclimit=0.1, splines=line"
    labelled = any(arrow.lines for arrow in drawing.arrows)
    per_rank = 2 if labelled else 1  # ranks of the layout for one rank of boxes
    ranksep = LABEL_RANKSEP if labelled else RANKSEP
    out = [
        "digraph layout {",
        f"  graph [rankdir={direction_of(drawing)}, nodesep={NODESEP}, ranksep={ranksep}{fast}];",
        # invisible: the same places and clipped edges, without the outline of each box in
        # the engine's JSON (a fifth of it), which nothing here reads
        '  node [shape=box, fixedsize=true, label="", style=invis];',
        "  edge [arrowsize=0.8];",
    ]
    number = drawing.numbers()
    for k, box in enumerate(drawing.boxes):
        w, h = box_size(box)  # with room round it that other arrows keep out of
        out.append(
            f"  n{k} [width={_inches(w + 2 * BOX_CLEAR)}, height={_inches(h + 2 * BOX_CLEAR)}];"
        )
    spine = _spine(drawing)
    for k, arrow in enumerate(drawing.arrows):
        tail_id, head_id, back = _data_direction(arrow)
        tail, head = f"n{number[tail_id]}", f"n{number[head_id]}"
        weight = [f"weight={CHAIN_WEIGHT}"] if k in spine else []
        from_tail = tail in leaves
        extra = stretch.get(tail, 0) if from_tail else stretch.get(head, 0)
        ranks = per_rank * (1 + extra)
        if not arrow.lines:
            attrs = [f"id=e{k}", *weight]
            if ranks > 1:
                attrs.append(f"minlen={ranks}")
            if back:
                attrs.append("dir=back")
            out.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
            continue
        w, h = label_size(arrow)
        out.append(f"  l{k} [width={_inches(w)}, height={_inches(h)}];")
        # the stretched end's segment takes the extra ranks: the label stays by the other box
        first, second = (ranks - 1, 1) if from_tail else (1, ranks - 1)
        near, far = LABEL_SIDES[direction_of(drawing)]  # in straight, out straight
        into = [f"id=e{k}", *weight, "dir=back" if back else "dir=none", f"headport={near}"]
        onto = [f"id=f{k}", *weight, "dir=none" if back else "dir=forward", f"tailport={far}"]
        if first > 1:
            into.append(f"minlen={first}")
        if second > 1:
            onto.append(f"minlen={second}")
        out.append(f"  {tail} -> l{k} [{', '.join(into)}];")
        out.append(f"  l{k} -> {head} [{', '.join(onto)}];")
    out.append("}")
    return "\n".join(out) + "\n"


#: the sides of a label an arrow comes in by and goes out by (the tail's side, the head's side)
LABEL_SIDES = {"BT": ("s", "n"), "TB": ("n", "s"), "LR": ("w", "e"), "RL": ("e", "w")}


def label_size(arrow: Arrow) -> tuple[float, float]:
    """The box an arrow's label takes in the layout: its text and a little room round it."""
    w, h = lines_size(arrow.lines, in_box=False)
    return w + 2 * LABEL_PAD_X, h + 2 * LABEL_PAD_Y


def _spine(drawing: Drawing) -> set[int]:
    """The arrows that continue a longest chain of operations: from each operation, the
    arrow from its deepest input. Dot weighs them more, so a long chain is drawn straight with
    its short side branches beside it, instead of a staircase that drifts sideways by half a
    box per step (dot's cost is the same for every lean of an evenly weighted chain)."""
    inputs: dict[str, list[tuple[int, str]]] = {}
    users: dict[str, list[str]] = {}
    for k, arrow in enumerate(drawing.arrows):
        tail, head, _ = _data_direction(arrow)
        inputs.setdefault(head, []).append((k, tail))
        users.setdefault(tail, []).append(head)
    waiting = {b.id: len(inputs.get(b.id, ())) for b in drawing.boxes}
    ready = [b for b, n in waiting.items() if n == 0]
    depth: dict[str, int] = {}
    while ready:  # Kahn's order: every input's depth is known before its user's
        box = ready.pop()
        depth[box] = 1 + max((depth.get(t, 0) for _, t in inputs.get(box, ())), default=-1)
        for user in users.get(box, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    spine = set()
    for box, ins in inputs.items():
        if box not in depth or not ins:
            continue  # in a cycle (a drawing read from JSON may hold one): left as dot sees it
        k, tail = max(ins, key=lambda e: (depth.get(e[1], 0), -e[0]))
        if depth.get(tail, 0) > 0:  # an operation, not a leaf
            spine.add(k)
    return spine


def _data_direction(arrow: Arrow) -> tuple[str, str, bool]:
    """Lay edges out in the direction data flows, so ranks match in every view."""
    if arrow_category(arrow) in ("gradient", "faint"):
        return arrow.target, arrow.source, True
    return arrow.source, arrow.target, False


def box_size(box: Box) -> tuple[float, float]:
    w, h = lines_size(box.lines, in_box=True)
    return max(w + 2 * PAD_X, 36.0), h + 2 * PAD_Y


def _engine_layout(
    drawing: Drawing, stretch: dict[str, int], leaves: set[str] | None = None
) -> dict:  # type: ignore[type-arg]
    text = layout_dot(drawing, stretch, leaves or set())
    return json.loads(run_engine(text, "json"))  # type: ignore[no-any-return]


def _ranks(
    data: dict,  # type: ignore[type-arg]
    across_y: bool,
    room: dict[str, float],
) -> list[list[tuple[float, float, str]]]:
    """Boxes grouped by rank (same position along the flow), each as (centre, the room it
    needs across the flow, id), in order across the flow."""
    ranks: dict[int, list[tuple[float, float, str]]] = {}
    for obj in data.get("objects", []):
        if "pos" not in obj:
            continue
        x, y = (float(v) for v in obj["pos"].split(","))
        along, across = (y, x) if across_y else (x, y)
        size = float(obj["width" if across_y else "height"]) * 72
        name = obj["name"]
        if not name.startswith("n"):
            continue  # an arrow's label: its room is counted with its box (``_label_room``)
        ranks.setdefault(round(along), []).append((across, max(size, room.get(name, 0.0)), name))
    return [sorted(r) for _, r in sorted(ranks.items())]


def _label_room(drawing: Drawing, across_y: bool) -> dict[str, float]:
    """The room the labels of a box's incoming edges take beside each other: edge labels sit
    between ranks, so a box whose edges carry labels needs at least that much."""
    need: dict[str, float] = {}
    number = drawing.numbers()
    for arrow in drawing.arrows:
        if not arrow.lines:
            continue
        head = f"n{number[_data_direction(arrow)[1]]}"  # the engine's name of the box
        w, h = lines_size(arrow.lines, in_box=False)
        need[head] = need.get(head, 0.0) + (w if across_y else h) + 8 + NODESEP * 72
    return need


def _fit_width(drawing: Drawing, limit: float) -> dict:  # type: ignore[type-arg]
    """Lay wide ranks out in rows so that the drawing is at most ``limit`` points wide, where
    that can be done by moving boxes along the flow; the narrowest layout tried is kept.

    Each round takes every rank wider than the room and staggers it into rows: a box of the
    k-th row gets its edges lengthened by k ranks (inputs move away from their operation,
    operations away from their inputs), as Graphviz's ``unflatten`` does for leaves."""
    across_y = drawing.direction in ("BT", "TB")
    labels = _label_room(drawing, across_y)
    best = _engine_layout(drawing, {})
    room = limit - 2 * MARGIN
    number = drawing.numbers()  # the engine names boxes n<position>
    leaves = {f"n{number[b.id]}" for b in drawing.boxes} - {
        f"n{number[_data_direction(a)[1]]}" for a in drawing.arrows
    }

    def extent(d: dict) -> float:  # type: ignore[type-arg]
        _, _, bw, bh = (float(v) for v in d["bb"].split(","))
        return bw if across_y else bh

    stretch: dict[str, int] = {}
    for _ in range(ROW_ROUNDS):
        if extent(best) <= room:
            break
        added: dict[str, int] = {}
        for rank in _ranks(best, across_y, labels):
            span = sum(w + NODESEP * 72 for _, w, _ in rank)
            rows = math.ceil(span / room)
            if rows < 2:
                continue
            for k, (_, _, box_id) in enumerate(rank):
                if k % rows:
                    added[box_id] = stretch.get(box_id, 0) + k % rows
        if not added:
            break
        trial = _engine_layout(drawing, {**stretch, **added}, leaves)
        if extent(trial) >= extent(best):
            break
        stretch.update(added)
        best = trial
    return best


def layout(drawing: Drawing) -> Layout:
    if not drawing.boxes:
        raise ChainruleError("nothing to draw: no node is left after the chosen filters")
    drawing.check()
    if drawing.max_width:
        data = _fit_width(drawing, float(drawing.max_width))
    else:
        data = _engine_layout(drawing, {})
    _, _, bw, bh = (float(v) for v in data["bb"].split(","))
    title_lines = wrap_title(drawing.title, bw) if drawing.title else []
    top = MARGIN
    if title_lines:
        top += len(title_lines) * TITLE_SIZE * LINE_GAP + 6
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
        # drawn at its own size: the engine laid it out BOX_CLEAR bigger on every side
        w, h = float(obj["width"]) * 72 - 2 * BOX_CLEAR, float(obj["height"]) * 72 - 2 * BOX_CLEAR
        boxes[drawing.boxes[k].id] = Placed(cx, cy, w, h)
    edges = edge_shapes(data, len(drawing.arrows), flip)
    for arrow, shape in zip(drawing.arrows, edges, strict=True):
        ends = [boxes[b] for b in (arrow.source, arrow.target) if b in boxes]
        reach_boxes(
            shape, [(p.x - p.w / 2, p.y - p.h / 2, p.x + p.w / 2, p.y + p.h / 2) for p in ends]
        )
    width = bw + 2 * MARGIN
    for line in title_lines:
        width = max(width, text_width(line, TITLE_SIZE, bold=True) + 2 * MARGIN)
    title_rows = [
        (line, (width / 2, MARGIN + TITLE_SIZE + k * TITLE_SIZE * LINE_GAP))
        for k, line in enumerate(title_lines)
    ]
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
    return Layout(width, height, boxes, edges, title_rows, legend_at)
