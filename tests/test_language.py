"""The program language: what it accepts, what it refuses, and where it says the mistake is."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from helpers import EXERCISE_TEXT as EXERCISE

import chainrule as cr
from chainrule.core.errors import (
    DomainError,
    NameNotDefined,
    ProgramSyntaxError,
    ShapeError,
    ValueInputError,
)


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def test_exercise_values_and_gradients_match_hand_computation() -> None:
    g = cr.parse(EXERCISE)
    g.backward()
    z = 0.8 + 1.4 + 0.6
    yhat = sigmoid(z)
    dz = 2 * (yhat - 1) * yhat * (1 - yhat)
    assert g["L"].value == pytest.approx((yhat - 1) ** 2, rel=1e-12)
    assert g["z"].value == pytest.approx(z, rel=1e-12)
    assert g["b₀"].grad == pytest.approx(dz, rel=1e-12)
    np.testing.assert_allclose(g["w"].grad, [dz * 1, dz * 1], rtol=1e-12)
    np.testing.assert_allclose(g["x"].grad, [dz * 0.8, dz * 1.4], rtol=1e-12)
    assert g.output.name == "L"


def test_names_keep_their_unicode_spelling() -> None:
    g = cr.parse("x₁ = 2\nb₀ = 1\nŷ = x₁ * b₀\n")
    assert set(g.names) == {"x₁", "b₀", "ŷ"}
    assert g["ŷ"].value == 2.0


def test_subscript_and_plain_digit_names_are_distinct_names() -> None:
    g = cr.parse("x₁ = 2\nx1 = 3\ny = x₁ * x1\n")
    assert g.output.value == 6.0


def test_exact_mode_keeps_rationals() -> None:
    g = cr.parse(EXERCISE, exact=True)
    assert g["z"].value == Fraction(14, 5)
    assert g["b₀"].value == Fraction(3, 5)
    assert cr.parse("a = 0.1\nb = a * 3", exact=True).output.value == Fraction(3, 10)


def test_caret_is_power_with_power_precedence() -> None:
    g = cr.parse("a = 2\nb = 3\nc = a + b ^ 2\n")
    assert g.output.value == 2 + 3**2
    g = cr.parse("a = 2\nc = a ^ 3 ^ 2\n")
    assert g.output.value == 2 ** (3**2)


def test_semicolons_and_comments() -> None:
    g = cr.parse("a = 1; b = 2  # two inputs\n# a comment line\nc = a * b\n")
    assert g.output.value == 2.0


def test_names_may_shadow_functions_and_constants() -> None:
    g = cr.parse("x = 1\ne = exp(x)\ny = e * 2\n")
    assert g.output.value == pytest.approx(2 * math.e)
    g = cr.parse("a = 1\nb = 2\ndot = a + b\nz = dot * 3\n")
    assert g.output.value == 9.0


def test_constants_e_and_pi() -> None:
    g = cr.parse("x = 2\ny = pi * x + e\n")
    assert g.output.value == pytest.approx(2 * math.pi + math.e)


def test_output_can_be_chosen() -> None:
    g = cr.parse(EXERCISE, output="z")
    assert g.output.name == "z"


def test_at_overrides_an_assignment() -> None:
    g = cr.parse(EXERCISE, at={"y": Fraction(0)})
    z = 0.8 + 1.4 + 0.6
    assert g.output.value == pytest.approx(sigmoid(z) ** 2)


def test_at_supplies_a_free_name() -> None:
    g = cr.parse("y = x * x", at={"x": 3})
    assert g.output.value == 9.0
    assert g["x"].op.name == "input"


def test_at_for_a_computed_name_is_refused() -> None:
    with pytest.raises(ValueInputError, match="computed"):
        cr.parse(EXERCISE, at={"z": 1})


def test_at_for_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueInputError, match="no input named 'q'"):
        cr.parse(EXERCISE, at={"q": 1})


def test_dot_and_index() -> None:
    g = cr.parse("a = [1, 2, 3]\nb = [4, 5, 6]\nc = dot(a, b) + a[2]\n")
    assert g.output.value == 32 + 3


def test_matrix_literal_and_matmul() -> None:
    g = cr.parse("A = [[1, 2], [3, 4]]\nv = [1, 1]\nu = sum(A @ v)\n")
    assert g.output.value == 10.0
    g.backward()
    np.testing.assert_allclose(g["A"].grad, [[1, 1], [1, 1]])
    np.testing.assert_allclose(g["v"].grad, [4, 6])


@pytest.mark.parametrize(
    ("program", "error", "line", "column", "fragment"),
    [
        ("x = 1\ny = x ^^ 2\n", ProgramSyntaxError, 2, 8, "syntax"),
        ("x = 1\ny = log(x - 2)\n", DomainError, 2, 5, "log"),
        ("y = q + 1\n", NameNotDefined, 1, 5, "q is not defined"),
        ("x = 1\ny = x if x else 2\n", ProgramSyntaxError, 2, 5, "conditional"),
        ("import os\n", ProgramSyntaxError, 1, 1, "only assignments"),
        ("x = [1, 2]\ny = [1, 2, 3]\nz = x @ y\n", ShapeError, 3, 5, "shapes"),
        ("x = 1\ny = x / 0\n", DomainError, 2, 5, "division by zero"),
        ("x = 1\ny = x.foo\n", ProgramSyntaxError, 2, 5, ".foo"),
        ("x = 3\ny = exp(x, 2)\n", ProgramSyntaxError, 2, 5, "takes 1 argument"),
        ("x = 3\ny = frobnicate(x)\n", NameNotDefined, 2, 5, "unknown function"),
        ("b₀ = 3\ny = b₀ + zz\n", NameNotDefined, 2, 10, "zz is not defined"),
        ("x = 1\ny = __import__(x)\n", NameNotDefined, 2, 5, "unknown function"),
        ("x = 1\ny = exp('os')\n", ProgramSyntaxError, 2, 9, "strings"),
        ("x = 1\ny = x\nx + 1\n", ProgramSyntaxError, 3, 1, "assign"),
        ("x = 1\ny = 'text'\n", ProgramSyntaxError, 2, 5, "strings"),
        ("x = [1, 2]\nx[0] += 1\n", ProgramSyntaxError, 2, 1, "x += 1"),
        ("x = 1; y = sqrt(-x)\n", DomainError, 1, 12, "sqrt"),
        ("x = [1, 2]\ny = x[5]\n", ShapeError, 2, 5, "out of range"),
        ("x = [[1, 2], [3]]\n", ShapeError, 1, 5, "rows"),
    ],
)
def test_errors_name_line_and_column(
    program: str, error: type, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(error) as info:
        cr.parse(program)
    exc = info.value
    assert (exc.line, exc.column) == (line, column), str(exc)
    assert fragment in str(exc)
    text = str(exc)
    # the offending line is shown with a caret under the column
    shown, caret = text.splitlines()[-2:]
    assert caret.index("^") - 4 == column - 1
    assert shown.strip() == program.splitlines()[line - 1].strip()


def test_caret_position_counts_characters_not_bytes() -> None:
    with pytest.raises(NameNotDefined) as info:
        cr.parse("ŷ = 1; σσ = ŷ + nope\n")
    assert info.value.column == "ŷ = 1; σσ = ŷ + nope".index("nope") + 1


def test_empty_program_is_an_error() -> None:
    with pytest.raises(ProgramSyntaxError, match="empty"):
        cr.parse("# nothing\n")


def test_no_python_evaluation_of_user_text() -> None:
    # Attribute access, calls of builtins and dunder tricks are all refused by the whitelist.
    for program in [
        "y = ().__class__",
        "y = open('/etc/passwd')",
        "y = (lambda: 1)()",
        "y = [x for x in [1]]",
    ]:
        with pytest.raises(cr.ChainruleError):
            cr.parse(program)


def test_huge_literal_powers_do_not_hang() -> None:
    # A constant power whose exact value would be huge is refused before it is computed, with
    # the line and column of the power.
    with pytest.raises(ValueInputError, match="digits") as info:
        cr.parse("x = 1\ny = x * 10 ^ 10 ^ 10\n")
    assert (info.value.line, info.value.column) == (2, 9)


def test_long_sums_do_not_recurse() -> None:
    n = 500
    text = "x = 1\ny = " + " + ".join(["x"] * n) + "\n"
    assert cr.parse(text).output.value == n
    text = "y = " + " + ".join(["1"] * n) + "\n"
    assert cr.parse(text).output.value == n


def test_an_expression_too_deep_for_the_reader_is_a_clear_error(monkeypatch) -> None:
    # a flat sum reads up to limits.MAX_CHAIN terms (tests/test_parse_scaling.py); past it
    from chainrule.core import limits

    monkeypatch.setattr(limits, "MAX_CHAIN", 12_000)
    text = "x = 1\ny = " + " + ".join(["x"] * 100_000) + "\n"
    with pytest.raises(ProgramSyntaxError, match="nested too deeply"):
        cr.parse(text)


def test_deep_expression_does_not_recurse() -> None:
    depth = 3000  # deeper than Python's default recursion limit in a nested expression
    text = "x = 1\ny = " + "tanh(" * 50 + "x" + ")" * 50 + "\n"
    assert cr.parse(text).output.value == pytest.approx(_nested_tanh(1.0, 50))
    lines = ["x0 = 0.5"] + [f"x{i} = tanh(x{i - 1})" for i in range(1, depth)]
    g = cr.parse("\n".join(lines))
    assert g.output.value == pytest.approx(_nested_tanh(0.5, depth - 1))


def _nested_tanh(x: float, n: int) -> float:
    for _ in range(n):
        x = math.tanh(x)
    return x


@pytest.mark.parametrize("x", [-1.5, 0.0, 0.5, 2.0])
def test_a_branch_is_refused_with_the_branch_free_formulas_that_compute_it(x: float) -> None:
    """A conditional, a comparison or and/or is refused with the rewrites a graph can hold;
    each rewrite named in the message gives Python's own branch's value."""
    for text in ("y = x if x > 0 else 0", "y = x > 0", "y = x > 0 and x < 1"):
        with pytest.raises(ProgramSyntaxError) as err:
            cr.parse(f"x = {x}\n{text}\n")
        message = str(err.value)
        assert "no branches" in message and "relu(x)" in message and "step(x)" in message
        assert "BCEWithLogits" not in message  # the list of every function is not the answer
    a, b = 3.0, -2.0
    g = cr.parse(
        f"x = {x}\na = {a}\nb = {b}\nr = relu(x)\nm = maximum(a, b)\nn = minimum(a, b)\n"
        "s = step(x)\ny = s * a + (1 - s) * b\n"
    )
    assert g["r"].value == (x if x > 0 else 0)
    assert g["m"].value == max(a, b) and g["n"].value == min(a, b)
    assert g["s"].value == float(x > 0)
    assert g["y"].value == (a if x > 0 else b)
