"""Drawings: the exercise's numbers in every view, options for big graphs, every format."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET
from fractions import Fraction as F

import numpy as np
import pytest

import chainrule as cr
from chainrule import draw
from chainrule.core.errors import ChainruleError
from chainrule.draw.layout import layout

# ---------------------------------------------------------------- independent expected numbers


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


Z = 4 / 5 * 1 + 7 / 5 * 1 + 3 / 5
YHAT = sigmoid(Z)
LOSS = (YHAT - 1) ** 2
DL_DYHAT = 2 * (YHAT - 1)
DYHAT_DZ = YHAT * (1 - YHAT)
DL_DZ = DL_DYHAT * DYHAT_DZ
DL_DX = (DL_DZ * 4 / 5, DL_DZ * 7 / 5)


def shown(x: float) -> str:
    """How a drawing writes a number: 5 significant digits, typographic minus."""
    return f"{x:.5g}".replace("-", "\u2212")


def test_independent_numbers_match_the_exercise_sheet() -> None:
    assert math.isclose(LOSS, 0.0032860611, rel_tol=1e-7)
    assert math.isclose(DL_DYHAT, -0.11464835, rel_tol=1e-7)
    assert math.isclose(DL_DZ, -0.0061953808, rel_tol=1e-7)
    assert math.isclose(DL_DX[0], -0.0049563046, rel_tol=1e-7)
    assert math.isclose(DL_DX[1], -0.0086735331, rel_tol=1e-7)


def exercise(exact: bool = True) -> cr.Graph:
    x = cr.var([1, 1], name="x", exact=exact)
    w = cr.var([F(4, 5), F(7, 5)], name="w", exact=exact)
    b = cr.var(F(3, 5), name="b₀", exact=exact)
    y = cr.var(1, name="y", exact=exact)
    z = (w.T @ x + b).named("z")
    yhat = cr.sigmoid(z).named("ŷ")
    return cr.Graph(((yhat - y) ** 2).named("L"))


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return [el.text or "" for el in root.iter() if el.tag.endswith("text")]


# ---------------------------------------------------------------- forward view


def test_forward_svg_shows_every_value() -> None:
    g = exercise()
    drawing = draw.build(g, "forward", expand=True)
    texts = svg_texts(draw.to_svg(g, expand=True))
    for label in drawing.labels():
        assert label in texts
    assert "z = w₁ · x₁ + w₂ · x₂ + b₀" in texts
    assert "14/5 = 2.8" in texts
    assert f"σ(14/5) ≈ {shown(YHAT)}" in texts
    assert any(t.endswith(f"≈ {shown(LOSS)}") for t in texts)
    for name, value in (("w₁", "4/5 = 0.8"), ("w₂", "7/5 = 1.4"), ("b₀", "3/5 = 0.6")):
        box = next(b for b in drawing.boxes if b.title == name)
        assert box.lines[1].text == value
        assert box.category == "input"


def test_forward_arrows_run_from_inputs_to_their_operation() -> None:
    drawing = draw.build(exercise(), "forward")
    ids = {b.title: b.id for b in drawing.boxes}
    pairs = {(a.source, a.target) for a in drawing.arrows}
    assert (ids["ŷ = σ(z)"], ids["ŷ − y"]) in pairs
    assert (ids["b₀"], ids["z = w @ x + b₀"]) in pairs
    assert next(b for b in drawing.boxes if b.title.startswith("L =")).category == "output"


def test_float_program_shows_decimals_only() -> None:
    drawing = draw.build(exercise(exact=False), "forward")
    values = [b.lines[1].text for b in drawing.boxes if len(b.lines) > 1]
    assert shown(YHAT) in values
    assert not any("/" in v for v in values)


# ---------------------------------------------------------------- gradient view


def test_gradient_svg_has_every_gradient_partial_and_product() -> None:
    g = exercise()
    texts = svg_texts(draw.to_svg(g, "gradients", expand=True))
    expected = [
        "dL/dL = 1",
        f"dL/dŷ = {shown(DL_DYHAT)}",
        f"dL/dz = {shown(DL_DZ)}",
        f"dL/dw₁ = {shown(DL_DZ)}",
        f"dL/dw₂ = {shown(DL_DZ)}",
        f"dL/db₀ = {shown(DL_DZ)}",
        f"dL/dx₁ = {shown(DL_DX[0])}",
        f"dL/dx₂ = {shown(DL_DX[1])}",
        f"∂ŷ/∂z = σ(z)(1 − σ(z)) = {shown(DYHAT_DZ)}",
        f"({shown(DL_DYHAT)}) · {shown(DYHAT_DZ)} = {shown(DL_DZ)}",
        "∂(w₁ · x₁)/∂w₁ = x₁ = 1",
        "∂(w₂ · x₂)/∂x₂ = w₂ = 7/5 = 1.4",
        f"({shown(DL_DZ)}) · 1.4 = {shown(DL_DX[1])}",
        "∂z/∂b₀ = 1",
    ]
    for label in expected:
        assert label in texts, label


def test_gradient_arrows_run_from_the_output_back_to_the_inputs() -> None:
    drawing = draw.build(exercise(), "gradients", expand=True)
    ids = {b.title: b.id for b in drawing.boxes}
    pairs = {(a.source, a.target) for a in drawing.arrows}
    assert (ids["ŷ"], ids["z"]) in pairs
    assert (ids["z"], ids["b₀"]) in pairs
    assert all(a.category == "gradient" for a in drawing.arrows)
    # the constant exponent 2 carries no gradient and is not drawn
    assert "2" not in ids


def test_fan_out_node_shows_the_sum_of_its_contributions() -> None:
    x = cr.var(3.0, name="x")
    f = (x * x + cr.sin(x)).named("f")
    drawing = draw.build(f, "gradients")
    box = next(b for b in drawing.boxes if b.title == "x")
    texts = [line.text for line in box.lines]
    # x · x gives two contributions of 3 each, sin gives cos(3)
    assert texts[1] == f"df/dx = 3 + 3 + {shown(math.cos(3))}".replace("+ −", "− ")
    assert texts[2] == f"= {shown(6 + math.cos(3))}"


def test_backward_view_draws_the_gradient_graph_with_its_values() -> None:
    drawing = draw.build(exercise(), "backward")
    results = {line.text: b for b in drawing.boxes for line in b.lines if line.role == "grad"}
    assert "dL/db₀" in results and "dL/dx" in results and "dL/dw" in results
    assert results["dL/db₀"].category == "result"
    assert shown(DL_DZ) in results["dL/db₀"].lines[1].text
    assert f"[{shown(DL_DX[0])}, {shown(DL_DX[1])}]" in results["dL/dx"].lines[1].text
    assert any(b.category == "gradient" for b in drawing.boxes)
    texts = svg_texts(draw.to_svg(exercise(), "backward"))
    assert "dL/db₀" in texts


# ---------------------------------------------------------------- vectors and big graphs


def test_vectors_short_in_full_long_as_a_summary() -> None:
    v = cr.var(np.arange(10.0), name="v")
    drawing = draw.build(cr.sum(v * 2).named("s"), "forward")
    box = next(b for b in drawing.boxes if b.title == "v")
    assert box.lines[1].text == "10: mean 4.5, range [0, 9]"


def mlp(seed: int = 0) -> tuple[cr.Graph, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    p = {
        "W1": rng.normal(size=(16, 2)),
        "b1": rng.normal(size=16),
        "W2": rng.normal(size=(16, 16)) / 4,
        "b2": rng.normal(size=16),
        "W3": rng.normal(size=(1, 16)) / 4,
        "b3": rng.normal(size=1),
    }
    x = cr.const(np.array([0.5, -1.0]), "x")
    v = {k: cr.var(a, name=k) for k, a in p.items()}
    h1 = cr.tanh(v["W1"] @ x + v["b1"])
    h2 = cr.tanh(v["W2"] @ h1 + v["b2"])
    out = v["W3"] @ h2 + v["b3"]
    loss = cr.sum((out - 1.0) ** 2).named("L")
    return cr.Graph(loss), p


def _mlp_loss(p: dict[str, np.ndarray]) -> float:
    x = np.array([0.5, -1.0])
    h1 = np.tanh(p["W1"] @ x + p["b1"])
    h2 = np.tanh(p["W2"] @ h1 + p["b2"])
    return float(np.sum((p["W3"] @ h2 + p["b3"] - 1.0) ** 2))


def test_mlp_expanded_to_scalars_has_one_box_per_weight_with_its_gradient() -> None:
    g, p = mlp()
    drawing = draw.build(g, "gradients", expand=True, colour=True)
    titles = {b.title: b for b in drawing.boxes}
    for name in ("W1₁,₁", "W1₁₆,₂", "W2₁₆,₁₆", "W3₁,₁₆", "b3₁"):
        assert name in titles
    assert sum(1 for b in drawing.boxes if b.category == "input") == 32 + 16 + 256 + 16 + 16 + 1
    # dL/dW2[2,3] by central differences, independent of chainrule
    eps = 1e-6
    plus = {k: a.copy() for k, a in p.items()}
    minus = {k: a.copy() for k, a in p.items()}
    plus["W2"][2, 3] += eps
    minus["W2"][2, 3] -= eps
    numeric = (_mlp_loss(plus) - _mlp_loss(minus)) / (2 * eps)
    text = titles["W2₃,₄"].lines[1].text
    drawn = float(text.split("= ")[-1].replace("\u2212", "-"))
    assert math.isclose(drawn, numeric, rel_tol=1e-4, abs_tol=1e-9)
    assert titles["W2₃,₄"].fill is not None and drawing.legend


def chain(n: int) -> cr.Node:
    x = cr.var(0.5, name="x")
    v = x
    for i in range(n // 3):
        v = cr.sin(v) * 0.9 + x
        if i % 50 == 0:
            v = v.named(f"s{i}")
    return v.named("out")


def test_thousand_node_graph_draws_compactly_in_every_view() -> None:
    node = chain(1000)
    g = cr.Graph(node)
    assert len(g) > 1000
    drawing = draw.build(g, "gradients")
    assert len(drawing.boxes) >= 1000
    assert all(not a.lines for a in drawing.arrows)  # compact: no edge labels
    assert drawing.legend  # coloured by gradient magnitude automatically
    svg = draw.to_svg(g)
    ET.fromstring(svg.encode("utf-8"))
    assert svg.count('class="node ') >= 1000


def test_collapse_paths_and_direction_options() -> None:
    g = cr.Graph(chain(30))
    collapsed = draw.build(g, "forward", collapse=["s0"])
    group = next(b for b in collapsed.boxes if b.category == "group")
    assert group.title == "s0" and "collapsed" in group.lines[1].text
    assert len(collapsed.boxes) < len(draw.build(g, "forward").boxes)
    a = cr.var(1.0, name="a")
    b = cr.var(2.0, name="b")
    c = cr.var(3.0, name="c")
    f = (a * b + cr.exp(c)).named("f")
    only_a = draw.build(f, "forward", paths_from=["a"])
    titles = {box.title for box in only_a.boxes}
    assert "a" in titles and "b" not in titles and "c" not in titles
    assert draw.build(f, direction="lr").direction == "LR"
    with pytest.raises(ChainruleError, match="direction"):
        draw.build(f, direction="up")
    with pytest.raises(ChainruleError, match="no node"):
        draw.build(f, collapse=["nothing"])
    with pytest.raises(ChainruleError, match="unknown view"):
        draw.build(f, "sideways")
    with pytest.raises(ChainruleError, match="unknown drawing option"):
        draw.build(f, colours=True)


def test_gradient_colours_mark_vanishing_and_exploding() -> None:
    from chainrule.draw.colours import gradient_fill

    assert gradient_fill(1e-9) == "#313695"  # deep blue
    assert gradient_fill(1e6) == "#d73027"  # red
    assert gradient_fill(0.0) == "#d9d9d9"
    assert gradient_fill(10 ** ((-6 + 3) / 2)) == "#ffffbf"


# ---------------------------------------------------------------- formats


def test_png_is_non_blank_at_the_expected_size() -> None:
    from PIL import Image

    drawing = draw.build(exercise(), "gradients", expand=True)
    lay = layout(drawing)
    png = draw.to_png(exercise(), "gradients", expand=True)
    image = Image.open(io.BytesIO(png)).convert("L")
    # the SVG states its size to 0.01 px, so the PNG may differ from the layout by one pixel
    assert abs(image.size[0] - lay.width * 2) <= 1 and abs(image.size[1] - lay.height * 2) <= 1
    pixels = np.asarray(image)
    assert (pixels < 100).mean() > 0.005  # text and lines are there
    assert (pixels > 240).mean() > 0.5  # on a white page


@pytest.mark.parametrize(
    "ext", [".svg", ".png", ".pdf", ".dot", ".tex", ".mmd", ".txt", ".json", ".html"]
)
def test_render_picks_the_format_from_the_extension(tmp_path, ext) -> None:
    path = draw.render(exercise(), tmp_path / f"g{ext}", "gradients")
    data = path.read_bytes()
    magic = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml", ".html": b"<!DOCTYPE"}
    if ext in magic:
        assert data.startswith(magic[ext])
    if ext not in (".png", ".pdf"):
        assert f"dL/dz = {shown(DL_DZ)}".encode() in data or ext in (".tex",)


def test_unknown_extension_is_a_chainrule_error(tmp_path) -> None:
    with pytest.raises(ChainruleError, match="unknown drawing format"):
        draw.render(exercise(), tmp_path / "g.bmp")
    assert not (tmp_path / "g.bmp").exists()


def test_json_round_trip_keeps_the_drawing() -> None:
    drawing = draw.build(exercise(), "gradients")
    data = json.loads(_json(drawing))
    assert data["schema"] == "chainrule.drawing/1"
    again = draw.Drawing.from_dict(data)
    assert again == drawing


def _json(drawing: draw.Drawing) -> str:
    from chainrule.draw.render import encode

    return encode(drawing, ".json").decode("utf-8")


def test_text_drawing_is_a_tree_from_the_output() -> None:
    out = draw.text(exercise(), "gradients", expand=True)
    lines = out.splitlines()
    assert lines[2].startswith("L   dL/dL = 1")
    assert any(line.endswith(f"x₂   dL/dx₂ = {shown(DL_DX[1])}") for line in lines)
    assert f"∂ŷ/∂z = σ(z)(1 − σ(z)) = {shown(DYHAT_DZ)}" in out


def test_text_drawing_refers_back_to_shared_nodes() -> None:
    x = cr.var(2.0, name="x")
    y = (x * 3).named("y")
    f = (y + cr.sin(y)).named("f")
    out = draw.text(f)
    assert "(drawn above)" in out
    assert sum(1 for line in out.splitlines() if "y = " in line and "drawn above" not in line) == 1


def test_nodes_and_graphs_display_as_svg_in_jupyter() -> None:
    g = exercise()
    for obj in (g, g.output):
        svg = obj._repr_svg_()
        assert svg is not None and svg.lstrip().startswith("<?xml")
        assert "σ(14/5)" in svg
