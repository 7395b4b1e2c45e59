"""Worked solutions: a graph after ``backward`` told step by step, in Markdown, LaTeX or text.

``derive`` reads the graph into a ``Derivation`` (the forward pass, the method, the backward pass
with every local partial, chain-rule product and fan-out sum, the gradient of every input);
``explain`` writes it in one format."""

from __future__ import annotations

from ..core.errors import ChainruleError
from ..core.graph import Graph
from . import latex, markdown, text
from .document import Document, build
from .model import BackwardStep, Derivation, ForwardStep, InputGradient, Term, derive
from .pause import gc_paused

FORMATS = {"md": markdown.write, "tex": latex.write, "txt": text.write}
FORMAT_ALIASES = {"markdown": "md", "latex": "tex", "text": "txt"}


def explain(
    graph: Graph,
    format: str = "md",
    *,
    digits: int = 5,
    exact: bool | None = None,
    title: str | None = None,
    drawings: dict[str, str] | None = None,
) -> str:
    """The worked solution of ``graph`` as Markdown (``md``), LaTeX (``tex``) or text (``txt``).

    ``drawings`` maps ``forward`` and ``gradients`` to image paths to embed."""
    fmt = FORMAT_ALIASES.get(format, format)
    writer = FORMATS.get(fmt)
    if writer is None:
        raise ChainruleError(f"unknown format {format!r} (choose md, tex or txt)")
    with gc_paused():
        return writer(build(derive(graph, digits, exact=exact), title=title, drawings=drawings))


__all__ = [
    "FORMATS",
    "BackwardStep",
    "Derivation",
    "Document",
    "ForwardStep",
    "InputGradient",
    "Term",
    "build",
    "derive",
    "explain",
]
