"""One naming scheme per graph: the names every output prints are the names every option takes."""

from __future__ import annotations

import json
import re

import pytest
from helpers import run_main

import chainrule as cr
from chainrule.check import check
from chainrule.draw import to_svg
from chainrule.explain import explain
from chainrule.lang.naming import MAX_EXPRESSION, Naming, version_name
from chainrule.lang.notation import definition, exact_form

# a long unnamed expression (longer than MAX_EXPRESSION), so that it gets a generated name
LONG = "x = 1\nw = 2\nh = tanh(w*x + 1)\nv = 3\nL = (sigmoid(v*h + w*h*x + v*x*w) - 1)^2\n"
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
INTERNAL_ID = re.compile(r"(?<![\w₀-₉])[vn]\d+(?![\w₀-₉])")  # v7, n4: creation numbers


def labels(text: str, **kwargs: object) -> list[str]:
    g = cr.parse(text, **kwargs)  # type: ignore[arg-type]
    return [row["node"] for row in g.table() if row["operation"] != "constant"]


def run_cli(args: list[str], stdin: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    ran = run_main(*args, stdin=stdin)
    return ran.returncode, ran.stdout + ran.stderr


def test_unnamed_intermediates_are_shown_by_their_short_expression() -> None:
    from chainrule.cli.common import exercise_text

    assert labels(exercise_text()) == ["x", "w", "b₀", "y", "w @ x", "z", "ŷ", "ŷ − y", "L"]


def test_a_long_expression_gets_a_generated_name_in_graph_order() -> None:
    got = labels(LONG)
    generated = [name for name in got if re.fullmatch(r"a[₀-₉]+", name)]
    assert generated == ["a₁"]  # the long sum; σ of it is short again: σ(a₁)
    assert "σ(a₁)" in got and "σ(a₁) − 1" in got
    assert all(len(name) <= MAX_EXPRESSION for name in got)
    more = labels(LONG + "M = L + tanh(v*h*x + w*x*x + v*w*h)\n")
    generated = [name for name in more if re.fullmatch(r"a[₀-₉]+", name)]
    assert len(generated) >= 2
    assert generated == ["a" + str(k).translate(SUB) for k in range(1, len(generated) + 1)]


def test_names_do_not_depend_on_what_the_process_built_before() -> None:
    first = labels(LONG)
    for _ in range(3):
        cr.parse(LONG).backward()  # more nodes created in this process
    assert labels(LONG) == first


def test_generated_names_avoid_the_letter_the_program_uses() -> None:
    text = "a1 = 1\na2 = 2\n" + LONG.replace("x = 1\n", "x = a1 + a2\n")
    got = labels(text)
    assert "a1" in got and "a2" in got
    assert not any(re.fullmatch(r"a[₀-₉]+", name) for name in got)
    assert any(re.fullmatch(r"u[₀-₉]+", name) for name in got)


def test_a_vector_named_like_the_letter_is_never_shadowed() -> None:
    # a₁ would read as the first element of a vector a: another letter is used
    text = "a = [1, 2]\n" + LONG.replace("x = 1\n", "x = sum(a)\n")
    assert not any(re.fullmatch(r"a[₀-₉]+", name) for name in labels(text))


def test_reassigned_names_are_shown_apart_and_accepted() -> None:
    g = cr.parse("x = 1\nx = x + 1\nx = x * 3\ny = x * x\n")
    assert labels("x = 1\nx = x + 1\nx = x * 3\ny = x * x\n") == ["x", "x′", "x″", "y"]
    assert g["x′"].value == 2.0 and g["x″"].value == 6.0 and g["x"].value == 1.0
    assert definition(g["x″"], names=g.naming) == "x′ · 3"


def test_version_names() -> None:
    assert [version_name("x", k) for k in range(1, 6)] == ["x′", "x″", "x‴", "x⁽⁵⁾", "x⁽⁶⁾"]


def test_a_user_name_with_a_prime_is_not_reused() -> None:
    text = "x = 1\nx′ = 5\nx = x + x′\ny = x * 2\n"
    assert labels(text) == ["x", "x′", "x″", "y"]
    g = cr.parse(text)
    assert g["x′"].value == 5.0 and g["x″"].value == 6.0


def test_expression_labels_that_repeat_get_generated_names() -> None:
    got = labels("x = 2\ny = 3\nz = (x*y + 1) * (x*y + 2)\n")
    assert got.count("x · y") == 1
    assert len(set(got)) == len(got)


def test_find_accepts_what_people_type() -> None:
    g = cr.parse(LONG)
    names: Naming = g.naming
    assert g.find("a1") is g.find("a₁") is not None
    assert g.find("σ(a₁) - 1") is g.find("σ(a₁) − 1") is not None
    assert g.find("σ(a₁)−1") is g.find("σ(a₁) − 1")
    assert names.find("nope") is None


def test_e_and_pi_keep_their_names_in_float_mode() -> None:
    g = cr.parse("x = 2\ny = e^x + pi*x\n")
    assert definition(g.output, names=g.naming) == "e^x + πx"
    g = cr.parse("x = 2\ny = e^x + π*x\n", exact=True)
    assert definition(g.output, names=g.naming) == "e^x + πx"


def test_local_partials_are_written_with_the_names_people_see() -> None:
    text = explain(cr.parse("x = 2\ny = 3\nz = -4\nq = x + y\nf = q * z\n"), "txt")
    # the output's own partials are its totals (df/dz), written with the names people see
    assert "df/dz = q = 5" in text
    assert "df/dq = z = −4" in text
    assert "x + y = 5\n" not in text.split("Backward pass")[1]


def test_every_output_uses_the_generated_names(capsys: pytest.CaptureFixture[str]) -> None:
    g = cr.parse(LONG)
    g.backward()
    outputs = {
        "table": json.dumps(g.table(), ensure_ascii=False),
        "explain": explain(g, "txt") + explain(g, "md") + explain(g, "tex"),
        "forward": to_svg(g, view="forward"),
        "gradients": to_svg(g, view="gradients"),
        "backward": to_svg(g, view="backward"),
        "graph json": g.to_json(),
    }
    for name, text in outputs.items():
        assert "a₁" in text or "a_{1}" in text, name
    status, out = run_cli(["eval", "-", "--json"], LONG, capsys)
    assert status == 0 and "a₁" in json.loads(out)["values"]
    for name, text in outputs.items():
        if name in ("forward", "gradients", "backward"):  # the words drawn in the boxes
            text = "\n".join(re.findall(r">([^<]*)</text>", text))
        if name == "graph json":
            text = json.dumps([n.get("label") for n in json.loads(text)["nodes"]])
        assert not INTERNAL_ID.search(text), (name, INTERNAL_ID.search(text))


def test_options_take_the_names_the_table_prints(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run_cli(["eval", "-", "--output", "a₁", "--json"], LONG, capsys)
    assert status == 0, out
    data = json.loads(out)
    assert data["output"] == "a₁"
    status, out = run_cli(["eval", "-", "--output", "a1", "--wrt", "h", "--json"], LONG, capsys)
    assert status == 0, out
    assert set(json.loads(out)["derivatives"]) == {"h"}
    status, out = run_cli(["eval", "-", "--wrt", "σ(a₁)", "--json"], LONG, capsys)
    assert status == 0, out
    data = json.loads(out)
    assert data["derivatives"]["σ(a₁)"]["1"] == pytest.approx(data["gradients"]["σ(a₁)"])
    status, out = run_cli(
        ["eval", "-", "--output", "ŷ − y"], "ŷ = 3\ny = 1\nL = (ŷ - y)^2\n", capsys
    )
    assert status == 0, out
    status, out = run_cli(
        ["eval", "-", "--output", "x′", "--wrt", "x"], "x = 1\nx = x * 5\ny = x + 1\n", capsys
    )
    assert status == 0, out
    assert "dx′/dx = 5" in out


def test_check_takes_generated_and_primed_names() -> None:
    g = cr.parse(LONG)
    g.backward()
    a1 = g["a₁"]
    verdicts = check(g, [f"a1 = {a1.value:.6f}", f"dL/da₁ = {a1.grad:.6g}"])
    assert [v.verdict for v in verdicts] == ["right", "right"]
    g = cr.parse("x = 1\nx = x * 5\ny = x * x\n")
    verdicts = check(g, ["x′ = 5", "dy/dx′ = 10", "dy/dx = 50"])
    assert [v.verdict for v in verdicts] == ["right", "right", "right"]


def test_output_does_not_list_nodes_downstream(capsys: pytest.CaptureFixture[str]) -> None:
    prog = "x = 2\ny = 3\nz = -4\nq = x + y\nf = q * z\ng = f + 1\n"
    status, out = run_cli(["eval", "-", "--output", "q", "--json"], prog, capsys)
    assert status == 0
    assert set(json.loads(out)["values"]) == {"x", "y", "q"}


def test_names_of_an_output_subgraph_match_the_whole_program() -> None:
    whole = labels(LONG)
    part = cr.parse(LONG, output="σ(a₁)")
    shown = [part.label(n) for n in part.nodes if n.op.name != "const"]
    assert set(shown) <= set(whole)
    assert shown[-2:] == ["a₁", "σ(a₁)"]
    assert "L" not in shown and "σ(a₁) − 1" not in shown


def test_wrt_alone_means_order_one(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run_cli(["eval", "-", "--wrt", "x", "--json"], "x = 2\ny = x*x*x\n", capsys)
    assert status == 0, out
    assert json.loads(out)["derivatives"] == {"x": {"1": 12.0}}


def test_domain_errors_of_a_derivative_name_line_column_and_node(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out = run_cli(["eval", "-"], "x = 0\ny = 2 * sqrt(x)\n", capsys)
    assert status == 2
    assert "line 2, column 9, node √(x)" in out
    assert "Traceback" not in out
    status, out = run_cli(["eval", "-"], "x = 3\ny = log(x - 4) * 2\n", capsys)
    assert status == 2
    assert "line 2, column 5, node y" in out


@pytest.mark.parametrize("exact", [False, True])
def test_x_to_the_zero_at_zero_has_derivative_zero(exact: bool) -> None:
    """a⁰ is 1 for every a, so its slope is 0 at a = 0 as well (b·a^(b−1) is undefined there):
    in backward, in the gradient as a graph and its next derivative, on arrays, and in every
    output; the partial is still written b·a^(b−1) (here 0, folded)."""
    g = cr.parse("x = 0\ny = x^0\n", exact=exact)
    assert g.output.value == 1
    g.backward()
    assert g["x"].grad == 0
    first = cr.grad(g.output, g["x"])
    assert first.value == 0 and cr.grad(first, g["x"]).value == 0
    v = cr.parse("x = [0, 2, -1]\ny = sum(x^[0, 3, 2])\n", exact=exact)
    v.backward()
    assert [float(d) for d in v["x"].grad] == [0.0, 12.0, -2.0]
    w = cr.parse("x = 2\nw = 3\ny = x^w\n", exact=exact)
    w.backward()
    from chainrule.draw import text
    from chainrule.explain import explain

    assert "w · x^(w − 1)" in explain(w, "txt")
    assert "w · x^(w − 1)" in text(w, "backward") and "sign" not in text(w, "backward")


def test_api_graphs_name_unnamed_inputs_and_keep_names_through_json() -> None:
    x = cr.var(0.5)
    y = cr.tanh(x * 1.0001 + 0.1)
    g = cr.Graph(y)
    assert g.label(x) == "a₁"
    again = cr.Graph.from_json(g.to_json())
    assert [again.label(n) for n in again.nodes] == [g.label(n) for n in g.nodes]


def test_exact_forms_read_like_a_textbook() -> None:
    g = cr.parse("a = -3/20\nb = -9/20\ny = sigmoid(a)/2 - sigmoid(b)/2\n", exact=True)
    assert exact_form(g.output, names=g.naming) == "σ(−3/20) / 2 − σ(−9/20) / 2"
    g = cr.parse("a = -3/20\nb = -9/20\ny = 1/2*sigmoid(a) + -1/2*sigmoid(b)\n", exact=True)
    assert exact_form(g.output, names=g.naming) == "σ(−3/20) / 2 − σ(−9/20) / 2"
    g = cr.parse("x = 3\ny = (-2)^2 * x - -3 * x\n", exact=True)
    assert definition(g.output, names=g.naming) == "4x + 3x"


def test_latex_writes_primes_and_generated_names_as_maths() -> None:
    g = cr.parse("x = 1\nx = x * 5\ny = x * x\n")
    tex = explain(g, "tex")
    assert "x'" in tex
    assert "\\text{′}" not in tex and "′" not in tex
    assert "a_{1}" in explain(cr.parse(LONG), "tex")


def test_indexes_read_as_people_write_them() -> None:
    """Slices are written ``0:2``, ``::2``, ``...``, not Python's ``slice(0, 2, None)``; the box
    of a node whose only name is its expression shows it once, not ``xᵀ = xᵀ``."""
    import numpy as np

    from chainrule.draw import build

    x = cr.var(np.arange(24.0).reshape(2, 3, 4), name="x")
    made = [x[:, :, 0:2], x[1, ::2, [0, 3]], x[..., 1], x[0], x[1:, 2, -1]]
    total = made[0].sum() + made[1].sum() + made[2].sum() + made[3].sum() + made[4].sum()
    g = cr.Graph(total + cr.sum(cr.transpose(made[3])))
    labels = {g.label(n) for n in g.nodes}
    assert {"x[:, :, 0:2]", "x[1, ::2, [0, 3]]", "x[..., 1]", "x[0]", "x[1:, 2, -1]"} <= labels
    assert not any("slice(" in t for t in labels)
    titles = [b.title for b in build(g).boxes]
    assert "x[0]ᵀ" in titles
    for t in titles:
        left, _, right = t.partition(" = ")
        assert left != right, t
