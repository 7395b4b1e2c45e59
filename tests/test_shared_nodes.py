"""Text of graphs that share unnamed nodes: linear in the graph, not in the expanded tree.

``y = y * y`` repeated through the API, every y unnamed, is a graph of n + 1 nodes whose
written-out expression has 2ⁿ factors; long sub-expressions are written by their labels."""

from __future__ import annotations

import chainrule as cr
from chainrule.notation import MAX_EXPRESSION, Written, definition, expression

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
    rows = cr.Graph(chain[-1]).table()
    assert len(rows) == SQUARINGS + 1
    assert rows[0]["operation"] == "input"
    exponents = {"x": 1}
    for i, row in enumerate(rows[1:], start=1):
        assert len(row["operation"]) <= 2 * MAX_EXPRESSION + len(FACTOR)
        assert power_of_x(row["operation"], exponents) == 2**i
        exponents[row["node"]] = 2**i
    # the bound was reached: some row refers to an earlier node by its label
    assert any(rows[i - 1]["node"] in rows[i]["operation"] for i in range(2, len(rows)))
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


def test_a_shared_memo_writes_what_separate_calls_write() -> None:
    _, chain = squarings(4)
    z = cr.tanh(chain[-1] + chain[2]) * chain[3]
    nodes = cr.Graph(z).nodes
    assert max(len(definition(n)) for n in nodes) > 50  # written out, below the bound
    memo = Written()
    together = [definition(n, memo=memo) for n in nodes]
    alone = [definition(n) for n in nodes]
    assert together == alone


def test_an_unshared_deep_chain_is_written_out_but_its_table_rows_are_bounded() -> None:
    x = cr.var(0.5, name="x")
    y = x
    for _ in range(300):
        y = cr.tanh(y)
    assert expression(y) == "tanh(" * 300 + "x" + ")" * 300
    rows = cr.Graph(y).table()
    depth = {"x": 0}
    bases = set()
    for i, row in enumerate(rows[1:], start=1):
        text = row["operation"]
        assert len(text) <= MAX_EXPRESSION + len("tanh()")
        k = text.count("tanh(")
        base = text[5 * k : len(text) - k]
        assert text == "tanh(" * k + base + ")" * k
        assert k + depth[base] == i  # a label stands for its own depth
        depth[row["node"]] = i
        bases.add(base)
    assert bases - {"x"}  # some row refers to an earlier one by its label


def test_shared_unnamed_constants_are_read_once() -> None:
    # an exponent made of 40 squarings of the constant 1: written as its value, x¹ as x
    x = cr.var(3.0, name="x")
    c = cr.const(1.0)
    for _ in range(SQUARINGS):
        c = c * c
    y = (x**c).named("y")
    rows = cr.Graph(y).table()
    assert rows[-1]["operation"] == "x"
