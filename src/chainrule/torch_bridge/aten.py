"""ATen ops that have a chainrule op: each handler builds native nodes, or declines.

A handler gets the chainrule nodes (or plain Python values) of an ATen call's arguments and
returns a node. It raises ``Decline`` when the call uses an option chainrule's op does not have
(groups in a convolution, ceil mode in pooling, exact GELU ...): the converter then makes the call
an opaque node, so declining is never wrong, only less readable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tensor as L
from .. import tensor as T
from ..core.node import Node, apply, const, lift
from ..functions import cos, exp, log, mse, relu, sigmoid, sin, sqrt, tanh
from ..ops import OPS

Handler = Callable[..., Any]
HANDLERS: dict[str, Handler] = {}


class Decline(Exception):
    """This call needs an option the native op lacks: make it opaque."""


def handles(*names: str) -> Callable[[Handler], Handler]:
    def put(f: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = f
        return f

    return put


def _node(v: Any) -> Node:
    if isinstance(v, Node):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return lift(float(v))
    raise Decline


def _dtype(n: Node) -> Any:
    v = n.value
    return v.dtype if isinstance(v, np.ndarray) and v.dtype.kind == "f" else np.float64


def _ndim(n: Node) -> int:
    return len(n.shape)


def _axis(d: int, nd: int) -> int:
    return int(d) % max(nd, 1)


def _array(n: Node) -> Node:
    if not n.shape:
        raise Decline
    return n


# ------------------------------------------------------------------ elementwise

for _name, _f in {
    "relu": relu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "sin": sin,
    "cos": cos,
}.items():
    HANDLERS[f"aten.{_name}.default"] = lambda a, _f=_f: _f(_node(a))


@handles("aten.neg.default")
def _neg(a: Any) -> Node:
    return -_node(a)


@handles("aten.gelu.default")
def _gelu(a: Any, approximate: str = "none") -> Node:
    if approximate != "tanh":
        raise Decline  # chainrule's GELU is the tanh form; the exact (erf) one stays opaque
    return T.gelu(_node(a))


def _scaled(b: Any, alpha: Any) -> Any:
    return b if alpha == 1 else _node(b) * float(alpha)


@handles("aten.add.Tensor", "aten.add.Scalar")
def _add(a: Any, b: Any, alpha: Any = 1) -> Node:
    return _node(a) + _scaled(b, alpha)


@handles("aten.sub.Tensor", "aten.sub.Scalar")
def _sub(a: Any, b: Any, alpha: Any = 1) -> Node:
    return _node(a) - _scaled(b, alpha)


@handles("aten.rsub.Scalar", "aten.rsub.Tensor")
def _rsub(a: Any, b: Any, alpha: Any = 1) -> Node:
    return _node(b) - _scaled(a, alpha)


@handles("aten.mul.Tensor", "aten.mul.Scalar")
def _mul(a: Any, b: Any) -> Node:
    return _node(a) * _node(b)


@handles("aten.div.Tensor", "aten.div.Scalar")
def _div(a: Any, b: Any) -> Node:
    return _node(a) / _node(b)


@handles("aten.pow.Tensor_Scalar", "aten.pow.Tensor_Tensor")
def _pow(a: Any, b: Any) -> Node:
    return _node(a) ** _node(b)


# ------------------------------------------------------------------ products and layers


@handles("aten.matmul.default", "aten.mm.default", "aten.bmm.default")
def _matmul(a: Any, b: Any) -> Node:
    return T.matmul(_array(_node(a)), _array(_node(b)))


@handles("aten.linear.default")
def _linear(x: Any, w: Any, b: Any = None) -> Node:
    x, w = _array(_node(x)), _node(w)
    if _ndim(w) != 2:
        raise Decline
    bias = _node(b) if b is not None else const(np.zeros(w.shape[0], dtype=_dtype(w)))
    return T.linear(x, w, bias, transpose_w=True)  # torch keeps W as (out, in)


@handles("aten.rnn_tanh_cell.default")
def _rnn_tanh_cell(
    x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None
) -> Node:
    """h′ = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), as two linear nodes and a tanh."""
    return tanh(_linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh))


@handles("aten.conv2d.default")
def _conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Node:
    x, w = _node(x), _node(w)
    if groups != 1 or isinstance(padding, str) or _ndim(x) != 4:
        raise Decline
    return L.conv2d(x, w, b, stride=_pair(stride), padding=_pair(padding), dilation=_pair(dilation))


def _pair(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(int(a) for a in v) if len(v) == 2 else (int(v[0]), int(v[0]))
    return int(v)


@handles("aten.max_pool2d.default")
def _max_pool(
    x: Any, kernel: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1, ceil: bool = False
) -> Node:
    x = _node(x)
    if (
        _ndim(x) != 4
        or ceil
        or _pair(padding) not in (0, (0, 0))
        or _pair(dilation) not in (1, (1, 1))
    ):
        raise Decline
    return L.max_pool2d(x, _pair(kernel), _pair(stride) if stride else None)


@handles("aten.avg_pool2d.default")
def _avg_pool(
    x: Any,
    kernel: Any,
    stride: Any = (),
    padding: Any = 0,
    ceil: bool = False,
    count_include_pad: bool = True,
    divisor_override: Any = None,
) -> Node:
    x = _node(x)
    if _ndim(x) != 4 or ceil or not count_include_pad or divisor_override is not None:
        raise Decline
    return L.avg_pool2d(x, _pair(kernel), _pair(stride) if stride else None, _pair(padding))


@handles("aten.layer_norm.default")
def _layer_norm(
    x: Any, shape: Any, w: Any = None, b: Any = None, eps: float = 1e-5, cudnn: bool = True
) -> Node:
    return L.layer_norm(_array(_node(x)), w, b, dims=len(shape), eps=float(eps))


@handles("aten.batch_norm.default")
def _batch_norm(
    x: Any,
    w: Any,
    b: Any,
    mean: Any,
    var: Any,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
    cudnn: bool = True,
) -> Node:
    x = _array(_node(x))
    if mean is None or var is None:
        if not training:
            raise Decline
        c = x.shape[1]
        mean, var = const(np.zeros(c, dtype=_dtype(x))), const(np.ones(c, dtype=_dtype(x)))
    return L.batch_norm(x, mean, var, w, b, training=bool(training), eps=float(eps))


@handles("aten.embedding.default")
def _embedding(
    w: Any, idx: Any, padding_idx: int = -1, scale: bool = False, sparse: bool = False
) -> Node:
    if padding_idx != -1 or scale:
        raise Decline
    return L.embedding(_node(w), _node(idx))


@handles("aten.dropout.default")
def _dropout(x: Any, p: float, train: bool) -> Node:
    x = _node(x)
    if not train or p == 0:
        return L.dropout(x, float(p), training=False)
    import torch

    keep = (torch.rand(x.shape) >= p).numpy()  # drawn by torch, so torch.manual_seed applies
    mask = const(keep.astype(_dtype(x)) if x.shape else float(keep), "dropout mask")
    return apply(OPS["dropout"], (x, mask), {"p": float(p), "training": True})


# ------------------------------------------------------------------ softmax and losses


@handles("aten.softmax.int", "aten._softmax.default")
def _softmax(x: Any, dim: int, dtype: Any = None) -> Node:
    if dtype not in (None, False):
        raise Decline
    return T.softmax(_array(_node(x)), axis=int(dim))


@handles("aten.log_softmax.int", "aten._log_softmax.default")
def _log_softmax(x: Any, dim: int, dtype: Any = None) -> Node:
    if dtype not in (None, False):
        raise Decline
    return T.log_softmax(_array(_node(x)), axis=int(dim))


@handles("aten.cross_entropy_loss.default")
def _cross_entropy(
    z: Any,
    t: Any,
    weight: Any = None,
    reduction: int = 1,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Node:
    z, t = _array(_node(z)), _node(t)
    if weight is not None or reduction != 1 or label_smoothing or _ndim(z) != 2:
        raise Decline
    if t.shape != z.shape and np.any(np.asarray(t.value) == ignore_index):
        raise Decline
    return T.cross_entropy(z, t)


@handles("aten.mse_loss.default")
def _mse(a: Any, b: Any, reduction: int = 1) -> Node:
    a, b = _node(a), _node(b)
    if reduction != 1 or a.shape != b.shape:
        raise Decline
    return mse(a, b)


# ------------------------------------------------------------------ shapes and reductions


@handles("aten.t.default")
def _t(a: Any) -> Node:
    a = _node(a)
    return T.transpose(a) if _ndim(a) == 2 else a


@handles("aten.transpose.int")
def _transpose(a: Any, d0: int, d1: int) -> Node:
    a = _array(_node(a))
    axes = list(range(_ndim(a)))
    i, j = _axis(d0, len(axes)), _axis(d1, len(axes))
    axes[i], axes[j] = axes[j], axes[i]
    return T.transpose(a, axes)


@handles("aten.permute.default")
def _permute(a: Any, dims: Any) -> Node:
    a = _array(_node(a))
    return T.transpose(a, [_axis(d, _ndim(a)) for d in dims])


@handles("aten.view.default", "aten.reshape.default", "aten._unsafe_view.default")
def _reshape(a: Any, shape: Any) -> Node:
    return T.reshape(_node(a), [int(s) for s in shape])


@handles("aten.unflatten.int")
def _unflatten(a: Any, dim: int, sizes: Any) -> Node:
    a = _node(a)
    s = list(a.shape)
    i = _axis(dim, len(s))
    return T.reshape(a, s[:i] + [int(n) for n in sizes] + s[i + 1 :])


@handles("aten.flatten.using_ints")
def _flatten(a: Any, start: int = 0, end: int = -1) -> Node:
    a = _node(a)
    s = list(a.shape)
    if not s:
        return T.reshape(a, [1])
    i, j = _axis(start, len(s)), _axis(end, len(s))
    return T.reshape(a, s[:i] + [int(np.prod(s[i : j + 1]))] + s[j + 1 :])


@handles("aten.unsqueeze.default")
def _unsqueeze(a: Any, dim: int) -> Node:
    a = _node(a)
    s = list(a.shape)
    s.insert(_axis(dim, len(s) + 1), 1)
    return T.reshape(a, s)


@handles("aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default")
def _squeeze(a: Any, dims: Any = None) -> Node:
    a = _node(a)
    s = list(a.shape)
    if dims is None:
        keep = [n for n in s if n != 1]
    else:
        drop = {_axis(d, len(s)) for d in (dims if isinstance(dims, (list, tuple)) else [dims])}
        keep = [n for k, n in enumerate(s) if not (k in drop and n == 1)]
    return T.reshape(a, keep) if keep else T.reshape(a, [])


@handles("aten.expand.default")
def _expand(a: Any, sizes: Any) -> Node:
    a = _node(a)
    lead = len(sizes) - _ndim(a)
    shape = [int(a.shape[k - lead]) if int(n) == -1 else int(n) for k, n in enumerate(sizes)]
    return T.broadcast_to(a, shape)


@handles("aten.to.dtype", "aten._to_copy.default", "aten.to.dtype_layout")
def _to(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Node:
    """A cast to whole numbers (labels, indices) carries no gradient: a constant. Casts between
    float types stay opaque, so the value keeps PyTorch's rounding."""
    a = _node(a)
    dtype = kwargs.get("dtype", dtype)
    if dtype is None or getattr(dtype, "is_floating_point", True):
        raise Decline
    v = np.asarray(a.value)
    return const(np.trunc(v) if dtype != _bool_dtype() else (v != 0).astype(np.float64))


def _bool_dtype() -> Any:
    import torch

    return torch.bool


@handles("aten.contiguous.default", "aten.clone.default", "aten.alias.default")
def _same(a: Any, **_: Any) -> Node:
    return _node(a)


@handles("aten.select.int")
def _select(a: Any, dim: int, index: int) -> Node:
    a = _array(_node(a))
    return a[(slice(None),) * _axis(dim, _ndim(a)) + (int(index),)]


@handles("aten.slice.Tensor")
def _slice(a: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1) -> Node:
    a = _array(_node(a))
    size = a.shape[_axis(dim, _ndim(a))]
    stop = None if end is None or end >= size else end
    return a[(slice(None),) * _axis(dim, _ndim(a)) + (slice(start, stop, step),)]


@handles("aten.unbind.int")
def _unbind(a: Any, dim: int = 0) -> list[Node]:
    a = _array(_node(a))
    d = _axis(dim, _ndim(a))
    return [a[(slice(None),) * d + (i,)] for i in range(a.shape[d])]


@handles("aten.split.Tensor", "aten.split_with_sizes.default")
def _split(a: Any, size: Any, dim: int = 0) -> list[Node]:
    a = _array(_node(a))
    d = _axis(dim, _ndim(a))
    n = a.shape[d]
    sizes = list(size) if isinstance(size, (list, tuple)) else [int(size)] * -(-n // int(size))
    out, start = [], 0
    for k in sizes:
        out.append(a[(slice(None),) * d + (slice(start, min(start + int(k), n)),)])
        start += int(k)
    return out


@handles("aten.broadcast_tensors.default")
def _broadcast_tensors(tensors: Any) -> list[Node]:
    parts = [_node(t) for t in tensors]
    shape = np.broadcast_shapes(*(p.shape for p in parts))
    return [p if p.shape == shape else T.broadcast_to(p, list(shape)) for p in parts]


@handles("aten.cat.default")
def _cat(tensors: Any, dim: int = 0) -> Node:
    parts = [_array(_node(t)) for t in tensors]
    return T.concatenate(parts, axis=_axis(dim, _ndim(parts[0])))


@handles("aten.stack.default")
def _stack(tensors: Any, dim: int = 0) -> Node:
    parts = [_node(t) for t in tensors]
    return T.stack(parts, axis=_axis(dim, _ndim(parts[0]) + 1))


def _axes(dims: Any, nd: int) -> Any:
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):
        return None
    if isinstance(dims, (list, tuple)):
        return tuple(_axis(d, nd) for d in dims)
    return _axis(dims, nd)


@handles("aten.sum.default", "aten.sum.dim_IntList")
def _sum(a: Any, dims: Any = None, keepdim: bool = False, dtype: Any = None) -> Node:
    a = _node(a)
    if dtype is not None:
        raise Decline
    if not a.shape:
        return a
    return T.sum(a, axis=_axes(dims, _ndim(a)), keepdims=bool(keepdim))


@handles("aten.mean.default", "aten.mean.dim")
def _mean(a: Any, dims: Any = None, keepdim: bool = False, dtype: Any = None) -> Node:
    a = _node(a)
    if dtype is not None:
        raise Decline
    if not a.shape:
        return a
    return T.mean(a, axis=_axes(dims, _ndim(a)), keepdims=bool(keepdim))
