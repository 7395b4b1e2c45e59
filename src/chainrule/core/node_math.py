"""``NodeMath``: the maths backend whose every answer is a graph node, so that the op table's
partials, evaluated with it, build the gradient as a graph (drawn, explained, differentiated
again). It sits in the core beside the other backends: the autodiff engine uses it for ``grad``
and ``jvp``, and it depends on the op table, never on the user-facing function list."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..ops import OPS
from .backends import FloatMath
from .node import Node, apply, binary_function, const, lift, unary_function

exp = unary_function(OPS["exp"])
log = unary_function(OPS["log"])
sqrt = unary_function(OPS["sqrt"])
sin = unary_function(OPS["sin"])
cos = unary_function(OPS["cos"])
tanh = unary_function(OPS["tanh"])
sigmoid = unary_function(OPS["sigmoid"])
erf = unary_function(OPS["erf"])
step = unary_function(OPS["step"])
sign = unary_function(OPS["sign"])
ge = binary_function(OPS["ge"])


class NodeMath(FloatMath):
    """The backend whose every answer is a graph node: a rule evaluated with it builds the
    gradient as a graph, which can be drawn and differentiated again."""

    exp = staticmethod(exp)
    log = staticmethod(log)
    sqrt = staticmethod(sqrt)
    sin = staticmethod(sin)
    cos = staticmethod(cos)
    tanh = staticmethod(tanh)
    sigmoid = staticmethod(sigmoid)
    erf = staticmethod(erf)
    step = staticmethod(step)
    sign = staticmethod(sign)
    ge = staticmethod(ge)

    @staticmethod
    def exponent_less_one(b: Any) -> Any:
        """``b − 1`` as a node, as people write it; only where b is 0 now does the graph carry
        the guard ``b − sign(b)²`` (a constant exponent is folded either way)."""
        b = lift(b)
        if not np.any(np.asarray(b.value == 0)):
            return b - 1
        return b - sign(b) ** 2

    @staticmethod
    def ones_like(x: Any) -> Any:
        v = x.value if isinstance(x, Node) else x
        if isinstance(v, np.ndarray):
            return const(np.ones_like(v), exact=v.dtype == object)
        return 1

    @staticmethod
    def size(x: Any) -> int:
        return int(np.size(_value(x)))

    @staticmethod
    def shape(x: Any) -> tuple[int, ...]:
        return tuple(np.shape(_value(x)))

    @staticmethod
    def ndim(x: Any) -> int:
        return int(np.ndim(_value(x)))

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return apply(OPS["matmul"], (lift(a), lift(b)))

    @staticmethod
    def transpose(a: Any) -> Any:
        return apply(OPS["transpose"], (lift(a),))

    @staticmethod
    def permute(a: Any, axes: Any) -> Any:
        return apply(OPS["permute"], (lift(a),), {"axes": axes})

    @staticmethod
    def reshape(a: Any, shape: tuple[int, ...]) -> Any:
        a = lift(a)
        if a.shape == tuple(shape):
            return a
        return apply(OPS["reshape"], (a,), {"shape": tuple(shape)})

    @staticmethod
    def broadcast_to(a: Any, shape: tuple[int, ...]) -> Any:
        a = lift(a)
        if a.shape == tuple(shape):
            return a
        return apply(OPS["broadcast_to"], (a,), {"shape": tuple(shape)})

    @staticmethod
    def sum_to(a: Any, shape: tuple[int, ...]) -> Any:
        a = lift(a)
        if a.shape == tuple(shape):
            return a
        if shape == ():
            return apply(OPS["sum"], (a,))
        return apply(OPS["sum_to"], (a,), {"shape": tuple(shape)})

    @staticmethod
    def sum(a: Any, axis: Any, keepdims: bool) -> Any:
        return apply(OPS["sum"], (lift(a),), {"axis": axis, "keepdims": keepdims})

    @staticmethod
    def take(a: Any, index: Any) -> Any:
        return apply(OPS["index"], (lift(a),), {"index": index})

    @staticmethod
    def scatter(a: Any, index: Any, shape: tuple[int, ...]) -> Any:
        return apply(OPS["scatter"], (lift(a),), {"index": index, "shape": tuple(shape)})

    @staticmethod
    def softmax(a: Any, axis: int) -> Any:
        return apply(OPS["softmax"], (lift(a),), {"axis": axis})

    @staticmethod
    def log_softmax(a: Any, axis: int) -> Any:
        return apply(OPS["log_softmax"], (lift(a),), {"axis": axis})

    @staticmethod
    def one_hot(labels: Any, classes: int) -> Any:
        return apply(OPS["one_hot"], (lift(labels),), {"classes": int(classes)})

    @staticmethod
    def unfold(a: Any, window: Any) -> Any:
        return apply(OPS["unfold"], (lift(a),), _window_params(window))

    @staticmethod
    def fold(a: Any, shape: tuple[int, ...], window: Any) -> Any:
        return apply(OPS["fold"], (lift(a),), {"shape": tuple(shape), **_window_params(window)})

    @staticmethod
    def opaque(fn: Any, args: tuple[Any, ...]) -> Any:
        return apply(OPS["torch_opaque"], tuple(lift(a) for a in args), {"fn": fn})

    @staticmethod
    def times(g: Any, d: Any) -> Any:
        """g · d with the obvious simplifications, so gradient graphs stay readable."""
        if isinstance(d, (int, float, Fraction)) and not isinstance(d, bool):
            if d == 0:
                return None
            if d == 1:
                return g
            if d == -1:
                return -g
        if isinstance(g, Node) and g.op is _CONST and _is_one(g.value):
            return d if isinstance(d, Node) else lift(d, g)
        return g * d

    @staticmethod
    def unbroadcast(c: Any, like: Any) -> Any:
        if c is None:
            return None
        c = lift(c, like if isinstance(like, Node) else None)
        shape = NodeMath.shape(like)
        if c.shape == shape:
            return c
        if not c.shape:
            return NodeMath.broadcast_to(c, shape)
        return NodeMath.sum_to(c, shape)


def _window_params(window: Any) -> dict[str, Any]:
    kernel, stride, padding, dilation = window
    return {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}


def _value(x: Any) -> Any:
    return x.value if isinstance(x, Node) else x


def _is_one(v: Any) -> bool:
    return not isinstance(v, np.ndarray) and v == 1


_CONST = OPS["const"]


__all__ = ["NodeMath"]
