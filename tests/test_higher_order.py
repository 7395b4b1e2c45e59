"""Second and third derivatives through every op of the table.

The gradient as a graph (``cr.grad``) is built by the same rules as ``backward``, evaluated with
the node backend; differentiating it again must give the true higher derivative. Scalar ops:
every second and third partial against ``sympy.diff`` of an independent sympy forward. Tensor
ops: Hessian-vector products against HIPS autograd and against central differences of the
first derivative (``backward``). The coverage test reads the table, so a new op cannot be
added without a higher-order check here."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import autograd.numpy as anp
import layer_refs as R
import numpy as np
import pytest
import sympy
from autograd import grad as ag_grad
from autograd.scipy.special import erf as ag_erf
from helpers import run
from test_ops import SYMPY_FORWARD as SCALAR_FORWARD

import chainrule as cr
import chainrule.tensor as L
from chainrule import tensor as T
from chainrule.core.errors import ValueInputError
from chainrule.core.node import apply
from chainrule.ops import OPS, register

a_, b_ = sympy.symbols("a b", real=True)

# The scalar ops' independent sympy forwards (tests/test_ops.py), and those of the tensor ops
# that are elementwise or scalar losses.
SYMPY_FORWARD: dict[str, Callable[..., Any]] = {
    **SCALAR_FORWARD,
    "leaky_relu": lambda a: sympy.Piecewise((a, a > 0), (a / 100, True)),
    "gelu": lambda a: a / 2 * (1 + sympy.erf(a / sympy.sqrt(2))),
    "erf": sympy.erf,
    "bce_with_logits": lambda a, b: sympy.log(1 + sympy.exp(a)) - a * b,
    "hinge": lambda a, b: sympy.Piecewise((1 - a * b, 1 - a * b > 0), (0, True)),
    "sum_squares": lambda a, b: a**2 + b**2,
}
POINTS: dict[str, list[tuple[float, ...]]] = {
    "pow": [(1.7, 0.6), (0.4, -1.3)],
    "log": [(0.3,), (1.7,)],
    "sqrt": [(0.3,), (1.7,)],
    "log10": [(0.3,), (1.7,)],
    "log2": [(0.3,), (1.7,)],
    "bce": [(0.3, 1.0), (0.55, 0.25)],
    "hinge": [(0.3, 1.0), (-0.4, -1.0), (2.0, 1.0)],
}
GENERAL = [(0.7, -1.3), (-0.4, 0.9), (1.9, 0.35)]

# Ops whose derivative is zero wherever it exists (indicators, labels): they pass no gradient.
NOT_DIFFERENTIABLE = {"step", "sign", "ge", "one_hot"}


def _points(name: str, arity: int) -> list[tuple[float, ...]]:
    return POINTS.get(name, [p[:arity] for p in GENERAL])


def _rat(x: float) -> sympy.Rational:
    f = Fraction(x)
    return sympy.Rational(f.numerator, f.denominator)


def _sym_at(expr: sympy.Expr, syms: tuple[sympy.Symbol, ...], at: tuple[float, ...]) -> float:
    return float(sympy.N(expr.xreplace(dict(zip(syms, map(_rat, at), strict=True))), 30))


def _arity(name: str) -> int:
    return 2 if name == "sum_squares" else OPS[name].arity


@pytest.mark.parametrize("name", sorted(SYMPY_FORWARD))
def test_second_and_third_partials_of_scalar_ops_equal_sympy(name: str) -> None:
    op = OPS[name]
    n = _arity(name)
    syms = (a_, b_)[:n]
    fwd = SYMPY_FORWARD[name](*syms)
    for at in _points(name, n):
        leaves = [cr.var(v) for v in at]
        out = apply(op, tuple(leaves))
        for order in (2, 3):
            for path in itertools.product(range(n), repeat=order):
                node = out
                for i in path:
                    node = cr.grad(node, leaves[i])
                want = _sym_at(sympy.diff(fwd, *[syms[i] for i in path]), syms, at)
                assert math.isclose(float(node.value), want, rel_tol=1e-9, abs_tol=1e-12), (
                    name,
                    path,
                    at,
                    node.value,
                    want,
                )


# ------------------------------------------------------------------ tensor ops

RNG = np.random.default_rng(11)
LABELS = np.array([2, 0, 1, 2])
PROBS = RNG.dirichlet(np.ones(3), size=4)
T01 = np.array([0.2, 0.9, 0.5, 0.0, 1.0])
SIGNS = np.array([1.0, -1.0, -1.0, 1.0, 1.0])


def _lsm(x: Any, axis: int = -1) -> Any:
    m = anp.max(x, axis=axis, keepdims=True)
    return x - m - anp.log(anp.sum(anp.exp(x - m), axis=axis, keepdims=True))


def _sig(x: Any) -> Any:
    return 1 / (1 + anp.exp(-x))


ROWS = np.array([[3.0, 0.0], [1.0, 3.0]])
MASK = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])


def _torch_cumsum_product(a: Any, b: Any) -> Any:
    """An opaque node: PyTorch computes cumsum(a · b) and, through double backward, its vjps."""
    torch = pytest.importorskip("torch", reason="the opaque op calls PyTorch")
    from chainrule.torch_bridge.opaque import TorchFunction

    fn = TorchFunction("cumsum", lambda x, y: torch.cumsum(x * y, dim=0))
    return apply(OPS["torch_opaque"], (a, b), {"fn": fn})


# op name, input shapes, chainrule function, autograd function
TENSOR_CASES: list[tuple[str, list[tuple[int, ...]], Callable[..., Any], Callable[..., Any]]] = [
    ("sum", [(2, 3)], lambda a: T.sum(a, axis=1), lambda a: anp.sum(a, axis=1)),
    (
        "mean",
        [(2, 3)],
        lambda a: T.mean(a, axis=0, keepdims=True),
        lambda a: anp.mean(a, axis=0, keepdims=True),
    ),
    ("dot", [(3,), (3,)], cr.dot, anp.dot),
    ("matmul", [(2, 3), (3, 2)], lambda a, b: a @ b, lambda a, b: a @ b),
    ("matmul", [(2, 3), (3,)], lambda a, b: a @ b, lambda a, b: anp.dot(a, b)),
    ("matmul", [(3,), (3,)], lambda a, b: a @ b, lambda a, b: anp.dot(a, b)),
    ("matmul", [(2, 2, 3), (3, 2)], T.matmul, anp.matmul),
    ("transpose", [(2, 3)], lambda a: a.T, lambda a: a.T),
    ("index", [(4,)], lambda a: a[1], lambda a: a[1]),
    ("index", [(3, 4)], lambda a: a[1:, ::2], lambda a: a[1:, ::2]),
    (
        "scatter",
        [(2,)],
        lambda a: apply(OPS["scatter"], (a,), {"index": (slice(1, 3),), "shape": (4,)}),
        lambda a: anp.concatenate([anp.zeros(1), a, anp.zeros(1)]),
    ),
    ("mse", [(3,), (3,)], cr.mse, lambda a, b: anp.mean((a - b) ** 2)),
    (
        "bce",
        [(3,), (3,)],
        cr.bce,
        lambda a, b: -anp.mean(b * anp.log(a) + (1 - b) * anp.log(1 - a)),
    ),
    ("reshape", [(2, 3)], lambda a: T.reshape(a, (3, 2)), lambda a: anp.reshape(a, (3, 2))),
    (
        "permute",
        [(2, 3, 2)],
        lambda a: T.transpose(a, (2, 0, 1)),
        lambda a: anp.transpose(a, (2, 0, 1)),
    ),
    (
        "concat",
        [(2, 2), (2, 1)],
        lambda a, b: T.concatenate([a, b], axis=1),
        lambda a, b: anp.concatenate([a, b], axis=1),
    ),
    (
        "stack",
        [(3,), (3,)],
        lambda a, b: T.stack([a, b], axis=1),
        lambda a, b: anp.stack([a, b], axis=1),
    ),
    (
        "broadcast_to",
        [(2, 1)],
        lambda a: T.broadcast_to(a, (3, 2, 2)),
        lambda a: a + anp.zeros((3, 2, 2)),
    ),
    (
        "sum_to",
        [(3, 2, 2)],
        lambda a: T.sum_to(a, (2, 1)),
        lambda a: anp.sum(anp.sum(a, axis=0), axis=1, keepdims=True),
    ),
    ("reduce_max", [(3, 4)], lambda a: T.max(a, axis=1), lambda a: anp.max(a, axis=1)),
    (
        "reduce_min",
        [(3, 4)],
        lambda a: apply(OPS["reduce_min"], (a,), {"axis": 1}),
        lambda a: anp.min(a, axis=1),
    ),
    (
        "leaky_relu",
        [(3, 2)],
        lambda a: T.leaky_relu(a, 0.1),
        lambda a: anp.where(a > 0, a, 0.1 * a),
    ),
    (
        "gelu",
        [(3, 2)],
        lambda a: T.gelu(a, approximate="tanh"),
        lambda a: 0.5 * a * (1 + anp.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3))),
    ),
    ("erf", [(3, 2)], T.erf, ag_erf),
    ("softmax", [(2, 3)], lambda a: T.softmax(a, axis=0), lambda a: anp.exp(_lsm(a, axis=0))),
    ("log_softmax", [(2, 3)], T.log_softmax, _lsm),
    (
        "softmax_cross_entropy",
        [(4, 3)],
        lambda z: T.cross_entropy(z, LABELS),
        lambda z: -anp.mean(_lsm(z)[np.arange(4), LABELS]),
    ),
    (
        "softmax_cross_entropy",
        [(4, 3), (4, 3)],
        lambda z, p: T.cross_entropy(z, p),
        lambda z, p: -anp.sum(p * _lsm(z)) / 4,
    ),
    (
        "bce_with_logits",
        [(5,), (5,)],
        lambda z, t: T.bce_with_logits(z, t),
        lambda z, t: anp.mean(anp.log(1 + anp.exp(z)) - z * t),
    ),
    (
        "hinge",
        [(5,)],
        lambda s: T.hinge(s, SIGNS),
        lambda s: anp.mean(anp.maximum(0, 1 - SIGNS * s)),
    ),
    ("linear", [(4, 3), (3, 2), (2,)], T.linear, lambda x, w, b: x @ w + b),
    ("linear", [(2, 4, 3), (3, 2), (2,)], T.linear, lambda x, w, b: x @ w + b),
    (
        "linear",
        [(2, 4, 3), (2, 3), (2,)],
        lambda x, w, b: T.linear(x, w, b, transpose_w=True),
        lambda x, w, b: x @ w.T + b,
    ),
    (
        "unfold",
        [(1, 2, 3, 3)],
        lambda a: apply(OPS["unfold"], (a,), {"kernel": 2, "padding": 1, "stride": 2}),
        lambda a: R.unfold(a, 2, 2, 1),
    ),
    (
        "fold",
        [(1, 4, 4)],
        lambda a: apply(OPS["fold"], (a,), {"shape": (1, 1, 3, 3), "kernel": 2}),
        lambda a: R.fold(a, (1, 1, 3, 3), 2),
    ),
    (
        "conv2d",
        [(2, 2, 4, 3), (3, 2, 2, 2), (3,)],
        lambda x, w, b: L.conv2d(x, w, b, padding=1, stride=2),
        lambda x, w, b: R.conv2d(x, w, b, 2, 1),
    ),
    ("max_pool2d", [(1, 2, 4, 4)], lambda a: L.max_pool2d(a, 2), lambda a: R.max_pool2d(a, 2)),
    (
        "avg_pool2d",
        [(1, 2, 3, 4)],
        lambda a: L.avg_pool2d(a, 2, stride=1, padding=1),
        lambda a: R.avg_pool2d(a, 2, 1, 1),
    ),
    ("layer_norm", [(2, 4), (4,), (4,)], L.layer_norm, R.layer_norm),
    (
        "batch_norm",
        [(3, 2, 2, 1), (2,), (2,), (2,), (2,)],
        L.batch_norm,
        R.batch_norm,
    ),
    (
        "batch_norm",
        [(4, 2), (2,), (2,), (2,), (2,)],
        lambda *a: L.batch_norm(*a, training=True),
        lambda *a: R.batch_norm(*a, training=True),
    ),
    ("embedding", [(4, 3)], lambda w: L.embedding(w, ROWS), lambda w: w[ROWS.astype(int)]),
    (
        "dropout",
        [(2, 3)],
        lambda a: apply(OPS["dropout"], (a, cr.const(MASK)), {"p": 0.5}),
        lambda a: a * MASK / 0.5,
    ),
    (
        "torch_opaque",
        [(3, 2), (3, 2)],
        lambda a, b: _torch_cumsum_product(a, b),
        lambda a, b: anp.cumsum(a * b, axis=0),
    ),
    (
        "sum_squares",
        [(2, 3), ()],
        lambda a, b: T.sum_squares([a, b]),
        lambda a, b: anp.sum(a**2) + b**2,
    ),
]


def _loss_cr(f: Callable[..., Any], nodes: list[Any], w: Any) -> Any:
    # sin makes even a linear op's second derivative non-zero: it tests the vjp graph itself
    out = f(*nodes)
    return cr.sum(cr.sin(out) * cr.const(w)) if np.ndim(out.value) else cr.sin(out) * float(w)


def _loss_ag(f: Callable[..., Any], w: Any) -> Callable[..., Any]:
    return lambda *xs: anp.sum(anp.sin(f(*xs)) * w)


@pytest.mark.parametrize("case", TENSOR_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_hessian_vector_products_of_tensor_ops(case: tuple[Any, ...]) -> None:
    name, shapes, f, fa = case
    rng = np.random.default_rng(abs(hash((name, str(shapes)))) % 2**32)
    vals = [rng.uniform(0.15, 0.85, s) if s else float(rng.uniform(0.15, 0.85)) for s in shapes]
    if name in ("bce_with_logits",):
        vals[0] = rng.normal(size=shapes[0])
    vs = [rng.normal(size=s) if s else float(rng.normal()) for s in shapes]
    nodes = [cr.var(np.array(v) if s else v) for v, s in zip(vals, shapes, strict=True)]
    probe = f(*nodes)
    assert probe.op is OPS[name], (probe.op, name)
    w = rng.normal(size=np.shape(probe.value))
    loss = _loss_cr(f, nodes, w)

    # second derivative through the gradient graph: d/dx ⟨∇L(x), v⟩
    g = cr.grad(loss, nodes)
    pairing = None
    for gk, vk in zip(g, vs, strict=True):
        term = cr.sum(gk * cr.const(vk)) if np.ndim(vk) else gk * float(vk)
        pairing = term if pairing is None else pairing + term
    hvp = cr.grad(pairing, nodes)

    lf = _loss_ag(fa, w)
    for k in range(len(nodes)):

        def dot_grad(*xs: Any, k: int = k) -> Any:
            total = 0.0
            for j in range(len(xs)):
                total = total + anp.sum(ag_grad(lf, j)(*xs) * vs[j])
            return total

        want = ag_grad(dot_grad, k)(*[np.array(v, dtype=float) for v in vals])
        np.testing.assert_allclose(hvp[k].value, want, rtol=1e-8, atol=1e-10, err_msg=name)

    # and against central differences of the first derivative from backward
    def first(at: list[Any]) -> list[Any]:
        ns = [cr.var(np.array(v) if np.ndim(v) else float(v)) for v in at]
        _loss_cr(f, ns, w).backward()
        return [np.array(n.grad, dtype=float) for n in ns]

    h = 1e-5
    up = [np.array(v) + h * np.array(d) for v, d in zip(vals, vs, strict=True)]
    down = [np.array(v) - h * np.array(d) for v, d in zip(vals, vs, strict=True)]
    for k, (gu, gd) in enumerate(zip(first(up), first(down), strict=True)):
        np.testing.assert_allclose(hvp[k].value, (gu - gd) / (2 * h), rtol=1e-5, atol=1e-7)


def test_every_op_has_a_higher_order_check() -> None:
    tensor = {name for name, *_ in TENSOR_CASES}
    missing = [
        name
        for name, op in OPS.items()
        if op.arity != 0
        and name not in SYMPY_FORWARD
        and name not in tensor
        and name not in NOT_DIFFERENTIABLE
    ]
    assert not missing, f"ops with no second-derivative test: {missing}"
    for name in NOT_DIFFERENTIABLE:
        assert not OPS[name].differentiable, name


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE - {"one_hot"}))
def test_indicators_pass_no_gradient_even_as_a_graph(name: str) -> None:
    x = cr.var(0.7)
    out = apply(OPS[name], (x, cr.var(-0.2))[: OPS[name].arity]) * x
    g = cr.grad(out, x)
    assert g.value == 1.0  # the indicator is 1 here and a constant to the derivative
    assert cr.grad(g, x).value == 0.0


# ------------------------------------------------------------------ the reproducers


def _cli(text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run("eval", "-", *args, stdin=text)


def test_second_derivative_through_bce_with_logits_from_the_cli() -> None:
    r = _cli("z = 0.3\nL = bce_with_logits(z, 1)\n", "--wrt", "z", "--order", "2", "--json")
    assert r.returncode == 0, r.stderr
    second = json.loads(r.stdout)["derivatives"]["z"]["2"]
    s = 1 / (1 + math.exp(-0.3))
    assert math.isclose(second, s * (1 - s), rel_tol=1e-12)


def test_exact_derivatives_of_every_order_are_printed_exactly() -> None:
    """--exact --order k: rational derivatives as fractions in the text, and every derivative's
    exact form in the JSON (sympy.diff is the reference)."""
    r = _cli("x = 1/2\ny = x ** 3 - 2*x\n", "--exact", "--wrt", "x", "--order", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-3:] == ["dy/dx = −5/4", "d²y/dx² = 3", "d³y/dx³ = 6"]
    r = _cli("x = 1/2\ny = x ** 3 + sigmoid(x)\n", "--exact", "--wrt", "x", "--order", "2",
             "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    exact = json.loads(r.stdout)["exact_derivatives"]["x"]
    s = sympy.Symbol("s")
    f = s**3 + 1 / (1 + sympy.exp(-s))
    for k in ("1", "2"):
        got = sympy.sympify(exact[k].replace("^", "**").replace("·", "*"))
        want = sympy.diff(f, s, int(k)).subs(s, sympy.Rational(1, 2))
        assert sympy.simplify(got - want) == 0, (k, exact[k])


def test_softmax_default_axis_and_keyword_parameters_in_programs() -> None:
    r = _cli("x = [1, 2, 3]\ny = softmax(x)\nL = sum(y * [1, 0, 2])\n", "--json")
    assert r.returncode == 0, r.stderr
    grads = json.loads(r.stdout)["gradients"]["x"]
    x = np.array([1.0, 2.0, 3.0])
    y = np.exp(x) / np.exp(x).sum()
    c = np.array([1.0, 0.0, 2.0])
    np.testing.assert_allclose(grads, y * (c - (y * c).sum()), rtol=1e-12)
    r = _cli("x = [[1, 2], [3, 4]]\ny = softmax(x, axis=0)\nL = y[0][1]\n", "--json")
    assert r.returncode == 0, r.stderr
    r = _cli("x = [1, 2]\ny = softmax(x, axs=0)\n")
    assert r.returncode == 2 and "no parameter 'axs'" in r.stderr and "line 2" in r.stderr
    r = _cli("x = [1, 2]\ny = softmax(x, axis=0.5)\n")
    assert r.returncode == 2 and "whole number" in r.stderr and "Traceback" not in r.stderr


def test_vector_literals_of_expressions_are_one_stack_node_in_float_and_exact() -> None:
    text = "a = 1/2\nz = [a, 2*a, -a]\np = log_softmax(z)\nL = -p[0]\n"
    for extra in ([], ["--exact"]):
        r = _cli(text, "--json", "--wrt", "a", "--order", "2", *extra)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        s = sympy.Symbol("s")
        zs = [s, 2 * s, -s]
        L = -(zs[0] - sympy.log(sum(sympy.exp(v) for v in zs)))
        for k in (1, 2):
            want = float(sympy.diff(L, s, k).subs(s, sympy.Rational(1, 2)))
            assert math.isclose(float(out["derivatives"]["a"][str(k)]), want, rel_tol=1e-9)


def test_gradient_graph_of_a_matrix_vector_product() -> None:
    W = cr.var(np.array([[1.0, 2.0], [3.0, 4.0]]))
    x = cr.var(np.array([0.5, -1.0]))
    gW = cr.grad(cr.sum(W @ x), W)
    np.testing.assert_allclose(gW.value, np.outer([1.0, 1.0], [0.5, -1.0]))


def test_ops_cannot_be_changed_or_replaced_once_registered() -> None:
    op = OPS["tanh"]
    with pytest.raises(AttributeError):
        op.partials = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        OPS["tanh"] = op  # type: ignore[index]
    with pytest.raises(ValueError):
        register(op)


def test_unknown_and_ill_typed_parameters_are_clear_errors_in_the_api() -> None:
    x = cr.var(np.array([1.0, 2.0]))
    with pytest.raises(ValueInputError, match="no parameter 'axes'"):
        apply(OPS["softmax"], (x,), {"axes": 0})
    with pytest.raises(ValueInputError, match="keepdims must be True or False"):
        apply(OPS["sum"], (x,), {"keepdims": 1})
    with pytest.raises(ValueInputError, match="takes no parameters"):
        apply(OPS["exp"], (x,), {"axis": 0})


@pytest.mark.parametrize("case", TENSOR_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_gradient_graph_equals_backward(case: tuple[Any, ...]) -> None:
    """The two uses of the one reverse step agree: numbers (backward) and nodes (grad)."""
    name, shapes, f, _fa = case
    rng = np.random.default_rng(5)
    vals = [rng.uniform(0.15, 0.85, s) if s else float(rng.uniform(0.15, 0.85)) for s in shapes]
    nodes = [cr.var(np.array(v) if s else v) for v, s in zip(vals, shapes, strict=True)]
    w = rng.normal(size=np.shape(f(*nodes).value))
    loss = _loss_cr(f, nodes, w)
    graphs = cr.grad(loss, nodes)
    loss.backward()
    for n, g in zip(nodes, graphs, strict=True):
        np.testing.assert_allclose(g.value, n.grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [n for n, op in OPS.items() if op.partials and op.vjps])
def test_readable_partials_agree_with_the_vjp(name: str) -> None:
    """Ops that declare both a readable local partial and a vjp: g · partial is the vjp."""
    x = cr.var(np.array([0.3, -1.2, 0.8]))
    y = cr.var(np.array([1.1, 0.4, -0.5]))
    out = apply(OPS[name], (x, y)[: OPS[name].arity])
    out.backward()
    for i in range(OPS[name].arity):
        local = out.local[i]  # type: ignore[index]
        assert local is not None
        np.testing.assert_allclose(
            cr.edge_contribution(out, i), np.broadcast_to(out.grad * local, (3,)), rtol=1e-14
        )


def test_an_axis_out_of_range_is_named_as_such() -> None:
    r = _cli("x = [1, 2]\ny = softmax(x, axis=2)\n")
    assert r.returncode == 2 and "axis 2 is out of bounds" in r.stderr and "line 2" in r.stderr
