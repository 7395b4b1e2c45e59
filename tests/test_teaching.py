"""Teaching outputs: fan-out edge by edge, the seed of a vector output, totals (d) apart from
local partials (∂), readable drawings, and no side effect on the caller's graph.

Expected numbers are worked out here by hand (d/dx (x² + x) = 2x + 1), never read back from
chainrule's own output."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from helpers import EXERCISE_TEXT

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import MARGIN, layout
from chainrule.draw.measure import TITLE_SIZE, text_width
from chainrule.explain import explain


def fan() -> cr.Graph:
    return cr.parse("x = 3\nf = x*x + x\n")


# ---------------------------------------------------------------- fan-out through one op


def test_each_edge_of_x_times_x_is_its_own_arrow_with_its_own_partial() -> None:
    d = draw.build(fan(), "gradients")
    x = next(b for b in d.boxes if b.title == "x")
    square = next(b for b in d.boxes if b.title == "x · x")
    into_x = [a for a in d.arrows if a.target == x.id]
    assert len(into_x) == 3  # two from x · x, one from f
    from_square = [a for a in into_x if a.source == square.id]
    assert len(from_square) == 2
    for a in from_square:
        # the local partial of one factor is the other factor, x = 3; upstream df/d(x·x) = 1
        assert [line.text for line in a.lines] == ["∂(x · x)/∂x = x = 3", "1 · 3 = 3"]
    assert [line.text for line in x.lines[1:]] == ["df/dx = 3 + 3 + 1", "= 7"]


def test_fan_out_explained_with_locals_and_total_apart() -> None:
    text = explain(fan(), "txt")
    assert (
        "x reaches the output along 3 edges, into x · x (twice: both of its inputs) and f" in text
    )
    assert "  ∂f/∂x = 1\n" in text  # the local partial of f = (x · x) + x along its own edge
    total = 2 * 3 + 1  # d/dx (x² + x) at x = 3
    assert f"= 1 · 3 + 1 · 3 + 1 · 1 = 3 + 3 + 1 = {total}" in text
    assert re.search(r"^  df/dx = .* = 7$", text, re.M)
    assert not re.search(r"^  ∂f/∂x = .*7$", text, re.M)  # a total never takes the ∂ symbol
    for fmt in ("md", "tex"):
        out = explain(fan(), fmt)
        assert r"\frac{\mathrm{d} f}{\mathrm{d} x}" in out
        assert re.search(r"\\frac\{\\partial f\}\{\\partial x\} &?= 1", out)
        assert re.search(r"3 \+ 3 \+ 1\s*(\\\\\s*)?&?= 7", out)


# ---------------------------------------------------------------- the seed of a vector output


def test_vector_output_says_its_seed_is_ones() -> None:
    g = cr.parse("x = [1, 2, 3]\ny = x*x\n")
    text = " ".join(explain(g, "txt").split())
    assert "starts from a seed of ones: y is a vector" in text
    assert "d(Σy)/dy = [1, 1, 1]" in text
    assert "dy/dy = 1" not in text
    # d(Σ x²)/dx = 2x
    assert "d(Σy)/dx = " in text and "[2, 4, 6]" in text
    for view in ("gradients", "backward"):
        d = draw.build(g, view)
        assert "seed of ones" in d.title
    grads = draw.build(g, "gradients")
    out = next(b for b in grads.boxes if b.category == "output")
    assert "seed: ones, the gradient of Σy" in [line.text for line in out.lines]
    assert r"\textstyle\sum y" in explain(g, "tex")


# ---------------------------------------------------------------- drawings


@pytest.mark.parametrize("view", ["forward", "gradients", "backward"])
def test_titles_are_wrapped_never_cut(view: str) -> None:
    d = draw.build(cr.parse("a = 2\nb = a*a\n"), view)
    lay = layout(d)
    assert " ".join(row for row, _ in lay.title_rows) == d.title
    for row, (x, _) in lay.title_rows:
        half = text_width(row, TITLE_SIZE, bold=True) / 2
        assert x - half >= MARGIN - 0.01 and x + half <= lay.width - MARGIN + 0.01
    svg = draw.to_svg(cr.parse("a = 2\nb = a*a\n"), view)
    root = ET.fromstring(svg.encode())
    titles = [el.text for el in root.iter() if el.get("class") == "title"]
    assert titles == [row for row, _ in lay.title_rows]


def test_products_on_edges_say_elementwise_scalar_or_summed() -> None:
    g = cr.parse("x = [1, 2]\nw = [3, 4]\nb = 5\nf = sum(x*w + b)\n")
    labels = [line.text for a in draw.build(g, "gradients").arrows for line in a.lines]
    assert not any("×" in t for t in labels)
    # into x: upstream [1, 1] ⊙ local w = [3, 4]
    assert "[1, 1] ⊙ [3, 4] = [3, 4]" in labels
    # into the scalar b, broadcast over two elements: Σ([1, 1] · 1) = 2
    assert "Σ([1, 1] · 1) = 2" in labels


def test_backward_view_is_simplified_and_in_one_piece() -> None:
    g = cr.parse("x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n")  # CS231n
    d = draw.build(g, "backward")
    ids = {b.id for b in d.boxes}
    parent = {i: i for i in ids}

    def root(i: str) -> str:
        while parent[i] != i:
            i = parent[i]
        return i

    for a in d.arrows:
        parent[root(a.source)] = root(a.target)
    assert len({root(i) for i in ids}) == 1
    marks = {line.text: b.title for b in d.boxes for line in b.lines if line.role == "grad"}
    assert marks == {"df/dz": "q = x + y", "df/dx = df/dy": "z"}  # df/dx = df/dy = z, df/dz = q
    ex = cr.parse(EXERCISE_TEXT, exact=True)
    titles = [b.title for b in draw.build(ex, "backward").boxes]
    assert titles.count("ŷ − y") == 1
    assert not any(re.fullmatch(r"[\d ]+[−+·][\d ]+", t) for t in titles)  # 2 − 1 is folded


def test_html_fits_zooms_at_the_pointer_and_has_one_title(tmp_path) -> None:
    g = cr.parse("x = 3\nf = x*x + x\n")
    page = draw.render(g, tmp_path / "g.html", "gradients").read_text(encoding="utf-8")
    d = draw.build(g, "gradients")
    body = page.split("<body>", 1)[1]
    first_row = layout(d).title_rows[0][0]
    assert body.count(first_row) == 2  # the drawing's own title, and the SVG's <title>
    assert "fit();" in page and "cx - (cx - x)" in page
    svg = body[body.index("<svg") : body.index("</svg>") + 6]
    root = ET.fromstring(svg)
    tips = [el.text or "" for el in root.iter() if el.tag.endswith("title")]
    x_tip = next(t for t in tips if t.startswith("x (input)"))
    assert x_tip.splitlines() == ["x (input)", "value: 3", "df/dx = 7"]
    assert any(t.startswith("f = x · x + x\nvalue: 12") for t in tips)
    assert any(t.startswith("x · x → x\n∂(x · x)/∂x = x = 3") for t in tips)


def test_max_width_option_narrows_a_wide_drawing(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = cr.var(rng.normal(size=3), name="x")
    w = cr.var(rng.normal(size=(5, 3)), name="W")
    v = cr.var(rng.normal(size=5), name="v")
    loss = cr.sigmoid(v @ cr.tanh(w @ x)).named("L")
    free = layout(draw.build(loss, "forward", expand=True))
    capped = draw.build(loss, "forward", expand=True, max_width=1000)
    assert capped.max_width == 1000
    assert layout(capped).width < free.width
    with pytest.raises(cr.ChainruleError, match="max width"):
        draw.build(loss, max_width=5)


# ---------------------------------------------------------------- no side effects


def test_draw_and_explain_leave_the_callers_graph_and_options_alone() -> None:
    x = cr.var(3.0, name="x")
    f = (x * x + x).named("f")
    g = cr.Graph(f)
    options = {"collapse": ["nothing-yet"], "digits": 4}
    options.pop("collapse")
    kept = dict(options)
    for view in ("forward", "gradients", "backward"):
        draw.build(g, view, **options)
    explain(g, "txt")
    assert options == kept
    assert all(n.grad is None for n in g.nodes)
    # gradients the caller made with another seed are neither used nor overwritten
    f.backward(seed=10.0)
    assert x.grad == 70.0
    assert "df/dx = 3 + 3 + 1" in [
        line.text for b in draw.build(g, "gradients").boxes for line in b.lines
    ]
    assert "df/dx     7" in explain(g, "txt")
    assert x.grad == 70.0


# ---------------------------------------------------------------- worked solutions


def test_latex_has_one_alignment_point_per_row_and_breaks_long_vectors() -> None:
    values = ", ".join(f"{k}/7" for k in range(1, 25))
    g = cr.parse(f"x = [{values}]\ny = sum(x*x)\n", exact=True)
    tex = explain(g, "tex")
    for block in re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", tex, re.S):
        for row in block.split("\\\\\n"):
            assert row.count("&") <= 1, row
    assert "\\right." in tex and "\\left." in tex


def test_markdown_and_latex_carry_the_exact_forms_of_the_text() -> None:
    ex = cr.parse(EXERCISE_TEXT, exact=True)
    txt = explain(ex, "txt")
    assert "(σ(14/5) − 1)²" in txt
    for fmt in ("md", "tex"):
        out = explain(ex, fmt)
        assert r"{\left(\sigma\left(\frac{14}{5}\right) - 1\right)}^{2}" in out
        assert re.search(r"\\hat\{y\} - y &?= \\sigma\\left\(\\frac\{14\}\{5\}\\right\) - 1", out)
        assert "v_{" not in out
