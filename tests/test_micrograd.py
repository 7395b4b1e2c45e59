"""chainrule.micrograd runs micrograd's own code: its README example, its tests, its demo
notebook's training loop and the lecture's code ("The spelled-out intro to neural networks and
backpropagation: building micrograd"), each copied from its published version and cited, with
only the import changed. References: micrograd 0.1.0 itself (installed in the dev
environment), PyTorch where micrograd's tests use it, and the lecture's own Value class.

Sources:
- README and tests: https://github.com/karpathy/micrograd, commit c911406 (README.md,
  test/test_engine.py, demo.ipynb, trace_graph.ipynb);
- lecture: https://github.com/karpathy/nn-zero-to-hero, commit 73c3fcc,
  lectures/micrograd/micrograd_lecture_second_half_roughly.ipynb.
"""

from __future__ import annotations

import math
import random

import micrograd.engine as mg_engine
import micrograd.nn as mg_nn
import numpy as np
import pytest

import chainrule as cr
import chainrule.check
import chainrule.explain
from chainrule.micrograd import Value
from chainrule.micrograd.nn import MLP, Layer, Neuron

try:
    import torch
except ImportError:  # only the tests that compare with PyTorch need it
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")


# ------------------------------------------------------------------ README.md


def readme_example(V: type) -> tuple[float, float, float]:
    """micrograd README.md, "Example usage" (verbatim, with Value as a parameter)."""
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    data = g.data
    g.backward()
    return data, a.grad, b.grad


def test_readme_prints_its_numbers() -> None:
    g, da, db = readme_example(Value)
    assert f"{g:.4f}" == "24.7041"
    assert f"{da:.4f}" == "138.8338"
    assert f"{db:.4f}" == "645.5773"


def test_readme_agrees_with_micrograd() -> None:
    ours = readme_example(Value)
    theirs = readme_example(mg_engine.Value)
    assert ours == pytest.approx(theirs, rel=1e-13)


# ------------------------------------------------------------------ test/test_engine.py


@needs_torch
def test_sanity_check() -> None:
    """micrograd test/test_engine.py::test_sanity_check, with chainrule's Value."""
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y

    # forward pass went well
    assert ymg.data == ypt.data.item()
    # backward pass went well
    assert xmg.grad == xpt.grad.item()


@needs_torch
def test_more_ops() -> None:
    """micrograd test/test_engine.py::test_more_ops, with chainrule's Value."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-6
    # forward pass went well
    assert abs(gmg.data - gpt.data.item()) < tol
    # backward pass went well
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol


# ------------------------------------------------------------------ micrograd's semantics


def test_backward_accumulates_as_micrograd_does() -> None:
    """A second backward without zeroing adds again, intermediate nodes included (with
    operations whose graph is micrograd's too: its a - b and a / b have an extra node,
    a + b * -1 and a * b**-1, whose stale gradient a second pass would send on)."""

    def twice(V: type) -> list[float]:
        a, b = V(3.0), V(-2.0)
        c = a * b
        d = (c + a).relu() + c * c + a * -1.0 + (b - 1) ** 2
        d.backward()
        d.backward()
        return [a.grad, b.grad, c.grad, d.grad]

    assert twice(Value) == pytest.approx(twice(mg_engine.Value), rel=1e-15)


def test_attributes_as_micrograd_has_them() -> None:
    a = Value(2.0)
    assert (a.data, a.grad, a._prev, a._op) == (2.0, 0, set(), "")
    b = a * 3
    c = b + a
    assert c._prev == {a, b} and c._op == "+" and b._op == "*"
    assert (a**2)._op == "**2" and a.relu()._op == "ReLU" and a.tanh()._op == "tanh"
    assert repr(c) == "Value(data=8.0, grad=0)"
    a.data = 5
    assert a.data == 5.0 and isinstance(a.data, float)
    assert bool(a) is True


def test_numpy_numbers_and_reflected_operators() -> None:
    """The demo feeds numpy floats and multiplies by numpy integers (``-yi*scorei``)."""
    x = Value(np.float64(0.5))
    y = np.int64(-1) * x + 1
    z = (1 - x) / 2 + 2 / (x + 1)
    assert isinstance(y, Value) and y.data == 0.5
    assert z.data == pytest.approx(0.25 + 2 / 1.5)


def test_a_node_is_not_silently_turned_into_a_number() -> None:
    with pytest.raises(TypeError):
        Value(cr.var(1.0))
    out = Value(2.0) * cr.var(3.0)  # the node's own operator takes over: still a graph
    assert isinstance(out, cr.Node) and out.value == 6.0


def test_building_an_operation_by_hand_is_refused_clearly() -> None:
    with pytest.raises(cr.ChainruleError, match="op table"):
        Value(1.0, (Value(2.0),), "+")


def test_deep_graph_needs_no_recursion() -> None:
    """micrograd sorts recursively and fails past about 1,000 levels; this does not."""
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


# ------------------------------------------------------------------ the lecture


def lecture_neuron(V: type) -> tuple[object, ...]:
    """The lecture's neuron (second half, cell "inputs x1,x2 ... o = n.tanh()")."""
    # inputs x1,x2
    x1 = V(2.0, label="x1")
    x2 = V(0.0, label="x2")
    # weights w1,w2
    w1 = V(-3.0, label="w1")
    w2 = V(1.0, label="w2")
    # bias of the neuron
    b = V(6.8813735870195432, label="b")
    # x1*w1 + x2*w2 + b
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, n, x1w1x2w2, x1w1, x2w2, b, x1, x2, w1, w2


def torch_neuron() -> dict[str, float]:
    """The lecture's PyTorch cell for the same neuron. The lecture makes its tensors with
    ``torch.Tensor([...]).double()``, which rounds b through float32 first (its tanh prints
    0.7071066904…); here they are float64 from the start, so the reference is exact."""

    def leaf(v: float) -> torch.Tensor:
        return torch.tensor([v], dtype=torch.float64, requires_grad=True)

    x1 = leaf(2.0)
    x2 = leaf(0.0)
    w1 = leaf(-3.0)
    w2 = leaf(1.0)
    b = leaf(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    o = torch.tanh(n)
    o.backward()
    return {
        "o": o.data.item(),
        "x1": x1.grad.item(),
        "x2": x2.grad.item(),
        "w1": w1.grad.item(),
        "w2": w2.grad.item(),
    }


@needs_torch
def test_lecture_neuron_matches_pytorch() -> None:
    o, *_, x1, x2, w1, w2 = lecture_neuron(Value)
    o.backward()
    want = torch_neuron()
    assert o.data == pytest.approx(want["o"], rel=1e-15)
    got = {"x1": x1.grad, "x2": x2.grad, "w1": w1.grad, "w2": w2.grad}
    assert got == pytest.approx({k: want[k] for k in got}, rel=1e-12, abs=1e-15)
    assert o.label == "o" and x1.label == "x1"


def test_lecture_backward_by_hand_node_by_node() -> None:
    """The lecture calls each node's _backward in turn after setting o.grad = 1."""
    o, n, x1w1x2w2, x1w1, x2w2, b, x1, x2, w1, w2 = lecture_neuron(Value)
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()
    x1w1x2w2._backward()
    x2w2._backward()
    x1w1._backward()
    by_hand = [x1.grad, x2.grad, w1.grad, w2.grad, n.grad]
    o2, n2, *_, y1, y2, v1, v2 = lecture_neuron(Value)
    o2.backward()
    assert by_hand == [y1.grad, y2.grad, v1.grad, v2.grad, n2.grad]
    assert n.grad == pytest.approx(1 - o.data**2)


@needs_torch
def test_lecture_tanh_written_with_exp() -> None:
    """The lecture's cell that replaces tanh by (e − 1)/(e + 1) with e = exp(2n)."""
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    e = (2 * n).exp()
    o = (e - 1) / (e + 1)
    o.label = "o"
    o.backward()
    want = torch_neuron()
    assert o.data == pytest.approx(want["o"], rel=1e-14)
    assert [x1.grad, w1.grad, x2.grad] == pytest.approx(
        [want["x1"], want["w1"], want["x2"]], rel=1e-12
    )


class LectureValue:
    """The lecture's own Value class (second half, verbatim but for formatting), the
    reference for the lecture's MLP."""

    def __init__(self, data, _children=(), _op="", label=""):  # type: ignore[no-untyped-def]
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __add__(self, other):  # type: ignore[no-untyped-def]
        other = other if isinstance(other, LectureValue) else LectureValue(other)
        out = LectureValue(self.data + other.data, (self, other), "+")

        def _backward():  # type: ignore[no-untyped-def]
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):  # type: ignore[no-untyped-def]
        other = other if isinstance(other, LectureValue) else LectureValue(other)
        out = LectureValue(self.data * other.data, (self, other), "*")

        def _backward():  # type: ignore[no-untyped-def]
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):  # type: ignore[no-untyped-def]
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = LectureValue(self.data**other, (self,), f"**{other}")

        def _backward():  # type: ignore[no-untyped-def]
            self.grad += other * (self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):  # type: ignore[no-untyped-def]
        return self * other

    def __truediv__(self, other):  # type: ignore[no-untyped-def]
        return self * other**-1

    def __neg__(self):  # type: ignore[no-untyped-def]
        return self * -1

    def __sub__(self, other):  # type: ignore[no-untyped-def]
        return self + (-other)

    def __radd__(self, other):  # type: ignore[no-untyped-def]
        return self + other

    def tanh(self):  # type: ignore[no-untyped-def]
        x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        out = LectureValue(t, (self,), "tanh")

        def _backward():  # type: ignore[no-untyped-def]
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def backward(self):  # type: ignore[no-untyped-def]
        topo = []
        visited = set()

        def build_topo(v):  # type: ignore[no-untyped-def]
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


def lecture_mlp_training(V: type) -> list[float]:
    """The lecture's Neuron, Layer, MLP and training loop (second half), on Value ``V``."""

    class Neuron:
        def __init__(self, nin):  # type: ignore[no-untyped-def]
            self.w = [V(random.uniform(-1, 1)) for _ in range(nin)]
            self.b = V(random.uniform(-1, 1))

        def __call__(self, x):  # type: ignore[no-untyped-def]
            # w * x + b
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
            out = act.tanh()
            return out

        def parameters(self):  # type: ignore[no-untyped-def]
            return self.w + [self.b]

    class Layer:
        def __init__(self, nin, nout):  # type: ignore[no-untyped-def]
            self.neurons = [Neuron(nin) for _ in range(nout)]

        def __call__(self, x):  # type: ignore[no-untyped-def]
            outs = [n(x) for n in self.neurons]
            return outs[0] if len(outs) == 1 else outs

        def parameters(self):  # type: ignore[no-untyped-def]
            return [p for neuron in self.neurons for p in neuron.parameters()]

    class MLP:
        def __init__(self, nin, nouts):  # type: ignore[no-untyped-def]
            sz = [nin] + nouts
            self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

        def __call__(self, x):  # type: ignore[no-untyped-def]
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):  # type: ignore[no-untyped-def]
            return [p for layer in self.layers for p in layer.parameters()]

    random.seed(42)
    n = MLP(3, [4, 4, 1])
    xs = [
        [2.0, 3.0, -1.0],
        [3.0, -1.0, 0.5],
        [0.5, 1.0, 1.0],
        [1.0, 1.0, -1.0],
    ]
    ys = [1.0, -1.0, -1.0, 1.0]  # desired targets
    losses = []
    for _k in range(20):
        # forward pass
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        # backward pass
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        # update
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    return losses


def test_lecture_mlp_trains_as_with_the_lecture_value() -> None:
    ours = lecture_mlp_training(Value)
    theirs = lecture_mlp_training(LectureValue)
    assert ours == pytest.approx(theirs, rel=1e-10)
    assert ours[-1] < ours[0] / 10


# ------------------------------------------------------------------ nn and the demo notebook


def test_nn_same_weights_repr_and_parameters_as_micrograd() -> None:
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    random.seed(1337)
    theirs = mg_nn.MLP(2, [16, 16, 1])
    assert repr(ours) == repr(theirs)
    assert len(ours.parameters()) == len(theirs.parameters()) == 337
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"
    assert repr(Layer(2, 2)) == "Layer of [ReLUNeuron(2), ReLUNeuron(2)]"


def demo_training(Value: type, MLP: type, steps: int) -> tuple[list[float], list[float]]:
    """micrograd demo.ipynb: data, model, loss and the optimization loop (shortened to
    ``steps``); returns the losses and the accuracies."""
    from sklearn.datasets import make_moons

    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # make y be -1 or 1
    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    def loss(batch_size=None):  # type: ignore[no-untyped-def]
        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        # forward the model to get scores
        scores = list(map(model, inputs))
        # svm "max-margin" loss
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    out, accs = [], []
    for k in range(steps):
        # forward
        total_loss, acc = loss()
        # backward
        model.zero_grad()
        total_loss.backward()
        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        out.append(float(total_loss.data))
        accs.append(float(acc))
    return out, accs


def test_demo_notebook_training_matches_micrograd() -> None:
    ours, our_acc = demo_training(Value, MLP, 8)
    theirs, their_acc = demo_training(mg_engine.Value, mg_nn.MLP, 8)
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert our_acc == their_acc
    assert ours[-1] < ours[0]


# ------------------------------------------------------------------ chainrule's tools


def test_draw_explain_and_check_work_on_values() -> None:
    o, *_, x1, x2, w1, w2 = lecture_neuron(Value)
    o.backward()
    text = cr.draw.text(o, "gradients")
    assert "x1*w1" in text and "do/dx1 = −1.5" in text
    svg = cr.draw.to_svg(o, "gradients")
    assert svg.lstrip().startswith("<") and "x2*w2" in svg
    g = cr.Graph(o)
    worked = cr.explain.explain(g, "txt")
    assert "o = tanh(n)" in worked and "do/dw1" in worked
    assert "\\frac{\\mathrm{d} o}{\\mathrm{d} w_{2}}" in cr.explain.explain(g, "md")
    verdicts = cr.check.check(g, ["o = 0.7071", "do/dx1 = -1.5", "do/dw2 = 1"])
    assert [v.verdict for v in verdicts][:2] == [cr.check.RIGHT, cr.check.RIGHT]
    assert verdicts[2].verdict != cr.check.RIGHT
    # the drawings ran backward on a copy: the learner's gradients are untouched
    assert (x1.grad, o.grad) == (pytest.approx(-1.5), 1)


def test_trace_graph_notebook_walk() -> None:
    """trace_graph.ipynb's ``trace`` (recursive over ``_prev``) on a micrograd neuron."""

    def trace(root):  # type: ignore[no-untyped-def]
        nodes, edges = set(), set()

        def build(v):  # type: ignore[no-untyped-def]
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)

        build(root)
        return nodes, edges

    random.seed(1337)
    n = Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    y.backward()
    nodes, edges = trace(y)
    labels = sorted(f"{v._op}|{v.data:.4f}|{v.grad:.4f}" for v in nodes)
    random.seed(1337)
    n2 = mg_nn.Neuron(2)
    y2 = n2([mg_engine.Value(1.0), mg_engine.Value(-2.0)])
    y2.backward()
    nodes2, edges2 = trace(y2)
    assert labels == sorted(f"{v._op}|{v.data:.4f}|{v.grad:.4f}" for v in nodes2)
    assert len(edges) == len(edges2)
