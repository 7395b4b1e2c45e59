"""Fair verdicts on worked solutions: a note about a slip made inside a table goes after the
table (LaTeX and Markdown alike), "carried rounding" needs earlier numbers that were rounded,
and a solution with many wrong numbers is traced in bounded work. True values are computed
here with math; the slips are put in by hand."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from chainrule.cli import main

EXERCISE_TEX = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
Consider a single neuron with input $x_1 = 2$, $x_2 = -1$, weights $w_1 = 0.5$, $w_2 = -0.3$,
bias $b = 0.1$ and target $y = 1$.
\begin{align*}
z &= w_1 x_1 + w_2 x_2 + b \\
\hat y &= \sigma(z) \\
L &= \frac{1}{2}(\hat y - y)^2
\end{align*}
Compute $\frac{\partial L}{\partial b}$.
\end{document}
"""


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
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (the text is checked above)")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "marked.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]


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
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (the text is checked above)")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "marked.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]


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
