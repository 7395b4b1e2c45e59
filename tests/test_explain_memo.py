"""What worked solutions, drawings and the explorer remember between uses (labels, decimals,
operations written with tokens, text widths) gives what working each out again gives, and the
garbage collector paused while they are built is switched back on as it was."""

from __future__ import annotations

import gc

import numpy as np

import chainrule as cr
from chainrule.draw import labels, measure
from chainrule.explain import explain
from chainrule.explain import formulas as f
from chainrule.explain.pause import gc_paused


def test_a_remembered_decimal_is_the_one_written_afresh() -> None:
    for value in [0.0, -0.0, 1.5, -2.25, 1e-300, 3.14159265, float("inf"), float("nan")]:
        for v in (value, np.float64(value)):
            for digits in (1, 3, 5):
                assert f.num(v, digits) == f._num(v, digits)
                assert f.num(v, digits) == f._num(v, digits)  # from memory the second time
                assert labels.number(v, digits) == labels._number(v, digits)
                assert labels.number(v, digits) == labels._number(v, digits)


def test_operations_written_with_tokens_differ_where_their_literals_or_shapes_do() -> None:
    g = cr.parse("x = 3\nv = [1, 2]\ny = x^2 + x^3 + sum(v^2)")
    seen = {}
    for n in g.nodes:
        if n.args and n.op.name == "pow":
            seen[(n.args[1].value, np.shape(n.value))] = f.with_tokens(n)[0]
    assert seen[(2, ())] != seen[(3, ())]
    assert all("Q" in text for text in seen.values())
    for n in g.nodes:  # each substitution as it is written afresh, without memory
        if n.args:
            f._WITH_TOKENS.clear()
            fresh = f.substituted(n, 5, False)
            assert f.substituted(n, 5, False) == fresh


def test_a_numbers_label_follows_its_value_under_one_naming() -> None:
    x = cr.var(2.0, name="x")
    c = cr.const(3.0)
    g = cr.Graph((x * c).named("y"))
    names = g.naming
    before = f.label(c, names)
    c.value = 4.0
    assert f.label(c, names) != before
    assert f.label(c, names).text == names.label(c)


def test_a_remembered_width_is_the_measured_one() -> None:
    for text in ["x", "dL/dx = −0.5", "σ(a₁)"]:
        for bold in (False, True):
            measure.text_width.cache_clear()
            fresh = measure.text_width(text, 12, bold)
            assert measure.text_width(text, 12, bold) == fresh
            assert fresh == sum(measure._advance(ch, bold) for ch in text) * 12


def test_the_collector_is_switched_back_on_as_it_was() -> None:
    g = cr.parse("x = 2\ny = x * x")
    assert gc.isenabled()
    inside = []
    with gc_paused():
        inside.append(gc.isenabled())
    assert inside == [False] and gc.isenabled()
    explain(g, "txt")
    assert cr.explore(g).html
    assert gc.isenabled()
    gc.disable()
    try:
        explain(g, "txt")
        assert cr.explore(g).html
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_a_build_keeps_is_old_and_a_callers_frozen_objects_stay_frozen() -> None:
    g = cr.parse("x = 2\ny = x * x")
    e = cr.explore(g)
    kept = e._parts["data"]["nodes"]
    assert any(o is kept for o in gc.get_objects(generation=2))
    assert not any(o is kept for o in gc.get_objects(generation=0))
    mine = [[1]]  # frozen before a fork, say: in no generation the collector scans
    gc.freeze()
    try:
        assert cr.explore(g).html
        assert not any(o is mine for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_a_remembered_total_is_the_one_written_afresh() -> None:
    g = cr.parse("x = [1, 2]\nW = [[1, 0], [2, 1]]\ny = W @ x\nL = sum(y * y) - x[0]")
    names = g.naming
    for top in (g.output, g.nodes[2]):
        for n in g.nodes:
            assert f.derivative(top, n, names) == f._derivative(top, n, names)
            assert f.derivative(top, n, names) == f._derivative(top, n, names)


def test_the_svg_writers_pieces_are_the_elements_the_whole_pattern_finds() -> None:
    """The explorer sets elements aside from ``svg_parts``' pieces: each piece is one drawn
    element of the document, as one pattern (its end found by backtracking) finds them."""
    import re

    from chainrule.draw.layout import layout
    from chainrule.draw.views import build
    from chainrule.draw.writers.svg import svg_parts, write_svg

    whole = re.compile(
        r'<g class="(edge|edge-label|node)[ "][^>]*?(?:data-i="(\d+)"|id="([^"]*)")[^>]*>'
        r".*?\n</g>\n",
        re.S,
    )
    g = cr.parse("x = -0.5\nw = 2\nh = tanh(w*x + 1)\nh = tanh(w*h - 1)\nL = h^2 - x")
    for view in ("forward", "gradients"):
        drawing = build(g, view)
        lay = layout(drawing)
        parts = svg_parts(drawing, lay)
        text = write_svg(drawing, lay)
        assert parts.text() == text
        found = [m.group(0) for m in whole.finditer(text)]
        labels = [p for p in parts.labels if p is not None]
        nodes = [p for p in parts.nodes if p is not None]
        assert found == [p + "\n" for p in (*parts.edges, *labels, *nodes)]
        assert labels or view == "forward"  # the gradients view labels its arrows


def _texts(d) -> list[str]:
    out = []
    for s in d.forward:
        out += [m.text for m in (s.label, s.formula, s.substituted, s.exact) if m is not None]
    for b in d.backward:
        out.append(b.label.text)
        for t in b.terms:
            out += [t.upstream_label.text, t.local.label.text]
            out += [m.text for m in (t.local.formula, *(t.vjp or ())) if m is not None]
    return out


def test_text_only_writes_the_same_text() -> None:
    from pathlib import Path

    from chainrule.explain import derive

    gallery = sorted((Path(__file__).parent / "gallery").glob("*.cr"))
    assert gallery
    for path in gallery:
        g = cr.parse(path.read_text(encoding="utf-8"))
        with f.text_only():
            bare = derive(g, 5)
            assert all(s.formula is None or s.formula.latex == "" for s in bare.forward)
        full = derive(g, 5)
        assert _texts(bare) == _texts(full), path.name
        assert any(s.formula is not None and s.formula.latex for s in full.forward)
        assert all(s.label.latex for s in full.forward)
