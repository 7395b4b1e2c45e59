"""Layer superscripts as teachers write them: z^{(1)}, W^{[2]}, dL/dW^(1) and z⁽¹⁾ name a layer's
quantity, never a power. Every true value here is computed with ``math`` from the exercise's
numbers; the claims are those values rounded by hand, and the slips are put in by hand."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from test_judge_fairness import _compiles

from chainrule.check import RIGHT, WRONG
from chainrule.cli import main
from chainrule.core.errors import ProgramSyntaxError
from chainrule.lang.language import parse
from chainrule.lang.latex.reader import parse_document

X, Y = 1.5, 1.0
W1, B1, W2, B2 = 0.8, -0.3, -1.2, 0.4

TWO_LAYERS = r"""\documentclass{article}
\begin{document}
A network with one hidden unit. The input is $x = 1.5$ and the target $y = 1$; the
weights are $W^{(1)} = 0.8$, $b^{(1)} = -0.3$, $W^{(2)} = -1.2$ and $b^{(2)} = 0.4$.
\begin{align}
z^{(1)} &= W^{(1)} x + b^{(1)} \\
a^{(1)} &= \sigma(z^{(1)}) \\
z^{(2)} &= W^{(2)} a^{(1)} + b^{(2)} \\
\hat{y} &= \sigma(z^{(2)}) \\
L &= \frac{1}{2} (\hat{y} - y)^2
\end{align}
Compute $\frac{\partial L}{\partial W^{(1)}}$ and $\frac{\partial L}{\partial W^{(2)}}$.
\end{document}
"""


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def truth() -> dict[str, float]:
    """The forward and backward pass of TWO_LAYERS, by hand."""
    z1 = W1 * X + B1
    a1 = sigmoid(z1)
    z2 = W2 * a1 + B2
    yhat = sigmoid(z2)
    dz2 = (yhat - Y) * yhat * (1 - yhat)
    da1 = dz2 * W2
    dz1 = da1 * a1 * (1 - a1)
    return {
        "z1": z1, "a1": a1, "z2": z2, "yhat": yhat, "L": 0.5 * (yhat - Y) ** 2,
        "dz2": dz2, "dW2": dz2 * a1, "db2": dz2, "da1": da1, "dz1": dz1, "dW1": dz1 * X,
        "db1": dz1,
    }  # fmt: skip


@pytest.fixture
def exercise(tmp_path: Path) -> Path:
    p = tmp_path / "two-layers.tex"
    p.write_text(TWO_LAYERS, encoding="utf-8")
    return p


def judged(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """``chainrule check … --json``: its JSON."""
    main(["check", *args, "--json"])
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_the_exercise_reads_layer_labels_as_names() -> None:
    graph, reading = parse_document(TWO_LAYERS, latex=True)
    program = reading.plain_program
    assert "z⁽¹⁾ = W⁽¹⁾ * x + b⁽¹⁾" in program
    assert "a⁽¹⁾ = σ(z⁽¹⁾)" in program
    assert "z⁽²⁾ = W⁽²⁾ * a⁽¹⁾ + b⁽²⁾" in program
    graph.backward()
    t = truth()
    for label, want in (("z⁽¹⁾", "z1"), ("a⁽¹⁾", "a1"), ("z⁽²⁾", "z2"), ("ŷ", "yhat"), ("L", "L")):
        node = graph.find(label)
        assert node is not None, label
        assert node.value == pytest.approx(t[want], rel=1e-12), label
    for label, want in (("W⁽¹⁾", "dW1"), ("b⁽¹⁾", "db1"), ("W⁽²⁾", "dW2"), ("b⁽²⁾", "db2")):
        node = graph.find(label)
        assert node is not None, label
        assert node.grad == pytest.approx(t[want], rel=1e-12), label


@pytest.mark.parametrize(
    "name",
    ["dL/dW^(1)", "dL/dW^{(1)}", "dL/dW^[1]", "dL/dW^{[1]}", "dL/dW⁽¹⁾", "∂L/∂W⁽¹⁾", "grad W^(1)"],
)
def test_a_claim_in_each_spelling_is_judged(
    exercise: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dw1 = truth()["dW1"]
    right = judged(capsys, str(exercise), "--claim", f"{name} = {dw1:.3g}")
    assert right["claims"][0]["quantity"] == "dL/dW⁽¹⁾"
    assert right["claims"][0]["verdict"] == RIGHT
    assert right["claims"][0]["true"] == pytest.approx(dw1, rel=1e-12)
    # the same number for the other layer's weight is wrong: the label picks the layer
    other = name.replace("1", "2").replace("¹", "²")
    wrong = judged(capsys, str(exercise), "--claim", f"{other} = {dw1:.3g}")
    assert wrong["claims"][0]["verdict"] == WRONG
    assert wrong["claims"][0]["true"] == pytest.approx(truth()["dW2"], rel=1e-12)


def test_a_claims_file_names_layers_as_typed(
    exercise: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = truth()
    claims = tmp_path / "claims.txt"
    claims.write_text(
        f"a^(1) = {t['a1']:.4f}\n"
        f"dL/dz⁽²⁾ = {t['dz2']:.4f}\n"
        f"dL/db^[1] = {t['db1']:.4f}\n"
        f"dL/dW^{{(2)}} = {-t['dW2']:.4f}\n",  # the sign slipped
        encoding="utf-8",
    )
    out = judged(capsys, str(exercise), "--claims", str(claims))
    verdicts = {c["quantity"]: c["verdict"] for c in out["claims"]}
    assert verdicts == {"a⁽¹⁾": RIGHT, "dL/dz⁽²⁾": RIGHT, "dL/db⁽¹⁾": RIGHT, "dL/dW⁽²⁾": WRONG}


def test_a_worked_solution_by_hand_is_judged_step_by_step(
    exercise: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = truth()
    slip = round(t["dz2"], 4) * 10  # a slipped decimal point
    solution = tmp_path / "solution.md"
    solution.write_text(
        f"$z^{{(1)}} = 0.8 \\cdot 1.5 - 0.3 = {t['z1']:.1f}$\n\n"
        f"$a^{{[1]}} = \\sigma(z^{{[1]}}) \\approx {t['a1']:.4f}$\n\n"
        f"$\\hat{{y}} \\approx {t['yhat']:.4f}$\n\n"
        f"$\\frac{{\\partial L}}{{\\partial z^{{(2)}}}} \\approx {slip:.4f}$\n\n"
        f"$\\frac{{\\partial L}}{{\\partial W^{{(2)}}}} = \\frac{{\\partial L}}{{\\partial "
        f"z^{{(2)}}}} \\cdot a^{{(1)}} \\approx {slip * round(t['a1'], 4):.4f}$\n",
        encoding="utf-8",
    )
    out = judged(capsys, str(exercise), "--solution", str(solution))
    got = {c["quantity"]: (c["verdict"], c["origin"]) for c in out["claims"]}
    assert got["z⁽¹⁾"][0] == RIGHT
    assert got["a⁽¹⁾"][0] == RIGHT
    assert got["ŷ"][0] == RIGHT
    assert got["dL/dz⁽²⁾"] == (WRONG, "first slip")
    assert got["dL/dW⁽²⁾"] == (WRONG, "follows")
    assert out["not_checked"] == []


@pytest.mark.parametrize("suffix", [".md", ".tex"])
def test_chainrules_own_worked_solution_reads_back_right(
    exercise: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    written = tmp_path / f"solution{suffix}"
    assert main(["explain", str(exercise), "-o", str(written)]) == 0
    text = written.read_text(encoding="utf-8")
    assert r"\frac{\mathrm{d} L}{\mathrm{d} W^{(1)}}" in text
    assert "⁽" not in text  # LaTeX writes z^{(1)}, never the Unicode label
    capsys.readouterr()
    out = judged(capsys, str(exercise), "--solution", str(written))
    assert out["wrong"] == 0 and out["rounding"] == 0 and out["not_checked"] == []
    t = truth()
    seen = {c["quantity"]: c["true"] for c in out["claims"]}
    for label, want in (("z⁽¹⁾", "z1"), ("a⁽¹⁾", "a1"), ("dL/dW⁽¹⁾", "dW1"), ("dL/dW⁽²⁾", "dW2")):
        assert seen[label] == pytest.approx(t[want], rel=1e-12), label
    if suffix == ".tex":
        _compiles(written)


MATRIX = r"""$\mathbf{x} = \begin{bmatrix} 1 \\ 2 \end{bmatrix}$,
$W^{[1]} = \begin{bmatrix} 0.5 & -1 \\ 0.25 & 1 \end{bmatrix}$,
$\mathbf{w}^{[2]} = \begin{bmatrix} 1 \\ -1 \end{bmatrix}$, $y = 1$

$$\mathbf{a}^{[1]} = \sigma(W^{[1]} \mathbf{x}), \quad
z^{[2]} = (\mathbf{w}^{[2]})^T \mathbf{a}^{[1]}, \quad L = (z^{[2]} - y)^2$$
"""


def test_an_element_of_a_layers_matrix_counts_from_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = [[0.5, -1.0], [0.25, 1.0]]
    x, v = [1.0, 2.0], [1.0, -1.0]
    h = [w[i][0] * x[0] + w[i][1] * x[1] for i in range(2)]
    a = [sigmoid(t) for t in h]
    z2 = v[0] * a[0] + v[1] * a[1]
    dz2 = 2 * (z2 - 1)
    d12 = dz2 * v[0] * a[0] * (1 - a[0]) * x[1]  # ∂L/∂W⁽¹⁾ row 1, column 2
    p = tmp_path / "matrix.md"
    p.write_text(MATRIX, encoding="utf-8")
    for name in ("dL/dW^{(1)}_{1,2}", "dL/dW^[1]_1,2", "dL/dW⁽¹⁾₁,₂", "dL/dW⁽¹⁾[0,1]"):
        out = judged(capsys, str(p), "--claim", f"{name} = {d12:.3g}")
        assert out["claims"][0]["verdict"] == RIGHT, name
        assert out["claims"][0]["true"] == pytest.approx(d12, rel=1e-12), name
    out = judged(capsys, str(p), "--claim", f"a^(1)_2 = {a[1]:.3g}")
    assert out["claims"][0]["verdict"] == RIGHT


def test_real_powers_stay_powers() -> None:
    """x^{2}, x^2, e^{-x}, (1 + e^{-x})^{-1}, σ(x)², (x)^{(2)} and e^{(2)} are powers; only
    x^{(1)}, a bracketed whole number on a name, is another quantity."""
    text = r"""$x = 0.7$, $x^{(1)} = 3$
$$p = x^{2} + x^2 + e^{-x} + (1 + e^{-x})^{-1} + \sigma(x)^{2} + (x)^{(2)} + e^{(2)} + x^{(1)}$$
"""
    graph, reading = parse_document(text)
    x = 0.7
    s = 1 / (1 + math.exp(-x))
    want = x**2 + x**2 + math.exp(-x) + 1 / (1 + math.exp(-x)) + s**2 + x**2 + math.e**2 + 3
    assert graph.output.value == pytest.approx(want, rel=1e-12)
    assert "x⁽¹⁾ = 3" in reading.plain_program


def test_a_layer_named_by_a_letter_is_a_general_formula_not_read() -> None:
    text = r"""$x = 2$, $W^{(1)} = 3$

$$\delta^{[l]} = (W^{[l+1]})^T \delta^{[l+1]}$$

$$z^{(1)} = W^{(1)} x$$
"""
    graph, reading = parse_document(text)
    assert graph.output.value == 6
    (problem,) = reading.problems
    assert str(problem).startswith("line 3: a layer named by a letter ([l])")


def test_the_program_language_spells_a_layer_z_with_its_label() -> None:
    graph = parse("x = 1.5\nW⁽¹⁾ = 0.8\nz⁽¹⁾ = W⁽¹⁾ * x - 0.3\na⁽¹⁾₁ = z⁽¹⁾²")
    graph.backward()
    assert graph.output.value == pytest.approx((0.8 * 1.5 - 0.3) ** 2)
    assert graph.label(graph.output) == "a⁽¹⁾₁"
    with pytest.raises(ProgramSyntaxError) as info:
        parse("x = 2\nz^(1) = 3 * x")
    assert info.value.line == 2 and info.value.column == 1
    assert "written z⁽¹⁾" in str(info.value)


def test_a_drawing_in_tikz_sets_the_label_as_a_superscript(exercise: Path, tmp_path: Path) -> None:
    out = tmp_path / "graph.tex"
    assert main(["draw", str(exercise), "-o", str(out)]) == 0
    tikz = out.read_text(encoding="utf-8")
    assert r"W\ensuremath{^{(}}\ensuremath{^{1}}\ensuremath{^{)}}" in tikz
    assert "[U+207D]" not in tikz


TEMPLATE = '''title = "Two layers"
digits = 5
source = """
x = ${x}
W⁽¹⁾ = ${w1}
W⁽²⁾ = ${w2}
a⁽¹⁾ = σ(W⁽¹⁾ * x)
ŷ = σ(W⁽²⁾ * a⁽¹⁾)
L = (ŷ - 1)^2
"""

[draw]
x = { choices = [1, 2] }
w1 = { choices = [0.5, -0.5] }
w2 = { choices = [1.5, -1.5] }

[ask]
values = ["a⁽¹⁾"]
gradients = ["W⁽¹⁾", "W⁽²⁾"]
'''


def test_grade_reads_layer_labels_in_a_folder_of_worked_solutions(tmp_path: Path) -> None:
    import csv

    from chainrule.teach.generate import generate

    template = tmp_path / "two-layers.toml"
    template.write_text(TEMPLATE, encoding="utf-8")
    folder = tmp_path / "class"
    generate(template, folder, count=1, seed=3, pdfs=False, solutions=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (variant,) = manifest["variants"]
    drawn = dict(line.split(" = ") for line in variant["program"].splitlines()[:3])
    x, w1, w2 = (float(Fraction(drawn[k])) for k in ("x", "W⁽¹⁾", "W⁽²⁾"))
    a1 = sigmoid(w1 * x)
    yhat = sigmoid(w2 * a1)
    dz2 = 2 * (yhat - 1) * yhat * (1 - yhat)
    dw2, dw1 = dz2 * a1, dz2 * w2 * a1 * (1 - a1) * x
    subs = tmp_path / "solutions"
    subs.mkdir()
    (subs / "ada.md").write_text(
        f"student: Ada\n\nvariant: {variant['id']}\n\n$a^{{[1]}} = {a1:.4f}$\n\n"
        f"$\\frac{{\\partial L}}{{\\partial W^{{(1)}}}} = {dw1:.4g}$\n\n"
        f"$\\frac{{\\partial L}}{{\\partial W^{{(2)}}}} = {-dw2:.4g}$\n",  # a sign slip
        encoding="utf-8",
    )
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    (row,) = csv.DictReader((report / "grades.csv").read_text(encoding="utf-8").splitlines())
    assert row["student"] == "Ada"
    assert float(row["score"]) == 2  # a⁽¹⁾ and dL/dW⁽¹⁾ right, dL/dW⁽²⁾ wrong
