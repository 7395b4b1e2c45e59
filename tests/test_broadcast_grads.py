"""Every loss and every op that broadcasts, against PyTorch in float64, on shapes where *both*
inputs broadcast (a (2, 1) against a (1, 3), a (3,) against a (2, 1, 3) ...): the value and the
gradient of each input, in float and in exact arithmetic.

The losses average over the broadcast elements (PyTorch's ``mse_loss`` of a (2, 1) against a
(1, 3) divides by 6); a gradient divided by the larger input's size, or a partial shaped like one
input only, is caught here."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t_mse(a: Any, b: Any) -> Any:
    a2, b2 = torch.broadcast_tensors(a, b)
    return F.mse_loss(a2, b2)


def _t_bce(p: Any, t: Any) -> Any:
    p2, t2 = torch.broadcast_tensors(p, t)
    return F.binary_cross_entropy(p2, t2)


# name, program expression, PyTorch, domain of a, domain of b, reduces to a number itself
OPS: list[tuple[str, str, Callable[..., Any], str, str, bool]] = [
    ("add", "a + b", lambda a, b: a + b, "any", "any", False),
    ("sub", "a - b", lambda a, b: a - b, "any", "any", False),
    ("mul", "a * b", lambda a, b: a * b, "any", "any", False),
    ("div", "a / b", lambda a, b: a / b, "any", "nonzero", False),
    ("pow", "a ** b", lambda a, b: a**b, "positive", "any", False),
    ("maximum", "maximum(a, b)", torch.maximum, "any", "any", False),
    ("minimum", "minimum(a, b)", torch.minimum, "any", "any", False),
    ("ge", "ge(a, b)", lambda a, b: (a >= b).to(a.dtype) + 0 * (a + b), "any", "any", False),
    ("mse", "mse(a, b)", _t_mse, "any", "any", True),
    ("bce", "bce(a, b)", _t_bce, "prob", "unit", True),
]

# the values drawn: exact in binary and in decimal, so float and exact programs read the same
_ANY = [Fraction(k, 4) for k in range(-12, 13)]
_DOMAINS = {
    "any": _ANY,
    "nonzero": [v for v in _ANY if v != 0],
    "positive": [v for v in _ANY if v > 0],
    "prob": [Fraction(k, 8) for k in range(1, 8)],
    "unit": [Fraction(k, 4) for k in range(0, 5)],
}


@st.composite
def broadcast_pair(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast against each other, each of them stretched (a size-1 or a
    missing axis): neither is the shape of the result."""
    ndim = draw(st.integers(1, 3))
    full = [draw(st.integers(2, 3)) for _ in range(ndim)]
    a = tuple(n if draw(st.booleans()) else 1 for n in full)
    b = tuple(n if draw(st.booleans()) else 1 for n in full)
    a = a[draw(st.integers(0, ndim - 1)) :] if a[0] == 1 else a  # leading axes may be missing
    b = b[draw(st.integers(0, ndim - 1)) :] if b[0] == 1 else b
    out = np.broadcast_shapes(a, b)
    if a == out or b == out:
        # stretch each along a different axis: (n, 1, ...) against (1, m, ...), or (1,) and (n,)
        a = (full[0],) + (1,) * (ndim - 1) if ndim > 1 else (1,)
        b = (1,) + tuple(full[1:]) if ndim > 1 else (full[0],)
        if ndim > 1:
            return a, b
        return (1,), (full[0],)  # one axis: only one of them can stretch
    return a, b


def _literal(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return "[" + ", ".join(_literal(e) for e in v) + "]"
    f = Fraction(v)
    return repr(float(f))  # quarters and eighths: exact decimals, so exact mode reads them exactly


def _values(draw: Any, shape: tuple[int, ...], domain: str) -> np.ndarray:
    pool = _DOMAINS[domain]
    n = int(np.prod(shape)) if shape else 1
    flat = [draw(st.sampled_from(pool)) for _ in range(n)]
    return np.array(flat, dtype=object).reshape(shape)


def _kink(name: str, a: np.ndarray, b: np.ndarray) -> bool:
    """Ties of maximum, minimum and ge: PyTorch splits the gradient, chainrule's convention
    (docs/reliability.md) sends it to the first argument; not compared."""
    if name not in ("maximum", "minimum", "ge"):
        return False
    a2, b2 = np.broadcast_arrays(a, b)
    return bool(np.any(a2 == b2))


def _run(expr: str, a: np.ndarray, b: np.ndarray, c: np.ndarray | None, exact: bool) -> tuple:
    lines = [f"a = {_literal(a)}", f"b = {_literal(b)}"]
    if c is None:
        lines.append(f"L = {expr}")
    else:
        lines += [f"c = {_literal(c)}", f"L = sum(({expr}) * c)"]
    g = cr.parse("\n".join(lines), exact=exact).backward()
    node = {n: g.find(n) for n in ("a", "b", "L")}

    def num(v: Any) -> np.ndarray:
        return np.asarray(np.vectorize(lambda e: float(e), otypes=[float])(np.asarray(v)))

    assert node["a"] is not None and node["b"] is not None and node["L"] is not None
    return (
        float(node["L"].value),
        num(node["a"].grad),
        num(node["b"].grad),
    )


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("case", OPS, ids=[c[0] for c in OPS])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_both_inputs_broadcast_against_pytorch(case: tuple, exact: bool, data: Any) -> None:
    name, expr, torch_fn, dom_a, dom_b, reduces = case
    sa, sb = data.draw(broadcast_pair())
    a = _values(data.draw, sa, dom_a)
    b = _values(data.draw, sb, dom_b)
    if _kink(name, a, b):
        return
    full = np.broadcast_shapes(sa, sb)
    c = None if reduces else _values(data.draw, full, "nonzero")

    ta = torch.tensor(a.astype(float), dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b.astype(float), dtype=torch.float64, requires_grad=True)
    out = torch_fn(ta, tb)
    if c is not None:
        out = (out * torch.tensor(c.astype(float), dtype=torch.float64)).sum()
    out.backward()

    value, ga, gb = _run(expr, a, b, c, exact)
    tol = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(value, out.item(), **tol)
    np.testing.assert_allclose(ga, ta.grad.numpy(), **tol, err_msg=f"d/da, {sa} and {sb}")
    np.testing.assert_allclose(gb, tb.grad.numpy(), **tol, err_msg=f"d/db, {sa} and {sb}")


def test_the_reported_mse_case() -> None:
    """mse([[1], [2]], [[1, 2, 4]]): PyTorch's dL/da is [[−4/3], [−1/3]] (divided by the 6
    broadcast elements, not by the larger input's 3)."""
    for exact in (False, True):
        g = cr.parse("a = [[1], [2]]\nb = [[1, 2, 4]]\nL = mse(a, b)", exact=exact).backward()
        ga = np.asarray(g.find("a").grad, dtype=float)
        np.testing.assert_allclose(ga, [[-4 / 3], [-1 / 3]], rtol=1e-12)


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize(
    "sx,sw,sb",
    [((2, 3), (3, 4), (4,)), ((2, 3), (3, 4), (1, 4)), ((5, 2, 3), (3, 4), (1, 1, 4))],
)
def test_linear_bias_broadcasts_against_pytorch(sx: tuple, sw: tuple, sb: tuple, exact: bool):
    rng = np.random.default_rng(7)
    x, w, b = (rng.integers(-8, 9, size=s) / 4 for s in (sx, sw, sb))
    prog = "\n".join(
        [
            f"x = {_literal(x)}",
            f"w = {_literal(w)}",
            f"b = {_literal(b)}",
            "L = sum(linear(x, w, b) ** 2)",
        ]
    )
    g = cr.parse(prog, exact=exact).backward()
    tx, tw, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w, b))
    ((tx @ tw + tb) ** 2).sum().backward()
    for n, t in (("x", tx), ("w", tw), ("b", tb)):
        got = np.asarray(np.vectorize(float, otypes=[float])(np.asarray(g.find(n).grad)))
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize(
    "sa,sb", [((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 2))]
)
def test_matmul_batch_axes_broadcast_against_pytorch(sa: tuple, sb: tuple, exact: bool) -> None:
    rng = np.random.default_rng(11)
    a, b = (rng.integers(-8, 9, size=s) / 4 for s in (sa, sb))
    prog = f"a = {_literal(a)}\nb = {_literal(b)}\nL = sum((a @ b) ** 2)"
    g = cr.parse(prog, exact=exact).backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    ((ta @ tb) ** 2).sum().backward()
    for n, t in (("a", ta), ("b", tb)):
        got = np.asarray(np.vectorize(float, otypes=[float])(np.asarray(g.find(n).grad)))
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("op", ["bce_with_logits", "hinge"])
def test_fused_losses_refuse_what_pytorch_refuses(op: str) -> None:
    """PyTorch's binary_cross_entropy_with_logits refuses a target of another size; so do
    chainrule's fused losses (a shape error naming both shapes), rather than guess."""
    with pytest.raises(cr.ShapeError, match="do not fit"):
        cr.parse(f"a = [[1], [2]]\nb = [[1, 0, 1]]\nL = {op}(a, b)")
    with pytest.raises(ValueError):
        F.binary_cross_entropy_with_logits(torch.zeros(2, 1), torch.zeros(1, 3))


def test_second_derivative_of_broadcast_mse_against_pytorch() -> None:
    """The gradient graph (the node backend) takes the same rule: d/da of sum((dL/da)²)."""
    a0, b0 = np.array([[1.0], [2.0]]), np.array([[1.0, 2.0, 4.0]])
    ta = torch.tensor(a0, requires_grad=True, dtype=torch.float64)
    tb = torch.tensor(b0, requires_grad=True, dtype=torch.float64)
    (ga,) = torch.autograd.grad(_t_mse(ta, tb), ta, create_graph=True)
    (gga,) = torch.autograd.grad((ga**2).sum(), ta)
    a, b = cr.var(a0, name="a"), cr.var(b0, name="b")
    (da,) = cr.grad(cr.mse(a, b), [a])
    cr.sum(da**2).backward()
    np.testing.assert_allclose(a.grad, gga.numpy(), rtol=1e-12)
