"""Every tensor op's gradient against central differences and against HIPS autograd."""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as anp
import layer_refs as R
import numpy as np
import pytest
from autograd import grad as ag_grad
from autograd.scipy.special import erf as ag_erf

import chainrule as cr
import chainrule.tensor as L
import chainrule.tensor as T
from chainrule.core.errors import ShapeError, ValueInputError
from chainrule.core.node import apply

RNG = np.random.default_rng(20240501)


def _sig(x):
    return 1 / (1 + anp.exp(-x))


def _lsm(x, axis=-1):
    m = anp.max(x, axis=axis, keepdims=True)
    return x - m - anp.log(anp.sum(anp.exp(x - m), axis=axis, keepdims=True))


def _gelu(x):  # PyTorch's default GELU: exact, x·Φ(x)
    return 0.5 * x * (1 + ag_erf(x / np.sqrt(2)))


def _gelu_tanh(x):
    return 0.5 * x * (1 + anp.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


LABELS = np.array([2, 0, 1, 2])
PROBS = RNG.dirichlet(np.ones(3), size=4)
SIGNS = np.array([1.0, -1.0, -1.0, 1.0, 1.0])
TARGET01 = RNG.uniform(0, 1, size=(5,))
ROWS = np.array([[3.0, 0.0, 3.0], [1.0, 4.0, 2.0]])
MASK = (RNG.uniform(size=(3, 4)) > 0.4).astype(float)
_WIN = {"kernel": (2, 2), "stride": (1, 2), "padding": (1, 0), "dilation": (1, 1)}


def _unfold(a):
    return apply(cr.OPS["unfold"], (a,), _WIN)


def _fold(a):
    return apply(cr.OPS["fold"], (a,), {"shape": (1, 2, 3, 4), **_WIN})


def _positive(v):
    return np.abs(v) + 0.5


# name, input shapes, chainrule function, autograd function, transform of random inputs
CASES: list[tuple[str, list[tuple[int, ...]], Callable, Callable, Callable | None]] = [
    ("reshape", [(3, 4)], lambda a: T.reshape(a, (2, 6)), lambda a: anp.reshape(a, (2, 6)), None),
    ("reshape -1", [(2, 3, 2)], lambda a: T.reshape(a, -1), lambda a: anp.reshape(a, -1), None),
    (
        "transpose axes",
        [(2, 3, 4)],
        lambda a: T.transpose(a, (2, 0, 1)),
        lambda a: anp.transpose(a, (2, 0, 1)),
        None,
    ),
    ("transpose", [(3, 4)], lambda a: T.transpose(a), lambda a: a.T, None),
    ("flatten", [(2, 3, 4)], lambda a: T.flatten(a), lambda a: anp.reshape(a, (2, -1)), None),
    (
        "concatenate",
        [(2, 3), (2, 2)],
        lambda a, b: T.concatenate([a, b], axis=1),
        lambda a, b: anp.concatenate([a, b], axis=1),
        None,
    ),
    (
        "concatenate axis 0",
        [(1, 3), (2, 3), (1, 3)],
        lambda a, b, c: T.concatenate([a, b, c]),
        lambda a, b, c: anp.concatenate([a, b, c], axis=0),
        None,
    ),
    (
        "stack",
        [(2, 3), (2, 3)],
        lambda a, b: T.stack([a, b], axis=-1),
        lambda a, b: anp.stack([a, b], axis=-1),
        None,
    ),
    (
        "sum axes",
        [(2, 3, 4)],
        lambda a: T.sum(a, axis=(0, 2)),
        lambda a: anp.sum(a, axis=(0, 2)),
        None,
    ),
    (
        "sum keepdims",
        [(2, 3, 4)],
        lambda a: T.sum(a, axis=1, keepdims=True),
        lambda a: anp.sum(a, axis=1, keepdims=True),
        None,
    ),
    ("sum all", [(2, 3)], lambda a: T.sum(a), lambda a: anp.sum(a), None),
    ("mean axis", [(3, 5)], lambda a: T.mean(a, axis=-1), lambda a: anp.mean(a, axis=-1), None),
    ("mean all", [(3, 5)], lambda a: T.mean(a), lambda a: anp.mean(a), None),
    ("max axis", [(4, 5)], lambda a: T.max(a, axis=1), lambda a: anp.max(a, axis=1), None),
    ("max all", [(4, 5)], lambda a: T.max(a), lambda a: anp.max(a), None),
    (
        "min axis",
        [(4, 5)],
        lambda a: apply(cr.OPS["reduce_min"], (a,), {"axis": 1}),
        lambda a: anp.min(a, axis=1),
        None,
    ),
    ("min all", [(4, 5)], lambda a: apply(cr.OPS["reduce_min"], (a,)), lambda a: anp.min(a), None),
    ("index slice", [(4, 5)], lambda a: a[1:, ::2], lambda a: a[1:, ::2], None),
    (
        "index repeated",
        [(4, 3)],
        lambda a: a[np.array([0, 2, 0])],
        lambda a: a[np.array([0, 2, 0])],
        None,
    ),
    ("matmul", [(3, 4), (4, 5)], lambda a, b: T.matmul(a, b), lambda a, b: a @ b, None),
    ("matmul vector", [(4,), (4, 5)], lambda a, b: T.matmul(a, b), lambda a, b: a @ b, None),
    ("matmul stack", [(2, 3, 4), (4, 5)], lambda a, b: T.matmul(a, b), lambda a, b: a @ b, None),
    (
        "matmul stack vector",
        [(2, 3, 4), (4,)],
        lambda a, b: T.matmul(a, b),
        lambda a, b: anp.matmul(a, b),
        None,
    ),
    (
        "matmul broadcast batch",
        [(2, 1, 3, 4), (5, 4, 2)],
        lambda a, b: T.matmul(a, b),
        lambda a, b: anp.matmul(a, b),
        None,
    ),
    ("add broadcast", [(3, 4), (4,)], lambda a, b: a + b, lambda a, b: a + b, None),
    ("mul broadcast", [(3, 1), (1, 4)], lambda a, b: a * b, lambda a, b: a * b, None),
    ("div broadcast", [(2, 3), (3,)], lambda a, b: a / b, lambda a, b: a / b, None),
    ("sub scalar array", [(), (2, 3)], lambda a, b: a - b, lambda a, b: a - b, None),
    (
        "broadcast_to",
        [(3, 1)],
        lambda a: T.broadcast_to(a, (2, 3, 4)),
        lambda a: a + anp.zeros((2, 3, 4)),
        None,
    ),
    (
        "sum_to",
        [(2, 3, 4)],
        lambda a: T.sum_to(a, (3, 1)),
        lambda a: anp.sum(anp.sum(a, axis=0), axis=1, keepdims=True),
        None,
    ),
    ("exp", [(3, 4)], cr.exp, anp.exp, None),
    ("log", [(3, 4)], cr.log, anp.log, lambda v: np.abs(v) + 0.5),
    ("tanh", [(3, 4)], cr.tanh, anp.tanh, None),
    ("sigmoid", [(3, 4)], cr.sigmoid, _sig, None),
    ("relu", [(3, 4)], cr.relu, lambda a: anp.maximum(a, 0), None),
    (
        "leaky_relu",
        [(3, 4)],
        lambda a: T.leaky_relu(a, 0.1),
        lambda a: anp.where(a > 0, a, 0.1 * a),
        None,
    ),
    ("gelu", [(3, 4)], T.gelu, _gelu, None),
    ("gelu tanh", [(3, 4)], lambda a: T.gelu(a, approximate="tanh"), _gelu_tanh, None),
    ("erf", [(3, 4)], T.erf, ag_erf, None),
    ("softmax", [(3, 4)], lambda a: T.softmax(a, axis=0), lambda a: anp.exp(_lsm(a, axis=0)), None),
    ("log_softmax", [(3, 4)], T.log_softmax, _lsm, None),
    (
        "cross_entropy labels",
        [(4, 3)],
        lambda z: T.cross_entropy(z, LABELS),
        lambda z: -anp.mean(_lsm(z)[np.arange(4), LABELS]),
        None,
    ),
    (
        "cross_entropy probabilities",
        [(4, 3), (4, 3)],
        lambda z, p: T.cross_entropy(z, p),
        lambda z, p: -anp.sum(p * _lsm(z)) / 4,
        None,
    ),
    (
        "bce_with_logits",
        [(5,)],
        lambda z: T.bce_with_logits(z, TARGET01),
        lambda z: -anp.mean(TARGET01 * anp.log(_sig(z)) + (1 - TARGET01) * anp.log(1 - _sig(z))),
        None,
    ),
    (
        "hinge",
        [(5,)],
        lambda s: T.hinge(s, SIGNS),
        lambda s: anp.mean(anp.maximum(0, 1 - SIGNS * s)),
        None,
    ),
    ("mse", [(3, 2), (3, 2)], cr.mse, lambda a, b: anp.mean((a - b) ** 2), None),
    ("linear", [(5, 3), (3, 4), (4,)], T.linear, lambda x, w, b: x @ w + b, None),
    ("linear stack", [(2, 5, 3), (3, 4), (4,)], T.linear, lambda x, w, b: x @ w + b, None),
    (
        "linear (out, in)",
        [(5, 3), (4, 3), (4,)],
        lambda x, w, b: T.linear(x, w, b, transpose_w=True),
        lambda x, w, b: x @ w.T + b,
        None,
    ),
    (
        "linear (out, in) stack",
        [(2, 5, 3), (4, 3), (4,)],
        lambda x, w, b: T.linear(x, w, b, transpose_w=True),
        lambda x, w, b: x @ w.T + b,
        None,
    ),
    ("unfold", [(2, 2, 3, 4)], _unfold, lambda a: _ref_unfold(a), None),
    ("fold", [(1, 8, 8)], _fold, lambda a: _ref_fold(a), None),
    (
        "conv2d",
        [(2, 3, 5, 4), (4, 3, 3, 3), (4,)],
        lambda x, w, b: L.conv2d(x, w, b, stride=(2, 1), padding=1),
        lambda x, w, b: _ref_conv(x, w, b),
        None,
    ),
    (
        "conv2d dilated",
        [(1, 2, 6, 6), (3, 2, 2, 2), (3,)],
        lambda x, w, b: L.conv2d(x, w, b, dilation=2),
        lambda x, w, b: R.conv2d(x, w, b, d=2),
        None,
    ),
    (
        "max_pool2d",
        [(2, 3, 4, 6)],
        lambda x: L.max_pool2d(x, 2),
        lambda x: R.max_pool2d(x, 2),
        None,
    ),
    (
        "max_pool2d overlapping",
        [(1, 2, 5, 5)],
        lambda x: L.max_pool2d(x, 3, stride=1),
        lambda x: R.max_pool2d(x, 3, 1),
        None,
    ),
    (
        "avg_pool2d padded",
        [(2, 2, 5, 4)],
        lambda x: L.avg_pool2d(x, 2, stride=2, padding=1),
        lambda x: R.avg_pool2d(x, 2, 2, 1),
        None,
    ),
    (
        "layer_norm",
        [(3, 5), (5,), (5,)],
        lambda x, w, b: L.layer_norm(x, w, b),
        R.layer_norm,
        None,
    ),
    (
        "layer_norm two axes",
        [(2, 3, 4), (3, 4), (4,)],
        lambda x, w, b: L.layer_norm(x, w, b, dims=2),
        lambda x, w, b: R.layer_norm(x, w, b, dims=2),
        None,
    ),
    (
        "batch_norm eval",
        [(4, 3, 2, 2), (3,), (3,), (3,), (3,)],
        lambda x, m, v, w, b: L.batch_norm(x, m, v, w, b),
        R.batch_norm,
        _positive,
    ),
    (
        "batch_norm training",
        [(4, 3, 2, 2), (3,), (3,), (3,), (3,)],
        lambda x, m, v, w, b: L.batch_norm(x, m, v, w, b, training=True),
        lambda x, m, v, w, b: R.batch_norm(x, m, v, w, b, training=True),
        None,
    ),
    (
        "batch_norm training flat",
        [(5, 3), (3,), (3,), (3,), (3,)],
        lambda x, m, v, w, b: L.batch_norm(x, m, v, w, b, training=True),
        lambda x, m, v, w, b: R.batch_norm(x, m, v, w, b, training=True),
        None,
    ),
    ("embedding", [(5, 3)], lambda w: L.embedding(w, ROWS), lambda w: w[ROWS.astype(int)], None),
    (
        "dropout training",
        [(3, 4)],
        lambda x: apply(cr.OPS["dropout"], (x, cr.const(MASK)), {"p": 0.25}),
        lambda x: x * MASK / 0.75,
        None,
    ),
    (
        "dropout eval",
        [(3, 4)],
        lambda x: L.dropout(x, 0.25, training=False),
        lambda x: x,
        None,
    ),
    (
        "sum_squares",
        [(2, 3), (4,), ()],
        lambda a, b, c: T.sum_squares([a, b, c]),
        lambda a, b, c: anp.sum(a**2) + anp.sum(b**2) + c**2,
        None,
    ),
]


def _ref_unfold(a):
    return R.unfold(a, 2, (1, 2), (1, 0))


def _ref_fold(a):
    return R.fold(a, (1, 2, 3, 4), 2, (1, 2), (1, 0))


def _ref_conv(x, w, b):
    return R.conv2d(x, w, b, (2, 1), 1)


def _inputs(shapes, transform):
    vals = [RNG.normal(size=s) if s else float(RNG.normal()) for s in shapes]
    if transform is not None:
        vals = [transform(v) for v in vals]
    return vals


def _weights_for(out_shape):
    return RNG.normal(size=out_shape) if out_shape else 1.0


def _scalar_cr(f, vals, weights):
    nodes = [cr.var(np.array(v) if np.ndim(v) else float(v)) for v in vals]
    out = f(*nodes)
    loss = T.sum(out * weights) if out.shape else out
    return nodes, loss


def _numeric(f, vals, weights, eps=1e-6):
    grads = []
    for k, v in enumerate(vals):
        base = np.array(v, dtype=np.float64)
        gk = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += eps
            minus[idx] -= eps
            vp = list(vals)
            vm = list(vals)
            vp[k] = plus if base.shape else float(plus)
            vm[k] = minus if base.shape else float(minus)
            hi = _scalar_cr(f, vp, weights)[1].value
            lo = _scalar_cr(f, vm, weights)[1].value
            gk[idx] = (hi - lo) / (2 * eps)
        grads.append(gk)
    return grads


@pytest.mark.parametrize("name, shapes, f, fa, transform", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_autograd_and_central_differences(name, shapes, f, fa, transform):
    vals = _inputs(shapes, transform)
    probe = f(*[cr.var(np.array(v) if np.ndim(v) else float(v)) for v in vals])
    expected_value = fa(*vals)
    np.testing.assert_allclose(probe.value, expected_value, rtol=1e-10, atol=1e-12)
    weights = _weights_for(probe.shape)
    nodes, loss = _scalar_cr(f, vals, weights)
    loss.backward()

    def scalar_ag(*xs):
        out = fa(*xs)
        return anp.sum(out * weights)

    numeric = _numeric(f, vals, weights)
    for k, node in enumerate(nodes):
        expected = ag_grad(scalar_ag, k)(*[np.array(v, dtype=float) for v in vals])
        np.testing.assert_allclose(node.grad, expected, rtol=1e-9, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(node.grad, numeric[k], rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_through_a_network(dtype):
    x = T.tensor(RNG.normal(size=(4, 3)), dtype=dtype, requires_grad=False)
    w = T.tensor(RNG.normal(size=(3, 5)), dtype=dtype)
    b = T.tensor(np.zeros(5), dtype=dtype)
    h = T.gelu(T.linear(x, w, b))
    z = T.log_softmax(T.leaky_relu(h) * 2.0 + 1.0)
    assert z.value.dtype == dtype
    loss = T.cross_entropy(z, np.array([0, 1, 4, 2])) + 1e-3 * T.sum_squares([w])
    loss.backward()
    assert w.grad.dtype == dtype and b.grad.dtype == dtype


def test_max_ties_share_the_gradient():
    a = cr.var(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]))
    T.sum(T.max(a, axis=1)).backward()
    np.testing.assert_array_equal(a.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])


def test_softmax_and_losses_are_stable_for_huge_logits():
    z = cr.var(np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 3.0]]))
    s = T.softmax(z)
    assert np.all(np.isfinite(s.value))
    np.testing.assert_allclose(s.value.sum(axis=1), 1.0)
    loss = T.cross_entropy(z, np.array([1, 1]))
    loss.backward()
    # row 0 puts all mass on class 0: −log p[1] = 2000; row 1 is certain of class 1: 0
    np.testing.assert_allclose(loss.value, 1000.0, rtol=1e-12)
    assert np.all(np.isfinite(z.grad))
    b = T.bce_with_logits(cr.var(np.array([800.0, -800.0])), np.array([0.0, 1.0]))
    np.testing.assert_allclose(b.value, 800.0)


def test_broadcast_bias_gradient_sums_over_rows():
    x = cr.const(RNG.normal(size=(6, 3)))
    b = cr.var(np.zeros((1, 3)))
    T.sum((x + b) * 2.0).backward()
    np.testing.assert_allclose(b.grad, np.full((1, 3), 12.0))


def test_shape_mistakes_raise_chainrule_errors():
    a = cr.var(np.ones((2, 3)))
    with pytest.raises(ShapeError):
        T.reshape(a, (4, 2))
    with pytest.raises(ShapeError):
        T.concatenate([a, cr.var(np.ones((3, 3)))], axis=1)
    with pytest.raises(ShapeError):
        T.sum(a, axis=2)
    with pytest.raises(ShapeError):
        T.cross_entropy(a, np.array([0, 1, 2]))
    with pytest.raises(ValueInputError):
        T.cross_entropy(a, np.array([0, 3]))
    with pytest.raises(ValueInputError):
        T.cross_entropy(a, np.array([0.5, 1]))
    with pytest.raises(ValueInputError):
        T.cross_entropy(a, np.array([0.0, -1.0]))
    for labels in (np.array([0.0, 0.0]), np.zeros((2, 0))):
        with pytest.raises(ShapeError, match="no classes"):
            T.cross_entropy(cr.var(np.zeros((2, 0))), labels)
    with pytest.raises(ShapeError):
        T.linear(a, cr.var(np.ones((2, 2))), cr.var(np.ones(2)))


def test_tensor_ops_are_in_the_op_table_with_rules():
    from chainrule.ops.tensor import TENSOR_OPS

    for name in TENSOR_OPS:
        op = cr.OPS[name]
        assert op.partials is not None or op.vjps is not None or not op.differentiable, name


def test_gradient_of_tensor_ops_as_a_graph():
    """The same vjp rules build the gradient as nodes (higher order)."""
    x0 = RNG.normal(size=(3, 4))
    w = RNG.normal(size=(3, 4))
    x = cr.var(x0)
    out = T.sum(T.softmax(T.reshape(T.transpose(x), (4, 3)), axis=0) * w.T)
    g = cr.grad(out, x)

    def f(a):
        return anp.sum(anp.exp(_lsm(anp.reshape(a.T, (4, 3)), axis=0)) * w.T)

    np.testing.assert_allclose(g.value, ag_grad(f)(x0), rtol=1e-10, atol=1e-12)


def test_log_softmax_keeps_the_digits_of_a_dominant_logit() -> None:
    """log_softmax([19, −5])₀ = −log(1 + e^−24) = −3.7751345442078395e−11: computed from the
    rounded sum 1.0000000000377 it is off in the 7th digit (PyTorch's is); the largest term is
    kept out of the sum and put back with log1p. Ties and float32 keep working."""
    import mpmath

    from chainrule.core.backends import log_softmax_array

    with mpmath.workdps(40):
        want = float(-mpmath.log(1 + mpmath.exp(-24)))
    got = log_softmax_array(np.array([19.0, -5.0]))[0]
    assert abs(got - want) <= 1e-15 * abs(want)
    tied = log_softmax_array(np.array([[1.0, 1.0, 0.0]], dtype=np.float32))
    assert tied.dtype == np.float32
    assert np.allclose(tied, np.log(np.exp([1.0, 1.0, 0.0]) / np.exp([1.0, 1.0, 0.0]).sum()))


# ------------------------------------------------------------------ what ops keep for backward


def _batch_logits(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    z = np.random.default_rng(3).normal(size=shape).reshape(-1, shape[-1])
    z[0] = 0.0  # every class tied
    z[1, :2] = 2.0  # two tied maxima
    z[2, 0] = 40.0  # one dominant logit
    return z.reshape(shape).astype(dtype)


@pytest.mark.parametrize("shape", [(3, 4), (40, 10), (2, 20, 8), (12, 100)])
def test_cross_entropy_at_labels_against_forty_digit_arithmetic(shape):
    """Both layouts of the labelled loss (rows first, and classes first for many short rows)
    against mpmath, with tied and dominant rows, where a loss of 1e-17 must keep its digits."""
    import mpmath

    from chainrule.ops.tensor import _xent

    z = _batch_logits(shape, np.float64)
    rows = z.reshape(-1, shape[-1])
    labels = np.arange(rows.shape[0]) % shape[-1]
    labels[2] = 0  # the dominant logit's own class: a loss of about e^−40
    with mpmath.workdps(40):
        terms = [
            mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))
            - mpmath.mpf(float(row[k]))
            for row, k in zip(rows, labels, strict=True)
        ]
        want = float(mpmath.fsum(terms) / len(terms))
        dominant = float(terms[2])
    got = _xent(z, labels.reshape(shape[:-1]).astype(np.float64))
    assert abs(got - want) <= 1e-14 * abs(want)
    alone = _xent(rows[2:3], np.array([0.0]))
    assert abs(alone - dominant) <= 1e-14 * dominant


_KEEPING_EXAMPLES: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
    "softmax_cross_entropy": [
        # class labels, float32 logits (the usual training batch)
        (np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], np.float32), np.array([0.0, 2.0])),
        # one dominant logit (log_softmax's accurate path)
        (np.array([[30.0, -5.0, 1.0], [0.0, 0.0, 0.0]]), np.array([0.0, 1.0])),
        # probabilities that do not sum to one, batch axes
        (np.linspace(-1, 1, 12).reshape(2, 2, 3), np.linspace(0.1, 0.9, 12).reshape(2, 2, 3)),
        # a batch large enough to be reduced classes-first, with tied and dominant rows
        (_batch_logits((40, 10), np.float32), np.arange(40.0) % 10),
        (_batch_logits((2, 20, 8), np.float64), (np.arange(40.0) % 8).reshape(2, 20)),
    ],
}


def _keeping_ops() -> list[str]:
    from chainrule.ops import OPS

    return sorted(op.name for op in OPS.values() if op.keeping is not None)


@pytest.mark.parametrize("name", _keeping_ops())
def test_what_an_op_keeps_gives_the_gradient_its_vjps_give(name):
    """The kept shortcut and the rules every other backend uses must agree, on every example
    (an op that starts keeping something needs examples here)."""
    from chainrule.core.autodiff import evaluate, topo_order
    from chainrule.ops import OPS

    assert name in _KEEPING_EXAMPLES, f"add examples for {name} to _KEEPING_EXAMPLES"
    for z0, t0 in _KEEPING_EXAMPLES[name]:
        z, t = cr.var(z0), cr.const(t0)
        out = apply(OPS[name], (z, t))
        assert out.kept is not None
        out.backward()
        kept_grad = np.array(z.grad)
        # the same node recomputed: what was kept belongs to the old value and is dropped
        evaluate(topo_order(out))
        assert out.kept is None
        out.backward(accumulate=False)
        np.testing.assert_allclose(kept_grad, z.grad, rtol=1e-6, atol=1e-7)
        assert kept_grad.dtype == z0.dtype
        # and both agree with central differences
        h = 1e-6
        z64 = z0.astype(np.float64)
        numeric = np.zeros_like(z64)
        for i in np.ndindex(z64.shape):
            up, down = z64.copy(), z64.copy()
            up[i] += h
            down[i] -= h
            f_up = apply(OPS[name], (cr.const(up), cr.const(t0))).value
            f_down = apply(OPS[name], (cr.const(down), cr.const(t0))).value
            numeric[i] = (f_up - f_down) / (2 * h)
        rtol = 1e-3 if z0.dtype == np.float32 else 1e-6
        np.testing.assert_allclose(kept_grad, numeric, rtol=rtol, atol=1e-6)


def test_nothing_is_kept_where_no_gradient_will_be_asked_for():
    from chainrule.core.gradmode import no_grad

    z = cr.var(np.array([[1.0, 2.0]]))
    assert T.cross_entropy(cr.const(z.value), cr.const(np.array([1.0]))).kept is None
    with no_grad():
        assert T.cross_entropy(z, cr.const(np.array([1.0]))).kept is None
    # an exact logit array keeps nothing either: its gradients come from the exact rules
    ze = cr.var([1, 2], exact=True)
    assert T.cross_entropy(ze, cr.const(1, exact=True)).kept is None


def test_an_op_that_keeps_needs_rules_that_use_it():
    from chainrule.ops import Op
    from chainrule.ops.table import fn

    with pytest.raises(ValueError, match="come together"):
        Op("k", 1, {}, fn("k", "k"), vjps=(lambda *a: None,), keeping={})
    with pytest.raises(ValueError, match="one per input"):
        Op("k", 2, {}, fn("k", "k"), vjps=(lambda *a: None,) * 2, keeping={}, kept_vjps=(None,))


def test_a_layer_of_the_wrong_shape_names_the_weight_layout():
    x = cr.const(np.ones((1, 2)))
    with pytest.raises(ShapeError, match=r"\(1, 3\) \(PyTorch's \(out, in\), transpose_w=True\)"):
        T.linear(x, cr.var(np.ones((1, 3))), cr.var(np.zeros(1)), transpose_w=True)
    with pytest.raises(ShapeError, match=r"weights of shape \(3, 1\) cannot take inputs"):
        T.linear(x, cr.var(np.ones((3, 1))), cr.var(np.zeros(1)))
