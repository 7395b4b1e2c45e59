"""Functions on array nodes: shapes, reductions over axes, activations, softmax and losses.

Every function is a thin door to one entry of the op table (``chainrule.ops.tensor`` for the
tensor ops, ``chainrule.ops`` for the elementwise ones), so the graph it builds can be
differentiated, drawn and explained like any other. Arrays keep their dtype: float32 in, float32
values and gradients out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from .core import replay
from .core import seed as seed_state
from .core.errors import ShapeError, ValueInputError
from .core.node import Node, apply, apply_bound, const, lift, var
from .core.seed import generator
from .functions import exp, log, mse, relu, sigmoid, tanh
from .ops import OPS

Axis = int | Sequence[int] | None


def tensor(
    value: Any, name: str | None = None, *, dtype: Any = None, requires_grad: bool = True
) -> Node:
    """An array leaf: a variable (gradient wanted) or, with ``requires_grad=False``, a constant.

    ``dtype`` converts the value (np.float32 or np.float64); without it the dtype is kept."""
    arr = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise ValueInputError(f"cannot make an array of numbers from values of type {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return var(arr, name) if requires_grad else const(arr, name)


def _n(x: Any) -> Node:
    return lift(x)


def _pair(a: Any, b: Any) -> tuple[Node, Node]:
    if isinstance(a, Node):
        return a, lift(b, a)
    if isinstance(b, Node):
        return lift(a, b), b
    return lift(a), lift(b)


# ------------------------------------------------------------------ shapes


def reshape(x: Any, shape: Sequence[int] | int) -> Node:
    """The same elements in a new shape (one axis may be -1)."""
    shape = (shape,) if isinstance(shape, int) else shape
    return apply(OPS["reshape"], (lift(x),), {"shape": tuple(int(s) for s in shape)})


def transpose(x: Any, axes: Sequence[int] | None = None) -> Node:
    """The axes in a new order; without ``axes`` they are reversed (a matrix transpose)."""
    return apply(
        OPS["permute"], (lift(x),), {"axes": None if axes is None else tuple(int(a) for a in axes)}
    )


def flatten(x: Any, start_axis: int = 1) -> Node:
    """Every axis from ``start_axis`` on merged into one (rows stay rows)."""
    shape = _n(x).shape
    return reshape(x, shape[:start_axis] + (-1,))


def concatenate(xs: Sequence[Any], axis: int = 0) -> Node:
    """Arrays joined along an existing axis."""
    if not xs:
        raise ShapeError("concatenate needs at least one array")
    return apply(OPS["concat"], tuple(_n(x) for x in xs), {"axis": int(axis)})


def stack(xs: Sequence[Any], axis: int = 0) -> Node:
    """Arrays (or numbers) joined along a new axis."""
    if not xs:
        raise ShapeError("stack needs at least one array")
    return apply(OPS["stack"], tuple(_n(x) for x in xs), {"axis": int(axis)})


def broadcast_to(x: Any, shape: Sequence[int]) -> Node:
    """An array repeated to a larger shape (the gradient sums back)."""
    return apply(OPS["broadcast_to"], (lift(x),), {"shape": tuple(int(s) for s in shape)})


def sum_to(x: Any, shape: Sequence[int]) -> Node:
    """The sum over the axes along which an array was broadcast to reach its shape."""
    return apply(OPS["sum_to"], (lift(x),), {"shape": tuple(int(s) for s in shape)})


def matmul(a: Any, b: Any) -> Node:
    """Matrix product with numpy's rules: vectors, matrices and stacks of matrices."""
    an, bn = _pair(a, b)
    return apply(OPS["matmul"], (an, bn))


# ------------------------------------------------------------------ reductions


def _axis(axis: Axis) -> Any:
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:  # noqa: A001
    """Σ over the given axes (every axis when none)."""
    return apply(OPS["sum"], (_n(x),), {"axis": _axis(axis), "keepdims": keepdims})


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:
    """The mean over the given axes (every axis when none)."""
    return apply(OPS["mean"], (_n(x),), {"axis": _axis(axis), "keepdims": keepdims})


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:  # noqa: A001
    """The largest element over the given axes; tied maxima share the gradient equally."""
    return apply(OPS["reduce_max"], (_n(x),), {"axis": _axis(axis), "keepdims": keepdims})


# ------------------------------------------------------------------ activations


def leaky_relu(x: Any, slope: float = 0.01) -> Node:
    """x where x > 0, else slope · x."""
    return apply(OPS["leaky_relu"], (_n(x),), {"slope": float(slope)})


def gelu(x: Any, approximate: str = "none") -> Node:
    """GELU as ``torch.nn.functional.gelu``: exact, x·Φ(x) = ½x(1 + erf(x/√2)), by default;
    ``approximate='tanh'`` for the tanh form (as in GPT-2)."""
    return apply(OPS["gelu"], (_n(x),), {"approximate": approximate})


def erf(x: Any) -> Node:
    """The error function, elementwise (exact GELU is ½x(1 + erf(x/√2)))."""
    return apply(OPS["erf"], (_n(x),))


def softmax(x: Any, axis: int = -1) -> Node:
    """exp(x) / Σ exp(x) along an axis, without overflow."""
    return apply(OPS["softmax"], (_n(x),), {"axis": int(axis)})


def log_softmax(x: Any, axis: int = -1) -> Node:
    """x − log Σ exp(x) along an axis, without overflow."""
    return apply(OPS["log_softmax"], (_n(x),), {"axis": int(axis)})


def one_hot(labels: Any, classes: int) -> Node:
    """Class labels as rows of 0s with a 1 at the label (a target for ``mse`` or
    ``bce_with_logits``), built in the graph: a compiled step reads the labels at each call,
    where ``np.eye(classes)[y]`` made in Python would be a constant of the first call."""
    return apply(OPS["one_hot"], (_n(labels),), {"classes": int(classes)})


# ------------------------------------------------------------------ layers and losses


def linear(x: Any, w: Any, b: Any = None, *, transpose_w: bool = False) -> Node:
    """x @ W + b in one node (W has shape (inputs, outputs)); with ``transpose_w=True``,
    PyTorch's x @ Wᵀ + b for W of shape (outputs, inputs), without a transpose node."""
    if b is None:
        return matmul(x, _n(w).T if transpose_w else w)
    args = (
        x if x.__class__ is Node else lift(x),
        w if w.__class__ is Node else lift(w),
        b if b.__class__ is Node else lift(b),
    )
    if transpose_w is True:  # the layers' case: its parameters bound once
        return apply_bound(_LINEAR, args, _TRANSPOSED)
    return apply(_LINEAR, args, {"transpose_w": transpose_w})


_LINEAR = OPS["linear"]
_TRANSPOSED = _LINEAR.bind({"transpose_w": True})


def _target(t: Any) -> Node:
    return t if isinstance(t, Node) else const(np.asarray(t, dtype=np.float64))


def cross_entropy(logits: Any, target: Any) -> Node:
    """Softmax cross-entropy from logits, averaged over rows.

    ``target`` holds one class index per row, or probabilities shaped like the logits."""
    return apply(OPS["softmax_cross_entropy"], (_n(logits), _target(target)))


softmax_cross_entropy = cross_entropy


def bce_with_logits(logits: Any, target: Any) -> Node:
    """Binary cross-entropy of σ(logits) against targets in [0, 1], averaged, from logits."""
    return apply(OPS["bce_with_logits"], (_n(logits), _target(target)))


def hinge(scores: Any, target: Any) -> Node:
    """Max-margin loss: mean of max(0, 1 − y·s), labels y = ±1."""
    return apply(OPS["hinge"], (_n(scores), _target(target)))


def sum_squares(xs: Sequence[Any]) -> Node:
    """Σ of every squared element of every array (an L2 penalty in one node)."""
    if not xs:
        raise ShapeError("sum_squares needs at least one array")
    return apply(OPS["sum_squares"], tuple(_n(x) for x in xs))


__all__ = [
    "bce_with_logits",
    "broadcast_to",
    "concatenate",
    "cross_entropy",
    "erf",
    "exp",
    "flatten",
    "gelu",
    "hinge",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "mean",
    "mse",
    "one_hot",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "stack",
    "sum",
    "sum_squares",
    "sum_to",
    "tanh",
    "tensor",
    "transpose",
]


# ---------------------------------------------- layers (convolution, pooling, normalisation)


def conv2d(
    x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> Node:
    """A 2-D convolution (PyTorch's ``F.conv2d``, one group); ``b=None`` is a zero bias."""
    x, w = lift(x), lift(w)
    bias = lift(b) if b is not None else const(np.zeros(w.shape[0], dtype=_dtype(w)))
    return apply(
        OPS["conv2d"], (x, w, bias), {"stride": stride, "padding": padding, "dilation": dilation}
    )


def max_pool2d(x: Any, kernel: Any = 2, stride: Any = None) -> Node:
    """The largest element of each window (PyTorch's ``F.max_pool2d`` without padding)."""
    return apply(OPS["max_pool2d"], (lift(x),), {"kernel": kernel, "stride": stride})


def avg_pool2d(x: Any, kernel: Any = 2, stride: Any = None, padding: Any = 0) -> Node:
    """The mean of each window (PyTorch's ``F.avg_pool2d``, padding counted)."""
    return apply(
        OPS["avg_pool2d"], (lift(x),), {"kernel": kernel, "stride": stride, "padding": padding}
    )


def layer_norm(x: Any, w: Any = None, b: Any = None, *, dims: int = 1, eps: float = 1e-5) -> Node:
    """Normalise over the last ``dims`` axes, then scale and shift (``None``: 1 and 0)."""
    x = lift(x)
    shape = x.shape[len(x.shape) - dims :]
    wn = lift(w) if w is not None else const(np.ones(shape, dtype=_dtype(x)))
    bn = lift(b) if b is not None else const(np.zeros(shape, dtype=_dtype(x)))
    return apply(OPS["layer_norm"], (x, wn, bn), {"dims": dims, "eps": eps})


def batch_norm(
    x: Any,
    mean: Any,
    var: Any,
    w: Any = None,
    b: Any = None,
    *,
    training: bool = False,
    eps: float = 1e-5,
) -> Node:
    """Per-channel normalisation; ``training=True`` uses the batch's statistics."""
    x = lift(x)
    c = x.shape[1]
    wn = lift(w) if w is not None else const(np.ones(c, dtype=_dtype(x)))
    bn = lift(b) if b is not None else const(np.zeros(c, dtype=_dtype(x)))
    return apply(
        OPS["batch_norm"],
        (x, lift(mean), lift(var), wn, bn),
        {"training": training, "eps": eps},
    )


def embedding(w: Any, indices: Any) -> Node:
    """Rows of the table ``w`` picked by ``indices`` (an array of whole numbers)."""
    idx = indices if isinstance(indices, Node) else const(np.asarray(indices, dtype=np.float64))
    return apply(OPS["embedding"], (lift(w), idx))


def dropout(
    x: Any, p: float = 0.5, *, training: bool = True, rng: np.random.Generator | None = None
) -> Node:
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p) in training;
    the mask is drawn from ``rng`` and kept in the graph as a constant input."""
    gen = partial(generator, rng) if rng is not None else partial(_default_generator, [])
    return _dropout_from(x, p, training, gen, rng)


def _default_generator(fresh: list[np.random.Generator]) -> np.random.Generator:
    """The generator ``rng=None`` draws from, looked up at each draw: the one ``manual_seed``
    made (the latest), else one from the operating system's entropy, made at the first draw."""
    seeded = seed_state._seeded
    if seeded is not None:
        return seeded
    if not fresh:
        fresh.append(generator(None))
    return fresh[0]


def _dropout_from(
    x: Any, p: float, training: bool, gen: Callable[[], np.random.Generator], chosen: Any = None
) -> Node:
    """``dropout`` drawing its mask from ``gen()``, the generator looked up at each draw (a
    compiled step draws the mask again at each call, from the generator the uncompiled step
    would use); ``chosen`` is the ``rng=`` fn gave, which a compiled plan keeps only if it is
    one of fn's arguments."""
    x = lift(x)
    if training and p > 0:
        shape, dtype = x.shape, _dtype(x)

        def draw() -> Any:
            keep = gen().random(shape) >= p
            return keep.astype(dtype) if shape else float(keep)

        mask = replay.drawn(const(draw()), draw, chosen)  # a compiled step draws it each call
    else:
        mask = const(np.ones(x.shape, dtype=_dtype(x)) if x.shape else 1.0)
    return apply(OPS["dropout"], (x, mask), {"p": p, "training": training})


def _dtype(n: Node) -> Any:
    v = n.value
    return v.dtype if isinstance(v, np.ndarray) and v.dtype.kind == "f" else np.float64
