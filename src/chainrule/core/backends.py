"""The maths backends that the op table's derivative rules are written against.

A rule (a local partial ``(M, x, y, p)`` or a vector–Jacobian product ``(M, g, x, y, p)``) never
calls numpy or sympy itself: it asks its backend ``M``. The numeric backends give numbers
(floats, numpy arrays, exact rationals and sympy forms), ``NodeMath`` (in ``node_math``) builds
graph nodes, so the same rule gives the gradient as a graph and every higher derivative, and
``SymMath`` gives sympy expressions, which is how the tests check each rule against
``sympy.diff``. ``Backend`` is the protocol they all satisfy; mypy checks every rule against it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from .errors import DomainError, ShapeError
from .lazy import function as lazy_function
from .lazy import is_sympy, sympy
from .limits import check_power_size
from .values import from_sympy, sign_of, to_sympy

Shape = tuple[int, ...]
Window = tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]
"""(kernel, stride, padding, dilation) of a sliding window over the last two axes."""


class Backend(Protocol):
    """What a derivative rule may use besides + − · / ** on its values."""

    # elementwise functions
    def exp(self, x: Any, /) -> Any: ...
    def log(self, x: Any, /) -> Any: ...
    def sqrt(self, x: Any, /) -> Any: ...
    def sin(self, x: Any, /) -> Any: ...
    def cos(self, x: Any, /) -> Any: ...
    def tanh(self, x: Any, /) -> Any: ...
    def sigmoid(self, x: Any, /) -> Any: ...
    def erf(self, x: Any, /) -> Any: ...  # exact GELU's derivative, Φ(a) = ½(1 + erf(a/√2))
    # indicators: their own derivative is zero (they are constants to the next derivative)
    def step(self, x: Any, /) -> Any: ...
    def sign(self, x: Any, /) -> Any: ...
    def ge(self, a: Any, b: Any, /) -> Any: ...
    # b − 1, and 0 where b is 0: the exponent of ∂aᵇ/∂a = b·a^(b−1), so that a⁰ (the constant
    # 1) has slope 0 at a = 0 too, where a^(−1) is undefined
    def exponent_less_one(self, b: Any, /) -> Any: ...
    # a ** b where b may be any number: exact backends keep roots exact (Python's ``**`` turns
    # Fraction(20) ** Fraction(-2, 3) into a float) and refuse powers past the exact bounds
    def power(self, a: Any, b: Any, /) -> Any: ...
    # shapes
    def ones_like(self, x: Any, /) -> Any: ...
    def size(self, x: Any, /) -> int: ...
    def shape(self, x: Any, /) -> Shape: ...
    def ndim(self, x: Any, /) -> int: ...
    # linear maps (each one's transpose is another of them)
    def matmul(self, a: Any, b: Any, /) -> Any: ...
    def transpose(self, a: Any, /) -> Any: ...
    def permute(self, a: Any, axes: Any, /) -> Any: ...
    def reshape(self, a: Any, shape: Shape, /) -> Any: ...
    def broadcast_to(self, a: Any, shape: Shape, /) -> Any: ...
    def sum_to(self, a: Any, shape: Shape, /) -> Any: ...
    def sum(self, a: Any, axis: Any, keepdims: bool, /) -> Any: ...
    def take(self, a: Any, index: Any, /) -> Any: ...
    def scatter(self, a: Any, index: Any, shape: Shape, /) -> Any: ...
    # fused functions whose own rules are in the table
    def softmax(self, a: Any, axis: int, /) -> Any: ...
    def log_softmax(self, a: Any, axis: int, /) -> Any: ...
    def one_hot(self, labels: Any, classes: int, /) -> Any: ...
    # sliding windows of images, a transpose pair (convolution and pooling are built on them)
    def unfold(self, a: Any, window: Window, /) -> Any: ...
    def fold(self, a: Any, shape: Shape, window: Window, /) -> Any: ...
    # a function computed elsewhere (PyTorch), with its vjps computed there too
    def opaque(self, fn: Any, args: tuple[Any, ...], /) -> Any: ...
    # the reverse step
    def times(self, g: Any, d: Any, /) -> Any: ...
    def unbroadcast(self, c: Any, like: Any, /) -> Any: ...


# ------------------------------------------------------------------ float and array functions


def sigmoid_float(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_array(x: Any) -> Any:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus_float(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


_erf_each = np.frompyfunc(math.erf, 1, 1)


def erf_array(a: Any) -> Any:
    """The error function elementwise (the standard library's, correctly rounded), in the
    array's own float type."""
    a = np.asarray(a)
    r = _erf_each(a).astype(a.dtype if a.dtype.kind == "f" else np.float64)
    return r if r.ndim else float(r)


def softplus_array(x: Any) -> Any:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def softmax_array(a: Any, axis: int = -1) -> Any:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax_array(a: Any, axis: int = -1) -> Any:
    """a − log Σ e^a, accurate where one logit dominates (see ``softmax_terms``)."""
    shifted, log_total, _ = softmax_terms(a, axis, False)
    return shifted - log_total


def softmax_terms(a: Any, axis: int, with_softmax: bool) -> tuple[Any, Any, Any]:
    """(a − max, log Σ e^a − max, and when asked softmax(a)), so log_softmax is the first minus
    the second, and the softmax comes from the same exponentials and sums.

    The log of the sum is log1p of the sum without the largest terms' e⁰ = 1 (plus the number of
    tied maxima less one): where one logit dominates, log(1 + e^−24) is 3.775134544e−11, while
    log of the rounded sum 1.0000000000377 is off in the 7th digit (as PyTorch's is). Computing
    it that way always costs fewer passes than testing for domination and redoing the rows,
    and a training batch nearly always holds a confident row."""
    if a.ndim >= 2 and a.shape[-1] <= 64 and axis in (-1, a.ndim - 1) and a.size >= 256:
        # rows of a few classes: numpy reduces a short last axis one row at a time (7 µs for the
        # maximum of 64 rows of 10, 86 µs for 1,024 rows); with the classes first, each
        # reduction is one vectorised pass across the rows
        classes = a.shape[-1]
        terms = softmax_terms_along(np.ascontiguousarray(a.reshape(-1, classes).T), 0, with_softmax)
        return tuple(
            None if t is None else t.T.reshape(a.shape[:-1] + (t.shape[0],)) for t in terms
        )  # type: ignore[return-value]
    return softmax_terms_along(a, axis, with_softmax)


def softmax_terms_along(a: Any, axis: int, with_softmax: bool) -> tuple[Any, Any, Any]:
    """``softmax_terms`` along ``axis`` as the array is laid out (the cross-entropy at labels
    calls it on its own classes-first layout). The softmax's sum is the same two sums'."""
    # (the ufuncs' reduce directly: ndarray.sum and .max go through a Python wrapper)
    shifted = a - _max(a, axis=axis, keepdims=True)
    e = np.exp(shifted)
    top = shifted == 0
    # each maximum's e⁰ = 1 out of the sum, exactly (in place unless the softmax needs e)
    rest = np.subtract(e, top, out=None if with_softmax else e)
    ties = _add(top, axis=axis, keepdims=True, dtype=e.dtype)
    rest_total = _add(rest, axis=axis, keepdims=True)
    probs = e / (rest_total + ties) if with_softmax else None
    ties -= 1
    ties += rest_total
    return shifted, np.log1p(ties, out=ties), probs


_add = np.add.reduce
_max = np.maximum.reduce


def one_hot_array(labels: Any, classes: int) -> Any:
    """Rows of False with True at the label: booleans take the other operand's float type."""
    idx = np.asarray(labels).astype(np.intp)
    out = np.zeros(idx.shape + (int(classes),), dtype=bool)
    rows = out.reshape(-1, int(classes))  # a view: one row per label
    rows[np.arange(rows.shape[0]), idx.reshape(-1)] = True
    return out


def step_array(x: Any) -> Any:
    """1 where x > 0, else 0, in x's float type (float32 stays float32)."""
    if x.__class__ is np.ndarray and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        return (x > 0).astype(x.dtype)
    return (np.asarray(x) > 0).astype(np.result_type(x, np.float32))


def sum_to_shape(c: Any, shape: Shape) -> Any:
    """Sum an array over the axes along which something of ``shape`` was broadcast."""
    if not isinstance(c, np.ndarray):
        return np.full(shape, c) if shape else c
    if c.shape == shape:
        return c
    if shape and c.shape[1:] == shape:  # a batch of rows onto one row (a bias)
        return np.add.reduce(c, axis=0)
    lead = c.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum shape {c.shape} to the longer shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and c.shape[lead + i] != 1
    )
    r = c.sum(axis=axes, keepdims=True).reshape(shape)
    return r if shape else (r.item() if r.dtype == object else float(r))


def broadcast_array(a: Any, shape: Shape, dtype: Any = None) -> Any:
    """``a`` broadcast to ``shape`` as numpy broadcasts, in a new array (writable, where
    ``np.broadcast_to`` gives a read-only view): of ``a``'s dtype, float64 for a number, or
    ``dtype`` (object for exact numbers and for the explorer's JavaScript expressions). The
    one copy of broadcasting every backend uses, ``sum_to_shape`` its transpose."""
    if not shape:
        return a
    if dtype is None:
        dtype = a.dtype if isinstance(a, np.ndarray) else np.float64
    out = np.empty(shape, dtype=dtype)
    out[...] = a
    return out


def unbroadcast(c: Any, like: Any) -> Any:
    """Sum a contribution over the axes along which its input was broadcast."""
    if not isinstance(c, np.ndarray):
        if isinstance(like, np.ndarray):
            out = np.empty(like.shape, dtype=like.dtype)
            out[...] = c
            return out
        return c
    if not isinstance(like, np.ndarray):
        s = c.sum()
        return s if c.dtype == object else float(s)
    if c.shape != like.shape:
        c = sum_to_shape(c, like.shape)
    if c.dtype != like.dtype and like.dtype != object and c.dtype != object:
        c = c.astype(like.dtype)  # a float32 parameter keeps a float32 gradient
    return c


def scatter_array(a: Any, index: Any, shape: Shape) -> Any:
    """Zeros of ``shape`` with ``a`` added at ``index`` (the transpose of taking ``index``)."""
    exact = isinstance(a, np.ndarray) and a.dtype == object or isinstance(a, Fraction)
    dtype = a.dtype if isinstance(a, np.ndarray) else np.float64
    if exact:
        out = np.empty(shape, dtype=object)
        out.reshape(-1)[:] = [Fraction(0)] * out.size
        if not isinstance(a, np.ndarray):
            out[index] = out[index] + a
        else:
            np.add.at(out, index, a)
        return out
    out = np.zeros(shape, dtype=dtype)
    np.add.at(out, index, a)
    return out


def window_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """How many positions a window of ``k`` (dilation ``d``, stride ``s``, padding ``p``) takes."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def unfold_array(a: Any, window: Window) -> Any:
    """(N, C, H, W) → (N, C·kh·kw, L): every window as a column, in PyTorch's order (``unfold``)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = window
    n, c, h, w = a.shape
    ho, wo = window_out(h, kh, sh, ph, dh), window_out(w, kw, sw, pw, dw)
    if ho < 1 or wo < 1:
        raise ShapeError(f"a {kh}×{kw} window does not fit an image of {h}×{w}")
    padded = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else a
    out = np.empty((n, c, kh, kw, ho, wo), dtype=a.dtype)
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            out[:, :, i, j] = padded[
                :, :, r : r + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw
            ]
    return out.reshape(n, c * kh * kw, ho * wo)


def fold_array(a: Any, shape: Shape, window: Window) -> Any:
    """The transpose of ``unfold_array``: columns summed back into an image of ``shape``."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = window
    n, c, h, w = shape
    ho, wo = window_out(h, kh, sh, ph, dh), window_out(w, kw, sw, pw, dw)
    cols = a.reshape(n, c, kh, kw, ho, wo)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=a.dtype)
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            out[:, :, r : r + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw] += cols[
                :, :, i, j
            ]
    return out[:, :, ph : ph + h, pw : pw + w].copy() if ph or pw else out


class FloatMath:
    """Plain floats (the fast path) and, through numpy, arrays of floats."""

    exp: Any = staticmethod(math.exp)
    log: Any = staticmethod(math.log)
    sqrt: Any = staticmethod(math.sqrt)
    sin: Any = staticmethod(math.sin)
    cos: Any = staticmethod(math.cos)
    tanh: Any = staticmethod(math.tanh)
    sigmoid: Any = staticmethod(sigmoid_float)
    erf: Any = staticmethod(math.erf)
    step: Any = staticmethod(lambda x: 1.0 if x > 0 else 0.0)
    sign: Any = staticmethod(lambda x: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0))
    ge: Any = staticmethod(lambda a, b: 1.0 if a >= b else 0.0)

    @classmethod
    def exponent_less_one(cls, b: Any) -> Any:
        return b - cls.sign(b) ** 2  # sign(b)² is 1 unless b is 0

    power: Any = staticmethod(operator.pow)

    @staticmethod
    def ones_like(x: Any) -> Any:
        return np.ones_like(x) if isinstance(x, np.ndarray) else 1.0

    @staticmethod
    def size(x: Any) -> int:
        return int(np.size(x))

    @staticmethod
    def shape(x: Any) -> Shape:
        return x.shape if x.__class__ is np.ndarray else tuple(np.shape(x))

    @staticmethod
    def ndim(x: Any) -> int:
        return x.ndim if x.__class__ is np.ndarray else int(np.ndim(x))

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        r = np.matmul(a, b)
        return r if r.__class__ is np.ndarray and r.ndim else _scalar(r)

    @staticmethod
    def transpose(a: Any) -> Any:
        return a.T if isinstance(a, np.ndarray) else a

    @staticmethod
    def permute(a: Any, axes: Any) -> Any:
        return np.transpose(a, axes)

    @staticmethod
    def reshape(a: Any, shape: Shape) -> Any:
        if not isinstance(a, np.ndarray):
            return np.full(shape, a) if shape else a
        return a.reshape(shape) if shape else _scalar(a.reshape(()))

    @staticmethod
    def broadcast_to(a: Any, shape: Shape) -> Any:
        return broadcast_array(a, shape)

    @staticmethod
    def sum_to(a: Any, shape: Shape) -> Any:
        return sum_to_shape(a, shape)

    @staticmethod
    def sum(a: Any, axis: Any, keepdims: bool) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        r = np.sum(a, axis=axis, keepdims=keepdims)
        return r if isinstance(r, np.ndarray) and r.ndim else _scalar(r)

    @staticmethod
    def take(a: Any, index: Any) -> Any:
        r = a[index]
        return r if isinstance(r, np.ndarray) and r.ndim else _scalar(r)

    scatter: Any = staticmethod(scatter_array)
    unfold: Any = staticmethod(unfold_array)
    fold: Any = staticmethod(fold_array)

    @staticmethod
    def opaque(fn: Any, args: tuple[Any, ...]) -> Any:
        return fn(*args)

    softmax: Any = staticmethod(softmax_array)
    log_softmax: Any = staticmethod(log_softmax_array)
    one_hot: Any = staticmethod(one_hot_array)

    @staticmethod
    def times(g: Any, d: Any) -> Any:
        return g * d

    unbroadcast: Any = staticmethod(unbroadcast)


def _scalar(r: Any) -> Any:
    """A 0-d result as the engine stores scalars: float, or the exact object itself."""
    if isinstance(r, np.ndarray):
        r = r.item() if r.dtype == object else float(r)
    elif isinstance(r, (np.floating, np.integer)):
        r = float(r)
    return r


class ArrayMath(FloatMath):
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
    sigmoid = staticmethod(sigmoid_array)
    erf = staticmethod(lambda a: erf_array(a))
    step = staticmethod(step_array)
    sign = staticmethod(np.sign)
    ge = staticmethod(lambda a, b: (np.asarray(a) >= b).astype(np.result_type(a, b, np.float32)))


# ------------------------------------------------------------------ exact numbers


def check_exact(value: Any, what: str) -> Any:
    """An exact result back to Fraction where rational; a clear error where it is undefined."""
    if is_sympy(value):
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or value.is_real is False:
            raise DomainError(f"{what} is undefined here")
    return from_sympy(value)


def exact_fn(
    fn: Callable[[Any], Any], what: str, domain: Callable[[Any], bool] | None = None
) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        if domain is not None and not domain(x):
            raise DomainError(f"{what} is undefined at {x}")
        return check_exact(fn(to_sympy(x)), what)

    return f


def exact_power(a: Any, b: Any) -> Any:
    """``a ** b`` kept exact: a rational to a whole power as a Fraction, a root as a sympy form
    (20^(1/3)); sizes are checked before anything is computed (2 ** 2 ** 100 is never tried)."""
    check_power_size(a, b)
    integer = isinstance(b, Fraction) and b.denominator == 1
    if integer and isinstance(a, Fraction):
        if a == 0 and b < 0:
            raise DomainError("0 raised to a negative power is undefined")
        return a ** int(b)
    if not integer and _negative(a):
        raise DomainError(f"a negative base ({a}) with a non-integer exponent is undefined")
    return check_exact(to_sympy(a) ** to_sympy(b), "the power")


def _negative(a: Any) -> bool:
    """Whether an exact number is below zero (sympy numbers compared by their value)."""
    if isinstance(a, Fraction):
        return a < 0
    if is_sympy(a) and a.is_number:
        return sign_of(a) < 0
    return False


def exact_sigmoid(s: Any) -> Any:
    return 1 / (1 + sympy.exp(-s))


def exact_softplus(s: Any) -> Any:
    return sympy.log(1 + sympy.exp(s))


def positive(x: Any) -> bool:
    return sign_of(x) > 0


def nonnegative(x: Any) -> bool:
    return sign_of(x) >= 0


def exact_step(x: Any) -> Fraction:
    return Fraction(1) if sign_of(x) > 0 else Fraction(0)


def exact_sign(x: Any) -> Fraction:
    return Fraction(sign_of(x))


def exact_ge(a: Any, b: Any) -> Fraction:
    return Fraction(1) if sign_of(a - b) >= 0 else Fraction(0)


def ufunc(fn: Callable[..., Any], nin: int = 1) -> Callable[..., Any]:
    """Lift a scalar exact function over object arrays (exact vectors)."""
    u = np.frompyfunc(fn, nin, 1)

    def f(*args: Any) -> Any:
        return u(*args)

    return f


def exact_ones(shape: Shape, n: int = 1) -> Any:
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(n)] * out.size
    return out


class ExactMath(FloatMath):
    exp = staticmethod(exact_fn(lazy_function("exp"), "exp"))
    log = staticmethod(exact_fn(lazy_function("log"), "log", positive))
    sqrt = staticmethod(exact_fn(lazy_function("sqrt"), "sqrt", nonnegative))
    sin = staticmethod(exact_fn(lazy_function("sin"), "sin"))
    cos = staticmethod(exact_fn(lazy_function("cos"), "cos"))
    tanh = staticmethod(exact_fn(lazy_function("tanh"), "tanh"))
    sigmoid = staticmethod(exact_fn(exact_sigmoid, "sigmoid"))
    erf = staticmethod(exact_fn(lazy_function("erf"), "erf"))
    step = staticmethod(exact_step)
    sign = staticmethod(exact_sign)
    ge = staticmethod(exact_ge)
    power = staticmethod(exact_power)

    @staticmethod
    def ones_like(x: Any) -> Any:
        return exact_ones(x.shape) if isinstance(x, np.ndarray) else Fraction(1)

    @staticmethod
    def broadcast_to(a: Any, shape: Shape) -> Any:
        return broadcast_array(a, shape, object)

    @staticmethod
    def softmax(a: Any, axis: int) -> Any:
        e = ExactArrayMath.exp(a)
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def log_softmax(a: Any, axis: int) -> Any:
        e = ExactArrayMath.exp(a)
        return a - ExactArrayMath.log(e.sum(axis=axis, keepdims=True))

    @staticmethod
    def one_hot(labels: Any, classes: int) -> Any:
        idx = np.asarray([int(v) for v in np.asarray(labels).reshape(-1)]).reshape(np.shape(labels))
        out = exact_ones(idx.shape + (int(classes),), 0)
        np.put_along_axis(out, idx[..., None], exact_ones((1,)), axis=-1)
        return out

    @staticmethod
    def opaque(fn: Any, args: tuple[Any, ...]) -> Any:
        raise DomainError(f"{getattr(fn, 'name', 'a PyTorch op')} has no exact form: use floats")


class ExactArrayMath(ExactMath):
    exp = staticmethod(ufunc(ExactMath.exp))
    log = staticmethod(ufunc(ExactMath.log))
    sqrt = staticmethod(ufunc(ExactMath.sqrt))
    sin = staticmethod(ufunc(ExactMath.sin))
    cos = staticmethod(ufunc(ExactMath.cos))
    tanh = staticmethod(ufunc(ExactMath.tanh))
    sigmoid = staticmethod(ufunc(ExactMath.sigmoid))
    erf = staticmethod(ufunc(ExactMath.erf))
    step = staticmethod(ufunc(exact_step))
    sign = staticmethod(ufunc(exact_sign))
    ge = staticmethod(ufunc(exact_ge, 2))
    power = staticmethod(ufunc(exact_power, 2))


class SymMath(FloatMath):
    """sympy symbols: used to check the table against sympy's own differentiation."""

    exp = staticmethod(lazy_function("exp"))
    log = staticmethod(lazy_function("log"))
    sqrt = staticmethod(lazy_function("sqrt"))
    sin = staticmethod(lazy_function("sin"))
    cos = staticmethod(lazy_function("cos"))
    tanh = staticmethod(lazy_function("tanh"))
    sigmoid = staticmethod(lambda x: 1 / (1 + sympy.exp(-x)))
    erf = staticmethod(lazy_function("erf"))
    step = staticmethod(lambda x: sympy.Heaviside(x, 0))
    sign = staticmethod(lazy_function("sign"))
    ge = staticmethod(lambda a, b: sympy.Heaviside(a - b, 1))
    exponent_less_one = staticmethod(lambda b: b - 1)  # sympy differentiates the generic case


def _typecheck() -> None:  # pragma: no cover - only read by mypy
    backends: list[Backend] = [FloatMath, ArrayMath, ExactMath, ExactArrayMath, SymMath]
    del backends
