"""Outputs that never mislead: shapes, names, labels, formats.

Each test is written against a class of problem (a matrix flattened, a name hidden by an alias,
a label read as a power ...), with expected numbers computed here (fractions, numpy, PyTorch),
never copied from chainrule's output."""

from __future__ import annotations

import contextlib
import io
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main

MINUS = "\u2212"


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """The CLI in process: exit status, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    old = None
    if stdin is not None:
        import sys

        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        if old is not None:
            import sys

            sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def ok(*args: str, stdin: str | None = None) -> str:
    code, out, err = cli(*args, stdin=stdin)
    assert code == 0, err
    assert "Traceback" not in out + err
    return out


def fractions_text(a: np.ndarray | Fraction) -> str:
    """A nested list of fractions as people write it: [[1/2, 3], [5, 7/4]] (true minus)."""

    def one(x: Fraction) -> str:
        s = str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
        return s.replace("-", MINUS)

    if isinstance(a, Fraction):
        return one(a)
    return "[" + ", ".join(fractions_text(r) for r in a) + "]"


# ------------------------------------------------------------------ 1. matrices keep their shape

MATRIX = "A = [[1, 2], [3, 4]]\nv = [1/2, -3]\nL = sum(A @ v)\n"


def _matrix_truth() -> tuple[np.ndarray, np.ndarray]:
    a = np.array([[Fraction(1), Fraction(2)], [Fraction(3), Fraction(4)]], dtype=object)
    v = np.array([Fraction(1, 2), Fraction(-3)], dtype=object)
    # L = Σᵢ Σⱼ Aᵢⱼ vⱼ, so dL/dAᵢⱼ = vⱼ and dL/dvⱼ = Σᵢ Aᵢⱼ
    d_a = np.array([[v[j] for j in range(2)] for _ in range(2)], dtype=object)
    return a, d_a


def test_exact_matrix_keeps_its_shape_in_the_table_and_json(tmp_path: Path) -> None:
    prog = tmp_path / "m.cr"
    prog.write_text(MATRIX, encoding="utf-8")
    a, d_a = _matrix_truth()
    table = ok("eval", str(prog), "--exact")
    row = next(line for line in table.splitlines() if line.strip("│ ").startswith("A "))
    assert fractions_text(a) in row
    assert fractions_text(d_a) in row
    data = json.loads(ok("eval", str(prog), "--exact", "--json"))
    assert data["exact"]["A"].replace("-", MINUS) == fractions_text(a)
    assert data["exact_gradients"]["A"].replace("-", MINUS) == fractions_text(d_a)


def test_explain_exact_matrix_is_equal_not_approximately(tmp_path: Path) -> None:
    prog = tmp_path / "m.cr"
    prog.write_text(MATRIX, encoding="utf-8")
    a, _ = _matrix_truth()
    text = ok("explain", str(prog), "--exact", "--format", "txt")
    line = next(x for x in text.splitlines() if x.strip().startswith("A = "))
    assert line.strip() == f"A = {fractions_text(a)}"
    assert "≈" not in line


# ------------------------------------------------------------------ 2, 17. explain's format

SEED = Path(__file__).parent.parent / "examples" / "seed-exercise.cr"
MARKERS = {"md": "$$", "tex": "\\documentclass", "txt": "dL/dz ="}


def _format_of(text: str) -> str:
    if "\\documentclass" in text:
        return "tex"
    if "$" in text:
        return "md"
    assert MARKERS["txt"] in text
    return "txt"


@pytest.mark.parametrize(("ext", "fmt"), [(".md", "md"), (".tex", "tex"), (".txt", "txt")])
def test_explain_out_follows_the_extension(tmp_path: Path, ext: str, fmt: str) -> None:
    target = tmp_path / f"sol{ext}"
    ok("explain", str(SEED), "-o", str(target))
    assert _format_of(target.read_text(encoding="utf-8")) == fmt
    ok("explain", str(SEED), "-o", str(target), "--format", fmt)  # agreeing is fine


@pytest.mark.parametrize(("ext", "fmt"), [(".md", "tex"), (".tex", "txt"), (".txt", "md")])
def test_explain_format_contradicting_the_extension_is_an_error(
    tmp_path: Path, ext: str, fmt: str
) -> None:
    target = tmp_path / f"sol{ext}"
    code, out, err = cli("explain", str(SEED), "-o", str(target), "--format", fmt)
    assert code == 2 and "contradicts" in err and "Traceback" not in err
    assert not target.exists()


def test_explain_defaults_to_markdown_and_says_so() -> None:
    assert _format_of(ok("explain", str(SEED))) == "md"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["explain", "--help"])
    assert "md (the default" in " ".join(out.getvalue().split())
