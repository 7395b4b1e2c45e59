"""Mermaid flowcharts (for Markdown pages that render them).

``mermaid_escape`` writes every character that Mermaid or HTML could read as syntax as a
Mermaid entity code (``#60;``), so a label is always shown as text."""

from __future__ import annotations

from ..model import Drawing, Line

_DIRECTIONS = {"BT": "BT", "TB": "TB", "LR": "LR", "RL": "RL"}
_UNSAFE = set('"<>&#;[]{}|`\\')


def mermaid_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in _UNSAFE:
            out.append(f"#{ord(ch)};")
        elif ch in "\r\n\t":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _label(lines: list[Line]) -> str:
    parts = []
    for line in lines:
        text = mermaid_escape(line.text)
        parts.append(f"<b>{text}</b>" if line.role == "title" else text)
    return "<br/>".join(parts)


def write_mermaid(drawing: Drawing) -> str:
    out = []
    if drawing.title:
        out += ["---", f'title: "{mermaid_escape(drawing.title)}"', "---"]
    out.append(f"flowchart {_DIRECTIONS.get(drawing.direction, 'BT')}")
    for box in drawing.boxes:
        out.append(f'  {box.id}["{_label(box.lines)}"]:::{box.kind}')
    for arrow in drawing.arrows:
        link = "-.->" if arrow.kind == "faint" else "-->"
        if arrow.lines:
            out.append(f'  {arrow.source} {link}|"{_label(arrow.lines)}"| {arrow.target}')
        else:
            out.append(f"  {arrow.source} {link} {arrow.target}")
    from ..colours import FILLS

    for kind, fill in FILLS.items():
        out.append(f"  classDef {kind} fill:{fill},stroke:#333")
    for box in drawing.boxes:
        if box.fill:
            out.append(f"  style {box.id} fill:{box.fill}")
    return "\n".join(out) + "\n"
