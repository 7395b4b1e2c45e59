"""The explorer page in a real browser: Debian's chromium, headless, driven by Playwright.

Every number the page computes is compared with Python's (to 1e-12) on every gallery program,
at the program's own inputs and after a what-if change; the page's live text is compared
with ``explain``'s; clicks, keys, the URL fragment, blocked requests, console errors, a
screenshot, and the Jupyter display (a notebook executed on a real kernel) are exercised.
These tests skip, with the reason, only when chromium or Playwright is missing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chromium import missing
from helpers import EXERCISE, ROOT

import chainrule as cr
from chainrule.core import values
from chainrule.core.autodiff import edge_contribution

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

GALLERY = sorted((ROOT / "tests/gallery").glob("*.cr"))
TOL = 1e-12


def _flat(v: Any) -> list[float]:
    if v is None:
        return []
    if isinstance(v, (list, int, float)):
        return [float(x) for x in np.asarray(v, dtype=float).reshape(-1)]
    return [float(x) for x in np.asarray(values.to_float(v), dtype=float).reshape(-1)]


def _close(page: Any, python: Any) -> bool:
    a = _flat(page)
    b = _flat(python)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if math.isnan(y):
            if not math.isnan(x):
                return False
        elif math.isinf(y):
            if x != y:
                return False
        elif abs(x - y) > TOL * max(1.0, abs(y)):
            return False
    return True


def _compare(s: Any, g: cr.Graph, where: str) -> int:
    """Every node's value and gradient, and every edge's local partial and contribution."""
    nodes = s.js("() => chainrule.nodes()")
    assert len(nodes) == len(g.nodes), where
    checked = 0
    for n, shown in zip(g.nodes, nodes, strict=True):
        assert _close(shown["value"], n.value), f"{where}: value of {n.label()}"
        if n.grad is not None and shown["grad"] is not None:
            assert _close(shown["grad"], n.grad), f"{where}: gradient of {n.label()}"
            checked += 1
        checked += 1
    edges = s.js("() => chainrule.edges()")
    by_edge = {(e["node"], e["i"]): e for e in edges}
    for k, node in enumerate(g.nodes):
        for i, a in enumerate(node.args):
            e = by_edge.get((k, i))
            if e is None or node.grad is None:
                continue
            if e["contribution"] is not None:
                assert _close(e["contribution"], edge_contribution(node, i)), (
                    f"{where}: contribution {a.label()} → {node.label()}"
                )
                checked += 1
            if e["local"] is not None:
                assert _close(e["local"], node.local[i]), f"{where}: ∂{node.label()}/∂{a.label()}"
                checked += 1
    return checked


def _page(tmp: Path, graph: cr.Graph, name: str) -> Path:
    path = tmp / f"{name}.html"
    cr.explore(graph).save(path)
    return path


def test_the_exercise_step_by_step(session: Any, tmp_path: Path) -> None:
    g = cr.parse(EXERCISE.read_text())
    g.backward()
    s = session
    s.open(_page(tmp_path, g, "exercise"))
    n = s.js("() => chainrule.steps()")
    texts = []
    for i in range(n):
        s.js("i => chainrule.step(i)", i)
        texts.append(" ".join(s.js("() => chainrule.text()")))
    assert abs(s.js("() => chainrule.value('L')") - g["L"].value) <= TOL
    assert abs(s.js("() => chainrule.grad('z')") - g["z"].grad) <= TOL
    shown = "\n".join(texts)
    assert "0.0032861" in shown and "dL/dz" in shown and "−0.0061954" in shown
    assert s.errors == []


def test_what_if_w1_follows_python(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "exercise-whatif"))
    s.js("() => chainrule.set('w₁', 0.5)")
    assert s.js("() => chainrule.whatif()") is True
    want = cr.parse(EXERCISE.read_text(), at={"w": [0.5, 1.4]})
    want.backward()
    assert _compare(s, want, "exercise with w₁ = 0.5") > 20
    # the drawing's numbers followed too
    svg_text = s.js("() => document.getElementById('draw-gradients').textContent")
    assert values.format_float(float(want["z"].grad), 5).replace("-", "−") in svg_text
    s.js("() => chainrule.reset()")
    assert s.js("() => chainrule.whatif()") is False
    assert s.errors == []


def _nudged(v: Any) -> Any:
    a = np.asarray(values.to_float(v), dtype=float)
    out = a * 0.9 + 0.05
    return out.tolist() if a.ndim else float(out)


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_gallery_numbers_agree_with_python(session: Any, tmp_path: Path, path: Path) -> None:
    text = path.read_text()
    g = cr.parse(text)
    g.backward()
    s = session
    s.open(_page(tmp_path, g, path.stem))
    assert _compare(s, g, path.stem) > 0
    # the live text (what a what-if change shows) is explain's text at the program's inputs
    for i in range(s.js("() => chainrule.steps()")):
        assert s.js("i => chainrule.liveText(i)", i) == s.js("i => chainrule.explainText(i)", i), (
            f"{path.stem}: step {i + 1}"
        )
    # every input the program names (a name assigned twice names its last node, not the leaf)
    at = {n.name: _nudged(n.value) for n in g.inputs if n.name and g.names.get(n.name) is n}
    want = cr.parse(text, at=at)
    want.backward()
    for name, v in at.items():
        s.js("([n, v]) => chainrule.set(n, v)", [name, v])
    _compare(s, want, f"{path.stem} nudged")
    assert s.errors == []


def test_clicks_keys_and_the_url_fragment(session: Any, tmp_path: Path) -> None:
    s = session
    page = _page(tmp_path, cr.parse(EXERCISE.read_text()), "exercise-controls")
    s.open(page, "#step=5")
    assert s.js("() => chainrule.step()") == 4
    s.page.keyboard.press("End")
    n = s.js("() => chainrule.steps()")
    assert s.js("() => chainrule.step()") == n - 1
    # the fragment follows (written once a burst of steps is over)
    s.page.wait_for_function(f"() => location.hash === '#step={n}'", timeout=2000)
    s.page.keyboard.press("Home")
    s.page.keyboard.press("ArrowRight")
    s.page.keyboard.press("ArrowRight")
    assert s.js("() => chainrule.step()") == 2
    s.page.keyboard.press("ArrowLeft")
    assert s.js("() => chainrule.step()") == 1
    # click a node of the forward drawing: its forward step, and its details
    z = s.js("() => Object.entries(chainrule.names()).length") and s.js(
        "() => chainrule.nodes().findIndex(n => n.name === 'z')"
    )
    s.page.click(f"#draw-forward g.node[id='n{z}']")
    assert "forward pass: z" in s.js("() => document.getElementById('step-title').textContent")
    assert "value = 2.8" in s.js("() => document.getElementById('details-text').textContent")
    # click an edge of the gradients drawing: the backward step of that edge
    s.js("() => chainrule.step(chainrule.steps() - 1)")
    s.page.click("#draw-gradients g.edge-label[data-i='0']")
    title = s.js("() => document.getElementById('step-title').textContent")
    assert "backward pass: the edge from" in title
    assert "contribution passed back" in s.js(
        "() => document.getElementById('details-text').textContent"
    )
    # play, then pause with the space bar
    s.js("() => { document.getElementById('view').value = 'auto'; chainrule.step(0); }")
    s.js("() => document.getElementById('speed').value = '300'")
    s.page.focus("body")
    s.page.keyboard.press(" ")
    s.page.wait_for_function("() => chainrule.step() >= 2")
    s.page.keyboard.press(" ")
    stopped = s.js("() => chainrule.step()")
    s.page.wait_for_timeout(700)
    assert s.js("() => chainrule.step()") == stopped
    assert s.errors == []


def test_typing_in_an_input_box_and_a_bad_value(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text()), "exercise-typing"))
    box = s.page.locator('#inputs input[aria-label="value of b₀"]')
    box.fill("-1/2")
    box.press("Enter")
    box.dispatch_event("change")
    want = cr.parse(EXERCISE.read_text(), at={"b₀": -0.5})
    want.backward()
    _compare(s, want, "b₀ = -1/2 typed in")
    box.fill("[1, 2]")
    box.dispatch_event("change")
    assert "write one number" in s.js("() => document.getElementById('inputs').textContent")
    assert s.errors == []


def test_a_screenshot_is_not_blank(session: Any, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    s = session
    s.open(_page(tmp_path, cr.parse(EXERCISE.read_text(), exact=True), "exercise-shot"), "#step=14")
    shot = tmp_path / "explorer.png"
    s.page.screenshot(path=str(shot))
    pixels = mpimg.imread(str(shot))
    assert pixels.shape[0] > 500 and pixels.shape[1] > 800
    assert float(pixels[..., :3].std()) > 0.05  # not one colour
    dark = (pixels[..., :3].mean(axis=2) < 0.3).mean()
    assert 0.005 < dark < 0.5  # text and lines, on a light page
    assert "σ(14/5)" in s.js("() => document.body.textContent")


def test_the_notebook_output_runs_in_the_browser(session: Any, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            f"import chainrule as cr\ng = cr.parse(open({str(EXERCISE)!r}).read())\ncr.explore(g)"
        )
    )
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    html = nb.cells[0].outputs[0]["data"]["text/html"]
    shell = tmp_path / "notebook-output.html"
    shell.write_text(f"<!DOCTYPE html><html><body>{html}</body></html>", encoding="utf-8")
    s = session
    s.page.goto(shell.resolve().as_uri())
    frame = s.page.frame_locator("iframe")
    frame.locator("#step-title").wait_for()
    inner = next(f for f in s.page.frames if f is not s.page.main_frame)
    inner.wait_for_function("() => window.chainrule !== undefined")
    assert inner.evaluate("() => chainrule.steps()") > 10
    inner.evaluate("() => chainrule.set('w₁', 0.5)")
    want = cr.parse(EXERCISE.read_text(), at={"w": [0.5, 1.4]})
    want.backward()
    assert abs(inner.evaluate("() => chainrule.grad('z')") - want["z"].grad) <= TOL
    assert s.errors == []


def test_a_pytorch_model_explored_follows_python(session: Any, tmp_path: Path) -> None:
    """``explore --torch``: the page of a converted model computes PyTorch's numbers (float64
    residual blocks), follows a what-if change of its input as a fresh conversion does, and
    an op it cannot write in JavaScript (PyTorch's cumsum) keeps its numbers and says so."""
    pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    import importlib.util

    from chainrule.cli import main

    spec = importlib.util.spec_from_file_location("zoo", ROOT / "examples/torch_models.py")
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    model, (x, target) = zoo.stack()
    g = cr.from_torch(model, x, target)
    g.backward()
    page = tmp_path / "stack.html"
    assert (
        main(["explore", "--torch", f"{ROOT}/examples/torch_models.py:stack", "-o", str(page)]) == 0
    )
    s = session
    s.open(page)
    assert _compare(s, g, "stack") > 100
    nudged = x * 0.9 + 0.05
    s.js("([n, v]) => chainrule.set(n, v)", ["x", nudged.tolist()])
    want = cr.from_torch(model, nudged, target)
    want.backward()
    _compare(s, want, "stack with x nudged")
    assert s.errors == []

    s.open(_page(tmp_path, _converted(zoo.opaque()), "opaque"))
    notes = s.js("() => document.body.textContent")
    assert "Not recomputed in the page" in notes and "torch_opaque" in notes
    assert s.errors == []


def _converted(made: tuple[Any, tuple[Any, ...]]) -> cr.Graph:
    model, inputs = made
    g = cr.from_torch(model, *inputs)
    g.backward()
    return g


def _every_op_program() -> list[tuple[str, str]]:
    from test_ops import form_sample

    out = []
    for name, op in cr.OPS.items():
        text = form_sample(name) if op.in_programs and op.arity else None
        if text is not None:
            out.append((name, text))
    return out


@pytest.mark.parametrize(
    "name, text", _every_op_program(), ids=lambda v: v if "\n" not in v else ""
)
def test_every_op_of_the_table_recomputes_in_the_page(
    session: Any, tmp_path: Path, name: str, text: str
) -> None:
    """Each op's JavaScript form (Op.js, or its own forward on expressions) against Python, at
    the sample's inputs and after a what-if change of every input: no op is left stale."""
    g = cr.parse(text)
    g.backward()
    s = session
    s.open(_page(tmp_path, g, name))
    assert _compare(s, g, name) > 0
    leaves = [n for n in g.inputs if n.name and g.names.get(n.name) is n]
    labels = {"t", "i", "m"}  # class labels, indices and masks keep their values
    at = {n.name: _nudged(n.value) for n in leaves if n.name not in labels}
    want = cr.parse(text, at=at)
    want.backward()
    for leaf, v in at.items():
        s.js("([n, v]) => chainrule.set(n, v)", [leaf, v])
    assert s.js("() => chainrule.whatif()") is True
    assert _compare(s, want, f"{name} nudged") > 0
    assert "not recomputed" not in s.js("() => document.querySelector('main').textContent")
    assert s.errors == []


def test_numbers_computed_from_an_op_without_javascript_are_marked_stale(
    session: Any, tmp_path: Path
) -> None:
    """An opaque PyTorch op has no JavaScript form: after a what-if change, its value, what is
    computed from it and the gradients that pass through it are never shown as recomputed
    (the page writes "not recomputed", window.chainrule answers null), while the numbers that
    do not depend on it follow Python."""
    torch = pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")

    def f(x: Any, w: Any) -> Any:
        return (torch.cumsum(x * w, 0) ** 2).sum() + (w * w).sum()

    x0, w0 = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.5, 0.25, -0.5])
    g = cr.from_torch(f, x0.double(), w0.double())
    g.backward()
    assert any(n.op.name == "torch_opaque" for n in g.nodes)
    s = session
    s.open(_page(tmp_path, g, "stale"))
    names = s.js("() => chainrule.names()")
    out = g.label(g.output)
    assert s.js("n => chainrule.value(n)", out) == pytest.approx(float(g.output.value), rel=1e-12)
    leaf = next(n for n in g.inputs if n.value.tolist() == pytest.approx(x0.tolist()))
    name = g.label(leaf)
    assert name in names
    s.js("([n, v]) => chainrule.set(n, v)", [name, [1.0, 2.0, 3.0]])
    assert s.js("() => chainrule.whatif()") is True
    assert s.js("n => chainrule.value(n)", out) is None  # downstream of the opaque node
    opaque = next(n for n in g.nodes if n.op.name == "torch_opaque")
    assert s.js("n => chainrule.value(n)", g.label(opaque)) is None
    assert s.js("n => chainrule.grad(n)", name) is None  # its gradient passes through it
    # w · w does not depend on the opaque node: still recomputed (and unchanged here)
    shown = s.js("() => chainrule.nodes()")
    square = next(
        k
        for k, n in enumerate(g.nodes)
        if n.op.name == "sum"
        and n.args[0].op.name == "mul"
        and n.args[0].args[0] is n.args[0].args[1]
    )
    assert shown[square]["value"] == pytest.approx(float(g.nodes[square].value), rel=1e-12)
    assert "not recomputed" in s.js("() => document.getElementById('draw-forward').textContent")
    s.js("() => chainrule.reset()")
    assert s.js("n => chainrule.value(n)", out) == pytest.approx(float(g.output.value), rel=1e-12)
    assert s.errors == []
