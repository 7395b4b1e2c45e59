"""Bounds on the numbers people type, checked before any big number is built.

``Fraction("1e99999999")`` or ``9 ** 9 ** 9`` would run for minutes and eat gigabytes; a float
program cannot hold ``1e400`` at all. Every number read from the user (program literals, ``--at``
values, claims) passes through here first, so such input gets one clear sentence instead."""

from __future__ import annotations

import re
import sys
from fractions import Fraction
from typing import Any

from .errors import ValueInputError

MAX_DIGITS = 1000  # decimal digits of an exact numerator or denominator
MAX_NESTING = 32  # brackets inside one --at value
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
