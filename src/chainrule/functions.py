"""The functions people call on nodes (exp, σ, relu, mse, ...), each a thin door to the op table.
(``NodeMath``, the backend that makes the op table's partials build graph nodes, is in
``core/node_math.py``.)"""

from __future__ import annotations

from typing import Any

from .core.node import binary_function, unary_function
from .ops import OPS


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
atan = _unary("atan")
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
