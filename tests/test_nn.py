"""Modules, names, saving, and the optimizers' update rules (checked against hand formulas)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.tensor as T
from chainrule import nn, optim
from chainrule.core.errors import ShapeError, ValueInputError


def test_mlp_names_parameters_and_outputs():
    m = nn.MLP(2, [4, 3, 1], rng=np.random.default_rng(0))
    assert [k for k, _ in m.named_parameters()] == [
        "layer1.weight",
        "layer1.bias",
        "layer2.weight",
        "layer2.bias",
        "layer3.weight",
        "layer3.bias",
    ]
    assert all(p.name == k for k, p in m.named_parameters())
    out = m(cr.const(np.ones((5, 2))))
    assert out.name == "layer3.out"
    assert out.args[0].name == "act2.out"
    assert out.args[0].args[0].name == "layer2.out"
    assert m.num_parameters() == 2 * 4 + 4 + 4 * 3 + 3 + 3 + 1


def test_named_root_prefixes_every_name():
    m = nn.MLP(2, [3], name="net")
    assert [p.name for p in m.parameters()] == ["net.layer1.weight", "net.layer1.bias"]
    assert m(cr.const(np.ones((1, 2)))).name == "net.layer1.out"


def test_repr_is_a_readable_tree():
    text = repr(nn.MLP(2, [16, 1], activation="tanh"))
    assert text.splitlines() == [
        "MLP()",
        "  layer1: Linear(2 → 16, weight[16, 2], bias[16])",
        "  act1: Tanh()",
        "  layer2: Linear(16 → 1, weight[1, 16], bias[1])",
        "(65 parameters)",
    ]


def test_custom_module_registers_children_and_parameters():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.parameter(np.ones(3))
            self.inner = nn.Linear(3, 3)

        def forward(self, x):
            return self.inner(x) * self.scale

    outer = nn.Sequential(Block(), nn.ReLU())
    assert [k for k, _ in outer.named_parameters()] == ["0.scale", "0.inner.weight", "0.inner.bias"]
    # a numbered child reads as an index in node names, never as the number 1
    assert outer(cr.const(np.ones((2, 3)))).name == "layers[1].out"
    assert outer[0].scale.name == "layers[0].scale"


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    a = nn.MLP(3, [5, 2], rng=rng)
    b = nn.MLP(3, [5, 2], rng=rng)
    x = cr.const(rng.normal(size=(4, 3)))
    assert not np.allclose(a(x).value, b(x).value)
    a.save(tmp_path / "w.npz")
    b.load(tmp_path / "w.npz")
    np.testing.assert_array_equal(a(x).value, b(x).value)
    with pytest.raises(ValueInputError, match="missing layer3.bias, layer3.weight"):
        nn.MLP(3, [5, 2, 2]).load(tmp_path / "w.npz")
    with pytest.raises(ShapeError):
        nn.MLP(3, [6, 2]).load(tmp_path / "w.npz")
    with pytest.raises(ValueInputError):
        a.load(tmp_path / "missing.npz")


def test_astype_converts_parameters():
    m = nn.MLP(2, [3, 1]).astype(np.float32)
    assert all(p.value.dtype == np.float32 for p in m.parameters())
    out = m(cr.const(np.ones((2, 2), dtype=np.float32)))
    assert out.value.dtype == np.float32


def _quadratic_step(opt_factory, steps=3):
    """Run an optimizer on L = Σ (p − c)² and return the parameter after each step."""
    c = np.array([1.0, -2.0, 0.5])
    p = nn.parameter(np.array([0.3, 0.1, -0.7]))
    opt = opt_factory([p])
    seen = []
    for _ in range(steps):
        loss = T.sum((p - c) * (p - c))
        loss.backward()
        opt.step()
        seen.append(p.value.copy())
    return c, seen


def test_sgd_momentum_weight_decay_follow_the_formula():
    lr, mu, wd = 0.1, 0.9, 0.01
    c, seen = _quadratic_step(lambda ps: optim.SGD(ps, lr, momentum=mu, weight_decay=wd))
    p = np.array([0.3, 0.1, -0.7])
    buf = None
    for got in seen:
        g = 2 * (p - c) + wd * p
        buf = g if buf is None else mu * buf + g
        p = p - lr * buf
        np.testing.assert_allclose(got, p, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_sgd_updates_the_parameters_own_array(dtype, layout):
    """p ← p − lr·g in place, whatever the layouts, in the parameter's own array and type."""
    rng = np.random.default_rng(3)
    start = rng.normal(size=(96, 100)).astype(dtype)
    g = rng.normal(size=(96, 100)).astype(dtype)
    value = np.asfortranarray(start) if layout == "F" else start.copy()
    grad = np.asfortranarray(g) if layout == "F" else g.copy()
    if layout == "strided":
        grad = np.repeat(g, 2, axis=1)[:, ::2]  # a view with gaps
    p = nn.parameter(value)
    own = p.value
    p.grad = grad
    optim.SGD([p], lr=0.1).step()
    assert p.value is own and p.value.dtype == dtype and p.grad is None
    expected = start.astype(np.float64) - 0.1 * g.astype(np.float64)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(p.value, expected, rtol=tol, atol=tol)


def test_linear_weights_are_stored_so_the_forward_multiplies_row_major():
    layer = nn.Linear(6, 4, rng=np.random.default_rng(0))
    assert layer.weight.value.shape == (4, 6)
    assert layer.weight.T.value.flags.c_contiguous
    x = cr.const(np.ones((3, 6)))
    T.sum(layer(x)).backward()
    # the gradient comes back in the weight's own layout, so the update streams through memory
    assert layer.weight.grad.flags.f_contiguous
    np.testing.assert_allclose(layer.weight.grad, np.full((4, 6), 3.0))
    assert layer.astype(np.float32).weight.value.flags.f_contiguous


def test_adam_follows_the_formula():
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    c, seen = _quadratic_step(lambda ps: optim.Adam(ps, lr, betas=(b1, b2), eps=eps), steps=4)
    p = np.array([0.3, 0.1, -0.7])
    m = v = np.zeros(3)
    for t, got in enumerate(seen, start=1):
        g = 2 * (p - c)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(got, p, rtol=1e-10)


def test_step_consumes_gradients_so_nothing_is_applied_twice():
    p = nn.parameter(np.array([1.0]))
    q = nn.parameter(np.array([1.0]))
    opt = optim.SGD([p, q], lr=0.5)
    T.sum(p * q).backward()
    opt.step()
    assert p.grad is None and q.grad is None
    np.testing.assert_allclose(p.value, [0.5])
    # q is not reached by this loss: it must not move with its old gradient
    T.sum(p * 3.0).backward()
    opt.step()
    np.testing.assert_allclose(p.value, [-1.0])
    np.testing.assert_allclose(q.value, [0.5])
    # accumulation across two losses starts from zero after a step
    T.sum(p * 1.0).backward()
    T.sum(p * 2.0).backward(accumulate=True)
    np.testing.assert_allclose(p.grad, [3.0])


def test_scalar_parameters_are_updated_too():
    w = cr.var(2.0)
    opt = optim.SGD([w], lr=0.25)
    (w * w).backward()
    opt.step()
    assert w.value == pytest.approx(1.0)


def test_bad_optimizer_settings_are_reported():
    p = nn.parameter(np.ones(2))
    with pytest.raises(ValueInputError):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueInputError):
        optim.SGD([p * 2.0], lr=0.1)
    with pytest.raises(ValueInputError):
        optim.Adam([p], betas=(1.0, 0.9))
