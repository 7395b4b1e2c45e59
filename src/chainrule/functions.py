"""The functions people call on nodes (exp, σ, relu, mse, ...), each a thin door to an op of
the table, made from the table (a new op is a new function with nothing written here).
(``NodeMath``, the backend that makes the op table's partials build graph nodes, is in
``core/node_math.py``.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core.node import FUNCTIONS, Node, binary_function, unary_function
from .ops import OPS, Op
from .ops.table import api_name

#: the op families whose ops are functions of the Python API (tensor and layer ops have
#: their own doors, with PyTorch's signatures, in ``chainrule.tensor`` and ``nn.functional``)
FAMILIES = ("scalar", "arrays")


def _door(op: Op, name: str) -> Callable[..., Node]:
    """``name(x)`` or ``name(a, b)``: the op applied, with the float fast path."""
    f = unary_function(op) if op.arity == 1 else binary_function(op)
    f.__name__ = name
    f.__qualname__ = name
    args = "x" if op.arity == 1 else "a, b"
    f.__doc__ = op.doc or f"{name}({args}), from the op table."
    return f


#: every function of the API, by its name: read from the table (an op's ``api`` name)
API: dict[str, Callable[..., Node]] = {
    api_name(op): _door(op, api_name(op))
    for op in OPS.values()
    if op.family in FAMILIES and op.in_programs and api_name(op) and op.arity in (1, 2)
}
globals().update(API)
FUNCTIONS.update(API)  # (abs(x) and numpy's functions on a node, in the floor below)


def __getattr__(name: str) -> Any:
    """Names of the API are set from the table above; anything else does not exist."""
    raise AttributeError(f"module 'chainrule.functions' has no attribute {name!r}")
