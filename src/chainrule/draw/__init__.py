"""Drawings of a graph: Graph + view → one neutral ``Drawing`` → one writer per format.

``build`` makes the drawing model, ``render`` writes a file (the format follows the extension),
``to_svg`` serves Jupyter, ``text`` serves the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.display import register_svg
from ..core.graph import Graph
from ..core.node import Node
from .model import Arrow, Box, Drawing, Line
from .render import FORMATS, render, to_png, to_svg, write
from .views import VIEWS, build

register_svg(lambda obj: to_svg(obj) if isinstance(obj, (Graph, Node)) else None)


def text(graph: Graph | Node, view: str = "forward", **options: Any) -> str:
    """The terminal drawing of a view (a tree from the output, every number shown)."""
    from .writers.text import write_text  # one writer per format

    return write_text(build(graph, view, **options))


def write_exercise_drawings(graph: Graph | Node, directory: str | Path) -> list[Path]:
    """The exercise's forward and gradient drawings, as SVG and PNG, vectors drawn element by
    element as the exercise does (w₁, w₂, x₁, x₂). Returns the files written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for view, stem in (("forward", "exercise-forward"), ("gradients", "exercise-gradients")):
        drawing = build(graph, view, expand=True)
        for ext in (".svg", ".png"):
            path = folder / f"{stem}{ext}"
            write(drawing, path)
            written.append(path)
    return written


__all__ = [
    "FORMATS",
    "VIEWS",
    "Arrow",
    "Box",
    "Drawing",
    "Line",
    "build",
    "render",
    "text",
    "to_png",
    "to_svg",
    "write",
    "write_exercise_drawings",
]
