"""Nodes, graphs and modules survive ``pickle`` and ``copy.deepcopy`` (PyTorch users copy a
model to keep its best weights): values and gradients come back right, leaves shared by the
objects pickled together stay shared, and a chain far deeper than Python's recursion limit is
written without recursion."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np

import chainrule as cr
from chainrule import nn


def _roundtrip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj))


def test_a_pickled_node_gives_the_gradients_of_its_formula() -> None:
    x, w = cr.var(0.3, "x"), cr.var(-1.2, "w")
    f = cr.tanh(x * w + 0.5).named("f")
    f2, x2, w2 = _roundtrip((f, x, w))  # type: ignore[misc]
    f2.backward()
    t = math.tanh(0.3 * -1.2 + 0.5)
    assert f2.value == t and f2.name == "f"
    assert abs(x2.grad - (1 - t * t) * -1.2) < 1e-15
    assert abs(w2.grad - (1 - t * t) * 0.3) < 1e-15
    assert x.grad is None  # the original is untouched


def test_a_chain_deeper_than_the_recursion_limit_pickles_and_copies() -> None:
    x = cr.var(0.5, "x")
    h, want = x, 0.5
    for _ in range(5000):
        h = h * 1.0001 + 0.001
        want = want * 1.0001 + 0.001
    for copied in (_roundtrip(h), copy.deepcopy(h)):
        assert isinstance(copied, cr.Node)
        assert copied.value == want
        copied.backward()
        leaf = cr.Graph(copied).inputs[0]
        assert abs(leaf.grad - 1.0001**5000) < 1e-9


def test_a_graph_stays_one_graph_with_its_names() -> None:
    g = cr.parse("x = 2\ny = 3\nq = x * y\nf = q + x")
    g2 = _roundtrip(g)
    assert isinstance(g2, cr.Graph)
    assert [g2.label(n) for n in g2.nodes] == [g.label(n) for n in g.nodes]
    g2.backward()
    assert g2["x"].grad == 3 + 1 and g2["y"].grad == 2  # ∂(xy + x)/∂x = y + 1
    assert g2.where(g2["q"]) == g.where(g["q"])


def test_deepcopy_of_a_model_is_independent_and_trains_alike() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    model = nn.MLP(3, [5, 1], rng=np.random.default_rng(2))
    best = copy.deepcopy(model)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt = cr.optim.SGD(best.parameters(), lr=0.1)
    loss = ((best(X) - y) ** 2).mean()
    loss.backward()
    grads = [p.grad.copy() for p in best.parameters()]
    opt.step()
    for k, v in model.state_dict().items():  # the original never moved
        assert np.array_equal(v, before[k])
    # the copy's gradient is the loss's: checked against central differences
    best.load_state_dict(before)
    w = best.layer1.weight
    for i, j in [(0, 0), (2, 1), (4, 2)]:
        base = w.value[i, j]
        w.value[i, j] = base + 1e-6
        up = float((((best(X) - y) ** 2).mean()).value)
        w.value[i, j] = base - 1e-6
        down = float((((best(X) - y) ** 2).mean()).value)
        w.value[i, j] = base
        assert abs((up - down) / 2e-6 - grads[0][i, j]) < 1e-6


def test_leaves_pickled_together_stay_shared() -> None:
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    loss = (model(np.array([1.0, 2.0])) ** 2).sum()
    model2, loss2 = _roundtrip((model, loss))  # type: ignore[misc]
    loss2.backward()
    out = float((model2.weight.value @ [1.0, 2.0])[0] + model2.bias.value[0])
    assert np.allclose(model2.weight.grad, 2 * out * np.array([[1.0, 2.0]]), rtol=1e-14)
    assert model.weight.grad is None


def test_a_micrograd_value_comes_back_a_value() -> None:
    from chainrule.micrograd import Value

    a = Value(-4.0)
    b = a * a + 1
    b2 = _roundtrip(b)
    assert type(b2) is Value and b2.data == 17.0
    b2.backward()
    (a2,) = [n for n in cr.Graph(b2).nodes if n.is_leaf and n.requires_grad]
    assert a2.grad == -8.0
