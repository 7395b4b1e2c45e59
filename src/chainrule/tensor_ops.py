"""Tensor ops for training networks, declared in the op table like the scalar ops.

Each entry gives its forward on arrays (and on plain floats where that makes sense) and, per
input, either a generic partial (elementwise ops: leaky relu, GELU) or a vjp ``g · ∂y/∂x_i``.
A vjp is written once against a small array backend chosen by the kind of ``g``: numpy arrays
in reverse mode, graph nodes when the gradient is built as a graph (``chainrule.grad``), so the
same rule gives numbers and drawable gradient graphs.

Fused ops (``linear``, ``softmax_cross_entropy``, ``bce_with_logits``, ``hinge``,
``sum_squares``) keep the graph of a training step small: one node per layer or loss, which is
what makes a step cost about what the hand-written numpy step costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import ShapeError, ValueInputError
from .node import Node, apply, const, lift
from .ops import OPS, Notation, Op, fn, register
from .values import ARRAY, FLOAT

Shape = tuple[int, ...]


# ------------------------------------------------------------------ helpers


def shape_of(v: Any) -> Shape:
    """The shape of an array, a float (``()``) or a node."""
    if v.__class__ is Node:
        return tuple(np.shape(v.value))
    return tuple(np.shape(v))


def dtype_of(v: Any) -> Any:
    v = v.value if v.__class__ is Node else v
    return v.dtype if isinstance(v, np.ndarray) and v.dtype != object else np.float64


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


def _settle(r: Any) -> Any:
    """Scalar results become floats (the engine's FLOAT kind); arrays stay arrays."""
    if isinstance(r, np.ndarray) and r.ndim > 0:
        return r
    return float(r)


class PerInput(tuple):  # type: ignore[type-arg]
    """The vjps of an op that takes any number of inputs: ``rules[i]`` is the rule of input i."""

    def __new__(cls, rule: Callable[..., Any]) -> PerInput:
        self = super().__new__(cls, (rule,))
        return self

    def __getitem__(self, i: Any) -> Any:  # type: ignore[override]
        rule = tuple.__getitem__(self, 0)
        if isinstance(i, slice):
            raise TypeError("the rules of a variadic op cannot be sliced")

        def bound(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
            return rule(i, M, g, x, y, p)

        return bound


# ------------------------------------------------------------------ array backends


class NumpyBackend:
    """Array maths for vjps in reverse mode (numbers)."""

    @staticmethod
    def reshape(a: Any, shape: Shape) -> Any:
        if not isinstance(a, np.ndarray):
            return np.full(shape, a) if shape else a
        return a.reshape(shape) if shape else float(a.reshape(()))

    @staticmethod
    def permute(a: Any, axes: Any) -> Any:
        return np.transpose(a, axes)

    @staticmethod
    def expand_to(g: Any, axes: tuple[int, ...], keepdims: bool, shape: Shape, dtype: Any) -> Any:
        """Broadcast a reduced gradient back to the shape it was reduced from (a fresh array)."""
        if isinstance(g, np.ndarray) and not keepdims and axes:
            g = np.expand_dims(g, axes)
        out = np.empty(shape, dtype=dtype)
        out[...] = g
        return out

    @staticmethod
    def sum_to(a: Any, shape: Shape) -> Any:
        return sum_to_shape(a, shape)

    @staticmethod
    def sum(a: Any, axis: Any, keepdims: bool) -> Any:
        return np.sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def take(g: Any, index: Any) -> Any:
        return g[index]

    @staticmethod
    def const(a: Any) -> Any:
        return a

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return np.matmul(a, b)

    @staticmethod
    def exp(a: Any) -> Any:
        return np.exp(a)


class NodeBackend:
    """The same names building graph nodes: the gradient becomes a graph (higher order)."""

    @staticmethod
    def reshape(a: Any, shape: Shape) -> Any:
        return reshape(a, shape)

    @staticmethod
    def permute(a: Any, axes: Any) -> Any:
        return permute(a, axes)

    @staticmethod
    def expand_to(g: Any, axes: tuple[int, ...], keepdims: bool, shape: Shape, dtype: Any) -> Any:
        g = lift(g)
        if not keepdims and axes:
            kept = list(shape_of(g))
            for a in axes:
                kept.insert(a, 1)
            g = reshape(g, tuple(kept))
        return broadcast_to(g, shape)

    @staticmethod
    def sum_to(a: Any, shape: Shape) -> Any:
        return sum_to(a, shape)

    @staticmethod
    def sum(a: Any, axis: Any, keepdims: bool) -> Any:
        return reduce_sum(a, axis, keepdims=keepdims)

    @staticmethod
    def take(g: Any, index: Any) -> Any:
        return lift(g)[index]

    @staticmethod
    def const(a: Any) -> Any:
        return const(a)

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return apply(OPS["matmul_nd"], (lift(a), lift(b)))

    @staticmethod
    def exp(a: Any) -> Any:
        return apply(OPS["exp"], (lift(a),))


def backend(g: Any) -> Any:
    return NodeBackend if g.__class__ is Node else NumpyBackend


def val(v: Any) -> Any:
    """The value under a node (vjps see values in reverse mode and nodes in grad-as-graph)."""
    return v.value if v.__class__ is Node else v


def sum_to_shape(c: Any, shape: Shape) -> Any:
    """Sum an array over the axes along which something of ``shape`` was broadcast."""
    if not isinstance(c, np.ndarray):
        return np.full(shape, c) if shape else c
    if c.shape == shape:
        return c
    lead = c.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and c.shape[lead + i] != 1
    )
    r = c.sum(axis=axes, keepdims=True)
    r = r.reshape(shape)
    return r if shape else float(r)


def _kinds(f: Callable[..., Any]) -> dict[int, Callable[..., Any]]:
    return {FLOAT: f, ARRAY: f}


# ------------------------------------------------------------------ shape ops


def _reshape(a: Any, shape: Shape) -> Any:
    try:
        return _settle(np.reshape(a, shape))
    except ValueError as exc:
        raise ShapeError(f"cannot reshape an array of shape {np.shape(a)} into {shape}") from exc


register(
    Op(
        "reshape",
        1,
        _kinds(_reshape),
        fn("reshape", "\\operatorname{reshape}"),
        vjps=(lambda M, g, x, y, p: backend(g).reshape(g, shape_of(x[0])),),
        elementwise=False,
        doc="the same elements in a new shape",
    )
)


def _permute(a: Any, axes: Any) -> Any:
    try:
        return np.transpose(a, axes)
    except ValueError as exc:
        raise ShapeError(f"axes {axes} do not fit an array of shape {np.shape(a)}") from exc


def _inverse_axes(axes: Any) -> Any:
    return None if axes is None else tuple(int(i) for i in np.argsort(axes))


register(
    Op(
        "permute",
        1,
        {ARRAY: _permute},
        Notation("postfix", "ᵀ", "{}^{{\\top}}", 95, "ᵀ"),
        vjps=(lambda M, g, x, y, p: backend(g).permute(g, _inverse_axes(p["axes"])),),
        elementwise=False,
        doc="the axes of an array in a new order (reversed when no order is given)",
    )
)


def _joining(join: Callable[..., Any], verb: str) -> Callable[..., Any]:
    """np.concatenate / np.stack with a shape error that names the shapes."""

    def f(*arrays: Any, axis: int) -> Any:
        try:
            return join(arrays, axis=axis)
        except (ValueError, np.exceptions.AxisError) as exc:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ShapeError(f"cannot {verb} shapes {shapes} along axis {axis}") from exc

    return f


_concat = _joining(np.concatenate, "concatenate")
_stack = _joining(np.stack, "stack")


def _concat_vjp(i: int, M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    ax = p["axis"] % len(shape_of(x[0]))
    start = sum(shape_of(a)[ax] for a in x[:i])
    index = (slice(None),) * ax + (slice(start, start + shape_of(x[i])[ax]),)
    return backend(g).take(g, index)


register(
    Op(
        "concat",
        -1,
        {ARRAY: _concat},
        fn("concat", "\\operatorname{concat}"),
        vjps=PerInput(_concat_vjp),
        elementwise=False,
        doc="arrays joined along an existing axis",
    )
)


def _stack_vjp(i: int, M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    ax = p["axis"] % (len(shape_of(x[0])) + 1)
    return backend(g).take(g, (slice(None),) * ax + (i,))


register(
    Op(
        "stack",
        -1,
        {FLOAT: _stack, ARRAY: _stack},
        fn("stack", "\\operatorname{stack}"),
        vjps=PerInput(_stack_vjp),
        elementwise=False,
        doc="arrays (or numbers) joined along a new axis",
    )
)


def _broadcast_to(a: Any, shape: Shape) -> Any:
    try:
        return np.broadcast_to(a, shape).copy()
    except ValueError as exc:
        raise ShapeError(f"cannot broadcast shape {np.shape(a)} to {shape}") from exc


register(
    Op(
        "broadcast_to",
        1,
        _kinds(_broadcast_to),
        fn("broadcast", "\\operatorname{broadcast}"),
        vjps=(lambda M, g, x, y, p: backend(g).sum_to(g, shape_of(x[0])),),
        elementwise=False,
        doc="an array repeated along new or length-1 axes",
    )
)
register(
    Op(
        "sum_to",
        1,
        {ARRAY: lambda a, shape: _settle(sum_to_shape(a, tuple(shape)))},
        fn("sum_to", "\\operatorname{sum\\_to}"),
        vjps=(
            lambda M, g, x, y, p: backend(g).expand_to(g, (), True, shape_of(x[0]), dtype_of(x[0])),
        ),
        elementwise=False,
        doc="the sum over the axes along which an array was broadcast to its shape",
    )
)

# ------------------------------------------------------------------ reductions over axes


def _reduce(fn_: Callable[..., Any]) -> Callable[..., Any]:
    def f(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        return _settle(fn_(a, axis=norm_axes(axis, a.ndim), keepdims=keepdims))

    return f


def _sum_vjp(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = shape_of(x[0])
    return backend(g).expand_to(g, norm_axes(p["axis"], len(s)), p["keepdims"], s, dtype_of(x[0]))


def _count(shape: Shape, axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _mean_vjp(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = shape_of(x[0])
    axes = norm_axes(p["axis"], len(s))
    return backend(g).expand_to(g / _count(s, axes), axes, p["keepdims"], s, dtype_of(x[0]))


def _max_vjp(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    # ties share the gradient equally (as HIPS autograd and numpy's amax subgradient do)
    B = backend(g)
    s = shape_of(x[0])
    axes = norm_axes(p["axis"], len(s))
    xv, yv = val(x[0]), val(y)
    if not isinstance(xv, np.ndarray):
        return g
    yk = np.expand_dims(yv, axes) if not p["keepdims"] and np.ndim(yv) else yv
    mask = (xv == yk).astype(dtype_of(xv))
    mask /= mask.sum(axis=axes, keepdims=True)
    return B.expand_to(g, axes, p["keepdims"], s, dtype_of(xv)) * B.const(mask)


for _name, _np_fn, _vjp, _latex in (
    ("reduce_sum", np.sum, _sum_vjp, "\\sum"),
    ("reduce_mean", np.mean, _mean_vjp, "\\operatorname{mean}"),
    ("reduce_max", np.max, _max_vjp, "\\max"),
):
    register(
        Op(
            _name,
            1,
            _kinds(_reduce(_np_fn)),
            fn(_name.removeprefix("reduce_"), _latex),
            vjps=(_vjp,),
            elementwise=False,
            doc=f"{_name.removeprefix('reduce_')} over the given axes (every axis when none)",
        )
    )

# ------------------------------------------------------------------ elementwise activations

_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_A = 0.044715


def _leaky(a: Any, slope: float = 0.01) -> Any:
    if isinstance(a, np.ndarray):
        return np.where(a > 0, a, a * a.dtype.type(slope))
    return a if a > 0 else slope * a


register(
    Op(
        "leaky_relu",
        1,
        _kinds(_leaky),
        fn("leaky_relu", "\\operatorname{leaky\\_relu}"),
        partials=(lambda M, x, y, p: p["slope"] + (1 - p["slope"]) * M.step(x[0]),),
        doc="a where a > 0, else slope · a",
    )
)


def _gelu(kind: int) -> Callable[[Any], Any]:
    def f(a: Any) -> Any:
        t = np.tanh(_GELU_C * (a + _GELU_A * a**3))
        r = 0.5 * a * (1 + t)
        return r if kind == ARRAY else float(r)

    return f


def _gelu_partial(M: Any, x: Any, y: Any, p: Any) -> Any:
    a = x[0]
    t = M.tanh(_GELU_C * (a + _GELU_A * a**3))
    return 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * _GELU_C * (1 + 3 * _GELU_A * a * a)


register(
    Op(
        "gelu",
        1,
        {FLOAT: _gelu(FLOAT), ARRAY: _gelu(ARRAY)},
        fn("gelu", "\\operatorname{GELU}"),
        partials=(_gelu_partial,),
        doc="GELU, tanh form: ½a(1 + tanh(√(2/π)(a + 0.044715a³)))",
    )
)

# ------------------------------------------------------------------ softmax family


def _check_array(a: Any, what: str) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        raise ShapeError(f"{what} needs an array with at least one axis")
    return a


def _log_softmax(a: Any, axis: int = -1) -> Any:
    a = _check_array(a, "log_softmax")
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax(a: Any, axis: int = -1) -> Any:
    a = _check_array(a, "softmax")
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _softmax_vjp(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    B = backend(g)
    return y * (g - B.sum(g * y, p["axis"], True))


def _log_softmax_vjp(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    B = backend(g)
    return g - B.exp(y) * B.sum(g, p["axis"], True)


register(
    Op(
        "softmax",
        1,
        {ARRAY: _softmax},
        fn("softmax", "\\operatorname{softmax}"),
        vjps=(_softmax_vjp,),
        elementwise=False,
        doc="exp(a) / Σ exp(a) along an axis, computed without overflow",
    )
)
register(
    Op(
        "log_softmax",
        1,
        {ARRAY: _log_softmax},
        fn("log_softmax", "\\operatorname{log\\_softmax}"),
        vjps=(_log_softmax_vjp,),
        elementwise=False,
        doc="a − log Σ exp(a) along an axis, computed without overflow",
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
    idx = labels.astype(np.intp)
    if (
        not np.array_equal(idx, labels)
        or idx.min(initial=0) < 0
        or (idx.size and idx.max() >= logits.shape[-1])
    ):
        raise ValueInputError(
            f"class labels must be whole numbers from 0 to {logits.shape[-1] - 1}"
        )
    return idx


def _xent(z: Any, t: Any) -> Any:
    z = _check_array(z, "softmax cross-entropy")
    lsm = _log_softmax(z, -1)
    if np.shape(t) == z.shape:
        return float(-(np.asarray(t) * lsm).sum() / (z.size // z.shape[-1]))
    idx = _labels(t, z)
    picked = np.take_along_axis(lsm, idx[..., None], axis=-1)
    return float(-picked.sum() / max(idx.size, 1))


def _xent_vjp_logits(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    z, t = val(x[0]), val(x[1])
    rows = max(z.size // z.shape[-1], 1)
    d = _softmax(z, -1)
    if np.shape(t) == z.shape:
        tt = np.asarray(t, dtype=z.dtype)
        d *= tt.sum(axis=-1, keepdims=True)  # 1 for probabilities; any weights work
        d -= tt
    else:
        idx = _labels(t, z)
        np.put_along_axis(d, idx[..., None], np.take_along_axis(d, idx[..., None], -1) - 1, -1)
    d *= d.dtype.type(1.0 / rows)
    return g * backend(g).const(d)


def _xent_vjp_target(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    z, t = val(x[0]), val(x[1])
    if np.shape(t) != z.shape:
        return np.zeros(np.shape(t))
    rows = max(z.size // z.shape[-1], 1)
    return g * backend(g).const(-_log_softmax(z, -1) / rows)


register(
    Op(
        "softmax_cross_entropy",
        2,
        {ARRAY: _xent},
        fn("CE", "\\operatorname{CE}"),
        vjps=(_xent_vjp_logits, _xent_vjp_target),
        elementwise=False,
        doc="mean over rows of −log softmax(logits)[label] (or −Σ p log softmax), from logits",
    )
)


def _log_sigmoid_neg(z: Any) -> Any:
    """softplus(z) = −log σ(−z), without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _bce_logits(z: Any, t: Any) -> Any:
    z, t = np.asarray(z), np.asarray(t)
    if z.shape != t.shape:
        raise ShapeError(f"targets of shape {t.shape} do not fit logits of shape {z.shape}")
    return float(np.mean(_log_sigmoid_neg(z) - z * t))


def _sigmoid(z: Any) -> Any:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


register(
    Op(
        "bce_with_logits",
        2,
        {FLOAT: _bce_logits, ARRAY: _bce_logits},
        fn("BCE", "\\operatorname{BCE}"),
        vjps=(
            lambda M, g, x, y, p: (
                g
                * backend(g).const(
                    ((_sigmoid(val(x[0])) - val(x[1])) / max(np.size(val(x[0])), 1)).astype(
                        dtype_of(x[0])
                    )
                )
            ),
            lambda M, g, x, y, p: (
                g * backend(g).const(-np.asarray(val(x[0])) / max(np.size(val(x[0])), 1))
            ),
        ),
        elementwise=False,
        doc="mean binary cross-entropy of σ(logits) against targets in [0, 1], from logits",
    )
)


def _hinge(s: Any, t: Any) -> Any:
    s, t = np.asarray(s), np.asarray(t)
    if s.shape != t.shape:
        raise ShapeError(f"targets of shape {t.shape} do not fit scores of shape {s.shape}")
    return float(np.mean(np.maximum(0, 1 - t * s)))


def _hinge_vjp(which: int) -> Callable[..., Any]:
    def rule(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
        s, t = np.asarray(val(x[0])), np.asarray(val(x[1]))
        active = (1 - t * s) > 0
        other = t if which == 0 else s
        d = np.where(active, -other, 0).astype(dtype_of(x[which])) / max(s.size, 1)
        return g * backend(g).const(d)

    return rule


register(
    Op(
        "hinge",
        2,
        {FLOAT: _hinge, ARRAY: _hinge},
        fn("hinge", "\\operatorname{hinge}"),
        vjps=(_hinge_vjp(0), _hinge_vjp(1)),
        elementwise=False,
        doc="max-margin loss: mean of max(0, 1 − y·s) for labels y = ±1",
    )
)


def _linear(x: Any, w: Any, b: Any) -> Any:
    try:
        r = x @ w
    except (ValueError, TypeError) as exc:
        raise ShapeError(
            f"a layer with weights of shape {np.shape(w)} cannot take inputs of shape {np.shape(x)}"
        ) from exc
    r += b
    return r


def _linear_vjp_x(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    w = x[1]
    return g @ (w.T if w.__class__ is not Node else permute(w, None))


def _linear_vjp_w(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    xin, w = x[0], x[1]
    if g.__class__ is Node:
        n_in = shape_of(w)[0]
        return permute(reshape(xin, (-1, n_in)), None) @ reshape(g, (-1, shape_of(w)[1]))
    if xin.ndim == 2:
        return xin.T @ g
    return xin.reshape(-1, w.shape[0]).T @ g.reshape(-1, w.shape[1])


def _linear_vjp_b(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    return backend(g).sum_to(g, shape_of(x[2]))


register(
    Op(
        "linear",
        3,
        {ARRAY: _linear},
        fn("linear", "\\operatorname{linear}"),
        vjps=(_linear_vjp_x, _linear_vjp_w, _linear_vjp_b),
        elementwise=False,
        doc="x @ W + b: a dense layer in one node",
    )
)


def _matmul_nd(a: Any, b: Any) -> Any:
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or 0 in (a.ndim, b.ndim):
        raise ShapeError("@ needs two arrays with at least one axis each")
    try:
        return _settle(np.matmul(a, b))
    except ValueError as exc:
        raise ShapeError(f"@ cannot multiply shapes {a.shape} and {b.shape}") from exc


def _swap_last(B: Any, a: Any) -> Any:
    n = len(shape_of(a))
    return B.permute(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _matmul_nd_vjp(which: int) -> Callable[..., Any]:
    """Promote vectors as numpy does, multiply by the other factor, sum broadcast batch axes."""

    def rule(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
        B = backend(g)
        a, b = x
        sa, sb = shape_of(a), shape_of(b)
        a2 = a if len(sa) > 1 else B.reshape(a, (1,) + sa)
        b2 = b if len(sb) > 1 else B.reshape(b, sb + (1,))
        sg = shape_of(g)
        if len(sa) == 1:
            sg = sg[:-1] + (1,) + sg[-1:] if len(sb) > 1 else sg + (1,)
        if len(sb) == 1:
            sg = sg + (1,)
        g2 = B.reshape(g, sg)
        if which == 0:
            c = B.matmul(g2, _swap_last(B, b2))
            return B.reshape(B.sum_to(c, shape_of(a2)), sa)
        c = B.matmul(_swap_last(B, a2), g2)
        return B.reshape(B.sum_to(c, shape_of(b2)), sb)

    return rule


register(
    Op(
        "matmul_nd",
        2,
        {ARRAY: _matmul_nd},
        Notation("infix", " @ ", "{} {}", 70, "@"),
        vjps=(_matmul_nd_vjp(0), _matmul_nd_vjp(1)),
        elementwise=False,
        doc="matrix product of stacks of matrices (numpy's matmul, batch axes broadcast)",
    )
)


def _sum_squares(*arrays: Any) -> Any:
    total = 0.0
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
        {FLOAT: _sum_squares, ARRAY: _sum_squares},
        fn("Σ²", "\\sum \\lVert \\cdot \\rVert^2"),
        vjps=PerInput(lambda i, M, g, x, y, p: 2 * g * x[i]),
        elementwise=False,
        doc="Σ of the squares of every element of every input (an L2 penalty in one node)",
    )
)


# ------------------------------------------------------------------ doors used by the backends
# (the public, documented versions live in chainrule.tensor)


def _node(x: Any) -> Node:
    return lift(x)


def reshape(x: Any, shape: Sequence[int]) -> Node:
    return apply(OPS["reshape"], (_node(x),), {"shape": tuple(int(s) for s in shape)})


def permute(x: Any, axes: Sequence[int] | None = None) -> Node:
    return apply(
        OPS["permute"], (_node(x),), {"axes": None if axes is None else tuple(int(a) for a in axes)}
    )


def broadcast_to(x: Any, shape: Sequence[int]) -> Node:
    return apply(OPS["broadcast_to"], (_node(x),), {"shape": tuple(int(s) for s in shape)})


def sum_to(x: Any, shape: Sequence[int]) -> Node:
    return apply(OPS["sum_to"], (_node(x),), {"shape": tuple(int(s) for s in shape)})


def reduce_sum(x: Any, axis: Any = None, *, keepdims: bool = False) -> Node:
    return apply(OPS["reduce_sum"], (_node(x),), {"axis": axis, "keepdims": keepdims})


TENSOR_OPS = tuple(
    name
    for name in (
        "reshape",
        "permute",
        "concat",
        "stack",
        "broadcast_to",
        "sum_to",
        "reduce_sum",
        "reduce_mean",
        "reduce_max",
        "leaky_relu",
        "gelu",
        "softmax",
        "log_softmax",
        "softmax_cross_entropy",
        "bce_with_logits",
        "hinge",
        "linear",
        "matmul_nd",
        "sum_squares",
    )
)
