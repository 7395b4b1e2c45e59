"""DOT: a standalone Graphviz file with the labels, for people who run ``dot`` themselves.

Labels are Graphviz HTML-like labels; ``dot_escape`` turns every label into entity-escaped text,
so no name can close a string, add an attribute or inject markup. Node ids are generated
(``n<position>``), fills are ``#rrggbb`` and the direction one of four words: no other field of
the drawing is written."""

from __future__ import annotations

import re

from ..colours import STROKES, TEXT, fill_of
from ..layout import LABEL_RANKSEP, LABEL_SIDES, NODESEP, RANKSEP
from ..measure import FONT_FAMILY
from ..model import Drawing, Line, arrow_category, box_category, direction_of

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def dot_escape(text: str) -> str:
    """Text inside a Graphviz HTML-like label: markup and quoting characters become entities
    (``[``, ``]`` and ``\\`` too, so that nothing is read as DOT syntax or an escape)."""
    text = _CONTROL.sub("", text)
    out = []
    for ch in text:
        if ch in "&<>\"'[]\\{}|":
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def _label(lines: list[Line], in_box: bool) -> str:
    rows = []
    for line in lines:
        size = 14 if line.role == "title" else 13
        if not in_box:
            size = 12
        text = dot_escape(line.text)
        if line.role == "title" and in_box:
            text = f"<B>{text}</B>"
        colour = TEXT.get(line.role, "#000000")
        rows.append(f'<FONT POINT-SIZE="{size}" COLOR="{colour}">{text}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


def write_dot(drawing: Drawing) -> str:
    """The drawing as a DOT file. An arrow's label is a node of its own on the arrow's way, as
    chainrule lays drawings out (see ``layout.layout_dot``): dot's own edge labels sit beside
    their edge, where the next edge may start, and a number could be read as another edge's."""
    title = ""
    if drawing.title:
        title = f", labelloc=t, label={_label([Line(drawing.title, 'title')], True)}"
    labelled = any(arrow.lines for arrow in drawing.arrows)
    ranksep = LABEL_RANKSEP if labelled else RANKSEP
    out = [
        "digraph chainrule {",
        f"  graph [rankdir={direction_of(drawing)}, nodesep={NODESEP}, ranksep={ranksep}, "
        f'fontname="{FONT_FAMILY}"{title}];',
        f'  node [shape=box, style="rounded,filled", fontname="{FONT_FAMILY}", penwidth=1.2];',
        f'  edge [fontname="{FONT_FAMILY}", arrowsize=0.8];',
    ]
    number = drawing.numbers()
    for k, box in enumerate(drawing.boxes):
        category = box_category(box)
        attrs = [f"label={_label(box.lines, True)}"]
        attrs.append(f'fillcolor="{fill_of(box)}"')
        if category == "output":
            attrs.append("penwidth=2.4")
        elif category == "result":
            attrs.append(f'penwidth=2.4, color="{STROKES["gradient"]}"')
        elif category == "const":
            attrs.append('style="rounded,filled,dashed", color="#888888"')
        elif category == "group":
            attrs.append('style="rounded,filled,dashed", penwidth=2')
        if box.tooltip:
            attrs.append(f"tooltip={_label([Line(box.tooltip)], True)}")
        out.append(f"  n{k} [{', '.join(attrs)}];")
    near, far = LABEL_SIDES[direction_of(drawing)]
    for k, arrow in enumerate(drawing.arrows):
        if arrow.source not in number or arrow.target not in number:
            continue
        category = arrow_category(arrow)
        colour = STROKES.get(category, "#333333")
        attrs = [f'color="{colour}"']
        source, target = f"n{number[arrow.source]}", f"n{number[arrow.target]}"
        back = category in ("gradient", "faint")
        # drawn against the data flow: keep the ranks of the forward graph
        tail, head = (target, source) if back else (source, target)
        if category == "faint":
            attrs.append("style=dashed")
        if not arrow.lines:
            if back:
                attrs.append("dir=back")
            if labelled:
                attrs.append("minlen=2")  # a rank for the labels between two ranks of boxes
            out.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
            continue
        out.append(
            f"  l{k} [label={_label(arrow.lines, False)}, style=filled, fillcolor=white, "
            'color=white, margin="0.08,0.06"];'
        )
        into = [*attrs, "dir=back" if back else "dir=none", f"headport={near}"]
        onto = [*attrs, "dir=none" if back else "dir=forward", f"tailport={far}"]
        out.append(f"  {tail} -> l{k} [{', '.join(into)}];")
        out.append(f"  l{k} -> {head} [{', '.join(onto)}];")
    if drawing.legend:
        out.append(f"  legend [shape=plaintext, label={_label(drawing.legend, False)}];")
    out.append("}")
    return "\n".join(out) + "\n"
