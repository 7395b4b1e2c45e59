"""Every op of the table against independent references.

Scalar ops: the value against sympy, the generic partials evaluated on sympy symbols (SymMath)
against ``sympy.diff`` of a sympy forward written here, the float partials against the same
numbers and against central differences of the float forward. Array ops: reverse mode against
central differences of a numpy reference. A new op must be covered here or listed with the place
that tests it (``test_every_differentiable_op_is_covered``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy

import chainrule as cr
from chainrule.core.autodiff import contribution, local_partial
from chainrule.core.backends import ArrayMath, FloatMath, SymMath
from chainrule.core.node import apply
from chainrule.core.values import ARRAY, EXACT, FLOAT
from chainrule.ops import MATH, OPS
from chainrule.ops.layer import LAYER_OPS
from chainrule.ops.tensor import TENSOR_OPS

a_, b_ = sympy.symbols("a b", real=True)

# The sympy forward of every scalar op, written independently of the op table.
SYMPY_FORWARD: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "pow": lambda a, b: a**b,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "atan": sympy.atan,
    "tan": sympy.tan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "asinh": sympy.asinh,
    "log10": lambda a: sympy.log(a) / sympy.log(10),
    "log2": lambda a: sympy.log(a) / sympy.log(2),
    "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)),
    "relu": lambda a: sympy.Piecewise((a, a > 0), (0, True)),
    "abs": sympy.Abs,
    "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
    "maximum": sympy.Max,
    "minimum": sympy.Min,
    "mse": lambda a, b: (a - b) ** 2,
    "bce": lambda a, b: -(b * sympy.log(a) + (1 - b) * sympy.log(1 - a)),
    "dot": lambda a, b: a * b,
    "sum": lambda a: a,
    "mean": lambda a: a,
}

# Points away from kinks and inside each op's domain.
GENERAL = [(0.7, -1.3), (-0.4, 0.9), (1.9, 0.35), (-1.6, -0.55)]
POINTS: dict[str, list[tuple[float, ...]]] = {
    "pow": [(1.7, 0.6), (0.4, -1.3), (2.5, 3.0), (0.9, 2.2)],
    "log": [(0.3,), (1.7,), (4.2,)],
    "sqrt": [(0.3,), (1.7,), (4.2,)],
    "log10": [(0.3,), (1.7,), (4.2e5,)],
    "log2": [(0.3,), (1.7,), (42.0,)],
    "div": [(0.7, -1.3), (-0.4, 0.9), (1.9, 0.35)],
    "bce": [(0.3, 1.0), (0.8, 0.0), (0.55, 0.25)],
}

# Ops whose gradients are checked elsewhere, with the file that does it.
TESTED_ELSEWHERE = {name: "tests/test_tensor_ops.py" for name in TENSOR_OPS + LAYER_OPS}
TESTED_ELSEWHERE["torch_opaque"] = "tests/test_torch_bridge.py"


def points(name: str) -> list[tuple[float, ...]]:
    arity = OPS[name].arity
    return POINTS.get(name, [p[:arity] for p in GENERAL])


def scalar_ops() -> list[str]:
    return sorted(SYMPY_FORWARD)


def rat(x: float) -> sympy.Rational:
    return sympy.Rational(Fraction(x).numerator, Fraction(x).denominator)


def sym_value(expr: sympy.Expr, syms: tuple[sympy.Symbol, ...], at: tuple[float, ...]) -> float:
    return float(sympy.N(expr.xreplace(dict(zip(syms, map(rat, at), strict=True))), 30))


def close(a: float, b: float, rel: float, abs_: float = 0.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# ------------------------------------------------------------------ coverage


def test_every_differentiable_op_is_covered() -> None:
    array_cases = {name for name, *_ in ARRAY_CASES}
    missing = [
        name
        for name, op in OPS.items()
        if op.differentiable
        and op.arity != 0
        and name not in SYMPY_FORWARD
        and name not in array_cases
        and name not in TESTED_ELSEWHERE
    ]
    assert not missing, f"ops with no gradient test: {missing}"


def test_every_elementwise_op_with_partials_is_in_the_sympy_table_or_elsewhere() -> None:
    for name, op in OPS.items():
        if op.elementwise and op.partials is not None and op.differentiable:
            assert name in SYMPY_FORWARD or name in TESTED_ELSEWHERE, name


# ------------------------------------------------------------------ scalar ops


@pytest.mark.parametrize("name", scalar_ops())
def test_generic_partials_equal_sympy_diff(name: str) -> None:
    op = OPS[name]
    syms = (a_, b_)[: op.arity]
    fwd = SYMPY_FORWARD[name](*syms)
    assert op.partials is not None
    for i, s in enumerate(syms):
        rule = op.partials[i](SymMath, syms, fwd, None)
        expected = sympy.diff(fwd, s)
        for at in points(name):
            got = sym_value(sympy.sympify(rule), syms, at)
            want = sym_value(expected, syms, at)
            assert close(got, want, 1e-14, 1e-300), (name, i, at, got, want)


@pytest.mark.parametrize("name", scalar_ops())
def test_float_value_and_partials_against_sympy_and_central_differences(name: str) -> None:
    op = OPS[name]
    syms = (a_, b_)[: op.arity]
    fwd = SYMPY_FORWARD[name](*syms)
    f = op.forward[FLOAT]
    assert op.partials is not None
    for at in points(name):
        y = f(*at)
        assert isinstance(y, float)
        assert close(y, sym_value(fwd, syms, at), 1e-13, 1e-15), (name, at)
        for i, s in enumerate(syms):
            d = op.partials[i](FloatMath, at, y, None)
            want = sym_value(sympy.diff(fwd, s), syms, at)
            assert close(float(d), want, 1e-12, 1e-15), (name, i, at, d, want)
            h = 1e-6 * max(1.0, abs(at[i]))
            up = list(at)
            down = list(at)
            up[i] += h
            down[i] -= h
            numeric = (f(*up) - f(*down)) / (2 * h)
            assert close(float(d), numeric, 1e-6, 1e-8), (name, i, at, d, numeric)


@pytest.mark.parametrize("name", scalar_ops())
def test_graph_node_gradients_match_sympy(name: str) -> None:
    """The same op built through the public API: backward puts sympy's partials on the leaves
    and node.local / local_partial / edge_contribution agree with them."""
    op = OPS[name]
    syms = (a_, b_)[: op.arity]
    fwd = SYMPY_FORWARD[name](*syms)
    for at in points(name):
        leaves = [cr.var(v) for v in at]
        out = apply(op, tuple(leaves))
        out.backward()
        assert out.local is not None
        for i, (leaf, s) in enumerate(zip(leaves, syms, strict=True)):
            want = sym_value(sympy.diff(fwd, s), syms, at)
            assert close(leaf.grad, want, 1e-12, 1e-15), (name, i, at)
            assert close(out.local[i], want, 1e-12, 1e-15)
            assert close(local_partial(out, i), want, 1e-12, 1e-15)
            assert close(cr.edge_contribution(out, i), want, 1e-12, 1e-15)


RATIONAL_POINTS = [(Fraction(4, 5), Fraction(-7, 3)), (Fraction(-3, 2), Fraction(5, 4))]
RATIONAL_OPS = ["add", "sub", "mul", "div", "neg", "mse", "relu", "abs", "maximum", "minimum"]


@pytest.mark.parametrize("name", RATIONAL_OPS)
def test_exact_rational_ops_give_sympy_rationals(name: str) -> None:
    op = OPS[name]
    syms = (a_, b_)[: op.arity]
    fwd = SYMPY_FORWARD[name](*syms)
    for at in RATIONAL_POINTS:
        at = at[: op.arity]
        y = op.forward[EXACT](*at)
        want = fwd.xreplace(
            {s: sympy.Rational(v.numerator, v.denominator) for s, v in zip(syms, at, strict=True)}
        )
        assert isinstance(y, Fraction)
        assert sympy.Rational(y.numerator, y.denominator) == want
        for i, s in enumerate(syms):
            d = op.partials[i](MATH[EXACT], at, y, None)  # type: ignore[index]
            dwant = sympy.diff(fwd, s).xreplace(
                {
                    t: sympy.Rational(v.numerator, v.denominator)
                    for t, v in zip(syms, at, strict=True)
                }
            )
            assert sympy.nsimplify(sympy.sympify(d)) == sympy.simplify(dwant), (name, i, at)


EXACT_KINKS = {"relu", "abs", "maximum", "minimum"}  # sympy's Piecewise/Max read at a point


@pytest.mark.parametrize("name", scalar_ops())
def test_exact_partials_are_exact_and_equal_sympys_derivative(name: str) -> None:
    """At exact points (0.7 read as 7/10, as a program's literal is) every local partial stays
    exact — a Fraction or a sympy closed form, never a float — and equals sympy.diff exactly.
    (∂(a^b)/∂a at b = 3/5 was once Fraction ** Fraction, which Python answers in floats.)"""
    op = OPS[name]
    syms = (a_, b_)[: op.arity]
    fwd = SYMPY_FORWARD[name](*syms)
    for floats in points(name):
        at = tuple(Fraction(str(v)) for v in floats)
        where = {
            s: sympy.Rational(v.numerator, v.denominator) for s, v in zip(syms, at, strict=True)
        }
        y = op.forward[EXACT](*at)
        for i, s in enumerate(syms):
            d = op.partials[i](MATH[EXACT], at, y, None)  # type: ignore[index]
            assert isinstance(d, (int, Fraction, sympy.Basic)), (name, i, at, type(d))
            want = sympy.diff(fwd, s).xreplace(where)
            if name in EXACT_KINKS:
                want = want.doit()
            assert sympy.simplify(sympy.sympify(d) - want) == 0, (name, i, at, d, want)


def test_exact_pow_with_integer_exponent_is_rational() -> None:
    y = OPS["pow"].forward[EXACT](Fraction(2, 3), Fraction(3))
    assert y == Fraction(8, 27)


@pytest.mark.parametrize("name", scalar_ops())
def test_array_forward_and_partials_agree_with_floats(name: str) -> None:
    op = OPS[name]
    if not op.elementwise:
        return
    pts = points(name)
    cols = [np.array([p[i] for p in pts]) for i in range(op.arity)]
    y = op.forward[ARRAY](*cols)
    want = [op.forward[FLOAT](*p) for p in pts]
    np.testing.assert_allclose(y, want, rtol=1e-14)
    for i in range(op.arity):
        d = np.broadcast_to(op.partials[i](MATH[ARRAY], tuple(cols), y, None), y.shape)  # type: ignore[index]
        dwant = [op.partials[i](FloatMath, p, op.forward[FLOAT](*p), None) for p in pts]  # type: ignore[index]
        np.testing.assert_allclose(d, dwant, rtol=1e-14)


@pytest.mark.parametrize("name", ["step", "sign", "ge"])
def test_non_differentiable_ops_pass_no_gradient(name: str) -> None:
    op = OPS[name]
    assert not op.differentiable
    x = cr.var(0.7)
    y = cr.var(-0.2)
    out = apply(op, (x, y)[: op.arity]) * x
    out.backward()
    reference = {"step": 1.0, "sign": 1.0, "ge": 1.0}[name]
    assert out.args[0].value == reference
    assert x.grad == reference  # only through the product, not through the indicator


# ------------------------------------------------------------------ array ops


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


ARRAY_CASES: list[
    tuple[str, Callable[..., Any], Callable[..., Any], list[tuple[int, ...]], dict]
] = [
    ("sum", lambda a: cr.sum(a), lambda a: np.sum(a), [(3, 2)], {}),
    ("mean", lambda a: cr.mean(a), lambda a: np.mean(a), [(4,)], {}),
    ("dot", lambda a, b: cr.dot(a, b), lambda a, b: np.dot(a, b), [(3,), (3,)], {}),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3), (3, 4)], {}),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3), (3,)], {}),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(3,), (3, 2)], {}),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(3,), (3,)], {}),
    ("transpose", lambda a: a.T, lambda a: a.T, [(2, 3)], {}),
    ("index", lambda a: a[1], lambda a: a[1], [(3,)], {}),
    ("index", lambda a: a[1:3], lambda a: a[1:3], [(4,)], {}),
    (
        "scatter",
        lambda a: apply(OPS["scatter"], (a,), {"index": (slice(1, 3),), "shape": (4,)}),
        lambda a: np.concatenate([[0.0], a, [0.0]]),
        [(2,)],
        {},
    ),
    ("mse", lambda a, b: cr.mse(a, b), lambda a, b: np.mean((a - b) ** 2), [(4,), (4,)], {}),
    ("mse", lambda a, b: cr.mse(a, b), lambda a, b: np.mean((a - b) ** 2), [(4,), ()], {}),
    (
        "bce",
        lambda a, b: cr.bce(a, b),
        lambda a, b: np.mean(-(b * np.log(a) + (1 - b) * np.log(1 - a))),
        [(4,), (4,)],
        {"unit": True},
    ),
    ("add", lambda a, b: a + b, lambda a, b: a + b, [(2, 3), (3,)], {}),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, [(2, 3), (1, 3)], {}),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3,), ()], {"positive": True}),
]


@pytest.mark.parametrize("case", ARRAY_CASES, ids=lambda c: f"{c[0]}-{c[3]}")
def test_array_op_gradients_against_central_differences(case: tuple) -> None:
    name, build, reference, shapes, opts = case
    rng = _rng()
    inputs = []
    for shape in shapes:
        v = rng.uniform(0.2, 0.8, size=shape) if opts.get("unit") else rng.normal(size=shape)
        if opts.get("positive"):
            v = np.abs(v) + 0.5
        inputs.append(np.asarray(v, dtype=np.float64) if shape else float(v))
    nodes = [cr.var(v if isinstance(v, float) else v.copy()) for v in inputs]
    out = build(*nodes)
    assert out.op is OPS[name] or name in ("add", "mul", "div")
    weights = rng.normal(size=np.shape(out.value))
    loss = cr.sum(out * cr.const(weights)) if np.ndim(out.value) else out * float(weights)
    loss.backward()

    def f(*vals: Any) -> float:
        return float(np.sum(np.asarray(reference(*vals)) * weights))

    for k, v in enumerate(inputs):
        numeric = np.zeros(np.shape(v))
        for idx in np.ndindex(np.shape(v)):
            h = 1e-6
            up = [np.array(x, dtype=np.float64) for x in inputs]
            down = [np.array(x, dtype=np.float64) for x in inputs]
            up[k][idx] += h
            down[k][idx] -= h
            numeric[idx] = (f(*up) - f(*down)) / (2 * h)
        np.testing.assert_allclose(nodes[k].grad, numeric, rtol=1e-6, atol=1e-8)
        assert np.shape(nodes[k].grad) == np.shape(v)


# ------------------------------------------------------------------ every form of every op

# A program for each op that is not elementwise, to check that its JavaScript form recomputes
# in the explorer (elementwise ops are sampled on a vector); tests/test_explorer_browser.py
# runs the same programs in a browser.
FORM_SAMPLES: dict[str, str] = {
    "sum": "a = [[1.5, 2], [3, -4]]\nL = sum(sum(a, axis=0) * [1, 2])",
    "mean": "a = [[1.5, 2], [3, -4]]\nL = sum(mean(a, axis=1) * [1, 2]) + mean(a)",
    "dot": "a = [1.5, 2]\nb = [3, -4]\nL = dot(a, b)",
    "matmul": "A = [[1.5, 2], [3, -4]]\nb = [1, 2]\nL = sum((A @ b) * [1, 3])",
    "transpose": "A = [[1.5, 2], [3, -4]]\nL = sum(A.T * [[1, 2], [3, 4]])",
    "index": "a = [1.5, -3, 2]\nL = a[1] * a[2]",
    "scatter": "a = 1.5\nL = sum(scatter(a, index=1, shape=(3,)) * [1, 2, 3])",
    "mse": "a = [1.5, 2]\nb = [0.5, 3]\nL = mse(a, b)",
    "bce": "p = [0.3, 0.8]\nt = [0, 1]\nL = bce(p, t)",
    "reshape": "a = [[1.5, -3], [2, 3]]\nL = sum(reshape(a, shape=(4,)) * [1, 2, 3, 4])",
    "permute": "a = [[1.5, 2], [3, 4]]\nL = sum(permute(a, axes=(1, 0)) * [[1, 2], [3, 4]])",
    "concat": "a = [1.5, 2]\nb = [3.5]\nL = sum(concat(a, b) * [1, 2, 3])",
    "stack": "x = 0.7\ny = 1.3\nv = [x, 2 * y]\nL = sum(v * v)",
    "broadcast_to": "a = [1.5, -3]\nL = sum(broadcast_to(a, shape=(2, 2)) * [[1, 2], [3, 4]])",
    "sum_to": "a = [[1.5, -3], [2, 3]]\nL = sum(sum_to(a, shape=(1, 2)) * [[5, 7]])",
    "reduce_max": "a = [[1.5, 3, 2], [0.5, -1, 4]]\nL = sum(reduce_max(a, axis=1) * [1, 2])",
    "reduce_min": "a = [[1.5, 3, 2], [0.5, -1, 4]]\nL = sum(reduce_min(a, axis=1) * [1, 2])",
    "softmax": "a = [1.5, -3, 2]\nL = sum(softmax(a) * [1, 2, 3])",
    "log_softmax": "a = [1.5, -3, 2]\nL = sum(log_softmax(a) * [1, 2, 3])",
    "one_hot": "z = [1.5, 2]\nt = [0, 1]\nL = sum(one_hot(t, classes=2) * z)",
    "softmax_cross_entropy": "z = [[1, 2, 0.5], [0.1, 0.2, 0.3]]\nt = [2, 0]\n"
    "L = cross_entropy(z, t)",
    "bce_with_logits": "s = [0.3, -2]\nt = [1, 0]\nL = bce_with_logits(s, t)",
    "hinge": "s = [0.3, -2]\nt = [1, -1]\nL = hinge(s, t)",
    "linear": "x = [[1.5, 2]]\nW = [[1, 2], [3, 4]]\nb = [0.5, 0.1]\nL = sum(linear(x, W, b))",
    "sum_squares": "a = [1.5, 2]\nb = [3, -4]\nL = sum_squares(a, b)",
    "unfold": "x = [[[[1.5, 2, 3], [4, 5, 6], [7, 8, 9]]]]\n"
    "L = sum(unfold(x, kernel=2) * unfold(x, kernel=2))",
    "fold": "c = [[[1.5, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]]\n"
    "L = sum(fold(c, shape=(1, 1, 3, 3), kernel=2) * [[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]])",
    "conv2d": "x = [[[[1.5, 2, 3], [4, 5, 6], [7, 8, 9]]]]\nw = [[[[1, 0.5], [0.2, 0.1]]]]\n"
    "b = [0.3]\nL = sum(conv2d(x, w, b) * [[[[1, 2], [3, 4]]]])",
    "max_pool2d": "x = [[[[1.5, 2, 3, 4], [4, 5, 6, 1], [7, 8, 9, 2], [1, 2, 3, 4]]]]\n"
    "L = sum(max_pool2d(x, kernel=2) * [[[[1, 2], [3, 4]]]])",
    "avg_pool2d": "x = [[[[1.5, 2, 3, 4], [4, 5, 6, 1], [7, 8, 9, 2], [1, 2, 3, 4]]]]\n"
    "L = sum(avg_pool2d(x, kernel=2) * [[[[1, 2], [3, 4]]]])",
    "layer_norm": "x = [[1.5, 2, 3], [3, 1, 2]]\nw = [1, 2, 3]\nb = [0, 1, 0]\n"
    "L = sum(layer_norm(x, w, b) * [[1, 2, 3], [4, 5, 6]])",
    "batch_norm": "x = [[1.5, 2], [3, 1], [0, 5]]\nm = [0, 0]\nv = [1, 1]\nw = [1, 2]\nb = [0, 1]\n"
    "L = sum(batch_norm(x, m, v, w, b, training=True) * [[1, 2], [3, 4], [5, 6]])",
    "embedding": "W = [[1.5, 2], [3, 4], [5, 6]]\ni = [0, 2]\n"
    "L = sum(embedding(W, i) * [[1, 2], [3, 4]])",
    "dropout": "x = [1.5, 2]\nm = [1, 0]\nL = sum(dropout(x, m, p=0.5, training=True) * [1, 2])",
}


def form_sample(name: str) -> str | None:
    """The sample program of an op: its own, or its function on vectors for elementwise ops."""
    op = OPS[name]
    if name in FORM_SAMPLES:
        return FORM_SAMPLES[name]
    if not op.elementwise or op.arity not in (1, 2):
        return None
    call = f"{name}(a)" if op.arity == 1 else f"{name}(a, b)"
    return f"a = [0.3, 0.7]\nb = [0.6, 0.2]\nL = sum({call} * [1, 2])"


class _Indicators(ArrayMath):
    """ArrayMath noting whether a rule used an indicator (step, sign, ge): such a rule picks a
    side where the op has no derivative, so the op must state its convention there."""

    used = False

    @classmethod
    def _note(cls, f: Callable[..., Any]) -> Callable[..., Any]:
        def g(*a: Any) -> Any:
            cls.used = True
            return f(*a)

        return g

    @staticmethod
    def exponent_less_one(b: Any) -> Any:
        return b - 1  # pow's guard at b = 0 is not a kink of the function


_Indicators.step = staticmethod(_Indicators._note(ArrayMath.step))
_Indicators.sign = staticmethod(_Indicators._note(ArrayMath.sign))
_Indicators.ge = staticmethod(_Indicators._note(ArrayMath.ge))


def _rules_use_indicators(g: cr.Graph, op: Any) -> bool:
    _Indicators.used = False
    for n in g.nodes:
        if n.op is not op or n.grad is None:
            continue
        x = tuple(a.value for a in n.args)
        for i, a in enumerate(n.args):
            contribution(op, i, _Indicators, n.grad, x, n.value, n.params, a.value)
    return _Indicators.used


def test_every_op_declares_every_form_its_family_needs() -> None:
    """One home per op: its PyTorch form both ways, its JavaScript form (checked by compiling a
    sample into the explorer's program), its convention at a kink when its rules pick a side,
    and, for the scalar and array families, its function in the API (chainrule.atan)."""
    from chainrule.explorer.program import compile_graph
    from chainrule.functions import FAMILIES
    from chainrule.ops.table import NoForm, Torch, api_name

    problems: list[str] = []
    aten: dict[str, str] = {}
    for name, op in OPS.items():
        if op.arity == 0:
            continue
        if not isinstance(op.torch, Torch):
            problems.append(f"{name}: no PyTorch form (Op.torch)")
        else:
            for call in op.torch.aten:
                if call in aten:
                    problems.append(f"{name}: {call} is already read as {aten[call]}")
                aten[call] = name
            if op.family == "scalar" and op.differentiable and not op.torch.aten:
                problems.append(f"{name}: no ATen call for from_torch (Torch.aten)")
        if isinstance(op.js, NoForm):
            if not op.js.why:
                problems.append(f"{name}: NoForm needs its reason")
        elif op.in_programs:
            text = form_sample(name)
            if text is None:
                problems.append(f"{name}: add a program to FORM_SAMPLES to check its JavaScript")
                continue
            g = cr.parse(text)
            g.backward()
            if op not in {n.op for n in g.nodes}:
                problems.append(f"{name}: its sample does not use it")
            program = compile_graph(g)
            for why in program.frozen.values():
                problems.append(f"{name}: not recomputed in the page ({why})")
            for used in set(re.findall(r"\bcr\.(\w+)\(", program.code)):
                if f"cr.{used}=" not in program.code:
                    problems.append(f"{name}: its JavaScript calls cr.{used}, which no op defines")
            if op.differentiable and op.kink is None and _rules_use_indicators(g, op):
                problems.append(f"{name}: its rules pick a side at a kink: declare Op.kink")
        if op.family in FAMILIES and op.in_programs and api_name(op):
            f = getattr(cr.functions, api_name(op), None)
            if f is None or getattr(cr, api_name(op), None) is not f:
                problems.append(f"{name}: not chainrule.{api_name(op)} (the API is the table's)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["relu", "maximum", "reduce_max", "max_pool2d"])
def test_the_coverage_test_sees_a_missing_kink(name: str) -> None:
    """Without its convention, an op whose rules use an indicator is caught."""
    g = cr.parse(form_sample(name) or "")
    g.backward()
    assert OPS[name].kink is not None and _rules_use_indicators(g, OPS[name])
    smooth = "softmax"
    g = cr.parse(form_sample(smooth) or "")
    g.backward()
    assert not _rules_use_indicators(g, OPS[smooth])


def _aten_ops() -> list[str]:
    from chainrule.ops.table import Torch

    return [
        name
        for name, op in OPS.items()
        if isinstance(op.torch, Torch) and op.torch.aten and form_sample(name) is not None
    ]


@pytest.mark.parametrize("name", _aten_ops())
def test_every_op_with_an_aten_call_round_trips_through_pytorch(name: str) -> None:
    """to_torch replays the op's declared PyTorch call (values and gradients equal
    chainrule's), and from_torch reads the module back into the same op, natively."""
    torch = pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    g = cr.parse(form_sample(name) or "")
    g.backward()
    leaves = [n for n in cr.Graph(g.output).inputs if n.name and g.names.get(n.name) is n]
    module = cr.to_torch(cr.Graph(g.output), inputs=[n.name for n in leaves])
    given = [
        torch.tensor(np.asarray(n.value, dtype=np.float64), requires_grad=True) for n in leaves
    ]
    out = module(*given)
    out.backward()
    assert math.isclose(float(out.detach()), float(g.output.value), rel_tol=1e-12, abs_tol=1e-15), (
        name
    )
    for n, t in zip(leaves, given, strict=True):
        want = np.asarray(n.grad if n.grad is not None else np.zeros(np.shape(n.value)))
        got = t.grad.numpy() if t.grad is not None else np.zeros(np.shape(n.value))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"{name} ∂/∂{n.name}")
    back = cr.from_torch(module, *[t.detach() for t in given])
    same = {"transpose": "permute"}.get(name, name)  # PyTorch writes Aᵀ as a permutation
    assert OPS[same] in {n.op for n in back.nodes}, [n.op.name for n in back.nodes]
    assert math.isclose(float(back.output.value), float(g.output.value), rel_tol=1e-12), name


# ------------------------------------------------------------------ program functions


def test_gelu_in_programs_is_pytorchs_exact_form_unless_tanh_is_asked() -> None:
    import mpmath

    x = mpmath.mpf("0.7")
    phi = (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2
    exact = (float(x * phi), float(phi + x * mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)))
    c = mpmath.sqrt(2 / mpmath.pi)
    t = mpmath.tanh(c * (x + mpmath.mpf("0.044715") * x**3))
    dt = (1 - t * t) * c * (1 + 3 * mpmath.mpf("0.044715") * x * x)
    tanh = (float(x * (1 + t) / 2), float((1 + t) / 2 + x * dt / 2))
    for text, (value, slope) in (
        ("x = 0.7\nL = gelu(x)", exact),
        ("x = 0.7\nL = gelu(x, approximate='none')", exact),
        ('x = 0.7\nL = gelu(x, approximate="tanh")', tanh),
    ):
        g = cr.parse(text)
        g.backward()
        assert close(float(g["L"].value), value, 1e-15), text
        assert close(float(g["x"].grad), slope, 1e-14), text
    with pytest.raises(cr.ValueInputError, match="approximate must be 'none'"):
        cr.parse("x = 0.7\nL = gelu(x, approximate='fast')")


def test_max_and_min_of_one_vector_reduce_it() -> None:
    v = [1.5, 5.0, -2.0, 5.0]
    g = cr.parse(f"v = {v}\nL = max(v) + 2 * min(v) + amax(v) + amin(v)")
    g.backward()
    assert float(g["L"].value) == 2 * np.max(v) + 3 * np.min(v)
    # ties share the gradient equally; the smallest element takes 2 + 1
    np.testing.assert_array_equal(g["v"].grad, [0.0, 1.0, 3.0, 1.0])
    g = cr.parse("a = 2\nb = 3\nL = max(a, b) - min(a, b)")  # two numbers: the larger one
    assert float(g["L"].value) == 1


def test_an_unknown_function_name_suggests_the_nearest_one() -> None:
    with pytest.raises(cr.NameNotDefined) as err:
        cr.parse("x = 1\nL = sigmod(x)")
    assert "did you mean sigmoid()?" in str(err.value)
    assert "softplus" not in str(err.value)  # no list of every function
    with pytest.raises(cr.NameNotDefined) as err:
        cr.parse("x = 1\nL = frobnicate(x)")
    assert "did you mean" not in str(err.value)


def test_the_table_with_every_form_does_not_import_torch() -> None:
    """PyTorch forms receive the torch module when used: importing chainrule, the table and
    everything that reads it (explorer, drawings) never loads torch."""
    import subprocess
    import sys

    code = (
        "import sys, chainrule, chainrule.explorer.program, chainrule.draw.scalars\n"
        "g = chainrule.parse('x = [0.5, 1]\\nL = sum(asinh(x))'); g.backward()\n"
        "chainrule.explore(g)\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_aten_calls_stay_opaque_where_the_op_would_differ_from_pytorch() -> None:
    """A tie in torch.maximum (PyTorch splits the gradient) and softplus past its threshold
    (PyTorch returns x itself) stay PyTorch's own; elsewhere the same calls are native."""
    torch = pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    F = torch.nn.functional

    def f(a: Any, b: Any) -> Any:
        return (torch.maximum(a, b) * F.softplus(10 * a)).sum()

    def ops(a: list[float], b: list[float]) -> set[str]:
        ta, tb = (torch.tensor(v, dtype=torch.float64) for v in (a, b))
        g = cr.from_torch(f, ta, tb)
        g.backward()
        ra, rb = (t.clone().requires_grad_() for t in (ta, tb))
        f(ra, rb).backward()
        np.testing.assert_allclose(g.inputs[0].grad, ra.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(g.inputs[1].grad, rb.grad.numpy(), rtol=1e-12)
        return {n.op.name for n in g.nodes}

    assert {"maximum", "softplus"} <= ops([0.1, 0.2], [0.3, -0.1])
    tied = ops([0.1, 0.2], [0.1, -0.1])
    assert "maximum" not in tied and "torch_opaque" in tied
    past = ops([0.1, 2.5], [0.3, -0.1])  # 10 · 2.5 > 20
    assert "softplus" not in past and "torch_opaque" in past
