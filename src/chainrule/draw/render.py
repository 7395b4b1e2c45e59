"""From a drawing to bytes on disk: the format follows the file's extension."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from .layout import layout
from .limits import MAX_PDF_BOXES, check_boxes
from .model import Drawing
from .views import build

FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv", ".tex", ".mmd", ".txt", ".json", ".html")


def _svg(d: Drawing) -> str:
    from .writers.svg import write_svg  # one writer per format

    return write_svg(d, layout(d))


def _png(d: Drawing) -> bytes:
    from .writers.png import svg_to_png  # one writer per format

    return svg_to_png(_svg(d))


def _pdf(d: Drawing) -> bytes:
    from .writers.pdf import write_pdf  # one writer per format

    check_boxes(len(d.boxes), MAX_PDF_BOXES, "PDF")  # before the layout's time is spent
    return write_pdf(d, layout(d))


def _dot(d: Drawing) -> str:
    from .writers.dot import write_dot  # one writer per format

    return write_dot(d)


def _tex(d: Drawing) -> str:
    from .writers.tikz import write_tikz  # one writer per format

    return write_tikz(d, layout(d))


def _mmd(d: Drawing) -> str:
    from .writers.mermaid import write_mermaid  # one writer per format

    return write_mermaid(d)


def _txt(d: Drawing) -> str:
    from .writers.text import write_text  # one writer per format

    return write_text(d)


def _json(d: Drawing) -> str:
    return json.dumps(d.to_dict(), ensure_ascii=False, indent=1) + "\n"


def _html(d: Drawing) -> str:
    from .writers.html import write_html  # one writer per format

    return write_html(d, _svg(d))


WRITERS: dict[str, Callable[[Drawing], str | bytes]] = {
    ".svg": _svg,
    ".png": _png,
    ".pdf": _pdf,
    ".dot": _dot,
    ".gv": _dot,
    ".tex": _tex,
    ".mmd": _mmd,
    ".txt": _txt,
    ".json": _json,
    ".html": _html,
}


def format_of(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in WRITERS:
        raise ChainruleError(
            f"{path}: unknown drawing format {ext or '(no extension)'!r}; "
            f"use one of {' '.join(FORMATS)}"
        )
    return ext


def encode(drawing: Drawing, fmt: str) -> bytes:
    """The bytes of a drawing in a format given by its extension (``.svg``, ``.png`` …); the
    drawing is checked first (``Drawing.check``), as one read from JSON may come from anyone."""
    writer = WRITERS[format_of("x" + fmt)]
    data = writer(drawing.check())
    return data if isinstance(data, bytes) else data.encode("utf-8")


def write(drawing: Drawing, path: str | Path) -> Path:
    """Write a drawing safely (see ``chainrule.io.files``): a whole file or none."""
    from ..io.files import write_file  # ctypes: only when a file is written

    p = Path(path)
    return write_file(p, encode(drawing, format_of(p)))


def _graph_of(obj: Any) -> Graph | Node:
    """A graph, a node, or a compiled step's plan (``chainrule.compile``: its traced graph, with
    the trace's values and gradients)."""
    if isinstance(obj, (Graph, Node)):
        return obj
    graph = getattr(obj, "graph", None)
    if isinstance(graph, Graph) and hasattr(obj, "steps"):
        return graph
    raise ChainruleError(f"cannot draw a {type(obj).__name__}: give a Graph, a Node or a plan")


def render(graph: Any, path: str | Path, view: str = "forward", **options: Any) -> Path:
    """Draw one view of a graph (or of a compiled step's plan) into a file; the extension
    picks the format."""
    format_of(path)
    return write(build(_graph_of(graph), view, **options), path)


def to_svg(graph: Any, view: str = "forward", **options: Any) -> str:
    """The SVG of a view (Jupyter shows graphs and nodes with it)."""
    return _svg(build(_graph_of(graph), view, **options))


def to_png(graph: Any, view: str = "forward", **options: Any) -> bytes:
    return _png(build(_graph_of(graph), view, **options))
