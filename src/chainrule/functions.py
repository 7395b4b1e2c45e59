"""The functions people call on nodes (exp, σ, relu, mse, ...), each a thin door to the op table,
and ``NodeMath``: the maths backend that makes the op table's partials build graph nodes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .node import Node, binary_function, const, unary_function
from .ops import OPS, FloatMath


def _unary(name: str) -> Any:
    op = OPS[name]
    f = unary_function(op)
    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = op.doc or f"{name}(x), from the op table."
    return f


def _binary(name: str) -> Any:
    op = OPS[name]
    f = binary_function(op)
    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = op.doc or f"{name}(a, b), from the op table."
    return f


exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
sin = _unary("sin")
cos = _unary("cos")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
relu = _unary("relu")
abs = _unary("abs")  # noqa: A001 - the name people expect
softplus = _unary("softplus")
step = _unary("step")
sign = _unary("sign")
sum = _unary("sum")  # noqa: A001
mean = _unary("mean")
transpose = _unary("transpose")
maximum = _binary("maximum")
minimum = _binary("minimum")
power = _binary("pow")
dot = _binary("dot")
matmul = _binary("matmul")
mse = _binary("mse")
bce = _binary("bce")
ge = _binary("ge")
add = _binary("add")
sub = _binary("sub")
mul = _binary("mul")
div = _binary("div")
neg = _unary("neg")


class NodeMath(FloatMath):
    """Partials evaluated with this backend build nodes: the gradient becomes a graph."""

    exp = staticmethod(exp)
    log = staticmethod(log)
    sqrt = staticmethod(sqrt)
    sin = staticmethod(sin)
    cos = staticmethod(cos)
    tanh = staticmethod(tanh)
    sigmoid = staticmethod(sigmoid)
    step = staticmethod(step)
    sign = staticmethod(sign)
    ge = staticmethod(ge)

    @staticmethod
    def ones_like(x: Any) -> Any:
        v = x.value if isinstance(x, Node) else x
        if isinstance(v, np.ndarray):
            return const(np.ones_like(v), exact=v.dtype == object)
        return 1

    @staticmethod
    def size(x: Any) -> int:
        v = x.value if isinstance(x, Node) else x
        return int(np.size(v))

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return matmul(a, b)

    @staticmethod
    def transpose(a: Any) -> Any:
        return transpose(a)

    @staticmethod
    def outer(a: Any, b: Any) -> Any:
        raise NotImplementedError("the gradient graph of a matrix-vector product needs 'outer'")

    @staticmethod
    def ndim(a: Any) -> int:
        return int(np.ndim(a.value if isinstance(a, Node) else a))
