"""Nothing recurses on the depth of a graph: deep chains run with the default recursion limit.

Each test checks the limit is the interpreter's default (1000), then works on a chain far
deeper than that; expected numbers come from a plain float loop."""

from __future__ import annotations

import json
import math
import sys

import pytest

import chainrule as cr
from chainrule.core.autodiff import backward, topo_order
from chainrule.lang.notation import expression

DEFAULT_LIMIT = 1000


@pytest.fixture(autouse=True)
def default_recursion_limit() -> None:
    assert sys.getrecursionlimit() == DEFAULT_LIMIT


def tanh_chain(n: int, x0: float = 0.5) -> tuple[cr.Node, cr.Node]:
    x = cr.var(x0, name="x")
    y = x
    for _ in range(n):
        y = cr.tanh(y)
    return x, y


def float_chain(n: int, x0: float = 0.5) -> tuple[float, float]:
    """Value and derivative of tanh applied n times, by a plain loop."""
    v, d = x0, 1.0
    for _ in range(n):
        v = math.tanh(v)
        d *= 1 - v * v
    return v, d


def test_200k_op_chain_forward_and_backward() -> None:
    n = 200_000
    x, y = tanh_chain(n)
    y.backward()
    v, d = float_chain(n)
    assert y.value == v
    assert x.grad == pytest.approx(d, rel=1e-9)
    assert y.grad == 1.0


def test_backward_order_is_the_topological_order_for_chains_and_branches() -> None:
    """backward finds a single chain without sorting: its order must still be topo_order's."""
    x, chain = tanh_chain(3_000)
    a = cr.var(0.2, name="a")
    shared = cr.tanh(a)
    branched = cr.tanh(shared) * shared  # a node used twice
    long_then_branch = cr.tanh(chain * x)  # a chain whose far end has two inputs
    for out in (chain, branched, long_then_branch, x):
        order = backward(out)
        assert order == topo_order(out)
        position = {id(n): i for i, n in enumerate(order)}
        assert all(position[id(arg)] < position[id(n)] for n in order for arg in n.args)


def test_deep_mixed_chain_with_binary_ops() -> None:
    n = 50_000
    x = cr.var(0.3, name="x")
    y = x
    for _ in range(n):
        y = cr.tanh(y * 1.0001 + 0.1)
    y.backward()
    v, d = 0.3, 1.0
    for _ in range(n):
        v = math.tanh(v * 1.0001 + 0.1)
        d *= (1 - v * v) * 1.0001
    assert y.value == v
    assert x.grad == pytest.approx(d, rel=1e-9)


def test_backward_twice_and_accumulate_on_a_deep_chain() -> None:
    x, y = tanh_chain(50_000)
    y.backward()
    g = x.grad
    y.backward(accumulate=False)
    assert x.grad == g
    y.backward()  # a leaf accumulates, as in PyTorch
    assert x.grad == 2 * g
    y.backward(accumulate=True)
    assert x.grad == 3 * g


def test_graph_gradcheck_and_json_on_a_deep_chain() -> None:
    n = 20_000
    x, y = tanh_chain(n, 0.9)
    graph = cr.Graph(y)
    assert len(graph) == n + 1 and graph.nodes[0] is x
    graph.backward()
    checks = cr.gradcheck(y)
    assert len(checks) == 1 and checks[0].ok
    text = graph.to_json()
    back = cr.Graph.from_json(text)
    assert len(back) == n + 1
    assert back.output.value == y.value
    assert back["x"].grad == x.grad
    assert json.loads(text)["nodes"][-1]["inputs"] == [n - 1]


def test_grad_as_graph_on_a_deep_chain() -> None:
    n = 5_000
    x, y = tanh_chain(n, 0.9)
    g = cr.grad(y, x)
    assert g.value == pytest.approx(float_chain(n, 0.9)[1], rel=1e-9)
    assert len(topo_order(g)) > n


def test_expression_and_jvp_on_a_deep_chain() -> None:
    n = 3_000
    x, y = tanh_chain(n)
    text = expression(y)
    assert text.count("tanh(") == n and text.endswith("x" + ")" * n)
    assert cr.jvp(y, {x: 1.0}) == pytest.approx(float_chain(n)[1], rel=1e-9)


def test_wide_graph_with_shared_nodes() -> None:
    """A ladder where each rung uses the two before it: shared inputs are visited once."""
    a = cr.var(0.01, name="a")
    b = cr.var(0.02, name="b")
    p, q = a, b
    for _ in range(20_000):
        p, q = q, cr.tanh(p + q)
    q.backward()
    v = [0.01, 0.02]
    for _ in range(20_000):
        v.append(math.tanh(v[-2] + v[-1]))
    assert q.value == v[-1]
    assert math.isfinite(a.grad) and math.isfinite(b.grad)
    assert cr.jvp(q, {a: 1.0}) == pytest.approx(a.grad, rel=1e-9, abs=1e-300)
