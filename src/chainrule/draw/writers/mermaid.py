"""Mermaid flowcharts (for Markdown pages that render them).

``mermaid_escape`` writes every character that Mermaid or HTML could read as syntax as a
Mermaid entity code (``#60;``), so a label is always shown as text. Node ids are generated
(``n<position>``); categories, fills and the direction come from closed vocabularies."""

from __future__ import annotations

from ..colours import FILLS, parse_colour
from ..model import Drawing, Line, arrow_category, box_category, direction_of

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
    out.append(f"flowchart {direction_of(drawing)}")
    number = drawing.numbers()
    for k, box in enumerate(drawing.boxes):
        out.append(f'  n{k}["{_label(box.lines)}"]:::{box_category(box)}')
    for arrow in drawing.arrows:
        if arrow.source not in number or arrow.target not in number:
            continue
        source, target = f"n{number[arrow.source]}", f"n{number[arrow.target]}"
        link = "-.->" if arrow_category(arrow) == "faint" else "-->"
        if arrow.lines:
            out.append(f'  {source} {link}|"{_label(arrow.lines)}"| {target}')
        else:
            out.append(f"  {source} {link} {target}")
    for category, fill in FILLS.items():
        out.append(f"  classDef {category} fill:{fill},stroke:#333")
    for k, box in enumerate(drawing.boxes):
        own = parse_colour(box.fill)
        if own:
            out.append(f"  style n{k} fill:{own}")
    return "\n".join(out) + "\n"
