"""DOT: a standalone Graphviz file with the labels, for people who run ``dot`` themselves.

Labels are Graphviz HTML-like labels; ``dot_escape`` turns every label into entity-escaped text,
so no name can close a string, add an attribute or inject markup. Node ids are generated
(``n<position>``), fills are ``#rrggbb`` and the direction one of four words: no other field of
the drawing is written."""

from __future__ import annotations

import re

from ..colours import STROKES, TEXT, fill_of
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
    title = ""
    if drawing.title:
        title = f", labelloc=t, label={_label([Line(drawing.title, 'title')], True)}"
    out = [
        "digraph chainrule {",
        f"  graph [rankdir={direction_of(drawing)}, nodesep=0.3, ranksep=0.45, "
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
    for arrow in drawing.arrows:
        if arrow.source not in number or arrow.target not in number:
            continue
        category = arrow_category(arrow)
        colour = STROKES.get(category, "#333333")
        attrs = [f'color="{colour}"']
        source, target = f"n{number[arrow.source]}", f"n{number[arrow.target]}"
        if category in ("gradient", "faint"):
            # drawn against the data flow: keep the ranks of the forward graph
            tail, head = target, source
            attrs.append("dir=back")
        else:
            tail, head = source, target
        if category == "faint":
            attrs.append("style=dashed")
        if arrow.lines:
            attrs.append(f"label={_label(arrow.lines, False)}")
        out.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
    if drawing.legend:
        out.append(f"  legend [shape=plaintext, label={_label(drawing.legend, False)}];")
    out.append("}")
    return "\n".join(out) + "\n"
