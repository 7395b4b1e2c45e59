"""The drawings' geometry, read back from the SVG the writer produces: every arrow label sits on
its own arrow and clear of every other arrow, label and box; no label leaves the picture; an
open group's ⊟ tab in the explorer is crossed by no arrow.

The programs are the ones a student writes after the reference exercise: a 2-2-1 MLP written
out in scalars, fan-out, a product chain, softmax with cross-entropy, a small matrix MLP, long,
Greek and subscripted names, exact fractions, negative, tiny and huge numbers."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from helpers import EXERCISE_TEXT
from test_explorer_groups import tanh_chain

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import run_engine, wrap_title
from chainrule.draw.measure import TITLE_SIZE, text_width
from chainrule.draw.render import encode
from chainrule.explorer.page import page_data

SVG = "{http://www.w3.org/2000/svg}"
CLEAR = 3.0  # units: the least room between a label and an arrow that is not its own
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1
Point = tuple[float, float]

MLP = """
x1 = 0.5
x2 = -1.5
w11 = 0.3
w12 = -0.7
w21 = 0.9
w22 = 0.2
b1 = 0.1
b2 = -0.4
v1 = 1.2
v2 = -0.8
c = 0.05
h1 = {f}(w11*x1 + w12*x2 + b1)
h2 = {f}(w21*x1 + w22*x2 + b2)
y = v1*h1 + v2*h2 + c
"""

PROGRAMS = {
    "mlp-tanh": MLP.format(f="tanh"),
    "mlp-sigmoid": MLP.format(f="sigmoid") + "t = 1\nL = (y - t)^2\n",
    "exercise": EXERCISE_TEXT,
    "fan-out": "x = 3\nf = x*x + 2*x + x*x*x + sin(x) - x\n",
    "product": "a = 2\nb = -3\nc = 0.5\nd = 4\ne = 1.5\np = a*b*c*d*e\n",
    "softmax": (
        "x = [1.0, -2.0, 0.5]\nW = [[0.2, -0.1, 0.4], [0.5, 0.3, -0.2], [-0.3, 0.8, 0.1]]\n"
        "b = [0.1, 0.0, -0.1]\ny = [0, 1, 0]\nz = W @ x + b\np = softmax(z)\n"
        "L = cross_entropy(z, y)\n"
    ),
    "matrix-mlp": (
        "x = [1.0, 2.0]\nW1 = [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]\nb1 = [0.0, 0.1, -0.1]\n"
        "W2 = [[0.7, -0.8, 0.9]]\nb2 = [0.2]\nt = [1.0]\nh = tanh(W1 @ x + b1)\n"
        "o = W2 @ h + b2\nL = sum((o - t)^2)\n"
    ),
    "long-names": (
        "learning_rate = 0.01\ninput_value = 2.5\nweight_parameter = -0.75\n"
        "hidden_activation_1 = tanh(weight_parameter * input_value)\n"
        "hidden_activation_2 = sigmoid(hidden_activation_1 * learning_rate)\n"
        "loss = (hidden_activation_2 - input_value)^2\n"
    ),
    "greek": (
        "α = 0.5\nβ₁ = 2\nθ₀ = -1.25\nx_1 = 3\nμ = α*x_1 + θ₀\nσ₂ = sigmoid(μ * β₁)\nℓ = -log(σ₂)\n"
    ),
    "negative": "a = -2.5\nb = -0.125\nc = -7\ny = (a - b) * c / (a * b) - exp(-a)\n",
    "extremes": (
        "tiny = 1e-12\nhuge = 1e12\nw = 3.14159e-7\ny = tiny * huge + w * huge + tiny / w\n"
        "z = log(1 + y) * huge\n"
    ),
}
EXACT = {"exercise", "mlp-sigmoid", "negative"}


@dataclass
class Picture:
    """What the SVG shows: its size, each arrow's points (curve and head), each label's
    rectangle and text, each box's rectangle."""

    width: float
    height: float
    arrows: dict[int, list[Point]]
    labels: dict[int, tuple[Rect, str]]
    boxes: dict[str, Rect]


def _rect(el: ET.Element) -> Rect:
    x, y = float(el.get("x", 0)), float(el.get("y", 0))
    return x, y, x + float(el.get("width", 0)), y + float(el.get("height", 0))


def _bezier(p: list[Point], steps: int = 32) -> list[Point]:
    out = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        w = (u**3, 3 * u * u * t, 3 * u * t * t, t**3)
        out.append((sum(c * q[0] for c, q in zip(w, p)), sum(c * q[1] for c, q in zip(w, p))))
    return out


def path_points(d: str) -> list[Point]:
    """Points along an SVG path of M and C commands (what the writer draws arrows with)."""
    pts: list[Point] = []
    here: Point = (0.0, 0.0)
    for cmd, args in re.findall(r"([MC])([^MC]*)", d):
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", args)]
        xy = list(zip(nums[::2], nums[1::2], strict=True))
        if cmd == "M":
            here = xy[0]
            continue
        for i in range(0, len(xy), 3):
            pts.extend(_bezier([here, *xy[i : i + 3]]))
            here = xy[i + 2]
    return pts


def read_svg(svg: str) -> Picture:
    root = ET.fromstring(svg.encode())
    arrows: dict[int, list[Point]] = {}
    labels: dict[int, tuple[Rect, str]] = {}
    boxes: dict[str, Rect] = {}
    for g in root.iter(SVG + "g"):
        kind = g.get("class", "").split()
        if kind[:1] == ["edge"]:
            pts = [p for path in g.iter(SVG + "path") for p in path_points(path.get("d", ""))]
            for poly in g.iter(SVG + "polygon"):
                pts += [
                    (float(a), float(b))
                    for a, b in (q.split(",") for q in poly.get("points", "").split())
                ]
            arrows[int(g.get("data-i", -1))] = pts
        elif kind == ["edge-label"]:
            rect = g.find(SVG + "rect")
            assert rect is not None
            text = " / ".join(t.text or "" for t in g.iter(SVG + "text"))
            labels[int(g.get("data-i", -1))] = (_rect(rect), text)
        elif kind[:1] == ["node"]:
            rect = g.find(SVG + "rect")
            assert rect is not None
            boxes[g.get("id", "")] = _rect(rect)
    _, _, w, h = (float(v) for v in root.get("viewBox", "").split())
    return Picture(w, h, arrows, labels, boxes)


def distance(p: Point, r: Rect) -> float:
    """From a point to a rectangle (0 inside it)."""
    return math.hypot(max(r[0] - p[0], 0, p[0] - r[2]), max(r[1] - p[1], 0, p[1] - r[3]))


def meet(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_problems(pic: Picture) -> list[str]:
    """Everything that makes a label hard to read or to attach to its arrow."""
    bad = []
    items = sorted(pic.labels.items())
    for n, (k, (r, text)) in enumerate(items):
        own = pic.arrows.get(k, [])
        if not any(distance(p, r) == 0 for p in own):
            bad.append(f"{text!r} is not on its own arrow")
        for j, pts in pic.arrows.items():
            if j != k and any(distance(p, r) < CLEAR for p in pts):
                bad.append(f"{text!r} is crossed or touched by arrow {j}")
        for _, (r2, text2) in items[n + 1 :]:
            if meet(r, r2):
                bad.append(f"{text!r} overlaps the label {text2!r}")
        for box, r2 in pic.boxes.items():
            if meet(r, r2):
                bad.append(f"{text!r} overlaps the box {box}")
        if r[0] < 0 or r[1] < 0 or r[2] > pic.width or r[3] > pic.height:
            bad.append(f"{text!r} leaves the picture")
    return bad


def _svg(name: str, view: str = "gradients", exact: bool = False) -> str:
    g = cr.parse(PROGRAMS[name], exact=exact)
    return draw.to_svg(g, view)


@pytest.mark.parametrize("activation", ["mlp-tanh", "mlp-sigmoid"])
def test_each_partial_of_a_scalar_mlp_sits_on_its_own_edge(activation: str) -> None:
    # dot put an edge label beside its edge, where the next edge could start at the label's
    # end: a reader could not tell which of two edges a number belonged to
    pic = read_svg(_svg(activation))
    assert len(pic.labels) == len(pic.arrows) >= 26
    assert label_problems(pic) == []


@pytest.mark.parametrize("name", sorted(set(PROGRAMS) - {"mlp-tanh", "mlp-sigmoid"}))
def test_a_students_next_programs_draw_every_label_clear(name: str) -> None:
    pic = read_svg(_svg(name, exact=name in EXACT))
    assert pic.labels
    assert label_problems(pic) == []


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_labels_stay_on_their_arrows_in_every_direction(direction: str) -> None:
    svg = draw.to_svg(cr.parse(PROGRAMS["mlp-tanh"]), "gradients", direction=direction)
    assert label_problems(read_svg(svg)) == []


def test_an_arrow_is_one_line_from_box_to_box_through_its_label() -> None:
    root = ET.fromstring(_svg("exercise").encode())
    paths = [p.get("d", "") for p in root.iter(SVG + "path")]
    assert len(paths) == 8
    for d in paths:
        assert d.count("M") == 1  # one piece: no gap where the label is
        pts = path_points(d)
        assert max(math.dist(a, b) for a, b in zip(pts, pts[1:])) < 20


def arrow_problems(drawing: draw.Drawing, pic: Picture) -> list[str]:
    """An arrow that misses a box it joins, or runs along (or through) one it does not join."""
    bad = []
    for k, arrow in enumerate(drawing.arrows):
        own = [pic.boxes[arrow.source], pic.boxes[arrow.target]]
        pts = pic.arrows[k]
        # where its path starts, and its arrowhead (drawn last); dot's own arrowheads stopped
        # up to 2 units short of their box, which no reader sees
        for end in (pts[0], pts[-1]):
            if min(distance(p, r) for r in own for p in pts if math.dist(p, end) < 12) > 2.5:
                bad.append(f"arrow {k} ({arrow.source} → {arrow.target}) misses its box")
        for box, r in pic.boxes.items():
            if box not in (arrow.source, arrow.target) and any(distance(p, r) < CLEAR for p in pts):
                bad.append(f"arrow {k} ({arrow.source} → {arrow.target}) runs along {box}")
    return bad


@pytest.mark.parametrize(
    ("name", "view", "options"),
    [
        ("mlp-tanh", "forward", {}),
        ("mlp-tanh", "gradients", {}),
        ("mlp-sigmoid", "backward", {}),
        ("matrix-mlp", "gradients", {"expand": True}),
        ("extremes", "gradients", {}),
        ("negative", "gradients", {}),
    ],
)
def test_an_arrow_runs_along_no_box_but_its_own(name: str, view: str, options: dict) -> None:
    # dot routes an edge round the boxes in its way with no room to spare: an edge ran along
    # the bottom of a box it does not join (a₁'s edge under a₂ in the MLP), as if it came out
    # of it. Boxes are laid out with room round them that other arrows keep out of.
    drawing = draw.build(cr.parse(PROGRAMS[name]), view, **options)
    pic = read_svg(encode(drawing, ".svg").decode())
    assert arrow_problems(drawing, pic) == []


@pytest.mark.parametrize("width", [440.0, 700.0, 800.0, 920.0, 940.0])
def test_a_wrapped_title_leaves_no_word_alone(width: float) -> None:
    # a gradient drawing about 930 units wide ended its title with "back" alone on a line
    title = draw.build(cr.parse(EXERCISE_TEXT), "gradients").title
    rows = wrap_title(title, width)
    widths = [text_width(row, TITLE_SIZE, bold=True) for row in rows]
    assert len(rows) >= 2 and max(widths) <= max(width, 420)
    assert min(widths) > 0.6 * max(widths), rows
    assert " ".join(rows) == title


def test_the_dot_file_puts_each_label_on_its_own_arrow_too() -> None:
    # for people who run dot themselves: Graphviz lays the file out (ids: n<box>, l<arrow>)
    drawing = draw.build(cr.parse(PROGRAMS["mlp-tanh"]), "gradients")
    root = ET.fromstring(run_engine(encode(drawing, ".dot").decode(), "svg").encode())
    labels: dict[str, Rect] = {}
    edges: dict[str, list[Point]] = {}
    for g in root.iter(SVG + "g"):
        title = g.findtext(SVG + "title", "")
        if g.get("class") == "node" and title.startswith("l"):
            poly = g.find(SVG + "polygon")
            assert poly is not None
            xy = [tuple(map(float, q.split(","))) for q in poly.get("points", "").split()]
            labels[title] = (
                min(x for x, _ in xy),
                min(y for _, y in xy),
                max(x for x, _ in xy),
                max(y for _, y in xy),
            )
        elif g.get("class") == "edge":
            edges[title] = [
                p for path in g.iter(SVG + "path") for p in path_points(path.get("d", ""))
            ]
    assert len(labels) == sum(1 for a in drawing.arrows if a.lines) >= 26
    for name, r in labels.items():
        for title, pts in edges.items():
            ends = re.split(r"->", title)
            touching = min(distance(p, r) for p in pts)
            if name in (e.split(":")[0] for e in ends):
                assert touching < 1, (name, title)  # its arrow runs into it and out of it
            else:
                assert touching >= CLEAR, (name, title)


def test_an_open_groups_tab_is_crossed_by_no_arrow() -> None:
    # the tab sat at its output box's left edge, above it, where the arrow into the box's top
    # ran: clicking the tab could hit the arrow, and the arrow ran through its text
    data = page_data(cr.parse(tanh_chain(4)), collapse=False)
    for view, svg in data["_svg"].items():
        pic = read_svg(svg)
        tabs = data["drawings"][view]["tabs"]
        lids = data["drawings"][view]["lids"]
        assert len(tabs) == len(lids) == 4
        for (x, y, w, h), lid in zip(tabs, lids, strict=True):
            # the tab, down to its box: the page moves it down that far at most, off a box or a
            # label it covers (tests/test_explore_room.py), never sideways
            reach = (x, y, x + w, max(y + h, lid[1]))
            assert 0 <= x and x + w <= pic.width
            for k, pts in pic.arrows.items():
                assert not any(distance(p, reach) == 0 for p in pts), (view, k, (x, y, w, h))
