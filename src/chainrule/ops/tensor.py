"""Tensor ops for training networks, declared in the op table like the scalar ops.

Each entry gives its forward per kind of number and, per input, either a generic partial
(elementwise ops: leaky relu, GELU) or a vjp ``g · ∂y/∂x_i`` written against the backend
protocol, like every rule in the table: numbers in reverse mode, graph nodes when the gradient
is built as a graph (so second and third derivatives run through these ops too).

Fused ops (``linear``, ``softmax_cross_entropy``, ``bce_with_logits``, ``hinge``,
``sum_squares``) keep the graph of a training step small: one node per layer or loss, which is
what makes a step cost about what the hand-written numpy step costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.backends import (
    ArrayMath,
    Backend,
    ExactMath,
    FloatMath,
    exact_fn,
    log_softmax_array,
    one_hot_array,
    softmax_array,
    softmax_terms,
    softmax_terms_along,
    sum_to_shape,
)
from ..core.errors import ShapeError, ValueInputError
from ..core.lazy import is_sympy, sympy
from ..core.limits import check_elements
from ..core.values import ARRAY, EXACT, EXACT_ARRAY, FLOAT
from . import kernels
from .arrays import expand, norm_axes, settle, torch_reduce
from .table import (
    _EXPECT,
    OPS,
    REALS,
    Decline,
    Domain,
    Kink,
    Notation,
    Op,
    Param,
    PerInput,
    Planned,
    Torch,
    as_axes,
    as_axis,
    as_bool,
    as_number,
    as_perm,
    as_shape,
    float_dtype,
    fn,
    real_domain,
    registrar,
    shape_of,
    torch_axis,
    torch_same,
)

register = registrar("tensor")

Shape = tuple[int, ...]
ALL_KINDS = (FLOAT, ARRAY, EXACT, EXACT_ARRAY)


def _kinds(
    f: Callable[..., Any], kinds: Sequence[int] = ALL_KINDS
) -> dict[int, Callable[..., Any]]:
    return {k: f for k in kinds}


# ------------------------------------------------------------------ shape ops


def _reshape(a: Any, shape: Shape) -> Any:
    try:
        return settle(np.reshape(a, shape))
    except ValueError as exc:
        raise ShapeError(f"cannot reshape an array of shape {np.shape(a)} into {shape}") from exc


register(
    Op(
        "reshape",
        1,
        _kinds(_reshape),
        fn("reshape", "\\operatorname{reshape}"),
        vjps=(lambda M, g, x, y, p: M.reshape(g, M.shape(x[0])),),
        elementwise=False,
        params=(Param("shape", (), as_shape, "the new shape"),),
        doc="the same elements in a new shape",
        torch=Torch(
            lambda t, x, p: x[0].reshape(p["shape"]),
            ("aten.view.default", "aten.reshape.default", "aten._unsafe_view.default"),
            lambda a, shape: ((a,), {"shape": tuple(int(n) for n in shape)}),
        ),
        domain=Domain("any array whose number of elements the new shape holds"),
        planned=Planned(kernels.reshape_forward, kernels.reshape_reverse),
    )
)


def _permute(a: Any, axes: Any = None) -> Any:
    try:
        return np.transpose(a, axes)
    except ValueError as exc:
        raise ShapeError(f"axes {axes} do not fit an array of shape {np.shape(a)}") from exc


def _inverse_axes(axes: Any) -> Any:
    return None if axes is None else tuple(int(i) for i in np.argsort(axes))


def _read_permute(a: Any, *dims: Any) -> Any:
    """``aten.permute(a, dims)`` or ``aten.transpose(a, d0, d1)`` (two axes swapped)."""
    nd = len(shape_of(a))
    if not nd:
        raise Decline
    if len(dims) == 2:
        axes = list(range(nd))
        i, j = torch_axis(dims[0], nd), torch_axis(dims[1], nd)
        axes[i], axes[j] = axes[j], axes[i]
    else:
        axes = [torch_axis(d, nd) for d in dims[0]]
    return (a,), {"axes": tuple(axes)}


register(
    Op(
        "permute",
        1,
        _kinds(_permute, (ARRAY, EXACT_ARRAY)),
        Notation("postfix", "ᵀ", "{}^{{\\top}}", 95, "ᵀ"),
        vjps=(lambda M, g, x, y, p: M.permute(g, _inverse_axes(p["axes"])),),
        elementwise=False,
        params=(Param("axes", None, as_perm, "the new order of the axes (reversed when None)"),),
        doc="the axes of an array in a new order (reversed when no order is given)",
        torch=Torch(
            lambda t, x, p: x[0].permute(
                *(p["axes"] if p["axes"] is not None else reversed(range(x[0].dim())))
            ),
            ("aten.permute.default", "aten.transpose.int"),
            _read_permute,
        ),
        domain=Domain("an array with as many axes as the order names"),
    )
)


def _joining(join: Callable[..., Any], verb: str) -> Callable[..., Any]:
    """np.concatenate / np.stack with a shape error that names the shapes."""

    def f(*arrays: Any, axis: int = 0) -> Any:
        try:
            return join(arrays, axis=axis)
        except (ValueError, np.exceptions.AxisError) as exc:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ShapeError(f"cannot {verb} shapes {shapes} along axis {axis}") from exc

    return f


def _concat_vjp(i: int, M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    ax = p["axis"] % M.ndim(x[0])
    start = sum(M.shape(a)[ax] for a in x[:i])
    index = (slice(None),) * ax + (slice(start, start + M.shape(x[i])[ax]),)
    return M.take(g, index)


register(
    Op(
        "concat",
        -1,
        _kinds(_joining(np.concatenate, "concatenate"), (ARRAY, EXACT_ARRAY)),
        fn("concat", "\\operatorname{concat}"),
        vjps=PerInput(_concat_vjp),
        elementwise=False,
        params=(Param("axis", 0, as_axis, "the axis to join along"),),
        doc="arrays joined along an existing axis",
        torch=Torch(
            lambda t, x, p: t.cat(x, dim=p["axis"]),
            ("aten.cat.default",),
            lambda xs, dim=0: (tuple(xs), {"axis": torch_axis(dim, len(shape_of(xs[0])))}),
        ),
        domain=Domain("arrays whose shapes agree except along the axis"),
    )
)


def _stack_vjp(i: int, M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    ax = p["axis"] % (M.ndim(x[0]) + 1)
    return M.take(g, (slice(None),) * ax + (i,))


def _stack(*values: Any, axis: int = 0) -> Any:
    """Numbers or arrays joined along a new axis; exact numbers stay exact (object arrays)."""
    if any((isinstance(v, Fraction) or is_sympy(v)) for v in values) or any(
        isinstance(v, np.ndarray) and v.dtype == object for v in values
    ):
        parts = [np.asarray(v, dtype=object) for v in values]
        try:
            return np.stack(parts, axis=axis)
        except (ValueError, np.exceptions.AxisError) as exc:
            shapes = ", ".join(str(np.shape(a)) for a in values)
            raise ShapeError(f"cannot stack shapes {shapes} along axis {axis}") from exc
    return _joining(np.stack, "stack")(*values, axis=axis)


register(
    Op(
        "stack",
        -1,
        _kinds(_stack),
        fn("stack", "\\operatorname{stack}"),
        vjps=PerInput(_stack_vjp),
        elementwise=False,
        params=(Param("axis", 0, as_axis, "the new axis"),),
        doc="numbers or arrays joined along a new axis ([a, 2a, −a] in a program)",
        torch=Torch(
            lambda t, x, p: t.stack(x, dim=p["axis"]),
            ("aten.stack.default",),
            lambda xs, dim=0: (tuple(xs), {"axis": torch_axis(dim, len(shape_of(xs[0])) + 1)}),
        ),
        scalars=lambda E, a, p: np.stack([E.grid(v) for v in a], axis=p["axis"]),
        domain=Domain("numbers, or arrays of one shape"),
    )
)


def _broadcast_to(a: Any, shape: Shape) -> Any:
    check_elements(shape, "broadcast_to")
    try:
        return np.broadcast_to(a, shape).copy()
    except ValueError as exc:
        raise ShapeError(f"cannot broadcast shape {np.shape(a)} to {shape}") from exc


def _read_expand(a: Any, sizes: Any) -> Any:
    s = shape_of(a)
    lead = len(sizes) - len(s)
    shape = tuple(int(s[k - lead]) if int(n) == -1 else int(n) for k, n in enumerate(sizes))
    return (a,), {"shape": shape}


register(
    Op(
        "broadcast_to",
        1,
        _kinds(_broadcast_to),
        fn("broadcast", "\\operatorname{broadcast}"),
        vjps=(lambda M, g, x, y, p: M.sum_to(g, M.shape(x[0])),),
        elementwise=False,
        params=(Param("shape", (), as_shape, "the shape to repeat the input to"),),
        doc="an array repeated along new or length-1 axes",
        torch=Torch(
            lambda t, x, p: x[0].expand(p["shape"]), ("aten.expand.default",), _read_expand
        ),
        domain=Domain("an array that broadcasts to the shape (each axis equal to it or 1)"),
    )
)


def _sum_to(a: Any, shape: Shape) -> Any:
    check_elements(shape, "sum_to")  # a number summed to a shape is repeated to it
    try:
        return settle(sum_to_shape(a, tuple(shape)))
    except ValueError as exc:
        raise ShapeError(f"cannot sum shape {np.shape(a)} to {shape}") from exc


def _torch_sum_to(a: Any, shape: Sequence[int]) -> Any:
    lead = a.dim() - len(shape)
    dims = list(range(lead)) + [
        lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1
    ]
    return a.sum(dim=dims, keepdim=True).reshape(tuple(shape)) if dims else a.reshape(shape)


register(
    Op(
        "sum_to",
        1,
        _kinds(_sum_to),
        fn("sum_to", "\\operatorname{sum\\_to}"),
        vjps=(lambda M, g, x, y, p: M.broadcast_to(g, M.shape(x[0])),),
        elementwise=False,
        params=(Param("shape", (), as_shape, "the shape to sum down to"),),
        doc="the sum over the axes along which an array was broadcast to its shape",
        torch=Torch(lambda t, x, p: _torch_sum_to(x[0], p["shape"])),
        domain=Domain("an array of a shape that the given shape broadcasts to"),
    )
)

# ------------------------------------------------------------------ reductions over axes


def _extreme(np_fn: Callable[..., Any]) -> Callable[..., Any]:
    def f(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        return settle(np_fn(a, axis=norm_axes(axis, a.ndim), keepdims=keepdims))

    return f


def _extreme_vjp(larger: bool) -> Callable[..., Any]:
    def rule(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
        # ties share the gradient equally (as HIPS autograd and numpy's amax subgradient do)
        s = M.shape(x[0])
        axes = norm_axes(p["axis"], len(s))
        peak = expand(M, y, axes, p["keepdims"], s)
        hit = M.ge(x[0], peak) if larger else M.ge(peak, x[0])
        share = hit / expand(M, M.sum(hit, axes, True), axes, True, s)
        return expand(M, g, axes, p["keepdims"], s) * share

    return rule


def _extreme_js(larger: bool) -> Callable[..., Any]:
    def form(M: Any, x: Any, p: Any) -> Any:
        a = x[0]
        if not isinstance(a, np.ndarray):
            return a
        axes = norm_axes(p["axis"], a.ndim)
        out = a
        for ax in axes:
            out = M.reduce_extreme(out, ax, larger)
        if not p["keepdims"]:
            out = out.reshape(tuple(n for k, n in enumerate(a.shape) if k not in axes))
        return out.item() if out.ndim == 0 else out

    return form


def _read_extreme(a: Any, dims: Any = (), keepdim: bool = False) -> Any:
    nd = len(shape_of(a))
    if nd == 0:
        raise Decline
    axis = tuple(torch_axis(d, nd) for d in dims) if dims else None
    return (a,), {"axis": axis, "keepdims": bool(keepdim)}


def _tied(larger: bool) -> Callable[[list[Any], Any], bool]:
    """Whether two elements share the largest (smallest) value along the reduced axes."""

    def at(v: list[Any], p: Any) -> bool:
        arr = np.asarray(v[0], dtype=float)
        if arr.size < 2:
            return False
        axes = norm_axes(p.get("axis"), arr.ndim)
        top = (np.max if larger else np.min)(arr, axis=axes, keepdims=True)
        return bool(np.any(np.sum(arr == top, axis=axes) > 1))

    return at


_EXTREME_PARAMS = (
    Param("axis", None, as_axes, "the axes to reduce (every axis when None)"),
    Param("keepdims", False, as_bool, "keep reduced axes with length 1"),
)

register(
    Op(
        "reduce_max",
        1,
        _kinds(_extreme(np.max)),
        fn("max", "\\max"),
        vjps=(_extreme_vjp(True),),
        elementwise=False,
        params=_EXTREME_PARAMS,
        doc="the largest element over the given axes (ties share the gradient equally)",
        aliases=("amax",),
        js=_extreme_js(True),
        torch=Torch(torch_reduce("amax"), ("aten.amax.default",), _read_extreme),
        kink=Kink("tied maxima share the gradient equally", _tied(True)),
        api="amax",
        domain=Domain("an array with at least one element on the reduced axes"),
    ),
    overloads=("max",),
)
register(
    Op(
        "reduce_min",
        1,
        _kinds(_extreme(np.min)),
        fn("min", "\\min"),
        vjps=(_extreme_vjp(False),),
        elementwise=False,
        params=_EXTREME_PARAMS,
        doc="the smallest element over the given axes (ties share the gradient equally)",
        aliases=("amin",),
        js=_extreme_js(False),
        torch=Torch(torch_reduce("amin"), ("aten.amin.default",), _read_extreme),
        kink=Kink("tied minima share the gradient equally", _tied(False)),
        api="amin",
        domain=Domain("an array with at least one element on the reduced axes"),
    ),
    overloads=("min",),
)

# ------------------------------------------------------------------ elementwise activations

_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_A = 0.044715


def _leaky(a: Any, slope: float = 0.01) -> Any:
    if isinstance(a, np.ndarray):
        if a.dtype == object:
            return np.frompyfunc(lambda v: v if v > 0 else slope * v, 1, 1)(a)
        return np.where(a > 0, a, a * a.dtype.type(slope))
    return a if a > 0 else slope * a


register(
    Op(
        "leaky_relu",
        1,
        _kinds(_leaky),
        fn("leaky_relu", "\\operatorname{leaky\\_relu}"),
        partials=(lambda M, x, y, p: p["slope"] + (1 - p["slope"]) * M.step(x[0]),),
        params=(Param("slope", 0.01, as_number, "the slope below zero"),),
        doc="a where a > 0, else slope · a",
        js=lambda M, x, p: M.where(M.step(x[0]), x[0], x[0] * p["slope"]),
        torch=Torch(
            lambda t, x, p: t.nn.functional.leaky_relu(x[0], p["slope"]),
            ("aten.leaky_relu.default",),
            lambda a, slope=0.01: ((a,), {"slope": float(slope)}),
        ),
        kink=Kink(
            "leaky_relu′(0) = slope (the derivative from the left)",
            lambda v, p: bool(np.any(np.asarray(v[0], dtype=object) == 0)),
        ),
        domain=real_domain(REALS, note="at 0 the kink convention gives the slope"),
    )
)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def as_approximate(v: Any) -> str:
    if v not in ("none", "tanh"):
        raise ValueError("'none' or 'tanh'")
    return str(v)


_EXPECT[as_approximate] = "'none' (exact, through erf) or 'tanh'"


def _gelu_with(M: Any, a: Any, approximate: str) -> Any:
    """GELU written against a backend: exact, a·Φ(a) = ½a(1 + erf(a/√2)), as PyTorch's default,
    or its tanh approximation ½a(1 + tanh(√(2/π)(a + 0.044715a³)))."""
    if approximate == "tanh":
        return 0.5 * a * (1 + M.tanh(_GELU_C * (a + _GELU_A * a**3)))
    return 0.5 * a * (1 + M.erf(a * _SQRT_HALF))


def _gelu_float(a: Any, approximate: str = "none") -> Any:
    return _gelu_with(FloatMath, a, approximate)


def _gelu_array(a: Any, approximate: str = "none") -> Any:
    return settle(_gelu_with(ArrayMath, a, approximate))


def _gelu_partial(M: Backend, x: Any, y: Any, p: Any) -> Any:
    a = x[0]
    if p["approximate"] == "tanh":
        t = M.tanh(_GELU_C * (a + _GELU_A * a**3))
        return 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * _GELU_C * (1 + 3 * _GELU_A * a * a)
    # Φ(a) + a·φ(a)
    return 0.5 * (1 + M.erf(a * _SQRT_HALF)) + a * M.exp(-0.5 * a * a) * _INV_SQRT_2PI


register(
    Op(
        "gelu",
        1,
        {FLOAT: _gelu_float, ARRAY: _gelu_array},
        fn("gelu", "\\operatorname{GELU}"),
        partials=(_gelu_partial,),
        params=(Param("approximate", "none", as_approximate, "'none' (exact) or 'tanh'"),),
        doc="GELU as PyTorch's default: a·Φ(a) = ½a(1 + erf(a/√2)); approximate='tanh' gives "
        "½a(1 + tanh(√(2/π)(a + 0.044715a³)))",
        js=lambda M, x, p: _gelu_with(M, x[0], p["approximate"]),
        torch=Torch(
            lambda t, x, p: t.nn.functional.gelu(x[0], approximate=p["approximate"]),
            ("aten.gelu.default",),
            lambda a, approximate="none": ((a,), {"approximate": approximate}),
        ),
        domain=real_domain(REALS, note="floats and arrays: it has no exact form"),
    )
)

_TWO_OVER_SQRT_PI = 2.0 / float(np.sqrt(np.pi))
# erf in JavaScript (Math has none), to within a few units in the last place of math.erf:
# below 2.5 the series 2/√π · e^(−a²) · Σ 2ⁿa²ⁿ⁺¹/(1·3···(2n+1)), whose terms are all
# positive (nothing cancels); above, 1 − erfc with erfc's continued fraction (60 terms).
_ERF_JS = """x => {
  const a = Math.abs(x);
  let r;
  if (a < 2.5) {
    let term = a, sum = a;
    const x2 = 2 * a * a;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    r = 2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum;
  } else {
    let f = a;
    for (let n = 60; n > 0; n--) f = a + (n / 2) / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}"""

register(
    Op(
        "erf",
        1,
        {FLOAT: math.erf, ARRAY: ArrayMath.erf},
        fn("erf", "\\operatorname{erf}"),
        partials=(lambda M, x, y, p: _TWO_OVER_SQRT_PI * M.exp(-(x[0] * x[0])),),
        doc="the error function (2/√π)∫₀ᵃ exp(−t²) dt; exact GELU is ½a(1 + erf(a/√2))",
        js=lambda M, x, p: M.call("cr.erf", *x),
        js_function=_ERF_JS,
        torch=torch_same("erf"),
        domain=real_domain(REALS, note="floats and arrays: it has no exact form"),
    )
)

# ------------------------------------------------------------------ softmax family


def _check_array(a: Any, what: str) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        raise ShapeError(f"{what} needs a vector or an array (at least one axis)")
    return a


def _softmax(a: Any, axis: int = -1) -> Any:
    a = _check_array(a, "softmax")
    return ExactMath.softmax(a, axis) if a.dtype == object else softmax_array(a, axis)


def _log_softmax(a: Any, axis: int = -1) -> Any:
    a = _check_array(a, "log_softmax")
    return ExactMath.log_softmax(a, axis) if a.dtype == object else log_softmax_array(a, axis)


_AXIS = (Param("axis", -1, as_axis, "the axis that sums to one"),)


def _read_softmax(x: Any, dim: int, dtype: Any = None) -> Any:
    """``aten.softmax(x, dim, dtype)`` (``_softmax``'s third argument is half_to_float)."""
    if dtype not in (None, False) or not shape_of(x):
        raise Decline
    return (x,), {"axis": int(dim)}


register(
    Op(
        "softmax",
        1,
        _kinds(_softmax, (ARRAY, EXACT_ARRAY)),
        fn("softmax", "\\operatorname{softmax}"),
        vjps=(lambda M, g, x, y, p: y * (g - M.sum(g * y, p["axis"], True)),),
        elementwise=False,
        params=_AXIS,
        doc="exp(a) / Σ exp(a) along an axis, computed without overflow",
        js=lambda M, x, p: M.softmax(x[0], p["axis"]),
        torch=Torch(
            lambda t, x, p: t.nn.functional.softmax(x[0], dim=p["axis"]),
            ("aten.softmax.int", "aten._softmax.default"),
            _read_softmax,
        ),
        domain=Domain("any array with the axis"),
    )
)
register(
    Op(
        "log_softmax",
        1,
        _kinds(_log_softmax, (ARRAY, EXACT_ARRAY)),
        fn("log_softmax", "\\operatorname{log\\_softmax}"),
        vjps=(lambda M, g, x, y, p: g - M.exp(y) * M.sum(g, p["axis"], True),),
        elementwise=False,
        params=_AXIS,
        doc="a − log Σ exp(a) along an axis, computed without overflow",
        js=lambda M, x, p: M.log_softmax(x[0], p["axis"]),
        torch=Torch(
            lambda t, x, p: t.nn.functional.log_softmax(x[0], dim=p["axis"]),
            ("aten.log_softmax.int", "aten._log_softmax.default"),
            _read_softmax,
        ),
        domain=Domain("any array with the axis"),
    )
)

# ------------------------------------------------------------------ fused layers and losses


def _labels(t: Any, logits: np.ndarray) -> np.ndarray:
    """Integer class labels from a target array (stored as floats in a node)."""
    labels = np.asarray(t)
    if labels.shape != logits.shape[:-1]:
        raise ShapeError(
            f"targets of shape {labels.shape} do not fit logits of shape {logits.shape}: "
            "give one class index per row, or probabilities shaped like the logits"
        )
    if labels.dtype == object:
        labels = np.asarray([float(v) for v in labels.reshape(-1)]).reshape(labels.shape)
    idx = labels.astype(np.intp)
    # one pass: a fraction, or a label out of range (a negative one reads as a huge one)
    bad = idx.view(np.uintp) >= logits.shape[-1]
    if labels.dtype.kind not in "iu":
        bad |= idx != labels
    if np.logical_or.reduce(bad, axis=None):
        raise ValueInputError(
            f"class labels must be whole numbers from 0 to {logits.shape[-1] - 1}"
        )
    return idx


def _one_hot(labels: Any, classes: int = 2) -> Any:
    classes = int(classes)
    values = np.asarray(labels, dtype=object).reshape(-1)
    if classes < 1:
        raise ValueInputError(f"one_hot needs at least one class (classes={classes})")
    check_elements((values.size, classes), "one_hot")
    if not all(v == int(v) and 0 <= v < classes for v in values.tolist()):
        raise ValueInputError(
            f"one_hot: class labels must be whole numbers from 0 to {classes - 1}"
        )
    if isinstance(labels, np.ndarray) and labels.dtype == object:
        return ExactMath.one_hot(labels, classes)
    return one_hot_array(np.asarray(labels, dtype=np.float64), classes).astype(np.float64)


register(
    Op(
        "one_hot",
        1,
        _kinds(_one_hot),
        fn("one_hot", "\\operatorname{onehot}"),
        differentiable=False,
        elementwise=False,
        params=(Param("classes", 2, as_axis, "how many classes"),),
        doc="class labels as rows of 0s with a 1 at the label",
        js=lambda M, x, p: M.one_hot(x[0], p["classes"]),
        torch=Torch(
            lambda t, x, p: t.nn.functional.one_hot(x[0].long(), p["classes"]).to(
                t.get_default_dtype()
            )
        ),
        domain=Domain("whole numbers from 0 to classes − 1"),
    )
)


def _rows(z: np.ndarray) -> int:
    return max(z.size // z.shape[-1], 1)


def _xent(z: Any, t: Any) -> Any:
    return _xent_keeping(z, t, keep=False)[0]


def _xent_keeping(z: Any, t: Any, keep: bool = True) -> tuple[Any, Any]:
    """The loss and, with ``keep``, its gradient with respect to the logits,
    (softmax(z) − target) / rows, from the same exponentials (see ``Op.keeping``)."""
    z = _check_array(z, "softmax cross-entropy")
    if z.shape[-1] == 0:
        raise ShapeError(f"logits of shape {z.shape} have no classes (the last axis is empty)")
    if z.dtype == object:
        return _xent_exact(z, t), None
    if (t.shape if t.__class__ is np.ndarray else np.shape(t)) == z.shape:
        shifted, log_total, probs = softmax_terms(z, -1, keep)
        rows = _rows(z)
        value = settle(-(t * (shifted - log_total)).sum() / rows)
        return value, (probs * t.sum(axis=-1, keepdims=True) - t) / rows if keep else None
    return _xent_labels(z, _labels(t, z).reshape(-1), keep)


def _xent_labels(z: np.ndarray, idx: np.ndarray, keep: bool) -> tuple[Any, Any]:
    """Cross-entropy at class labels: −log softmax picked at the labels only, by flat
    position, from ``softmax_terms``'s pieces (its accurate log of the sum)."""
    classes = z.shape[-1]
    rows = idx.size
    z2 = z.reshape(rows, classes)
    if classes <= 64 and z.size >= 256:
        # classes first, as ``softmax_terms`` does for many short rows, but kept that way
        a = np.ascontiguousarray(z2.T)
        axis = 0
        at = idx * rows + np.arange(rows)  # flat positions of the labels
    else:
        a = z2 if z2.flags.c_contiguous else np.ascontiguousarray(z2)
        axis = 1
        at = np.arange(0, rows * classes, classes) + idx
    shifted, log_total, probs = softmax_terms_along(a, axis, keep)
    # both terms of a row are of one sign (log Σ ≥ 0 ≥ a − max): nothing cancels
    picked = log_total.reshape(-1) - shifted.take(at)
    value = settle(np.add.reduce(picked, axis=None) / max(rows, 1))
    if not keep:
        return value, None
    probs.reshape(-1)[at] -= 1
    probs /= max(rows, 1)
    return value, (probs.T if axis == 0 else probs).reshape(z.shape)


def _xent_exact(z: Any, t: Any) -> Any:
    lsm = _log_softmax(z, -1)
    if np.shape(t) == z.shape:
        return settle(-(t * lsm).sum() / _rows(z))
    idx = _labels(t, z).reshape(-1)
    picked = lsm.reshape(-1, lsm.shape[-1])[np.arange(idx.size), idx]
    return settle(-picked.sum() / max(idx.size, 1))


def _xent_vjp_logits(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    z, t = x
    if M.shape(t) == M.shape(z):  # probabilities (any weights work: they need not sum to 1)
        d = M.softmax(z, -1) * M.sum(t, -1, True) - t
    else:  # class labels
        d = M.softmax(z, -1) - M.one_hot(t, M.shape(z)[-1])
    return g * d / _rows_of(M, z)


def _xent_vjp_target(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    z, t = x
    if M.shape(t) != M.shape(z):
        return None  # class labels carry no gradient
    return -g * M.log_softmax(z, -1) / _rows_of(M, z)


def _rows_of(M: Backend, z: Any) -> int:
    s = M.shape(z)
    return max(M.size(z) // s[-1], 1)


def _xent_js(M: Any, x: Any, p: Any) -> Any:
    z, t = x
    ls = M.log_softmax(z, -1)
    if np.shape(t) == np.shape(z):
        return -(t * ls).sum() / _rows(z)
    return -(M.one_hot(t, z.shape[-1]) * ls).sum() / max(int(np.size(t)), 1)


def _torch_xent(t: Any, x: list[Any], p: Any) -> Any:
    z, target = x
    rows = max(z.numel() // z.shape[-1], 1)
    if target.shape == z.shape:
        return -(target * t.nn.functional.log_softmax(z, -1)).sum() / rows
    return t.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), target.reshape(-1).long())


def _read_xent(
    z: Any,
    target: Any,
    weight: Any = None,
    reduction: int = 1,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Any:
    sz = shape_of(z)
    if weight is not None or reduction != 1 or label_smoothing or len(sz) != 2:
        raise Decline
    labels = np.asarray(getattr(target, "value", target))
    if labels.shape != sz and np.any(labels == ignore_index):
        raise Decline
    return (z, target), None


register(
    Op(
        "softmax_cross_entropy",
        2,
        _kinds(_xent, (ARRAY, EXACT_ARRAY)),
        fn("CE", "\\operatorname{CE}"),
        vjps=(_xent_vjp_logits, _xent_vjp_target),
        keeping={ARRAY: _xent_keeping},
        kept_vjps=(lambda M, g, kept, x, y, p: g * kept, None),
        elementwise=False,
        doc="mean over rows of −log softmax(logits)[label] (or −Σ p log softmax), from logits",
        aliases=("cross_entropy", "CE"),  # CE is how it is printed: CE(z, 1) reads back
        js=_xent_js,
        torch=Torch(_torch_xent, ("aten.cross_entropy_loss.default",), _read_xent),
        planned=Planned(kernels.xent_forward, kernels.xent_reverse),
        domain=Domain(
            "logits (rows, classes) with a whole label 0 ≤ label < classes per row, or with "
            "target probabilities of the logits' shape"
        ),
    )
)


def _softplus(z: Any) -> Any:
    """softplus(z) = −log σ(−z), without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _bce_logits(z: Any, t: Any) -> Any:
    if np.shape(z) != np.shape(t):
        raise ShapeError(f"targets of shape {np.shape(t)} do not fit logits of shape {np.shape(z)}")
    if isinstance(z, np.ndarray) and z.dtype == object or (isinstance(z, Fraction) or is_sympy(z)):
        sp = np.frompyfunc(exact_fn(lambda s: sympy.log(1 + sympy.exp(s)), "softplus"), 1, 1)
        v = sp(z) - z * t
        return settle(np.sum(v) / max(int(np.size(np.asarray(z, dtype=object))), 1))
    z, t = np.asarray(z), np.asarray(t)
    return float(np.mean(_softplus(z) - z * t))


def _js_mean(v: Any) -> Any:
    return v.sum() / v.size if isinstance(v, np.ndarray) else v


def _mean_size(M: Backend, z: Any) -> int:
    return max(M.size(z), 1)


register(
    Op(
        "bce_with_logits",
        2,
        _kinds(_bce_logits),
        # not BCE: that is bce's, of probabilities; BCE([0.5, −1], t) read as a misprint
        fn("BCEWithLogits", "\\operatorname{BCEWithLogits}"),
        vjps=(
            lambda M, g, x, y, p: g * (M.sigmoid(x[0]) - x[1]) / _mean_size(M, x[0]),
            lambda M, g, x, y, p: -g * x[0] / _mean_size(M, x[0]),
        ),
        elementwise=False,
        doc="mean binary cross-entropy of σ(logits) against targets in [0, 1], from logits",
        aliases=("BCEWithLogits",),
        js=lambda M, x, p: _js_mean(M.call("cr.softplus", x[0]) - x[0] * x[1]),
        torch=Torch(lambda t, x, p: t.nn.functional.binary_cross_entropy_with_logits(x[0], x[1])),
        domain=real_domain(
            REALS, REALS, note="targets meant in [0, 1]; arrays: the targets' shape fits the logits"
        ),
    )
)


def _hinge(s: Any, t: Any) -> Any:
    if np.shape(s) != np.shape(t):
        raise ShapeError(f"targets of shape {np.shape(t)} do not fit scores of shape {np.shape(s)}")
    if isinstance(s, np.ndarray) and s.dtype == object or isinstance(s, Fraction):
        v = np.frompyfunc(lambda m: m if m > 0 else Fraction(0), 1, 1)(1 - t * s)
        return settle(np.sum(v) / max(int(np.size(np.asarray(s, dtype=object))), 1))
    s, t = np.asarray(s), np.asarray(t)
    return float(np.mean(np.maximum(0, 1 - t * s)))


def _hinge_vjp(which: int) -> Callable[..., Any]:
    def rule(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
        s, t = x
        active = M.step(1 - t * s)
        other = t if which == 0 else s
        return -g * other * active / _mean_size(M, s)

    return rule


register(
    Op(
        "hinge",
        2,
        _kinds(_hinge),
        fn("hinge", "\\operatorname{hinge}"),
        vjps=(_hinge_vjp(0), _hinge_vjp(1)),
        elementwise=False,
        doc="max-margin loss: mean of max(0, 1 − y·s) for labels y = ±1",
        js=lambda M, x, p: _js_mean(M.where(M.step(1 - x[1] * x[0]), 1 - x[1] * x[0], 0.0)),
        torch=Torch(lambda t, x, p: t.clamp(1 - x[1] * x[0], min=0).mean()),
        planned=Planned(kernels.hinge_forward, kernels.hinge_reverse),
        kink=Kink(
            "at a margin of exactly 1 the hinge's derivative is 0 (from the right)",
            lambda v, p: bool(
                np.any(np.asarray(v[0], dtype=float) * np.asarray(v[1], dtype=float) == 1)
            ),
        ),
        domain=real_domain(
            REALS,
            REALS,
            note="labels meant ±1; at a margin of 1 the kink convention gives the slope",
        ),
    )
)


def _linear(x: Any, w: Any, b: Any, transpose_w: bool = False) -> Any:
    try:
        if w.ndim != 2:
            raise ValueError("weights must be a matrix")
        r = x @ (w.T if transpose_w else w)
        r = r + b if r.dtype == object else r.__iadd__(b)
    except (ValueError, TypeError, AttributeError) as exc:
        layout = " (PyTorch's (out, in), transpose_w=True)" if transpose_w else ""
        raise ShapeError(
            f"a layer with weights of shape {np.shape(w)}{layout} cannot take inputs of shape "
            f"{np.shape(x)}"
        ) from exc
    return r


def _linear_vjp_x(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    return M.matmul(g, x[1] if p["transpose_w"] else M.transpose(x[1]))


def _linear_vjp_w(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    xin, w = x[0], x[1]
    if M.ndim(xin) != 2:
        n_in, n_out = M.shape(w)[::-1] if p["transpose_w"] else M.shape(w)
        xin = M.reshape(xin, (-1, n_in))
        g = M.reshape(g, (-1, n_out))
    gw = M.matmul(M.transpose(xin), g)  # (in, out)
    # PyTorch's layout: the transpose of a row-major (in, out) array, which is how nn.Linear
    # stores its weight, so the update runs through both in the same order
    return M.transpose(gw) if p["transpose_w"] else gw


def _read_linear(x: Any, w: Any, b: Any = None) -> Any:
    """``F.linear(x, W, b)``: PyTorch keeps W as (out, in); no bias is a bias of zeros."""
    sw = shape_of(w)
    if not shape_of(x) or len(sw) != 2:
        raise Decline
    if b is None:
        b = np.zeros(sw[0], dtype=float_dtype(w))
    return (x, w, b), {"transpose_w": True}


register(
    Op(
        "linear",
        3,
        _kinds(_linear, (ARRAY, EXACT_ARRAY)),
        fn("linear", "\\operatorname{linear}"),
        vjps=(
            _linear_vjp_x,
            _linear_vjp_w,
            lambda M, g, x, y, p: M.sum_to(g, M.shape(x[2])),
        ),
        elementwise=False,
        params=(
            Param(
                "transpose_w",
                False,
                as_bool,
                "W has PyTorch's shape (out, in) and the layer is x @ Wᵀ + b",
            ),
        ),
        doc="x @ W + b: a dense layer in one node (x @ Wᵀ + b with transpose_w=True)",
        torch=Torch(
            lambda t, x, p: t.nn.functional.linear(
                x[0], x[1] if p["transpose_w"] else x[1].T, x[2]
            ),
            ("aten.linear.default",),
            _read_linear,
        ),
        planned=Planned(kernels.linear_forward, kernels.linear_reverse),
        domain=Domain("x (…, in), W (in, out), or (out, in) with transpose_w, and b (out)"),
    )
)


def _is_exact(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == object or isinstance(a, Fraction) or is_sympy(a)


def _sum_squares(*arrays: Any) -> Any:
    total: Any = 0.0
    if any(_is_exact(a) for a in arrays):
        total = Fraction(0)
        for a in arrays:
            r = np.asarray(a, dtype=object).reshape(-1)
            total = total + (r * r).sum()
        return settle(total)
    for a in arrays:
        if isinstance(a, np.ndarray):
            r = a.reshape(-1)
            total += float(r @ r)
        else:
            total += float(a) * float(a)
    return total


register(
    Op(
        "sum_squares",
        -1,
        _kinds(_sum_squares),
        fn("Σ²", "\\sum \\lVert \\cdot \\rVert^2"),
        vjps=PerInput(lambda i, M, g, x, y, p: 2 * g * x[i]),
        elementwise=False,
        doc="Σ of the squares of every element of every input (an L2 penalty in one node)",
        torch=Torch(lambda t, x, p: t.stack([(a * a).sum() for a in x]).sum()),
        planned=Planned(kernels.sum_squares_forward, kernels.sum_squares_reverse),
        domain=Domain("any numbers or arrays"),
    )
)


# ------------------------------------------------------------------ doors used by chainrule.tensor


#: the ops of this family, in the order registered (read by the tests)
TENSOR_OPS = tuple(name for name, op in OPS.items() if op.family == "tensor")
