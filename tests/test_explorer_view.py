"""The explorer at any size, in a real browser (Debian's chromium, headless, through Playwright).

The camera contract scripts rely on: after ``chainrule.step(i)`` returns, the element that
carries ``aria-current="step"`` lies inside the graph pane and inside the window, and its text
is drawn at 11 CSS pixels or more, on the reference exercise, on a 1,000-node chain of tanh
neurons and on a PyTorch conv net. Also zoom and pan, the overview map, long tensors as
summaries, a cell per input element and the input rules of ``--at``, search, and axe-core on
every gallery page. These tests skip, with the reason, only when chromium or Playwright is
missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chromium import missing

import chainrule as cr

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = ROOT / "src/chainrule/data/exercise.cr"
GALLERY = sorted((ROOT / "tests/gallery").glob("*.cr"))

# Every step in one call: the current element, where it is, and its smallest text on screen.
CONTRACT = """(steps) => {
  const bad = [];
  for (const i of steps) {
    chainrule.step(i);
    const els = document.querySelectorAll('[aria-current=step]');
    if (els.length !== 1) { bad.push([i, 'elements: ' + els.length]); continue; }
    const el = els[0];
    const b = el.getBoundingClientRect();
    const pane = el.closest('.drawing').getBoundingClientRect();
    const inside = b.left >= pane.left - 0.5 && b.right <= pane.right + 0.5
      && b.top >= pane.top - 0.5 && b.bottom <= pane.bottom + 0.5
      && b.right <= innerWidth && b.bottom <= innerHeight
      && b.width > 0 && b.height > 0;
    const scale = el.getScreenCTM().a;
    let px = Infinity;
    for (const t of el.querySelectorAll('text')) {
      px = Math.min(px, parseFloat(getComputedStyle(t).fontSize) * scale);
    }
    if (!inside || px < 11) bad.push([i, inside, px]);
  }
  return bad;
}"""


def tanh_chain(neurons: int) -> str:
    """A chain of tanh neurons h ← tanh(wᵢ·h + bᵢ): five nodes a neuron."""
    lines = ["x = 0.5", "h = x"]
    for i in range(neurons):
        lines.append(f"w{i} = {0.5 + (i % 7) / 10}")
        lines.append(f"b{i} = {((i % 5) - 2) / 10}")
        lines.append(f"h = tanh(w{i}*h + b{i})")
    lines.append("L = h^2")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def big_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, cr.Graph]:
    """The 1,000-node chain with every neuron open: a step per node and per edge."""
    g = cr.parse(tanh_chain(200))
    assert len(g.nodes) >= 1000
    path = tmp_path_factory.mktemp("big") / "chain.html"
    cr.explore(g, collapse=False).save(path)
    g.backward()
    return path, g


@pytest.fixture(scope="module")
def closed_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, cr.Graph]:
    """The same chain as it opens by default: each neuron one box."""
    g = cr.parse(tanh_chain(200))
    path = tmp_path_factory.mktemp("closed") / "chain.html"
    cr.explore(g).save(path)
    g.backward()
    return path, g


def _page(tmp: Path, graph: cr.Graph, name: str, collapse: bool | None = None) -> Path:
    path = tmp / f"{name}.html"
    cr.explore(graph, collapse=collapse).save(path)
    return path


def test_every_step_of_the_exercise_is_in_view_and_readable(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "exercise"))
    n = s.js("() => chainrule.steps()")
    assert s.js(CONTRACT, list(range(n))) == []
    # the same in the "both" view and in a small window
    s.js("() => { document.getElementById('view').value = 'both'; }")
    assert s.js(CONTRACT, list(range(n))) == []
    s.page.set_viewport_size({"width": 800, "height": 600})
    s.page.wait_for_timeout(100)
    s.js("() => { document.getElementById('view').value = 'auto'; }")
    assert s.js(CONTRACT, list(range(n))) == []
    s.page.set_viewport_size({"width": 1400, "height": 900})
    assert s.errors == []


def test_every_step_of_a_1000_node_chain_is_in_view_and_readable(
    session: Any, big_page: tuple[Path, cr.Graph]
) -> None:
    path, g = big_page
    s = session
    s.open(path)
    n = s.js("() => chainrule.steps()")
    assert n > 2000
    assert s.js(CONTRACT, list(range(n))) == []
    # zoomed far out and panned away, the next step comes back into view at a readable size
    s.js("() => { chainrule.fit(); chainrule.step(700); chainrule.zoom(0.1); }")
    assert s.js("() => chainrule.camera().k") < 0.5
    assert s.js(CONTRACT, [701, 5, n - 1]) == []
    # the numbers are still Python's
    assert abs(s.js("() => chainrule.grad('x')") - float(g["x"].grad)) <= 1e-12
    assert s.errors == []


def test_zoom_keys_buttons_wheel_drag_and_the_overview(
    session: Any, big_page: tuple[Path, cr.Graph]
) -> None:
    path, _ = big_page
    s = session
    s.open(path)
    cam = lambda: s.js("() => chainrule.camera()")  # noqa: E731
    s.js("() => chainrule.step(300)")
    k0 = cam()["k"]
    s.page.focus("body")
    s.page.keyboard.press("+")
    assert cam()["k"] == pytest.approx(k0 * 1.25)
    s.page.keyboard.press("-")
    s.page.keyboard.press("-")
    assert cam()["k"] == pytest.approx(k0 * 0.8, rel=1e-9)
    s.page.click("#zoom-in")
    assert cam()["k"] == pytest.approx(k0, rel=1e-9)
    # the overview shows where the view is; "0" shows the whole graph and hides it
    assert s.js("() => document.querySelector('#draw-forward .mini').hidden") is False
    view = s.js(
        "() => { const r = document.querySelector('#draw-forward .mini-view')"
        ".getBoundingClientRect(); return [r.width, r.height]; }"
    )
    assert 2 <= view[0] and 2 <= view[1]
    s.page.keyboard.press("0")
    s.page.wait_for_timeout(400)  # the fit is animated unless motion is reduced
    whole = cam()
    svg = s.js("() => chainrule.drawingSize('forward')")
    pane = s.js(
        "() => { const r = document.getElementById('draw-forward');"
        " return [r.clientWidth, r.clientHeight]; }"
    )
    assert whole["k"] * svg[1] <= pane[1] + 1  # the whole height fits
    assert s.js("() => document.querySelector('#draw-forward .mini').hidden") is True
    # the wheel zooms about the pointer: the point under it stays put
    s.js("() => chainrule.step(300)")
    box = s.page.locator("#draw-forward").bounding_box()
    assert box is not None
    px, py = box["x"] + 200, box["y"] + 150
    before = cam()
    s.page.mouse.move(px, py)
    s.page.mouse.wheel(0, -200)
    s.page.wait_for_timeout(100)
    after = cam()
    assert after["k"] > before["k"]
    ux = before["x"] + 200 / before["k"]
    assert after["x"] + 200 / after["k"] == pytest.approx(ux, abs=1e-6)
    # a drag pans by the distance moved, and does not click what it started on
    step = s.js("() => chainrule.step()")
    start = cam()
    s.page.mouse.move(px, py)
    s.page.mouse.down()
    s.page.mouse.move(px + 60, py + 40, steps=4)
    s.page.mouse.up()
    moved = cam()
    assert moved["x"] == pytest.approx(start["x"] - 60 / start["k"], abs=1e-6)
    assert moved["y"] == pytest.approx(start["y"] - 40 / start["k"], abs=1e-6)
    assert s.js("() => chainrule.step()") == step
    # pressing the overview looks there
    s.js("() => chainrule.step(10)")
    mini = s.page.locator("#draw-forward .mini canvas").bounding_box()
    assert mini is not None
    s.page.mouse.click(mini["x"] + mini["width"] / 2, mini["y"] + mini["height"] / 2)
    c = cam()
    centre_y = c["y"] + pane[1] / (2 * c["k"])
    height = s.js("() => chainrule.drawingSize('forward')")[1]
    assert abs(centre_y - height / 2) < height * 0.05
    assert s.errors == []


def _number(text: str) -> float:
    return float(text.strip().replace("−", "-"))


def test_a_big_chain_starts_closed_one_step_a_neuron_each_way(
    session: Any, closed_page: tuple[Path, cr.Graph]
) -> None:
    path, g = closed_page
    s = session
    s.open(path)
    n = s.js("() => chainrule.steps()")
    # 200 neurons forward and backward, and the loss (its forward step, the seed, its constant)
    assert 400 < n <= 404
    assert s.js("() => chainrule.groups().every(g => !g.open)") is True
    assert s.js(CONTRACT, list(range(n))) == []
    texts = s.js("n => Array.from({length: n}, (_, i) => chainrule.text(i))", n)
    tanhs = [node for node in g.nodes if node.op.name == "tanh"]
    forward = [t for t in texts if t[0].startswith("block ")]
    backward = [t for t in texts if t[0].startswith("Backward through block ")]
    assert len(forward) == len(backward) == 200
    for j, (f, b) in enumerate(zip(forward, backward[::-1], strict=True)):
        # forward: the neuron's output is Python's value
        out = next(line for line in f if line.startswith("out: "))
        assert _number(out.rsplit("= ", 1)[1]) == pytest.approx(float(tanhs[j].value), rel=1e-4)
        # backward: the gradient reaching it, and the one it passes back, are Python's
        reach = next(line for line in b if line.startswith("in: "))
        assert _number(reach.rsplit("= ", 1)[1]) == pytest.approx(float(tanhs[j].grad), rel=1e-4)
        if j:
            back = next(line for line in b if line.startswith("passes back to "))
            want = float(tanhs[j - 1].grad)  # h⁽ʲ⁻¹⁾ feeds this neuron only
            assert _number(back.rsplit(": ", 1)[1]) == pytest.approx(want, rel=1e-4)
    # only what is near the view is drawn: a few lids, not 200 in each view
    assert s.js("() => document.querySelectorAll('g.lid').length") < 60
    assert s.errors == []


def test_a_closed_neuron_opens_on_click_and_enter_and_closes_again(
    session: Any, closed_page: tuple[Path, cr.Graph]
) -> None:
    path, g = closed_page
    s = session
    s.open(path)
    n = s.js("() => chainrule.steps()")
    i = s.js(
        "() => { for (let i = 0; ; i++)"
        " if (chainrule.text(i)[0].startsWith('block 100 of')) return i; }"
    )
    s.js("i => chainrule.step(i)", i)
    s.page.click("#draw-forward g.lid.current")
    opened = s.js("() => chainrule.steps()")
    assert opened == n - 2 + 10
    # its two steps become ten: its 5 nodes forward, and backward the one edge into each
    assert s.js("() => chainrule.step()") == i
    assert s.js("() => chainrule.text()") == [f"w99 = {0.5 + (99 % 7) / 10:g}"]
    assert s.js(CONTRACT, list(range(i, i + 5))) == []
    boxes = s.js("() => document.querySelectorAll('#draw-forward g.node').length")
    assert boxes >= 5
    # its numbers are Python's
    k = s.js("() => chainrule.nodes().findIndex(n => n.name === 'w99')")
    assert s.js("() => chainrule.value('w99')") == pytest.approx(float(g.nodes[k].value))
    # the frame's tab closes it (click), and a lid opens with Enter
    s.page.click("#draw-forward g.frame-tab")
    assert s.js("() => chainrule.steps()") == n
    assert s.js("() => chainrule.step()") == i
    s.page.focus("#draw-forward g.lid.current")
    s.page.keyboard.press("Enter")
    assert s.js("() => chainrule.steps()") == opened
    # search opens the block that holds a name
    s.js("() => chainrule.close()")
    s.page.fill("#search", "b150")
    s.page.press("#search", "Enter")
    assert s.js("() => chainrule.groups().filter(g => g.open).map(g => g.name)") == [
        "block 151 of 200"
    ]
    assert s.js("() => chainrule.text()")[0].startswith("b150 = ")
    s.page.wait_for_timeout(400)  # the camera's move is animated
    assert s.js(CONTRACT.replace("chainrule.step(i);", ""), [0]) == []
    # open all, close all: the page's own toggle
    s.page.click("#groups-toggle")
    assert s.js("() => chainrule.steps()") > 2000
    s.page.click("#groups-toggle")
    assert s.js("() => chainrule.steps()") == n
    assert s.errors == []


def test_a_layer_applied_five_times_and_what_if(session: Any, tmp_path: Path) -> None:
    """A small program starts open (its blocks framed); closed, a what-if change reaches the
    blocks' numbers, which equal Python's at the new input."""
    from test_explorer_groups import layers

    text = layers(5)
    s = session
    s.open(_page(tmp_path, cr.parse(text), "layers"))
    assert s.js("() => chainrule.groups().map(g => g.open)") == [True] * 5
    assert s.js("() => document.querySelectorAll('#draw-forward g.frame').length") == 5
    s.js("() => chainrule.close()")
    n = s.js("() => chainrule.steps()")
    assert s.js(CONTRACT, list(range(n))) == []
    s.js("() => chainrule.set('x', [0.3, 0.1, -0.4])")
    want = cr.parse(text.replace("x = [0.5, -0.2, 0.1]", "x = [0.3, 0.1, -0.4]"))
    want.backward()
    h = [node for node in want.nodes if node.op.name == "tanh"]
    texts = s.js("n => Array.from({length: n}, (_, i) => chainrule.text(i))", n)
    outs = [next(x for x in t if x.startswith("out: ")) for t in texts if t[0].startswith("block")]
    for out, node in zip(outs, h, strict=True):
        got = json.loads(out.rsplit("= ", 1)[1].replace("−", "-"))
        assert np.allclose(got, np.asarray(node.value, dtype=float), rtol=1e-4)
    s.js("() => chainrule.step(0)")  # the first block's lid shows its output at the new input
    lid = s.js(
        "() => document.querySelector('#draw-forward g.lid.current text + text').textContent"
    )
    got = json.loads(lid.split("= ", 1)[1].replace("−", "-"))
    assert np.allclose(got, np.asarray(h[0].value, dtype=float), rtol=1e-3)
    assert s.errors == []


def test_a_closed_module_is_one_step_each_way_parameters_included(
    session: Any, tmp_path: Path
) -> None:
    """explain puts a model's parameters first in the forward pass and last in the backward
    pass: a closed module still makes one step each way, and its parameters' gradients are
    PyTorch's."""
    pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo", ROOT / "examples/torch_models.py")
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    model, inputs = zoo.stack()
    g = cr.from_torch(model, *inputs)
    path = tmp_path / "stack.html"
    cr.explore(g, collapse=True).save(path)
    s = session
    s.open(path)
    n = s.js("() => chainrule.steps()")
    titles = s.js(
        "n => Array.from({length: n}, (_, i) => { chainrule.step(i);"
        " return document.getElementById('step-title').textContent; })",
        n,
    )
    for name in ("blocks[0]", "blocks[1]", "blocks[2]"):
        assert sum(t.endswith(f"forward pass: {name} (closed)") for t in titles) == 1
        assert sum(t.endswith(f"backward pass: {name} (closed)") for t in titles) == 1
    assert s.js(CONTRACT, list(range(n))) == []
    # the last module's backward step: its parameters' gradients are PyTorch's
    i = next(i for i, t in enumerate(titles) if t.endswith("backward pass: blocks[2] (closed)"))
    text = " ".join(s.js("i => chainrule.text(i)", i))
    model.zero_grad()
    loss = model(*inputs)
    loss.backward()
    want = model.blocks[2].fc2.bias.grad.numpy()
    shown = text.split("d(blocks[2].fc2.bias) = ", 1)[1].split("]", 1)[0] + "]"
    got = json.loads(shown.replace("−", "-"))
    assert np.allclose(got, want, rtol=1e-4, atol=1e-9)
    assert s.errors == []


def test_reduced_motion_moves_the_camera_at_once(session: Any, tmp_path: Path) -> None:
    s = session
    s.page.emulate_media(reduced_motion="reduce")
    try:
        s.open(_page(tmp_path, cr.parse(tanh_chain(60)), "motion"))
        s.js("() => chainrule.step(5)")
        s.page.click("#last")  # far away: the camera must move
        cam = s.js("() => chainrule.camera()")
        s.page.wait_for_timeout(400)
        assert s.js("() => chainrule.camera()") == cam
        assert s.js(CONTRACT.replace("chainrule.step(i);", ""), [0]) == []
    finally:
        s.page.emulate_media(reduced_motion="no-preference")


def test_a_conv_net_shows_tensors_as_shapes_and_summaries(session: Any, tmp_path: Path) -> None:
    """The PyTorch conv net's backward steps: names and summaries, the numbers on demand, and
    the summary's min and max are numpy's."""
    pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo", ROOT / "examples/torch_models.py")
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    model, inputs = zoo.cnn()
    g = cr.from_torch(model, *inputs)
    s = session
    s.open(_page(tmp_path, g, "cnn"))
    g.backward()
    n = s.js("() => chainrule.steps()")
    assert s.js(CONTRACT, list(range(n))) == []
    longest = max(len(" ".join(s.js("i => chainrule.text(i)", i))) for i in range(n))
    written = max(len(" ".join(s.js("i => chainrule.explainText(i)", i))) for i in range(n))
    assert written > 2000 and longest < 700
    # the last step (the first layer's weight) keeps its names and puts the numbers behind them
    s.js("n => chainrule.step(n - 1)", n)
    text = s.js("() => chainrule.text()")
    w = g["conv.weight"]
    grad = np.asarray(w.grad, dtype=float)
    shape = "×".join(str(d) for d in grad.shape)
    assert any(shape in t for t in text), text
    assert any(
        t.startswith(("dcross_entropy_loss/d(conv.weight) =", "dcross_entropy_loss/dconv.weight ="))
        for t in text
    )
    assert s.js("() => document.querySelectorAll('#step-text details.numbers').length") >= 1
    line = next(t for t in text if f"{shape} [" in t)
    lo = float(line.rsplit("min ", 1)[1].split(",")[0].replace("−", "-"))
    hi = float(line.rsplit("max ", 1)[1].split(",")[0].replace("−", "-"))
    # the summary's range is numpy's, on the numbers the page holds (the page keeps a node it
    # cannot recompute at Python's numbers; its gradient is compared in the other tests)
    held = np.asarray(s.js("() => chainrule.grad('conv.weight')"), dtype=float)
    assert held.shape == grad.shape
    assert lo == pytest.approx(np.nanmin(held), rel=1e-4)
    assert hi == pytest.approx(np.nanmax(held), rel=1e-4)
    s.page.click("#step-text details.numbers summary")
    full = s.js("() => document.querySelector('#step-text details.numbers').textContent")
    assert full.count(",") >= grad.size - 1
    assert s.errors == []


def test_input_cells_and_the_rules_of_at(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "cells"))
    # w has two elements: a cell and a slider each
    cells = s.page.locator('#inputs [aria-label="elements of w"] input[type=text]')
    assert cells.count() == 2
    assert s.page.locator('#inputs [aria-label="elements of w"] input[type=range]').count() == 2
    box = s.page.locator('#inputs input[aria-label="value of w₂"]')
    box.fill("0,5")  # a decimal comma
    box.dispatch_event("change")
    want = cr.parse(EXERCISE.read_text(), at={"w": [0.8, 0.5]})
    want.backward()
    assert s.js("() => chainrule.value('w')") == [0.8, 0.5]
    assert abs(s.js("() => chainrule.grad('z')") - float(want["z"].grad)) <= 1e-12
    # no silent infinity: refused by name, the numbers unchanged
    for bad, why in [
        ("1/0", "divides by zero"),
        ("1e999", "beyond the range"),
        ("inf", "cannot read"),
    ]:
        box.fill(bad)
        box.dispatch_event("change")
        assert why in s.js("() => document.getElementById('inputs').textContent"), bad
        assert s.js("() => chainrule.value('w')") == [0.8, 0.5]
    # a slider moves its element
    slider = s.page.locator('#inputs input[aria-label="slider for w₁"]')
    slider.fill("1.2")
    assert s.js("() => chainrule.value('w₁')") == pytest.approx(1.2)
    assert s.js("() => chainrule.whatif()") is True
    # a scalar's hint is not a list
    b0 = s.page.locator('#inputs input[aria-label="value of b₀"]')
    b0.fill("[1, 2]")
    b0.dispatch_event("change")
    message = s.js("() => document.getElementById('inputs').textContent")
    assert "write one number" in message and "a list shaped like" not in message
    with pytest.raises(Exception, match="not a finite number"):
        s.js("() => chainrule.set('b₀', Infinity)")
    assert s.errors == []


def test_big_inputs_keep_the_text_box(session: Any, tmp_path: Path) -> None:
    g = cr.parse("A = " + json.dumps(np.arange(20.0).reshape(4, 5).tolist()) + "\nL = sum(A^2)")
    s = session
    s.open(_page(tmp_path, g, "big-input"))
    assert s.page.locator('#inputs input[aria-label="value of A"]').count() == 1
    assert s.page.locator("#inputs .cell").count() == 0
    s.page.fill('#inputs input[aria-label="value of A"]', "[1, 2]")
    s.page.dispatch_event('#inputs input[aria-label="value of A"]', "change")
    assert "shaped 4×5" in s.js("() => document.getElementById('inputs').textContent")


def test_search_goes_to_a_node_and_lists_its_steps(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "search"))
    s.page.fill("#search", "ŷ")
    s.page.press("#search", "Enter")
    title = s.js("() => document.getElementById('step-title').textContent")
    assert title.endswith("forward pass: ŷ")
    buttons = s.js(
        "() => [...document.querySelectorAll('#found-text button')].map(b => b.textContent)"
    )
    assert any("forward" in b for b in buttons) and any("gradient" in b for b in buttons)
    s.page.click("#found-text button >> nth=-1")
    assert "backward pass" in s.js("() => document.getElementById('step-title').textContent")
    s.page.fill("#search", "nothing-by-this-name")
    s.page.press("#search", "Enter")
    assert "No node is called" in s.js("() => document.getElementById('found-text').textContent")
    assert s.errors == []


def test_input_leaves_show_their_value_before_their_step(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "leaves"))
    s.js("() => chainrule.step(0)")
    k = s.js("() => chainrule.nodes().findIndex(n => n.name === 'b₀')")
    shown = s.js(
        "k => [...document.querySelectorAll(`#draw-forward g.node[id='n${k}'] text`)]"
        ".map(t => [t.textContent, getComputedStyle(t).visibility])",
        k,
    )
    assert ["0.6", "visible"] in shown
    # an operation's value is still hidden until its step
    z = s.js("() => chainrule.nodes().findIndex(n => n.name === 'z')")
    hidden = s.js(
        "k => [...document.querySelectorAll(`#draw-forward g.node[id='n${k}'] text`)]"
        ".map(t => getComputedStyle(t).visibility)",
        z,
    )
    assert "hidden" in hidden


def test_keyboard_focus_and_the_live_region(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "keys"))
    s.page.focus("body")
    s.page.keyboard.press("ArrowRight")
    said = s.js("() => document.getElementById('announce').textContent")
    assert said.startswith("Step 2 of") and s.js("() => chainrule.text()")[0] in said
    assert s.js("() => document.getElementById('announce').getAttribute('aria-live')") == "polite"
    # tab reaches the zoom buttons and a drawn node, each with a visible focus outline
    reached = set()
    for _ in range(40):
        s.page.keyboard.press("Tab")
        info = s.js(
            "() => { const e = document.activeElement; const st = getComputedStyle(e);"
            " const c = e.getAttribute('class') || '';"
            " return [c.startsWith('node') ? c : e.id || e.tagName,"
            " st.outlineStyle, parseFloat(st.outlineWidth)]; }"
        )
        reached.add(info[0])
        assert info[1] != "none" and info[2] >= 2, info
    assert {"zoom-in", "zoom-out", "fit", "follow", "search"} <= reached
    assert any(str(r).startswith("node") for r in reached)


@pytest.fixture(scope="module")
def axe() -> Any:
    sync = pytest.importorskip("axe_playwright_python.sync_playwright")
    return sync.Axe()


def _serious(axe: Any, page: Any) -> list[str]:
    found = axe.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_a_planted_violation(session: Any, axe: Any, tmp_path: Path) -> None:
    """The check can fail: text too faint to read is found."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>'
        '<p style="color:#ddd;background:#fff">faint</p><input type="text"></body></html>',
        encoding="utf-8",
    )
    s = session
    s.page.goto(bad.resolve().as_uri())
    assert _serious(axe, s.page)


def test_axe_finds_nothing_serious_on_closed_and_framed_groups(
    session: Any, axe: Any, tmp_path: Path, closed_page: tuple[Path, cr.Graph]
) -> None:
    from test_explorer_groups import layers

    s = session
    s.open(closed_page[0])
    s.js("() => chainrule.step(7)")
    assert _serious(axe, s.page) == []
    s.open(_page(tmp_path, cr.parse(layers(5)), "framed"))
    assert _serious(axe, s.page) == []


# The pages axe scans: the explorer is one template, so one page of every kind the gallery
# has (kinks and ties, exact and decimal numbers, Unicode and shadowed names, fan-out and
# reassignment, neurons and networks, vectors, matrices, broadcasting, losses), not every
# one-op page (sin, cos, tanh ... differ only in their labels). Each scan costs about 1 s.
AXE_PAGES = """abs-kink relu-kink max-tie exact-fractions decimal-inputs rounding-cancels constants
shadow-e sigma-symbol power-unnamed quotient-rule nested-sqrt chain-long fan-out fan-out-named
reuse-three reassign-twice augmented-assign alias semicolons exercise neuron-tanh
cs231n-sigmoid net-2-3-2-1 net-scalar-2-2-1 mlp-softmax-ce softmax-ce vector-matmul
vector-index vector-broadcast vector-bce matrix-fan-out matrix-row-sums matrix-transpose
matrix-outer-product matrix-batch-matmul""".split()


def test_the_pages_axe_scans_are_in_the_gallery() -> None:
    assert set(AXE_PAGES) <= {p.stem for p in GALLERY}
    assert len(set(AXE_PAGES)) == len(AXE_PAGES)


@pytest.mark.parametrize(
    "path", [ROOT / "tests/gallery" / f"{name}.cr" for name in AXE_PAGES], ids=lambda p: p.stem
)
def test_axe_finds_nothing_serious(session: Any, axe: Any, tmp_path: Path, path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(path.read_text()), path.stem))
    assert _serious(axe, s.page) == []
    s.js("() => chainrule.step(chainrule.steps() - 1)")
    s.js(
        "() => { const i = chainrule.inputs();"
        " if (i.length) chainrule.set(i[0], chainrule.value(i[0])); }"
    )
    assert _serious(axe, s.page) == []
