"""Numbers too large to build and programs too long for a quadratic reader: each gives one clear
message with its line and column (exit status 2 from the command line), never a hang."""

from __future__ import annotations

import ast
from fractions import Fraction

import pytest
from helpers import run

import chainrule as cr
from chainrule.core import limits
from chainrule.core.errors import ValueInputError


@pytest.mark.parametrize(
    ("program", "column"),
    [
        ("x = 1e99999999\n", 5),
        ("x = 9**9**9\n", 5),
        ("x = 10**10**10\n", 5),
        ("x = ((2**4096)**4096)**4096\n", 7),
        ("x = 2**4096\n", 5),
        ("x = 0.5 ** 5000\n", 5),
        ("x = 1\ny = x * 1e400\n", 9),
        ("x = 1e400\n", 5),
        ("x = -2**1100\n", 5),  # the literal as a whole is past float range
        ("x = [1, 1e400]\n", 5),  # the vector literal that holds it
    ],
)
def test_huge_literals_are_refused_with_line_and_column(program: str, column: int) -> None:
    with pytest.raises(ValueInputError) as info:
        cr.parse(program)
    last = program.rstrip("\n").count("\n") + 1
    assert (info.value.line, info.value.column) == (last, column)


def test_exact_mode_takes_big_numbers_within_the_bound() -> None:
    g = cr.parse("x = 1e400\ny = x / 10**399\n", exact=True)
    assert g.output.value == 10
    g = cr.parse("x = 2**1000\n", exact=True)
    assert g.output.value == Fraction(2**1000)
    with pytest.raises(ValueInputError, match="digits"):
        cr.parse("x = 2**4096\n", exact=True)


def test_float_mode_keeps_numbers_near_the_float_limits() -> None:
    assert cr.parse("x = 1.7e308\n").output.value == pytest.approx(1.7e308)
    assert cr.parse("x = 2**1000\n").output.value == pytest.approx(2.0**1000)
    assert cr.parse("x = 1e-300\n").output.value == pytest.approx(1e-300)


def test_a_float_overflow_in_an_operation_names_line_column_and_node() -> None:
    # an overflow is inf (as in IEEE arithmetic), traced to the line, column and node where
    # it began
    from chainrule.core.anomaly import find

    g = cr.parse("x = 10\ny = x ** 1e5\n")
    (a,) = find(g.nodes, g.source)
    assert (a.where, a.source, g.label(a.node), a.what) == ("value", (2, 5), "y", "inf")
    # its local partial 1e5 · 10^99999 overflows too: a clear error at the same place
    with pytest.raises(cr.ChainruleError) as info:
        g.backward()
    assert (info.value.line, info.value.column, info.value.node) == (2, 5, "y")


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "-", "--at", "x=1e99999999"],
        ["eval", "-", "--at", "x=1e400"],
        ["eval", "-", "--at", "x=[1, 1e99999999]"],
        ["eval", "-", "--at", "x=1/1e99999999"],
        ["eval", "-", "--at", "x=" + "[" * 10_000 + "1" + "]" * 10_000],
        ["check", "-", "--claim", "y=1e99999999"],
    ],
)
def test_command_line_numbers_are_bounded(args: list[str]) -> None:
    r = run(*args, stdin="x = 1\ny = x * 2\n")
    assert r.returncode == 2, (r.stdout, r.stderr[-500:])
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("chainrule: error:")
    assert len(r.stderr.splitlines()) <= 4


@pytest.mark.parametrize(
    "program",
    ["x = 1e99999999\n", "x = 9**9**9\n", "x = 10**10**10\n", "x = 1e400\n", "x = 2**4096\n"],
)
def test_the_cli_refuses_huge_literals_quickly_and_cleanly(program: str) -> None:
    r = run("eval", "-", stdin=program)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "line 1, column" in r.stderr


def test_number_text_bounds_the_exponent_without_building_the_number() -> None:
    limits.number_text("1e1000" if limits.MAX_DIGITS > 1000 else "1e999")
    with pytest.raises(limits.TooLarge):
        limits.number_text("1e" + "9" * 30)
    limits.number_text("not a number")  # left to the reader that follows


class CountingName(str):
    """A variable name that counts how often it is compared: a reader that looks names up in a
    list compares each new name with every earlier one (n² comparisons)."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _counting_parse(monkeypatch: pytest.MonkeyPatch, n: int) -> int:
    real_parse = ast.parse

    def parse(*args: object, **kwargs: object) -> ast.AST:
        tree = real_parse(*args, **kwargs)  # type: ignore[call-overload]
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                node.id = CountingName(node.id)
        return tree  # type: ignore[no-any-return]

    monkeypatch.setattr(ast, "parse", parse)
    CountingName.comparisons = 0
    text = "x0 = 1\n" + "".join(f"x{i} = x{i - 1} + 1\n" for i in range(1, n))
    g = cr.parse(text)
    assert g.output.value == n
    return CountingName.comparisons


def test_reading_a_program_compares_names_a_bounded_number_of_times_per_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = _counting_parse(monkeypatch, 500)
    large = _counting_parse(monkeypatch, 5000)
    assert large <= 20 * 5000  # a list of names would cost about 5000²/2 comparisons
    assert large <= 12 * max(small, 1)


def test_a_100000_line_program_is_read() -> None:
    n = 100_000
    text = "x0 = 0\n" + "".join(f"x{i} = x{i - 1} + 1\n" for i in range(1, n))
    g = cr.parse(text)
    assert g.output.value == n - 1
    assert len(g.nodes) == 2 * n - 1  # every line one node, and one constant 1 each


def test_fold_refuses_an_image_past_the_element_limit() -> None:
    """fold (convolution's transpose) makes an image of the shape it is given; a huge one is
    a clear error before any memory is asked for."""
    import numpy as np

    from chainrule.core.limits import LimitError
    from chainrule.core.node_math import NodeMath

    cols = cr.var(np.ones((1, 1, 1)), name="cols")
    with pytest.raises(LimitError, match="fold would make an array"):
        NodeMath.fold(cols, (1, 1, 10**6, 10**6), ((1, 1), (10**6, 10**6), (0, 0), (1, 1)))
