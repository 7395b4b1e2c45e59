"""The explorer: step through the forward and backward pass of a graph in the browser.

``explore(graph)`` returns an ``Explorer``: ``.html`` is one self-contained page (no network
request of any kind), ``.save(path)`` writes it, and in Jupyter it shows itself inline (an
``<iframe srcdoc>`` holding the page, so its script runs apart from the notebook's).
See docs/explore.md."""

from __future__ import annotations

import html
from pathlib import Path

from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from .page import write_page


class Explorer:
    """An explorer page for one graph."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text

    def save(self, path: str | Path) -> Path:
        """Write the page whole (``chainrule.io.files``); returns the path."""
        from ..io.files import write_file

        return write_file(Path(path), self.html)

    def _repr_html_(self) -> str:
        # srcdoc keeps the page's script and styles apart from the notebook's; every front-end
        # that shows HTML output (JupyterLab, Notebook, VS Code) shows an iframe.
        return (
            '<iframe title="chainrule explorer" style="width:100%;height:640px;border:1px solid '
            f'#bbb" sandbox="allow-scripts" srcdoc="{html.escape(self.html, quote=True)}">'
            "</iframe>"
        )

    def __repr__(self) -> str:
        return f"<chainrule explorer page, {len(self.html)} characters>"


def explore(graph: Graph | Node, *, digits: int = 5, exact: bool | None = None) -> Explorer:
    """The explorer page of a graph (or of the graph of a node). The caller's graph is not
    changed: gradients are computed on a private copy."""
    if isinstance(graph, Node):
        graph = Graph(graph)
    if not isinstance(graph, Graph):
        raise ChainruleError(
            f"cannot explore a {type(graph).__name__}: pass a chainrule Graph or Node"
        )
    if digits < 1 or digits > 17:
        raise ChainruleError(f"digits {digits}: use a number from 1 to 17")
    return Explorer(write_page(graph, digits=digits, exact=exact))


__all__ = ["Explorer", "explore"]
