"""Exercises written in LaTeX or Markdown read as programs: each program read is run (as
``eval`` runs it) and compared with values computed here independently (sympy, numpy,
PyTorch), and with the reference exercise's own program."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from chainrule.core.errors import ChainruleError
from chainrule.lang.language import parse
from chainrule.lang.latex.reader import AmbiguityError, parse_document, read_document

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "seed-exercise.md"
OWN_COPY = Path(__file__).resolve().parent / "data" / "seed-exercise.md"


def seed_text() -> str:
    """The reference exercise as written: the shared copy next to the repository when it is
    there, else the copy the tests carry (a fresh clone)."""
    return (SHARED if SHARED.is_file() else OWN_COPY).read_text(encoding="utf-8")


def test_the_tests_copy_is_the_shared_one() -> None:
    if not SHARED.is_file():
        pytest.skip("no shared reference copy next to this checkout")
    assert OWN_COPY.read_bytes() == SHARED.read_bytes()


def values(text: str, **kw: object) -> tuple[object, dict[str, object]]:
    graph, reading = parse_document(text, **kw)  # type: ignore[arg-type]
    graph.backward()
    return graph, {name: node for name, node in graph.labels().items()}


# ------------------------------------------------------------------ the reference exercise


def test_reference_exercise_reads_as_its_program() -> None:
    reading = read_document(seed_text(), filename="seed-exercise.md")
    assert [s.text for s in reading.statements] == [
        "x = [1, 1]",
        "w = [4/5, 7/5]",
        "b₀ = 3/5",
        "y = 1",
        "z = w.T @ x + b₀",
        "ŷ = σ(z)",
        "L = (ŷ - y)^2",
    ]
    assert reading.output == "L"
    assert reading.title == "Exercise 3"
    assert reading.problems == []
    # every statement points at the line it came from
    lines = seed_text().splitlines()
    for s in reading.statements:
        assert s.source.split("=")[0].strip().split()[-1].strip("\\{}") in lines[s.line - 1] or (
            s.source.replace(" ", "")[:8] in lines[s.line - 1].replace(" ", "")
        )
    assert {s.name: s.line for s in reading.statements}["z"] == 46
    assert {s.name: s.line for s in reading.statements}["L"] == 14


def test_reference_exercise_values_and_gradients_match_sympy() -> None:
    graph, _ = parse_document(seed_text(), exact=True)
    graph.backward()
    w1, w2, b0, x1, x2, y = sp.symbols("w1 w2 b0 x1 x2 y")
    z = w1 * x1 + w2 * x2 + b0
    L = (1 / (1 + sp.exp(-z)) - y) ** 2
    at = {w1: sp.Rational(4, 5), w2: sp.Rational(7, 5), b0: sp.Rational(3, 5), x1: 1, x2: 1, y: 1}
    assert float(graph.output.value) == pytest.approx(float(L.subs(at)), rel=1e-12)
    labels = graph.labels()
    grad_w = np.asarray(labels["w"].grad, dtype=float)
    assert grad_w[0] == pytest.approx(float(sp.diff(L, w1).subs(at)), rel=1e-12)
    assert grad_w[1] == pytest.approx(float(sp.diff(L, w2).subs(at)), rel=1e-12)
    assert float(labels["b₀"].grad) == pytest.approx(float(sp.diff(L, b0).subs(at)), rel=1e-12)


def test_reference_program_and_the_text_give_the_same_graph() -> None:
    program = (ROOT / "examples" / "seed-exercise.cr").read_text(encoding="utf-8")
    a = parse(program)
    b, _ = parse_document(seed_text())
    a.backward()
    b.backward()
    la, lb = a.labels(), b.labels()
    for name in ("x", "w", "b₀", "y", "z", "ŷ", "L"):
        np.testing.assert_allclose(
            np.asarray(la[name].value, float), np.asarray(lb[name].value, float)
        )
        np.testing.assert_allclose(
            np.asarray(la[name].grad, float), np.asarray(lb[name].grad, float)
        )


# ------------------------------------------------------------------ exercises of our own

SOFTMAX_TEX = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
\section*{Exercise: a softmax layer}
Let
\[
W = \begin{pmatrix} 1 & -1 \\ \frac{1}{2} & 2 \\ 0 & 1 \end{pmatrix}, \quad
\mathbf{x} = \begin{pmatrix} 2 \\ 1 \end{pmatrix}, \quad
\mathbf{t} = \begin{pmatrix} 0 \\ 1 \\ 0 \end{pmatrix}.
\]
The logits are $\mathbf{z} = W \mathbf{x}$, the prediction
$\hat{\mathbf{y}} = \operatorname{softmax}(\mathbf{z})$ and the loss % the cross-entropy
\begin{equation}
L = -\sum_{i=1}^{3} t_i \log \hat{y}_i .
\end{equation}
\end{document}
"""


def test_latex_matrix_softmax_and_sum_match_torch() -> None:
    torch = pytest.importorskip("torch")
    graph, reading = parse_document(SOFTMAX_TEX, latex=True)
    assert reading.output == "L"
    assert "z = W @ x" in [s.text for s in reading.statements]
    graph.backward()
    W = torch.tensor([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([2.0, 1.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    loss = -(t * torch.log(torch.softmax(W @ x, dim=0))).sum()
    loss.backward()
    labels = graph.labels()
    assert float(graph.output.value) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(np.asarray(labels["W"].grad, float), W.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(np.asarray(labels["x"].grad, float), x.grad.numpy(), atol=1e-12)


FANOUT_MD = """# Exercise 2: fan-out

Let $a = 2$, $b = -3$ and $c = a \\cdot b$. The output is

$$f = c^2 + \\tanh(a) \\cdot c + e^{b}$$

where $a$ reaches $f$ along three paths.
"""


def test_markdown_fan_out_matches_sympy() -> None:
    graph, reading = parse_document(FANOUT_MD)
    assert reading.output == "f"
    graph.backward()
    a, b = sp.symbols("a b")
    c = a * b
    f = c**2 + sp.tanh(a) * c + sp.exp(b)
    at = {a: 2, b: -3}
    labels = graph.labels()
    assert float(graph.output.value) == pytest.approx(float(f.subs(at)), rel=1e-12)
    assert float(labels["a"].grad) == pytest.approx(float(sp.diff(f, a).subs(at)), rel=1e-12)
    assert float(labels["b"].grad) == pytest.approx(float(sp.diff(f, b).subs(at)), rel=1e-12)


def test_notation_decimal_commas_sqrt_exp_sum_and_elements() -> None:
    text = r"""
Given $\mathbf{w} = \begin{bmatrix} 0,5 \\ -1,25 \\ 2 \end{bmatrix}$,
$\mathbf{x} = \begin{bmatrix} 1 \\ 2 \\ 3 \end{bmatrix}$ and $b = 0,1$:

$$s = \sum_i w_i x_i + b, \qquad u = \sqrt{s^2 + 1} \times \exp(-w_1), \qquad
v = \frac{u}{1 + x_3}$$
"""
    graph, reading = parse_document(text)
    assert reading.output == "v"
    graph.backward()
    w = [0.5, -1.25, 2.0]
    x = [1.0, 2.0, 3.0]
    s = sum(a * b for a, b in zip(w, x)) + 0.1
    u = math.sqrt(s * s + 1) * math.exp(-w[0])
    assert float(graph.output.value) == pytest.approx(u / (1 + x[2]), rel=1e-12)

    # the gradient with respect to w by central differences
    def v_of(wv: list[float]) -> float:
        s = sum(a * b for a, b in zip(wv, x)) + 0.1
        return math.sqrt(s * s + 1) * math.exp(-wv[0]) / (1 + x[2])

    h = 1e-6
    for k in range(3):
        up = list(w)
        dn = list(w)
        up[k] += h
        dn[k] -= h
        fd = (v_of(up) - v_of(dn)) / (2 * h)
        assert float(np.asarray(graph.labels()["w"].grad, float)[k]) == pytest.approx(fd, rel=1e-6)


def test_dot_product_and_matrix_elements() -> None:
    text = r"""
$\mathbf{w} = \begin{pmatrix} 1 \\ 2 \end{pmatrix}$,
$\mathbf{x} = \begin{pmatrix} 3 \\ -1 \end{pmatrix}$,
$A = \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}$.
$$p = \mathbf{w} \cdot \mathbf{x} + A_{21} \cdot w_{2}, \qquad q = \tanh(p / 10)$$
"""
    graph, reading = parse_document(text)
    p = 1 * 3 + 2 * (-1) + 3 * 2
    assert float(graph.output.value) == pytest.approx(math.tanh(p / 10), rel=1e-12)
    assert "p = w @ x + A[1][0] * w[1]" in [s.text for s in reading.statements]


def test_function_defined_by_the_text() -> None:
    text = r"""
The loss is $L = \mathrm{Loss}(\hat{y}, y)$ with $\hat{y} = \sigma(a)$, $a = 1$ and $y = 0$,
where $\mathrm{Loss}(p, q) = -\log(1 - p) + q$.
"""
    graph, _ = parse_document(text)
    p = 1 / (1 + math.exp(-1))
    assert float(graph.output.value) == pytest.approx(-math.log(1 - p), rel=1e-12)


def test_a_function_nobody_defines_is_an_error_naming_the_line() -> None:
    text = "intro\n\n$L = \\mathrm{Wobble}(y)$ and $y = 2$\n"
    with pytest.raises(ChainruleError, match=r"line 3: .*Wobble"):
        read_document(text)


def test_two_values_for_one_name_is_an_error_naming_both_lines() -> None:
    text = "$y = 1$\n\n$y = 2$\n\n$L = y^2$\n"
    with pytest.raises(AmbiguityError, match=r"line 3: y is given twice.*line 1"):
        read_document(text)


def test_two_different_definitions_are_ambiguous() -> None:
    text = "$a = 2$\n\n$L = a^2$\n\n$L = a^3$\n"
    with pytest.raises(AmbiguityError, match=r"line 5: L is defined twice.*line 3"):
        read_document(text)


def test_agreeing_definitions_are_one() -> None:
    text = "$a = 2$, $b = a + 1$\n\n$L = b^2$\n\n$L = (a + 1)^2$\n"
    reading = read_document(text)
    assert [s.text for s in reading.statements][-1] == "L = b^2"


def test_unreadable_maths_is_listed_with_its_line() -> None:
    text = "$a = 2$\n\nthen\n\n$b = \\frac{a}$\n\n$L = a^2$\n"
    reading = read_document(text)
    assert [p.line for p in reading.problems] == [5]


def test_a_name_never_given_is_an_error_naming_its_line() -> None:
    with pytest.raises(ChainruleError, match=r"line 2: q is used in L"):
        read_document("$a = 1$\n$L = a + q$\n")
    reading = read_document("$a = 1$\n$L = a + q$\n", given=["q"])
    assert reading.output == "L"


def test_no_maths_at_all() -> None:
    with pytest.raises(ChainruleError, match="no definitions"):
        read_document("Only prose here, and `code = 1`.\n")


def test_user_text_is_never_run() -> None:
    hostile = "$x = 1$\n\n$b = __import__('os').system('false') + x$\n\n$L = x^2$\n"
    reading = read_document(hostile)
    assert [p.line for p in reading.problems] == [3]
    assert "import" not in reading.program and "system" not in reading.program


def test_hostile_sizes_are_refused_or_read_without_recursion() -> None:
    # L's only formula cannot be read: an error naming its line, not an exercise solved for a
    long_sum = "$a = 1$\n\n$L = " + " + ".join(["a"] * 3000) + "$\n"
    with pytest.raises(ChainruleError, match=r"^line 3: a formula more than 200 operations"):
        read_document(long_sum)
    reading = read_document(long_sum + "\n$M = 2 a$\n")  # another output: L merely listed
    assert [p.line for p in reading.problems] == [3]
    assert "operations deep" in reading.problems[0].message
    deep = "$a = 1$\n\n$L = " + "{" * 3000 + "a" + "}" * 3000 + "$\n"
    with pytest.raises(ChainruleError, match=r"^line 3: .*only formula for L"):
        read_document(deep)
    # a written-out \sum of many terms is a balanced tree, and its value is the sum
    n = 900
    column = " \\\\ ".join(str(k % 7) for k in range(n))
    text = (
        f"$\\mathbf{{x}} = \\begin{{bmatrix}} {column} \\end{{bmatrix}}$\n\n$L = \\sum_i x_i^2$\n"
    )
    graph, _ = parse_document(text)
    assert float(graph.output.value) == sum((k % 7) ** 2 for k in range(n))


def test_braced_decimal_comma_and_a_table_function() -> None:
    text = "$\\hat{y} = 0{,}25$, $y = 1$ and $L = \\mathrm{MSE}(\\hat{y}, y)$\n"
    graph, reading = parse_document(text)
    assert reading.statements[0].text == "ŷ = 0.25"
    assert float(graph.output.value) == pytest.approx((0.25 - 1) ** 2)


def test_a_general_statement_beside_the_real_definition() -> None:
    text = "In general $y = f(x)$; here $x = 2$ and $y = \\tanh(x)$.\n"
    graph, reading = parse_document(text)
    assert [s.text for s in reading.statements] == ["x = 2", "y = tanh(x)"]
    assert float(graph.output.value) == pytest.approx(math.tanh(2))


def test_a_function_the_text_names_and_writes_out() -> None:
    text = (
        "$L = \\mathrm{Loss}(\\hat{y}, y)$ with $\\hat{y} = 0,5$, $y = 1$: $L = (\\hat{y} - y)^4$\n"
    )
    graph, reading = parse_document(text)
    assert reading.statements[-1].text == "L = (ŷ - y)^4"
    assert float(graph.output.value) == pytest.approx(0.5**4)
    # MSE keeps chainrule's meaning: a different formula for it is an ambiguity
    with pytest.raises(AmbiguityError, match="line 2: L is defined twice"):
        read_document("$a = 3$, $b = 1$, $L = MSE(a, b)$\n$L = (a - b)^3$\n")


def test_e_as_a_name_of_the_text_and_as_the_constant() -> None:
    graph, reading = parse_document("$y = 3$, $\\hat{y} = 1$, $e = y - \\hat{y}$, $L = e^2$\n")
    assert float(graph.output.value) == 4.0
    graph, reading = parse_document("$x = 2$, $L = e^{x} + \\pi$\n")
    assert float(graph.output.value) == pytest.approx(math.exp(2) + math.pi)
