"""A scalar graph evaluated on a batch gives the loss and gradients of per-sample graphs."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.autodiff import evaluate, topo_order
from chainrule.core.batch import BatchedGraph
from chainrule.core.errors import ShapeError, ValueInputError


def _scalar_mlp(rng, sizes=(2, 5, 4, 1)):
    """A micrograd-style network: one float node per weight, one graph for one sample."""
    x1, x2, t = cr.var(0.0, "x1"), cr.var(0.0, "x2"), cr.const(0.0, "y")
    params = []
    h = [x1, x2]
    for layer in range(len(sizes) - 1):
        nxt = []
        for _ in range(sizes[layer + 1]):
            a = cr.var(float(rng.uniform(-1, 1)))
            params.append(a)
            for hi in h:
                w = cr.var(float(rng.uniform(-1, 1)))
                params.append(w)
                a = a + w * hi
            nxt.append(cr.tanh(a) if layer < len(sizes) - 2 else a)
        h = nxt
    reg = params[0] * params[0]
    for p in params[1:]:
        reg = reg + p * p
    loss = cr.mean(cr.relu(1 - t * h[0])) + 1e-3 * reg
    return x1, x2, t, params, loss


def test_batched_graph_matches_per_sample_graphs():
    rng = np.random.default_rng(3)
    x1, x2, t, params, loss = _scalar_mlp(rng)
    X = rng.normal(size=(12, 2))
    y = np.where(rng.uniform(size=12) > 0.5, 1.0, -1.0)
    value = BatchedGraph(loss, [x1, x2, t]).run({x1: X[:, 0], x2: X[:, 1], t: y})
    batched_grads = np.array([p.grad for p in params])

    order = topo_order(loss)
    total, grads = 0.0, np.zeros(len(params))
    for i in range(len(y)):
        x1.value, x2.value, t.value = float(X[i, 0]), float(X[i, 1]), float(y[i])
        for n in order:
            n.kind = 0
        evaluate(order)
        loss.backward(accumulate=False)  # each sample's own gradient
        total += loss.value / len(y)
        grads += np.array([p.grad for p in params]) / len(y)
    assert value == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(batched_grads, grads, rtol=1e-10, atol=1e-13)


def test_batched_graph_trains_with_an_optimizer():
    from chainrule import optim

    rng = np.random.default_rng(4)
    x1, x2, t, params, loss = _scalar_mlp(rng, sizes=(2, 8, 1))
    X = rng.normal(size=(64, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, 1.0, -1.0)
    g = BatchedGraph(loss, [x1, x2, t])
    opt = optim.SGD(params, lr=0.2, momentum=0.5)
    feed = {x1: X[:, 0], x2: X[:, 1], t: y}
    first = g.run(feed)
    for _ in range(40):
        g.run(feed)
        opt.step()
    assert g.forward(feed) < 0.5 * first


def test_batched_graph_reports_misuse():
    a, b = cr.var(0.0, "a"), cr.var(1.0, "w")
    per_sample = a * b
    with pytest.raises(ShapeError, match="reduce it over the batch"):
        BatchedGraph(per_sample, [a])
    loss = cr.mean(per_sample)
    with pytest.raises(ValueInputError):
        BatchedGraph(loss, [cr.var(0.0, "elsewhere")])
    g = BatchedGraph(loss, [a])
    with pytest.raises(ValueInputError, match="no batch given"):
        g.forward({})
    with pytest.raises(ShapeError):
        g.forward({a: np.ones((2, 2))})
