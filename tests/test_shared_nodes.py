"""Text of graphs that share unnamed nodes: linear in the graph, not in the expanded tree.

``y = y * y`` repeated through the API, every y unnamed, is a graph of n + 1 nodes whose
written-out expression has 2ⁿ factors; long sub-expressions are written by their labels."""

from __future__ import annotations

import chainrule as cr
from chainrule.lang.notation import MAX_EXPRESSION, definition, expression

SQUARINGS = 40
FACTOR = " · "


def squarings(n: int) -> tuple[cr.Node, list[cr.Node]]:
    x = cr.var(1.0, name="x")
    chain = [x]
    for _ in range(n):
        chain.append(chain[-1] * chain[-1])
    return x, chain


def power_of_x(text: str, exponents: dict[str, int]) -> int:
    """The power of x a product of factors stands for, each label read as the power its node
    holds: the check that a row written with labels still says the right thing."""
    return sum(exponents[token] for token in text.split(FACTOR))


def test_table_of_forty_squarings_stays_short_and_right() -> None:
    _, chain = squarings(SQUARINGS)
    g = cr.Graph(chain[-1])
    rows = g.table()
    assert len(rows) == SQUARINGS + 1
    assert rows[0]["operation"] == "input"
    for row, node in zip(rows[1:], chain[1:], strict=True):
        # each row is its node's op applied to its input's label: y = a · a
        (a,) = set(node.args)
        assert row["operation"] == FACTOR.join([g.label(a)] * 2) or len(g.label(a)) > 18
        assert len(row["operation"]) <= 2 * MAX_EXPRESSION + len(FACTOR)
    assert sum(len(r["operation"]) for r in rows) <= (SQUARINGS + 1) * (2 * MAX_EXPRESSION + 3)


def test_short_products_are_still_written_out() -> None:
    _, chain = squarings(3)
    assert definition(chain[3]) == FACTOR.join(["x"] * 8)
    assert expression(chain[2]) == FACTOR.join(["x"] * 4)


def test_expression_of_forty_squarings_is_bounded() -> None:
    _, chain = squarings(SQUARINGS)
    for style in ("text", "latex"):
        text = expression(chain[-1], style)
        assert 0 < len(text) <= 2 * MAX_EXPRESSION + 20


def test_an_unshared_deep_chain_is_written_out_but_its_table_rows_are_bounded() -> None:
    x = cr.var(0.5, name="x")
    y = x
    for _ in range(300):
        y = cr.tanh(y)
    assert expression(y) == "tanh(" * 300 + "x" + ")" * 300
    rows = cr.Graph(y).table()
    assert all(len(row["operation"]) <= MAX_EXPRESSION + len("tanh()") for row in rows)


def test_shared_unnamed_constants_are_read_once() -> None:
    # an exponent made of 40 squarings of the constant 1: written as its value, x¹ as x
    x = cr.var(3.0, name="x")
    c = cr.const(1.0)
    for _ in range(SQUARINGS):
        c = c * c
    y = (x**c).named("y")
    rows = cr.Graph(y).table()
    assert rows[-1]["operation"] == "x"
