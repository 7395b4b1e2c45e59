"""The explorer page: one self-contained HTML file (inline SVG, CSS, script and data).

The drawings are ``chainrule draw``'s own (the forward and gradients views, laid out and written
by ``draw``); the steps come from ``explain`` (``steps``); the maths the page reruns when an
input changes is the op table's, written as JavaScript by ``program``. Every label reaches the
page as SVG text escaped by the SVG writer or as JSON data that the script inserts with
``textContent``, never as markup; the JSON is escaped for a ``<script>`` element."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.node import Node
from ..core.snapshot import with_gradients
from ..core.values import to_float
from ..draw.colours import TEXT
from ..draw.labels import SHORT_ARRAY
from ..draw.layout import layout
from ..draw.model import Drawing
from ..draw.views import build_fresh as build_drawing
from ..draw.writers.html import html_escape
from ..draw.writers.svg import SvgParts, svg_parts
from ..explain import formulas as f
from ..explain.model import derive_fresh as derive
from ..explain.pause import gc_paused
from ..lang.notation import definition
from .groups import Group, find_groups
from .program import Program, compile_graph
from .steps import build_steps
from .tabs import label_rects, tab_places

VIEWS = ("forward", "gradients")
COLLAPSE_ABOVE = 200  # drawn nodes: a bigger graph starts with its groups collapsed


def _asset(name: str) -> str:
    return resources.files("chainrule.explorer").joinpath(name).read_text(encoding="utf-8")


# json.dumps with these options makes an encoder a call; a page makes one a step
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _script_json(data: Any) -> str:
    """JSON that cannot end the script element it sits in (every < is written \\u003c)."""
    text = _JSON.encode(data)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def short_lists(text: str, limit: int = SHORT_ARRAY) -> str:
    """A text with every written-out list of more than ``limit`` numbers replaced by its shape
    (``dropout(flatten, 2×27 array)``): a constant mask or weight inside a formula would
    otherwise make a box or a label hundreds of characters wide."""
    if "[" not in text:  # most lines: no list at all
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "[":
            out.append(text[i])
            i += 1
            continue
        depth, j = 0, i
        shape: list[int] = []  # the longest list at each depth
        counts: list[int] = []  # items so far in the open list at each depth
        while j < len(text):
            ch = text[j]
            if ch == "[":
                depth += 1
                if len(counts) < depth:
                    counts.append(1)
                else:
                    counts[depth - 1] = 1
            elif ch == ",":
                counts[depth - 1] += 1
            elif ch == "]":
                while len(shape) < depth:
                    shape.append(0)
                shape[depth - 1] = max(shape[depth - 1], counts[depth - 1])
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if depth != 0:  # unbalanced: leave the rest as it is
            out.append(text[i:])
            break
        size = 1
        for n in shape:
            size *= n
        if size > limit:
            out.append(
                f"{shape[0]}-element vector"
                if len(shape) == 1
                else "×".join(map(str, shape)) + " array"
            )
        else:
            out.append(text[i : j + 1])
        i = j + 1
    return "".join(out)


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    out = []
    for k in (1, 3, 5):
        c = int(colour[k : k + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * out[0] + 0.7152 * out[1] + 0.0722 * out[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_fill(fill: str, texts: list[str], ratio: float = 4.5) -> str:
    """A box's fill mixed toward white until every text colour on it meets ``ratio`` (WCAG AA
    for text): the gradient colouring keeps its order from dark to light, and the number written
    in the box carries the meaning."""
    return _readable_fill(fill, tuple(texts), ratio)


@lru_cache(maxsize=4096)  # a big graph has thousands of boxes and a few dozen colours
def _readable_fill(fill: str, texts: tuple[str, ...], ratio: float) -> str:
    if not (len(fill) == 7 and fill.startswith("#")):
        return fill
    rgb = [int(fill[k : k + 2], 16) for k in (1, 3, 5)]
    for step in range(11):
        mix = step / 10
        out = "#" + "".join(f"{round(c + (255 - c) * mix):02x}" for c in rgb)
        if all(_contrast(out, t) >= ratio for t in texts):
            return out
    return "#ffffff"


def _shorten(drawing: Drawing) -> None:
    for box in drawing.boxes:
        if box.fill:
            box.fill = readable_fill(
                box.fill, [TEXT.get(line.role, "#000000") for line in box.lines]
            )
        for line in box.lines:
            line.text = short_lists(line.text)
    for arrow in drawing.arrows:
        for line in arrow.lines:
            line.text = short_lists(line.text)


def _arrow_edges(drawing: Drawing, g: Graph, gradients: bool) -> list[list[int] | None]:
    """For each arrow of a drawing, the edge (consumer, input) it draws."""
    queue: dict[tuple[str, str], list[list[int]]] = {}
    index = {n: k for k, n in enumerate(g.nodes)}
    for k, node in enumerate(g.nodes):
        for i, a in enumerate(node.args):
            src, dst = f"n{index[a]}", f"n{k}"
            pair = (dst, src) if gradients else (src, dst)
            queue.setdefault(pair, []).append([k, i])
    out: list[list[int] | None] = []
    for arrow in drawing.arrows:
        base = (arrow.source.split("_")[0], arrow.target.split("_")[0])
        q = queue.get(base)
        out.append(q.pop(0) if q else None)
    return out


def _line_recipes(drawing: Drawing, arrows: list[list[int] | None]) -> dict[str, Any]:
    """How the page rewrites each drawn number after a what-if change (box id or arrow index →
    one recipe per line; null where a line has no number of its own)."""
    boxes: dict[str, Any] = {}
    for box in drawing.boxes:
        base = box.id.split("_")[0]
        if not base.startswith("n") or not base[1:].isdigit():
            continue
        k = int(base[1:])
        recipes: list[Any] = []
        grad_lines = [j for j, line in enumerate(box.lines) if line.role == "grad"]
        for j, line in enumerate(box.lines):
            if line.role == "value" and j > 0:
                recipes.append({"q": "v", "of": k})
            elif line.role == "grad" and len(grad_lines) == 2 and j == grad_lines[0]:
                head = line.text.split(" = ", 1)[0]
                recipes.append({"prefix": head + " = ", "sum": k})
            elif line.role == "grad" and len(grad_lines) == 2:
                recipes.append({"prefix": "= ", "q": "g", "of": k})
            elif line.role == "grad" and " = " in line.text:
                head = line.text.split(" = ", 1)[0]
                recipes.append({"prefix": head + " = ", "q": "g", "of": k})
            else:
                recipes.append(None)
        boxes[box.id] = recipes
    edges: dict[str, Any] = {}
    for a, (arrow, edge) in enumerate(zip(drawing.arrows, arrows, strict=True)):
        if edge is None or not arrow.lines:
            continue
        recipes = []
        for line in arrow.lines:
            if line.text.startswith("passes back to "):
                head = line.text.rsplit(": ", 1)[0]
                recipes.append({"prefix": head + ": ", "q": "c", "of": edge})
            elif line.role == "value":
                head = line.text.rsplit(" = ", 1)[0]
                if head.count(" = ") and "/" in head.rsplit(" = ", 1)[1]:
                    head = head.rsplit(" = ", 1)[0]  # an exact fraction before the decimal
                recipes.append({"prefix": head + " = ", "q": "l", "of": edge})
            else:
                summed = line.text.startswith("Σ(")
                symbol = "⊙" if " ⊙ " in line.text else "·"
                recipes.append({"product": edge, "symbol": symbol, "summed": summed})
        edges[str(a)] = recipes
    return {"boxes": boxes, "edges": edges}


def _names(g: Graph, index: dict[Node, int]) -> dict[str, list[int]]:
    """Every name the page answers to: node labels (x, x′, a₁), aliases, elements (w₁).

    A name is the node drawn and tabled under it: in ``x = 2; x = x * 3`` x is the first node
    and x′ the second, as ``eval`` and the drawings call them (a program name given more than
    once is not the last node of that name). A node's label comes before an element's."""
    labels = {name: index[n] for name, n in g.labels().items()}
    out: dict[str, list[int]] = {}
    names = g.naming
    for k, n in enumerate(g.nodes):
        out.setdefault(g.label(n), [k, -1])
        shape = np.shape(n.value)
        if shape and n.name:
            for flat, idx in enumerate(np.ndindex(shape)):
                element = f.element_label(n, idx, names).text
                if element not in labels:
                    out.setdefault(element, [k, flat])
    for name, k in labels.items():
        out.setdefault(name, [k, -1])
    for name, n in g.names.items():  # a name no label carries (none expected)
        out.setdefault(name, [index[n], -1])
    return out


def _node_info(
    g: Graph, index: dict[Node, int], n: Node, formulas: dict[Node, f.Math | None]
) -> dict[str, Any]:
    role = "operation" if n.args else ("input" if n.requires_grad else "constant")
    return {
        "name": f.label(n, g.naming).text,
        "dname": f.derivative(g.output, n, g.naming).text,
        "formula": _definition(n, g, formulas.get(n)) if n.args else "",
        "role": role,
        "inputs": [index[a] for a in n.args],
    }


def _definition(n: Node, g: Graph, formula: f.Math | None) -> str:
    """The operation's definition as ``lang.notation.definition`` writes it: the worked
    solution's formula where that is the same text (it writes minus signs − where a - was)."""
    if formula is not None and f.MINUS not in formula.text:
        return formula.text
    return definition(n, "text", names=g.naming)


def page_data(
    graph: Graph, *, digits: int = 5, exact: bool | None = None, collapse: bool | None = None
) -> dict[str, Any]:
    """Everything the page's script reads, and the program it runs. ``collapse``: start with
    every group (module, repeated block) closed; None closes them when the graph has more than
    ``COLLAPSE_ABOVE`` drawn nodes."""
    # one private copy with fresh gradients, which the drawings and the derivation share
    g = with_gradients(graph)
    tips: dict[Node, str] = {}  # a node's tooltip, the same in both drawings
    # Graphviz lays each drawing out, a process each, from the moment it is built, while the
    # derivation, the program and the steps are worked out here
    with ThreadPoolExecutor(max_workers=len(VIEWS)) as pool:
        built, pending = [], []
        for view in VIEWS:
            drawing = build_drawing(g, view, tips, collapse=[])  # a step a node
            _shorten(drawing)
            built.append(drawing)
            pending.append(pool.submit(layout, drawing))
        d = derive(g, digits, exact=exact)
        program: Program = compile_graph(g)
        steps = build_steps(d)
        groups = find_groups(g)
        laid = [p.result() for p in pending]
    group_of = {k: j for j, grp in enumerate(groups) for k in grp.members}
    shown_count = sum(1 for n in g.nodes if n.args or n.name or n.requires_grad)
    if collapse is None:
        collapse = shown_count > COLLAPSE_ABOVE
    closed = set(range(len(groups))) if collapse else set()
    # a big graph's groups, open or closed, are drawn by the page when the camera comes near
    # them: its first picture holds only what belongs to no group
    lazy = shown_count > COLLAPSE_ABOVE
    late = set(range(len(groups))) if lazy else closed
    drawings = {}
    for view, drawing, lay in zip(VIEWS, built, laid, strict=True):
        arrows = _arrow_edges(drawing, g, view == "gradients")
        parts = svg_parts(drawing, lay)
        ends = [[_box_node(a.source), _box_node(a.target)] for a in drawing.arrows]
        base, late_nodes, late_arrows = _split(parts, drawing, ends, group_of, late)
        drawings[view] = {
            "svg": base,
            "arrows": arrows,
            "recipes": _line_recipes(drawing, arrows),
            "ends": ends,
            "lateNodes": late_nodes,
            "lateArrows": late_arrows,
            **_group_places(drawing, lay, groups),
            "geom": _geometry(drawing, lay, parts),
        }
    index = {n: k for k, n in enumerate(g.nodes)}
    shown = [n for n in g.nodes if n.args or n.name or n.requires_grad]
    formulas = {s.node: s.formula for s in d.forward}
    return {
        "title": f"Explore {g.label(g.output)}",
        "digits": digits,
        "short": SHORT_ARRAY,
        "exact": d.exact,
        "output": index[g.output],
        "nodes": [_node_info(g, index, n, formulas) for n in g.nodes],
        "shown": [index[n] for n in shown],
        "names": _names(g, index),
        "size": program.size,
        "init": program.init,
        "values": [s.to_json() for s in program.values],
        "grads": [s.to_json() if s else None for s in program.grads],
        "edges": [
            {
                "node": e.node,
                "i": e.i,
                "source": e.source,
                "local": e.local.to_json() if e.local else None,
                "c": e.contribution.to_json() if e.contribution else None,
                "r": e.running.to_json() if e.running else None,
            }
            for e in program.edges
        ],
        "inputs": program.inputs,
        "original": [_input_value(g, g.nodes[k]) for k in program.inputs],
        "frozen": {str(k): why for k, why in program.frozen.items()},
        "stale": program.stale,
        "interactive": program.interactive,
        "steps": [s.to_json() for s in steps],
        "groups": [grp.to_json() for grp in groups],
        "closed": sorted(closed),
        "lazy": lazy,
        "drawings": {
            v: {key: val for key, val in drawings[v].items() if key != "svg"} for v in VIEWS
        },
        "_svg": {v: drawings[v]["svg"] for v in VIEWS},
        "_code": program.code,
    }


def _box_node(box_id: str) -> int:
    """The node a box draws (``n12``, or ``n12_2`` for a leaf drawn again), or -1."""
    base = box_id.split("_")[0]
    return int(base[1:]) if base.startswith("n") and base[1:].isdigit() else -1


def _split(
    parts: SvgParts,
    drawing: Drawing,
    ends: list[list[int]],
    group_of: dict[int, int],
    closed: set[int],
) -> tuple[str, dict[str, str], dict[str, list[str]]]:
    """The drawing (without the XML declaration) without the elements of the groups the page
    draws on demand (``closed``: the closed ones, or every group of a big graph), and those
    elements' markup, which the page inserts when a group is opened or the camera comes near
    it: group → its boxes, arrow → [arrow, label]. Draw's SVG writer hands the elements over
    one by one (``SvgParts``), so nothing is read back from the text."""
    late_nodes: dict[str, list[str]] = {}
    late_arrows: dict[str, list[str]] = {}
    edges: list[str] = []
    labels: list[str | None] = []
    for a, (edge, label) in enumerate(zip(parts.edges, parts.labels, strict=True)):
        if closed and any(group_of.get(k) in closed for k in ends[a]):
            late_arrows[str(a)] = [edge + "\n", "" if label is None else label + "\n"]
        else:
            edges.append(edge)
            labels.append(label)
    nodes: list[str | None] = []
    for box, node in zip(drawing.boxes, parts.nodes, strict=True):
        j = group_of.get(_box_node(box.id))
        if node is not None and j is not None and j in closed:
            late_nodes.setdefault(str(j), []).append(node + "\n")
        else:
            nodes.append(node)
    kept = SvgParts(parts.head[1:], edges, labels, nodes, parts.tail)
    return "\n" + kept.text(), {j: "".join(v) for j, v in late_nodes.items()}, late_arrows


def _group_places(drawing: Drawing, lay: Any, groups: list[Group]) -> dict[str, Any]:
    """Where each group's closed box goes in one drawing: the box of its output (its last output
    drawn there, else its last member drawn); null where it has no box in this drawing. And
    where an open group's ⊟ tab goes: above that box, clear of every arrow (``tabs``)."""
    placed: dict[int, Any] = {}
    for box_id, p in lay.boxes.items():
        k = _box_node(box_id)
        if k >= 0 and k not in placed:
            placed[k] = p
    lids: list[Any] = []
    for grp in groups:
        head = next((placed[k] for k in reversed(grp.outputs) if k in placed), None)
        if head is None:
            head = next((placed[k] for k in reversed(grp.members) if k in placed), None)
        if head is None:
            lids.append(None)
            continue
        lids.append([_r(head.x - head.w / 2), _r(head.y - head.h / 2), _r(head.w), _r(head.h)])
    names = [grp.name for grp in groups]
    tabs = tab_places(lay, lids, names, label_rects(drawing, lay)) if groups else []
    return {"lids": lids, "tabs": tabs}


_LABEL_RECT = re.compile(
    r'<g class="edge-label" data-i="(\d+)">\n<rect x="([-\d.]+)" y="([-\d.]+)" '
    r'width="([-\d.]+)" height="([-\d.]+)"'
)


def _geometry(drawing: Drawing, lay: Any, parts: SvgParts) -> dict[str, Any]:
    """Where every box and every arrow's label sits in the laid-out drawing (top left, width,
    height) and which boxes each arrow joins: the page moves boxes apart or together from these
    when groups open and close (a closed group's space is given back, no two boxes overlap)
    without reading a drawn element."""
    boxes = {
        box_id: [_r(p.x - p.w / 2), _r(p.y - p.h / 2), _r(p.w), _r(p.h)]
        for box_id, p in lay.boxes.items()
    }
    labels = {}
    for piece in parts.labels:
        m = _LABEL_RECT.match(piece) if piece is not None else None
        if m is not None:
            labels[m.group(1)] = [float(m.group(k)) for k in (2, 3, 4, 5)]
    joins = [[a.source, a.target] for a in drawing.arrows]
    return {"boxes": boxes, "labels": labels, "joins": joins}


def _r(v: float) -> float:
    return round(v, 2)


def _input_value(g: Graph, node: Node) -> Any:
    """An input's starting value for the page, which computes in floats: an exact input past
    their range (3e324) cannot start there, and is refused by name."""
    v = _plain(node.value)
    if not np.all(np.isfinite(v)):
        raise ValueInputError(
            f"the explorer computes in floats, and {g.label(node)} is beyond their range "
            "(about ±1.8e308) or not a number: give it a smaller value to explore",
            node=g.label(node),
        )
    return v


def _plain(value: Any) -> Any:
    v = to_float(value)
    return v.tolist() if isinstance(v, np.ndarray) else float(v)


def page_parts(
    graph: Graph, *, digits: int = 5, exact: bool | None = None, collapse: bool | None = None
) -> dict[str, Any]:
    """What both the page and the notebook widget are made of: the body (markup with draw's
    SVGs, every label escaped by the SVG writer), the data, and the program's JavaScript."""
    with gc_paused(), f.text_only():  # the page shows no LaTeX
        return _page_parts(graph, digits=digits, exact=exact, collapse=collapse)


def _page_parts(
    graph: Graph, *, digits: int = 5, exact: bool | None = None, collapse: bool | None = None
) -> dict[str, Any]:
    data = page_data(graph, digits=digits, exact=exact, collapse=collapse)
    svgs = data.pop("_svg")
    code = data.pop("_code")
    title = html_escape(data["title"])
    body = _asset("body.html").format(
        title=title, forward_svg=svgs["forward"], gradients_svg=svgs["gradients"]
    )
    return {"title": title, "body": body, "data": data, "code": code}


LATE_SEPARATOR = "\x01"  # never in draw's SVG: its writer drops control characters from text
_END_TAG = re.compile(r"</(?!g>|text>|title>)", re.I)  # anything that could end a script


def _late_apart(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The data with the markup and the step text of closed groups replaced by numbers, and
    those as one text for a ``<script type="text/plain">``: the page reads a piece only when it
    needs it (a group opened, a step shown), so its first load neither parses them as JSON nor
    keeps thousands of strings. The markup is draw's SVG (labels escaped) and the step text is
    JSON with every < written \\u003c: neither can end the script element."""
    pieces: list[str] = []

    def put(markup: str) -> int | str:
        if not markup:
            return ""
        pieces.append(markup)
        return len(pieces) - 1

    closed = {k for j in data["closed"] for k in data["groups"][j]["members"]}
    steps = []
    for st in data["steps"]:  # a closed group's steps: their text waits too
        if st["node"] in closed:
            text = _script_json({"blocks": st["blocks"], "live": st["live"]})
            st = {k: v for k, v in st.items() if k not in ("blocks", "live")}
            st["late"] = put(text)
        steps.append(st)
    drawings = {}
    for view, d in data["drawings"].items():
        d = dict(d)
        d["lateNodes"] = {j: put(m) for j, m in d["lateNodes"].items()}
        d["lateArrows"] = {a: [put(e), put(lab)] for a, (e, lab) in d["lateArrows"].items()}
        drawings[view] = d
    text = LATE_SEPARATOR.join(pieces)
    if _END_TAG.search(text) or text.count(LATE_SEPARATOR) != max(0, len(pieces) - 1):
        raise RuntimeError("the drawing's markup cannot be kept in a script element")
    return {**data, "steps": steps, "drawings": drawings}, text


def write_page(
    graph: Graph, *, digits: int = 5, exact: bool | None = None, collapse: bool | None = None
) -> str:
    """The explorer page of a graph, as one HTML document."""
    return assemble(page_parts(graph, digits=digits, exact=exact, collapse=collapse))


def assemble(parts: dict[str, Any]) -> str:
    """One HTML document from ``page_parts``."""
    with gc_paused():
        return _assemble(parts)


def _assemble(parts: dict[str, Any]) -> str:
    data, late = _late_apart(parts["data"])
    return _asset("page.html").format(
        title=parts["title"],
        css=_asset("page.css"),
        body=parts["body"],
        data=_script_json(data),
        late=late,
        compute=parts["code"],
        script=_asset("page.js"),
    )
