"""Graph.to_json / from_json keep the structure, names, values and gradients."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.graph import SCHEMA


def same_graph(a: cr.Graph, b: cr.Graph) -> None:
    assert len(a) == len(b)
    for m, n in zip(a.nodes, b.nodes, strict=True):
        assert m.op is n.op
        assert [a.index(x) for x in m.args] == [b.index(x) for x in n.args]
        assert m.name == n.name
        assert m.requires_grad == n.requires_grad
        assert m.params == n.params
        np.testing.assert_array_equal(np.asarray(m.value), np.asarray(n.value))
        if m.grad is None:
            assert n.grad is None
        else:
            np.testing.assert_array_equal(np.asarray(m.grad), np.asarray(n.grad))
    assert [a.index(o) for o in a.outputs] == [b.index(o) for o in b.outputs]


def test_float_graph_round_trip() -> None:
    x = cr.var(0.3, name="x")
    w = cr.var(-1.2, name="w")
    h = cr.tanh(x * w + 0.5).named("h")
    L = (cr.sigmoid(h) - 0.25) ** 2 + cr.maximum(h, x)
    graph = cr.Graph(L)
    graph.backward()
    text = graph.to_json()
    back = cr.Graph.from_json(text)
    same_graph(graph, back)
    assert back.to_json() == text
    assert back["h"].value == h.value and back["x"].grad == x.grad


def test_round_trip_of_a_graph_without_gradients_then_backward() -> None:
    x = cr.var(0.7, name="x")
    L = cr.softplus(x * x)
    graph = cr.Graph(L)
    back = cr.Graph.from_json(graph.to_json())
    assert all(n.grad is None for n in back.nodes)
    back.backward()
    graph.backward()
    assert back["x"].grad == x.grad


def test_exact_rational_graph_round_trip() -> None:
    a = cr.var(Fraction(1, 3), name="a", exact=True)
    b = cr.var(Fraction(-3, 4), name="b", exact=True)
    L = (a * b - 2) ** 2
    graph = cr.Graph(L)
    graph.backward()
    back = cr.Graph.from_json(graph.to_json())
    same_graph(graph, back)
    assert isinstance(back["a"].grad, Fraction) and back["a"].grad == a.grad
    assert isinstance(back.output.value, Fraction)


def test_exact_irrational_values_are_recomputed_exactly() -> None:
    g = cr.parse("x = [1, 1]\nw = [4/5, 7/5]\nb₀ = 3/5\nz = w.T @ x + b₀\nŷ = σ(z)", exact=True)
    g.backward()
    back = cr.Graph.from_json(g.to_json())
    assert back["z"].value == Fraction(14, 5)
    assert back["ŷ"].value == g["ŷ"].value  # recomputed from exact inputs, not read as decimals
    assert float(back["b₀"].grad) == pytest.approx(float(g["b₀"].grad), rel=1e-15)


def test_vector_graph_with_parameters_round_trip() -> None:
    v = cr.var([0.5, -1.0, 2.0], name="v")
    w = cr.var([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], name="W")
    L = cr.sum(cr.tanh(w @ v)) + v[1] * v[2] + cr.mean(v[0:2])
    graph = cr.Graph(L)
    graph.backward()
    text = graph.to_json()
    back = cr.Graph.from_json(text)
    same_graph(graph, back)
    data = json.loads(text)
    assert data["schema"] == SCHEMA
    assert any("params" in n for n in data["nodes"])


def test_several_outputs_and_constants() -> None:
    x = cr.var(2.0, name="x")
    c = cr.const(3.0, name="c")
    graph = cr.Graph([x * c, x + c])
    back = cr.Graph.from_json(graph.to_json())
    same_graph(graph, back)
    assert not back["c"].requires_grad and back["x"].requires_grad


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"schema": "something else", "nodes": [], "outputs": []}),
        json.dumps(
            {"schema": SCHEMA, "nodes": [{"id": 0, "op": "nope", "inputs": []}], "outputs": [0]}
        ),
        json.dumps(
            {
                "schema": SCHEMA,
                "nodes": [{"id": 0, "op": "tanh", "inputs": [3], "value": 0.0}],
                "outputs": [0],
            }
        ),
    ],
)
def test_bad_json_raises_a_chainrule_error(text: str) -> None:
    with pytest.raises(cr.ChainruleError):
        cr.Graph.from_json(text)
