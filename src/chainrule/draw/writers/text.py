"""The terminal drawing: a tree from the output down to the inputs, every number shown.

A node used twice is drawn once and referred to afterwards (``↑ z, drawn above``). The walk is
iterative, so deep graphs print as well as shallow ones. ``text_escape`` drops control
characters, so a name cannot move the cursor or change the terminal's colours."""

from __future__ import annotations

import re

from ..model import Drawing, arrow_category

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_escape(text: str) -> str:
    return _CONTROL.sub("?", text)


def write_text(drawing: Drawing) -> str:
    boxes = {b.id: b for b in drawing.boxes}
    children: dict[str, list[tuple[str, list[str]]]] = {b.id: [] for b in drawing.boxes}
    has_parent: set[str] = set()
    for a in drawing.arrows:
        if a.source not in boxes or a.target not in boxes:
            continue
        # parent = the consumer: the target of a data arrow, the source of a gradient arrow
        if arrow_category(a) == "data":
            parent, child = a.target, a.source
        else:
            parent, child = a.source, a.target
        children[parent].append((child, [line.text for line in a.lines]))
        has_parent.add(child)
    roots = [b.id for b in reversed(drawing.boxes) if b.id not in has_parent]
    out = [text_escape(drawing.title), ""] if drawing.title else []
    seen: set[str] = set()
    # stack of (box id, prefix for its own line, prefix for its children, edge labels)
    stack: list[tuple[str, str, str, list[str]]] = [(r, "", "", []) for r in reversed(roots)]
    while stack:
        node, lead, rest, edge = stack.pop()
        for label in edge:
            out.append(f"{lead[:-3]}│     {text_escape(label)}")
        box = boxes[node]
        texts = [text_escape(line.text) for line in box.lines]
        if node in seen:
            out.append(f"{lead}↑ {texts[0] if texts else node} (drawn above)")
            continue
        seen.add(node)
        # a box's lines side by side; a sum's result, wrapped onto its own line in a picture
        # (dL/dw = 0 + 0.021 − 0.0095 / = 0.011689), continues its line here
        shown = "".join(
            (" " if t.startswith("= ") else "   ") + t if k else t for k, t in enumerate(texts)
        )
        out.append(f"{lead}{shown}")
        kids = children[node]
        for k in range(len(kids) - 1, -1, -1):
            child, labels = kids[k]
            last = k == len(kids) - 1
            stack.append(
                (
                    child,
                    rest + ("└─ " if last else "├─ "),
                    rest + ("   " if last else "│  "),
                    labels,
                )
            )
    for line in drawing.legend:
        out.append(text_escape(line.text))
    return "\n".join(out) + "\n"
