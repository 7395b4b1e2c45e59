"""``--at`` reads numbers as programs and claims do (0,5 and the typographic minus), refuses in
float arithmetic a number that would silently become 0 or inf, and a table cell never holds an
exact fraction of hundreds of digits."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest

from chainrule.cli import main

EXERCISE = Path(__file__).resolve().parents[1] / "src" / "chainrule" / "data" / "exercise.cr"


def loss(b0: float) -> float:
    z = 4 / 5 + 7 / 5 + b0
    return (1 / (1 + math.exp(-z)) - 1) ** 2


@pytest.mark.parametrize(("written", "b0"), [("0,5", 0.5), ("−1", -1.0), ("−0,25", -0.25)])
def test_at_reads_numbers_as_programs_write_them(
    capsys: pytest.CaptureFixture[str], written: str, b0: float
) -> None:
    assert main(["eval", str(EXERCISE), "--at", f"b₀={written}", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["b₀"] == b0
    assert out["values"]["L"] == pytest.approx(loss(b0), rel=1e-12)


@pytest.mark.parametrize(
    ("written", "becomes"), [("1e-400", "0"), ("1e400", "inf"), ("[1e-400, 1]", "0")]
)
def test_a_number_no_float_holds_is_refused_in_float_arithmetic(
    capsys: pytest.CaptureFixture[str], written: str, becomes: str
) -> None:
    name = "x" if written.startswith("[") else "b₀"
    assert main(["eval", str(EXERCISE), "--at", f"{name}={written}"]) == 2
    err = capsys.readouterr().err
    assert f"--at {name}={written}" in err and f"would become {becomes}" in err
    assert "--exact" in err


def test_exact_arithmetic_keeps_it_and_the_table_stays_readable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["eval", str(EXERCISE), "--exact", "--at", "b₀=1e-400"]) == 0
    table = capsys.readouterr().out
    assert max(len(line) for line in table.splitlines()) < 160
    assert "≈ 1e-400 (exact: 403 characters, in the JSON output)" in table
    assert main(["eval", str(EXERCISE), "--exact", "--at", "b₀=1e-400", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert Fraction(out["exact"]["b₀"]) == Fraction(1, 10**400)
    assert Fraction(out["exact"]["z"]) == Fraction(11, 5) + Fraction(1, 10**400)


@pytest.mark.parametrize(
    ("program", "said"),
    [
        ("x = 1e-320\ny = 1/x\n", "underflows to 0"),  # −1/x²: x² is 0 in floats, x is not
        ("x = 2\ny = x**1e308\n", "overflows"),
    ],
)
def test_a_partial_beyond_the_float_range_is_not_called_undefined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program: str, said: str
) -> None:
    (tmp_path / "p.cr").write_text(program, encoding="utf-8")
    assert main(["eval", str(tmp_path / "p.cr")]) == 2
    err = capsys.readouterr().err
    assert said in err and "undefined" not in err and "line 2" in err


def test_at_sets_the_input_of_a_name_the_program_assigns_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """x = 2; x = 3x; x = x + 1; y = x²: --at x=5 is the input (the first x): y = 16², dy/dx =
    2·16·3. It was refused as computed, the name being looked up as its last assignment."""
    (tmp_path / "p.cr").write_text("x = 2\nx = x * 3\nx = x + 1\ny = x^2\n", encoding="utf-8")
    assert main(["eval", str(tmp_path / "p.cr"), "--at", "x=5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"] == {"x": 5.0, "x′": 15.0, "x″": 16.0, "y": 256.0}
    assert out["gradients"]["x"] == 2 * 16 * 3
    from chainrule.core.graph import Graph
    from chainrule.lang.language import parse

    graph = parse("x = 2\nx = x * 3\nx = x + 1\ny = x^2\n")
    assert isinstance(graph, Graph)
    graph.forward(at={"x": 5})
    assert float(graph.output.value) == 256.0
