"""PyTorch's habits on nodes: methods, no_grad(), backward(gradient=...), in-place updates.
Each method's value and gradient are compared with torch 2.13 on the same numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.tensor import tensor

torch = pytest.importorskip("torch", reason="the methods are compared with PyTorch's")

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4))
POS = np.abs(X) + 0.5

# (method call on a chainrule node, the same on a torch tensor, the input)
CASES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], np.ndarray]] = {
    "sum": (lambda x: x.sum(), lambda x: x.sum(), X),
    "sum(dim=0)": (lambda x: x.sum(dim=0), lambda x: x.sum(dim=0), X),
    "sum(1, keepdim)": (lambda x: x.sum(1, keepdim=True), lambda x: x.sum(1, keepdim=True), X),
    "sum(axis=1)": (lambda x: x.sum(axis=1), lambda x: x.sum(axis=1), X),
    "mean": (lambda x: x.mean(), lambda x: x.mean(), X),
    "mean(dim=-1)": (lambda x: x.mean(dim=-1), lambda x: x.mean(dim=-1), X),
    "max": (lambda x: x.max(), lambda x: x.max(), X),
    "max(dim=1).values": (lambda x: x.max(dim=1).values, lambda x: x.max(dim=1).values, X),
    "reshape(2, 6)": (lambda x: x.reshape(2, 6), lambda x: x.reshape(2, 6), X),
    "reshape((4, -1))": (lambda x: x.reshape((4, -1)), lambda x: x.reshape((4, -1)), X),
    "view(-1)": (lambda x: x.view(-1), lambda x: x.view(-1), X),
    "permute(1, 0)": (lambda x: x.permute(1, 0), lambda x: x.permute(1, 0), X),
    "T": (lambda x: x.T, lambda x: x.T, X),
    "flatten": (lambda x: x.flatten(), lambda x: x.flatten(), X),
    "unsqueeze(1)": (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1), X),
    "relu": (lambda x: x.relu(), lambda x: x.relu(), X),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh(), X),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), X),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), X),
    "log": (lambda x: x.log(), lambda x: x.log(), POS),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), POS),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), X),
    "pow(3)": (lambda x: x.pow(3), lambda x: x.pow(3), X),
    "softmax(dim=1)": (lambda x: x.softmax(dim=1), lambda x: x.softmax(dim=1), X),
    "softmax(0)": (lambda x: x.softmax(0), lambda x: x.softmax(0), X),
    "log_softmax(-1)": (lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1), X),
}


@pytest.mark.parametrize("name", list(CASES))
def test_method_value_and_gradient_match_pytorch(name: str) -> None:
    ours, theirs, data = CASES[name]
    x = tensor(data)
    y = ours(x)
    xt = torch.tensor(data, requires_grad=True)
    yt = theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert y.shape == tuple(yt.shape)
    # a weighted sum makes every element's gradient distinct
    w = np.random.default_rng(1).normal(size=tuple(yt.shape))
    y.backward(gradient=w)
    yt.backward(gradient=torch.tensor(w))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_max_along_a_dim_gives_values_and_indices() -> None:
    x = tensor(X)
    values, indices = x.max(dim=1)
    vt, it = torch.tensor(X).max(dim=1)
    np.testing.assert_array_equal(indices, it.numpy())
    np.testing.assert_allclose(values.numpy(), vt.numpy())
    assert x.max(dim=0, keepdim=True).indices.shape == (1, 4)
    other = tensor(np.zeros((3, 4)))
    np.testing.assert_array_equal(x.max(other).value, np.maximum(X, 0))


def test_information_methods() -> None:
    x = tensor(X.astype(np.float32))
    assert x.dtype == np.float32 and x.shape == (3, 4) and x.ndim == 2
    assert x.size() == (3, 4) and x.size(1) == 4 and x.dim() == 2 and x.numel() == 12
    assert x.numpy() is x.value  # the node's own array, as PyTorch shares storage
    assert cr.var(2.5).item() == 2.5 and cr.var(2.5).dtype == np.float64
    d = x.detach()
    assert d.value is x.value and not d.requires_grad and d.is_leaf


def test_backward_on_a_non_scalar_needs_a_gradient() -> None:
    y = tensor(X) * 2
    with pytest.raises(cr.ValueInputError, match=r"backward\(gradient=\.\.\.\)"):
        y.backward()
    with pytest.raises(cr.ShapeError, match="shape"):
        y.backward(gradient=np.ones(3))
    one = tensor(np.array([[3.0]])) * 2  # one element: implicit, as in PyTorch
    one.backward()
    # PyTorch says the same thing in its own words
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (torch.tensor(X, requires_grad=True) * 2).backward()


def test_no_grad_builds_nodes_without_gradient() -> None:
    w = tensor(X)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = (w * 2).sum()
        with cr.enable_grad():
            z = (w * 3).sum()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and z.requires_grad
    loss = (w * y).sum()  # y is a constant factor here
    loss.backward()
    np.testing.assert_allclose(w.grad, np.full_like(X, y.value))

    @cr.no_grad()
    def f(v: cr.Node) -> cr.Node:
        return v * 2

    assert not f(w).requires_grad and cr.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), cr.no_grad():
        raise ZeroDivisionError
    assert cr.is_grad_enabled()


def test_in_place_update_under_no_grad_changes_the_parameter() -> None:
    p = tensor(X.copy())
    arr = p.value
    (p * p).sum().backward()
    with cr.no_grad():
        p -= 0.1 * p.grad
    assert p.value is arr  # the same array: modules and optimizers see the change
    np.testing.assert_allclose(arr, X - 0.1 * 2 * X)
    s = cr.var(1.0)
    with cr.no_grad():
        s += 2
    assert s.value == 3.0 and isinstance(s.value, float)
    with pytest.raises(cr.ValueInputError, match="no_grad"):
        p -= 1.0
    total = tensor(X) * 1
    total += 1  # not a leaf: a new node, as `total = total + 1`
    assert total.op.name == "add"


def test_requires_grad_flag() -> None:
    c = tensor(X, requires_grad=False)
    assert not c.requires_grad
    c.requires_grad_()
    (c * c).sum().backward()
    np.testing.assert_allclose(c.grad, 2 * X)
    with pytest.raises(cr.ValueInputError, match="leaf"):
        (c * 2).requires_grad_(False)
