"""The engine's contract: the Python API, backward semantics, local partials, forward mode,
higher order, gradcheck, and the float fast path against the general path."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy

import chainrule as cr
from chainrule.core.autodiff import local_partial, local_partials
from chainrule.core.node import Node, apply
from chainrule.core.values import ARRAY, EXACT, FLOAT
from chainrule.ops import OPS

# ------------------------------------------------------------------ the API contract


def test_api_contract_scalar() -> None:
    x = cr.var(0.5, name="x")
    y = cr.tanh(x * 1.0001 + 0.1)
    y.backward()
    assert type(y.value) is float
    assert type(x.grad) is float
    t = math.tanh(0.5 * 1.0001 + 0.1)
    assert y.value == pytest.approx(t, rel=1e-15)
    assert x.grad == pytest.approx((1 - t * t) * 1.0001, rel=1e-14)
    assert x.name == "x" and x.label() == "x"


def test_api_contract_vector_leaf() -> None:
    v = cr.var([1, 1])
    assert isinstance(v.value, np.ndarray) and v.value.shape == (2,)
    assert v.value.dtype == np.float64
    assert v.kind == ARRAY and v.requires_grad and v.is_leaf
    L = cr.sum(v * v)
    L.backward()
    np.testing.assert_array_equal(v.grad, [2.0, 2.0])


def test_node_attributes() -> None:
    x = cr.var(2.0, name="x")
    c = cr.const(3.0)
    y = x * c
    assert y.op is OPS["mul"] and y.args == (x, c)
    assert y.kind == FLOAT and y.requires_grad and not c.requires_grad
    assert y.params is None and y.name is None and y.grad is None and y.local is None
    assert x.id < c.id < y.id
    assert x.args == () and x.is_leaf and not y.is_leaf
    y.backward()
    assert y.grad == 1.0 and x.grad == 3.0 and c.grad is None
    assert y.local == (3.0, None)


def test_numbers_on_either_side_become_constants() -> None:
    x = cr.var(3.0)
    for node, value, grad in [
        (x + 2, 5.0, 1.0),
        (2 + x, 5.0, 1.0),
        (x - 2, 1.0, 1.0),
        (2 - x, -1.0, -1.0),
        (x * 2, 6.0, 2.0),
        (2 * x, 6.0, 2.0),
        (x / 2, 1.5, 0.5),
        (2 / x, 2 / 3, -2 / 9),
        (x**2, 9.0, 6.0),
        (2**x, 8.0, 8 * math.log(2)),
        (-x, -3.0, -1.0),
        (+x, 3.0, 1.0),
        (x + 2.5, 5.5, 1.0),
        (cr.maximum(x, 1), 3.0, 1.0),
        (cr.minimum(1.0, x), 1.0, 0.0),
    ]:
        x.grad = None  # a leaf's gradient accumulates over backward calls, as in PyTorch
        node.backward()
        assert node.value == pytest.approx(value, rel=1e-15)
        assert x.grad == pytest.approx(grad, rel=1e-15)


def test_fast_path_builds_the_same_nodes_as_apply() -> None:
    a = cr.var(0.7)
    b = cr.var(-1.3)
    for name, f in [
        ("add", lambda p, q: p + q),
        ("sub", lambda p, q: p - q),
        ("mul", lambda p, q: p * q),
        ("div", lambda p, q: p / q),
        ("maximum", cr.maximum),
        ("minimum", cr.minimum),
    ]:
        fast = f(a, b)
        slow = apply(OPS[name], (a, b))
        assert (fast.value, fast.kind, fast.requires_grad, fast.args) == (
            slow.value,
            slow.kind,
            slow.requires_grad,
            slow.args,
        )
    for name in ["exp", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "softplus", "neg"]:
        fast = getattr(cr.functions, name)(b)
        slow = apply(OPS[name], (b,))
        assert (fast.value, fast.kind, fast.requires_grad) == (slow.value, slow.kind, True)


def test_fast_path_falls_back_for_errors_and_other_kinds() -> None:
    x = cr.var(0.0, name="x")
    with pytest.raises(cr.DomainError):
        cr.log(x)
    with pytest.raises(cr.DomainError):
        cr.var(1.0) / x
    with pytest.raises(cr.DomainError):
        cr.var(-8.0) ** 0.5
    with pytest.raises(cr.DomainError):
        cr.sqrt(cr.var(-1.0))
    e = cr.var(Fraction(1, 3), exact=True)
    assert (e * 3).value == Fraction(1) and (e * 3).kind == EXACT
    assert (3 * e).value == Fraction(1)
    mixed = cr.var(0.5) * cr.const(Fraction(1, 4))
    assert mixed.kind == FLOAT and mixed.value == 0.125
    v = cr.var([1.0, 2.0])
    assert ((v * 2).value == [2.0, 4.0]).all()
    assert cr.tanh(0.5).value == math.tanh(0.5)  # a plain number becomes a constant
    assert not cr.tanh(0.5).requires_grad
    with pytest.raises(TypeError):
        bool(x)


def test_non_differentiable_op_does_not_require_grad() -> None:
    x = cr.var(0.3)
    s = cr.functions.step(x)
    assert not s.requires_grad and s.value == 1.0


# ------------------------------------------------------------------ backward semantics


def _net() -> tuple[Node, list[Node]]:
    x = cr.var(0.3, name="x")
    w = cr.var(-1.2, name="w")
    b = cr.var(0.4, name="b")
    h = cr.tanh(x * w + b)
    L = (cr.sigmoid(h * w) - 0.25) ** 2 + cr.softplus(h) * x
    return L, [x, w, b]


def test_backward_twice_accumulates_in_leaves_as_pytorch_does() -> None:
    torch = pytest.importorskip("torch")
    L, leaves = _net()
    L.backward()
    first = [n.grad for n in leaves]
    inner = L.args[0]
    inner_first = inner.grad
    L.backward()
    t = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.3, -1.2, 0.4)]
    x, w, b = t
    for _ in range(2):  # PyTorch: two backward calls without zero_grad add up in the leaves
        h = torch.tanh(x * w + b)
        tl = (torch.sigmoid(h * w) - 0.25) ** 2 + torch.nn.functional.softplus(h) * x
        tl.backward()
    assert [n.grad for n in leaves] == pytest.approx([v.grad.item() for v in t], rel=1e-13)
    assert [n.grad for n in leaves] == pytest.approx([2 * g for g in first], rel=1e-15)
    assert inner.grad == inner_first  # a node that is not a leaf holds this pass's gradient
    L.backward(accumulate=False)
    assert [n.grad for n in leaves] == first


def test_accumulate_adds() -> None:
    L, leaves = _net()
    L.backward()
    first = [n.grad for n in leaves]
    inner = L.args[0]
    inner_first = inner.grad
    L.backward(accumulate=True)
    assert [n.grad for n in leaves] == pytest.approx([2 * g for g in first], rel=1e-15)
    assert inner.grad == pytest.approx(2 * inner_first, rel=1e-15)  # every node adds
    L.backward(accumulate=False)
    assert [n.grad for n in leaves] == first


def test_leaves_accumulate_the_same_along_a_given_order() -> None:
    """``autodiff.backward(accumulate=None)`` is Node.backward's default with or without an
    order given: leaves add, other nodes hold this pass's gradient."""
    from chainrule.core.autodiff import backward, reference_backward, topo_order

    L, leaves = _net()
    want = reference_backward(L)
    order = topo_order(L)
    backward(L, order=order, accumulate=None)
    backward(L, order=order, accumulate=None)
    assert [n.grad for n in leaves] == [want[n] + want[n] for n in leaves]
    inner = L.args[0]
    assert inner.grad == want[inner]
    backward(L, order=order)  # accumulate=False, the function's default: replaced
    assert [n.grad for n in leaves] == [want[n] for n in leaves]


def test_leaves_accumulate_wherever_the_walk_meets_them() -> None:
    """A leaf met down a chain, as a second input, among more than two inputs, and as the
    output itself: each adds this pass's gradient to the one it held, as in PyTorch."""
    torch = pytest.importorskip("torch")
    from chainrule import tensor as T

    vals = [0.3, -1.1, 0.8, 2.0]

    def ours() -> list[Any]:
        a, b, c, d = (cr.var(v) for v in vals)
        out = T.sum(T.stack([a * b, cr.tanh(c), d, a]) * T.stack([1.0, 2.0, -0.5, 3.0]))
        return [out, a, b, c, d]

    def theirs() -> list[Any]:
        a, b, c, d = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in vals)
        w = torch.tensor([1.0, 2.0, -0.5, 3.0], dtype=torch.float64)
        out = (torch.stack([a * b, torch.tanh(c), d, a]) * w).sum()
        return [out, a, b, c, d]

    mine, ref = ours(), theirs()
    for _ in range(2):
        mine[0].backward()
        ref[0].backward(retain_graph=True)
    for m, t in zip(mine[1:], ref[1:], strict=True):
        assert m.grad == pytest.approx(t.grad.item(), rel=1e-14)
    leaf = mine[1]
    leaf.backward()  # the output a leaf: ∂a/∂a = 1 added to what it holds
    assert leaf.grad == pytest.approx(ref[1].grad.item() + 1.0, rel=1e-14)


def test_accumulate_on_fresh_nodes_and_seed() -> None:
    x = cr.var(2.0)
    y = x * x
    y.backward(accumulate=True)
    assert x.grad == 4.0
    y.backward(seed=3.0, accumulate=False)
    assert x.grad == 12.0
    y.backward(seed=3.0)
    assert x.grad == 24.0


def test_gradients_of_a_shared_subexpression_add_up() -> None:
    x = cr.var(1.5)
    s = cr.sin(x)
    y = s * s + s
    y.backward()
    assert x.grad == pytest.approx((2 * math.sin(1.5) + 1) * math.cos(1.5), rel=1e-15)


def test_backward_against_sympy() -> None:
    L, leaves = _net()
    L.backward()
    x, w, b = sympy.symbols("x w b")
    h = sympy.tanh(x * w + b)
    expr = (1 / (1 + sympy.exp(-h * w)) - sympy.Rational(1, 4)) ** 2 + sympy.log(
        1 + sympy.exp(h)
    ) * x
    at = {x: sympy.Rational(3, 10), w: sympy.Rational(-6, 5), b: sympy.Rational(2, 5)}
    for node, s in zip(leaves, (x, w, b), strict=True):
        assert node.grad == pytest.approx(float(sympy.diff(expr, s).subs(at).evalf(30)), rel=1e-13)


def test_local_partials_and_edge_contributions() -> None:
    x = cr.var(0.8, name="x")
    z = x * 2.0 + 1.0
    y = cr.sigmoid(z)
    assert y.local is None and local_partials(y) is None
    y.backward()
    s = 1 / (1 + math.exp(-2.6))
    assert y.local == pytest.approx((s * (1 - s),))
    assert local_partial(y, 0) == y.local[0]
    assert cr.edge_contribution(y, 0) == pytest.approx(s * (1 - s))
    mul = z.args[0]
    assert mul.local == (2.0, None)
    assert cr.edge_contribution(mul, 1) is None
    assert cr.edge_contribution(mul, 0) == pytest.approx(s * (1 - s) * 2)
    assert x.local is None and cr.edge_contribution(x, 0) is None
    with pytest.raises(cr.ChainruleError):
        local_partial(y, 3)


def test_edge_contributions_of_vjp_ops_are_what_backward_sent() -> None:
    w = cr.var([0.8, 1.4], name="w")
    x = cr.var([1.0, 1.0], name="x")
    d = cr.dot(w, x)
    d.backward()
    np.testing.assert_array_equal(cr.edge_contribution(d, 0), [1.0, 1.0])
    np.testing.assert_array_equal(d.local[1], [0.8, 1.4])
    # a fused loss sends what its forward kept: the contribution read later is that one, so
    # it equals the gradient of its only user bit for bit
    z = cr.var(np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]], dtype=np.float32), name="z")
    loss = cr.tensor.cross_entropy(z, cr.const(np.array([2.0, 0.0])))
    assert loss.kept is not None
    loss.backward()
    c = cr.edge_contribution(loss, 0)
    assert c.dtype == np.float32
    np.testing.assert_array_equal(c, z.grad)
    assert cr.edge_contribution(loss, 1) is None  # class labels need no gradient


def test_local_partial_follows_the_inputs_kind() -> None:
    p = cr.var([0.3, 0.6])
    loss = cr.bce(p, cr.const([1.0, 0.0]))
    loss.backward()
    np.testing.assert_allclose(p.grad, [-1 / 0.3 / 2, 1 / 0.4 / 2], rtol=1e-14)


def test_error_on_the_way_back_names_the_node() -> None:
    x = cr.var(0.0, name="x")
    r = cr.sqrt(x).named("r")
    with pytest.raises(cr.DomainError) as info:
        (r * 2).backward()
    assert info.value.node == "r"
    assert x.grad is None  # no marker is left behind


def test_error_on_a_chain_names_the_node_and_leaves_no_stale_gradient() -> None:
    """The chain of one-input nodes at the output is swept before any order is built: an
    undefined partial there must still name its node and clear what lies below it, but for
    a leaf's accumulated gradient, which the failed pass leaves as it was (as PyTorch, which
    never reaches the leaf); ``accumulate=False`` clears the leaf too."""
    for accumulate in (None, False):
        x = cr.var(4.0, name="x")
        s = cr.exp(cr.sqrt(cr.tanh(x)).named("r"))
        y = cr.tanh(cr.tanh(s))
        y.backward()
        first = x.grad
        assert first is not None  # a gradient from the first pass
        r = s.args[0]
        r.value = 0.0  # now ∂r/∂(tanh x) = 1/(2·0)
        with pytest.raises(cr.DomainError) as info:
            y.backward(accumulate=accumulate)
        assert info.value.node == "r"
        assert r.args[0].grad is None  # nothing from the first pass is left
        assert x.grad is (first if accumulate is None else None)
        assert r.grad is not None  # reached before the failing edge


def test_a_failed_pass_leaves_accumulated_leaf_gradients_as_they_were() -> None:
    """An undefined partial met by the general sweep (past a node of two inputs): every
    leaf keeps the gradient it held before the pass, none keeps part of the failed one."""
    x = cr.var(4.0, name="x")
    w = cr.var(0.5, name="w")
    r = cr.sqrt(cr.tanh(x)).named("r")
    y = r * w + w * x
    y.backward()
    held = (x.grad, w.grad)
    r.value = 0.0
    with pytest.raises(cr.DomainError) as info:
        y.backward()
    assert info.value.node == "r"
    assert (x.grad, w.grad) == held
    fresh = cr.var(1.0)
    z = r * fresh + fresh
    with pytest.raises(cr.DomainError):
        z.backward()
    assert fresh.grad is None  # it held nothing: it holds nothing of the failed pass


# ------------------------------------------------------------------ forward mode, higher order


def test_the_chain_sweep_gives_the_general_sweeps_numbers_for_every_one_input_op() -> None:
    """backward sweeps the one-input chain at the output before any order exists; a given
    order takes the general sweep. Every such op in the table must give the same gradient
    both ways, at a point of its domain."""
    from chainrule.core.autodiff import backward, topo_order

    ops = [op for op in OPS.values() if op.lean_unary is not None and FLOAT in op.forward]
    assert len(ops) >= 10
    for op in ops:
        for point in (0.7, 1.7, -0.4):
            x = cr.var(point, name="x")
            try:
                y = cr.tanh(apply(op, (cr.tanh(x),)))
            except cr.ChainruleError:
                continue
            backward(y)
            by_chain = [n.grad for n in topo_order(y)]
            backward(y, order=topo_order(y))
            assert [n.grad for n in topo_order(y)] == by_chain, op.name
            break
        else:
            raise AssertionError(f"{op.name}: no point of its domain among the three")


def test_jvp_agrees_with_reverse_mode() -> None:
    L, leaves = _net()
    L.backward()
    for leaf in leaves:
        assert cr.jvp(L, {leaf: 1.0}) == pytest.approx(leaf.grad, rel=1e-14)
    direction = {leaves[0]: 0.5, leaves[1]: -2.0, leaves[2]: 1.5}
    want = sum(t * n.grad for n, t in direction.items())
    assert cr.jvp(L, direction) == pytest.approx(want, rel=1e-13)


def test_jvp_with_arrays() -> None:
    w = cr.var([0.8, 1.4])
    x = cr.var([1.0, -2.0])
    L = cr.sigmoid(cr.dot(w, x) + 0.6) ** 2
    L.backward()
    t = np.array([0.3, -0.7])
    assert cr.jvp(L, {w: t}) == pytest.approx(float(np.dot(w.grad, t)), rel=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_higher_derivatives_of_tanh(k: int) -> None:
    x = cr.var(2.0)
    values = cr.derivatives(cr.tanh(x), x, k)
    s = sympy.Symbol("s")
    for j, v in enumerate(values, start=1):
        want = float(sympy.diff(sympy.tanh(s), s, j).subs(s, 2).evalf(30))
        assert v == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert len(values) == k


def test_grad_as_graph_matches_backward() -> None:
    L, leaves = _net()
    L.backward()
    graphs = cr.grad(L, leaves)
    for g, leaf in zip(graphs, leaves, strict=True):
        assert isinstance(g, Node)
        assert g.value == pytest.approx(leaf.grad, rel=1e-13)


# ------------------------------------------------------------------ gradcheck


def test_gradcheck_passes_for_every_leaf() -> None:
    x = cr.var([0.5, -1.0], name="x")
    w = cr.var([0.8, 1.4], name="w")
    b = cr.var(0.6, name="b")
    L = (cr.sigmoid(cr.dot(w, x) + b) - 1) ** 2
    checks = cr.gradcheck(L)
    assert [c.name for c in checks] == ["x", "w", "b"]
    assert all(c.ok for c in checks), checks
    assert L.value == pytest.approx((1 / (1 + math.exp(-(0.4 - 1.4 + 0.6))) - 1) ** 2)


def test_gradcheck_on_scalars_reports_every_input() -> None:
    L, leaves = _net()
    checks = cr.gradcheck(L)
    assert len(checks) == len(leaves) and all(c.ok for c in checks)
    for c, leaf in zip(checks, leaves, strict=True):
        assert c.analytic == pytest.approx(leaf.grad)
