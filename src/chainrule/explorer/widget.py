"""The explorer as a notebook widget (anywidget: one ES module that JupyterLab, Notebook, VS Code
and Colab all run), its state shared with Python both ways.

The module is the page's own script (``page.js``: ``crExplorer`` builds the explorer inside the
widget's element) with a small ``render`` around it; the page's markup, data and the program's
JavaScript travel as traits. ``step`` is synced both ways; every change of an input — a slider
moved in the page, or ``set`` from Python — is computed by the page, which sends back the values
and gradients of every named node (``value``, ``grad`` read them)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..core.errors import ChainruleError
from ..core.graph import Graph
from .page import page_parts


def _asset(name: str) -> str:
    return resources.files("chainrule.explorer").joinpath(name).read_text(encoding="utf-8")


RENDER = """
export default {
  render({ model, el }) {
    const box = document.createElement('div');
    box.className = 'chainrule-explorer chainrule-widget';
    box.tabIndex = -1;
    // the body is chainrule's own markup: draw's SVG writer escaped every label in it
    box.innerHTML = model.get('body');
    el.appendChild(box);
    const D = JSON.parse(model.get('data'));
    const compute = new Function('S', 'cr', model.get('code'));
    const api = crExplorer(box, D, compute, {page: false});
    const report = () => {
      const values = {}, grads = {};
      for (const name of D.nodeNames) {
        values[name] = api.value(name);
        grads[name] = api.grad(name);
      }
      model.set('values', values);
      model.set('grads', grads);
      model.set('answered', model.get('asked'));
      model.save_changes();
    };
    let quiet = false;
    api.listen((what, arg) => {
      if (what === 'step' && !quiet && model.get('step') !== arg) {
        model.set('step', arg);
        model.save_changes();
      }
      if (what === 'input') report();
    });
    const onStep = () => {
      quiet = true;
      try { api.step(model.get('step')); } finally { quiet = false; }
    };
    const onMsg = msg => {
      try {
        if (msg.set !== undefined) api.set(msg.set, msg.value);
        else if (msg.reset) api.reset();
        model.set('error', '');
      } catch (e) { model.set('error', String(e.message || e)); }
      model.set('answered', msg.asked);
      report();
    };
    model.on('change:step', onStep);
    model.on('msg:custom', onMsg);
    if (model.get('step')) onStep();
    report();
    return () => { model.off('change:step', onStep); model.off('msg:custom', onMsg); };
  }
};
"""

WIDGET_CSS = """
.chainrule-explorer.chainrule-widget { height: 640px; border: 1px solid #bbb; }
"""


def _widget_class() -> Any:
    try:
        import anywidget  # the notebook extra is optional
        import traitlets  # the notebook extra is optional
    except ImportError as exc:  # pragma: no cover - the notebook extra installs it
        raise ChainruleError(
            "the notebook widget needs anywidget (pip install anywidget); "
            "explore(graph).save('page.html') writes the offline page without it"
        ) from exc

    class ExplorerWidget(anywidget.AnyWidget):  # type: ignore[misc]
        """The explorer in a notebook: ``step``, ``set``, ``value``, ``grad`` shared with it."""

        _esm = _asset("page.js") + RENDER
        _css = _asset("page.css") + WIDGET_CSS
        body = traitlets.Unicode("").tag(sync=True)
        data = traitlets.Unicode("").tag(sync=True)
        code = traitlets.Unicode("").tag(sync=True)
        step = traitlets.Int(0).tag(sync=True)
        values = traitlets.Dict().tag(sync=True)
        grads = traitlets.Dict().tag(sync=True)
        asked = traitlets.Int(0).tag(sync=True)
        answered = traitlets.Int(-1).tag(sync=True)
        error = traitlets.Unicode("").tag(sync=True)

        def set(self, name: str, value: Any) -> None:
            """Change an input in the page (a number, or a nested list for an array); the page
            recomputes every number and sends them back (read them from the next cell)."""
            self.asked += 1
            self.send({"set": name, "value": value, "asked": self.asked})

        def reset(self) -> None:
            """Every input back to the program's value."""
            self.asked += 1
            self.send({"reset": True, "asked": self.asked})

        def _read(self, table: dict[str, Any], name: str) -> Any:
            if self.answered < 0:
                raise ChainruleError("the explorer has not run yet: show the widget first")
            if self.answered < self.asked:
                raise ChainruleError(
                    "the page has not answered the last change yet: read it from the next cell"
                )
            if self.error:
                raise ChainruleError(f"the page refused the last change: {self.error}")
            if name not in table:
                raise ChainruleError(f"no node named {name} (names: {', '.join(list(table)[:30])})")
            return table[name]

        def value(self, name: str) -> Any:
            """The value of a named node as the page computes it."""
            return self._read(self.values, name)

        def grad(self, name: str) -> Any:
            """The gradient of a named node as the page computes it (None where there is none)."""
            return self._read(self.grads, name)

    return ExplorerWidget


_CLASS: Any = None


def explorer_widget(graph: Graph, *, digits: int = 5, exact: bool | None = None) -> Any:
    """The explorer widget of a graph (gradients computed on a private copy)."""
    return widget_from_parts(page_parts(graph, digits=digits, exact=exact))


def widget_from_parts(parts: dict[str, Any]) -> Any:
    """The widget of ``page.page_parts`` (the same parts the offline page is made of)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _widget_class()
    data = dict(parts["data"])
    data["nodeNames"] = [name for name, (_, flat) in data["names"].items() if flat < 0]
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _CLASS(body=parts["body"], data=text, code=parts["code"])
