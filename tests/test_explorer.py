"""The explorer without a browser: the JavaScript backend, the compiled program, the steps
(explain's text), the page's self-containment and escaping, the CLI and the Python API.
What the page does in a browser is tested in test_explorer_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import EXERCISE, ROOT, run

import chainrule as cr
from chainrule.core.snapshot import with_gradients
from chainrule.draw.views import build, build_fresh
from chainrule.explain import derive, document, markdown
from chainrule.explain.document import _backward, _forward
from chainrule.explain.model import derive_fresh
from chainrule.explorer.jsmath import JS, JSMath, NotExpressible, lift, literal
from chainrule.explorer.page import _script_json, page_data
from chainrule.explorer.program import compile_graph
from chainrule.explorer.steps import Builder, build_steps

GALLERY = sorted((ROOT / "tests/gallery").glob("*.cr"))


def test_literals_read_back_to_the_same_double() -> None:
    for x in (0.1, -2.5e-300, 1e300, 1 / 3, -0.0):
        assert float(literal(x).strip("()")) == x
    assert literal(float("inf")) == "Infinity"
    assert literal(float("nan")) == "NaN"


def test_a_symbol_refuses_a_branch() -> None:
    x = JS("S[0]")
    with pytest.raises(NotExpressible):
        bool(x > 0)
    with pytest.raises(NotExpressible):
        float(x)


def test_rules_of_the_table_become_javascript() -> None:
    op = cr.OPS["sigmoid"]
    x = JS("S[0]")
    partial = op.partials[0](JSMath, (x,), JS("S[1]"), None)
    assert partial.code == "(S[1]*(1.0-S[1]))"
    assert (lift(2.0) * x).code == "(2.0*S[0])"
    assert (x * 1).code == "S[0]"  # times one is the factor itself


def test_the_program_has_every_number_and_no_frozen_node_on_the_exercise() -> None:
    g = with_gradients(cr.parse(EXERCISE.read_text()))
    p = compile_graph(g)
    assert p.frozen == {}
    assert all(s is not None for s in p.grads[:4])  # every input has a gradient
    assert "Math.pow" in p.code and "cr.sigmoid" in p.code


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_every_gallery_program_compiles_without_frozen_nodes(path: Path) -> None:
    g = with_gradients(cr.parse(path.read_text()))
    p = compile_graph(g)
    assert p.frozen == {}, p.frozen
    assert p.interactive


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_drawings_and_derivation_of_the_shared_copy_are_the_usual_ones(path: Path) -> None:
    """The page draws and derives one private copy (``build_fresh``, ``derive_fresh``): the
    same drawings, tooltips included, and the same worked solution as ``build`` and ``derive``
    each on a copy of its own."""
    g = cr.parse(path.read_text())
    fresh = with_gradients(g)
    tips: dict = {}
    for view in ("forward", "gradients"):
        assert build_fresh(fresh, view, tips, collapse=[]) == build(g, view, collapse=[])
    assert _explained(derive_fresh(fresh, 5)) == _explained(derive(g, 5))


def _explained(d) -> str:
    return markdown.write(document.build(d))


def _equation_text(block) -> str:
    s = block.parts[0].text
    for rel, part in zip(block.relations, block.parts[1:], strict=True):
        s += f" {rel} {part.text}"
    return s


def test_forward_steps_are_explains_equations() -> None:
    g = cr.parse(EXERCISE.read_text(), exact=True)
    d = derive(g)
    steps = build_steps(d)
    forward = [s for s in steps if s.kind == "forward"]
    assert len(forward) == len(d.forward)
    for s, fs in zip(forward, d.forward, strict=True):
        assert s.blocks == [{"eq": _equation_text(_forward(fs, d.digits))}]
    assert "σ(14/5)" in json.dumps([s.blocks for s in forward], ensure_ascii=False)


def test_backward_steps_are_one_per_edge_and_end_with_explains_blocks() -> None:
    g = cr.parse("x = 3\ny = x * x + x\n")
    d = derive(g)
    steps = build_steps(d)
    back = [s for s in steps if s.kind == "backward"]
    x_steps = [s for s in back if d.graph.nodes[s.node].name == "x"]
    assert len(x_steps) == 3  # x reaches y along three edges
    assert [s.complete for s in x_steps] == [False, False, True]
    x_step = next(b for b in d.backward if b.node.name == "x")
    want = Builder.static(_backward(x_step, d))
    assert x_steps[-1].blocks == want
    assert any("So far, 2 of 3 edges" in b.get("p", "") for b in x_steps[1].blocks)


def test_script_json_cannot_close_its_script_element() -> None:
    text = _script_json({"a": "</script><script>alert(1)</script>", "b": "\u2028"})
    assert "<" not in text and "\u2028" not in text
    assert json.loads(text)["a"].startswith("</script>")


def test_the_page_is_self_contained() -> None:
    html = cr.explore(cr.parse(EXERCISE.read_text())).html
    assert "default-src 'none'" in html  # the page itself forbids every request
    without_namespaces = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://", without_namespaces)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"\s(src|href)=", html)
    assert "@import" not in html and "url(" not in html


def test_labels_are_escaped_in_the_page() -> None:
    x = cr.var(2.0, name="a<b&c")
    y = cr.exp(x * x)
    html = cr.explore(y).html
    assert "a<b&c" not in html
    assert "a&lt;b&amp;c" in html  # in the SVG
    assert "a\\u003cb&c" in html  # in the JSON data


def test_page_data_names_elements_and_nodes() -> None:
    d = page_data(cr.parse(EXERCISE.read_text()))
    assert {"x", "w", "w₁", "w₂", "z", "L", "ŷ"} <= set(d["names"])
    assert d["names"]["w₂"][1] == 1


def test_the_callers_graph_is_left_alone() -> None:
    g = cr.parse(EXERCISE.read_text())
    before = [n.grad for n in g.nodes]
    cr.explore(g)
    assert [n.grad for n in g.nodes] == before


def test_explore_rejects_what_is_not_a_graph() -> None:
    with pytest.raises(cr.ChainruleError):
        cr.explore("x = 1")  # type: ignore[arg-type]


def test_jupyter_shows_the_page_in_a_sandboxed_iframe() -> None:
    out = cr.explore(cr.parse("x = 2\ny = x * x\n"))._repr_html_()
    assert out.startswith("<iframe") and 'sandbox="allow-scripts"' in out
    assert "<script" not in out  # the page is inside srcdoc, escaped
    assert "&lt;script" in out


def test_cli_writes_one_page(tmp_path: Path) -> None:
    r = run("explore", str(EXERCISE), "--exact", "-o", "page.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "crCompute" in html


def test_cli_mistakes_are_one_paragraph_and_status_2(tmp_path: Path) -> None:
    (tmp_path / "bad.cr").write_text("x = 1\ny = log(x - 2\n")
    r = run("explore", "bad.cr", "-o", "p.html", cwd=tmp_path)
    assert r.returncode == 2 and "line 2" in r.stderr and "Traceback" not in r.stderr
    r = run("explore", str(EXERCISE), "-o", "p.svg", cwd=tmp_path)
    assert r.returncode == 2 and ".html" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "p.html").exists() and not (tmp_path / "p.svg").exists()


def test_vector_values_keep_their_shape_in_the_program() -> None:
    g = with_gradients(cr.parse("W = [[1, 2], [3, 4]]\nx = [1, -1]\ny = sum(W @ x)\n"))
    p = compile_graph(g)
    w = g.nodes.index(g["W"])
    assert p.values[w].shape == [2, 2]
    assert p.grads[w] is not None and len(p.grads[w].at) == 4
    assert np.shape(g["W"].grad) == (2, 2)


def _wcag(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (written here apart from the page's code)."""

    def lum(c: str) -> float:
        ch = [int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in ch]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_in_every_drawn_box_meets_wcag_aa() -> None:
    """The gradients view colours boxes by gradient size; the text on them stays readable."""
    import re

    lines = ["x = 0.5", "h = x"]
    for i in range(30):
        lines += [f"w{i} = {0.5 + (i % 7) / 10}", f"b{i} = 0.1", f"h = tanh(w{i}*h + b{i})"]
    page = cr.explore(cr.parse("\n".join(lines + ["L = h^2"]))).html
    boxes = re.findall(r'<g class="node[^"]*" id="n\d+">(.*?)</g>', page, flags=re.S)
    assert len(boxes) > 100
    fills = set()
    for box in boxes:
        fill = re.search(r'<rect [^>]*fill="(#[0-9a-fA-F]{6})"', box)
        assert fill, box
        fills.add(fill.group(1))
        for colour in re.findall(r'<text [^>]*fill="(#[0-9a-fA-F]{6})"', box):
            assert _wcag(fill.group(1), colour) >= 4.5, (fill.group(1), colour)
    assert len(fills) > 3  # the colouring by gradient is still there
