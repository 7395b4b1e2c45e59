"""The rule for "right", in the terms instructors know from PrairieLearn.

One rule decides every verdict of ``chainrule check``, ``chainrule grade`` and every export
(Moodle tolerances, the Gradescope autograder, PrairieLearn's ``server.py``), and is printed on
the worksheet and every feedback page, so a grade can be defended by pointing at it:

- ``sigfig = N`` (the default, N = 3): right when within half a unit of the N-th significant
  digit of the true value (−1.54 or −1.537 for −1.5372; not −2, not −1.5);
- ``decdig = N``: right when within half a unit of the N-th decimal;
- ``rtol``/``atol``: right when |claim − true| ≤ atol + rtol·|true| (numpy's ``isclose``).

An ``atol`` given with ``sigfig`` or ``decdig`` widens the window near 0. Around that window:
one unit off in the last asked digit, with the same sign, is a *rounding* difference; a number
that is the true value rounded to fewer digits than asked (−2 or −1.5 for −1.537) is *too few
digits*; a claim of 0 (``0``, ``0.0``, ``0e9``) is never right for a non-zero true value unless
``atol`` covers it. Everything is computed in exact fractions, so a 20-decimal claim is compared
with the true value itself, not with its nearest float."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from ..core.errors import ValueInputError

DEFAULT_SIGFIG = 3
RULE_KEYS = ("sigfig", "decdig", "rtol", "atol")
SLACK = Fraction(1, 10**9)  # the true value is a float: 1.2345 may be stored as 1.23449999…


def exponent10(x: Fraction) -> int:
    """floor(log10 |x|) of a non-zero fraction, exactly (no float rounding at 10^k)."""
    x = abs(x)
    e = len(str(x.numerator)) - len(str(x.denominator))
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def leading_exponent(true: Fraction) -> int:
    """The place of the first significant digit of a true value, float noise forgiven:
    0.3 − 0.2 = 0.09999999999999998 counts as 0.1 (within ``SLACK`` below a power of ten), so
    its 3rd significant digit is the thousandths, not the ten-thousandths."""
    return exponent10(abs(true) * (1 + SLACK))


@dataclass(frozen=True)
class Rule:
    """When a claimed number counts as right (see the module docstring)."""

    sigfig: int | None = DEFAULT_SIGFIG
    decdig: int | None = None
    rtol: float | None = None
    atol: float | None = None
    written: bool = False  # "as written": right when the true value rounded to the claim's digits

    def tolerance(self, true: Fraction) -> Fraction:
        """The largest |claim − true| still right (for ``written``, see ``judge._grade``).
        Kept for the last few thousand true values: a class judges the same ones again and
        again, and the exact powers of ten are the dearest part of a verdict."""
        return _tolerance(self, true)

    def _tolerance(self, true: Fraction) -> Fraction:
        atol = Fraction(self.atol) if self.atol is not None else Fraction(0)
        if self.sigfig is not None:
            if true == 0:
                return atol
            unit = Fraction(10) ** (leading_exponent(true) - self.sigfig + 1)
            return max(unit / 2, atol)
        if self.decdig is not None:
            return max(Fraction(1, 2) / Fraction(10) ** self.decdig, atol)
        rtol = Fraction(self.rtol) if self.rtol is not None else Fraction(0)
        return atol + rtol * abs(true)

    def covers_zero(self, true: Fraction) -> bool:
        """Is a claim of 0 right for this true value? Only when atol says so."""
        return true == 0 or (self.atol is not None and abs(true) <= Fraction(self.atol))

    def as_dict(self) -> dict[str, Any]:
        if self.written:
            return {"written": True}
        return {k: getattr(self, k) for k in RULE_KEYS if getattr(self, k) is not None}

    def short(self) -> str:
        """``sigfig = 3`` · ``decdig = 2`` · ``rtol = 0.01, atol = 1e-08``."""
        return ", ".join(f"{k} = {v:g}" for k, v in self.as_dict().items())

    def describe(self) -> str:
        """The rule in one sentence, for worksheets, feedback pages and reports."""
        if self.written:
            return (
                "A number is right when it is the true value rounded to the digits written; one "
                "unit off in the last digit is a rounding difference."
            )
        if self.sigfig is not None:
            what = (
                f"within half a unit of the {ordinal(self.sigfig)} significant digit of the "
                f"true value ({self.sigfig} significant figure{'s' if self.sigfig != 1 else ''})"
            )
        elif self.decdig is not None:
            what = (
                f"within half a unit of the {ordinal(self.decdig)} decimal of the true value "
                f"({self.decdig} decimal place{'s' if self.decdig != 1 else ''})"
            )
        else:
            what = f"within {self.atol or 0:g} + {self.rtol or 0:g}·|true value| of the true value"
        extra = ""
        if self.atol is not None and (self.sigfig is not None or self.decdig is not None):
            extra = f", or within {self.atol:g} of it"
        return (
            f"An answer is right when it is {what}{extra} [{self.short()}]; one unit off in the "
            "last asked digit is a rounding difference; the true value rounded to fewer digits "
            "is 'too few digits'; 0 is never right for a value that is not 0."
        )


@functools.lru_cache(maxsize=8192)
def _tolerance(rule: Rule, true: Fraction) -> Fraction:
    return rule._tolerance(true)


AS_WRITTEN = Rule(sigfig=None, written=True)  # worked solutions: judged on the digits written


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _whole(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30:
        raise ValueInputError(f"{where}: {key} must be a whole number from 1 to 30")
    return value


def _tol(value: Any, key: str, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= 1e6
    ):
        raise ValueInputError(f"{where}: {key} must be a number from 0 to 1000000")
    return float(value)


def rule_from_dict(data: Any, where: str) -> Rule:
    """A rule from a TOML table or the manifest: one of sigfig, decdig, or rtol/atol (an atol
    may come with sigfig or decdig)."""
    if not isinstance(data, dict):
        raise ValueInputError(f"{where} must be a table such as {{ sigfig = 3 }}")
    unknown = sorted(set(data) - set(RULE_KEYS))
    if unknown:
        raise ValueInputError(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: sigfig, decdig, rtol, atol)"
        )
    sigfig = _whole(data["sigfig"], "sigfig", where) if "sigfig" in data else None
    decdig = _whole(data["decdig"], "decdig", where) if "decdig" in data else None
    rtol = _tol(data["rtol"], "rtol", where) if "rtol" in data else None
    atol = _tol(data["atol"], "atol", where) if "atol" in data else None
    if sigfig is not None and decdig is not None:
        raise ValueInputError(f"{where}: give sigfig or decdig, not both")
    if rtol is not None and (sigfig is not None or decdig is not None):
        raise ValueInputError(f"{where}: rtol is a rule of its own; give it without sigfig/decdig")
    if sigfig is None and decdig is None and rtol is None and atol is None:
        return Rule()
    if sigfig is None and decdig is None and rtol is None:
        return Rule(sigfig=None, atol=atol)
    return Rule(sigfig=sigfig, decdig=decdig, rtol=rtol, atol=atol)


def rule_from_args(
    sigfig: int | None, decdig: int | None, rtol: float | None, atol: float | None
) -> Rule:
    """The rule of ``check``'s options (None everywhere: the default, 3 significant figures)."""
    data = {
        k: v
        for k, v in (("sigfig", sigfig), ("decdig", decdig), ("rtol", rtol), ("atol", atol))
        if v is not None
    }
    return rule_from_dict(data, "the rule (--sigfig/--decdig/--rtol/--atol)")


def as_fraction(x: Any) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(x)


__all__ = [
    "AS_WRITTEN",
    "DEFAULT_SIGFIG",
    "RULE_KEYS",
    "Rule",
    "exponent10",
    "leading_exponent",
    "rule_from_args",
    "rule_from_dict",
]


def rounded_text(true: Any, rule: Rule) -> str | None:
    """The true value written to the digits the rule asks (what a learner should write):
    −0.346 for −0.34602 at 3 significant figures; None for 0, non-finite values and rtol
    rules (which ask for no number of digits)."""
    try:
        t = Fraction(true)
    except (TypeError, ValueError, OverflowError):
        return None
    if t == 0:
        return None
    if rule.sigfig is not None:
        places = rule.sigfig - 1 - leading_exponent(t)
    elif rule.decdig is not None:
        places = rule.decdig
    else:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        d = Decimal(t.numerator) / Decimal(t.denominator)
        q = d.quantize(Decimal(1).scaleb(-places)) if -60 < places < 60 else None
    if q is None:
        return None
    if abs(q.adjusted()) > 6:
        return f"{q:e}".replace("-", "\u2212")
    return f"{q:f}".replace("-", "\u2212")
