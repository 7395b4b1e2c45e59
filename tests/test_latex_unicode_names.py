"""Names beyond ASCII in LaTeX outputs: a Greek letter before a letter (Δw), accented letters
(café), ℓ and names in other scripts. The LaTeX is valid for MathJax and pdflatex alike:
``\\Deltaw`` is an undefined command, a bare Δ or ж stops pdflatex."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.lang.typography import unicode_declarations
from chainrule.lang.writing import latex_name

PROGRAM = "Δw = 2\nλx = 3\ncafé = 1\nℓ = 2\nжук = 1\ny = Δw * Δw + λx * café + ℓ * жук\n"


@pytest.mark.parametrize(
    ("name", "latex"),
    [
        ("Δw", r"\Delta{}w"),
        ("λx", r"\lambda{}x"),
        ("αβ", r"\alpha{}\beta"),
        ("Δw₂", r"\Delta{}w_{2}"),
        ("σ", r"\sigma"),
        ("café", r"\mathit{caf}\acute{e}"),
        ("ℓ", r"\ell"),
        ("ŷ", r"\hat{y}"),
    ],
)
def test_a_name_is_valid_latex(name: str, latex: str) -> None:
    assert latex_name(name) == latex


def test_no_command_runs_into_the_letter_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.cr").write_text(PROGRAM, encoding="utf-8")
    assert main(["explain", str(tmp_path / "p.cr")]) == 0
    md = capsys.readouterr().out
    assert not re.search(r"\\(Delta|lambda)[a-z]", md)
    assert r"\Delta{}w \cdot \Delta{}w" in md


def test_the_document_declares_what_pdflatex_cannot_typeset_and_compiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.cr").write_text(PROGRAM, encoding="utf-8")
    tex = tmp_path / "p.tex"
    assert main(["explain", str(tmp_path / "p.cr"), "-o", str(tex), "--title", "Δ for жук"]) == 0
    capsys.readouterr()
    text = tex.read_text(encoding="utf-8")
    for ch in "Δж":  # in the title (text mode) and in the names' \text{…}
        assert f"\\DeclareUnicodeCharacter{{{ord(ch):04X}}}" in text
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (the document's text is checked above)")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]


def test_declarations_cover_every_character_beyond_what_pdflatex_knows() -> None:
    declared = unicode_declarations("Δ ℓ ж − ₁ é ’ ŷ")
    codes = re.findall(r"DeclareUnicodeCharacter\{([0-9A-F]+)\}", declared)
    assert codes == ["0394", "0436", "2081", "2113", "2212"]  # é, ŷ and ’ it typesets
    assert r"\ensuremath{\Delta}" in declared and r"\ensuremath{_{1}}" in declared
