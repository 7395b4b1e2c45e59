"""Layers of convolutional and attention networks, declared in the op table like every op.

Convolution and pooling are written on one linear pair of backend methods, ``unfold`` (every
window of an image as a column) and its transpose ``fold``; both are ops of the table, so the
gradient of a convolution is itself a graph and second derivatives run through it. The
normalisations recompute their statistics from the input with the backend, never with numpy, so
one rule serves numbers, gradient graphs and every higher derivative (``docs/architecture.md``).

PyTorch's conventions are kept (NCHW images, weights ``(out, in, kh, kw)``, biased variance in
the normalisations), so ``chainrule.torch_bridge`` maps its layers onto these ops one to one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.backends import Backend, Window, fold_array, unfold_array, window_out
from ..core.errors import ShapeError, ValueInputError
from ..core.limits import check_elements
from ..core.values import ARRAY, FLOAT
from .arrays import settle
from .table import (
    OPS,
    Decline,
    Domain,
    Kink,
    Op,
    Param,
    Torch,
    as_axis,
    as_bool,
    as_number,
    as_shape,
    float_dtype,
    fn,
    registrar,
    shape_of,
)

register = registrar("layer")

Pair = tuple[int, int]


def as_pair(v: Any) -> Pair:
    """A window size, stride, padding or dilation: one whole number or two."""
    if isinstance(v, bool):
        raise TypeError("a whole number or a pair of them")
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    t = as_shape(v)
    if len(t) != 2:
        raise TypeError("a whole number or a pair of them")
    return (t[0], t[1])


def as_optional_pair(v: Any) -> Pair | None:
    return None if v is None else as_pair(v)


def as_fraction(v: Any) -> float:
    f = as_number(v)
    if not 0 <= f < 1:
        raise ValueError("a probability from 0 up to (not including) 1")
    return f


def _window(p: Any) -> Window:
    kernel = p["kernel"]
    stride = p.get("stride") or kernel
    return (kernel, stride, p.get("padding", (0, 0)), p.get("dilation", (1, 1)))


def _image(a: Any, what: str) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.ndim != 4:
        raise ShapeError(f"{what} takes images of shape (N, C, H, W), got shape {np.shape(a)}")
    return a


_WINDOW = (
    Param("kernel", (1, 1), as_pair, "the window's height and width"),
    Param("stride", (1, 1), as_pair, "the step between windows"),
    Param("padding", (0, 0), as_pair, "zeros added on each side"),
    Param("dilation", (1, 1), as_pair, "the spacing between a window's elements"),
)

# ------------------------------------------------------------------ PyTorch's arguments


def torch_pair(v: Any) -> Any:
    """A PyTorch size argument (an int, or a list of one or two) as chainrule's parameter."""
    if isinstance(v, (list, tuple)):
        return tuple(int(a) for a in v) if len(v) == 2 else (int(v[0]), int(v[0]))
    return int(v)


def _torch_pool(p: Any) -> tuple[Any, Any]:
    return p["kernel"], p["stride"] or p["kernel"]


def _read_conv(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    if groups != 1 or isinstance(padding, str) or len(shape_of(x)) != 4:
        raise Decline
    if b is None:
        b = np.zeros(shape_of(w)[0], dtype=float_dtype(w))
    params = {"stride": torch_pair(stride), "padding": torch_pair(padding)}
    return (x, w, b), {**params, "dilation": torch_pair(dilation)}


def _read_max_pool(
    x: Any, kernel: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1, ceil: bool = False
) -> Any:
    if (
        len(shape_of(x)) != 4
        or ceil
        or torch_pair(padding) not in (0, (0, 0))
        or torch_pair(dilation) not in (1, (1, 1))
    ):
        raise Decline
    return (x,), {"kernel": torch_pair(kernel), "stride": torch_pair(stride) if stride else None}


def _read_avg_pool(
    x: Any,
    kernel: Any,
    stride: Any = (),
    padding: Any = 0,
    ceil: bool = False,
    count_include_pad: bool = True,
    divisor_override: Any = None,
) -> Any:
    if len(shape_of(x)) != 4 or ceil or not count_include_pad or divisor_override is not None:
        raise Decline
    return (x,), {
        "kernel": torch_pair(kernel),
        "stride": torch_pair(stride) if stride else None,
        "padding": torch_pair(padding),
    }


def _read_layer_norm(
    x: Any, shape: Any, w: Any = None, b: Any = None, eps: float = 1e-5, cudnn: bool = True
) -> Any:
    s = shape_of(x)
    if not s:
        raise Decline
    trailing = s[len(s) - len(shape) :]  # no weight is a weight of ones, no bias zeros
    w = np.ones(trailing, dtype=float_dtype(x)) if w is None else w
    b = np.zeros(trailing, dtype=float_dtype(x)) if b is None else b
    return (x, w, b), {"dims": len(shape), "eps": float(eps)}


def _read_batch_norm(
    x: Any,
    w: Any,
    b: Any,
    mean: Any,
    var: Any,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
    cudnn: bool = True,
) -> Any:
    s = shape_of(x)
    if not s:
        raise Decline
    w = np.ones(s[1], dtype=float_dtype(x)) if w is None else w
    b = np.zeros(s[1], dtype=float_dtype(x)) if b is None else b
    if mean is None or var is None:
        if not training:
            raise Decline
        mean, var = np.zeros(s[1], dtype=float_dtype(x)), np.ones(s[1], dtype=float_dtype(x))
    return (x, mean, var, w, b), {"training": bool(training), "eps": float(eps)}


def _read_embedding(
    w: Any, idx: Any, padding_idx: int = -1, scale: bool = False, sparse: bool = False
) -> Any:
    if padding_idx != -1 or scale:
        raise Decline
    return (w, idx), None


def _torch_batch_norm(t: Any, x: list[Any], p: Any) -> Any:
    a, mean, var, w, b = x
    F = t.nn.functional
    if p["training"]:
        return F.batch_norm(a, None, None, w, b, training=True, eps=p["eps"])
    return F.batch_norm(a, mean, var, w, b, training=False, eps=p["eps"])


# ------------------------------------------------------------------ unfold / fold


def _unfold(
    a: Any,
    kernel: Pair = (1, 1),
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> Any:
    return unfold_array(_image(a, "unfold"), (kernel, stride, padding, dilation))


register(
    Op(
        "unfold",
        1,
        {ARRAY: _unfold},
        fn("unfold", "\\operatorname{unfold}"),
        vjps=(lambda M, g, x, y, p: M.fold(g, M.shape(x[0]), _window(p)),),
        elementwise=False,
        params=_WINDOW,
        doc="every window of an image as a column: (N, C, H, W) → (N, C·kh·kw, windows)",
        torch=Torch(
            lambda t, x, p: t.nn.functional.unfold(
                x[0], p["kernel"], dilation=p["dilation"], padding=p["padding"], stride=p["stride"]
            )
        ),
        domain=Domain(
            "images (N, C, H, W), each at least one dilated window high and wide after padding"
        ),
    )
)


def _fold(
    a: Any,
    shape: Any = (),
    kernel: Pair = (1, 1),
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> Any:
    if len(shape) != 4:
        raise ShapeError(f"fold needs an image shape (N, C, H, W), got {shape}")
    n, c, h, w = shape
    check_elements((n, c, h + 2 * padding[0], w + 2 * padding[1]), "fold")
    return fold_array(a, tuple(shape), (kernel, stride, padding, dilation))


register(
    Op(
        "fold",
        1,
        {ARRAY: _fold},
        fn("fold", "\\operatorname{fold}"),
        vjps=(lambda M, g, x, y, p: M.unfold(g, _window(p)),),
        elementwise=False,
        params=(Param("shape", (), as_shape, "the image shape (N, C, H, W)"), *_WINDOW),
        doc="columns summed back into an image: the transpose of unfold",
        torch=Torch(
            lambda t, x, p: t.nn.functional.fold(
                x[0],
                p["shape"][2:],
                p["kernel"],
                dilation=p["dilation"],
                padding=p["padding"],
                stride=p["stride"],
            )
        ),
        domain=Domain(
            "columns (N, C·kh·kw, windows) whose count of windows the image shape, kernel, "
            "stride, padding and dilation give"
        ),
    )
)

# ------------------------------------------------------------------ convolution


def _conv_window(w_shape: Any, p: Any) -> Window:
    return ((int(w_shape[2]), int(w_shape[3])), p["stride"], p["padding"], p["dilation"])


def _conv2d(
    x: Any,
    w: Any,
    b: Any,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> Any:
    p = {"stride": stride, "padding": padding, "dilation": dilation}
    x = _image(x, "conv2d")
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ShapeError(
            f"conv2d weights of shape {np.shape(w)} (out, in, kh, kw) do not fit images of "
            f"shape {x.shape}"
        )
    n, o = x.shape[0], w.shape[0]
    win = _conv_window(w.shape, p)
    cols = unfold_array(x, win)
    ho = window_out(x.shape[2], win[0][0], win[1][0], win[2][0], win[3][0])
    y = np.matmul(w.reshape(o, -1), cols)
    y = y.reshape(n, o, ho, -1)
    if np.shape(b) not in ((o,), ()):
        raise ShapeError(f"conv2d bias of shape {np.shape(b)} does not fit {o} output channels")
    return y + (np.reshape(b, (o, 1, 1)) if np.ndim(b) else b)


def _conv_vjp_x(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    n, o = M.shape(y)[:2]
    w2 = M.reshape(x[1], (o, -1))
    g2 = M.reshape(g, (n, o, -1))
    return M.fold(M.matmul(M.transpose(w2), g2), M.shape(x[0]), _conv_window(M.shape(x[1]), p))


def _conv_vjp_w(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    n, o = M.shape(y)[:2]
    cols = M.unfold(x[0], _conv_window(M.shape(x[1]), p))
    g2 = M.reshape(g, (n, o, -1))
    return M.reshape(M.sum(M.matmul(g2, M.permute(cols, (0, 2, 1))), 0, False), M.shape(x[1]))


def _conv_vjp_b(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    return M.sum_to(M.sum(g, (0, 2, 3), False), M.shape(x[2]))


register(
    Op(
        "conv2d",
        3,
        {ARRAY: _conv2d},
        fn("conv2d", "\\operatorname{conv2d}"),
        vjps=(_conv_vjp_x, _conv_vjp_w, _conv_vjp_b),
        elementwise=False,
        params=_WINDOW[1:],
        doc="2-D cross-correlation of images (N, C, H, W) with weights (out, C, kh, kw), plus bias",
        torch=Torch(
            lambda t, x, p: t.nn.functional.conv2d(
                x[0], x[1], x[2], stride=p["stride"], padding=p["padding"], dilation=p["dilation"]
            ),
            ("aten.conv2d.default",),
            _read_conv,
        ),
        domain=Domain(
            "images (N, C, H, W), weights (out, C, kh, kw) and a bias (out); each image at "
            "least one dilated window high and wide after padding"
        ),
    )
)

# ------------------------------------------------------------------ pooling


def _planes(a: Any) -> tuple[int, int, int, int]:
    n, c, h, w = a.shape
    return n, c, h, w


def _pool_cols(a: np.ndarray, p: Any) -> np.ndarray:
    n, c, h, w = _planes(a)
    return unfold_array(a.reshape(n * c, 1, h, w), _window(p))


def _pool_out(a: np.ndarray, r: np.ndarray, p: Any) -> Any:
    n, c, h, w = _planes(a)
    win = _window(p)
    ho = window_out(h, win[0][0], win[1][0], win[2][0], win[3][0])
    return r.reshape(n, c, ho, -1)


def _max_pool(a: Any, kernel: Pair = (2, 2), stride: Pair | None = None) -> Any:
    a = _image(a, "max_pool2d")
    p = {"kernel": kernel, "stride": stride}
    return _pool_out(a, _pool_cols(a, p).max(axis=1), p)


def _avg_pool(
    a: Any, kernel: Pair = (2, 2), stride: Pair | None = None, padding: Pair = (0, 0)
) -> Any:
    a = _image(a, "avg_pool2d")
    p = {"kernel": kernel, "stride": stride, "padding": padding}
    return _pool_out(a, _pool_cols(a, p).mean(axis=1), p)


def _plane_shape(M: Backend, x: Any) -> tuple[int, int, int, int]:
    n, c, h, w = M.shape(x)
    return (n * c, 1, h, w)


def _max_pool_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    # ties share the gradient equally, as in reduce_max (PyTorch gives it all to one of them)
    planes = _plane_shape(M, x[0])
    cols = M.unfold(M.reshape(x[0], planes), _window(p))
    k = M.shape(cols)[1]
    peak = M.reshape(y, (planes[0], 1, -1))
    hit = M.ge(cols, M.broadcast_to(peak, M.shape(cols)))
    share = hit / M.broadcast_to(M.sum(hit, 1, True), M.shape(cols))
    spread = M.broadcast_to(M.reshape(g, (planes[0], 1, -1)), M.shape(cols)) * share
    del k
    return M.reshape(M.fold(spread, planes, _window(p)), M.shape(x[0]))


def _avg_pool_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    planes = _plane_shape(M, x[0])
    kh, kw = p["kernel"]
    g2 = M.reshape(g, (planes[0], 1, -1))
    n_windows = M.shape(g2)[2]
    spread = M.broadcast_to(g2 / (kh * kw), (planes[0], kh * kw, n_windows))
    return M.reshape(M.fold(spread, planes, _window(p)), M.shape(x[0]))


def _pool_tied(v: list[Any], p: Any) -> bool:
    a = np.asarray(v[0], dtype=float)
    cols = _pool_cols(a, p)
    return bool(np.any(np.sum(cols == cols.max(axis=1, keepdims=True), axis=1) > 1))


def _max_pool_js(M: Any, x: Any, p: Any) -> Any:
    a = x[0]
    n, c, h, w = _planes(a)
    cols = M.unfold(a.reshape(n * c, 1, h, w), _window(p))
    top = M.reduce_extreme(cols, 1, True)
    return _pool_out(a, top.reshape(n * c, -1), p)


_POOL = (
    Param("kernel", (2, 2), as_pair, "the window's height and width"),
    Param("stride", None, as_optional_pair, "the step between windows (the kernel when None)"),
)

register(
    Op(
        "max_pool2d",
        1,
        {ARRAY: _max_pool},
        fn("max_pool2d", "\\operatorname{maxpool}"),
        vjps=(_max_pool_vjp,),
        elementwise=False,
        params=_POOL,
        doc="the largest element of each window of each channel (ties share the gradient)",
        js=_max_pool_js,
        kink=Kink("tied maxima in a window share the gradient equally", _pool_tied),
        torch=Torch(
            lambda t, x, p: t.nn.functional.max_pool2d(x[0], *_torch_pool(p)),
            ("aten.max_pool2d.default",),
            _read_max_pool,
        ),
        domain=Domain("images (N, C, H, W) at least one window high and wide"),
    )
)
register(
    Op(
        "avg_pool2d",
        1,
        {ARRAY: _avg_pool},
        fn("avg_pool2d", "\\operatorname{avgpool}"),
        vjps=(_avg_pool_vjp,),
        elementwise=False,
        params=(*_POOL, Param("padding", (0, 0), as_pair, "zeros added on each side, counted")),
        doc="the mean of each window of each channel (padding zeros count, as in PyTorch)",
        torch=Torch(
            lambda t, x, p: t.nn.functional.avg_pool2d(x[0], *_torch_pool(p), padding=p["padding"]),
            ("aten.avg_pool2d.default",),
            _read_avg_pool,
        ),
        domain=Domain("images (N, C, H, W) at least one window high and wide after padding"),
    )
)

# ------------------------------------------------------------------ normalisation


def _normalize(M: Backend, x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any]:
    """(x − mean) / √(var + eps) over ``axes`` and the factor 1/√(var + eps), with ``M``."""
    s = M.shape(x)
    count = 1
    for a in axes:
        count *= s[a]
    d = x - M.broadcast_to(M.sum(x, axes, True) / count, s)
    inv = 1 / M.sqrt(M.sum(d * d, axes, True) / count + eps)
    return d * M.broadcast_to(inv, s), inv


def _mean_over(M: Backend, v: Any, axes: tuple[int, ...]) -> Any:
    s = M.shape(v)
    count = 1
    for a in axes:
        count *= s[a]
    return M.broadcast_to(M.sum(v, axes, True) / count, s)


def _norm_vjp_x(M: Backend, g: Any, w: Any, x: Any, axes: tuple[int, ...], eps: float) -> Any:
    """The vjp of normalisation followed by a scale ``w`` (broadcast to x's shape)."""
    xhat, inv = _normalize(M, x, axes, eps)
    dxh = g * w
    mixed = dxh - _mean_over(M, dxh, axes) - xhat * _mean_over(M, dxh * xhat, axes)
    return M.broadcast_to(inv, M.shape(x)) * mixed


def _trailing(x: Any, dims: int) -> tuple[int, ...]:
    nd = len(x) if isinstance(x, tuple) else np.ndim(x)
    return tuple(range(nd - dims, nd))


def _layer_norm(x: Any, w: Any, b: Any, dims: int = 1, eps: float = 1e-5) -> Any:
    if not isinstance(x, np.ndarray) or not 1 <= dims <= x.ndim:
        raise ShapeError(f"layer_norm over {dims} trailing axes needs an array with that many")
    axes = _trailing(x, dims)
    mu = x.mean(axis=axes, keepdims=True)
    d = x - mu
    xhat = d / np.sqrt((d * d).mean(axis=axes, keepdims=True) + eps)
    return xhat * w + b


def _ln_axes(M: Backend, x: Any, p: Any) -> tuple[int, ...]:
    return _trailing(M.shape(x), p["dims"])


register(
    Op(
        "layer_norm",
        3,
        {ARRAY: _layer_norm},
        fn("layer_norm", "\\operatorname{LayerNorm}"),
        vjps=(
            lambda M, g, x, y, p: _norm_vjp_x(
                M, g, M.broadcast_to(x[1], M.shape(x[0])), x[0], _ln_axes(M, x[0], p), p["eps"]
            ),
            lambda M, g, x, y, p: M.sum_to(
                g * _normalize(M, x[0], _ln_axes(M, x[0], p), p["eps"])[0], M.shape(x[1])
            ),
            lambda M, g, x, y, p: M.sum_to(g, M.shape(x[2])),
        ),
        elementwise=False,
        params=(
            Param("dims", 1, as_axis, "how many trailing axes are normalised"),
            Param("eps", 1e-5, as_number, "added to the variance"),
        ),
        doc="(x − mean) / √(var + eps) over the trailing axes, times weight, plus bias",
        torch=Torch(
            lambda t, x, p: t.nn.functional.layer_norm(
                x[0], tuple(x[0].shape[x[0].dim() - p["dims"] :]), x[1], x[2], p["eps"]
            ),
            ("aten.layer_norm.default",),
            _read_layer_norm,
        ),
        domain=Domain(
            "x with at least dims axes, a weight and a bias that broadcast with it; the variance "
            "plus eps must be positive (eps > 0 sees to it)"
        ),
    )
)


def _channel_shape(shape: Sequence[int]) -> tuple[int, ...]:
    return (int(shape[1]),) + (1,) * (len(shape) - 2)


def _not_channel(shape: Sequence[int]) -> tuple[int, ...]:
    return (0,) + tuple(range(2, len(shape)))


def _batch_norm(
    x: Any, mean: Any, var: Any, w: Any, b: Any, training: bool = False, eps: float = 1e-5
) -> Any:
    if not isinstance(x, np.ndarray) or x.ndim < 2:
        raise ShapeError(
            f"batch_norm needs a batch with a channel axis (N, C, ...), got {np.shape(x)}"
        )
    cs = _channel_shape(x.shape)
    for what, v in (("mean", mean), ("var", var), ("weight", w), ("bias", b)):
        if np.shape(v) != cs[:1]:
            raise ShapeError(
                f"batch_norm {what} of shape {np.shape(v)} does not fit {cs[0]} channels"
            )
    if training:
        axes = _not_channel(x.shape)
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
    inv = 1 / np.sqrt(np.reshape(var, cs) + eps)
    return (x - np.reshape(mean, cs)) * inv * np.reshape(w, cs) + np.reshape(b, cs)


def _bn_parts(M: Backend, x: Any, p: Any) -> tuple[Any, tuple[int, ...], Any]:
    """(x̂, the reduced axes, 1/√(var + eps)) from the batch or from the running statistics."""
    s = M.shape(x[0])
    cs = _channel_shape(s)
    axes = _not_channel(s)
    if p["training"]:
        xhat, inv = _normalize(M, x[0], axes, p["eps"])
        return xhat, axes, inv
    inv = 1 / M.sqrt(M.reshape(x[2], cs) + p["eps"])
    xhat = (x[0] - M.broadcast_to(M.reshape(x[1], cs), s)) * M.broadcast_to(inv, s)
    return xhat, axes, inv


def _bn_vjp_x(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    s = M.shape(x[0])
    w = M.broadcast_to(M.reshape(x[3], _channel_shape(s)), s)
    if p["training"]:
        return _norm_vjp_x(M, g, w, x[0], _not_channel(s), p["eps"])
    _, _, inv = _bn_parts(M, x, p)
    return g * w * M.broadcast_to(inv, s)


def _bn_vjp_mean(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    if p["training"]:
        return None  # the batch's own mean is used; the running mean does not enter
    s = M.shape(x[0])
    _, axes, inv = _bn_parts(M, x, p)
    return -M.sum(g * M.broadcast_to(M.reshape(x[3], _channel_shape(s)) * inv, s), axes, False)


def _bn_vjp_var(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    if p["training"]:
        return None
    s = M.shape(x[0])
    xhat, axes, inv = _bn_parts(M, x, p)
    scale = M.reshape(x[3], _channel_shape(s)) * inv * inv / -2
    return M.sum(g * xhat * M.broadcast_to(scale, s), axes, False)


def _bn_js(M: Any, x: Any, p: Any) -> Any:
    s = M.shape(x[0])
    cs = _channel_shape(s)
    xhat = _bn_parts(M, x, p)[0]
    w = M.broadcast_to(M.reshape(x[3], cs), s)
    return xhat * w + M.broadcast_to(M.reshape(x[4], cs), s)


register(
    Op(
        "batch_norm",
        5,
        {ARRAY: _batch_norm},
        fn("batch_norm", "\\operatorname{BatchNorm}"),
        vjps=(
            _bn_vjp_x,
            _bn_vjp_mean,
            _bn_vjp_var,
            lambda M, g, x, y, p: M.sum(
                g * _bn_parts(M, x, p)[0], _not_channel(M.shape(x[0])), False
            ),
            lambda M, g, x, y, p: M.sum(g, _not_channel(M.shape(x[0])), False),
        ),
        elementwise=False,
        params=(
            Param("training", False, as_bool, "normalise with the batch's statistics"),
            Param("eps", 1e-5, as_number, "added to the variance"),
        ),
        doc="per channel (axis 1): (x − mean) / √(var + eps) · weight + bias; in training the "
        "batch's mean and biased variance replace the running ones (which it does not update)",
        js=_bn_js,
        torch=Torch(_torch_batch_norm, ("aten.batch_norm.default",), _read_batch_norm),
        domain=Domain(
            "x (N, C, ...), with mean, variance, weight and bias of length C; the variance plus "
            "eps must be positive"
        ),
    )
)

# ------------------------------------------------------------------ embedding and dropout


def _embedding(w: Any, idx: Any) -> Any:
    if not isinstance(w, np.ndarray) or w.ndim != 2:
        raise ShapeError(f"embedding needs a table of shape (rows, width), got {np.shape(w)}")
    raw = np.asarray(idx)
    rows = raw.astype(np.intp)
    if not np.array_equal(rows, raw) or rows.min(initial=0) < 0 or rows.max(initial=0) >= len(w):
        raise ValueInputError(f"embedding indices must be whole numbers from 0 to {len(w) - 1}")
    return w[rows]


def _embedding_vjp(M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    rows, width = M.shape(x[0])
    hot = M.reshape(M.one_hot(x[1], rows), (-1, rows))
    return M.matmul(M.transpose(hot), M.reshape(g, (-1, width)))


register(
    Op(
        "embedding",
        2,
        {ARRAY: _embedding},
        fn("embedding", "\\operatorname{embed}"),
        vjps=(_embedding_vjp, lambda M, g, x, y, p: None),
        elementwise=False,
        doc="rows of a table picked by index (the indices carry no gradient)",
        js=lambda M, x, p: M.matmul(M.one_hot(x[1], M.shape(x[0])[0]), x[0]),
        torch=Torch(
            lambda t, x, p: t.nn.functional.embedding(x[1].long(), x[0]),
            ("aten.embedding.default",),
            _read_embedding,
        ),
        domain=Domain("a table (rows, width) and whole-number indices from 0 to rows − 1"),
    )
)


def _dropout(x: Any, mask: Any, p: float = 0.5, training: bool = True) -> Any:
    if not training:
        return x.copy() if isinstance(x, np.ndarray) else x
    if np.shape(mask) != np.shape(x):
        raise ShapeError(f"a dropout mask of shape {np.shape(mask)} does not fit {np.shape(x)}")
    return settle(x * mask / (1 - p))


register(
    Op(
        "dropout",
        2,
        {ARRAY: _dropout, FLOAT: _dropout},
        fn("dropout", "\\operatorname{dropout}"),
        vjps=(
            lambda M, g, x, y, p: g * x[1] / (1 - p["p"]) if p["training"] else g,
            lambda M, g, x, y, p: None,
        ),
        elementwise=False,
        params=(
            Param("p", 0.5, as_fraction, "the probability of dropping an element"),
            Param("training", True, as_bool, "drop (training) or pass through (evaluation)"),
        ),
        doc="x · mask / (1 − p) in training, x itself in evaluation; the 0/1 mask is an input",
        torch=Torch(lambda t, x, p: x[0] * x[1] / (1 - p["p"]) if p["training"] else x[0]),
        domain=Domain("x and a 0/1 mask of its shape; 0 ≤ p < 1"),
    )
)

#: the ops of this family, in the order registered (read by the tests)
LAYER_OPS = tuple(name for name, op in OPS.items() if op.family == "layer")
