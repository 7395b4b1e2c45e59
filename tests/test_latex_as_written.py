"""Worked solutions and exercises as people write them: spacing between two equations, align
rows that continue the row above, inline maths across a line break, inequalities after a
number, e-notation, user macros, transposed vectors and layer superscripts. True values are
computed here (math), never taken from chainrule's output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from chainrule.cli import main
from chainrule.lang.latex.reader import parse_document

NEURON_TEX = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
Consider a single neuron with input $x_1 = 2$, $x_2 = -1$, weights $w_1 = 0.5$, $w_2 = -0.3$,
bias $b = 0.1$ and target $y = 1$.
\begin{align*}
z &= w_1 x_1 + w_2 x_2 + b \\
\hat y &= \sigma(z) \\
L &= \frac{1}{2}(\hat y - y)^2
\end{align*}
Compute $\frac{\partial L}{\partial w_1}$, $\frac{\partial L}{\partial w_2}$ and
$\frac{\partial L}{\partial b}$.
\end{document}
"""


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


Z = 0.5 * 2 + (-0.3) * (-1) + 0.1
YHAT = sigmoid(Z)
LOSS = 0.5 * (YHAT - 1) ** 2
DL_DZ = (YHAT - 1) * YHAT * (1 - YHAT)
DL_DW1 = DL_DZ * 2
DL_DW2 = DL_DZ * -1


def r(x: float, digits: int) -> str:
    """``x`` rounded to ``digits`` significant figures, as a learner writes it."""
    return f"{x:.{digits}g}"


def check(
    tmp_path: Path,
    solution: str,
    capsys: pytest.CaptureFixture[str],
    *,
    suffix: str = ".md",
    exercise: str = NEURON_TEX,
    ex_suffix: str = ".tex",
) -> tuple[int, dict[str, Any]]:
    ex = tmp_path / f"ex{ex_suffix}"
    ex.write_text(exercise, encoding="utf-8")
    sol = tmp_path / f"sol{suffix}"
    sol.write_text(solution, encoding="utf-8")
    capsys.readouterr()
    status = main(["check", str(ex), "--solution", str(sol), "--json"])
    return status, json.loads(capsys.readouterr().out)


def verdicts(out: dict[str, Any]) -> dict[str, str]:
    return {c["claim"]: c["verdict"] for c in out["claims"]}


# ---------------------------------------------------------------- 1. spacing between equations


@pytest.mark.parametrize("space", [r"\;", r"\,", r"\ ", "~~", r"\:"])
@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_a_space_command_between_two_equations_separates_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], space: str, suffix: str
) -> None:
    yhat, loss = r(YHAT, 3), r(LOSS, 3)
    sol = f"Work: $z = {Z:.1f}$ then $\\hat y = {yhat} {space} L = {loss}$.\n"
    status, out = check(tmp_path, sol, capsys, suffix=suffix)
    assert verdicts(out) == {
        f"z = {Z:.1f}": "right",
        f"ŷ = {yhat}": "right",
        f"L = {loss}": "right",
    }
    assert status == 0


def test_a_thin_space_between_factors_stays_a_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dz = r(DL_DZ, 3)
    sol = (
        f"$\\hat y = {r(YHAT, 4)}$ and\n"
        f"$\\frac{{\\partial L}}{{\\partial z}} = (\\hat y - y)\\,\\hat y(1-\\hat y) = {dz}$\n"
    )
    status, out = check(tmp_path, sol, capsys)
    assert verdicts(out)[f"∂L/∂z = {dz}"] == "right"
    assert status == 0
    text = r"""Given $a = 2$ and $b = 3$, let $c = a\,b \; d = c\,(a + b)$."""
    graph, reading = parse_document(text)
    lines = [line.split("#")[0].strip() for line in reading.program.splitlines()]
    assert "c = a * b" in lines
    assert "d = c * (a + b)" in lines


# ---------------------------------------------------------------- 2. rows that continue a chain

CHAIN_ROWS = r"""\begin{align*}
\frac{\partial L}{\partial w_1} &= \frac{\partial L}{\partial \hat y}\cdot
  \frac{\partial \hat y}{\partial z}\cdot\frac{\partial z}{\partial w_1} \\
  &= (\hat y - y)\,\hat y(1-\hat y)\,x_1 \\
  &= (DY)(DS)(2) \\
  &= ANSWER
\end{align*}
"""


@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_align_rows_starting_with_a_relation_continue_the_row_above(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    dy, ds = r(YHAT - 1, 3), r(YHAT * (1 - YHAT), 3)
    right = r(DL_DW1, 3)
    sol = CHAIN_ROWS.replace("DY", dy).replace("DS", ds)
    status, out = check(tmp_path, sol.replace("ANSWER", right), capsys, suffix=suffix)
    assert verdicts(out) == {f"∂L/∂w₁ = {right}": "right"}
    assert out["claims"][0]["line"] == 6  # the line of the number
    assert status == 0
    status, out = check(tmp_path, sol.replace("ANSWER", "5.0"), capsys, suffix=suffix)
    assert verdicts(out) == {"∂L/∂w₁ = 5.0": "wrong"}
    assert out["claims"][0]["recomputed"] == pytest.approx(float(dy) * float(ds) * 2)
    assert status == 1


def test_the_exercise_reader_joins_continued_rows() -> None:
    text = r"""Given $a = 2$, $b = 3$ and $c = 5$:
\begin{align*}
d &= a b \\
  &\quad + c \\
  &= 2 \cdot 3 + 5 \\
e &= d^2
\end{align*}
"""
    graph, reading = parse_document(text, latex=True)
    lines = [line.split("#")[0].strip() for line in reading.program.splitlines()]
    assert "d = a * b + c" in lines
    assert "e = d^2" in lines
    assert not reading.problems


ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = [
    ROOT / "examples" / "seed-exercise.cr",
    *sorted((ROOT / "tests/data/teachers").glob("*")),
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_chainrules_own_latex_solutions_read_back_like_the_markdown_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program: Path
) -> None:
    got = {}
    for ext in ("md", "tex"):
        sol = tmp_path / f"sol.{ext}"
        assert main(["explain", str(program), "-o", str(sol)]) == 0
        capsys.readouterr()
        status = main(["check", str(program), "--solution", str(sol), "--json"])
        out = json.loads(capsys.readouterr().out)
        assert status == 0
        got[ext] = sorted((c["claim"], c["verdict"]) for c in out["claims"])
    assert got["tex"] == got["md"]
    assert all(v == "right" for _, v in got["tex"])


# ---------------------------------------------------------------- 3. inline maths across lines


@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_inline_maths_may_wrap_across_a_line_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    z, yhat, loss = f"{Z:.1f}", r(YHAT, 2), r(LOSS, 1)
    sol = (
        f"First $z = {z}$, so the prediction is $\\hat y = \\sigma({z})\n= {yhat}$ and the loss "
        f"is $L = {loss}$.\n"
    )
    status, out = check(tmp_path, sol, capsys, suffix=suffix)
    assert verdicts(out) == {f"z = {z}": "right", f"ŷ = {yhat}": "right", f"L = {loss}": "right"}
    lines = {c["claim"]: c["line"] for c in out["claims"]}
    assert lines == {f"z = {z}": 1, f"ŷ = {yhat}": 2, f"L = {loss}": 2}
    assert status == 0


def test_inline_maths_does_not_run_across_a_blank_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    z = f"{Z:.1f}"
    sol = f"It costs $5 to print.\n\nThen $z = {z}$ and that is all.\n"
    status, out = check(tmp_path, sol, capsys)
    assert verdicts(out) == {f"z = {z}": "right"}
    assert status == 0


# ---------------------------------------------------------------- 4. an inequality after a number

INEQUALITIES = [
    r"\hat y = {v} < 1",
    r"\hat y \approx {v} > 0.5",
    r"0 < \hat y = {v} < 1",
    r"\hat y = {v} \le 1",
    r"\hat y = {v} \leq 1",
    r"\hat y = {v} \neq 0.5",
    r"\hat y = {v} \lt 1",
]


@pytest.mark.parametrize("formula", INEQUALITIES)
@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_the_equation_before_an_inequality_is_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], formula: str, suffix: str
) -> None:
    v = r(YHAT, 2)
    sol = f"So ${formula.replace('{v}', v)}$.\n"
    status, out = check(tmp_path, sol, capsys, suffix=suffix)
    assert verdicts(out) == {f"ŷ = {v}": "right"}
    assert status == 0
    wrong = r(YHAT + 0.1, 2)
    status, out = check(tmp_path, f"So ${formula.replace('{v}', wrong)}$.\n", capsys)
    assert verdicts(out) == {f"ŷ = {wrong}": "wrong"}
    assert status == 1


def test_the_exercise_reader_reads_the_equation_before_an_inequality() -> None:
    text = r"Given $0 < a = 2 < 3$ and $b = a^2 \ge 0$."
    graph, reading = parse_document(text)
    lines = [line.split("#")[0].strip() for line in reading.program.splitlines()]
    assert lines[:2] == ["a = 2", "b = a^2"]


# ---------------------------------------------------------------- 5. e-notation


@pytest.mark.parametrize("form", ["{m:.2e}", "{m:.2E}"])
@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_a_number_in_e_notation_is_that_number_in_a_solution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, suffix: str
) -> None:
    dz, yhat = form.format(m=DL_DZ), form.format(m=YHAT)
    assert "e-" in dz.lower()
    sol = f"$\\hat y = {yhat}$ and $\\frac{{\\partial L}}{{\\partial z}} = {dz}$\n"
    status, out = check(tmp_path, sol, capsys, suffix=suffix)
    assert verdicts(out) == {f"ŷ = {yhat}": "right", f"∂L/∂z = {dz}": "right"}
    assert status == 0


def test_a_number_in_e_notation_is_that_number_in_an_exercise() -> None:
    text = r"Given $w = 5e-3$, $x = 2$ and $y = w x$."
    graph, reading = parse_document(text)
    assert graph.find("e") is None  # not Euler's e
    assert float(graph["w"].value) == pytest.approx(5e-3, rel=1e-15)
    graph.forward()
    assert float(graph["y"].value) == pytest.approx(5e-3 * 2, rel=1e-12)


# ---------------------------------------------------------------- 6. the document's own macros

MACRO_TEX = r"""\documentclass{article}
\def\yhat{\hat{y}}
\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}}
\newcommand{\loss}{\mathcal{L}}
\newcommand\lin{w x + b}
% \def\yhat{q}
\begin{document}
Let $x = 2$, $w = 0.5$, $b = 0.1$, $y = 1$.
\begin{align*}
z &= \lin \\
\yhat &= \sigma(z) \\
\loss &= (\yhat - y)^2
\end{align*}
Find $\pd{\loss}{w}$.
\end{document}
"""


def test_an_exercise_with_its_own_macros_is_read_with_them() -> None:
    graph, reading = parse_document(MACRO_TEX, latex=True)
    lines = [line.split("#")[0].strip() for line in reading.program.splitlines()]
    assert lines == ["x = 2", "w = 0.5", "b = 0.1", "y = 1", "z = w * x + b", "ŷ = σ(z)",
                     "L = (ŷ - y)^2"]  # fmt: skip
    assert reading.output == "L"
    assert not reading.problems
    md = (
        "$\\def\\yhat{\\hat{y}}$\n\n"
        "Let $x = 2$, $y = 1$, $\\yhat = \\sigma(x)$, $L = (\\yhat - y)^2$.\n"
    )
    graph, reading = parse_document(md)
    assert reading.output == "L"
    graph.forward()
    assert float(graph["L"].value) == pytest.approx((sigmoid(2) - 1) ** 2, rel=1e-12)


@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_a_solution_with_its_own_macros_is_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    yhat, loss = r(YHAT, 3), r(LOSS, 2)
    sol = (
        "$$\\newcommand{\\yhat}{\\hat y}\\def\\loss{L}$$\n\n"
        f"So $\\yhat = {yhat}$ and $\\loss = {loss}$.\n"
    )
    status, out = check(tmp_path, sol, capsys, suffix=suffix)
    assert verdicts(out) == {f"ŷ = {yhat}": "right", f"L = {loss}": "right"}
    assert status == 0


def test_macros_that_use_themselves_or_explode_are_bounded() -> None:
    from chainrule.lang.latex.parse import Unreadable, tokens, user_macros

    macros = user_macros(r"\def\a{\a + 1}")
    assert macros == {"a": r"\a + 1"}
    assert [t.text for t in tokens(r"\a = 2", macros)][:2] == ["+", "1"]
    text = "".join(f"\\def\\m{k}{{\\m{k + 1}\\m{k + 1}\\m{k + 1}}}" for k in range(30))
    bomb = user_macros(text.translate(str.maketrans("0123456789", "abcdefghij")))
    with pytest.raises(Unreadable):
        tokens(r"y = \ma", bomb)


# ---------------------------------------------------------------- 7. a transposed vector

VECTOR_TEX = r"""Let $\mathbf{x} = \begin{bmatrix} 2 \\ -1 \end{bmatrix}$,
$\mathbf{w} = \begin{bmatrix} 0.5 \\ -0.3 \end{bmatrix}$, $b = 0.1$, $y = 1$,
$z = \mathbf{w}^\top \mathbf{x} + b$, $\hat y = \sigma(z)$ and $L = \frac{1}{2}(\hat y - y)^2$.
"""


@pytest.mark.parametrize(
    "vector",
    [
        r"[{a}, {b}]^\top",
        r"[{a}, {b}]^T",
        r"\begin{{pmatrix}} {a} & {b} \end{{pmatrix}}^T",
        r"\begin{{bmatrix}} {a} & {b} \end{{bmatrix}}^{{\top}}",
    ],
)
@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_a_vector_written_transposed_is_judged_as_the_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], vector: str, suffix: str
) -> None:
    a, b = r(DL_DZ * 2, 3), r(DL_DZ * -1, 3)
    sol = f"$\\frac{{\\partial L}}{{\\partial \\mathbf{{w}}}} = {vector.format(a=a, b=b)}$\n"
    status, out = check(tmp_path, sol, capsys, suffix=suffix, exercise=VECTOR_TEX, ex_suffix=".md")
    assert verdicts(out) == {f"∂L/∂w = [{a}; {b}]": "right"}
    assert status == 0
    bad = f"$\\frac{{\\partial L}}{{\\partial \\mathbf{{w}}}} = {vector.format(a=b, b=a)}$\n"
    status, out = check(tmp_path, bad, capsys, suffix=suffix, exercise=VECTOR_TEX, ex_suffix=".md")
    assert verdicts(out) == {f"∂L/∂w = [{b}; {a}]": "wrong"}
    assert status == 1
