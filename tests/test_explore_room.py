"""The room closed groups leave and open ones take, measured by the browser itself.

draw lays out every box. Closed, a group's boxes are not shown and its box (a lid) is bigger
than its output's box; open, a group has a ⊟ tab. The page packs what is shown: a closed chain
is as compact as the closed graph drawn by draw (an independent layout: a chain of one box a
neuron), and no two drawn boxes (boxes, lids, tabs, arrows' labels) intersect in any mix of
open and closed groups, in either view. Geometry is read with getBoundingClientRect, not from
the page's own numbers. These tests skip, with the reason, only when chromium or Playwright is
missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chromium import missing
from test_explorer_groups import layers, tanh_chain

import chainrule as cr
from chainrule.draw.layout import layout
from chainrule.draw.views import build

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

# every drawn box of a pane as the browser lays it out (CSS px), the pairs that intersect, the
# drawing's height in drawing units, arrows whose ends are far from every box, and arrows that
# run through an open group's ⊟ tab
GEOMETRY = """(view) => {
  const pane = document.getElementById('draw-' + view);
  const svg = pane.querySelector('svg');
  const k = svg.getScreenCTM().a;
  const sel = 'g.node > rect, g.lid > rect, g.frame-tab > rect, g.edge-label > rect';
  const rects = Array.from(pane.querySelectorAll(sel)).map(r => {
    const b = r.getBoundingClientRect();
    const g = r.parentNode;
    return {x0: b.left, y0: b.top, x1: b.right, y1: b.bottom,
            what: g.getAttribute('class') + ' ' + (g.id || g.dataset.i || '')};
  });
  rects.sort((a, b) => a.y0 - b.y0);
  const eps = 0.5 * k;
  const bad = [];
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length && rects[j].y0 < rects[i].y1 - eps; j++) {
      const a = rects[i], b = rects[j];
      if (a.x0 < b.x1 - eps && b.x0 < a.x1 - eps) bad.push([a.what, b.what]);
    }
  }
  const boxes = rects.filter(r => /^(node|lid)/.test(r.what));
  const far = [];
  for (const p of pane.querySelectorAll('g.edge > path')) {
    const m = p.getScreenCTM(), n = p.getTotalLength();
    for (const at of [0, n]) {
      const q = p.getPointAtLength(at);
      const x = m.a * q.x + m.c * q.y + m.e, y = m.b * q.x + m.d * q.y + m.f;
      let d = Infinity;
      for (const r of boxes) {
        const dx = Math.max(r.x0 - x, 0, x - r.x1), dy = Math.max(r.y0 - y, 0, y - r.y1);
        d = Math.min(d, Math.hypot(dx, dy));
      }
      if (d > 14 * k) far.push([p.parentNode.dataset.i, d / k]);
    }
  }
  // arrows that run through an open group's ⊟ tab (points every 2 units along each path)
  const tabs = rects.filter(r => /^frame-tab/.test(r.what));
  const crossed = [];
  for (const p of tabs.length ? pane.querySelectorAll('g.edge > path') : []) {
    const m = p.getScreenCTM(), n = p.getTotalLength();
    for (let at = 0; at <= n; at += 2) {
      const q = p.getPointAtLength(at);
      const x = m.a * q.x + m.c * q.y + m.e, y = m.b * q.x + m.d * q.y + m.f;
      const hit = tabs.find(r => r.x0 + eps < x && x < r.x1 - eps
                              && r.y0 + eps < y && y < r.y1 - eps);
      if (hit) { crossed.push([p.parentNode.dataset.i, hit.what]); break; }
    }
  }
  return {boxes: rects.length, bad: bad.slice(0, 5), far: far.slice(0, 5),
          crossed: crossed.slice(0, 5), height: svg.getBoundingClientRect().height / k};
}"""

SHOW = """(view) => {
  document.getElementById('view').value = view;
  chainrule.step(chainrule.step());
  chainrule.fit();  // every closed box within the camera's reach is in the document
}"""


def _page(tmp: Path, graph: cr.Graph, name: str, collapse: bool | None = None) -> Path:
    path = tmp / f"{name}.html"
    cr.explore(graph, collapse=collapse).save(path)
    return path


def _geometry(s: Any, view: str) -> dict[str, Any]:
    s.js(SHOW, view)
    return s.js(GEOMETRY, view)  # type: ignore[no-any-return]


def _chain_of_boxes(n: int, view: str) -> float:
    """The height draw gives a chain of n boxes, one a neuron: the closed graph's own layout."""
    lines = ["x = 0.5", "h = x", *(["h = tanh(h)"] * n), "L = h^2"]
    drawing = build(cr.parse("\n".join(lines)), view)
    return layout(drawing).height


def test_a_closed_chain_is_as_compact_as_the_closed_graph(session: Any, tmp_path: Path) -> None:
    s = session
    n = 60
    s.open(_page(tmp_path, cr.parse(tanh_chain(n)), "chain", collapse=True))
    for view in ("forward", "gradients"):
        closed = _geometry(s, view)
        reference = _chain_of_boxes(n, view)
        assert closed["bad"] == [], closed
        # within 1.5× the closed graph drawn by draw (a lid is a little taller than a box)
        assert closed["height"] <= 1.5 * reference, (view, closed["height"], reference)
        s.js("() => chainrule.open()")
        opened = _geometry(s, view)
        assert opened["bad"] == [] and opened["far"] == [], opened
        # open, a neuron is five boxes on three ranks: the closed chain is far smaller
        assert closed["height"] < 0.5 * opened["height"], (closed["height"], opened["height"])
        s.js("() => chainrule.close()")
        again = _geometry(s, view)
        assert again["height"] == pytest.approx(closed["height"], rel=1e-6)
    assert s.errors == []


def _stack() -> cr.Graph:
    """The PyTorch zoo's residual stack: three modules with a connection around each."""
    pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("zoo", root / "examples/torch_models.py")
    assert spec and spec.loader
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    model, inputs = zoo.stack()
    return cr.from_torch(model, *inputs)


@pytest.mark.parametrize("name", ["chain", "layers", "modules"])
def test_no_two_drawn_boxes_intersect_open_closed_or_mixed(
    session: Any, tmp_path: Path, name: str
) -> None:
    s = session
    if name == "modules":
        graph = _stack()
    else:
        graph = cr.parse(tanh_chain(40) if name == "chain" else layers(6))
    s.open(_page(tmp_path, graph, name, collapse=True))
    count = s.js("() => chainrule.groups().length")
    assert count >= 3
    mixes = [
        [],  # every group closed
        [j for j in range(count) if j % 3 == 1],
        [j for j in range(count) if j % 2 == 0],
        list(range(count)),  # every group open
    ]
    for open_ in mixes:
        s.js("() => chainrule.close()")
        if open_:
            s.js("js => chainrule.open(js)", open_)
        for view in ("forward", "gradients"):
            got = _geometry(s, view)
            assert got["boxes"] > 0
            assert got["bad"] == [], (name, open_, view, got)
            # every arrow still starts and ends at a box: arrows stretch with what they join
            assert got["far"] == [], (name, open_, view, got)
            # and no arrow runs through an open group's tab
            assert got["crossed"] == [], (name, open_, view, got)
    assert s.errors == []


def test_the_camera_contract_holds_in_a_mixed_chain(session: Any, tmp_path: Path) -> None:
    """After boxes move, the current step's element is still in the pane and readable."""
    from test_explorer_view import CONTRACT

    s = session
    s.open(_page(tmp_path, cr.parse(tanh_chain(30)), "mixed", collapse=True))
    s.js("() => chainrule.open([1, 4, 7, 10, 13])")
    n = s.js("() => chainrule.steps()")
    assert s.js(CONTRACT, list(range(0, n, 3))) == []
    assert s.errors == []


def test_an_open_big_chain_draws_only_what_is_near_the_view(session: Any, tmp_path: Path) -> None:
    """Every group open on a 1,000-node chain: the document holds the boxes near the camera
    (and the current step's), not the thousands of the whole drawing; zoomed out past reading,
    the open boxes are one sketch; what-if numbers reach boxes drawn after the change."""
    s = session
    g = cr.parse(tanh_chain(200))
    s.open(_page(tmp_path, g, "open-chain", collapse=False))
    count = "() => document.querySelectorAll('#draw-forward svg *, #draw-gradients svg *').length"
    assert s.js("() => chainrule.groups().every(g => g.open)") is True
    assert s.js(count) < 1500  # all drawn, the chain is over 20,000 elements
    s.js("() => chainrule.fit()")
    assert s.js(count) < 1500
    assert s.js("() => document.querySelectorAll('path.sketch').length") >= 1
    # a what-if change, then a step far away: its box is drawn with the recomputed number
    s.js("() => chainrule.set('x', 0.9)")
    target = g.nodes[-3]  # the last neuron's tanh, far from the first steps
    assert target.op.name == "tanh"
    assert s.js("name => chainrule.find(name)", g.label(target)) == len(g.nodes) - 3
    shown = s.js(
        "() => Array.from(document.querySelector('[aria-current=step]').querySelectorAll('text'))"
        ".map(t => t.textContent)"
    )
    g.forward(at={"x": 0.9})
    want = float(target.value)
    got = [x for x in shown if x[:1] in "−-0123456789"]
    assert got and abs(float(got[-1].replace("−", "-")) - want) < 1e-4, (shown, want)
    assert s.errors == []


def test_a_box_drawn_again_after_a_reset_shows_the_programs_number(
    session: Any, tmp_path: Path
) -> None:
    """A box that leaves the document during a what-if change and comes back after a reset
    shows the program's own number, not the what-if one."""
    s = session
    g = cr.parse(tanh_chain(200))
    s.open(_page(tmp_path, g, "reset-chain", collapse=False))
    first = g.nodes[5]  # the first neuron's tanh, drawn at its forward step
    assert first.op.name == "tanh"
    go_first = (
        "() => { for (let i = 0; i < 40; i++) { chainrule.step(i);"
        " const e = document.querySelector('[aria-current=step]');"
        " if (e && e.id === 'n5') return i; } return -1; }"
    )
    text = (
        "() => Array.from(document.querySelectorAll('#draw-forward g.node#n5 text'))"
        ".map(t => t.textContent)"
    )
    assert s.js(go_first) >= 0
    before = s.js(text)
    s.js("() => chainrule.set('x', 0.9)")
    changed = s.js(text)
    assert changed != before
    s.js("() => chainrule.find('L')")  # far away, at the top: the first neuron's box leaves
    # the camera's move (220 ms) is animated: wait for the box to leave (a loaded machine is
    # slower), failing after 30 s if it never does
    s.page.wait_for_function(
        "() => document.querySelectorAll('#draw-forward g.node#n5 text').length === 0",
        timeout=30_000,
    )
    assert s.js(text) == []
    s.js("() => chainrule.reset()")
    assert s.js(go_first) >= 0
    assert s.js(text) == before
    assert s.errors == []
