"""Graph + view → Drawing: the forward values, the gradients, or the gradient graph.

Options shared by the views:

- ``direction``: ``BT`` (inputs at the bottom, as in the exercise), ``TB``, ``LR`` or ``RL``;
- ``digits``: significant digits of decimals (5);
- ``expand``: draw vectors and matrices as one box per element (w₁, w₂, …);
- ``collapse``: names (or name prefixes such as ``layer1``) whose sub-expression becomes one box;
- ``paths_from``: keep only the nodes on a path from these inputs to the output;
- ``colour``: fill boxes by the magnitude of their gradient (``True``/``False``; automatic for
  big gradient drawings);
- ``constants``: draw constant leaves (default: in the forward view only);
- ``detail``: ``full`` (formulas and exact forms), ``compact`` (names and decimals) or ``auto``
  (compact above ``COMPACT_ABOVE`` boxes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..autodiff import edge_contribution, grad
from ..errors import ChainruleError
from ..graph import Graph
from ..node import Node
from . import colours
from .labels import Namer, factor, grad_number, number, partial_text, value_text
from .model import DIRECTIONS, Arrow, Box, Drawing, Line
from .select import Selection, select

VIEWS = ("forward", "gradients", "backward")
COMPACT_ABOVE = 150


@dataclass
class Options:
    direction: str = "BT"
    digits: int = 5
    expand: bool = False
    collapse: list[str] = field(default_factory=list)
    paths_from: list[str] = field(default_factory=list)
    colour: bool | None = None
    constants: bool | None = None
    detail: str = "auto"
    title: str | None = None

    @classmethod
    def make(cls, **options: Any) -> Options:
        if "color" in options:
            options["colour"] = options.pop("color")
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            known = ", ".join(sorted(cls.__dataclass_fields__))
            raise ChainruleError(
                f"unknown drawing option {sorted(unknown)[0]!r} (options: {known})"
            )
        opts = cls(**options)
        opts.direction = str(opts.direction).upper()
        if opts.direction not in DIRECTIONS:
            raise ChainruleError(
                f"direction {opts.direction!r}: use one of {', '.join(DIRECTIONS)}"
            )
        if opts.detail not in ("auto", "full", "compact"):
            raise ChainruleError(f"detail {opts.detail!r}: use auto, full or compact")
        if not 1 <= int(opts.digits) <= 17:
            raise ChainruleError(f"digits {opts.digits}: use a number from 1 to 17")
        opts.collapse = _names(opts.collapse)
        opts.paths_from = _names(opts.paths_from)
        return opts


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def as_graph(graph_or_node: Graph | Node) -> Graph:
    if isinstance(graph_or_node, Graph):
        return graph_or_node
    if isinstance(graph_or_node, Node):
        return Graph(graph_or_node)
    raise ChainruleError(
        f"cannot draw a {type(graph_or_node).__name__}: pass a chainrule Graph or Node"
    )


def build(graph: Graph | Node, view: str = "forward", **options: Any) -> Drawing:
    """The drawing of one view of a graph, with plain-text labels, ready for any writer."""
    opts = Options.make(**options)
    g = as_graph(graph)
    if view not in VIEWS:
        raise ChainruleError(f"unknown view {view!r}: use {', '.join(VIEWS)}")
    if opts.expand:
        from .scalars import expand

        g = expand(g)
    if view == "backward":
        return _backward(g, opts)
    if view == "gradients":
        _ensure_gradients(g)
    return _draw(g, view, opts)


def _ensure_gradients(g: Graph) -> None:
    if g.output.grad is None:
        g.backward()


def _compact(opts: Options, count: int) -> bool:
    if opts.detail == "auto":
        return count > COMPACT_ABOVE
    return opts.detail == "compact"


def _draw(
    g: Graph,
    view: str,
    opts: Options,
    marks: dict[Node, list[str]] | None = None,
    new: set[Node] | None = None,
) -> Drawing:
    gradients = view == "gradients"
    show_consts = opts.constants if opts.constants is not None else not gradients
    sel: Selection = select(g, opts.collapse, opts.paths_from, show_consts, gradients)
    compact = _compact(opts, len(sel.boxes))
    namer = Namer(g.naming, opts.digits)
    colour = opts.colour if opts.colour is not None else (gradients and compact)
    out_name = namer.name(g.output)
    consumers = g.consumers() if gradients else {}
    boxes: list[Box] = []
    for key, members in sel.boxes.items():
        head = members[-1]
        if len(members) > 1:
            box = _group_box(key, head, members, sel.group_names[key], view, namer, opts, out_name)
        elif gradients:
            box = _grad_box(key, head, namer, opts, out_name, consumers, sel, compact)
        else:
            box = _forward_box(key, head, namer, opts, compact)
        if head is g.output and box.kind != "group":
            box.kind = "output"
        if marks and head in marks:
            box.lines.append(Line(" = ".join(marks[head]), "grad"))
            box.kind = "result"
        elif new is not None and head in new and box.kind in ("op", "const"):
            box.kind = "gradient"
        if colour and head.grad is not None:
            box.fill = colours.gradient_fill(head.grad)
        boxes.append(box)
    arrows = _arrows(g, sel, gradients, namer, opts, compact)
    if compact:
        boxes = _split_leaves(boxes, arrows, sel)
    drawing = Drawing(
        view=view,
        boxes=boxes,
        arrows=arrows,
        direction=opts.direction,
        title=opts.title if opts.title is not None else _title(view, out_name),
    )
    if colour:
        drawing.legend = colours.legend()
    return drawing


SPLIT_USES = 3  # in compact drawings, a leaf used this often is drawn once per use


def _split_leaves(boxes: list[Box], arrows: list[Arrow], sel: Selection) -> list[Box]:
    """Draw much-used leaves (x, a constant) once beside each use: long edges that cross the
    whole graph make big drawings unreadable and their layout slow."""
    uses: dict[str, int] = {}
    leaves = {k for k, members in sel.boxes.items() if len(members) == 1 and not members[0].args}
    for a in arrows:
        end = a.source if a.kind == "data" else a.target
        if end in leaves:
            uses[end] = uses.get(end, 0) + 1
    split = {k for k, n in uses.items() if n >= SPLIT_USES}
    if not split:
        return boxes
    originals = {b.id: b for b in boxes if b.id in split}
    kept = [b for b in boxes if b.id not in split]
    for k, a in enumerate(arrows):
        end = a.source if a.kind == "data" else a.target
        if end not in originals:
            continue
        box = originals[end]
        copy = Box(f"{end}_{k}", [Line(x.text, x.role) for x in box.lines], box.kind, box.fill)
        copy.tooltip = box.tooltip
        kept.append(copy)
        if a.kind == "data":
            a.source = copy.id
        else:
            a.target = copy.id
    return kept


def _title(view: str, out: str) -> str:
    if view == "forward":
        return f"Forward pass: the value of every node ({out})"
    if view == "gradients":
        return f"Backward pass: ∂{out}/∂node on every node, local partial × upstream on every edge"
    return f"The gradient of {out} computed as a graph"


def _forward_box(key: str, node: Node, namer: Namer, opts: Options, compact: bool) -> Box:
    if not node.args:
        kind = "input" if node.op.name == "input" else "const"
        title = namer.title(node)
        lines = [Line(title, "title")]
        if node in namer.naming:
            lines.append(Line(_value(node, namer, opts, compact), "value"))
        return Box(key, lines, kind, tooltip=title)
    if compact:
        labelled = namer.naming.is_atom(node)
        title = f"{namer.fallback(node)} = {node.op.label}" if labelled else node.op.label
    else:
        title = namer.title(node)
    return Box(
        key,
        [Line(title, "title"), Line(_value(node, namer, opts, compact), "value")],
        "op",
        tooltip=f"{namer.fallback(node)}: {node.op.name}",
    )


def _value(node: Node, namer: Namer, opts: Options, compact: bool) -> str:
    if compact:
        return number(node.value, opts.digits)
    return value_text(node, opts.digits, namer.naming)


def _grad_box(
    key: str,
    node: Node,
    namer: Namer,
    opts: Options,
    out: str,
    consumers: dict[Node, list[tuple[Node, int]]],
    sel: Selection,
    compact: bool,
) -> Box:
    kind = "input" if node.op.name == "input" else ("const" if not node.args else "op")
    name = namer.name(node)
    labelled = namer.naming.is_atom(node)
    title = name if (compact or not node.args or labelled) else namer.title(node)
    if compact and node.args and not labelled:
        title = node.op.label
    lines = [Line(title, "title")]
    if node.grad is None:
        lines.append(Line("no gradient (constant)", "note"))
        return Box(key, lines, kind)
    total = grad_number(node.grad, opts.digits)
    head = f"∂{out}/∂{name}" if not compact else "∂"
    terms = []
    for consumer, i in consumers.get(node, []):
        if consumer not in sel.key:
            continue
        c = edge_contribution(consumer, i)
        if c is not None:
            terms.append(number(c, opts.digits))
    if len(terms) > 1 and not compact:
        summed = " + ".join(terms) if len(terms) <= 4 else f"the sum of {len(terms)} terms"
        lines.append(Line(f"{head} = {summed}".replace("+ −", "− "), "grad"))
        lines.append(Line(f"= {total}", "grad"))
    else:
        lines.append(Line(f"{head} = {total}", "grad"))
    return Box(key, lines, kind, tooltip=f"{namer.fallback(node)}: {node.op.name}")


def _group_box(
    key: str,
    head: Node,
    members: list[Node],
    name: str,
    view: str,
    namer: Namer,
    opts: Options,
    out: str,
) -> Box:
    lines = [Line(name, "title"), Line(f"{len(members)} nodes collapsed", "note")]
    if view == "gradients" and head.grad is not None:
        lines.append(Line(f"∂{out}/∂{namer.name(head)} = {number(head.grad, opts.digits)}", "grad"))
    else:
        lines.append(Line(f"{namer.name(head)} = {number(head.value, opts.digits)}", "value"))
    return Box(key, lines, "group", tooltip=name)


def _arrows(
    g: Graph, sel: Selection, gradients: bool, namer: Namer, opts: Options, compact: bool
) -> list[Arrow]:
    arrows: list[Arrow] = []
    seen: set[tuple[str, str]] = set()
    out = namer.name(g.output)
    for node in g.nodes:
        target = sel.key.get(node)
        if target is None:
            continue
        for i, a in enumerate(node.args):
            source = sel.key.get(a)
            if source is None or source == target:
                continue
            if gradients and (not a.requires_grad or node.grad is None):
                if opts.constants:
                    pair = (target, source)
                    if pair not in seen:
                        seen.add(pair)
                        arrows.append(Arrow(target, source, [], "faint"))
                continue
            pair = (target, source) if gradients else (source, target)
            if pair in seen:
                # a second use of the same input (x · x): one arrow, both labels
                if gradients and not compact:
                    for existing in arrows:
                        if (existing.source, existing.target) == pair:
                            existing.lines.extend(_grad_lines(node, i, namer, opts, out))
                continue
            seen.add(pair)
            if not gradients:
                arrows.append(Arrow(source, target, [], "data"))
                continue
            lines = [] if compact or node in sel.grouped else _grad_lines(node, i, namer, opts, out)
            arrows.append(Arrow(target, source, lines, "gradient"))
    return arrows


def _grad_lines(node: Node, i: int, namer: Namer, opts: Options, out: str) -> list[Line]:
    c = edge_contribution(node, i)
    if c is None:
        return []
    carried = grad_number(c, opts.digits)
    partial = partial_text(node, i, namer, out, opts.digits)
    upstream = number(node.grad, opts.digits)
    if partial is None:
        return [Line(f"carries {carried}", "grad")]
    local = node.local[i] if node.local is not None else None
    lines = [Line(partial, "value")]
    product = f"{factor(upstream)} × {factor(number(local, opts.digits))}"
    lines.append(Line(f"{product} = {carried}", "grad"))
    return lines


def _backward(g: Graph, opts: Options) -> Drawing:
    """The gradient computation drawn as a graph: the nodes ``autodiff.grad`` builds."""
    out = g.output
    targets = [n for n in g.nodes if n.op.name == "input" and n.requires_grad]
    if not targets:
        raise ChainruleError("the graph has no inputs to differentiate with respect to")
    namer = Namer(g.naming, opts.digits)
    grads = grad(out, targets)
    marks: dict[Node, list[str]] = {}
    out_name = namer.name(out)
    for t, gnode in zip(targets, grads, strict=True):
        marks.setdefault(gnode, []).append(f"∂{out_name}/∂{namer.name(t)}")
    bg = Graph(list(dict.fromkeys(grads)), names_from=g)
    forward_nodes = set(g.nodes)
    new = {n for n in bg.nodes if n not in forward_nodes}
    opts.title = (
        opts.title
        or f"The gradient of {out_name} computed as a graph "
        "(orange: gradient nodes, red border: the gradients)"
    )
    drawing = _draw(bg, "backward", opts, marks=marks, new=new)
    return drawing
