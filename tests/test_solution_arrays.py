"""Matrices in worked solutions, both ways: chainrule writes a matrix as a matrix (bmatrix)
and an element's gradient as W_{1,2}; ``check --solution`` reads what a learner writes the same
way (a bmatrix, a bracketed list as chainrule writes it, W_{1,2}, 1.5 × 10^{-3}), and reads
chainrule's own worked solutions back. True values are computed here with numpy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from chainrule.check.solution import solution_answers
from chainrule.cli import main
from chainrule.lang.latex.parse import Unreadable
from chainrule.lang.latex.reader import parse_document

W = np.array([[1.0, 2.0], [3.0, 4.0]])
X = np.array([1.0, -1.0])
PROGRAM = "W = [[1, 2], [3, 4]]\nx = [1, -1]\nh = W @ x\nL = sum(h * h)\n"


def true_values() -> dict[str, np.ndarray]:
    """L = Σ h², h = W x: dL/dh = 2h, dL/dW = 2h xᵀ, dL/dx = Wᵀ 2h."""
    h = W @ X
    return {"h": h, "L": np.sum(h * h), "dh": 2 * h, "dW": np.outer(2 * h, X), "dx": W.T @ (2 * h)}


def bmatrix(m: np.ndarray) -> str:
    rows = [" & ".join(f"{v:g}" for v in row) for row in m]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], solution: str,
               program: str = PROGRAM) -> tuple[int, dict]:  # fmt: skip
    (tmp_path / "p.cr").write_text(program, encoding="utf-8")
    (tmp_path / "s.md").write_text(solution, encoding="utf-8")
    status = main(["check", str(tmp_path / "p.cr"), "--solution", str(tmp_path / "s.md"), "--json"])
    return status, json.loads(capsys.readouterr().out)


def verdicts(out: dict) -> dict[str, str]:
    return {c["claim"]: c["verdict"] for c in out["claims"]}


# ------------------------------------------------------------------ written by chainrule


def test_a_matrix_is_written_as_a_matrix_and_its_elements_with_subscripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.cr").write_text(PROGRAM, encoding="utf-8")
    assert main(["explain", str(tmp_path / "p.cr")]) == 0
    md = capsys.readouterr().out
    t = true_values()
    assert bmatrix(W) in md  # the given matrix
    assert bmatrix(t["dW"]) in md  # its gradient, computed here
    assert r"\left[1, -1\right]" in md  # a vector stays a row in brackets
    assert r"\left[\left[" not in md
    for (i, j), v in np.ndenumerate(t["dW"]):
        assert rf"\frac{{\mathrm{{d}} L}}{{\mathrm{{d}} W_{{{i + 1},{j + 1}}}}}$ | ${v:g}$" in md


def test_a_matrix_too_wide_for_amsmath_stays_in_brackets_and_both_compile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = "A = [[" + ", ".join(str(k) for k in range(1, 13)) + "]]\nL = sum(A * A)\n"
    narrow = PROGRAM
    for name, program in (("wide", wide), ("narrow", narrow)):
        (tmp_path / f"{name}.cr").write_text(program, encoding="utf-8")
        tex = tmp_path / f"{name}.tex"
        assert main(["explain", str(tmp_path / f"{name}.cr"), "-o", str(tex)]) == 0
        text = tex.read_text(encoding="utf-8")
        if name == "wide":  # 12 columns: amsmath's matrices take 10
            assert r"\begin{bmatrix}" not in text and r"\left[\left[1, 2, 3" in text
        else:
            assert r"\begin{bmatrix}" in text
    capsys.readouterr()
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (the texts are checked above)")
    for name in ("wide", "narrow"):
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-2000:]


# ------------------------------------------------------------------ read from a learner


def test_a_learners_matrix_gradient_is_judged_element_by_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = true_values()
    slipped = t["dW"].copy()
    slipped[1, 0] += 1
    solution = (
        f"$$\\frac{{dL}}{{dW}} = {bmatrix(t['dW'])}$$\n\n"
        f"$$\\frac{{\\partial L}}{{\\partial W}} = {bmatrix(slipped)}$$\n"
    )
    status, out = check_json(tmp_path, capsys, solution)
    assert status == 1
    got = [c["verdict"] for c in out["claims"]]
    assert got == ["right", "wrong"]
    assert out["claims"][0]["true"] == t["dW"].reshape(-1).tolist()


def test_a_bracketed_list_as_chainrule_writes_it_is_a_vector_or_a_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = true_values()
    dx = ", ".join(f"{v:g}" for v in t["dx"])
    dw = ", ".join("[" + ", ".join(f"{v:g}" for v in row) + "]" for row in t["dW"])
    solution = (
        f"$$\\frac{{dL}}{{dx}} = \\left[{dx}\\right]$$\n\n"
        f"$$\\frac{{dL}}{{dW}} = [{dw}]$$\n\n"
        "$$h = [-1, -2]$$\n"  # wrong: h = [-1, -1]
    )
    status, out = check_json(tmp_path, capsys, solution)
    assert status == 1
    assert [c["verdict"] for c in out["claims"]] == ["right", "right", "wrong"]
    assert out["claims"][2]["true"] == t["h"].tolist()


def test_scientific_notation_is_read_and_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = "x = 0.001\ny = 3 * x\n"
    solution = (
        "$$y = 3 \\times 10^{-3}$$\n\n"
        "$$y = 3{,}0 \\cdot 10^{-3}$$\n\n"
        "$$y = 4 \\times 10^{-3}$$\n\n"
        "$$x = 10^{-3}$$\n"
    )
    status, out = check_json(tmp_path, capsys, solution, program)
    assert status == 1
    assert [c["verdict"] for c in out["claims"]] == ["right", "right", "wrong", "right"]
    assert out["not_checked"] == []


def test_an_element_written_with_a_subscript_is_that_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = true_values()
    solution = (
        f"$$\\frac{{\\partial L}}{{\\partial W_{{1,2}}}} = {t['dW'][0, 1]:g}$$\n\n"
        f"$$\\frac{{\\partial L}}{{\\partial W_{{21}}}} = {t['dW'][1, 0]:g}$$\n\n"
        f"$$\\frac{{\\partial L}}{{\\partial W_{{2,1}}}} = {t['dW'][0, 1]:g}$$\n\n"  # the wrong one
        "$$\\frac{\\partial L}{\\partial W_{3,1}} = 1$$\n"  # W has two rows
    )
    status, out = check_json(tmp_path, capsys, solution)
    assert status == 1
    assert [(c["quantity"], c["verdict"]) for c in out["claims"]] == [
        ("dL/dW₁,₂", "right"),
        ("dL/dW₂,₁", "right"),
        ("dL/dW₂,₁", "wrong"),
    ]
    assert len(out["not_checked"]) == 1 and out["not_checked"][0].startswith("line 7")


def test_an_array_for_no_quantity_is_reported_not_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = check_json(tmp_path, capsys, "$$q = [1, 2]$$\n\n$$h = [-1, -1]$$\n")
    assert [c["verdict"] for c in out["claims"]] == ["right"]
    assert [n.split(":")[0] for n in out["not_checked"]] == ["line 1"]
    assert "names no quantity" in out["not_checked"][0]


def test_grade_reads_a_matrix_answer_and_an_element_subscript() -> None:
    text = (
        "student: Ada\n\n"
        "$$\\frac{dL}{dW} = \\begin{bmatrix}-2 & 2 \\\\ -2 & 2\\end{bmatrix}$$\n\n"
        "$$\\frac{\\partial L}{\\partial W_{1,2}} = 2$$\n"
    )
    answers, header = solution_answers(text)
    assert header == {"student": "Ada"}
    assert [(name, number) for _, name, number in answers] == [
        ("∂L/∂W", "[[-2; 2]; [-2; 2]]"),
        ("∂L/∂W1,2", "2"),
    ]


# ------------------------------------------------------------------ the reader itself


def test_brackets_with_commas_are_lists_and_without_are_brackets() -> None:
    graph, _ = parse_document(
        "$$x = \\left[1, -1\\right]$$\n\n$$W = [[1, 2], [3, 4]]$$\n\n"
        "$$c = [x_1 + 2] \\cdot 3$$\n\n$$L = W_{2,1} + x_2 + c$$\n"
    )
    labels = graph.labels()
    assert labels["x"].value.tolist() == X.tolist()
    assert labels["W"].value.tolist() == W.tolist()
    assert float(labels["c"].value) == (1 + 2) * 3
    assert float(labels["L"].value) == W[1, 0] + X[1] + 9


def test_a_list_of_rows_of_different_lengths_is_an_error() -> None:
    from chainrule.lang.latex.parse import chain, pieces, tokens

    for text in ("W = [[1, 2], [3]]", "W = [1, [2, 3]]"):
        with pytest.raises(Unreadable):
            for piece in pieces(tokens(text)):
                chain(piece)


# ------------------------------------------------------------------ readings of a partial


def test_one_edges_partial_and_the_local_partial_are_right_readings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """y = x·x, L = y + x at x = 3: ∂y/∂x is 2x = 6 summed over y's two edges from x, x = 3
    along one of them (chainrule's worked solutions write each edge); ∂L/∂x is 1 as the
    local partial of L = y + x and dL/dx = 2x + 1 = 7 as the total."""
    program = "x = 3\ny = x * x\nL = y + x\n"
    x = 3.0
    totals = "$$\\frac{dL}{dx} = %g$$\n\n" % (2 * x + 1)
    solution = totals + "".join(
        f"$$\\frac{{\\partial {top}}}{{\\partial x}} = {v:g}$$\n\n"
        for top, v in (("y", x), ("y", 2 * x), ("y", x + 1), ("L", 1.0), ("L", 2 * x + 1))
    )
    status, out = check_json(tmp_path, capsys, solution, program)
    got = [(c["quantity"], c["claimed"], c["verdict"], c["reading"]) for c in out["claims"]]
    assert got == [
        ("dL/dx", "7", "right", None),
        ("∂y/∂x", "3", "right", "one edge"),
        ("∂y/∂x", "6", "right", None),
        ("∂y/∂x", "4", "wrong", None),
        ("∂L/∂x", "1", "right", "local partial"),
        ("dL/dx", "7", "right", None),
    ]
    assert status == 1
    # without a total written with d, ∂L/∂x is the gradient: 1 is wrong there
    status, out = check_json(
        tmp_path, capsys, "$$\\frac{\\partial L}{\\partial x} = 1$$\n", program
    )
    assert [(c["verdict"], c["true"]) for c in out["claims"]] == [("wrong", 2 * x + 1)]


def test_one_edges_partial_says_so_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.cr").write_text("x = 3\ny = x * x\nL = y + x\n", encoding="utf-8")
    assert main(["check", str(tmp_path / "p.cr"), "--claim", "∂y/∂x=3"]) == 0
    assert "along one edge" in capsys.readouterr().out


# ------------------------------------------------------------------ chainrule's own, read back


@pytest.mark.parametrize(
    "program",
    [
        PROGRAM,
        "W = [[1, 2], [3, 4]]\nV = [[0.5, 1e-7], [3, 4]]\nx = [1, -1]\nh = W @ x + V @ x\n"
        "L = sum(h * h)\n",
        "z = [1, 2, 3]\np = softmax(z)\nL = -log(p[0])\n",
        "x = 3\ny = x * x\nL = y + x\n",
        "a = 2\nb = -3\nc = a * b + a\nd = exp(c) / (1 + exp(c))\nL = d * d + b\n",
    ],
)
def test_chainrules_worked_solution_reads_back_with_no_wrong_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program: str
) -> None:
    (tmp_path / "p.cr").write_text(program, encoding="utf-8")
    assert main(["explain", str(tmp_path / "p.cr"), "-o", str(tmp_path / "s.md")]) == 0
    capsys.readouterr()
    status = main(["check", str(tmp_path / "p.cr"), "--solution", str(tmp_path / "s.md"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["wrong"] == 0 and status == 0, [c for c in out["claims"] if c["verdict"] == "wrong"]
    assert out["right"] >= program.count("\n")  # at least a number for each statement
    # a step written as a rule (scatter(…, shape=(3,))) may stay unread, never its numbers
    unread = [
        n for n in out["not_checked"]
        if "names no quantity" not in n and "the numbers beside it are" not in n
    ]  # fmt: skip
    assert unread == []
