"""Bounds on the numbers people type, checked before any big number is built.

``Fraction("1e99999999")`` or ``9 ** 9 ** 9`` would run for minutes and eat gigabytes; a float
program cannot hold ``1e400`` at all. Every number read from the user (program literals, ``--at``
values, claims) passes through here first, so such input gets one clear sentence instead.

Bounds on what exact arithmetic computes (digits of exact numbers, size and depth of sympy
expressions, the order and size of derivatives) follow below: a value past them is a
``LimitError`` (exit status 2 from the command line) that names the bound and says what to do
instead; the bounds are far beyond anything a person reads (docs/reliability.md, "Limits")."""

from __future__ import annotations

import functools
import math
import re
import sys
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import DomainError, ValueInputError
from .lazy import is_sympy, sympy

MAX_DIGITS = 1000  # decimal digits of an exact numerator or denominator
MAX_NESTING = 32  # brackets inside one --at value
# terms of one flat chain in a program (a + b + c + …: Python's parser nests them one level per
# term); read on a thread with a stack of PARSE_STACK bytes, where the default stack and
# recursion limit stopped at 3,000 terms
MAX_CHAIN = 200_000
PARSE_STACK = 256 * 1024 * 1024
# bytes of program text, exercise, claims or any other input read (a program of 200,000
# statements is about 3 MB): `eval /dev/zero` and `yes | chainrule eval -` used to read without end
MAX_INPUT_BYTES = 16 * 1024 * 1024
FLOAT_MAX = Fraction(sys.float_info.max)
_BITS_PER_DIGIT = 3.3219280948873626  # log2(10)
_NUMBER_TEXT = re.compile(
    r"[+\-]?(?P<int>[0-9_]*)\.?(?P<frac>[0-9_]*)(?:[eE](?P<exp>[+\-]?[0-9_]+))?"
)


class TooLarge(ValueInputError):
    """A number too large (or too finely divided) to handle exactly."""


def number_text(text: str) -> None:
    """Refuse a written number whose exact value would have more than ``MAX_DIGITS`` digits
    (``1e99999999``) without building it. Text that is not a plain decimal passes: the
    reader that follows reports it in its own words."""
    m = _NUMBER_TEXT.fullmatch(text.strip().replace("−", "-"))
    if m is None:
        return
    digits = len(m.group("int").replace("_", "")) + len(m.group("frac").replace("_", ""))
    exp_text = (m.group("exp") or "0").replace("_", "")
    if len(exp_text.lstrip("+-")) > 9:
        raise TooLarge(f"the number {_short(text)} has too large an exponent")
    exponent = abs(int(exp_text))
    if digits + exponent > MAX_DIGITS:
        raise TooLarge(
            f"the number {_short(text)} has more than {MAX_DIGITS} digits; exact numbers are "
            f"limited to {MAX_DIGITS} digits"
        )


def value_text(text: str) -> None:
    """``number_text`` for every number of an ``--at`` value, and a bound on bracket nesting."""
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
            if depth > MAX_NESTING:
                raise ValueInputError(
                    f"a value may nest brackets {MAX_NESTING} deep at most (vectors and matrices)"
                )
        elif ch == "]":
            depth -= 1
    for piece in re.split(r"[\[\],/\s]+", text):
        if piece:
            number_text(piece)


def exact_size(v: Fraction) -> None:
    """Refuse an exact number with more than ``MAX_DIGITS`` digits above or below the line."""
    if max(v.numerator.bit_length(), v.denominator.bit_length()) > MAX_DIGITS * _BITS_PER_DIGIT:
        raise TooLarge(
            f"an exact number here would have more than {MAX_DIGITS} digits; exact numbers are "
            f"limited to {MAX_DIGITS} digits"
        )


def power_size(base: Fraction, exponent: int) -> bool:
    """Whether ``base ** exponent`` stays within ``MAX_DIGITS`` digits (checked before it is
    computed; 0, 1 and −1 to any power are small)."""
    if base in (0, 1, -1):
        return True
    bits = max(base.numerator.bit_length(), base.denominator.bit_length())
    return (bits - 1) * abs(exponent) <= MAX_DIGITS * _BITS_PER_DIGIT


def float_range(value: Any) -> None:
    """Refuse an exact value (or nested list of them) that no float can hold (``1e400``)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, Fraction) and abs(v) > FLOAT_MAX:
            raise TooLarge(
                f"this number ({_magnitude(v)}) is beyond the range of floating-point numbers "
                "(about ±1.8e308); use --exact to compute with it exactly"
            )


def _magnitude(v: Fraction) -> str:
    """About 1e400: the size of a number past float range, without converting it to a float."""
    digits = len(str(abs(v.numerator) // v.denominator))
    return f"{'−' if v < 0 else ''}about 1e{digits - 1}"


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 24 else text[:20] + "…"


__all__ = [
    "FLOAT_MAX",
    "MAX_DIGITS",
    "MAX_NESTING",
    "TooLarge",
    "exact_size",
    "float_range",
    "number_text",
    "power_size",
    "value_text",
]


# ------------------------------------------------------------ exact arithmetic and derivatives

MAX_EXACT_DIGITS = 1000  # decimal digits of a numerator or a denominator
MAX_EXACT_BITS = int(MAX_EXACT_DIGITS * math.log2(10)) + 1  # the same bound in bits (3,322)
MAX_EXACT_TERMS = 500  # nodes of a sympy expression tree (numbers, symbols, operations)
# levels of a sympy expression tree: sympy's own simplification of a nested form costs time
# that grows with nesting (ten nested σ took 13 s, a hundred nested tanh 20 s)
MAX_EXACT_DEPTH = 30
MAX_ORDER = 8  # --order: each order multiplies the size of the derivative's graph
MAX_DERIVATIVE_NODES = 200_000  # nodes of one derivative's graph
MAX_ELEMENTS = 10**8  # elements of an array an op makes from a shape it is given (800 MB)


class LimitError(DomainError):
    """A computation would go past one of chainrule's size bounds."""


_ADVICE = "run without --exact (floats) or make the numbers smaller"


def _too_many_digits(n: int) -> bool:
    return n.bit_length() > MAX_EXACT_BITS


def _digits(n: int) -> int:
    """Decimal digits of n, from its bit length (no conversion to text)."""
    return int(n.bit_length() * 0.30103) + 1


def check_exact_size(value: Any, what: str = "an exact value") -> Any:
    """``value`` itself, or a LimitError when it is an exact number past the bounds."""
    cls = value.__class__
    if cls is Fraction:
        if _too_many_digits(value.numerator) or _too_many_digits(value.denominator):
            big = max(_digits(value.numerator), _digits(value.denominator))
            raise LimitError(
                f"{what} would have about {big:,} digits; exact numbers are kept up to "
                f"{MAX_EXACT_DIGITS:,} digits: {_ADVICE}"
            )
        return value
    if cls is np.ndarray:
        if value.dtype == object:
            for v in value.reshape(-1):
                check_exact_size(v, what)
        return value
    if is_sympy(value):
        _check_expression(value, what)
    return value


@functools.lru_cache(maxsize=4096)
def _too_large(e: sympy.Basic) -> bool:
    """Whether an exponential (cosh and sinh too) or a power with an irrational exponent is
    beyond 10^±1000.

    Its pieces were checked when they were made, so they are numbers of at most 1,000 digits
    and a 5-digit estimate of them is quick; the power itself is never evaluated (the cosine of
    e^(e^100) asks mpmath for 10^43 digits of π)."""
    if isinstance(e, (sympy.cosh, sympy.sinh)):  # |cosh x|, |sinh x| ≈ e^|x| / 2
        power, base = abs(e.args[0]), sympy.E
    elif isinstance(e, sympy.exp):
        power, base = e.args[0], sympy.E
    else:
        base, power = e.args
        if power.is_Rational:
            return False  # rational powers are bounded before they are computed
    if not (power.is_number and base.is_number):
        return False
    try:
        size = sympy.N(power, 5) * sympy.log(abs(sympy.N(base, 5)), 10)
        return bool(abs(size) > MAX_EXACT_DIGITS)
    except (TypeError, ValueError, ArithmeticError):
        return True


def _check_expression(expr: sympy.Basic, what: str) -> None:
    """At most MAX_EXACT_TERMS nodes in at most MAX_EXACT_DEPTH levels, and every number in
    it within the digit bound."""
    count = 0
    stack = [(expr, 1)]
    while stack:
        e, depth = stack.pop()
        count += 1
        if depth > MAX_EXACT_DEPTH:
            raise LimitError(
                f"{what} is nested more than {MAX_EXACT_DEPTH} levels deep as an exact "
                f"expression (exact forms are kept up to that depth): {_ADVICE}"
            )
        if count > MAX_EXACT_TERMS:
            raise LimitError(
                f"{what} has grown past {MAX_EXACT_TERMS} terms as an exact expression "
                f"(exact forms are kept up to that size): {_ADVICE}"
            )
        if isinstance(e, sympy.Rational):
            if _too_many_digits(int(e.p)) or _too_many_digits(int(e.q)):
                raise LimitError(
                    f"{what} holds a number of more than {MAX_EXACT_DIGITS:,} digits: {_ADVICE}"
                )
            continue
        if isinstance(e, (sympy.exp, sympy.Pow, sympy.cosh, sympy.sinh)) and _too_large(e):
            raise LimitError(
                f"{what} holds a number beyond 10^±{MAX_EXACT_DIGITS:,} ({e.func.__name__} of a "
                "large number: its digits, or any function of it, would take hours to compute): "
                f"{_ADVICE}"
            )
        stack.extend((a, depth + 1) for a in e.args)


def _largest_bits(x: Any) -> int:
    """How many bits the biggest whole number inside an exact value has (0 for none)."""
    if isinstance(x, Fraction):
        return max(x.numerator.bit_length(), x.denominator.bit_length())
    if isinstance(x, sympy.Rational):
        return max(int(x.p).bit_length(), int(x.q).bit_length())
    if is_sympy(x):
        return max((_largest_bits(a) for a in x.atoms(sympy.Rational)), default=1)
    return 1


def check_power_size(base: Any, exponent: Any) -> None:
    """Refuse ``base ** exponent`` before computing it when the result would be past the
    digit bound (2 ** 2 ** 100 is never even attempted). Bases 0, 1 and −1 are always fine."""
    if isinstance(exponent, sympy.Rational):
        exponent = Fraction(int(exponent.p), int(exponent.q))
    if not isinstance(exponent, Fraction):
        return
    if base in (0, 1, -1):
        return
    _check_root_degree(base, exponent)
    n = (
        abs(exponent.numerator) // exponent.denominator
    )  # 10 ** (10**10 / 9) is 10 ** 1111111111 · …
    if n <= 1:
        return
    at_least = (max(_largest_bits(base), 2) - 1) * n  # bits of the result, at least
    if at_least > MAX_EXACT_BITS:
        raise LimitError(
            f"a power with exponent {_short_int(n)} would have more than "
            f"{_short_int(int(at_least * 0.30103))} digits; exact numbers are kept up to "
            f"{MAX_EXACT_DIGITS:,} digits: {_ADVICE}"
        )


MAX_ROOT_BITS = 10 * MAX_EXACT_BITS
"""Bound on (bits of the base) × (degree of the root) of an exact power ``a ** (p/q)``: sympy
simplifies such a power through whole numbers of about that many bits (20 ** (−65533/524287)
took 3 seconds and a 300-digit denominator ran out of memory; at the bound it takes a few
milliseconds). For a two-digit base that allows roots up to degree 6,644."""


def _check_root_degree(base: Any, exponent: Fraction) -> None:
    q = exponent.denominator
    if q == 1:
        return
    bits = max(_largest_bits(base), 2)
    if bits * q > MAX_ROOT_BITS:
        raise LimitError(
            f"a power with exponent {_short_fraction(exponent)} takes a root of degree "
            f"{_short_int(q)}; exact roots of this base are kept up to degree "
            f"{MAX_ROOT_BITS // bits:,}: {_ADVICE}"
        )


def _short_fraction(v: Fraction) -> str:
    if max(v.numerator.bit_length(), v.denominator.bit_length()) < 64:
        return f"{v.numerator}/{v.denominator}"
    return f"of {_digits(abs(v.numerator))} digits over {_digits(v.denominator)} digits"


def _short_int(n: int) -> str:
    return f"{n:,}" if n.bit_length() < 64 else f"about 10^{_digits(n) - 1}"


def check_order(order: int) -> None:
    """``--order`` within MAX_ORDER: each order makes the derivative's graph several times
    larger (the 18th derivative of tanh took a minute and 1.4 GB)."""
    if order > MAX_ORDER:
        raise LimitError(
            f"derivatives are computed up to order {MAX_ORDER} (asked for {order}): each order "
            "multiplies the size of the derivative's graph"
        )


def check_derivative_graph(nodes: int, order: int) -> None:
    if nodes > MAX_DERIVATIVE_NODES:
        raise LimitError(
            f"the graph of derivative {order} has {nodes:,} nodes; chainrule stops at "
            f"{MAX_DERIVATIVE_NODES:,}: ask for a lower --order"
        )


def check_elements(shape: Any, what: str) -> None:
    """An array of ``shape`` within MAX_ELEMENTS (asked for by a parameter, not by data)."""
    n = 1
    for d in shape:
        n *= max(int(d), 0)
    if n > MAX_ELEMENTS:
        raise LimitError(
            f"{what} would make an array of shape {tuple(shape)} ({_short_int(n)} numbers); arrays "
            f"made from a given shape are kept up to {MAX_ELEMENTS:,} numbers"
        )
