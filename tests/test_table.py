"""The eval table, written without rich, looks exactly as rich draws it (rich is the reference)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.io.table import box_table, cell_width

rich = pytest.importorskip("rich")


def _rich(title: str, header: list[str], rows: list[list[str]], right: list[bool]) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, width=1000, highlight=False)
    table = Table(title=Text(title), title_justify="left")
    for h, r in zip(header, right):
        table.add_column(Text(h), justify="right" if r else "left")
    for row in rows:
        table.add_row(*(Text(c) for c in row))
    console.print(table)
    return out.getvalue()


CELLS = (
    st.lists(st.sampled_from(list("abxyz019 −+·()[]/.σπ₁²") + ["y\u0302", "中"]), max_size=12)
    .map("".join)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda k: st.tuples(
            st.lists(CELLS, min_size=k, max_size=k),
            st.lists(st.lists(CELLS, min_size=k, max_size=k), min_size=1, max_size=4),
            st.lists(st.booleans(), min_size=k, max_size=k),
        )
    )
)
def test_same_as_rich(case: tuple[list[str], list[list[str]], list[bool]]) -> None:
    header, rows, right = case
    # eval's title is always narrower than its table (its last header holds the same label)
    title = "pass of y"[: 3 * len(header) + 1]
    assert box_table(title, header, rows, right) == _rich(title, header, rows, right)


def test_cell_width() -> None:
    assert cell_width("ŷ") == 1  # y and a combining hat
    assert cell_width("y\u0302 − y") == 5
    assert cell_width("中") == 2
