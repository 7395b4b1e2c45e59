"""PyTorch's habits on nodes: ``x.sum()``, ``x.mean(dim=0)``, ``x.reshape(2, 3)``, ``x.relu()``,
``x.softmax(dim=-1)``, ``x.numpy()``, ``x.detach()``, ``x.dtype``, ``p -= lr * p.grad`` under
``no_grad()`` ...

Each method is a door to the function of the same meaning (``chainrule.tensor``,
``chainrule.functions``), so the graph is the one those build. They are attached to ``Node``
here, apart from the engine core, when ``chainrule`` is imported. PyTorch's argument names
(``dim``, ``keepdim``) and numpy's (``axis``, ``keepdims``) are both accepted."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import functions as F
from . import tensor as T
from .core import node as _node
from .core import replay
from .core.errors import ValueInputError
from .core.node import Node, new_node
from .core.values import FLOAT
from .ops import OPS

_INPUT = OPS["input"]
_CONST = OPS["const"]


def _axis(dim: Any, axis: Any) -> Any:
    if dim is not None and axis is not None:
        raise ValueInputError("give dim or axis, not both")
    a = axis if dim is None else dim
    if isinstance(a, list):
        a = tuple(a)
    return a


def _no_out(out: Any) -> None:
    if out is not None:
        raise ValueInputError("a node cannot write into out=; use the node it returns")


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(int(s) for s in shape[0])
    return tuple(int(s) for s in shape)


# ------------------------------------------------------------------ reductions


def _reduction(reduce: Callable[[Node, Any, bool], Node], name: str, doc: str) -> Any:
    """A method with PyTorch's signature for a reduction over ``dim`` (every element when none)."""

    def method(
        self: Node,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        out: Any = None,
        keepdims: bool | None = None,
    ) -> Node:
        _no_out(out)
        return reduce(self, _axis(dim, axis), _keep(keepdim, keepdims))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


sum = _reduction(T.sum, "sum", "Σ over ``dim`` (every element when none).")  # noqa: A001
mean = _reduction(T.mean, "mean", "The mean over ``dim`` (every element when none).")


class MaxResult(NamedTuple):
    """``x.max(dim)`` as PyTorch gives it: the largest values (a node) and where they are."""

    values: Node
    indices: np.ndarray


def max(
    self: Node,
    dim: Any = None,
    keepdim: bool = False,
    *,
    axis: Any = None,
    out: Any = None,
    keepdims: bool | None = None,
) -> Any:
    """``x.max()``: the largest element; ``x.max(dim)``: (values, indices) along ``dim``;
    ``x.max(other)``: the elementwise maximum. Tied maxima share the gradient equally."""
    _no_out(out)
    if isinstance(dim, (Node, np.ndarray, float)):
        return F.maximum(self, dim)
    a = _axis(dim, axis)
    keep = _keep(keepdim, keepdims)
    if a is None:
        return T.max(self)
    if not isinstance(a, int):
        return T.max(self, a, keep)
    values = T.max(self, a, keep)
    idx = np.argmax(np.asarray(self.value), axis=a)
    return MaxResult(values, np.expand_dims(idx, a) if keep else idx)


# ------------------------------------------------------------------ shapes


def reshape(self: Node, *shape: Any) -> Node:
    """The same elements in a new shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
    return T.reshape(self, _shape(shape))


def permute(self: Node, *dims: Any) -> Node:
    """The axes in a new order: ``x.permute(1, 0)``."""
    return T.transpose(self, _shape(dims))


def flatten(self: Node, start_dim: int = 0, end_dim: int = -1) -> Node:
    """Axes ``start_dim`` to ``end_dim`` merged into one."""
    shape = self.shape
    n = len(shape)
    if n == 0:
        return T.reshape(self, (1,))
    s, e = start_dim % n, end_dim % n
    merged = int(np.prod(shape[s : e + 1]))
    return T.reshape(self, (*shape[:s], merged, *shape[e + 1 :]))


def unsqueeze(self: Node, dim: int) -> Node:
    """A new axis of length 1 at ``dim``."""
    shape = list(self.shape)
    d = dim if dim >= 0 else len(shape) + 1 + dim
    shape.insert(d, 1)
    return T.reshape(self, tuple(shape))


def squeeze(self: Node, dim: int | None = None) -> Node:
    """Axes of length 1 removed (only ``dim``, when given)."""
    shape = self.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        d = dim % len(shape) if shape else 0
        new = tuple(s for i, s in enumerate(shape) if i != d or s != 1)
    return self if new == shape else T.reshape(self, new)


# ------------------------------------------------------------------ elementwise and softmax


def softmax(self: Node, dim: int) -> Node:
    """exp(x) / Σ exp(x) along ``dim``."""
    return T.softmax(self, dim)


def log_softmax(self: Node, dim: int) -> Node:
    """x − log Σ exp(x) along ``dim``."""
    return T.log_softmax(self, dim)


def pow(self: Node, exponent: Any) -> Node:
    return self**exponent


# ------------------------------------------------------------------ values and flags


def numpy(self: Node) -> np.ndarray:
    """The value as a numpy array (the node's own array, not a copy, as in PyTorch)."""
    return np.asarray(self.value)


def detach(self: Node) -> Node:
    """A constant holding the same value: what is computed from it sends no gradient back."""
    return new_node(self.value, _CONST, (), self.kind, False)


def dtype(self: Node) -> np.dtype[Any]:
    """numpy's dtype of the value (float64 for a float, object for exact numbers)."""
    v = self.value
    return v.dtype if isinstance(v, np.ndarray) else np.asarray(v).dtype


def size(self: Node, dim: int | None = None) -> Any:
    """The shape, or its length along ``dim``."""
    return self.shape if dim is None else self.shape[dim]


def dim(self: Node) -> int:
    return self.ndim


def numel(self: Node) -> int:
    return int(np.size(self.value))


def requires_grad_(self: Node, requires_grad: bool = True) -> Node:
    """Make a leaf an input (gradient wanted) or a constant; returns the node."""
    if not self.is_leaf:
        raise ValueInputError(
            "only a leaf's requires_grad can be changed; use detach() for a constant copy of "
            "a computed node",
            node=self.label(),
        )
    self.requires_grad = bool(requires_grad)
    self.op = _INPUT if requires_grad else _CONST
    return self


# ------------------------------------------------------------------ in place, under no_grad


def _in_place(
    name: str, dunder: str, fn: Callable[[Any, Any], Any], ufunc: Any
) -> Callable[[Node, Any], Any]:
    """``p -= x`` and friends: inside ``no_grad()`` a leaf's value is changed in place (the
    array itself, so modules and optimizers see it); outside, a leaf whose gradient is wanted
    refuses (as PyTorch does) and any other node gives a new node, the name being rebound."""

    def method(self: Node, other: Any) -> Any:
        if self.is_leaf and not _node._grad_on:
            if replay.note_change is not None:
                replay.note_change(self)  # (a compiled step's trace: not a change it replays)
            v = other.value if isinstance(other, Node) else other
            own = self.value
            if isinstance(own, np.ndarray) and own.dtype != object and own.flags.writeable:
                ufunc(own, v, out=own, casting="same_kind")
            else:
                new = fn(own, v)
                self.value = float(new) if self.kind == FLOAT else new
            return self
        if self.is_leaf and self.requires_grad:
            raise ValueInputError(
                f"{self.label()} is a leaf whose gradient is wanted: it cannot be changed in "
                f"place ({name}) outside no_grad(). To update a parameter write "
                f"`with cr.no_grad(): p {name} ...`; for a new node write `p = p ... x`",
                node=self.label(),
            )
        return fn(self, other)

    method.__name__ = dunder
    return method


_METHODS: dict[str, Any] = {
    "sum": sum,
    "mean": mean,
    "max": max,
    "reshape": reshape,
    "view": reshape,
    "permute": permute,
    "flatten": flatten,
    "unsqueeze": unsqueeze,
    "squeeze": squeeze,
    "relu": F.relu,
    "tanh": F.tanh,
    "sigmoid": F.sigmoid,
    "exp": F.exp,
    "log": F.log,
    "sqrt": F.sqrt,
    "abs": F.abs,
    "pow": pow,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "numpy": numpy,
    "detach": detach,
    "dtype": property(dtype),
    "size": size,
    "dim": dim,
    "numel": numel,
    "requires_grad_": requires_grad_,
    "__iadd__": _in_place("+=", "__iadd__", operator.add, np.add),
    "__isub__": _in_place("-=", "__isub__", operator.sub, np.subtract),
    "__imul__": _in_place("*=", "__imul__", operator.mul, np.multiply),
    "__itruediv__": _in_place("/=", "__itruediv__", operator.truediv, np.divide),
}


def attach() -> None:
    """Put the methods on ``Node`` (once; a name the class already has is left alone)."""
    for name, fn in _METHODS.items():
        if name not in Node.__dict__:
            setattr(Node, name, fn)


attach()
