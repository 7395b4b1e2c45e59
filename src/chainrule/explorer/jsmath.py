"""``JSMath``: the op table's rules evaluated on JavaScript expressions.

Like ``SymMath`` (which evaluates the table's rules on sympy symbols), this backend hands each
rule symbolic values, here ``JS`` objects that hold a piece of JavaScript source. Running a
rule with them writes the JavaScript that computes it, so the explorer page recomputes every
value, local partial and contribution from the very rules the engine uses: there is no
second, hand-written copy of the maths. Vectors and matrices are numpy object arrays of
``JS`` scalars (as exact vectors are object arrays of Fractions), so the table's array rules
(matmul, sums over axes, broadcasting, unbroadcasting) run unchanged and the JavaScript comes
out one scalar at a time.

A rule that branches on a value (``if a > 0``) cannot run on a symbol: ``JS.__bool__`` raises
``NotExpressible``. An op whose forward branches declares its JavaScript form on the op
(``Op.js``), written against this backend's ``where``, ``call`` and ``reduce_extreme``; an op
with no form (``NoForm``) leaves its node, and every number computed from it, marked as not
recomputed in the page."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.backends import (
    Backend,
    FloatMath,
    broadcast_array,
    one_hot_array,
    sum_to_shape,
    unbroadcast,
)

Shape = tuple[int, ...]


class NotExpressible(TypeError):
    """A rule or forward needs a concrete number (it branches on a value)."""


def literal(x: float) -> str:
    """A float as JavaScript source that reads back to the same double."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "(-Infinity)"
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text


class JS:
    """A JavaScript expression of one number. ``const`` is its value when it is a literal."""

    __slots__ = ("code", "const")

    def __init__(self, code: str, const: float | None = None) -> None:
        self.code = code
        self.const = const

    def __repr__(self) -> str:
        return f"JS({self.code})"

    def __bool__(self) -> bool:
        raise NotExpressible("a value is needed to decide a branch")

    def __float__(self) -> float:
        raise NotExpressible("a value is needed here")

    # arithmetic (literals are folded the way JavaScript would compute them: IEEE doubles)
    def __add__(self, o: Any) -> Any:
        return _bin(self, o, "+")

    def __radd__(self, o: Any) -> Any:
        return _bin(o, self, "+")

    def __sub__(self, o: Any) -> Any:
        return _bin(self, o, "-")

    def __rsub__(self, o: Any) -> Any:
        return _bin(o, self, "-")

    def __mul__(self, o: Any) -> Any:
        return _bin(self, o, "*")

    def __rmul__(self, o: Any) -> Any:
        return _bin(o, self, "*")

    def __truediv__(self, o: Any) -> Any:
        return _bin(self, o, "/")

    def __rtruediv__(self, o: Any) -> Any:
        return _bin(o, self, "/")

    def __pow__(self, o: Any) -> Any:
        return _pow(self, o)

    def __rpow__(self, o: Any) -> Any:
        return _pow(o, self)

    def __neg__(self) -> JS:
        if self.const is not None:
            return lift(-self.const)
        return JS(f"(-{self.code})")

    def __pos__(self) -> JS:
        return self

    def __abs__(self) -> JS:
        return call("Math.abs", self)

    # comparisons give 1 or 0 (the indicators of the backend protocol)
    def __gt__(self, o: Any) -> JS:
        return _cmp(self, o, ">")

    def __ge__(self, o: Any) -> JS:
        return _cmp(self, o, ">=")

    def __lt__(self, o: Any) -> JS:
        return _cmp(self, o, "<")

    def __le__(self, o: Any) -> JS:
        return _cmp(self, o, "<=")

    # what numpy calls on object arrays (np.exp(a) calls a.exp() on each element)
    def exp(self) -> JS:
        return call("Math.exp", self)

    def log(self) -> JS:
        return call("Math.log", self)

    def sqrt(self) -> JS:
        return call("Math.sqrt", self)

    def sin(self) -> JS:
        return call("Math.sin", self)

    def cos(self) -> JS:
        return call("Math.cos", self)

    def tanh(self) -> JS:
        return call("Math.tanh", self)

    def arctan(self) -> JS:
        return call("Math.atan", self)

    def log1p(self) -> JS:
        return call("Math.log1p", self)


def lift(v: Any) -> JS:
    """A number or an expression as an expression."""
    if isinstance(v, JS):
        return v
    if isinstance(v, (bool, np.bool_)):
        return JS("1", 1.0) if v else JS("0", 0.0)
    if isinstance(v, (int, float, Fraction, np.integer, np.floating)):
        x = float(v)
        return JS(literal(x), x)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return lift(v.item())
    raise NotExpressible(f"cannot write {type(v).__name__} as JavaScript")


def _fold(a: float, b: float, op: str) -> float | None:
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return None  # JavaScript gives ±Infinity or NaN; let it
            return a / b
    except OverflowError:
        return None
    return None


def _bin(a: Any, b: Any, op: str) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return NotImplemented
    x, y = lift(a), lift(b)
    if x.const is not None and y.const is not None:
        folded = _fold(x.const, y.const, op)
        if folded is not None:
            return lift(folded)
    if op == "*":
        if x.const == 1.0:
            return y
        if y.const == 1.0:
            return x
    if op == "/" and y.const == 1.0:
        return x
    if op in "+-" and y.const == 0.0:
        return x
    if op == "+" and x.const == 0.0:
        return y
    return JS(f"({x.code}{op}{y.code})")


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return NotImplemented
    x, y = lift(a), lift(b)
    if y.const == 1.0:
        return x
    return JS(f"Math.pow({x.code},{y.code})")


def _cmp(a: Any, b: Any, op: str) -> JS:
    x, y = lift(a), lift(b)
    return JS(f"({x.code}{op}{y.code}?1:0)")


def call(fn: str, *args: Any) -> JS:
    return JS(f"{fn}({','.join(lift(a).code for a in args)})")


def _elementwise(f: Any) -> Any:
    """A scalar function lifted over object arrays of expressions."""
    u = np.frompyfunc(f, 1, 1)

    def g(x: Any) -> Any:
        return u(x) if isinstance(x, np.ndarray) else f(x)

    return g


def _elementwise_n(f: Any, n: int) -> Any:
    """A function of ``n`` numbers lifted over object arrays (broadcast as numpy does)."""
    u = np.frompyfunc(f, n, 1)

    def g(*args: Any) -> Any:
        if any(isinstance(a, np.ndarray) for a in args):
            return u(*args)
        return f(*args)

    return g


def _elementwise2(f: Any) -> Any:
    u = np.frompyfunc(f, 2, 1)

    def g(a: Any, b: Any) -> Any:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return u(a, b)
        return f(a, b)

    return g


def _reduce_max(a: Any, axis: int, larger: bool = True) -> Any:
    """The largest (or smallest) element along an axis (kept), written with Math.max/min."""
    moved = np.moveaxis(a, axis, -1)
    out = np.empty(moved.shape[:-1] + (1,), dtype=object)
    for idx in np.ndindex(moved.shape[:-1]):
        out[idx + (0,)] = call("Math.max" if larger else "Math.min", *moved[idx])
    return np.moveaxis(out, -1, axis)


def _pick(c: Any, a: Any, b: Any) -> JS:
    x, y, z = lift(c), lift(a), lift(b)
    if x.const is not None:
        return y if x.const != 0 else z
    return JS(f"({x.code}?{y.code}:{z.code})")


def _ones(shape: Shape) -> Any:
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [lift(1.0)] * out.size
    return out


class JSMath(FloatMath):
    """The backend protocol with JavaScript expressions for numbers (see the module)."""

    exp = staticmethod(_elementwise(lambda x: call("Math.exp", x)))
    log = staticmethod(_elementwise(lambda x: call("Math.log", x)))
    sqrt = staticmethod(_elementwise(lambda x: call("Math.sqrt", x)))
    sin = staticmethod(_elementwise(lambda x: call("Math.sin", x)))
    cos = staticmethod(_elementwise(lambda x: call("Math.cos", x)))
    tanh = staticmethod(_elementwise(lambda x: call("Math.tanh", x)))
    # the page's numeric primitives (cr.sigmoid is the overflow-free form of backends.py)
    sigmoid = staticmethod(_elementwise(lambda x: call("cr.sigmoid", x)))
    erf = staticmethod(_elementwise(lambda x: call("cr.erf", x)))
    step = staticmethod(_elementwise(lambda x: _cmp(x, 0.0, ">")))
    sign = staticmethod(_elementwise(lambda x: call("Math.sign", x)))
    ge = staticmethod(_elementwise2(lambda a, b: _cmp(a, b, ">=")))

    # beyond the backend protocol: what the table's JavaScript forms (``Op.js``) write with
    @staticmethod
    def call(fn: str, *args: Any) -> Any:
        """A JavaScript function of numbers (``Math.asinh``, ``cr.erf``) elementwise."""
        return _elementwise_n(lambda *v: call(fn, *v), len(args))(*args)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        """``a`` where ``cond`` (an indicator: 1 or 0) is 1, else ``b``: a branch as
        JavaScript's conditional, so no value is needed to write it."""
        return _elementwise_n(_pick, 3)(cond, a, b)

    @staticmethod
    def reduce_extreme(a: Any, axis: int, larger: bool) -> Any:
        """The largest (``larger``) or smallest element along an axis, the axis kept."""
        return _reduce_max(a, axis, larger)

    @staticmethod
    def ones_like(x: Any) -> Any:
        return _ones(x.shape) if isinstance(x, np.ndarray) else lift(1.0)

    @staticmethod
    def broadcast_to(a: Any, shape: Shape) -> Any:
        return broadcast_array(a, shape, object)  # numpy's broadcasting, on expressions

    @staticmethod
    def sum_to(a: Any, shape: Shape) -> Any:
        return sum_to_shape(a, shape)

    @staticmethod
    def softmax(a: Any, axis: int) -> Any:
        e = JSMath.exp(a - _reduce_max(a, axis))
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def log_softmax(a: Any, axis: int) -> Any:
        shifted = a - _reduce_max(a, axis)
        return shifted - JSMath.log(JSMath.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def one_hot(labels: Any, classes: int) -> Any:
        if isinstance(labels, np.ndarray) and labels.dtype != object:
            return one_hot_array(labels, classes)
        t = np.asarray(labels, dtype=object)
        out = np.empty(t.shape + (int(classes),), dtype=object)
        for idx in np.ndindex(t.shape):
            for c in range(int(classes)):
                out[idx + (c,)] = _cmp(t[idx], float(c), "===")
        return out

    @staticmethod
    def scatter(a: Any, index: Any, shape: Shape) -> Any:
        out = np.empty(shape, dtype=object)
        out.reshape(-1)[:] = [lift(0.0)] * out.size
        if isinstance(a, np.ndarray):
            np.add.at(out, index, a)
        else:
            out[index] = out[index] + a
        return out

    unbroadcast = staticmethod(unbroadcast)

    @staticmethod
    def times(g: Any, d: Any) -> Any:
        return g * d


def _typecheck() -> None:  # pragma: no cover - only read by mypy
    backend: Backend = JSMath
    del backend
