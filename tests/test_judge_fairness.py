"""Fair verdicts on worked solutions: a note about a slip made inside a table goes after the
table (LaTeX and Markdown alike), "carried rounding" needs earlier numbers that were rounded,
and a solution with many wrong numbers is traced in bounded work. True values are computed
here with math; the slips are put in by hand."""

from __future__ import annotations

import importlib
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from test_latex_as_written import NEURON_TEX

from chainrule.cli import main

EXERCISE_TEX = NEURON_TEX  # x₁ = 2, x₂ = −1, w₁ = 0.5, w₂ = −0.3, b = 0.1, y = 1


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


Z = 0.5 * 2 + (-0.3) * (-1) + 0.1  # 1.4
YHAT = sigmoid(Z)
LOSS = 0.5 * (YHAT - 1) ** 2
SLIP = 0.832  # ŷ written wrong (true 0.802…)


def _check(tmp_path: Path, exercise: str, solution: str, name: str, out: str) -> tuple[int, str]:
    ex = tmp_path / ("ex.tex" if exercise.lstrip().startswith("\\") else "ex.md")
    ex.write_text(exercise, encoding="utf-8")
    sol = tmp_path / name
    sol.write_text(solution, encoding="utf-8")
    status = main(["check", str(ex), "--solution", str(sol), "-o", str(tmp_path / out)])
    return status, (tmp_path / out).read_text(encoding="utf-8")


# ------------------------------------------------------------------ notes after a table


def test_a_slip_inside_a_latex_table_is_noted_after_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert abs(round(YHAT, 3) - SLIP) > 0.01  # a slip, not a rounding
    solution = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        "\\begin{tabular}{ll}\n"
        f"forward & $z = {Z:.1f}$ \\\\\n"
        f"        & $\\hat y = {SLIP}$ \\\\\n"
        f"        & $L = {0.5 * (SLIP - 1) ** 2:.4f}$ \\\\\n"
        "\\end{tabular}\n\\end{document}\n"
    )
    status, marked = _check(tmp_path, EXERCISE_TEX, solution, "sol.tex", "marked.tex")
    capsys.readouterr()
    assert status == 1
    table = marked[marked.index("\\begin{tabular}") : marked.index("\\end{tabular}")]
    after = marked[marked.index("\\end{tabular}") :]
    # inside the table only the marks; the note and the working after it
    assert "\\marginpar" not in table and "\\noindent" not in table and "\\[" not in table
    assert "\n\n" not in table
    assert table.count("\\checkmark") == 1 and table.count("\\boldsymbol{\\times}") == 2
    assert after.count("\\marginpar{") == 1
    assert f"{YHAT:.5f}" in after  # the correct value, 0.80218
    _compiles(tmp_path / "marked.tex")


def test_a_slip_in_a_nested_table_inside_a_float_goes_after_the_float(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    solution = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        "\\begin{table}[h]\n\\centering\n\\begin{tabular}{l}\n"
        f"$z = {Z:.1f}$ \\\\\n$\\hat y = {SLIP}$ \\\\\n"
        "\\end{tabular}\n\\caption{Forward}\n\\end{table}\n"
        f"Then $L = {LOSS:.4f}$.\n\\end{{document}}\n"
    )
    status, marked = _check(tmp_path, EXERCISE_TEX, solution, "sol.tex", "marked.tex")
    capsys.readouterr()
    assert status == 1
    assert marked.index("\\marginpar{") > marked.index("\\end{table}")
    assert marked.index("\\marginpar{") < marked.index("Then $L")
    _compiles(tmp_path / "marked.tex")


def test_a_slip_inside_a_markdown_table_keeps_the_table_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    solution = (
        "| step | value |\n|------|-------|\n"
        f"| forward | $z = {Z:.1f}$ |\n"
        f"| output | $\\hat y = {SLIP}$ |\n"
        f"| loss | $L = {0.5 * (SLIP - 1) ** 2:.4f}$ |\n"
        "\nDone.\n"
    )
    status, marked = _check(tmp_path, EXERCISE_TEX, solution, "sol.md", "marked.md")
    capsys.readouterr()
    assert status == 1
    lines = marked.splitlines()
    rows = [k for k, line in enumerate(lines) if line.startswith("|")]
    assert len(rows) == 5 and rows == list(range(rows[0], rows[0] + 5))  # one table still
    quote = [k for k, line in enumerate(lines) if line.startswith("> ✗")]
    assert len(quote) == 1 and quote[0] > rows[-1]
    assert quote[0] < lines.index("Done.")
    assert "✗" in lines[rows[3]] and "✓" in lines[rows[2]]  # the marks stay in their cells
    assert f"{YHAT:.5f}" in lines[quote[0]]


# ------------------------------------------------------------------ carried rounding

EXERCISE_MD = r"""# Logistic regression

Given $\mathbf{x} = \begin{pmatrix} 2 \\ -1 \end{pmatrix}$,
$\mathbf{w} = \begin{pmatrix} 0.5 \\ -0.3 \end{pmatrix}$, $b = 0.1$ and label $y = 1$:

$$
z = \mathbf{w}^\top \mathbf{x} + b, \qquad \hat y = \sigma(z),
$$

\[
L = -\left[ y \log \hat y + (1 - y) \log(1 - \hat y) \right]
\]
"""


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, dict]:
    capsys.readouterr()
    status = main([*args, "--json"])
    return status, json.loads(capsys.readouterr().out)


def _text(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    capsys.readouterr()
    main(args)
    return capsys.readouterr().out


def test_a_number_written_exactly_right_carries_no_rounding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # cross-entropy after a sigmoid: dL/db = ŷ − y = σ(1.4) − 1 = −0.19782…
    true = sigmoid(Z) - 1
    claimed = -0.189
    assert Z == pytest.approx(1.4, abs=1e-12)  # z = 1.4 is the true value, not a rounding
    assert abs(claimed - true) > 0.005  # far from the truth at its digits
    # what z = 1.4 ± 0.05 would allow (σ' ≈ 0.159): the old excuse, not a rounding
    assert abs((sigmoid(Z + 0.05) - 1) - claimed) < abs(true - claimed)
    ex = tmp_path / "ex.md"
    ex.write_text(EXERCISE_MD, encoding="utf-8")
    sol = tmp_path / "sol.md"
    sol.write_text(f"$z = 1.4$\n\n$\\frac{{\\partial L}}{{\\partial b}} = {claimed}$\n", "utf-8")
    runs = [
        ["check", str(ex), "--solution", str(sol)],
        ["check", str(ex), "--claim", "z=1.4", "--claim", f"dL/db={claimed}"],
    ]
    for args in runs:
        status, data = _json(capsys, args)
        assert status == 1
        (wrong,) = [c for c in data["claims"] if c["verdict"] == "wrong"]
        assert wrong["origin"] == "first slip"
        assert wrong["recomputed"] == pytest.approx(true, rel=1e-9)
        text = _text(capsys, args)
        assert "as you wrote" not in text and "carries the rounding" not in text
        assert "the slip began here" in text


def test_as_you_wrote_only_when_the_recomputation_rounds_to_the_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # L = ½(ŷ − 1)²: from ŷ = 0.80 (0.802… rounded) the learner's L is ½·0.2² = 0.02, and
    # ŷ ∈ [0.795, 0.805] leaves L ∈ [½·0.195², ½·0.205²] open
    own = 0.5 * (0.80 - 1) ** 2
    low, high = 0.5 * (1 - 0.805) ** 2, 0.5 * (1 - 0.795) ** 2
    assert abs(LOSS - 0.0200) > 0.00015 and abs(LOSS - 0.0207) > 0.00015  # both wrong
    ex = tmp_path / "ex.tex"
    ex.write_text(EXERCISE_TEX, encoding="utf-8")
    for claimed, exact in ((0.0207, False), (0.0200, True)):
        assert low <= claimed <= high  # within the rounding ŷ = 0.80 leaves open
        assert (round(own, 4) == claimed) is exact
        args = ["check", str(ex), "--claim", "ŷ=0.80", "--claim", f"L={claimed:.4f}"]
        status, data = _json(capsys, args)
        assert status == 1 and data["claims"][1]["origin"] == "carried rounding"
        assert data["claims"][1]["recomputed"] == pytest.approx(own)
        text = _text(capsys, args)
        assert "carries the rounding" in text
        assert ("as you wrote" in text) is exact


# ------------------------------------------------------------------ bounded work

REPEATED = f"$\\hat y = {SLIP}$ then $L = {0.5 * (SLIP - 1) ** 2:.3f}$.\n"


def _recomputations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], n: int
) -> tuple[int, dict]:
    judge_module = importlib.import_module("chainrule.check.judge")
    calls = [0]
    real = judge_module.recompute

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(judge_module, "recompute", counted)
    ex = tmp_path / "ex.tex"
    ex.write_text(EXERCISE_TEX, encoding="utf-8")
    sol = tmp_path / f"rep{n}.md"
    sol.write_text(REPEATED * n, encoding="utf-8")
    status, data = _json(capsys, ["check", str(ex), "--solution", str(sol)])
    assert status == 1
    return calls[0], data


def test_repeated_wrong_numbers_are_traced_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # ŷ = 0.832 is a slip (σ(1.4) = 0.802…); L = ½(0.832 − 1)² = 0.0141 follows from it
    own = 0.5 * (SLIP - 1) ** 2
    assert abs(own - LOSS) > 0.001
    few, small = _recomputations(tmp_path, monkeypatch, capsys, 3)
    many, large = _recomputations(tmp_path, monkeypatch, capsys, 30)
    assert many <= few  # ten times the lines, no more recomputation
    for data, n in ((small, 3), (large, 30)):
        claims = data["claims"]
        assert len(claims) == 2 * n
        assert [c["origin"] for c in claims] == ["first slip", "follows"] * n
        assert all(c["recomputed"] == pytest.approx(own) for c in claims[1::2])
        assert all(c["recomputed"] == pytest.approx(YHAT) for c in claims[0::2])


def test_a_solution_with_more_numbers_than_a_claims_file_may_hold_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chainrule.check.claims import MAX_CLAIMS

    ex = tmp_path / "ex.tex"
    ex.write_text(EXERCISE_TEX, encoding="utf-8")
    sol = tmp_path / "long.md"
    count = MAX_CLAIMS + 1
    sol.write_text(f"$z = {Z:.1f}$\n" * count, encoding="utf-8")  # every one right
    capsys.readouterr()
    assert main(["check", str(ex), "--solution", str(sol)]) == 2
    err = capsys.readouterr().err
    assert str(count) in err and str(MAX_CLAIMS) in err


def test_a_carried_number_equal_to_a_given_still_follows() -> None:
    """The reference neuron (x = [1, 1], b₀ = 3/5): dL/dz written 0.6 (a slip) makes dL/dw1 =
    x1 · dL/dz and dL/db₀ = dL/dz equal to 0.6 too, which b₀ = 3/5 happens to equal. Those are
    the learner's own number carried on, not a given copied: they follow from dL/dz."""
    from chainrule.check import check
    from chainrule.lang.language import parse

    exercise = Path(__file__).resolve().parents[1] / "src" / "chainrule" / "data" / "exercise.cr"
    graph = parse(exercise.read_text(encoding="utf-8"))
    z = 4 / 5 + 7 / 5 + 3 / 5
    yhat = 1 / (1 + math.exp(-z))
    right = [f"z = {z:.3g}", f"ŷ = {yhat:.3g}", f"∂ŷ/∂z = {yhat * (1 - yhat):.3g}"]
    verdicts = check(graph, [*right, "dL/dz = 0.6", "dL/dw1 = 0.6", "dL/db₀ = 0.6"])
    origin = {v.claim.name: (v.verdict, v.origin, [w.claim.name for w in v.follows])
              for v in verdicts}  # fmt: skip
    assert origin["dL/dz"][:2] == ("wrong", "first slip")
    assert origin["dL/dw1"] == ("wrong", "follows", ["dL/dz"])
    assert origin["dL/db₀"] == ("wrong", "follows", ["dL/dz"])


def _compiles(tex: Path) -> None:
    """pdflatex compiles the marked copy (skipped without pdflatex: the text was checked)."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (the text is checked above)")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tex.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
