"""Long programs: a flat sum is not a nested expression, and a program on one line reads as the
same program on many lines (columns included). Speed is measured in
benchmarks/reliability.py, not here."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.core import limits
from chainrule.core.errors import ProgramSyntaxError
from chainrule.lang import language


@pytest.mark.parametrize("terms", [3_000, 20_000])
def test_a_flat_sum_of_thousands_of_terms_reads(terms: int) -> None:
    """Refused as "nested too deeply" at 3,000 terms before: Python's parser nests a + b + …
    one level per term."""
    g = cr.parse("x = 0.5\ny = " + " + ".join(["x"] * terms))
    assert g.find("y").value == pytest.approx(0.5 * terms)
    g.backward()
    assert g.find("x").grad == pytest.approx(terms)


def test_a_flat_difference_keeps_its_order() -> None:
    """1 − 1 − 1 − … is read left to right (a − b − c = (a − b) − c), as Python reads it."""
    n = 5_001
    g = cr.parse("x = 1\ny = " + " - ".join(["x"] * n))
    assert g.find("y").value == 1 - (n - 1)


def test_a_chain_past_the_bound_is_refused_with_advice(monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_CHAIN", 12_000)
    with pytest.raises(ProgramSyntaxError, match="nested too deeply"):
        cr.parse("x = 1\ny = " + " + ".join(["x"] * 60_000))
    assert cr.parse("x = 1\ny = " + " + ".join(["x"] * 4_000)).find("y").value == 4_000


def test_columns_on_one_long_line_with_unicode() -> None:
    """Errors on a long line of non-ASCII text point at the user's character column (the
    byte offsets of Python's parser are mapped through a table made once per line)."""
    head = "; ".join(f"b₀{i} = {i}·2" for i in range(300))
    text = head + "; z = b₀1 + wrong"
    with pytest.raises(cr.ChainruleError) as info:
        cr.parse(text)
    assert info.value.line == 1
    assert info.value.column == text.index("wrong") + 1


def test_names_and_literals_on_one_line_keep_their_spelling() -> None:
    text = "; ".join(f"x₀{i} = {i}.25" for i in range(500)) + "; y = x₀499 · x₀1"
    g = cr.parse(text)
    assert g.find("y").value == pytest.approx(499.25 * 1.25)
    assert "x₀499" in g.labels()


def test_the_column_table_counts_characters_not_bytes() -> None:
    _, src = language._prepare("é = 1; ü = 2; z = é + ü")
    line = src.rewritten(1)
    raw = line.encode("utf-8")
    for b in range(len(raw) + 1):
        expected = len(raw[:b].decode("utf-8", "ignore"))
        assert src.char_column(1, expected + 1) == src.column(1, b)
