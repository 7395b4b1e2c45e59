"""Bounds on exact numbers and derivatives, so that no input runs for minutes or eats gigabytes.

Exact arithmetic has no size of its own: ``(3/7)`` squared twenty times has half a million
digits, a hundred nested tanh have a gradient of thousands of terms, and ``2 ** (2 ** 100)``
would not fit in memory. A value past these bounds is a ``LimitError`` (a user-facing error:
exit status 2 from the command line) that names the bound and says what to do instead; the
bounds are far beyond anything a person reads (docs/reliability.md, "Limits")."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from .errors import DomainError

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
    if isinstance(value, sympy.Basic):
        _check_expression(value, what)
    return value


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
        stack.extend((a, depth + 1) for a in e.args)


def _largest_bits(x: Any) -> int:
    """How many bits the biggest whole number inside an exact value has (0 for none)."""
    if isinstance(x, Fraction):
        return max(x.numerator.bit_length(), x.denominator.bit_length())
    if isinstance(x, sympy.Rational):
        return max(int(x.p).bit_length(), int(x.q).bit_length())
    if isinstance(x, sympy.Basic):
        return max((_largest_bits(a) for a in x.atoms(sympy.Rational)), default=1)
    return 1


def check_power_size(base: Any, exponent: Any) -> None:
    """Refuse ``base ** exponent`` before computing it when the result would be past the
    digit bound (2 ** 2 ** 100 is never even attempted). Bases 0, 1 and −1 are always fine."""
    if isinstance(exponent, sympy.Rational):
        exponent = Fraction(int(exponent.p), int(exponent.q))
    if not isinstance(exponent, Fraction):
        return
    n = (
        abs(exponent.numerator) // exponent.denominator
    )  # 10 ** (10**10 / 9) is 10 ** 1111111111 · …
    if n <= 1 or base in (0, 1, -1):
        return
    at_least = (max(_largest_bits(base), 2) - 1) * n  # bits of the result, at least
    if at_least > MAX_EXACT_BITS:
        raise LimitError(
            f"a power with exponent {_short(n)} would have more than "
            f"{_short(int(at_least * 0.30103))} digits; exact numbers are kept up to "
            f"{MAX_EXACT_DIGITS:,} digits: {_ADVICE}"
        )


def _short(n: int) -> str:
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
            f"{what} would make an array of shape {tuple(shape)} ({_short(n)} numbers); arrays "
            f"made from a given shape are kept up to {MAX_ELEMENTS:,} numbers"
        )
