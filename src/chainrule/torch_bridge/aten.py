"""ATen calls as native chainrule nodes: each handler builds nodes, or declines.

The ATen calls that *are* an op of the table are declared on the op (``Op.torch.aten``, with a
reader of the call's arguments): ``HANDLERS`` is built from the table. What stays here are the
calls that are several ops, or an op with arguments computed from the call (PyTorch's ``view``
family, slicing, casts, exact GELU, dropout's mask drawn by torch). A handler gets the chainrule
nodes (or plain Python values) of an ATen call's arguments and returns a node. It raises
``Decline`` when the call uses an option chainrule's op does not have (groups in a convolution,
ceil mode in pooling ...): the converter then makes the call an opaque node, so declining is never
wrong, only less readable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import tensor as T
from ..core.node import Node, apply, const, lift
from ..ops import OPS, Op
from ..ops.table import Decline, Reader, Torch

Handler = Callable[..., Any]
COMPOSITES: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def put(f: Handler) -> Handler:
        for name in names:
            COMPOSITES[name] = f
        return f

    return put


def _node(v: Any) -> Node:
    if isinstance(v, Node):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return lift(float(v))
    if isinstance(v, np.ndarray):
        return const(v)
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


def _op_handler(op: Op, read: Reader | None, fallback: Handler | None) -> Handler:
    """The handler of an ATen call that is ``op``: its reader, then ``apply``; a declined
    call goes to the composite of the same name, if there is one."""

    def handler(*args: Any, **kwargs: Any) -> Any:
        try:
            if read is None:
                if kwargs:
                    raise Decline
                inputs, params = args, None
            else:
                inputs, params = read(*args, **kwargs)
            return apply(op, tuple(_node(v) for v in inputs), params)
        except Decline:
            if fallback is None:
                raise
            return fallback(*args, **kwargs)

    return handler


# ------------------------------------------------------------------ composites


def _scaled(b: Any, alpha: Any) -> Any:
    return _node(b) if alpha == 1 else _node(b) * float(alpha)


@handles("aten.add.Tensor", "aten.add.Scalar")
def _add(a: Any, b: Any, alpha: Any = 1) -> Node:
    return _node(a) + _scaled(b, alpha)


@handles("aten.sub.Tensor", "aten.sub.Scalar")
def _sub(a: Any, b: Any, alpha: Any = 1) -> Node:
    return _node(a) - _scaled(b, alpha)


@handles("aten.rsub.Scalar", "aten.rsub.Tensor")
def _rsub(a: Any, b: Any, alpha: Any = 1) -> Node:
    return _node(b) - _scaled(a, alpha)


# ------------------------------------------------------------------ products and layers


@handles("aten.rnn_tanh_cell.default")
def _rnn_tanh_cell(
    x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None
) -> Node:
    """h′ = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), as two linear nodes and a tanh."""
    return apply(OPS["tanh"], (_linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh),))


@handles("aten.dropout.default")
def _dropout(x: Any, p: float, train: bool) -> Node:
    x = _node(x)
    if not train or p == 0:
        return T.dropout(x, float(p), training=False)
    keep = (torch.rand(x.shape) >= p).numpy()  # drawn by torch, so torch.manual_seed applies
    mask = const(keep.astype(_dtype(x)) if x.shape else float(keep), "dropout mask")
    return apply(OPS["dropout"], (x, mask), {"p": float(p), "training": True})


# ------------------------------------------------------------------ shapes and reductions


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
    return torch.bool


@handles("aten.contiguous.default", "aten.clone.default", "aten.alias.default")
def _same(a: Any, **_: Any) -> Node:
    return _node(a)


@handles("aten.lift_fresh_copy.default")
def _lift_fresh_copy(a: Any) -> Node:
    """A tensor literal in the model's code (``h[:, 0] = torch.tensor(0.)``): a constant."""
    a = _node(a)
    if a.requires_grad:
        raise Decline
    return a


def _like(a: Node, value: Any) -> Node:
    """``value`` (a number or a node) in the shape of ``a``: what a fill or a copy writes. A
    constant takes ``a``'s dtype, as PyTorch casts it; a differentiable value of another
    dtype declines (the opaque call rounds as PyTorch does)."""
    if not isinstance(value, Node):
        value = float(value)
        full = np.full(a.shape, value, dtype=_dtype(a)) if a.shape else value
        return const(full)
    if not value.requires_grad:
        v = np.broadcast_to(np.asarray(value.value, dtype=_dtype(a)), a.shape)
        return const(v.copy() if a.shape else float(v))
    if _dtype(value) != _dtype(a):
        raise Decline
    return value if value.shape == a.shape else T.broadcast_to(value, list(a.shape))


@handles("aten.copy.default")
def _copy(a: Any, src: Any, non_blocking: bool = False) -> Node:
    """``dst.copy_(src)`` (how ``h[1:] = h[1:] * 2`` writes) out of place: ``src`` in
    ``dst``'s shape."""
    return _like(_node(a), src)


@handles("aten.fill.Scalar", "aten.fill.Tensor")
def _fill(a: Any, value: Any) -> Node:
    return _like(_node(a), value)


@handles("aten.zero.default")
def _zero(a: Any) -> Node:
    return _like(_node(a), 0.0)


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


@handles("aten.t.default")
def _t_vector(a: Any) -> Node:
    """``aten.t`` of a vector or a number changes nothing (a matrix is the table's transpose)."""
    a = _node(a)
    if _ndim(a) == 2:
        raise Decline
    return a


@handles("aten.sum.default", "aten.sum.dim_IntList", "aten.mean.default", "aten.mean.dim")
def _reduce_number(a: Any, *args: Any, dtype: Any = None, **kwargs: Any) -> Node:
    """A sum or mean of a number is the number (an array is the table's sum and mean)."""
    a = _node(a)
    if a.shape or dtype is not None:
        raise Decline
    return a


def _linear(x: Any, w: Any, b: Any = None) -> Node:
    op = OPS["linear"]
    assert isinstance(op.torch, Torch) and op.torch.read is not None
    inputs, params = op.torch.read(x, w, b)
    return apply(op, tuple(_node(v) for v in inputs), params)


def _table_handlers() -> dict[str, Handler]:
    """Every ATen call the table declares on an op, then the composites of other calls."""
    out = dict(COMPOSITES)
    for op in OPS.values():
        form = op.torch
        if isinstance(form, Torch):
            for name in form.aten:
                out[name] = _op_handler(op, form.read, COMPOSITES.get(name))
    return out


HANDLERS: dict[str, Handler] = _table_handlers()
