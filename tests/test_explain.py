"""Worked solutions: every true number of the reference exercise, fan-out sums, three formats.

Expected numbers are computed here with ``math`` (and sympy for the exact forms), never taken
from chainrule's own output."""

from __future__ import annotations

import math
import shutil
import subprocess
from fractions import Fraction

import pytest

import chainrule as cr
from chainrule.explain import derive, explain

MINUS = "\u2212"


def sig(v: float, digits: int = 5) -> str:
    """A number as the worked solution writes it: ``digits`` significant digits, true minus."""
    return f"{v:.{digits}g}".replace("-", MINUS)


def exercise(exact: bool = False) -> cr.Graph:
    x = cr.var([1, 1], name="x", exact=exact)
    w = cr.var([Fraction(4, 5), Fraction(7, 5)], name="w", exact=exact)
    b0 = cr.var(Fraction(3, 5), name="b₀", exact=exact)
    y = cr.var(1, name="y", exact=exact)
    z = (w.T @ x + b0).named("z")
    yhat = cr.sigmoid(z).named("ŷ")
    loss = ((yhat - y) ** 2).named("L")
    return cr.Graph(loss)


def true_numbers() -> dict[str, float]:
    z = 4 / 5 + 7 / 5 + 3 / 5
    yhat = 1 / (1 + math.exp(-z))
    dl_dyhat = 2 * (yhat - 1)
    dyhat_dz = yhat * (1 - yhat)
    dl_dz = dl_dyhat * dyhat_dz
    return {
        "z": z,
        "yhat": yhat,
        "L": (yhat - 1) ** 2,
        "dL/dyhat": dl_dyhat,
        "dyhat/dz": dyhat_dz,
        "dL/dz": dl_dz,
        "dL/dx1": dl_dz * 4 / 5,
        "dL/dx2": dl_dz * 7 / 5,
        "dL/dy": -dl_dyhat,
    }


def test_true_numbers_match_the_issue() -> None:
    t = true_numbers()
    assert t["L"] == pytest.approx(0.0032860611, rel=1e-7)
    assert t["dL/dz"] == pytest.approx(-0.0061953808, rel=1e-7)
    assert t["dL/dx2"] == pytest.approx(-0.0086735331, rel=1e-7)


@pytest.mark.parametrize("fmt", ["txt", "md", "tex"])
def test_exercise_solution_holds_every_true_number(fmt: str) -> None:
    text = explain(exercise(), fmt)
    t = true_numbers()
    minus = MINUS if fmt == "txt" else "-"
    for key, value in t.items():
        shown = f"{value:.5g}".replace("-", minus)
        assert shown in text, f"{key} = {shown} missing from the {fmt} solution"


def test_text_solution_writes_the_chain_rule_products() -> None:
    text = explain(exercise(), "txt")
    t = true_numbers()
    product = (
        f"dL/dz = dL/dŷ · ∂ŷ/∂z = ({sig(t['dL/dyhat'])}) · {sig(t['dyhat/dz'])} ≈ {sig(t['dL/dz'])}"
    )
    assert product in text
    assert f"∂ŷ/∂z = σ(z)(1 {MINUS} σ(z)) ≈ {sig(t['dyhat/dz'])}" in text
    # the gradient with respect to every input, inputs such as x as well as weights
    for name, key in (("x₁", "dL/dx1"), ("x₂", "dL/dx2"), ("w₁", "dL/dz"), ("w₂", "dL/dz")):
        assert f"dL/d{name}" in text
        row = [line for line in text.splitlines() if line.strip().startswith(f"dL/d{name} ")]
        assert row and row[0].split()[-1] == sig(t[key])
    assert "dL/db₀" in text


def test_exact_mode_keeps_fractions_and_sigma_of_a_fraction() -> None:
    text = explain(exercise(exact=True), "txt")
    assert "z = w" in text
    assert "14/5" in text
    assert "ŷ = σ(z) = σ(14/5) ≈ " + sig(true_numbers()["yhat"]) in text
    latex = explain(exercise(exact=True), "tex")
    assert r"\sigma\left(\frac{14}{5}\right)" in latex


def test_forward_pass_is_in_topological_order_and_backward_in_reverse() -> None:
    d = derive(exercise())
    names = [s.node.name for s in d.forward if s.node.name]
    assert names == ["x", "w", "b₀", "y", "z", "ŷ", "L"]
    back = [s.node.name for s in d.backward if s.node.name]
    assert back.index("L") < back.index("ŷ") < back.index("z") < back.index("b₀")
    assert d.backward[0].seed


def fan_out(named: bool) -> cr.Graph:
    a = cr.var(2, name="a")
    b = cr.var(1, name="b")
    c, d = a + b, b + 1
    if named:
        c.named("c")
        d.named("d")
    return cr.Graph((c * d).named("e"))


def test_fan_out_sum_is_written_out() -> None:
    # e = (a + b)(b + 1): ∂e/∂b = (b + 1) + (a + b) = 2 + 3 = 5 at a = 2, b = 1
    text = explain(fan_out(named=True), "txt")
    assert "de/db = de/dc · ∂c/∂b + de/dd · ∂d/∂b = 2 · 1 + 3 · 1 = 2 + 3 = 5" in text
    assert "b feeds c and d" in text
    d = derive(fan_out(named=True))
    (step,) = [s for s in d.backward if s.node.name == "b"]
    assert step.fan_out and len(step.terms) == 2
    assert sum(t.contribution for t in step.terms) == 5


def test_fan_out_through_unnamed_expressions() -> None:
    text = explain(fan_out(named=False), "txt")
    assert "de/db = de/d(a + b) · ∂(a + b)/∂b + de/d(b + 1) · ∂(b + 1)/∂b" in text
    assert "= 2 · 1 + 3 · 1 = 2 + 3 = 5" in text


def test_digits_are_configurable() -> None:
    t = true_numbers()
    short = explain(exercise(), "txt", digits=3)
    assert sig(t["dL/dz"], 3) in short
    assert sig(t["dL/dz"], 5) not in short
    with pytest.raises(cr.ChainruleError):
        explain(exercise(), "txt", digits=0)


def test_unknown_format_is_a_user_error() -> None:
    with pytest.raises(cr.ChainruleError, match="unknown format"):
        explain(exercise(), "html")


def test_markdown_maths_is_between_dollars() -> None:
    md = explain(exercise(), "md")
    for line in md.splitlines():
        if "\\frac" in line or "\\sigma" in line:
            assert line.count("$") % 2 == 0 and "$" in line, line
    assert "$$\\frac{\\mathrm{d} L}{\\mathrm{d} z}" in md


def test_drawings_are_referenced() -> None:
    md = explain(exercise(), "md", drawings={"forward": "forward.svg", "gradients": "grad.svg"})
    assert "](<forward.svg>)" in md and "](<grad.svg>)" in md
    tex = explain(exercise(), "tex", drawings={"forward": "forward.png"})
    assert "\\includegraphics" in tex and "forward.png" in tex


def test_hostile_names_are_escaped() -> None:
    a = cr.var(2.0, name="a")
    out = (a * a).named("\\input{/etc/passwd}")
    tex = explain(cr.Graph(out), "tex", title="50% & $5_{x}")
    assert "\\input{/etc/passwd}" not in tex
    assert "50\\% \\& \\$5\\_\\{x\\}" in tex
    md = explain(cr.Graph(out), "md", title="# *bold*")
    assert md.startswith("# \\# \\*bold\\*")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("exact", [False, True])
def test_latex_compiles(tmp_path, exact: bool) -> None:  # type: ignore[no-untyped-def]
    graphs = {"exercise": exercise(exact), "fan": fan_out(False)}
    for name, graph in graphs.items():
        tex = tmp_path / f"{name}.tex"
        tex.write_text(
            explain(graph, "tex", title="Exercise 3 & 50%", drawings={"forward": "missing.png"}),
            encoding="utf-8",
        )
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout[-2000:]
        assert (tmp_path / f"{name}.pdf").exists()
