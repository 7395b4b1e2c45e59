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
  (compact above ``COMPACT_ABOVE`` boxes);
- ``max_width``: the widest the drawing may be, in pixels; wider ranks are laid out in rows.

Gradients are computed on a private copy of the graph (``chainrule.core.snapshot``): drawing never
runs backward on the caller's nodes. Totals are written dL/dz and local partials ∂ŷ/∂z
(``chainrule.lang.symbols``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.autodiff import edge_contribution, grad, topo_order
from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from ..core.snapshot import copy_graph, with_gradients
from ..lang import symbols
from ..lang.naming import Naming, also_called
from ..lang.notation import cancelled, rounding_noise
from . import colours
from .labels import Namer, factor, grad_number, number, partial_text, value_text
from .layout import layout
from .measure import text_width
from .model import DIRECTIONS, VIEWS, Arrow, Box, Drawing, Line, gradient_legend
from .select import Selection, module_groups, select
from .simplify import fold_text, folded, outer_operands, simplify

COMPACT_ABOVE = 150


@dataclass
class Options:
    direction: str = "BT"
    digits: int = 5
    expand: bool = False
    collapse: list[str] | None = None  # None: a PyTorch model's modules (``module_groups``)
    paths_from: list[str] = field(default_factory=list)
    colour: bool | None = None
    constants: bool | None = None
    detail: str = "auto"
    title: str | None = None
    max_width: float | None = None

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
        if opts.max_width is not None and not 200 <= float(opts.max_width) <= 100_000:
            raise ChainruleError(
                f"max width {opts.max_width}: use a number of pixels from 200 to 100000"
            )
        opts.collapse = None if opts.collapse is None else _names(opts.collapse)
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
    if opts.collapse is None:
        opts.collapse = [] if opts.expand else module_groups(g)
    if opts.expand:
        from .scalars import expand  # only for expand=True

        g = expand(g)  # new nodes: the caller's graph is left alone
        if view == "gradients":
            g.backward()
    elif view == "gradients":
        g = with_gradients(g)
    if view == "backward":
        drawing = _backward(g, opts)[0]
    elif view == "forward":
        drawing = _draw(g, view, opts, known=_quiet_gradients(g))
    else:
        drawing = _draw(g, view, opts)
    drawing.max_width = float(opts.max_width) if opts.max_width else None
    if drawing.max_width:
        _fit_labels(drawing, drawing.max_width)
    return drawing


def build_fresh(
    g: Graph, view: str, tips: dict[Node, str] | None = None, **options: Any
) -> Drawing:
    """The forward or gradients drawing of a graph that is already a private copy holding the
    gradients of a fresh backward pass from its output (``core.snapshot.with_gradients``), as
    the explorer's is: ``build`` would copy it and run backward again (for the forward view's
    tooltips too). ``tips`` is shared by the views of one graph: a node's tooltip (the same
    text in both) is written once."""
    if view not in ("forward", "gradients"):
        raise ChainruleError(f"build_fresh draws the forward and gradients views, not {view!r}")
    opts = Options.make(**options)
    if opts.expand or opts.max_width:
        raise ChainruleError("build_fresh draws neither expanded nor width-limited views")
    if opts.collapse is None:
        opts.collapse = module_groups(g)
    known = {n: n.grad for n in g.nodes} if view == "forward" else None
    return _draw(g, view, opts, known=known, tips=tips)


def _fit_labels(drawing: Drawing, max_width: float) -> None:
    """Wrap labels until the laid-out drawing fits ``max_width`` (a few tries, each with
    narrower lines), or the lines reach ``MIN_LINE``: then the rows of boxes are all that is
    left to the layout."""
    original = [list(b.lines) for b in drawing.boxes], [list(a.lines) for a in drawing.arrows]
    share = LINE_SHARE
    for _ in range(4):
        for box, lines in zip(drawing.boxes, original[0], strict=True):
            box.lines = list(lines)
        for arrow, lines in zip(drawing.arrows, original[1], strict=True):
            arrow.lines = list(lines)
        limit = _wrap_lines(drawing, max_width, share)
        if limit <= MIN_LINE or layout(drawing).width <= max_width:
            return
        share *= 0.75


#: the widest line of a box or arrow label, as a share of --max-width: rows of boxes are laid
#: out side by side, so no single label may take the whole width
LINE_SHARE = 0.2
MIN_LINE = 220.0  # points: narrower lines would cut formulas into pieces of a word or two


def _wrap_lines(drawing: Drawing, max_width: float, share: float = LINE_SHARE) -> float:
    """Honour ``max_width`` in the labels themselves: a line wider than its share is wrapped
    at spaces (after a colon or an equals sign when there is one), never cut, so long PyTorch
    labels (``passes back to dloss/dconv.weight: 2×1×3×3: mean …``) fold into a few lines."""
    limit = max(MIN_LINE, share * max_width)

    def wrapped(lines: list[Line], in_box: bool) -> list[Line]:
        out: list[Line] = []
        for line in lines:
            bold = line.role == "title" and in_box
            if text_width(line.text, bold=bold) <= limit:
                out.append(line)
                continue
            current = ""
            for word in line.text.split(" "):
                trial = f"{current} {word}" if current else word
                if current and text_width(trial, bold=bold) > limit:
                    out.append(Line(current, line.role))
                    current = word
                else:
                    current = trial
            if current:
                out.append(Line(current, line.role))
        return out

    for box in drawing.boxes:
        box.lines = wrapped(box.lines, True)
    for arrow in drawing.arrows:
        arrow.lines = wrapped(arrow.lines, False)
    return limit


def _quiet_gradients(g: Graph) -> dict[Node, Any]:
    """Gradients for the forward view's tooltips, from a copy; none when backward fails."""
    try:
        copy, made = copy_graph(g)
        copy.backward()
    except (ChainruleError, ArithmeticError, ValueError, TypeError):
        return {}
    return {n: made[n].grad for n in g.nodes}


def _top(g: Graph, namer: Namer) -> str:
    """The top of every total: the output's name, or (Σy) for a vector output."""
    name = namer.name(g.output)
    return symbols.summed_text(_bare(name)) if symbols.is_vector(g.output.value) else name


def _bare(name: str) -> str:
    """A name without the brackets an expression takes in a derivative, for a place that
    brackets it itself: (a₁ · a₂ + a₁), never ((a₁ · a₂ + a₁))."""
    inner = name[1:-1]
    return inner if inner and symbols.in_derivative(inner) == name else name


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
    known: dict[Node, Any] | None = None,
    through: set[Node] | None = None,
    tips: dict[Node, str] | None = None,
) -> Drawing:
    """The boxes and arrows of the forward or gradients view (and of the backward view, with
    its ``marks`` and ``new`` nodes, and the shape nodes drawn ``through`` an edge). ``known``
    gives gradients for the tooltips of views that do not draw them; ``tips``, tooltips already
    written for these nodes with these gradients (``build_fresh``), is read and filled."""
    gradients = view == "gradients"
    show_consts = opts.constants if opts.constants is not None else not gradients
    sel: Selection = select(g, opts.collapse or [], opts.paths_from, show_consts, gradients)
    for n in through or ():  # drawn inside an edge (``_arrows``), unless in a collapsed group
        key = sel.key.get(n)
        members = sel.boxes.get(key) if key is not None else None
        if key is not None and members is not None and len(members) == 1 and members[0] is n:
            del sel.key[n], sel.boxes[key]
    through = {n for n in through or () if n not in sel.key}
    compact = _compact(opts, len(sel.boxes))
    namer = Namer(g.naming, opts.digits, also_called(g.aliases, g.naming))
    colour = opts.colour if opts.colour is not None else (gradients and compact)
    out_name = namer.name(g.output)
    top = _top(g, namer)
    consumers = g.consumers() if gradients else {}
    boxes: list[Box] = []
    for key, members in sel.boxes.items():
        head = members[-1]
        if len(members) > 1:
            box = _group_box(key, head, members, sel.group_names[key], view, namer, opts, top)
        elif gradients:
            box = _grad_box(key, head, namer, opts, top, consumers, sel, compact)
            if head is g.output and symbols.is_vector(head.value):
                box.lines.append(Line(f"seed: ones, the gradient of Σ{out_name}", "note"))
        else:
            box = _forward_box(key, head, namer, opts, compact)
        if len(members) == 1:
            tip = tips.get(head) if tips is not None else None
            if tip is None:
                known_grad = head.grad if gradients else (known or {}).get(head)
                tip = tooltip(head, namer, opts.digits, top, known_grad)
                if tips is not None:
                    tips[head] = tip
            box.tooltip = tip
        if head is g.output and box.category != "group":
            box.category = "output"
        if marks and head in marks:
            box.lines.append(Line(" = ".join(marks[head]), "grad"))
            box.category = "result"
        elif new is not None and head in new and box.category in ("op", "const"):
            box.category = "gradient"
        if colour and head.grad is not None:
            box.fill = colours.gradient_fill(head.grad)
        boxes.append(box)
    arrows = _arrows(g, sel, gradients, namer, opts, compact, top, through)
    _arrow_tooltips(arrows, boxes)
    if compact:
        boxes = _split_leaves(boxes, arrows, sel)
    drawing = Drawing(
        view=view,
        boxes=boxes,
        arrows=arrows,
        direction=opts.direction,
        title=opts.title if opts.title is not None else _title(view, out_name, top, g.output),
    )
    if colour:
        drawing.legend = gradient_legend()
    return drawing


SPLIT_USES = 3  # in compact drawings, a leaf used this often is drawn once per use


def _split_leaves(boxes: list[Box], arrows: list[Arrow], sel: Selection) -> list[Box]:
    """Draw much-used leaves (x, a constant) once beside each use: long edges that cross the
    whole graph make big drawings unreadable and their layout slow."""
    uses: dict[str, int] = {}
    leaves = {k for k, members in sel.boxes.items() if len(members) == 1 and not members[0].args}
    for a in arrows:
        end = a.source if a.category == "data" else a.target
        if end in leaves:
            uses[end] = uses.get(end, 0) + 1
    split = {k for k, n in uses.items() if n >= SPLIT_USES}
    if not split:
        return boxes
    originals = {b.id: b for b in boxes if b.id in split}
    kept = [b for b in boxes if b.id not in split]
    for k, a in enumerate(arrows):
        end = a.source if a.category == "data" else a.target
        if end not in originals:
            continue
        box = originals[end]
        copy = Box(f"{end}_{k}", [Line(x.text, x.role) for x in box.lines], box.category, box.fill)
        copy.tooltip = box.tooltip
        kept.append(copy)
        if a.category == "data":
            a.source = copy.id
        else:
            a.target = copy.id
    return kept


def _title(view: str, out: str, top: str, output: Node) -> str:
    bare = _bare(out)
    if view == "forward":
        return f"Forward pass: the value of every node ({bare})"
    if view == "gradients":
        seed = ""
        if symbols.is_vector(output.value):
            seed = f" from a seed of ones ({bare} is a vector: the gradient of Σ{out})"
        return (
            f"Backward pass{seed}: the total {symbols.total_text(top, 'node')} on every node; "
            "on every edge the local partial ∂ and the product passed back"
        )
    return f"The gradient of {out} computed as a graph"


def _arrow_tooltips(arrows: list[Arrow], boxes: list[Box]) -> None:
    """Each arrow's tooltip names the boxes it joins by their titles, with its own labels."""
    titles = {b.id: b.title for b in boxes}
    for a in arrows:
        if a.tooltip:
            continue
        ends = f"{titles.get(a.source, '')} → {titles.get(a.target, '')}"
        a.tooltip = "\n".join([ends, *(line.text for line in a.lines)])


def _forward_box(key: str, node: Node, namer: Namer, opts: Options, compact: bool) -> Box:
    if not node.args:
        category = "input" if node.op.name == "input" else "const"
        title = namer.title(node)
        lines = [Line(title, "title")]
        if node in namer.naming:
            lines.append(Line(_value(node, namer, opts, compact), "value"))
        return Box(key, lines, category)
    if compact:
        labelled = namer.naming.is_atom(node)
        label = "⊗" if outer_operands(node) is not None else node.op.label_for(node.params)
        name = namer.fallback(node)
        title = f"{name} = {label}" if labelled and name != label else label
    else:
        title = namer.title(node)
    lines = [Line(title, "title"), Line(_value(node, namer, opts, compact), "value")]
    return Box(key, lines + _opaque_note(node), "op")


def _opaque_note(node: Node) -> list[Line]:
    """An op PyTorch computed says so on its box: chainrule has no formula for it."""
    if node.op.name != "torch_opaque":
        return []
    return [Line(f"opaque: {node.op.label_for(node.params)}, value and vjp by PyTorch", "note")]


def _value(node: Node, namer: Namer, opts: Options, compact: bool) -> str:
    if compact:
        return number(node.value, opts.digits)
    return value_text(node, opts.digits, namer.naming)


def tooltip(node: Node, namer: Namer, digits: int, top: str, gradient: Any) -> str:
    """What hovering a box shows: name and definition, value, and the gradient when known."""
    if node.args:
        head = namer.title(node)
        if not node.name:
            head = f"{head} (unnamed)"
    else:
        what = "input" if node.op.name == "input" else "constant"
        head = f"{node.name} ({what})" if node.name else f"constant {number(node.value, digits)}"
    lines = [head, f"value: {value_text(node, digits)}"]
    if gradient is not None:
        lines.append(
            f"{symbols.total_text(top, namer.name(node))} = {grad_number(gradient, digits)}"
        )
    return "\n".join(lines)


def _grad_box(
    key: str,
    node: Node,
    namer: Namer,
    opts: Options,
    top: str,
    consumers: dict[Node, list[tuple[Node, int]]],
    sel: Selection,
    compact: bool,
) -> Box:
    category = "input" if node.op.name == "input" else ("const" if not node.args else "op")
    name = namer.name(node)
    labelled = namer.naming.is_atom(node)
    title = name if (compact or not node.args or labelled) else namer.title(node)
    if compact and node.args and not labelled:
        title = node.op.label_for(node.params)
    lines = [Line(title, "title"), *_opaque_note(node)]
    if node.grad is None:
        lines.append(Line("no gradient (constant)", "note"))
        return Box(key, lines, category)
    total = grad_number(node.grad, opts.digits)
    head = symbols.total_text(top, name) if not compact else "d"
    raw = []
    for consumer, i in consumers.get(node, []):
        if consumer not in sel.key:
            continue
        c = edge_contribution(consumer, i)
        if c is not None:
            raw.append(c)
    terms = [_term_text(c, noise, opts.digits) for c, noise in zip(raw, rounding_noise(raw))]
    if len(raw) > 1 and cancelled(node.grad, raw):
        total = "0 (up to rounding)"
    if len(terms) > 1 and not compact:
        summed = " + ".join(terms) if len(terms) <= 4 else f"the sum of {len(terms)} terms"
        lines.append(Line(f"{head} = {summed}".replace("+ −", "− "), "grad"))
        lines.append(Line(f"= {total}", "grad"))
    else:
        lines.append(Line(f"{head} = {total}", "grad"))
    return Box(key, lines, category)


def _term_text(c: Any, noise: Any, digits: int) -> str:
    """A term of a fan-out sum; a term that is zero up to rounding next to the others is
    written ≈0 (elementwise 0 in an array), never as −5.5511e-17."""
    if noise is True:
        return "≈0"
    if isinstance(noise, np.ndarray) and noise.any():
        return number(np.where(noise, 0.0, c), digits)
    return number(c, digits)


def _group_box(
    key: str,
    head: Node,
    members: list[Node],
    name: str,
    view: str,
    namer: Namer,
    opts: Options,
    top: str,
) -> Box:
    lines = [Line(name, "title"), Line(f"{len(members)} nodes collapsed", "note")]
    if view == "gradients" and head.grad is not None:
        total = symbols.total_text(top, namer.name(head))
        lines.append(Line(f"{total} = {number(head.grad, opts.digits)}", "grad"))
    else:
        lines.append(Line(f"{namer.name(head)} = {number(head.value, opts.digits)}", "value"))
    return Box(key, lines, "group", tooltip=f"{name}: {len(members)} nodes collapsed")


def _arrows(
    g: Graph,
    sel: Selection,
    gradients: bool,
    namer: Namer,
    opts: Options,
    compact: bool,
    top: str,
    through: set[Node],
) -> list[Arrow]:
    """One arrow per edge of the graph (x · x has two), except into or out of a collapsed
    group, where the edges between the same two boxes are drawn once. An edge that runs
    ``through`` folded shape nodes starts at the box below them and says what they did (``ᵀ``,
    ``↦ 2×1``), except into an outer product x ⊗ y, which takes its vectors as they are."""
    arrows: list[Arrow] = []
    seen: set[tuple[str, str]] = set()
    for node in g.nodes:
        target = sel.key.get(node)
        if target is None:
            continue
        outer = outer_operands(node) if through else None
        for i, a in enumerate(node.args):
            folded_lines: list[Line] = []
            if a in through:
                chain = []
                while a in through:
                    chain.append(a)
                    a = a.args[0]
                if outer is None:
                    folded_lines = [Line(fold_text(chain[::-1]), "note")]
            source = sel.key.get(a)
            if source is None or source == target:
                continue
            grouped = node in sel.grouped or a in sel.grouped
            pair = (target, source) if gradients else (source, target)
            if grouped and pair in seen:
                continue
            seen.add(pair)
            if gradients and (not a.requires_grad or node.grad is None):
                if opts.constants:
                    arrows.append(Arrow(target, source, [], "faint"))
                continue
            if not gradients:
                arrows.append(Arrow(source, target, folded_lines, "data"))
                continue
            lines = [] if compact or grouped else edge_lines(node, i, namer, opts.digits, top)
            arrows.append(Arrow(target, source, lines, "gradient"))
    return arrows


def edge_lines(node: Node, i: int, namer: Namer, digits: int, top: str) -> list[Line]:
    """The labels of edge i of ``node`` in the gradients view: the local partial (formula and
    value) and the chain-rule product it passes back, written with · ⊙ or Σ as it is."""
    c = edge_contribution(node, i)
    if c is None:
        return []
    carried = grad_number(c, digits)
    partial = partial_text(node, i, namer, digits)
    local = node.local[i] if node.local is not None else None
    if partial is None or local is None:
        into = symbols.total_text(top, namer.name(node.args[i]))
        return [Line(f"passes back to {into}: {carried}", "grad")]
    symbol, summed = symbols.product_symbol(node.grad, local, c)
    product = f"{factor(number(node.grad, digits))} {symbol} {factor(number(local, digits))}"
    if summed:
        product = f"Σ({product})"
    return [Line(partial, "value"), Line(f"{product} = {carried}", "grad")]


def backward_view(graph: Graph | Node, **options: Any) -> tuple[Drawing, Graph]:
    """The backward view with the graph it draws (box ``n<i>`` draws ``graph.nodes[i]``), so
    that a drawing's numbers can be checked against the nodes that computed them."""
    opts = Options.make(**options)
    g = as_graph(graph)
    if opts.collapse is None:
        opts.collapse = module_groups(g)
    return _backward(g, opts)


def _backward(g: Graph, opts: Options) -> tuple[Drawing, Graph]:
    """The gradient computation drawn as a graph: the nodes ``autodiff.grad`` builds, on top of
    the forward graph, simplified for reading (``simplify``); returns the graph drawn too."""
    out = g.output
    namer = Namer(g.naming, opts.digits, also_called(g.aliases, g.naming))
    bg, marks, through = backward_graph(g)
    forward_nodes = set(g.nodes)
    new = {n for n in bg.nodes if n not in forward_nodes}
    seed = ""
    if symbols.is_vector(out.value):
        name = namer.name(out)
        seed = f" from a seed of ones ({_bare(name)} is a vector: the gradient of Σ{name})"
    title = opts.title or (
        f"The gradient of {namer.name(out)} computed as a graph{seed}: white boxes are the "
        "forward pass, orange boxes compute the gradient, red borders hold the gradients"
    )
    local = Options(**{**opts.__dict__, "title": title})
    return _draw(bg, "backward", local, marks=marks, new=new, through=through), bg


def backward_graph(g: Graph) -> tuple[Graph, dict[Node, list[str]], set[Node]]:
    """The graph the backward view draws: ``autodiff.grad``'s nodes on top of the forward
    graph, simplified for reading (``simplify``); each node holding a gradient → the totals it
    holds (dL/dx); and the shape nodes drawn inside an edge rather than as a box
    (``simplify.folded``). Every drawn value is a node's own value, computed by its op."""
    out = g.output
    targets = [n for n in g.nodes if n.op.name == "input" and n.requires_grad]
    if not targets:
        raise ChainruleError("the graph has no inputs to differentiate with respect to")
    namer = Namer(g.naming, 5, also_called(g.aliases, g.naming))
    top = _top(g, namer)
    grads = grad(out, targets)
    forward_nodes = set(g.nodes)
    roots, shown = simplify([out, *grads], forward_nodes)
    marks: dict[Node, list[str]] = {}
    for t, gnode in zip(targets, shown[1:], strict=True):
        marks.setdefault(gnode, []).append(symbols.total_text(top, namer.name(t)))
    unique = list(dict.fromkeys(roots))
    nodes = topo_order(unique)
    through = folded(nodes, forward_nodes, set(shown))
    naming = Naming(nodes, base=g.naming, through=through)
    return Graph(unique, names_from=g, naming=naming), marks, through
