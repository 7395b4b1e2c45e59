"""Reference layers in HIPS autograd's numpy, written independently of chainrule's ops.

Windows are taken by explicit index loops into a 0/1 matrix (``window_matrix``), so unfold, fold,
convolution and pooling are checked against a definition that shares no code with
``backends.unfold_array``; autograd differentiates the references once and twice.
"""

from __future__ import annotations

from typing import Any

import autograd.numpy as anp
import numpy as np


def _two(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def window_matrix(c: int, h: int, w: int, k: Any, s: Any = 1, p: Any = 0, d: Any = 1) -> Any:
    """U with unfold(x)[row, l] = (U @ x.reshape(-1))[l·rows + row] for one image of C×H×W."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _two(k), _two(s), _two(p), _two(d)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    rows = c * kh * kw
    u = np.zeros((ho * wo * rows, c * h * w))
    for oy in range(ho):
        for ox in range(wo):
            for ch in range(c):
                for i in range(kh):
                    for j in range(kw):
                        y, x = oy * sh - ph + i * dh, ox * sw - pw + j * dw
                        if 0 <= y < h and 0 <= x < w:
                            row = (ch * kh + i) * kw + j
                            u[(oy * wo + ox) * rows + row, (ch * h + y) * w + x] = 1.0
    return u, ho, wo


def unfold(x: Any, k: Any, s: Any = 1, p: Any = 0, d: Any = 1) -> Any:
    n, c, h, w = x.shape
    u, ho, wo = window_matrix(c, h, w, k, s, p, d)
    cols = anp.dot(anp.reshape(x, (n, -1)), u.T)  # (n, L·rows)
    return anp.transpose(anp.reshape(cols, (n, ho * wo, -1)), (0, 2, 1))


def fold(cols: Any, shape: tuple[int, ...], k: Any, s: Any = 1, p: Any = 0, d: Any = 1) -> Any:
    n, c, h, w = shape
    u, _, _ = window_matrix(c, h, w, k, s, p, d)
    flat = anp.reshape(anp.transpose(cols, (0, 2, 1)), (n, -1))
    return anp.reshape(anp.dot(flat, u), shape)


def conv2d(x: Any, w: Any, b: Any, s: Any = 1, p: Any = 0, d: Any = 1) -> Any:
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    u, ho, wo = window_matrix(c, h, wd, k, s, p, d)
    patches = anp.reshape(anp.dot(anp.reshape(x, (n, -1)), u.T), (n, ho * wo, -1))
    y = anp.einsum("nlr,or->nol", patches, anp.reshape(w, (o, -1)))
    return anp.reshape(y, (n, o, ho, wo)) + anp.reshape(b, (1, o, 1, 1))


def _planes(x: Any, k: int, s: int, p: int = 0) -> Any:
    n, c, h, w = x.shape
    u, ho, wo = window_matrix(1, h, w, k, s, p)
    patches = anp.dot(anp.reshape(x, (n * c, -1)), u.T)
    return anp.reshape(patches, (n * c, ho * wo, k * k)), (n, c, ho, wo)


def max_pool2d(x: Any, k: int, s: int | None = None) -> Any:
    patches, shape = _planes(x, k, s or k)
    return anp.reshape(anp.max(patches, axis=2), shape)


def avg_pool2d(x: Any, k: int, s: int | None = None, p: int = 0) -> Any:
    patches, shape = _planes(x, k, s or k, p)
    return anp.reshape(anp.mean(patches, axis=2), shape)


def layer_norm(x: Any, w: Any, b: Any, dims: int = 1, eps: float = 1e-5) -> Any:
    axes = tuple(range(x.ndim - dims, x.ndim))
    mu = anp.mean(x, axis=axes, keepdims=True)
    var = anp.mean((x - mu) ** 2, axis=axes, keepdims=True)
    return (x - mu) / anp.sqrt(var + eps) * w + b


def batch_norm(
    x: Any, mean: Any, var: Any, w: Any, b: Any, training: bool = False, eps: float = 1e-5
) -> Any:
    cs = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        mean = anp.mean(x, axis=axes)
        var = anp.mean((x - anp.reshape(mean, cs)) ** 2, axis=axes)
    xhat = (x - anp.reshape(mean, cs)) / anp.sqrt(anp.reshape(var, cs) + eps)
    return xhat * anp.reshape(w, cs) + anp.reshape(b, cs)
