"""The scalar family of the op table: leaves, arithmetic and the elementwise functions.

Each entry is the op's one home: its forward for every kind of number, its local partials
against the backend protocol, its notation and every other form (PyTorch, JavaScript, kink
convention); ``table.py`` holds the machinery and says what a rule is."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.backends import (
    ArrayMath,
    ExactArrayMath,
    ExactMath,
    FloatMath,
    check_exact,
    exact_fn,
    exact_softplus,
    softplus_array,
    softplus_float,
    ufunc,
)
from ..core.errors import DomainError
from ..core.lazy import function as lazy_function
from ..core.lazy import sympy
from ..core.values import ARRAY, EXACT, EXACT_ARRAY, FLOAT, sign_of
from . import kernels
from .table import (
    MATH,
    NONNEGATIVE,
    NONZERO,
    POSITIVE,
    REALS,
    Decline,
    Domain,
    Kink,
    Notation,
    Op,
    Planned,
    Torch,
    fn,
    infix,
    real_domain,
    registrar,
    torch_same,
)

register = registrar("scalar")

# ------------------------------------------------------------------ helpers for the table


def _exact_arith(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def f(a: Any, b: Any) -> Any:
        return check_exact(fn(a, b), "the result")

    return f


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


# ------------------------------------------------------------------ leaves

register(
    Op(
        "input",
        0,
        {},
        Notation("atom", "", "", 100, ""),
        doc="A leaf: a value given by the user, differentiable.",
        in_programs=False,
        domain=Domain("a leaf: any value given (a number, an array, an exact number)"),
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
        in_programs=False,
        domain=Domain("any value written in the program"),
    )
)

# ------------------------------------------------------------------ arithmetic


def _no_alpha(a: Any, b: Any, alpha: Any = 1) -> tuple[tuple[Any, ...], None]:
    """``aten.add(a, b, alpha=1)`` is a + b; another alpha is a composite (torch_bridge.aten)."""
    if alpha != 1:
        raise Decline
    return (a, b), None


register(
    Op(
        "add",
        2,
        _same(operator.add),
        infix(" + ", "{} + {}", 60),
        partials=(lambda M, x, y, p: 1, lambda M, x, y, p: 1),
        doc="a + b",
        torch=Torch(lambda t, x, p: x[0] + x[1], ("aten.add.Tensor", "aten.add.Scalar"), _no_alpha),
        domain=real_domain(REALS, REALS),
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
        torch=Torch(lambda t, x, p: x[0] - x[1], ("aten.sub.Tensor", "aten.sub.Scalar"), _no_alpha),
        domain=real_domain(REALS, REALS),
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
        torch=Torch(lambda t, x, p: x[0] * x[1], ("aten.mul.Tensor", "aten.mul.Scalar")),
        domain=real_domain(REALS, REALS),
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
        torch=Torch(lambda t, x, p: x[0] / x[1], ("aten.div.Tensor", "aten.div.Scalar")),
        domain=real_domain(REALS, NONZERO),
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
        torch=Torch(lambda t, x, p: -x[0], ("aten.neg.default",)),
        domain=real_domain(REALS),
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
            EXACT: ExactMath.power,
            EXACT_ARRAY: ExactArrayMath.power,
        },
        Notation("power", "^", "{}^{{{}}}", 90, "^"),
        partials=(
            lambda M, x, y, p: x[1] * M.power(x[0], M.exponent_less_one(x[1])),
            lambda M, x, y, p: y * M.log(x[0]),
        ),
        doc="a to the power b (b may be a variable)",
        aliases=("power",),
        torch=Torch(
            lambda t, x, p: x[0] ** x[1], ("aten.pow.Tensor_Scalar", "aten.pow.Tensor_Tensor")
        ),
        api="power",
        domain=Domain(
            "x > 0 with any y; x = 0 with y ≥ 0 (0⁰ = 1); x < 0 with a whole y. The derivative "
            "in y needs x > 0 (it is xʸ log x), the one in x at x = 0 needs y = 0 or y ≥ 1"
        ),
    )
)

# ------------------------------------------------------------------ elementwise functions


def _sympy_fn(
    f: Callable[[Any], Any], what: str, domain: Callable[[Any], bool] | None = None
) -> dict[int, Callable[..., Any]]:
    """The exact forwards of a function sympy knows (a number, and elementwise on arrays)."""
    one = exact_fn(f, what, domain)
    return {EXACT: one, EXACT_ARRAY: ufunc(one)}


def _math(name: str) -> Callable[[Any, tuple[Any, ...], Any], Any]:
    """The JavaScript form of a function of JavaScript's ``Math``."""
    return lambda M, x, p: M.call(f"Math.{name}", *x)


register(
    Op(
        "exp",
        1,
        _unary("exp"),
        fn("exp", "\\exp"),
        partials=(lambda M, x, y, p: y,),
        torch=torch_same("exp"),
        domain=real_domain(REALS, note="a float overflows to ∞ above x ≈ 709.78"),
    )
)
register(
    Op(
        "log",
        1,
        _unary("log"),
        fn("log", "\\log"),
        partials=(lambda M, x, y, p: 1 / x[0],),
        aliases=("ln",),
        torch=torch_same("log"),
        domain=real_domain(POSITIVE),
    )
)
register(
    Op(
        "sqrt",
        1,
        _unary("sqrt"),
        Notation("function", "√", "\\sqrt", 100, "√"),
        partials=(lambda M, x, y, p: 1 / (2 * y),),
        torch=torch_same("sqrt"),
        domain=real_domain(NONNEGATIVE, derivative=(POSITIVE,)),
    )
)
register(
    Op(
        "sin",
        1,
        _unary("sin"),
        fn("sin", "\\sin"),
        partials=(lambda M, x, y, p: M.cos(x[0]),),
        torch=torch_same("sin"),
        domain=real_domain(REALS),
    )
)
register(
    Op(
        "cos",
        1,
        _unary("cos"),
        fn("cos", "\\cos"),
        partials=(lambda M, x, y, p: -M.sin(x[0]),),
        torch=torch_same("cos"),
        domain=real_domain(REALS),
    )
)
register(
    Op(
        "tan",
        1,
        {FLOAT: math.tan, ARRAY: np.tan, **_sympy_fn(lazy_function("tan"), "tan")},
        fn("tan", "\\tan"),
        partials=(lambda M, x, y, p: 1 + y * y,),
        js=_math("tan"),
        torch=torch_same("tan"),
        domain=real_domain(REALS, note="but π/2 + kπ, which no float or fraction equals"),
    )
)
register(
    Op(
        "atan",
        1,
        {FLOAT: math.atan, ARRAY: np.arctan, **_sympy_fn(lazy_function("atan"), "atan")},
        fn("atan", "\\arctan"),
        partials=(lambda M, x, y, p: 1 / (1 + x[0] ** 2),),
        doc="the angle whose tangent is a",
        js=_math("atan"),
        torch=torch_same("atan"),
        domain=real_domain(REALS),
    )
)
register(
    Op(
        "sinh",
        1,
        {FLOAT: math.sinh, ARRAY: np.sinh, **_sympy_fn(lazy_function("sinh"), "sinh")},
        fn("sinh", "\\sinh"),
        partials=(lambda M, x, y, p: (M.exp(x[0]) + M.exp(-x[0])) / 2,),
        js=_math("sinh"),
        torch=torch_same("sinh"),
        domain=real_domain(REALS, note="a float overflows beyond |x| ≈ 710.48"),
    )
)
register(
    Op(
        "cosh",
        1,
        {FLOAT: math.cosh, ARRAY: np.cosh, **_sympy_fn(lazy_function("cosh"), "cosh")},
        fn("cosh", "\\cosh"),
        partials=(lambda M, x, y, p: (M.exp(x[0]) - M.exp(-x[0])) / 2,),
        js=_math("cosh"),
        torch=torch_same("cosh"),
        domain=real_domain(REALS, note="a float overflows beyond |x| ≈ 710.48"),
    )
)
register(
    Op(
        "asinh",
        1,
        {FLOAT: math.asinh, ARRAY: np.arcsinh, **_sympy_fn(lazy_function("asinh"), "asinh")},
        fn("asinh", "\\operatorname{arsinh}"),
        partials=(lambda M, x, y, p: 1 / M.sqrt(1 + x[0] * x[0]),),
        doc="the inverse of sinh: log(a + √(a² + 1))",
        js=_math("asinh"),
        torch=torch_same("asinh"),
        domain=real_domain(REALS),
    )
)
register(
    Op(
        "log10",
        1,
        {
            FLOAT: math.log10,
            ARRAY: np.log10,
            **_sympy_fn(lambda a: sympy.log(a, 10), "log10", lambda a: a > 0),
        },
        fn("log10", "\\log_{10}", "log₁₀"),
        partials=(lambda M, x, y, p: 1 / (x[0] * M.log(10)),),
        doc="the logarithm to base 10",
        js=_math("log10"),
        torch=torch_same("log10"),
        domain=real_domain(POSITIVE),
    )
)
register(
    Op(
        "log2",
        1,
        {
            FLOAT: math.log2,
            ARRAY: np.log2,
            **_sympy_fn(lambda a: sympy.log(a, 2), "log2", lambda a: a > 0),
        },
        fn("log2", "\\log_{2}", "log₂"),
        partials=(lambda M, x, y, p: 1 / (x[0] * M.log(2)),),
        doc="the logarithm to base 2",
        js=_math("log2"),
        torch=torch_same("log2"),
        domain=real_domain(POSITIVE),
    )
)
register(
    Op(
        "tanh",
        1,
        _unary("tanh"),
        fn("tanh", "\\tanh"),
        partials=(lambda M, x, y, p: 1 - y**2,),
        torch=torch_same("tanh"),
        domain=real_domain(REALS),
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
        js_function="x => x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))",
        torch=torch_same("sigmoid"),
        domain=real_domain(REALS),
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
        torch=Torch(lambda t, x, p: (x[0] > 0).to(x[0].dtype)),
        domain=real_domain(REALS, note="not differentiated"),
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
        torch=Torch(lambda t, x, p: t.sign(x[0]).detach()),
        domain=real_domain(REALS, note="not differentiated"),
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
        torch=Torch(lambda t, x, p: (x[0] >= x[1]).to(x[0].dtype)),
        domain=real_domain(REALS, REALS, note="not differentiated"),
    )
)


def _relu(kind: int) -> Callable[[Any], Any]:
    step = MATH[kind].step
    return lambda a: a * step(a)


def _any_equal(a: Any, b: Any) -> bool:
    return bool(np.any(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))


register(
    Op(
        "relu",
        1,
        {
            FLOAT: lambda a: a if a > 0 else 0.0,
            ARRAY: lambda a: np.maximum(a, 0),
            EXACT: lambda a: a if sign_of(a) > 0 else Fraction(0),
            EXACT_ARRAY: _relu(EXACT_ARRAY),
        },
        fn("relu", "\\operatorname{relu}"),
        partials=(lambda M, x, y, p: M.step(x[0]),),
        js=lambda M, x, p: M.where(M.step(x[0]), x[0], 0.0),
        torch=torch_same("relu"),
        planned=Planned(kernels.relu_forward, kernels.relu_reverse),
        kink=Kink("relu′(0) = 0 (the derivative from the left)", lambda v, p: _any_equal(v[0], 0)),
        domain=real_domain(REALS, note="at 0 the kink convention gives the slope"),
    )
)
register(
    Op(
        "abs",
        1,
        {FLOAT: abs, ARRAY: np.abs, EXACT: abs, EXACT_ARRAY: np.abs},
        Notation("function", "|{}|", "\\left|{}\\right|", 100, "|·|"),
        partials=(lambda M, x, y, p: M.sign(x[0]),),
        torch=torch_same("abs"),
        kink=Kink(
            "|·|′(0) = 0 (the subgradient in the middle of [−1, 1])",
            lambda v, p: _any_equal(v[0], 0),
        ),
        domain=real_domain(REALS, note="at 0 the kink convention gives the slope"),
    )
)
register(
    Op(
        "softplus",
        1,
        {
            FLOAT: softplus_float,
            ARRAY: softplus_array,
            **_sympy_fn(exact_softplus, "softplus"),
        },
        fn("softplus", "\\operatorname{softplus}"),
        partials=(lambda M, x, y, p: M.sigmoid(x[0]),),
        js=lambda M, x, p: M.call("cr.softplus", *x),
        js_function="x => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))",
        torch=Torch(
            lambda t, x, p: t.nn.functional.softplus(x[0]),
            ("aten.softplus.default",),
            lambda a, beta=1, threshold=20: _softplus_read(a, beta, threshold),
        ),
        domain=real_domain(REALS),
    )
)


def _softplus_read(a: Any, beta: Any, threshold: Any) -> tuple[tuple[Any, ...], None]:
    """PyTorch's softplus with β = 1, where no element passes its threshold (beyond it PyTorch
    returns x itself, which differs from log(1 + eˣ) in the tenth digit at 20)."""
    if beta != 1 or np.any(np.asarray(getattr(a, "value", a), dtype=float) > threshold):
        raise Decline
    return (a,), None


def _read_untied(a: Any, b: Any) -> tuple[tuple[Any, ...], None]:
    """``torch.maximum``/``minimum`` where no two elements tie: at a tie PyTorch splits the
    gradient, where this op sends it to the first argument (the call stays opaque there)."""
    va = np.asarray(getattr(a, "value", a), dtype=float)
    vb = np.asarray(getattr(b, "value", b), dtype=float)
    if np.any(va == vb):
        raise Decline
    return (a, b), None


def _max2(kind: int) -> Callable[[Any, Any], Any]:
    if kind in (ARRAY,):
        return np.maximum
    if kind == EXACT_ARRAY:
        return ufunc(lambda a, b: a if a >= b else b, 2)
    return lambda a, b: a if a >= b else b


def _min2(kind: int) -> Callable[[Any, Any], Any]:
    if kind in (ARRAY,):
        return np.minimum
    if kind == EXACT_ARRAY:
        return ufunc(lambda a, b: a if a <= b else b, 2)
    return lambda a, b: a if a <= b else b


register(
    Op(
        "maximum",
        2,
        {k: _max2(k) for k in (FLOAT, ARRAY, EXACT, EXACT_ARRAY)},
        fn("max", "\\max"),
        partials=(lambda M, x, y, p: M.ge(x[0], x[1]), lambda M, x, y, p: 1 - M.ge(x[0], x[1])),
        doc="the larger of a and b (a tie sends the gradient to a)",
        aliases=("max",),
        js=lambda M, x, p: M.where(M.ge(x[0], x[1]), x[0], x[1]),
        torch=Torch(lambda t, x, p: t.maximum(x[0], x[1]), ("aten.maximum.default",), _read_untied),
        kink=Kink(
            "a tie max(a, a) sends the whole gradient to the first argument",
            lambda v, p: _any_equal(v[0], v[1]),
        ),
        domain=real_domain(REALS, REALS, note="a tie follows the kink convention"),
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
        aliases=("min",),
        js=lambda M, x, p: M.where(M.ge(x[1], x[0]), x[0], x[1]),
        torch=Torch(lambda t, x, p: t.minimum(x[0], x[1]), ("aten.minimum.default",), _read_untied),
        kink=Kink(
            "a tie min(a, a) sends the whole gradient to the first argument",
            lambda v, p: _any_equal(v[0], v[1]),
        ),
        domain=real_domain(REALS, REALS, note="a tie follows the kink convention"),
    )
)
