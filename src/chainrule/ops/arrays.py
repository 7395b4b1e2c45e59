"""The array family of the op table: reductions, products, transpose, indexing and the
losses of two inputs (mse, bce).

Each entry is the op's one home, as in ``scalar.py``; the vector–Jacobian products here mix
elements, so they are written with the backend's shape operations (see ``table.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.backends import (
    Backend,
    FloatMath,
    check_exact,
    ufunc,
)
from ..core.errors import DomainError, ShapeError
from ..core.lazy import sympy
from ..core.limits import check_elements
from ..core.values import ARRAY, EXACT, EXACT_ARRAY, FLOAT, to_sympy
from .table import (
    _EXPECT,
    REALS,
    UNIT_OPEN,
    Decline,
    Domain,
    Notation,
    Op,
    Param,
    Partial,
    Torch,
    Vjp,
    _int,
    as_axes,
    as_bool,
    as_shape,
    fn,
    real_domain,
    registrar,
    shape_of,
    torch_axis,
)

register = registrar("arrays")

# ------------------------------------------------------------------ reductions and linear algebra


def norm_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints (``None`` means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ShapeError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(set(out)))


def settle(r: Any) -> Any:
    """A result as the engine stores it: arrays with axes stay arrays, 0-d become scalars."""
    if isinstance(r, np.ndarray):
        if r.ndim:
            return r
        return r.item() if r.dtype == object else float(r)
    if isinstance(r, (np.floating, np.integer)):
        return float(r)
    return r


def expand(M: Backend, g: Any, axes: tuple[int, ...], keepdims: bool, shape: Any) -> Any:
    """A reduced gradient broadcast back to the shape it was reduced from."""
    if not keepdims and axes:
        kept = list(M.shape(g))
        for a in axes:
            kept.insert(a, 1)
        g = M.reshape(g, tuple(kept))
    return M.broadcast_to(g, tuple(shape))


def _reduction(np_fn: Callable[..., Any]) -> Callable[..., Any]:
    def f(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        return settle(np_fn(a, axis=norm_axes(axis, a.ndim), keepdims=keepdims))

    return f


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    """How many elements ``axes`` take together; a 0-d value's axis 0 (which ``norm_axes``
    accepts, as PyTorch does) has length 1."""
    n = 1
    for a in axes:
        n *= shape[a] if a < len(shape) else 1
    return n


def _exact_mean(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if not isinstance(a, np.ndarray):
        return a
    axes = norm_axes(axis, a.ndim)
    return settle(np.sum(a, axis=axes, keepdims=keepdims) / _count(a.shape, axes))


_REDUCE_PARAMS = (
    Param("axis", None, as_axes, "the axes to reduce (every axis when None)"),
    Param("keepdims", False, as_bool, "keep reduced axes with length 1"),
)


def _sum_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = M.shape(x[0])
    return expand(M, g, norm_axes(p["axis"], len(s)), p["keepdims"], s)


def _mean_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = M.shape(x[0])
    axes = norm_axes(p["axis"], len(s))
    return expand(M, g / _count(s, axes), axes, p["keepdims"], s)


def _whole(rule: Partial) -> Partial:
    """A readable local partial for a reduction over every axis (none over some axes)."""

    def partial(M: Backend, x: Any, y: Any, p: Any) -> Any:
        return rule(M, x, y, p) if p is None or p["axis"] is None else None

    return partial


def torch_reduce(name: str) -> Callable[..., Any]:
    """PyTorch's reduction ``name`` over the op's ``axis`` (all axes for None), as to_torch replays
    it; shared by sum, mean, amax and amin."""

    def call(t: Any, x: list[Any], p: Any) -> Any:
        a = x[0]
        if a.dim() == 0:
            return a
        axis = p["axis"]
        dims = (
            tuple(range(a.dim())) if axis is None else axis if isinstance(axis, tuple) else (axis,)
        )
        return getattr(t, name)(a, dim=dims, keepdim=p["keepdims"])

    return call


def read_reduce(a: Any, dims: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
    """``aten.sum(a, dims, keepdim, dtype)`` and the like: a reduction of an array."""
    nd = len(shape_of(a))
    if dtype is not None or nd == 0:
        raise Decline
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):
        axis: Any = None
    elif isinstance(dims, (list, tuple)):
        axis = tuple(torch_axis(d, nd) for d in dims)
    else:
        axis = torch_axis(dims, nd)
    return (a,), {"axis": axis, "keepdims": bool(keepdim)}


def _whole_only(p: Any) -> None:
    if p.get("axis") is not None:
        raise ShapeError("a sum over some axes cannot be drawn element by element")


def _draw_sum(E: Any, args: list[Any], p: Any) -> Any:
    _whole_only(p)
    return E.total(list(E.grid(args[0]).reshape(-1)))


def _draw_mean(E: Any, args: list[Any], p: Any) -> Any:
    _whole_only(p)
    return E.mean(list(E.grid(args[0]).reshape(-1)))


def _draw_loss(E: Any, args: list[Any], p: Any) -> Any:
    return E.mean(list(E.grid(E.each(*args)).reshape(-1)))


_sum = _reduction(np.sum)
register(
    Op(
        "sum",
        1,
        {k: _sum for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("sum", "\\sum"),
        partials=(_whole(lambda M, x, y, p: M.ones_like(x[0])),),
        vjps=(_sum_vjp,),
        elementwise=False,
        params=_REDUCE_PARAMS,
        doc="the sum of the elements (over the given axes; every axis by default)",
        torch=Torch(torch_reduce("sum"), ("aten.sum.default", "aten.sum.dim_IntList"), read_reduce),
        scalars=_draw_sum,
        domain=Domain("any array or number"),
    )
)
_mean = _reduction(np.mean)
register(
    Op(
        "mean",
        1,
        {FLOAT: _mean, ARRAY: _mean, EXACT: _exact_mean, EXACT_ARRAY: _exact_mean},
        fn("mean", "\\operatorname{mean}"),
        partials=(_whole(lambda M, x, y, p: M.ones_like(x[0]) / M.size(x[0])),),
        vjps=(_mean_vjp,),
        elementwise=False,
        params=_REDUCE_PARAMS,
        doc="the mean of the elements (over the given axes; every axis by default)",
        torch=Torch(torch_reduce("mean"), ("aten.mean.default", "aten.mean.dim"), read_reduce),
        scalars=_draw_mean,
        domain=Domain(
            "any array with at least one element on the reduced axes (the mean of none is NaN)"
        ),
    )
)


def _dot(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.ndim != 1 or b.ndim != 1:
            raise ShapeError(f"dot needs two vectors, got shapes {a.shape} and {b.shape}")
        if a.shape != b.shape:
            raise ShapeError(f"dot needs vectors of one length, got {a.shape[0]} and {b.shape[0]}")
        return settle(np.dot(a, b))
    return a * b


register(
    Op(
        "dot",
        2,
        {k: _dot for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("dot", "\\operatorname{dot}"),
        partials=(lambda M, x, y, p: x[1], lambda M, x, y, p: x[0]),
        vjps=(lambda M, g, x, y, p: g * x[1], lambda M, g, x, y, p: g * x[0]),
        elementwise=False,
        doc="wᵀx: the inner product of two vectors",
        torch=Torch(lambda t, x, p: (x[0] * x[1]).sum()),
        scalars=lambda E, a, p: E.matmul(a[0], a[1]),
        domain=Domain("two vectors of one length"),
    )
)


def _matmul(a: Any, b: Any) -> Any:
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or 0 in (a.ndim, b.ndim):
        raise ShapeError("@ needs two arrays (vectors or matrices)")
    try:
        return settle(np.matmul(a, b))
    except ValueError as exc:
        raise ShapeError(f"@ cannot multiply shapes {a.shape} and {b.shape}") from exc


def _matmul_partial(i: int) -> Partial:
    """wᵀx: ∂(w @ x)/∂w = x and ∂(w @ x)/∂x = w; matrices have no readable local partial."""

    def rule(M: Backend, x: Any, y: Any, p: Any) -> Any:
        if M.ndim(x[0]) == 1 and M.ndim(x[1]) == 1:
            return x[1 - i]
        return None

    return rule


def swap_last(M: Backend, a: Any) -> Any:
    """The matrix transpose of (a stack of) matrices: the last two axes swapped."""
    n = M.ndim(a)
    return M.permute(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _matmul_vjp(which: int) -> Vjp:
    """Promote vectors as numpy does, multiply by the other factor, sum broadcast batch axes."""

    def rule(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
        a, b = x
        sa, sb = M.shape(a), M.shape(b)
        if len(sa) == 1 and len(sb) == 1:
            return g * (b if which == 0 else a)
        a2 = a if len(sa) > 1 else M.reshape(a, (1,) + sa)
        b2 = b if len(sb) > 1 else M.reshape(b, sb + (1,))
        sg = M.shape(g)
        if len(sa) == 1:
            sg = sg[:-1] + (1,) + sg[-1:] if len(sb) > 1 else sg + (1,)
        if len(sb) == 1:
            sg = sg + (1,)
        g2 = M.reshape(g, sg)
        if which == 0:
            c = M.matmul(g2, swap_last(M, b2))
            return M.reshape(M.sum_to(c, M.shape(a2)), sa)
        c = M.matmul(swap_last(M, a2), g2)
        return M.reshape(M.sum_to(c, M.shape(b2)), sb)

    return rule


def _read_matmul(a: Any, b: Any) -> Any:
    if not shape_of(a) or not shape_of(b):
        raise Decline
    return (a, b), None


register(
    Op(
        "matmul",
        2,
        {k: _matmul for k in (ARRAY, EXACT_ARRAY, FLOAT, EXACT)},
        Notation(
            "infix", " @ ", "{} {}", 70, "@", grouping_right=True, latex_vectors="{}^{{\\top}} {}"
        ),
        partials=(_matmul_partial(0), _matmul_partial(1)),
        vjps=(_matmul_vjp(0), _matmul_vjp(1)),
        elementwise=False,
        doc="matrix product (batch axes broadcast; a vector @ a vector is their inner product)",
        torch=Torch(
            lambda t, x, p: t.matmul(x[0], x[1]),
            ("aten.matmul.default", "aten.mm.default", "aten.bmm.default"),
            _read_matmul,
        ),
        scalars=lambda E, a, p: E.matmul(a[0], a[1]),
        domain=Domain(
            "arrays whose inner dimensions agree (x's last axis, y's second-to-last), "
            "batch axes broadcasting"
        ),
    )
)


def _transpose(a: Any) -> Any:
    return np.transpose(a) if isinstance(a, np.ndarray) else a


def _read_t(a: Any) -> Any:
    """``aten.t``: a matrix transposed (on a vector it changes nothing: see torch_bridge.aten)."""
    if len(shape_of(a)) != 2:
        raise Decline
    return (a,), None


register(
    Op(
        "transpose",
        1,
        {k: _transpose for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        Notation("postfix", "ᵀ", "{{{}}}^{{\\top}}", 95, "ᵀ"),
        vjps=(lambda M, g, x, y, p: M.transpose(g),),
        elementwise=False,
        doc="aᵀ: the axes reversed (harmless on a vector)",
        torch=Torch(
            lambda t, x, p: x[0].permute(*reversed(range(x[0].dim()))),
            ("aten.t.default",),
            _read_t,
        ),
        scalars=lambda E, a, p: np.transpose(a[0]),
        domain=Domain("any array or number"),
    )
)


def _index(a: Any, index: Any = 0) -> Any:
    if not isinstance(a, np.ndarray):
        raise ShapeError("only vectors and matrices can be indexed")
    try:
        r = a[index]
    except IndexError as exc:
        raise ShapeError(f"index {index} is out of range for shape {a.shape}") from exc
    return settle(r)


def as_index_value(v: Any) -> Any:
    """numpy's indices: whole numbers, slices, None, ..., and arrays of whole numbers."""
    parts = v if isinstance(v, tuple) else (v,)
    for part in parts:
        if isinstance(part, (list, np.ndarray)):
            if np.asarray(part).dtype.kind not in "iub":
                raise TypeError("an index array must hold whole numbers")
        elif not (part is None or isinstance(part, slice) or part is Ellipsis):
            _int(part)
    return v


_EXPECT[as_index_value] = "a whole number, a slice, or a tuple of them"

register(
    Op(
        "index",
        1,
        {k: _index for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        Notation("index", "[]", "{}_{{{}}}", 95, "[ ]"),
        vjps=(lambda M, g, x, y, p: M.scatter(g, p["index"], M.shape(x[0])),),
        elementwise=False,
        params=(Param("index", 0, as_index_value, "which element(s)"),),
        doc="a[i]: one element (or a slice) of an array",
        torch=Torch(lambda t, x, p: _torch_index(t, x[0], p["index"])),
        scalars=lambda E, a, p: a[0][p["index"]],
        api="",
        domain=Domain("an array and an index within its shape"),
    )
)


def _torch_index(t: Any, a: Any, index: Any) -> Any:
    def conv(i: Any) -> Any:
        return t.as_tensor(i, dtype=t.long) if isinstance(i, np.ndarray) else i

    return a[tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)]


def _torch_scatter(t: Any, x: list[Any], p: Any) -> Any:
    """Zeros with ``a`` added at ``index`` (repeats add up): the transpose of indexing, taken as
    the vjp of indexing so that it stays differentiable."""
    a = x[0]
    with t.enable_grad():
        z = t.zeros(p["shape"], dtype=a.dtype, device=a.device, requires_grad=True)
        (out,) = t.autograd.grad(_torch_index(t, z, p["index"]), z, a, create_graph=True)
    return out


def _scatter(a: Any, index: Any = 0, shape: Any = ()) -> Any:
    check_elements(shape, "scatter")
    try:
        return FloatMath.scatter(a, index, tuple(shape))
    except (IndexError, ValueError) as exc:
        raise ShapeError(f"cannot place shape {np.shape(a)} at {index} in {shape}") from exc


register(
    Op(
        "scatter",
        1,
        {k: _scatter for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("scatter", "\\operatorname{scatter}"),
        vjps=(lambda M, g, x, y, p: M.take(g, p["index"]),),
        elementwise=False,
        params=(
            Param("index", 0, as_index_value, "where to place the input"),
            Param("shape", (), as_shape, "the shape of the zeros it is placed in"),
        ),
        doc="zeros of a shape with the input added at an index (how a[i] sends its gradient back)",
        js=lambda M, x, p: M.scatter(x[0], p["index"], tuple(p["shape"])),
        torch=Torch(_torch_scatter),
        api="",
        domain=Domain("an input of the shape the index picks out of the given shape"),
    )
)

# ------------------------------------------------------------------ losses


def _mse(a: Any, b: Any) -> Any:
    d = a - b
    if isinstance(d, np.ndarray):
        return settle((d * d).sum() / d.size) if d.dtype == object else float(np.mean(d * d))
    return d * d


def _bce_float(p: Any, t: Any) -> Any:
    if isinstance(p, np.ndarray) or isinstance(t, np.ndarray):
        pa = np.asarray(p, dtype=np.float64)
        if not np.all((pa > 0) & (pa < 1)):
            raise DomainError(
                "binary cross-entropy needs every prediction strictly between 0 and 1"
            )
        v = -(t * np.log(pa) + (1 - t) * np.log(1 - pa))
        return float(np.mean(v))
    if not 0 < p < 1:
        raise DomainError(
            f"binary cross-entropy needs a prediction strictly between 0 and 1, got {p}"
        )
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def _bce_exact(p: Any, t: Any) -> Any:
    if isinstance(p, Fraction) and not 0 < p < 1:
        raise DomainError(
            f"binary cross-entropy needs a prediction strictly between 0 and 1, got {p}"
        )
    ps, ts = to_sympy(p), to_sympy(t)
    return check_exact(-(ts * sympy.log(ps) + (1 - ts) * sympy.log(1 - ps)), "bce")


def _bce_exact_array(p: Any, t: Any) -> Any:
    v = ufunc(_bce_exact, 2)(p, t)
    return check_exact(to_sympy(v.sum()) / v.size, "bce")


def _shape(M: Backend, x: Any) -> tuple[int, ...]:
    """The shape of a loss's elements: both inputs broadcast against each other."""
    return tuple(np.broadcast_shapes(M.shape(x[0]), M.shape(x[1])))


def _n(M: Backend, x: Any) -> int:
    """How many elements a loss averages over: those of the broadcast shape (PyTorch's
    ``mse_loss`` of a (2, 1) against a (1, 3) divides by 6), not the larger input's."""
    return max(int(np.prod(_shape(M, x))), 1)


def _spread(M: Backend, v: Any, x: Any) -> Any:
    """A partial computed from one input alone, given the shape of the loss's elements, so
    that the chain rule reduces it to the other input's shape."""
    s = _shape(M, x)
    return v if tuple(M.shape(v)) == s else M.broadcast_to(v, s)


def _mean_of(v: Any) -> Any:
    return v.sum() / v.size if isinstance(v, np.ndarray) else v


def _torch_mse(t: Any, x: list[Any], p: Any) -> Any:
    a, b = x
    if a.shape == b.shape:
        return t.nn.functional.mse_loss(a, b)
    return ((a - b) ** 2).mean()  # broadcast inputs: PyTorch's mse_loss warns, and means the same


def _read_mse(a: Any, b: Any, reduction: int = 1) -> Any:
    if reduction != 1 or shape_of(a) != shape_of(b):
        raise Decline
    return (a, b), None


def _bce_js(M: Any, x: Any, p: Any) -> Any:
    q, t = x
    return _mean_of(-(t * M.log(q) + (1 - t) * M.log(1 - q)))


register(
    Op(
        "mse",
        2,
        {k: _mse for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("MSE", "\\operatorname{MSE}"),
        partials=(
            lambda M, x, y, p: 2 * (x[0] - x[1]) / _n(M, x),
            lambda M, x, y, p: -2 * (x[0] - x[1]) / _n(M, x),
        ),
        elementwise=False,
        doc="mean squared error: mean((ŷ − y)²); for scalars (ŷ − y)²",
        aliases=("MSE",),
        js=lambda M, x, p: _mean_of((x[0] - x[1]) * (x[0] - x[1])),
        torch=Torch(_torch_mse, ("aten.mse_loss.default",), _read_mse),
        scalars=_draw_loss,
        domain=real_domain(REALS, REALS, note="arrays: shapes that broadcast together"),
    )
)
register(
    Op(
        "bce",
        2,
        {FLOAT: _bce_float, ARRAY: _bce_float, EXACT: _bce_exact, EXACT_ARRAY: _bce_exact_array},
        fn("BCE", "\\operatorname{BCE}"),
        partials=(
            lambda M, x, y, p: (x[0] - x[1]) / (x[0] * (1 - x[0])) / _n(M, x),
            lambda M, x, y, p: _spread(M, (M.log(1 - x[0]) - M.log(x[0])) / _n(M, x), x),
        ),
        elementwise=False,
        doc="binary cross-entropy −(y log p + (1 − y) log(1 − p)), averaged over elements",
        aliases=("BCE",),
        js=_bce_js,
        torch=Torch(lambda t, x, p: -(x[1] * t.log(x[0]) + (1 - x[1]) * t.log(1 - x[0])).mean()),
        scalars=_draw_loss,
        domain=real_domain(
            UNIT_OPEN, REALS, note="x the predictions, y the targets; arrays: every prediction"
        ),
    )
)
