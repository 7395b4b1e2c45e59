"""The op table: every primitive declared once.

Each entry gives the forward computation for each kind of number, the partial derivative with
respect to each input written in *generic maths* (a function of a maths backend ``M``, the input
values ``x``, the output value ``y`` and the op's parameters ``p``), and the notation people read.
Because the partials are generic, one rule serves three purposes: with ``M = FloatMath`` it gives
the numeric local derivative, with ``M = NodeMath`` it builds the gradient as a graph (higher
order, drawable), and with ``M = FormulaMath`` it prints the formula shown in a worked solution.

Elementwise ops declare ``partials`` (the local derivative, broadcast like the inputs).
Ops that mix elements (matmul, sum over an axis, indexing, ...) declare ``vjps`` instead: the
contribution ``g · ∂y/∂x_i`` computed directly; they may also declare ``partials`` where the local
derivative has a readable form (dot: ∂(w·x)/∂w = x).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from .errors import DomainError
from .values import ARRAY, EXACT, EXACT_ARRAY, FLOAT, from_sympy, to_sympy

Rule = Callable[..., Any]


@dataclass(frozen=True)
class Notation:
    """How people write an op: ``style`` is infix, prefix, function, power or atom."""

    style: str
    text: str
    latex: str
    precedence: int = 100
    symbol: str = ""  # the short label drawn inside an operation box
    # Infix details: the right operand needs brackets at equal precedence (a − (b − c));
    # a product may be written by juxtaposition (2x, σ(z)(1 − σ(z))); LaTeX writes a fraction.
    grouping_right: bool = False
    juxtapose: bool = False
    fraction: bool = False
    latex_vectors: str = ""  # LaTeX when every input is a vector (wᵀx for a product of two)


@dataclass(eq=False)
class Op:
    name: str
    arity: int  # -1: any number of inputs
    forward: dict[int, Callable[..., Any]]
    notation: Notation
    partials: tuple[Rule, ...] | None = None
    vjps: tuple[Rule, ...] | None = None
    jvp: Rule | None = None
    elementwise: bool = True
    differentiable: bool = True
    doc: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    @property
    def label(self) -> str:
        return self.notation.symbol or self.notation.text


OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    OPS[op.name] = op
    return op


# ------------------------------------------------------------------ maths backends
# Every backend offers the same names, so that partials are written once.


def _sigmoid_float(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus_float(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _softplus_array(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _check_exact(value: Any, what: str) -> Any:
    if isinstance(value, sympy.Basic):
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or value.is_real is False:
            raise DomainError(f"{what} is undefined here")
    return from_sympy(value)


def _exact_fn(fn: Callable[[Any], Any], what: str, domain: Callable[[Any], bool] | None = None):
    def f(x: Any) -> Any:
        if domain is not None and not domain(x):
            raise DomainError(f"{what} is undefined at {x}")
        return _check_exact(fn(to_sympy(x)), what)

    return f


def _exact_sigmoid(s: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-s))


def _exact_softplus(s: sympy.Expr) -> sympy.Expr:
    return sympy.log(1 + sympy.exp(s))


def _positive(x: Any) -> bool:
    return bool(x > 0)


def _nonnegative(x: Any) -> bool:
    return bool(x >= 0)


def _exact_step(x: Any) -> Fraction:
    return Fraction(1) if x > 0 else Fraction(0)


def _exact_sign(x: Any) -> Fraction:
    return Fraction(1) if x > 0 else (Fraction(-1) if x < 0 else Fraction(0))


def _exact_ge(a: Any, b: Any) -> Fraction:
    return Fraction(1) if a >= b else Fraction(0)


def _exact_arith(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def f(a: Any, b: Any) -> Any:
        return _check_exact(fn(a, b), "the result")

    return f


def _exact_pow(a: Any, b: Any) -> Any:
    if isinstance(b, Fraction) and b.denominator == 1 and isinstance(a, Fraction):
        if a == 0 and b < 0:
            raise DomainError("0 raised to a negative power is undefined")
        return a ** int(b)
    if isinstance(a, Fraction) and a < 0:
        raise DomainError(f"a negative base ({a}) with a non-integer exponent is undefined")
    return _check_exact(to_sympy(a) ** to_sympy(b), "the power")


def _ufunc(fn: Callable[..., Any], nin: int = 1) -> Callable[..., Any]:
    """Lift a scalar exact function over object arrays (exact vectors)."""
    u = np.frompyfunc(fn, nin, 1)

    def f(*args: Any) -> Any:
        return u(*args)

    return f


class FloatMath:
    exp: Any = staticmethod(math.exp)
    log: Any = staticmethod(math.log)
    sqrt: Any = staticmethod(math.sqrt)
    sin: Any = staticmethod(math.sin)
    cos: Any = staticmethod(math.cos)
    tanh: Any = staticmethod(math.tanh)
    sigmoid: Any = staticmethod(_sigmoid_float)

    step: Any = staticmethod(lambda x: 1.0 if x > 0 else 0.0)
    sign: Any = staticmethod(lambda x: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0))
    ge: Any = staticmethod(lambda a, b: 1.0 if a >= b else 0.0)

    @staticmethod
    def ones_like(x: Any) -> Any:
        return np.ones_like(x) if isinstance(x, np.ndarray) else 1.0

    @staticmethod
    def size(x: Any) -> int:
        return int(np.size(x))

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return np.matmul(a, b)

    @staticmethod
    def outer(a: Any, b: Any) -> Any:
        return np.multiply.outer(a, b)

    @staticmethod
    def transpose(a: Any) -> Any:
        return np.transpose(a)

    @staticmethod
    def swap_last(a: Any) -> Any:
        return np.swapaxes(a, -1, -2)

    @staticmethod
    def ndim(a: Any) -> int:
        return int(np.ndim(a))


class ArrayMath(FloatMath):
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
    sigmoid = staticmethod(_sigmoid_array)

    step = staticmethod(lambda x: (np.asarray(x) > 0).astype(np.result_type(x, np.float32)))
    sign = staticmethod(np.sign)
    ge = staticmethod(lambda a, b: (np.asarray(a) >= b).astype(np.result_type(a, b, np.float32)))


class ExactMath(FloatMath):
    exp = staticmethod(_exact_fn(sympy.exp, "exp"))
    log = staticmethod(_exact_fn(sympy.log, "log", _positive))
    sqrt = staticmethod(_exact_fn(sympy.sqrt, "sqrt", _nonnegative))
    sin = staticmethod(_exact_fn(sympy.sin, "sin"))
    cos = staticmethod(_exact_fn(sympy.cos, "cos"))
    tanh = staticmethod(_exact_fn(sympy.tanh, "tanh"))
    sigmoid = staticmethod(_exact_fn(_exact_sigmoid, "sigmoid"))
    step = staticmethod(_exact_step)
    sign = staticmethod(_exact_sign)
    ge = staticmethod(_exact_ge)

    @staticmethod
    def ones_like(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            out = np.empty(x.shape, dtype=object)
            out.reshape(-1)[:] = [Fraction(1)] * x.size
            return out
        return Fraction(1)


class ExactArrayMath(ExactMath):
    exp = staticmethod(_ufunc(ExactMath.exp))
    log = staticmethod(_ufunc(ExactMath.log))
    sqrt = staticmethod(_ufunc(ExactMath.sqrt))
    sin = staticmethod(_ufunc(ExactMath.sin))
    cos = staticmethod(_ufunc(ExactMath.cos))
    tanh = staticmethod(_ufunc(ExactMath.tanh))
    sigmoid = staticmethod(_ufunc(ExactMath.sigmoid))
    step = staticmethod(_ufunc(_exact_step))
    sign = staticmethod(_ufunc(_exact_sign))
    ge = staticmethod(_ufunc(_exact_ge, 2))


class SymMath(FloatMath):
    """sympy symbols: used to check the table against sympy's own differentiation."""

    exp = staticmethod(sympy.exp)
    log = staticmethod(sympy.log)
    sqrt = staticmethod(sympy.sqrt)
    sin = staticmethod(sympy.sin)
    cos = staticmethod(sympy.cos)
    tanh = staticmethod(sympy.tanh)

    sigmoid = staticmethod(lambda x: 1 / (1 + sympy.exp(-x)))
    step = staticmethod(lambda x: sympy.Heaviside(x, 0))
    sign = staticmethod(sympy.sign)
    ge = staticmethod(lambda a, b: sympy.Heaviside(a - b, 1))


MATH: dict[int, Any] = {
    FLOAT: FloatMath,
    ARRAY: ArrayMath,
    EXACT: ExactMath,
    EXACT_ARRAY: ExactArrayMath,
}

# ------------------------------------------------------------------ helpers for the table


def _same(fn: Callable[..., Any]) -> dict[int, Callable[..., Any]]:
    """One forward for every kind (Python operators work on floats, Fractions and arrays)."""
    return {FLOAT: fn, ARRAY: fn, EXACT: _exact_arith(fn), EXACT_ARRAY: fn}


def _unary(name: str) -> dict[int, Callable[..., Any]]:
    return {
        FLOAT: getattr(FloatMath, name),
        ARRAY: getattr(ArrayMath, name),
        EXACT: getattr(ExactMath, name),
        EXACT_ARRAY: getattr(ExactArrayMath, name),
    }


def fn(name: str, latex: str, symbol: str | None = None) -> Notation:
    return Notation("function", name, latex, 100, symbol or name)


def infix(text: str, latex: str, precedence: int) -> Notation:
    return Notation("infix", text, latex, precedence, text.strip())


# ------------------------------------------------------------------ leaves

register(
    Op(
        "input",
        0,
        {},
        Notation("atom", "", "", 100, ""),
        doc="A leaf: a value given by the user, differentiable.",
    )
)
register(
    Op(
        "const",
        0,
        {},
        Notation("atom", "", "", 100, ""),
        differentiable=False,
        doc="A constant written inside an expression: not differentiated.",
    )
)

# ------------------------------------------------------------------ arithmetic

register(
    Op(
        "add",
        2,
        _same(operator.add),
        infix(" + ", "{} + {}", 60),
        partials=(lambda M, x, y, p: 1, lambda M, x, y, p: 1),
        doc="a + b",
    )
)
register(
    Op(
        "sub",
        2,
        _same(operator.sub),
        Notation("infix", " − ", "{} - {}", 60, "−", grouping_right=True),
        partials=(lambda M, x, y, p: 1, lambda M, x, y, p: -1),
        doc="a − b",
    )
)
register(
    Op(
        "mul",
        2,
        _same(operator.mul),
        Notation("infix", " · ", "{} \\cdot {}", 70, "·", juxtapose=True),
        partials=(lambda M, x, y, p: x[1], lambda M, x, y, p: x[0]),
        doc="a · b",
    )
)
register(
    Op(
        "div",
        2,
        _same(operator.truediv),
        Notation("infix", " / ", "\\frac{{{}}}{{{}}}", 70, "/", grouping_right=True, fraction=True),
        partials=(lambda M, x, y, p: 1 / x[1], lambda M, x, y, p: -x[0] / x[1] ** 2),
        doc="a / b",
    )
)
register(
    Op(
        "neg",
        1,
        _same(operator.neg) | {EXACT: operator.neg},
        Notation("prefix", "−", "-", 80, "−"),
        partials=(lambda M, x, y, p: -1,),
        doc="−a",
    )
)


def _pow_float(a: float, b: float) -> float:
    r = a**b
    if isinstance(r, complex):
        raise DomainError(f"{a} raised to the power {b} is not a real number")
    return float(r)


register(
    Op(
        "pow",
        2,
        {
            FLOAT: _pow_float,
            ARRAY: np.power,
            EXACT: _exact_pow,
            EXACT_ARRAY: _ufunc(_exact_pow, 2),
        },
        Notation("power", "^", "{}^{{{}}}", 90, "^"),
        partials=(
            lambda M, x, y, p: x[1] * x[0] ** (x[1] - 1),
            lambda M, x, y, p: y * M.log(x[0]),
        ),
        doc="a to the power b (b may be a variable)",
    )
)

# ------------------------------------------------------------------ elementwise functions

register(Op("exp", 1, _unary("exp"), fn("exp", "\\exp"), partials=(lambda M, x, y, p: y,)))
register(Op("log", 1, _unary("log"), fn("log", "\\log"), partials=(lambda M, x, y, p: 1 / x[0],)))
register(
    Op(
        "sqrt",
        1,
        _unary("sqrt"),
        Notation("function", "√", "\\sqrt", 100, "√"),
        partials=(lambda M, x, y, p: 1 / (2 * y),),
    )
)
register(
    Op("sin", 1, _unary("sin"), fn("sin", "\\sin"), partials=(lambda M, x, y, p: M.cos(x[0]),))
)
register(
    Op("cos", 1, _unary("cos"), fn("cos", "\\cos"), partials=(lambda M, x, y, p: -M.sin(x[0]),))
)
register(
    Op(
        "tanh",
        1,
        _unary("tanh"),
        fn("tanh", "\\tanh"),
        partials=(lambda M, x, y, p: 1 - y**2,),
    )
)
register(
    Op(
        "sigmoid",
        1,
        _unary("sigmoid"),
        fn("σ", "\\sigma"),
        partials=(lambda M, x, y, p: y * (1 - y),),
        aliases=("σ",),
    )
)
register(
    Op(
        "step",
        1,
        _unary("step"),
        fn("step", "\\operatorname{step}"),
        partials=(lambda M, x, y, p: 0,),
        differentiable=False,
        doc="1 where a > 0, else 0 (the derivative of relu)",
    )
)
register(
    Op(
        "sign",
        1,
        _unary("sign"),
        fn("sign", "\\operatorname{sign}"),
        partials=(lambda M, x, y, p: 0,),
        differentiable=False,
    )
)
register(
    Op(
        "ge",
        2,
        _unary("ge"),
        fn("ge", "\\mathbb{1}"),
        partials=(lambda M, x, y, p: 0, lambda M, x, y, p: 0),
        differentiable=False,
        doc="1 where a ≥ b, else 0",
    )
)


def _relu(kind: int) -> Callable[[Any], Any]:
    step = MATH[kind].step
    return lambda a: a * step(a)


register(
    Op(
        "relu",
        1,
        {
            FLOAT: lambda a: a if a > 0 else 0.0,
            ARRAY: lambda a: np.maximum(a, 0),
            EXACT: lambda a: a if a > 0 else Fraction(0),
            EXACT_ARRAY: _relu(EXACT_ARRAY),
        },
        fn("relu", "\\operatorname{relu}"),
        partials=(lambda M, x, y, p: M.step(x[0]),),
    )
)
register(
    Op(
        "abs",
        1,
        {FLOAT: abs, ARRAY: np.abs, EXACT: abs, EXACT_ARRAY: np.abs},
        Notation("function", "|{}|", "\\left|{}\\right|", 100, "|·|"),
        partials=(lambda M, x, y, p: M.sign(x[0]),),
    )
)
register(
    Op(
        "softplus",
        1,
        {
            FLOAT: _softplus_float,
            ARRAY: _softplus_array,
            EXACT: _exact_fn(_exact_softplus, "softplus"),
            EXACT_ARRAY: _ufunc(_exact_fn(_exact_softplus, "softplus")),
        },
        fn("softplus", "\\operatorname{softplus}"),
        partials=(lambda M, x, y, p: M.sigmoid(x[0]),),
    )
)


def _max2(kind: int) -> Callable[[Any, Any], Any]:
    if kind in (ARRAY,):
        return np.maximum
    if kind == EXACT_ARRAY:
        return _ufunc(lambda a, b: a if a >= b else b, 2)
    return lambda a, b: a if a >= b else b


def _min2(kind: int) -> Callable[[Any, Any], Any]:
    if kind in (ARRAY,):
        return np.minimum
    if kind == EXACT_ARRAY:
        return _ufunc(lambda a, b: a if a <= b else b, 2)
    return lambda a, b: a if a <= b else b


register(
    Op(
        "maximum",
        2,
        {k: _max2(k) for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("max", "\\max"),
        partials=(lambda M, x, y, p: M.ge(x[0], x[1]), lambda M, x, y, p: 1 - M.ge(x[0], x[1])),
        doc="the larger of a and b (a tie sends the gradient to a)",
    )
)
register(
    Op(
        "minimum",
        2,
        {k: _min2(k) for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("min", "\\min"),
        partials=(lambda M, x, y, p: M.ge(x[1], x[0]), lambda M, x, y, p: 1 - M.ge(x[1], x[0])),
        doc="the smaller of a and b (a tie sends the gradient to a)",
    )
)

# ------------------------------------------------------------------ reductions and linear algebra


def _sum_all(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        r = a.sum()
        return r if a.dtype == object else float(r) if a.ndim else float(r)
    return a


def _mean_all(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        if a.dtype == object:
            return a.sum() / a.size
        return float(a.mean())
    return a


register(
    Op(
        "sum",
        1,
        {k: _sum_all for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("sum", "\\sum"),
        partials=(lambda M, x, y, p: M.ones_like(x[0]),),
        vjps=(lambda M, g, x, y, p: g * M.ones_like(x[0]),),
        elementwise=False,
        doc="the sum of all elements",
    )
)
register(
    Op(
        "mean",
        1,
        {k: _mean_all for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("mean", "\\operatorname{mean}"),
        partials=(lambda M, x, y, p: M.ones_like(x[0]) / M.size(x[0]),),
        vjps=(lambda M, g, x, y, p: g * M.ones_like(x[0]) / M.size(x[0]),),
        elementwise=False,
        doc="the mean of all elements",
    )
)


def _dot(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.ndim != 1 or b.ndim != 1:
            from .errors import ShapeError

            raise ShapeError(f"dot needs two vectors, got shapes {a.shape} and {b.shape}")
        if a.shape != b.shape:
            from .errors import ShapeError

            raise ShapeError(f"dot needs vectors of one length, got {a.shape[0]} and {b.shape[0]}")
        r = np.dot(a, b)
        return r if a.dtype == object and b.dtype == object else float(r)
    return a * b


register(
    Op(
        "dot",
        2,
        {k: _dot for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("dot", "\\operatorname{dot}"),
        partials=(lambda M, x, y, p: x[1], lambda M, x, y, p: x[0]),
        vjps=(lambda M, g, x, y, p: g * x[1], lambda M, g, x, y, p: g * x[0]),
        jvp=lambda M, x, y, t, p: _dot_t(t[0], x[1]) + _dot_t(x[0], t[1]),
        elementwise=False,
        doc="wᵀx: the inner product of two vectors",
    )
)


def _dot_t(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return 0.0
    return _dot(a, b)


def _matmul(a: Any, b: Any) -> Any:
    from .errors import ShapeError

    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise ShapeError("@ needs two arrays (vectors or matrices)")
    try:
        r = np.matmul(a, b)
    except ValueError as exc:
        raise ShapeError(f"@ cannot multiply shapes {a.shape} and {b.shape}") from exc
    if not isinstance(r, np.ndarray):
        return r if isinstance(r, (Fraction, sympy.Basic)) else float(r)
    if r.ndim == 0:
        return r.item() if r.dtype == object else float(r)
    return r


def _matmul_vjp_a(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    a, b = x
    if M.ndim(a) == 1 and M.ndim(b) == 1:
        return g * b
    if M.ndim(b) == 1:
        return M.outer(g, b)
    if M.ndim(a) == 1:
        return M.matmul(b, g)
    return M.matmul(g, _mT(M, b))


def _matmul_partial(i: int) -> Rule:
    """wᵀx: ∂(w @ x)/∂w = x and ∂(w @ x)/∂x = w; matrices have no readable local partial."""

    def rule(M: Any, x: Any, y: Any, p: Any) -> Any:
        if M.ndim(x[0]) == 1 and M.ndim(x[1]) == 1:
            return x[1 - i]
        return None

    return rule


def _mT(M: Any, a: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    return M.transpose(a) if M.ndim(a) == 2 else M.swap_last(a)


def _matmul_vjp_b(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    a, b = x
    if M.ndim(a) == 1 and M.ndim(b) == 1:
        return g * a
    if M.ndim(a) == 1:
        return M.outer(a, g)
    return M.matmul(_mT(M, a), g)


register(
    Op(
        "matmul",
        2,
        {k: _matmul for k in (ARRAY, EXACT_ARRAY, FLOAT, EXACT)},
        Notation(
            "infix", " @ ", "{} {}", 70, "@", grouping_right=True, latex_vectors="{}^{{\\top}} {}"
        ),
        partials=(_matmul_partial(0), _matmul_partial(1)),
        vjps=(_matmul_vjp_a, _matmul_vjp_b),
        jvp=lambda M, x, y, t, p: (
            (0 if t[0] is None else _matmul(t[0], x[1]))
            + (0 if t[1] is None else _matmul(x[0], t[1]))
        ),
        elementwise=False,
        doc="matrix product (a vector @ a vector is their inner product)",
    )
)


def _transpose(a: Any) -> Any:
    return np.transpose(a) if isinstance(a, np.ndarray) else a


register(
    Op(
        "transpose",
        1,
        {k: _transpose for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        Notation("postfix", "ᵀ", "{{{}}}^{{\\top}}", 95, "ᵀ"),
        vjps=(lambda M, g, x, y, p: M.transpose(g),),
        jvp=lambda M, x, y, t, p: _transpose(t[0]),
        elementwise=False,
        doc="aᵀ (harmless on a vector)",
    )
)


def _index(a: Any, index: Any = 0) -> Any:
    from .errors import ShapeError

    if not isinstance(a, np.ndarray):
        raise ShapeError("only vectors and matrices can be indexed")
    try:
        r = a[index]
    except IndexError as exc:
        raise ShapeError(f"index {index} is out of range for shape {a.shape}") from exc
    if isinstance(r, np.ndarray):
        return r
    return r if a.dtype == object else float(r)


def _basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None for i in parts)


def _index_vjp(M: Any, g: Any, x: Any, y: Any, p: Any) -> Any:
    a = x[0]
    out = (
        np.zeros_like(a)
        if not isinstance(a, np.ndarray) or a.dtype != object
        else (M.ones_like(a) * 0)
    )
    index = p["index"]
    if isinstance(a, np.ndarray) and a.dtype != object:
        if _basic_index(index):
            out[index] = g  # basic indexing picks each element at most once
        else:
            np.add.at(out, index, g)
    else:
        out[p["index"]] = out[p["index"]] + g
    return out


register(
    Op(
        "index",
        1,
        {k: _index for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        Notation("index", "[]", "{}_{{{}}}", 95, "[ ]"),
        vjps=(_index_vjp,),
        jvp=lambda M, x, y, t, p: _index(t[0], p["index"]),
        elementwise=False,
        doc="a[i]: one element (or a slice) of an array",
    )
)

# ------------------------------------------------------------------ losses


def _mse(a: Any, b: Any) -> Any:
    d = a - b
    if isinstance(d, np.ndarray):
        return _mean_all(d * d)
    return d * d


def _bce_float(p: Any, t: Any) -> Any:
    if isinstance(p, np.ndarray) or isinstance(t, np.ndarray):
        eps = 0.0
        pa = np.asarray(p, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = -(t * np.log(pa + eps) + (1 - t) * np.log(1 - pa + eps))
        return float(np.mean(v))
    if not 0 < p < 1:
        raise DomainError(
            f"binary cross-entropy needs a prediction strictly between 0 and 1, got {p}"
        )
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def _bce_exact(p: Any, t: Any) -> Any:
    if isinstance(p, Fraction) and not 0 < p < 1:
        raise DomainError(
            f"binary cross-entropy needs a prediction strictly between 0 and 1, got {p}"
        )
    ps, ts = to_sympy(p), to_sympy(t)
    return _check_exact(-(ts * sympy.log(ps) + (1 - ts) * sympy.log(1 - ps)), "bce")


def _bce_exact_array(p: Any, t: Any) -> Any:
    v = _ufunc(_bce_exact, 2)(p, t)
    return _check_exact(to_sympy(v.sum()) / v.size, "bce")


def _n(M: Any, x: Any) -> Any:
    return M.size(x[0] - x[1])


register(
    Op(
        "mse",
        2,
        {k: _mse for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("MSE", "\\operatorname{MSE}"),
        partials=(
            lambda M, x, y, p: 2 * (x[0] - x[1]) / _n(M, x),
            lambda M, x, y, p: -2 * (x[0] - x[1]) / _n(M, x),
        ),
        elementwise=False,
        doc="mean squared error: mean((ŷ − y)²); for scalars (ŷ − y)²",
    )
)
register(
    Op(
        "bce",
        2,
        {FLOAT: _bce_float, ARRAY: _bce_float, EXACT: _bce_exact, EXACT_ARRAY: _bce_exact_array},
        fn("BCE", "\\operatorname{BCE}"),
        partials=(
            lambda M, x, y, p: (x[0] - x[1]) / (x[0] * (1 - x[0])) / _n(M, x),
            lambda M, x, y, p: (M.log(1 - x[0]) - M.log(x[0])) / _n(M, x),
        ),
        elementwise=False,
        doc="binary cross-entropy −(y log p + (1 − y) log(1 − p)), averaged over elements",
    )
)


def lookup(name: str) -> Op | None:
    """The op a user-facing function name stands for (aliases included)."""
    if name in OPS:
        return OPS[name]
    for op in OPS.values():
        if name in op.aliases:
            return op
    return None
