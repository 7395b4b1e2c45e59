"""The explorer: step through the forward and backward pass of a graph in the browser.

``explore(graph)`` returns an ``Explorer``: ``.html`` is one self-contained page (no network
request of any kind) and ``.save(path)`` writes it. In a notebook it shows itself as a live
widget (anywidget; JupyterLab, Notebook, VS Code, Colab) whose state Python shares:
``w.step = 12``, ``w.set("b₀", 0.5)``, ``w.value("L")`` (what the page computed), a slider moved
in the page seen from Python. Without anywidget it shows the page in an ``<iframe srcdoc>``.
See docs/explore.md."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from .page import assemble, page_parts


class Explorer:
    """An explorer for one graph: the offline page, and the notebook widget."""

    def __init__(self, parts: dict[str, Any]) -> None:
        self._parts = parts
        self._html: str | None = None
        self._widget: Any = None

    @property
    def html(self) -> str:
        """The page: one HTML document."""
        if self._html is None:
            self._html = assemble(self._parts)
        return self._html

    def save(self, path: str | Path) -> Path:
        """Write the page whole (``chainrule.io.files``); returns the path."""
        from ..io.files import write_file  # io.files (and ctypes), only when a page is saved

        return write_file(Path(path), self.html)

    @property
    def widget(self) -> Any:
        """The notebook widget (made once; needs anywidget)."""
        if self._widget is None:
            from .widget import widget_from_parts  # anywidget, only in a notebook

            self._widget = widget_from_parts(self._parts)
        return self._widget

    @property
    def step(self) -> int:
        """The step the widget shows (0-based); setting it moves the page."""
        return int(self.widget.step)

    @step.setter
    def step(self, i: int) -> None:
        self.widget.step = int(i)

    def set(self, name: str, value: Any) -> None:
        """Change an input in the page; read the numbers it computes from the next cell."""
        self.widget.set(name, value)

    def reset(self) -> None:
        """Every input back to the program's value."""
        self.widget.reset()

    def value(self, name: str) -> Any:
        """The value of a named node as the page computes it."""
        return self.widget.value(name)

    def grad(self, name: str) -> Any:
        """The gradient of a named node as the page computes it."""
        return self.widget.grad(name)

    def _iframe(self) -> str:
        # srcdoc keeps the page's script and styles apart from the notebook's
        return (
            '<iframe title="chainrule explorer" style="width:100%;height:640px;border:1px solid '
            f'#bbb" sandbox="allow-scripts" srcdoc="{html.escape(self.html, quote=True)}">'
            "</iframe>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The live widget where anywidget is installed, with the page in an iframe for
        front-ends that show HTML only."""
        data: dict[str, Any] = {"text/html": self._iframe()}
        meta: dict[str, Any] = {}
        try:
            wdata, wmeta = self.widget._repr_mimebundle_()
        except ChainruleError:  # no anywidget: the page alone
            return data, meta
        data.update(wdata)
        meta.update(wmeta or {})
        return data, meta

    def _repr_html_(self) -> str:
        return self._iframe()

    def __repr__(self) -> str:
        return f"<chainrule explorer, {len(self._parts['data']['steps'])} steps>"


def explore(
    graph: Graph | Node,
    *,
    digits: int = 5,
    exact: bool | None = None,
    collapse: bool | None = None,
) -> Explorer:
    """The explorer of a graph (or of the graph of a node): the offline page and the notebook
    widget. The caller's graph is not changed: gradients are computed on a private copy.

    ``collapse``: show each PyTorch module and each repeated block of a program as one box (one
    step each way) until it is opened; None (the default) does so for graphs of more than 200
    drawn nodes, so a big graph opens as an overview and a small one node by node."""
    if isinstance(graph, Node):
        graph = Graph(graph)
    if not isinstance(graph, Graph):
        raise ChainruleError(
            f"cannot explore a {type(graph).__name__}: pass a chainrule Graph or Node"
        )
    if digits < 1 or digits > 17:
        raise ChainruleError(f"digits {digits}: use a number from 1 to 17")
    return Explorer(page_parts(graph, digits=digits, exact=exact, collapse=collapse))


__all__ = ["Explorer", "explore"]
