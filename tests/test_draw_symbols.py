"""Symbols and constants in drawings as a reader expects them: the TikZ export writes ⊙, ⊗ and ↦
as LaTeX symbols (not code points) on one page cut to size, and an exact drawing keeps a
fraction the program wrote (1/5, not 0.2)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chainrule.cli import main

MLP = (
    "x = [0.5, -1, 2]\nW1 = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]\nb1 = [0.1, -0.1]\n"
    "h = relu(W1 @ x + b1)\nW2 = [[1, -1], [0.5, 0.5], [-1, 2]]\nb2 = [0, 0.1, -0.1]\n"
    "z = W2 @ h + b2\np = softmax(z)\nL = -log(p[1])\n"
)


@pytest.mark.parametrize(
    ("view", "symbols"), [("gradients", [r"\odot"]), ("backward", [r"\otimes", r"\mapsto"])]
)
def test_tikz_writes_chainrules_symbols_as_latex_on_one_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], view: str, symbols: list[str]
) -> None:
    (tmp_path / "mlp.cr").write_text(MLP, encoding="utf-8")
    tex = tmp_path / f"{view}.tex"
    assert main(["draw", str(tmp_path / "mlp.cr"), "--view", view, "-o", str(tex)]) == 0
    capsys.readouterr()
    text = tex.read_text(encoding="utf-8")
    assert "U+" not in text
    for symbol in symbols:
        assert symbol in text, symbol
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (the .tex text is checked above)")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    assert re.search(r"Output written on \S+ \(1 page,", run.stdout), run.stdout[-500:]


def test_an_exact_drawing_keeps_the_programs_fraction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f.cr").write_text("a = 1/3\nd = a^2 - 1/5\n", encoding="utf-8")
    out = tmp_path / "f.txt"
    assert main(["draw", str(tmp_path / "f.cr"), "--exact", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[-1].endswith("1/5") and "0.2" not in lines[-1]
    assert main(["draw", str(tmp_path / "f.cr"), "-o", str(out)]) == 0  # floats: a decimal
    assert out.read_text(encoding="utf-8").splitlines()[-1].endswith("0.2")
    capsys.readouterr()
