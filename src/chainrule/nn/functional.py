"""``chainrule.nn.functional``: PyTorch's functional names over chainrule's ops.

``F.relu``, ``F.gelu``, ``F.softmax``, ``F.cross_entropy``, ``F.mse_loss``,
``F.binary_cross_entropy_with_logits``, ``F.linear`` ... take PyTorch's arguments (``dim``,
``reduction``, ``approximate``) and build the same one-node-per-op graphs as the rest of
chainrule, so they can be drawn and explained."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import functions as _f
from .. import tensor as T
from ..core.errors import ValueInputError
from ..core.node import Node, lift

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueInputError(
            f"reduction must be one of {', '.join(_REDUCTIONS)}, got {reduction!r}"
        )
    return reduction


# ------------------------------------------------------------------ activations


def relu(input: Any) -> Node:
    return _f.relu(input)


def tanh(input: Any) -> Node:
    return _f.tanh(input)


def sigmoid(input: Any) -> Node:
    return _f.sigmoid(input)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Node:
    return T.leaky_relu(input, negative_slope)


def gelu(input: Any, approximate: str = "none") -> Node:
    """GELU as PyTorch computes it: ``'none'`` is x·Φ(x) = ½x(1 + erf(x/√2)), ``'tanh'`` the
    tanh approximation (one ``gelu`` node either way)."""
    if approximate not in ("none", "tanh"):
        raise ValueInputError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return T.gelu(input, approximate)


def _softmax_dim(x: Node, dim: int | None, name: str) -> int:
    if dim is not None:
        return int(dim)
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated (as in PyTorch). "
        "Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if x.ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: int | None = None) -> Node:
    x = lift(input)
    return T.softmax(x, _softmax_dim(x, dim, "softmax"))


def log_softmax(input: Any, dim: int | None = None) -> Node:
    x = lift(input)
    return T.log_softmax(x, _softmax_dim(x, dim, "log_softmax"))


def linear(input: Any, weight: Any, bias: Any = None) -> Node:
    """input @ weightᵀ + bias, with weight of shape (out_features, in_features)."""
    return T.linear(input, weight, bias, transpose_w=True)


# ------------------------------------------------------------------ losses


def _target(target: Any) -> Any:
    """A target as PyTorch users pass it: a node, an array, or anything numpy can read (a
    torch tensor without gradient included)."""
    if isinstance(target, Node):
        return target
    if hasattr(target, "detach") and hasattr(target, "numpy"):
        target = target.detach().numpy()
    return np.asarray(target)


def cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Node:
    """Softmax cross-entropy of logits (rows of classes) against class indices or class
    probabilities, averaged over rows (``reduction='mean'``), summed, or per row (``'none'``)."""
    r = _reduction(reduction)
    t = _target(target)
    z = lift(input)
    if r == "mean":
        return T.cross_entropy(z, t)
    rows = z.shape[0] if z.ndim > 1 else 1
    if r == "sum":
        return T.cross_entropy(z, t) * float(rows)
    logp = T.log_softmax(z, -1)
    tv = t.value if isinstance(t, Node) else t
    if isinstance(t, Node) or np.asarray(tv).shape == z.shape:
        return -(logp * t).sum(axis=-1)
    labels = np.asarray(tv).astype(np.int64)
    return -logp[np.arange(rows), labels] if z.ndim > 1 else -logp[int(labels)]


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Node:
    """Squared error, averaged over every element (or summed, or elementwise)."""
    r = _reduction(reduction)
    t = _target(target)
    if r == "mean":
        return _f.mse(input, t)
    sq = (lift(input) - t) ** 2
    return T.sum(sq) if r == "sum" else sq


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean") -> Node:
    """Binary cross-entropy of σ(input) against targets in [0, 1], computed from the logits."""
    r = _reduction(reduction)
    t = _target(target)
    z = lift(input)
    if r == "mean":
        return T.bce_with_logits(z, t)
    if r == "sum":
        return T.bce_with_logits(z, t) * float(max(int(np.size(z.value)), 1))
    # softplus(z) − z·t, elementwise
    return _f.softplus(z) - z * t


__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gelu",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
