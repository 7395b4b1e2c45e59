"""Worked solutions read as written: every number judged, each step on the learner's own
numbers, and the marked-up copy. True values are computed here (math, sympy); the right numbers
of the solutions written here are those values rounded, and the slips are put in by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from test_latex_reader import FANOUT_MD, SOFTMAX_TEX, seed_text

from chainrule.check import FIRST_SLIP, FOLLOWS, RIGHT, ROUNDING, WRONG
from chainrule.check.marked import marked_html, marked_latex, marked_markdown
from chainrule.check.solution import check_solution
from chainrule.cli import main
from chainrule.lang.latex.reader import parse_document


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    p = tmp_path / "seed-exercise.md"
    p.write_text(seed_text(), encoding="utf-8")
    return p


def test_reference_solution_has_exactly_the_two_slips(
    seed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["check", str(seed), "--solution", str(seed), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 1
    z = 14 / 5
    yhat = sigmoid(z)
    L = (yhat - 1) ** 2
    dL_dz = 2 * (yhat - 1) * yhat * (1 - yhat)
    claims = {(c["claim"], c["line"]): c for c in out["claims"]}
    wrong = sorted((c["claim"], c["line"]) for c in out["claims"] if c["verdict"] == WRONG)
    assert wrong == [
        ("L = 0,06", 22),
        ("∂L/∂w₁ = -0,06", 34),
        ("∂L/∂w₂ = -0,06", 36),
        ("∂L/∂z = -0,06", 32),
    ]
    assert out["first_slips"] == ["L = 0,06", "∂L/∂z = -0,06"]
    # the slips are in the steps: the learner's own (0,94 − 1)² and −0,12 · 0,05
    assert claims[("L = 0,06", 22)]["recomputed"] == pytest.approx((0.94 - 1) ** 2)
    assert claims[("∂L/∂z = -0,06", 32)]["recomputed"] == pytest.approx(-0.12 * 0.05)
    for name, line in (("∂L/∂w₁ = -0,06", 34), ("∂L/∂w₂ = -0,06", 36)):
        assert claims[(name, line)]["origin"] == FOLLOWS
        assert claims[(name, line)]["follows"] == ["∂L/∂z = -0,06"]
    # the ≈ 0,003 after the slip is right to its digits; nothing else is flagged
    assert claims[("L = 0,003", 22)]["verdict"] == RIGHT and round(L, 3) == 0.003
    assert claims[("z = 14/5", 22)]["verdict"] == RIGHT
    assert claims[("ŷ = 0,94", 22)]["verdict"] == RIGHT and round(yhat, 2) == 0.94
    assert claims[("∂L/∂ŷ = -0,12", 28)]["verdict"] == ROUNDING  # −0.1146: one unit off
    assert claims[("∂ŷ/∂z = 0,05", 30)]["verdict"] == RIGHT
    assert claims[("∂z/∂b₀ = 1", 48)]["verdict"] == RIGHT
    assert len(out["claims"]) == 14  # the exercise's own givens are not the learner's
    trues = [c["true"] for c in out["claims"] if c["claim"].startswith("∂L/∂w")]
    assert trues == [pytest.approx(dL_dz)] * 2


def test_reference_report_names_the_lines(seed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(seed), "--solution", str(seed)]) == 1
    captured = capsys.readouterr()
    text = captured.out
    assert "L = 0,06 (line 22) is wrong" in text
    assert "From your own numbers it would be 0.0036; so the slip began here." in text
    assert "dL/dz = -0,06 (line 32) is wrong" in text
    assert "From your own numbers it would be −0.006; so the slip began here." in text
    assert text.count("it follows from your earlier wrong dL/dz = -0,06") == 2
    assert "(first slips: L, dL/dz)" in text
    # the program read is shown first, on stderr, with the lines of the text
    assert "z = w.T @ x + b₀  # line 46" in captured.err


def _strip_md(marked: str) -> str:
    out = re.sub(r"\\;\\text\{[^}]*\}", "", marked)
    return re.sub(r"\n\n> ✗ [^\n]*(?:\n>[^\n]*)*\n", "", out)


def test_marked_copies(seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = seed.read_text(encoding="utf-8")
    for suffix in ("md", "tex", "html"):
        out = tmp_path / f"marked.{suffix}"
        assert main(["check", str(seed), "--solution", str(seed), "-o", str(out)]) == 1
    capsys.readouterr()
    md = (tmp_path / "marked.md").read_text(encoding="utf-8")
    assert "= 0,06\\;\\text{✗} \\approx 0,003\\;\\text{✓}" in md
    assert "-0,12 \\cdot 0,05 = -0,06\\;\\text{✗}$$" in md
    assert md.count("\\text{✗ follows from line 32}") == 2
    assert md.count("\n> ✗ Line ") == 2  # a note at each first slip, and only there
    assert "$(0,94 - 1)^2 = 0.0036$" in md and "$-0,12 \\cdot 0,05 = -0.006$" in md
    assert _strip_md(md) == text  # the learner's text is kept as it is
    tex = (tmp_path / "marked.tex").read_text(encoding="utf-8")
    assert tex.count("\\marginpar{") == 2 and tex.count("\\checkmark") == 10
    html = (tmp_path / "marked.html").read_text(encoding="utf-8")
    assert html.count("class='note'") == 2 and html.count("follows from line 32") == 2
    assert "<script" not in html


# ------------------------------------------------------------------ solutions of our own


def fanout_truth() -> dict[str, float]:
    a, b = sp.symbols("a b")
    c = a * b
    f = c**2 + sp.tanh(a) * c + sp.exp(b)
    cs = sp.Symbol("c")
    f_c = cs**2 + sp.tanh(a) * cs + sp.exp(b)
    at = {a: 2, b: -3}
    return {
        "c": float(c.subs(at)),
        "f": float(f.subs(at)),
        "df/dc": float(sp.diff(f_c, cs).subs({**at, cs: -6})),
        "df/da": float(sp.diff(f, a).subs(at)),
        "df/db": float(sp.diff(f, b).subs(at)),
        "tanh": math.tanh(2),
        "exp": math.exp(-3),
    }


def comma(x: float, places: int) -> str:
    return f"{x:.{places}f}".replace(".", ",")


def fanout_solution(sign_slip: bool) -> str:
    """The fan-out solution; with ``sign_slip`` the learner adds tanh(2) with the wrong sign in
    ∂f/∂c, and ∂f/∂b and ∂f/∂a carry it forward."""
    t = fanout_truth()
    dfdc = -12 + (-1 if sign_slip else 1) * round(t["tanh"], 3)
    dfdb = dfdc * 2 + round(t["exp"], 3)
    dfda = dfdc * (-3) + (1 - t["tanh"] ** 2) * (-6)
    fill = {
        "T6": comma(t["tanh"] * 6, 3),
        "EB": comma(t["exp"], 3),
        "FF": comma(t["f"], 3),
        "TH": comma(t["tanh"], 3),
        "DC": comma(dfdc, 3),
        "DB": comma(dfdb, 3),
        "DA": comma(dfda, 3),
    }
    text = FANOUT_SOLUTION
    for k, v in fill.items():
        text = text.replace(k, v)
    return text


FANOUT_SOLUTION = r"""# Solution

$$c = a \cdot b = 2 \cdot (-3) = -6$$

$$f = c^2 + \tanh(a) \cdot c + e^b = 36 - T6 + EB \approx FF$$

$$\frac{\partial f}{\partial c} = 2c + \tanh(a) = -12 + TH = DC$$

Backwards to the inputs, adding the paths:

$$\partial f/\partial b = \frac{\partial f}{\partial c} \cdot a + e^b = DC \cdot 2 + EB = DB$$

$$\partial f/\partial a = \frac{\partial f}{\partial c} \cdot b + (1 - \tanh^2(a)) \cdot c = DA$$
"""


def _eval_json(tmp_path: Path, name: str, text: str) -> dict[str, Any]:
    """``chainrule eval --json`` on an exercise written as a document."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = tmp_path / (name + ".json")
    assert main(["eval", str(path), "--json", "-o", str(out)]) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_fan_out_solution_all_right(tmp_path: Path) -> None:
    graph, _ = parse_document(FANOUT_MD)
    result = check_solution(graph, fanout_solution(sign_slip=False))
    verdicts = [(j.verdict.claim.text, j.verdict.verdict) for j in result.judged]
    assert [v for _, v in verdicts] == [RIGHT] * 5, verdicts
    # eval on the program the exercise was read into gives sympy's numbers, and every number
    # of the solution is one of them rounded to its digits
    data = _eval_json(tmp_path, "fanout.md", FANOUT_MD)
    t = fanout_truth()
    assert data["values"]["f"] == pytest.approx(t["f"], rel=1e-12)
    assert data["gradients"]["c"] == pytest.approx(t["df/dc"], rel=1e-12)
    assert data["gradients"]["a"] == pytest.approx(t["df/da"], rel=1e-12)
    assert data["gradients"]["b"] == pytest.approx(t["df/db"], rel=1e-12)
    evald = {"c": data["values"]["c"], "f": data["values"]["f"]}
    evald |= {f"∂f/∂{k}": data["gradients"][k] for k in "abc"}
    for j in result.judged:
        n = j.verdict.claim.numbers[0]
        assert abs(float(n.value) - evald[j.verdict.claim.name]) <= float(n.quantum) / 2


def test_fan_out_sign_slip_is_carried_forward() -> None:
    graph, _ = parse_document(FANOUT_MD)
    text = fanout_solution(sign_slip=True)
    result = check_solution(graph, text)
    by_name = {j.verdict.claim.name: j for j in result.judged}
    slip = by_name["∂f/∂c"]
    assert slip.verdict.verdict == WRONG and slip.verdict.origin == FIRST_SLIP
    assert slip.line == 7
    assert float(slip.step_value) == pytest.approx(-12 + round(math.tanh(2), 3))
    for name in ("∂f/∂b", "∂f/∂a"):
        j = by_name[name]
        assert j.verdict.verdict == WRONG and j.verdict.origin == FOLLOWS, name
        assert [w.claim.line for w in j.verdict.follows] == [7]
    assert by_name["c"].verdict.verdict == RIGHT and by_name["f"].verdict.verdict == RIGHT
    md = marked_markdown(graph, result)
    assert md.count("follows from line 7") == 2 and md.count("\n> ✗ Line 7:") == 1


SOFTMAX_SOLUTION = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
\section*{Solution}
Forward pass:
\begin{align*}
\mathbf{z} &= W\mathbf{x} = \begin{pmatrix} 1 \\ 3 \\ 1 \end{pmatrix} \\
\hat{\mathbf{y}} &= \operatorname{softmax}(\mathbf{z})
  \approx \begin{pmatrix} Y1 \\ Y2 \\ Y1 \end{pmatrix} \\
L &= -\log \hat{y}_2 = -\log Y2 \approx LL
\end{align*}
Backward pass:
\begin{align*}
\frac{\partial L}{\partial z_1} &= \hat{y}_1 - t_1 = Y1 - 0 = Y1 \\
\frac{\partial L}{\partial z_2} &= \hat{y}_2 - t_2 = Y2 - 1 = G2 \\
\frac{\partial L}{\partial z_3} &= \hat{y}_3 - t_3 = Y1
\end{align*}
\[
\frac{\partial L}{\partial x_1} = W_{11} \frac{\partial L}{\partial z_1}
  + W_{21} \frac{\partial L}{\partial z_2} + W_{31} \frac{\partial L}{\partial z_3} = X1
\]
% a comment: $L = 5$ is not read
\end{document}
"""


def softmax_solution(sign_slip: bool) -> tuple[str, dict[str, float]]:
    z = [1.0, 3.0, 1.0]
    e = [math.exp(v) for v in z]
    y = [v / sum(e) for v in e]
    g = [y[0], y[1] - 1, y[2]]
    W = [[1, -1], [0.5, 2], [0, 1]]
    dx1 = sum(W[i][0] * g[i] for i in range(3))
    g2 = -g[1] if sign_slip else g[1]
    x1 = W[0][0] * round(g[0], 4) + W[1][0] * round(g2, 4) + W[2][0] * round(g[2], 4)
    fill = {
        "Y1": comma(y[0], 4),
        "Y2": comma(y[1], 4),
        "LL": comma(-math.log(y[1]), 4),
        "G2": comma(g2, 4),
        "X1": comma(x1, 4),
    }
    text = SOFTMAX_SOLUTION
    for k, v in fill.items():
        text = text.replace(k, v)
    return text, {"dx1": dx1, "g2": g[1]}


def test_latex_softmax_solution_right_and_with_a_sign_slip(tmp_path: Path) -> None:
    graph, _ = parse_document(SOFTMAX_TEX, latex=True)
    text, truth = softmax_solution(sign_slip=False)
    result = check_solution(graph, text, latex=True)
    assert [j.verdict.verdict for j in result.judged] == [RIGHT] * 7
    assert abs(truth["dx1"]) < 1e-12  # 1·y₁ + ½(y₂ − 1) + 0 = 0 for these numbers
    data = _eval_json(tmp_path, "softmax.tex", SOFTMAX_TEX)
    assert data["gradients"]["x"][0] == pytest.approx(truth["dx1"], abs=1e-12)
    assert data["gradients"]["z"][1] == pytest.approx(truth["g2"], rel=1e-12)
    assert data["values"]["L"] == pytest.approx(-math.log(1 + truth["g2"]), rel=1e-12)
    text, truth = softmax_solution(sign_slip=True)
    result = check_solution(graph, text, latex=True)
    wrong = {j.verdict.claim.name: j for j in result.judged if j.verdict.verdict == WRONG}
    assert set(wrong) == {"∂L/∂z₂", "∂L/∂x₁"}
    assert wrong["∂L/∂z₂"].verdict.origin == FIRST_SLIP and wrong["∂L/∂z₂"].line == 15
    assert float(wrong["∂L/∂z₂"].step_value) == pytest.approx(round(truth["g2"], 4))
    assert wrong["∂L/∂x₁"].verdict.origin == FOLLOWS
    assert [w.claim.line for w in wrong["∂L/∂x₁"].verdict.follows] == [15]
    tex = marked_latex(graph, result)
    assert tex.count("\\marginpar{") == 1 and "\\usepackage{amssymb}" in tex
    assert "follows from line 15" in tex
    html = marked_html(graph, result, "solution.tex")
    assert "follows from line 15" in html and html.count("class='note'") == 1


def test_dot_notation_and_inline_partials(tmp_path: Path) -> None:
    graph, _ = parse_document(seed_text())
    text = (
        "Write $\\dot{v} = \\frac{\\partial L}{\\partial v}$.\n\n"
        "$\\dot{z} = -0,0062$ and $\\partial L/\\partial b_0 = -0,0062$ and $\\dot{w}_1 = -0,06$\n"
    )
    result = check_solution(graph, text)
    got = [(j.verdict.claim.name, j.verdict.verdict) for j in result.judged]
    assert got == [("∂L/∂z", RIGHT), ("∂L/∂b₀", RIGHT), ("∂L/∂w₁", WRONG)]


def test_solution_errors_exit_2(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("No numbers here, $a \\in \\mathbb{R}$.\n", encoding="utf-8")
    assert main(["check", str(seed), "--solution", str(empty)]) == 2
    assert main(["check", str(seed), "--solution", str(seed), "-o", str(tmp_path / "m.pdf")]) == 2
    assert main(["check", str(seed), "--solution", str(tmp_path / "missing.md")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


# ------------------------------------------------------------------ grade: a folder of solutions

LATEX_NAMES = {
    "z": "z",
    "ŷ": "\\hat{y}",
    "L": "L",
    "∂ŷ/∂z": "\\frac{\\partial \\hat{y}}{\\partial z}",
    "dL/dŷ": "\\frac{\\partial L}{\\partial \\hat{y}}",
    "dL/dz": "\\partial L / \\partial z",
    "dL/dw1": "\\frac{\\partial L}{\\partial w_1}",
    "dL/dw2": "\\frac{\\partial L}{\\partial w_2}",
    "dL/db₀": "\\frac{\\partial L}{\\partial b_0}",
}


def _sig(x: float) -> str:
    return f"{x:#.4g}".rstrip(".")


def test_grade_accepts_a_folder_of_worked_solutions(tmp_path: Path) -> None:
    import csv
    import io

    from chainrule.teach.generate import generate

    reference = Path(__file__).resolve().parents[1] / "examples" / "teaching" / "reference.toml"
    folder = tmp_path / "class"
    generate(reference, folder, count=2, seed=1, pdfs=False, solutions=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    variants = {v["id"]: v for v in manifest["variants"]}
    subs = tmp_path / "solutions"
    subs.mkdir()
    a = variants["v01"]["answers"]
    assert set(a) == set(LATEX_NAMES)
    lines = ["# My solution", "", "**Student:** Ada Lovelace", "", "Variant: v01", ""]
    lines += [f"$${LATEX_NAMES[q]} \\approx {_sig(v).replace('.', ',')}$$\n" for q, v in a.items()]
    (subs / "ada.md").write_text("\n".join(lines), encoding="utf-8")
    b = dict(variants["v02"]["answers"])
    b["dL/dŷ"] = -b["dL/dŷ"]  # a sign slip: everything after it is carried forward
    body = ["\\documentclass{article}\\begin{document}", "variant: v02", ""]
    body += [f"\\[ {LATEX_NAMES[q]} = {_sig(v)} \\]" for q, v in b.items()]
    (subs / "bob.tex").write_text("\n".join(body + ["\\end{document}"]), encoding="utf-8")
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    grades = {
        r["student"]: r
        for r in csv.DictReader(io.StringIO((report / "grades.csv").read_text(encoding="utf-8")))
    }
    assert set(grades) == {"Ada Lovelace", "bob"}
    assert grades["Ada Lovelace"]["score"] == str(len(a))
    assert float(grades["bob"]["score"]) < len(b)
    feedback = "\n".join(p.read_text(encoding="utf-8") for p in report.rglob("*bob*.md"))
    assert "first slip" in feedback.lower()


def test_intermediates_named_by_their_formula() -> None:
    exercise = (
        "$\\mathbf{x} = \\begin{bmatrix} 1 \\\\ 1 \\end{bmatrix}$, "
        "$\\mathbf{w} = \\begin{bmatrix} \\frac{4}{5} \\\\ \\frac{7}{5} \\end{bmatrix}$, "
        "$b_0 = \\frac{3}{5}$, $y = 1$\n\n"
        "$$z = w_1 x_1 + w_2 x_2 + b_0, \\quad \\hat{y} = \\sigma(z),"
        " \\quad L = (\\hat{y} - y)^2$$\n"
    )
    graph, _ = parse_document(exercise)
    yhat = sigmoid(14 / 5)
    solution = (
        "$$w_1 x_1 = \\frac{4}{5} \\cdot 1 = 0,8$$\n\n"
        "$$w_2 x_2 = 1,8$$\n\n"
        f"$$\\hat{{y}} - y = {comma(yhat - 1, 4)}$$\n"
    )
    result = check_solution(graph, solution)
    got = [(j.verdict.claim.name, j.verdict.verdict) for j in result.judged]
    assert got == [("w[0] * x[0]", RIGHT), ("w[1] * x[1]", WRONG), ("ŷ - y", RIGHT)]
    assert float(result.judged[1].verdict.true) == pytest.approx(7 / 5)


def test_a_claim_the_judge_refuses_is_not_checked_the_others_are() -> None:
    graph, _ = parse_document(seed_text())
    text = "$$\\mathbf{x} = 1$$\n\n$$z = \\frac{14}{5}$$\n\n"
    text += "$$\\mathbf{w} = \\begin{pmatrix} 1 \\\\ 2 \\\\ 3 \\end{pmatrix}$$\n"
    result = check_solution(graph, text)
    assert [(j.verdict.claim.name, j.verdict.verdict) for j in result.judged] == [("z", RIGHT)]
    assert [p.line for p in result.skipped] == [1, 5]
    assert "elements" in result.skipped[0].message
    assert "3 numbers given, the quantity has 2" in result.skipped[1].message
