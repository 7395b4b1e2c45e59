"""Kinds of value a node can hold, conversions between them, and how a value is shown.

A float program stays on plain Python floats (fast); exact programs keep rationals as
``fractions.Fraction`` and move to sympy only when a result is irrational; arrays are numpy.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

import numpy as np

from . import precision_lock  # noqa: F401 - exact numbers evaluated in threads stay right
from .errors import DomainError, ValueInputError
from .lazy import is_sympy, sympy

FLOAT = 0
EXACT = 1
ARRAY = 2
EXACT_ARRAY = 3


def kind_of(value: Any) -> int:
    """The kind of a raw value (float, exact scalar, array, exact array)."""
    cls = value.__class__
    if cls is float:
        return FLOAT
    if cls is Fraction or is_sympy(value):
        return EXACT
    if cls is np.ndarray:
        return EXACT_ARRAY if value.dtype == object else ARRAY
    if cls is int or cls is bool:
        return FLOAT
    if isinstance(value, (np.floating, np.integer)):
        return FLOAT
    raise ValueInputError(f"cannot use a value of type {cls.__name__} here")


def normalize(value: Any, exact: bool = False) -> Any:
    """Bring a user value to the form a node stores: float, Fraction/sympy, or ndarray."""
    if isinstance(value, str):
        value = read_value(value)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (list, tuple)):
        try:
            obj: np.ndarray[Any, Any] = np.array(value, dtype=object)
            flat = obj.reshape(-1).tolist()
            if exact:
                arr = np.empty(obj.shape, dtype=object)
                arr.reshape(-1)[:] = [to_exact(v) for v in flat]
                return arr
            return np.array([user_float(v) for v in flat], dtype=np.float64).reshape(obj.shape)
        except (TypeError, ValueError) as exc:
            raise ValueInputError(f"cannot read {value!r} as an array of numbers") from exc
    if isinstance(value, np.ndarray):
        if exact and value.dtype != object:
            arr = np.empty(value.shape, dtype=object)
            arr.reshape(-1)[:] = [to_exact(v) for v in value.reshape(-1).tolist()]
            return arr
        if value.dtype.kind in "iub":
            return value.astype(np.float64)
        return value
    if exact:
        return to_exact(value)
    if isinstance(value, (Fraction, int, np.integer, np.floating)) or is_sympy(value):
        return user_float(value)
    if isinstance(value, float):
        return value
    raise ValueInputError(f"cannot use a value of type {type(value).__name__} as a number")


def user_float(value: Any) -> float:
    """A number given by the user as a float, with a clear error past the float range."""
    try:
        return float(value)
    except OverflowError:
        raise ValueInputError(
            f"{decimal_text(value)} is beyond the range of a float (about ±1.8e308); "
            "use --exact to keep it exact"
        ) from None


def decimal_text(value: Any) -> str:
    """A short text of a huge exact number (its order of magnitude, not its 400 digits)."""
    if isinstance(value, Fraction) and value:
        n = len(str(abs(value.numerator))) - len(str(value.denominator))
        return f"{'-' if value < 0 else ''}≈1e{n}"
    return str(value)[:40]


def to_exact(value: Any) -> Any:
    """An exact scalar: Fraction for rationals (floats are read by their shortest decimal form)."""
    if isinstance(value, Fraction):
        return value
    if is_sympy(value):
        return from_sympy(value)
    if isinstance(value, (bool, int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueInputError(f"{value} has no exact form")
        return Fraction(repr(float(value)))
    if isinstance(value, str):
        return to_exact(read_value(value))
    raise ValueInputError(f"cannot make {value!r} exact")


def to_float(value: Any) -> Any:
    """The float (or float array) nearest to a value of any kind."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return np.array([_float(v) for v in value.reshape(-1)], dtype=np.float64).reshape(
                value.shape
            )
        return value
    return _float(value)


def _float(value: Any) -> float:
    if not is_sympy(value):
        try:
            return float(value)
        except OverflowError:  # an exact number past the float range: 15 / 5e-324
            return math.inf if value > 0 else -math.inf
    try:
        f = float(value)  # sympy evaluates with 15 digits
    except ArithmeticError:
        return float(evalf(value, 17))
    return float(evalf(value, 17)) if f == 0.0 and not value.is_zero else f


EVALF_MAX_DIGITS = 3000  # working precision sympy may reach for where terms cancel


def sign_of(x: Any) -> int:
    """−1, 0 or 1: the sign of an exact number. sympy decides most signs from the expression;
    where terms cancel (999 − log(e^999 + e^(1/2) + e^−10) ≈ −2e−434) it is decided from enough
    digits, and only a number sympy cannot tell from 0 at thousands of digits counts as 0."""
    if not is_sympy(x):
        return 1 if x > 0 else (-1 if x < 0 else 0)
    if x.is_zero:
        return 0
    if x.is_extended_positive:
        return 1
    if x.is_extended_negative:
        return -1
    n = evalf(x, 5)
    return 1 if bool(n > 0) else (-1 if bool(n < 0) else 0)


def evalf(value: sympy.Basic, digits: int) -> sympy.Basic:
    """``sympy.N(value, digits)``, at a higher working precision where sympy's own loses a
    tiny term: log(1 + e^−77) came out as log 1 = 0, and its reciprocal as a division by zero."""
    last = None
    for extra in (0, 60, 300):
        try:
            n = sympy.N(value, digits + extra, maxn=EVALF_MAX_DIGITS)
        except ArithmeticError:
            continue
        if n != 0 or value.is_zero:
            return n
        last = n  # 0 from a number sympy cannot call zero: try again with more digits
    if last is not None:
        return last
    raise DomainError(f"{value} cannot be evaluated to {digits} digits")


def to_sympy(value: Any) -> sympy.Expr:
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if is_sympy(value):
        return value
    if isinstance(value, float):
        return sympy.Float(value)
    return sympy.sympify(int(value))


def from_sympy(expr: Any) -> Any:
    """Back to Fraction when sympy found a rational; otherwise keep the sympy expression."""
    if isinstance(expr, sympy.Rational):
        return Fraction(int(expr.p), int(expr.q))
    if is_sympy(expr) and expr.is_number:
        return expr
    return expr


def convert(value: Any, kind: int) -> Any:
    """Convert a value to the representation used by ``kind`` (for mixed-kind operations)."""
    k = kind_of(value)
    if k == kind:
        return value
    if kind == FLOAT:
        return to_float(value)
    if kind == ARRAY:
        return to_float(value) if k in (EXACT, EXACT_ARRAY) else value
    if kind == EXACT_ARRAY:
        return value  # exact scalars broadcast against object arrays as they are
    if kind == EXACT:
        return value
    return value


def combine_kinds(kinds: list[int]) -> int:
    """The kind of an operation's result from the kinds of its inputs."""
    has_array = ARRAY in kinds or EXACT_ARRAY in kinds
    all_exact = all(k in (EXACT, EXACT_ARRAY) for k in kinds)
    if has_array:
        return EXACT_ARRAY if all_exact else ARRAY
    return EXACT if all_exact else FLOAT


def read_value(text: str) -> Any:
    """Read a number as people write it: 3, -0.25, 4/5, 1e-3, [1, 1], [[1, 2], [3, 4]].

    Numbers come back exact (Fraction) so that the caller can choose float or exact."""
    s = text.strip()
    if not s:
        raise ValueInputError("empty value")
    if s.startswith("["):
        if not s.endswith("]"):
            raise ValueInputError(f"cannot read {text!r}: a vector must end with ']'")
        return _read_nested(s)
    return _read_scalar(s, text)


# Numbers people write stay far inside these bounds; past them a decimal would take gigabytes.
MAX_EXPONENT = 400
MAX_DIGITS = 1000
_EXPONENT = re.compile(r"[eE]\s*([+-]?\d+)")


def _read_scalar(s: str, original: str) -> Fraction:
    if len(s) > MAX_DIGITS:
        raise ValueInputError(
            f"{original[:40]!r}… is too long to be a number (over {MAX_DIGITS} characters)"
        )
    for m in _EXPONENT.finditer(s):
        if abs(int(m.group(1))) > MAX_EXPONENT:
            raise ValueInputError(
                f"cannot read {original!r}: exponents beyond ±{MAX_EXPONENT} are out of range "
                "(a float reaches about 1.8e308)"
            )
    try:
        if "/" in s:
            num, den = s.split("/", 1)
            value = Fraction(num.strip()) / Fraction(den.strip())
        else:
            value = Fraction(s)
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueInputError(
            f"cannot read {original!r} as a number (use 3, -0.25, 4/5, 1e-3 or [1, 1])"
        ) from exc
    return value


def _read_nested(s: str) -> list[Any]:
    """Read [..] lists of numbers without eval: a small bracket scanner."""
    stack: list[list[Any]] = []
    token = ""
    result: list[Any] | None = None
    for ch in s:
        if ch == "[":
            stack.append([])
        elif ch in ",]":
            if token.strip():
                if not stack:
                    raise ValueInputError(f"cannot read {s!r}: unbalanced brackets")
                stack[-1].append(_read_scalar(token.strip(), s))
            token = ""
            if ch == "]":
                if not stack:
                    raise ValueInputError(f"cannot read {s!r}: unbalanced brackets")
                done = stack.pop()
                if not done:
                    raise ValueInputError(f"cannot read {s!r}: an empty vector has no value")
                if stack:
                    stack[-1].append(done)
                else:
                    result = done
        elif result is not None and not ch.isspace():
            raise ValueInputError(f"cannot read {s!r}: text after the closing bracket")
        else:
            token += ch
    if stack or result is None:
        raise ValueInputError(f"cannot read {s!r}: unbalanced brackets")
    return result


# ---------------------------------------------------------------- display


def decimal(value: Any, digits: int = 6) -> str:
    """A value as a decimal with ``digits`` significant digits (arrays as nested lists)."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return decimal(value.item(), digits)
        return "[" + ", ".join(decimal(v, digits) for v in value) + "]"
    if isinstance(value, Fraction) or is_sympy(value):
        exact = value
        try:
            value = float(evalf(value, digits + 10)) if is_sympy(value) else float(value)
        except (OverflowError, TypeError):
            return _huge_decimal(exact, digits)
        if math.isinf(value) or (value == 0 and exact != 0):  # past the float range: e^2000
            return _huge_decimal(exact, digits)
    return format_float(float(value), digits)


def _huge_decimal(value: Any, digits: int) -> str:
    """An exact number past the float range, in scientific notation from sympy's own digits."""
    text = str(evalf(to_sympy(value), digits))
    if "e" not in text.lower():
        return text
    mant, exp = text.lower().split("e")
    mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
    return f"{mant}e{int(exp)}"


def format_float(x: float, digits: int = 6) -> str:
    if x != x:
        return "nan"
    if x in (math.inf, -math.inf):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant}e{int(exp)}"
    return text


def is_exact(value: Any) -> bool:
    """An exact value: a Fraction, a sympy number, or an exact (object) array."""
    if isinstance(value, np.ndarray):
        return bool(value.dtype == object)
    return isinstance(value, Fraction) or is_sympy(value)


def is_rational(value: Any) -> bool:
    """A rational value: a Fraction, or an exact array of Fractions."""
    if isinstance(value, np.ndarray):
        return bool(value.dtype == object) and all(
            isinstance(v, Fraction) for v in value.reshape(-1)
        )
    return isinstance(value, Fraction)


def fraction_text(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def plain(value: Any) -> Any:
    """A JSON-friendly plain value: float, or nested lists of floats."""
    if isinstance(value, np.ndarray):
        return to_float(value).tolist()
    return _float(value)
