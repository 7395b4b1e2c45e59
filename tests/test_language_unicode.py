"""The language reads the notation chainrule itself prints (· × − ÷, superscript powers), files
from Windows editors (a byte-order mark, CRLF line ends), and still points errors at the right
character of the text as the user wrote it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core.errors import ChainruleError, ProgramSyntaxError

X = 3.0


def value_of(text: str, **kwargs: object) -> float:
    return float(cr.parse(text, **kwargs).output.value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("y = 2 · x", 2 * X),
        ("y = 2 ⋅ x", 2 * X),
        ("y = 2 × x", 2 * X),
        ("y = x ∗ x", X * X),
        ("y = x − 1", X - 1),
        ("y = −x", -X),
        ("y = x ÷ 4", X / 4),
        ("y = x²", X**2),
        ("y = x³ − x", X**3 - X),
        ("y = x¹⁰", X**10),
        ("y = x⁻¹", 1 / X),
        ("y = x⁻²", X**-2),
        ("y = (x + 1)²", (X + 1) ** 2),
        ("y = −x²", -(X**2)),  # as in maths: the power binds tighter than the minus
        ("y = 2²·x", 4 * X),
        ("y = σ(x)²", (1 / (1 + math.exp(-X))) ** 2),
        ("y = x²·x³", X**5),
        ("y = exp(−x) × 1e−2", math.exp(-X) * 1e-2),
    ],
)
def test_printed_operators_and_superscripts_are_read(text: str, expected: float) -> None:
    assert value_of(f"x = 3\n{text}\n") == pytest.approx(expected, rel=1e-12)


def test_superscripts_after_unicode_names() -> None:
    g = cr.parse("b₀ = 3\nŷ = b₀² + b₀\n")
    assert g.output.value == pytest.approx(12.0)
    g.backward()
    assert g["b₀"].grad == pytest.approx(2 * 3 + 1)


def test_squared_gives_the_same_gradient_as_the_power_it_stands_for() -> None:
    a = cr.parse("x = 3\ny = (x − 1)² ÷ 2\n")
    b = cr.parse("x = 3\ny = (x - 1)**2 / 2\n")
    a.backward()
    b.backward()
    assert a["x"].grad == b["x"].grad == pytest.approx(2.0)  # d/dx (x-1)²/2 = x - 1


def test_a_byte_order_mark_and_crlf_line_ends_are_ignored() -> None:
    text = "\ufeffx = 3\r\ny = x × 2\r\n"
    g = cr.parse(text)
    assert g.output.value == pytest.approx(6.0)
    assert g["x"].value == pytest.approx(3.0)


def test_errors_point_at_the_original_character_after_crlf_and_bom() -> None:
    text = "\ufeffx = 3\r\ny = x² × @\r\n"
    with pytest.raises(ProgramSyntaxError) as info:
        cr.parse(text)
    err = info.value
    second = "y = x² × @"
    assert err.line == 2
    assert err.column == second.index("@") + 1
    assert err.source == second


def test_error_on_the_first_line_of_a_file_with_a_bom_counts_visible_characters() -> None:
    with pytest.raises(ChainruleError) as info:
        cr.parse("\ufeffy = q · 2\n")
    assert info.value.line == 1
    assert info.value.column == "y = q · 2".index("q") + 1


def test_error_columns_after_superscripts_and_typographic_operators() -> None:
    line = "y = x² − z³ ÷ q"
    with pytest.raises(ChainruleError) as info:
        cr.parse(f"x = 1\nz = 2\n{line}\n")
    assert (info.value.line, info.value.column) == (3, line.index("q") + 1)


def test_a_lone_superscript_minus_is_a_syntax_error_where_it_stands() -> None:
    line = "y = x⁻"
    with pytest.raises(ProgramSyntaxError) as info:
        cr.parse(f"x = 1\n{line}\n")
    assert info.value.line == 2
    assert info.value.column == line.index("⁻") + 1


def test_the_table_chainrule_prints_reads_back_as_a_program() -> None:
    """Every row of the reference exercise's table, typed back in as ``node = operation`` (inputs
    with the value shown), gives the same numbers: the language reads the table's notation."""
    from chainrule.cli.common import exercise_text

    g = cr.parse(exercise_text(), exact=True)
    lines = []
    for row, node in zip(g.table(), g.nodes, strict=True):
        if node.op.name == "input":
            lines.append(f"{row['node']} = {row['value']}")
        elif node.name:
            lines.append(f"{row['node']} = {row['operation']}")
    assert any("−" in line for line in lines) and any("²" in line for line in lines)
    again = cr.parse("\n".join(lines), exact=True)
    for node in g.nodes:
        if node.name:
            assert np.array_equal(again[node.name].value, node.value)


def test_the_cli_reads_a_program_with_a_bom_and_crlf(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    prog = tmp_path / "windows.cr"
    prog.write_bytes("\ufeffx = 3\r\ny = x² · 2\r\n".encode())
    assert main(["eval", str(prog), "--json"]) == 0
    out = capsys.readouterr().out
    import json

    data = json.loads(out)
    assert data["values"]["y"] == pytest.approx(18.0)
    assert data["gradients"]["x"] == pytest.approx(12.0)
