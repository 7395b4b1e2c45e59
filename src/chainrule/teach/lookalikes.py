"""Variants that grading could not tell apart, found while a class is drawn.

``grade`` names another variant V for a student's sheet when more of its numbers are right for
V's key than for the stated variant's (rule 1 of docs/teaching.md, ``grading.whose_answers``):
at least two more, and at least half of the numbers the two keys do not share. Two variants
are *look-alikes* when a student of one who makes one known slip (``slips.slip_sheets``),
carried forward, passes that test for the other: an honest slip and a copied key then look
the same, and grading can only keep the stated variant with a note. So are two keys that differ
in fewer than two answers at the rule's digits (``distinct`` before look-alikes were known).

Comparing every pair of variants with the judge is quadratic; instead the keys and the moved
numbers of every slip sheet are kept sorted by value per quantity, a number is looked up only
among the values near it, and only a pair with two near numbers is judged, with the judge's own
rule, for the numbers as a student writes them (in full, and to the rule's digits)."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..check.claims import Number, read_number
from ..check.judge import RIGHT, ROUNDING
from ..check.judge import _grade as judge_number
from ..check.rule import Rule, rounded_text
from .slips import Sheet

if TYPE_CHECKING:
    from .variants import Variant


class _Sorted:
    """Values kept in order with who holds each: the values near a number are found by
    bisection, not by a pass over every variant."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.owners: list[int] = []

    def add(self, value: float, owner: int) -> None:
        if math.isfinite(value):
            at = bisect.bisect_right(self.values, value)
            self.values.insert(at, value)
            self.owners.insert(at, owner)

    def between(self, low: float, high: float) -> list[int]:
        lo = bisect.bisect_left(self.values, low)
        return self.owners[lo : bisect.bisect_right(self.values, high, lo)]


@dataclass(frozen=True)
class Lookalike:
    """A student of ``slipped`` who makes ``slip`` writes ``other``'s key for ``names``."""

    slipped: str
    other: str
    slip: str
    names: tuple[str, ...]

    def text(self) -> str:
        if not self.slip:
            return f"{self.slipped} and {self.other}: their keys differ in fewer than two answers"
        return (
            f"{self.slipped} and {self.other}: {self.slip} on a {self.slipped} sheet, carried "
            f"forward, gives {self.other}'s {', '.join(self.names)}"
        )


class Lookalikes:
    """The keys and slip sheets of the variants drawn so far, indexed by value."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.ids: list[str] = []
        self.keys: list[dict[str, float]] = []
        self.sheets: list[tuple[int, Sheet]] = []
        self.key_values: dict[str, _Sorted] = {}
        self.sheet_values: dict[str, _Sorted] = {}
        self.texts: dict[tuple[str, str], list[int]] = {}
        self._numbers: dict[float, tuple[Number, ...]] = {}
        self._tolerances: dict[float, float] = {}
        self._short: dict[float, tuple[float, float]] = {}

    def alike(self, variant: Variant) -> Lookalike | None:
        """An earlier variant whose key differs from this one's in fewer than two answers at
        the rule's digits (a neighbour's numbers could be copied undetected)."""
        texts = key_texts(variant, self.rule)
        # with one answer every key is within one difference: every earlier one is a candidate
        same: Counter[int] = Counter(
            dict.fromkeys(range(len(self.ids)) if len(texts) < 2 else (), 0)
        )
        for item in texts.items():
            same.update(self.texts.get(item, ()))
        for k, n in sorted(same.items()):
            differ = (len(texts) - n) + sum(1 for name in self.keys[k] if name not in texts)
            if differ < 2:
                return Lookalike(self.ids[k], variant.id, "", ())
        return None

    def find(self, variant: Variant, sheets: list[Sheet]) -> list[Lookalike]:
        """Every earlier variant this one would be a look-alike of, one slip named for each."""
        found = self.theirs(variant)
        known = {x.slipped for x in found}
        found += [x for x in self.mine(variant, sheets) if x.other not in known]
        order = {vid: k for k, vid in enumerate(self.ids)}
        return sorted(found, key=lambda x: order.get(x.slipped, order.get(x.other, 0)))

    def mine(self, variant: Variant, sheets: list[Sheet], first: bool = False) -> list[Lookalike]:
        """The earlier variants whose key a slip sheet of this one passes for (``first``:
        stop at the first)."""
        key = variant.answers
        found: dict[int, Lookalike] = {}
        for sheet in sheets:
            near: Counter[int] = Counter()
            for name in sheet.moved:
                x = sheet.values[name]
                near.update(
                    k
                    for k in self._near(self.key_values, name, x)
                    if self._hit(x, self.keys[k], name)
                )
            for k, n in sorted(near.items()):
                if n >= 2 and k not in found:  # a look-alike has two numbers of the other's
                    names = self.told(sheet.values, key, self.keys[k])
                    if names:
                        found[k] = Lookalike(variant.id, self.ids[k], sheet.slip, names)
                        if first:
                            return list(found.values())
        return [found[k] for k in sorted(found)]

    def theirs(self, variant: Variant, first: bool = False) -> list[Lookalike]:
        """The earlier variants a slip sheet of which passes for this one's key: needs no
        sheets of its own, so it is asked first."""
        key = variant.answers
        found: dict[int, Lookalike] = {}
        near: Counter[int] = Counter()
        for name, value in key.items():
            near.update(
                s
                for s in self._near(self.sheet_values, name, value)
                if self._hit(self.sheets[s][1].values[name], key, name)
            )
        for s, n in sorted(near.items()):
            owner, sheet = self.sheets[s]
            if n >= 2 and owner not in found:
                names = self.told(sheet.values, self.keys[owner], key)
                if names:
                    found[owner] = Lookalike(self.ids[owner], variant.id, sheet.slip, names)
                    if first:
                        break
        return [found[k] for k in sorted(found)]

    def _hit(self, x: float, key: dict[str, float], name: str) -> bool:
        """Is x, as a student writes it, right for ``key``'s number (a look-alike needs two)?"""
        true = key.get(name)
        return true is not None and (self._right(x, 0, true) or self._right(x, 1, true))

    def add(self, variant: Variant, sheets: list[Sheet]) -> None:
        k = len(self.ids)
        self.ids.append(variant.id)
        self.keys.append(dict(variant.answers))
        for name, value in variant.answers.items():
            self.key_values.setdefault(name, _Sorted()).add(value, k)
        for item in key_texts(variant, self.rule).items():
            self.texts.setdefault(item, []).append(k)
        for sheet in sheets:
            s = len(self.sheets)
            self.sheets.append((k, sheet))
            for name in sheet.moved:
                self.sheet_values.setdefault(name, _Sorted()).add(sheet.values[name], s)

    def _near(self, index: dict[str, _Sorted], name: str, x: float) -> list[int]:
        """Who holds a value for ``name`` near ``x``: a superset of those a number written
        for x is right for (or x for theirs); ``_right`` decides."""
        values = index.get(name)
        if values is None or not math.isfinite(x):
            return []
        reach = self._reach(x)
        return values.between(x - reach, x + reach)

    def _reach(self, x: float) -> float:
        """Further than any value a number near x can be right for, or x right for: a
        rounding is within three tolerances of its true value, and x written to the rule's
        digits moves by at most one more (a true value is within ``_WIDER`` times |x|)."""
        rule = self.rule
        wider = 1 / (1 - 2 * 10.0 ** (1 - rule.sigfig)) if rule.sigfig is not None else 1.0
        if rule.written or (rule.rtol or 0) >= 0.1 or wider <= 0 or wider > 2:
            return math.inf
        return 4.5 * self._tolerance(wider * 1.05 * abs(x))

    def _tolerance(self, true: float) -> float:
        """The rule's tolerance in floats; NaN where floats cannot say (a true value at a
        power of ten, whose digits the judge counts with float noise forgiven)."""
        got = self._tolerances.get(true)
        if got is None:
            rule = self.rule
            atol = rule.atol or 0.0
            if rule.sigfig is not None:
                got = atol
                if true != 0:
                    e = _exponent(true)
                    got = math.nan if e is None else max(0.5 * 10.0 ** (e - rule.sigfig + 1), atol)
            elif rule.decdig is not None:
                got = max(0.5 * 10.0**-rule.decdig, atol)
            else:
                got = atol + (rule.rtol or 0.0) * abs(true)
            if len(self._tolerances) < 100_000:
                self._tolerances[true] = got
        return got

    def told(
        self, sheet: dict[str, float], own: dict[str, float], other: dict[str, float]
    ) -> tuple[str, ...]:
        """The sheet's numbers right for ``other``'s key and not ``own``'s, when grading's
        rule 1 names ``other`` for it (written in full or to the rule's digits); else ()."""
        for form in (0, 1):
            theirs: list[str] = []
            mine = shared = 0
            for name, x in sheet.items():
                for_own = name in own and self._right(x, form, own[name])
                for_other = name in other and self._right(x, form, other[name])
                shared += for_own and for_other
                mine += for_own and not for_other
                if for_other and not for_own:
                    theirs.append(name)
            if len(theirs) >= mine + 2 and 2 * len(theirs) >= len(sheet) - shared:
                return tuple(theirs)
        return ()

    def _right(self, x: float, form: int, true: float) -> bool:
        """Is x, written in full (form 0) or to the rule's digits (1), right or a rounding
        for ``true``, as ``check.judge`` grades it? Decided in floats where they are clear by a
        margin, else by the judge in exact numbers (the judge is slow for full floats)."""
        rule = self.rule
        if not math.isfinite(true) or rule.written:
            return math.isfinite(true) and self._judged(x, form, true)
        written, half = self._written(x, form)
        tol = self._tolerance(true)
        if not (written != 0 and true != 0 and tol > 0) or math.isnan(half):
            return self._judged(x, form, true)  # 0 (never right unless atol), or unclear
        diff = abs(written - true)
        if diff <= 0.999 * tol:
            return True
        if diff < 1.001 * tol or 2.999 * tol < diff < 3.001 * tol:
            return self._judged(x, form, true)
        if half > 1.0001 * tol or diff >= 3.001 * tol:
            return False  # fewer digits than asked, or beyond a rounding
        if rule.sigfig is None and rule.decdig is None:
            return False  # no rounding credit without a number of digits
        unit = 2 * tol  # a rounding: one unit off, same sign, with digits left to round
        ratio = abs(true) / (10 * unit)
        rest = abs(true / unit - round(true / unit))
        if abs(ratio - 1) < 1e-9 or 1e-7 < rest < 1e-5:
            return self._judged(x, form, true)
        return (written > 0) == (true > 0) and ratio > 1 and rest > 1e-6

    def _judged(self, x: float, form: int, true: float) -> bool:
        return judge_number(self._number(x)[form], true, self.rule) in (RIGHT, ROUNDING)

    def _written(self, x: float, form: int) -> tuple[float, float]:
        """x as written (form 1: to the rule's digits, in floats) and half its last digit;
        NaN for half where the float rounding could differ from the text's."""
        if form == 0:
            return x, 0.0
        got = self._short.get(x)
        if got is None:
            got = self._shorten(x)
            if len(self._short) < 200_000:
                self._short[x] = got
        return got

    def _shorten(self, x: float) -> tuple[float, float]:
        rule = self.rule
        if rule.sigfig is not None and x != 0:
            e = _exponent(x)
            if e is None:
                return x, math.nan
            places = rule.sigfig - 1 - e
        elif rule.decdig is not None:
            places = rule.decdig
        else:
            return x, 0.0
        scaled = abs(x) * 10.0**places
        if abs(scaled - math.floor(scaled) - 0.5) < 1e-6:
            return x, math.nan  # half-way: the text's rounding decides
        return round(x, places), 0.5 * 10.0**-places

    def _number(self, x: float) -> tuple[Number, ...]:
        """x as a student writes it: every digit, and to the rule's digits."""
        if x not in self._numbers:
            full = read_number(repr(x), repr(x))
            text = rounded_text(x, self.rule)
            short = read_number(text, text) if text is not None else full
            self._numbers[x] = (full, short)
        return self._numbers[x]


def _exponent(x: float) -> int | None:
    """floor(log10 |x|), or None within a millionth of a power of ten (floats cannot say)."""
    e = math.floor(math.log10(abs(x)))
    for p in (e, e + 1):
        if abs(abs(x) / 10.0**p - 1) < 1e-6:
            return None
    return e


def key_texts(variant: Variant, rule: Rule) -> dict[str, str]:
    """The answers as the rule tells them apart (3 significant figures by default)."""
    out = {}
    for a in variant.asked:
        shown = rounded_text(a.value, rule) if math.isfinite(a.value) else None
        out[a.name] = shown if shown is not None else repr(a.value)
    return out
