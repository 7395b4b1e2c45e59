"""Kinds of value a node can hold, conversions between them, and how a value is shown.

A float program stays on plain Python floats (fast); exact programs keep rationals as
``fractions.Fraction`` and move to sympy only when a result is irrational; arrays are numpy.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal as PyDecimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from . import precision_lock  # noqa: F401 - exact numbers evaluated in threads stay right
from .errors import DomainError, ValueInputError
from .lazy import is_sympy, load_sympy, sympy

if TYPE_CHECKING:
    import mpmath
else:

    class _Mpmath:
        """mpmath, imported (after sympy, which locks its precision scopes for threads) the
        first time an exact number is evaluated: float programs never import it."""

        __slots__ = ()

        def __getattr__(self, name: str) -> Any:
            load_sympy()
            import mpmath as module  # mpmath comes with sympy, loaded on first use

            return getattr(module, name)

    mpmath = _Mpmath()

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
        if value.dtype.kind not in "fO":  # complex, text, dates: no real number to hold
            raise ValueInputError(
                f"an array of dtype {value.dtype} cannot be a value: chainrule computes with "
                "real numbers (pass a float or integer array; of complex z, z.real or abs(z))"
            )
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
    if isinstance(value, int) and not isinstance(value, bool):
        value = Fraction(value)
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
    if value.is_Rational:
        return _float(Fraction(int(value.p), int(value.q)))
    # sympy's own float() works at 15 digits and reads cancellation as digits
    # (atan(10³⁰⁰) − π/2 came out 2.4e−125): the estimate below keeps only what is known
    est = estimate(value, 17)
    try:
        return float(est.mid)
    except OverflowError:
        return math.inf if est.mid > 0 else -math.inf


EVALF_MAX_DIGITS = 3000  # working precision reached for where terms cancel


class Estimate:
    """A real number evaluated from an exact expression: ``mid`` (an mpmath number) within
    ``err`` of the true value (an estimate: the change between two working precisions, the
    second several times the first). ``known`` is how many significant digits of ``mid``
    are right: 0 where the digits could not be told from rounding (an expression that is 0
    but that sympy cannot prove so, such as cos(x)² + sin(x)² − 1), and the digits asked for
    where the two precisions agreed on them."""

    __slots__ = ("mid", "err", "known")

    def __init__(self, mid: Any, err: Any, known: int) -> None:
        self.mid, self.err, self.known = mid, err, known

    def bound(self) -> Any:
        """An upper bound of the true value's size."""
        return abs(self.mid) + self.err


_FUNCS: dict[type, Any] = {}


def _mp_funcs() -> dict[type, Any]:
    if not _FUNCS:
        mp = mpmath.mp
        f = sympy.functions
        _FUNCS.update(
            {
                f.exp: mp.exp,
                f.log: mp.log,
                f.sin: mp.sin,
                f.cos: mp.cos,
                f.tan: mp.tan,
                f.atan: mp.atan,
                f.asin: mp.asin,
                f.acos: mp.acos,
                f.sinh: mp.sinh,
                f.cosh: mp.cosh,
                f.tanh: mp.tanh,
                f.erf: mp.erf,
                f.Abs: mp.fabs,
                f.sign: mp.sign,
            }
        )
    return _FUNCS


def _mp_value(expr: sympy.Basic, dps: int) -> tuple[Any, Any]:
    """``expr`` in mpmath at ``dps`` digits, each shared sub-expression once (sympy's own
    evaluation walks the expression as a tree: the gradient of a 4-element softmax took 29 s,
    all of it re-evaluating the same exponentials), and the size of the largest intermediate
    value. An explicit stack: no recursion."""
    funcs = _mp_funcs()
    mp = mpmath.mp
    memo: dict[int, Any] = {}
    scale = mp.mpf(0)  # the largest intermediate, whose rounding bounds what cancels
    keep: list[Any] = []  # keeps every node alive while its id is a key
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    with mpmath.workdps(dps):
        while stack:
            node, ready = stack.pop()
            key = id(node)
            if key in memo:
                continue
            args = node.args
            if not ready and args and not node.is_Rational:
                stack.append((node, True))
                stack.extend((a, False) for a in args if id(a) not in memo)
                continue
            keep.append(node)
            memo[key] = r = _mp_node(node, [memo[id(a)] for a in args], funcs, mp, dps)
            scale = max(scale, abs(r))
    return memo[id(expr)], scale


def _mp_node(node: sympy.Basic, args: list[Any], funcs: dict, mp: Any, dps: int) -> Any:
    if node.is_Rational:
        return mp.mpf(int(node.p)) / int(node.q) if node.q != 1 else mp.mpf(int(node.p))
    if node.is_Float:
        return mp.mpf(node._mpf_)
    if node is sympy.pi:
        return +mp.pi
    if node is sympy.E:
        return +mp.e
    if node.is_Add:
        return mp.fsum(args)
    if node.is_Mul:
        return mp.fprod(args)
    if node.is_Pow:
        b, e = args
        if node.exp == sympy.Rational(1, 2):
            r = mp.sqrt(b)
        elif node.exp.is_Integer:
            r = b ** int(node.exp)
        else:
            r = mp.power(b, e)
        if isinstance(r, mpmath.mpc):
            raise DomainError(f"{node} is not a real number")
        return r
    fn = funcs.get(type(node))
    if fn is not None:
        r = fn(*args)
        if isinstance(r, mpmath.mpc):
            raise DomainError(f"{node} is not a real number")
        return r
    # anything else (an op this table has not met): sympy's own evaluation of this node
    n = sympy.N(node, dps)
    if not n.is_Float and not n.is_Rational:
        raise DomainError(f"{node} cannot be evaluated as a real number")
    return mp.mpf(n._mpf_) if n.is_Float else mp.mpf(int(n.p)) / int(n.q)


def estimate(value: sympy.Basic, digits: int) -> Estimate:
    """``value`` to ``digits`` significant digits, at the working precision its cancellation
    needs: evaluated at increasing precisions (×4 each time, up to ``EVALF_MAX_DIGITS``) until
    two successive evaluations agree on the digits asked for. Where even the highest
    precision does not settle them (a value that is exactly 0 without sympy knowing it), the
    estimate says how many digits are known, possibly none, and how small the value is."""
    dps = digits + 15
    prev = None
    while True:
        try:
            cur, scale = _mp_value(value, dps)
        except (ZeroDivisionError, ValueError) as exc:
            # a tiny term lost at this precision (8 / log(1 + e^−77) divides by log 1 = 0)
            if dps >= EVALF_MAX_DIGITS:
                raise DomainError(f"{value} cannot be evaluated to {digits} digits") from exc
            prev, dps = None, min(dps * 4, EVALF_MAX_DIGITS)
            continue
        with mpmath.workdps(dps):
            size = abs(cur)
            err = abs(cur - prev) if prev is not None else size
            if prev is not None and size > 0 and err <= size * mpmath.mpf(10) ** (-(digits + 2)):
                return Estimate(cur, err, digits)
            if err == 0:  # 0 at both precisions: what rounding can leave of terms that cancel
                err = max(scale, 1) * mpmath.mpf(10) ** (5 - dps)
        if dps >= EVALF_MAX_DIGITS:
            known = 0
            if size > err:
                with mpmath.workdps(dps):
                    known = max(int(mpmath.floor(mpmath.log10(size / err))) - 1, 0)
            return Estimate(cur, err, min(known, digits))
        prev = cur
        dps = min(dps * 4, EVALF_MAX_DIGITS)


def sign_of(x: Any) -> int:
    """−1, 0 or 1: the sign of an exact number. sympy decides most signs from the expression;
    where terms cancel (999 − log(e^999 + e^(1/2) + e^−10) ≈ −2e−434) it is decided from enough
    digits, and only a number that cannot be told from 0 at thousands of digits counts as 0."""
    if not is_sympy(x):
        return 1 if x > 0 else (-1 if x < 0 else 0)
    if x.is_zero:
        return 0
    if x.is_extended_positive:
        return 1
    if x.is_extended_negative:
        return -1
    est = estimate(x, 2)
    if est.known == 0:
        return 0
    return 1 if est.mid > 0 else -1


def evalf(value: sympy.Basic, digits: int) -> sympy.Basic:
    """``value`` as a sympy Float of ``digits`` digits, evaluated at the precision its
    cancellation needs (``estimate``): sympy's own evaluation lost a tiny term (log(1 + e^−77)
    came out as log 1 = 0) or read cancellation as digits (atan(10³⁰⁰) − π/2 as 2e−125)."""
    if is_sympy(value) and value.is_Rational:
        return sympy.Float(value, digits)
    est = estimate(to_sympy(value), digits)
    with mpmath.workdps(digits + 5):
        return sympy.Float(+est.mid, digits)


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
    """Read [..] lists of numbers without eval: a small bracket scanner. Every element must
    be there: [1,,2], [,1] and [1,] are refused with the column of the missing element."""
    stack: list[list[Any]] = []
    token = ""
    result: list[Any] | None = None
    item = False  # an element since the last '[' or ','
    for col, ch in enumerate(s, 1):
        if ch == "[":
            if item:
                raise ValueInputError(f"cannot read {s!r}: a ',' is missing at column {col}")
            stack.append([])
            token = ""
        elif ch in ",]":
            if token.strip():
                if not stack:
                    raise ValueInputError(f"cannot read {s!r}: unbalanced brackets")
                if item:
                    raise ValueInputError(
                        f"cannot read {s!r}: a ',' is missing before column {col}"
                    )
                stack[-1].append(_read_scalar(token.strip(), s))
                item = True
            token = ""
            if not stack:
                raise ValueInputError(f"cannot read {s!r}: unbalanced brackets")
            if not item and (ch == "," or stack[-1]):
                raise ValueInputError(
                    f"cannot read {s!r}: an empty element at column {col} (write a number "
                    "between the commas)"
                )
            if ch == ",":
                item = False
                continue
            done = stack.pop()
            if not done:
                raise ValueInputError(f"cannot read {s!r}: an empty vector has no value")
            item = True
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
    """A value as a decimal with ``digits`` significant digits (arrays as nested lists). An
    irrational exact value shows only the digits that are known (``estimate``): fewer where
    its cancellation runs past the working precision, and ``0 ± 1e-2990`` (a bound, no
    digits) where no digit is known."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return decimal(value.item(), digits)
        return "[" + ", ".join(decimal(v, digits) for v in value) + "]"
    if is_sympy(value) and value.is_Rational:
        value = Fraction(int(value.p), int(value.q))
    if isinstance(value, Fraction):
        try:
            f = float(value)
        except OverflowError:
            f = math.inf
        if math.isinf(f) or (f == 0 and value != 0):  # past the float range
            with mpmath.workdps(digits + 10):
                return _mp_text(mpmath.mpf(value.numerator) / value.denominator, digits)
        return format_float(f, digits)
    if is_sympy(value):
        est = estimate(value, digits)
        with mpmath.workdps(max(digits, 1) + 10):
            if est.known == 0:
                return "0 ± " + _mp_text(est.bound(), 1)
            return _mp_text(+est.mid, min(est.known, digits))
    return format_float(float(value), digits)


def _mp_text(x: Any, digits: int) -> str:
    """An mpmath number with ``digits`` significant digits, rounded once from its own binary
    digits (a float in between would round twice, and a float has only 15–17 digits), and
    written as ``format_float`` writes floats: 0.841471, 1e-300, 3.88118e868."""
    if x == 0:
        return "0"
    text = mpmath.nstr(x, max(digits, 1), min_fixed=math.inf, max_fixed=-math.inf)
    out = format(PyDecimal(text).normalize(), f".{max(digits, 1)}g")
    if "e" in out:
        mant, exp = out.split("e")
        return f"{mant}e{int(exp)}"
    return out


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
