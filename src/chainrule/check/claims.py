"""Reading a learner's claims: ``L = 0,06``, ``dL/dz = -0.06``, ``∂L/∂w₁ ≈ -0.0062``, ``grad w1``.

A claimed number keeps the precision it was written with: 0.94 stands for anything that rounds
to 0.94, so it is read as a ``Decimal`` (and fractions such as 4/5 as exact values). ``nan``,
``inf`` and ``-inf`` (or ``∞``) may be claimed too: a computation can overflow or fail, and a
learner who says so is judged like any other claim."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from ..core import limits
from ..core.errors import ValueInputError
from ..io.files import read_text
from .inert import clipped

_SEPARATORS = ("≈", "=")
# one way to split any text into its parts (digits, then an optional point and digits): a
# long run of digits that ends in a letter is refused in one pass, not after trying every split
_NUMBER = re.compile(r"^[+\-−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+\-−]?\d+)?$")
MAX_NESTING = 8  # brackets inside brackets: a matrix needs 2
MAX_CLAIMS = 1000  # claims in one check
MAX_EXPONENT = 1000  # floats end near 10^±308; a claim past 10^±1000 cannot be a rounding
_SPECIAL = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "∞": math.inf,
    "+∞": math.inf,
    "-∞": -math.inf,
}


@dataclass(frozen=True)
class Number:
    """One claimed number: its value and the size of its last written digit (0 when exact).

    ``value`` is a ``Fraction``, or a float for ``nan``, ``inf`` and ``-inf`` only."""

    text: str
    value: Fraction | float
    quantum: Fraction  # 10^-decimals as written; 0 for an exact fraction such as 4/5

    @property
    def finite(self) -> bool:
        return isinstance(self.value, Fraction)

    @property
    def decimals(self) -> int | None:
        if self.quantum == 0:
            return None
        q = self.quantum
        n = 0
        while q < 1:
            q *= 10
            n += 1
        return n


@dataclass(frozen=True)
class Claim:
    """A quantity as the learner named it, and the number(s) they gave it."""

    name: str
    numbers: tuple[Number, ...]
    vector: bool
    text: str
    line: int | None = None
    shape: tuple[int, ...] | None = None  # as written: (2,) for [a, b], (3, 2) for [[…], …]
    # written ∂out/∂x in a text that writes totals dout/dx: it may be the local partial of
    # the output's own operation (chainrule's worked solutions write them so)
    local: bool = False


def read_number(text: str, original: str) -> Number:
    """A number as people write it, decimal comma included: 0,94 · −0.12 · 6.2e-3 · 4/5."""
    s = text.strip().replace("−", "-").replace(" ", "")
    if "," in s and "." not in s and s.count(",") == 1:
        s = s.replace(",", ".")
    if s.lower() in _SPECIAL:
        return Number(text.strip(), _SPECIAL[s.lower()], Fraction(0))
    if "/" in s:
        num, _, den = s.partition("/")
        top, bottom = read_number(num, original), read_number(den, original)
        if not (top.finite and bottom.finite):
            raise ValueInputError(f"{original!r}: write nan or inf on its own, not in a fraction")
        try:
            value = Fraction(top.value) / bottom.value
        except ZeroDivisionError:
            raise ValueInputError(f"{original!r}: division by zero") from None
        return Number(text.strip(), value, Fraction(0))
    if not _NUMBER.match(s):
        raise ValueInputError(f"{original!r}: cannot read {text.strip()!r} as a number")
    try:
        limits.number_text(s)  # 1e99999999 is refused before it is built
    except ValueInputError as exc:
        raise ValueInputError(f"{original!r}: {exc.message}") from None
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueInputError(f"{original!r}: cannot read {text.strip()!r} as a number") from None
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    if d and abs(d.adjusted()) > MAX_EXPONENT:
        raise ValueInputError(
            f"{original!r}: {text.strip()!r} is beyond any number chainrule computes "
            f"(more than 10^{MAX_EXPONENT} or less than 10^-{MAX_EXPONENT}); write inf or 0"
        )
    return Number(text.strip(), Fraction(d), Fraction(10) ** exponent)


def split_claims(text: str) -> list[str]:
    """One line's claims: ``ŷ = 0.943; L = 0.00329`` (or ``, `` between them) is two, as a
    program separates statements. Only separators outside brackets count ([a; b] is one
    vector), and a comma only before another ``NAME =`` (``L = 0,06`` is a decimal comma)."""
    cuts: list[int] = []
    depth = 0
    for k, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if depth == 0 and (ch == ";" or (ch == "," and _CLAIM_START.match(text, k + 1))):
            cuts.append(k)
    bounds = [-1, *cuts, len(text)]
    pieces = [text[a + 1 : b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]
    pieces = [p for p in pieces if p]
    if cuts and pieces and all(_CLAIM_START.match(p) for p in pieces):
        return pieces  # (a separator at the end: one claim)
    return [text]


# a claim's start: a name (not a number, a bracket or a sign), then = or ≈
_CLAIM_START = re.compile(r"\s*[^\s=≈\[\]\d.,;+\-−][^=≈;]*[=≈]")


def parse_claim(text: str, line: int | None = None) -> Claim:
    """``NAME = VALUE`` (or ``NAME ≈ VALUE``); VALUE may be a vector [a, b] or [a; b]. An error
    quotes the claim cut to a few hundred characters, never a megabyte of it."""
    try:
        return _parse_claim(text, line)
    except ValueInputError as exc:
        raise ValueInputError(clipped(exc.message)) from None


def _parse_claim(text: str, line: int | None = None) -> Claim:
    original = text.strip()
    where = f"line {line}: " if line is not None else ""
    several = split_claims(original)
    if len(several) > 1:
        raise ValueInputError(
            f"{where}{original!r} holds {len(several)} claims ({'; '.join(several)}): give "
            "them one at a time"
        )
    sep_at = -1
    for sep in _SEPARATORS:
        k = original.rfind(sep)
        if k > sep_at:
            sep_at = k
    if sep_at <= 0:
        raise ValueInputError(f"{where}{original!r}: expected NAME=VALUE, such as L=0.06")
    # the name is what stands before the first separator; the value after the last
    first = min(k for k in (original.find(s) for s in _SEPARATORS) if k >= 0)
    name = original[:first].strip()
    value = original[sep_at + 1 :].strip()
    if not name or not value:
        raise ValueInputError(f"{where}{original!r}: expected NAME=VALUE, such as L=0.06")
    try:
        if value.startswith("["):
            numbers, shape = read_array(value, original)
            return Claim(name, numbers, True, original, line, shape)
        return Claim(name, (read_number(value, original),), False, original, line)
    except ValueInputError as exc:
        raise ValueInputError(where + exc.message) from None


def _split_items(inner: str) -> list[str]:
    """The items of one bracket level: ``;`` separates when present; ``, `` (comma and space)
    when every piece is a number with a decimal comma (``[-0,346, -0,9227]``); else ``,``."""
    if ";" in inner:
        return inner.split(";")
    if ", " in inner and "." not in inner:
        pieces = inner.split(", ")
        if all(p.strip().count(",") == 1 for p in pieces):
            return pieces
    return inner.split(",")


def read_array(value: str, original: str) -> tuple[tuple[Number, ...], tuple[int, ...]]:
    """A vector ``[a, b]`` or a matrix ``[[a, b], [c, d]]`` (rows of one length), as --at
    writes them: the numbers in row order and the shape."""
    text = value.strip()
    if not text.endswith("]"):
        raise ValueInputError(f"{original!r}: a vector must end with ']'")
    if text.count("[") != text.count("]"):
        raise ValueInputError(f"{original!r}: unbalanced brackets")
    depth = deepest = 0
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise ValueInputError(f"{original!r}: nested deeper than {MAX_NESTING} brackets")
    inner = text[1:-1].strip()
    if not inner.startswith("["):
        if "[" in inner or "]" in inner:
            raise ValueInputError(f"{original!r}: unbalanced brackets")
        if not inner:
            raise ValueInputError(f"{original!r}: an empty vector")
        items = _split_items(inner)
        if any(not p.strip() for p in items):  # [1,,2] and [,1,2] are not [1, 2]
            start = original.find(text) + 1 + text.index(inner)  # inner's first column
            column = start + _empty_item_offset(items, inner)
            raise ValueInputError(
                f"{original!r}: an empty element at column {column} (nothing between two "
                "separators, or before the first)"
            )
        numbers = tuple(read_number(p, original) for p in items)
        return numbers, (len(numbers),)
    rows: list[tuple[Number, ...]] = []
    shapes: set[tuple[int, ...]] = set()
    depth, start = 0, -1
    for k, ch in enumerate(inner):
        if ch == "[":
            if depth == 0:
                start = k
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                nums, shape = read_array(inner[start : k + 1], original)
                rows.append(nums)
                shapes.add(shape)
        elif depth == 0 and ch not in ",; \t":
            raise ValueInputError(f"{original!r}: write a matrix as [[a, b], [c, d]]")
        if depth < 0:
            raise ValueInputError(f"{original!r}: unbalanced brackets")
    if len(shapes) != 1:
        raise ValueInputError(f"{original!r}: the rows have different lengths")
    flat = tuple(n for row in rows for n in row)
    return flat, (len(rows), *next(iter(shapes)))


def _empty_item_offset(items: list[str], inner: str) -> int:
    """Where the first empty item starts within ``inner``, the text it was split from."""
    sep = next(s for s in (";", ", ", ",") if s.join(items) == inner)
    offset = 0
    for p in items:
        if not p.strip():
            return offset
        offset += len(p) + len(sep)
    return offset


def parse_claims(lines: list[str], *, first_line: int = 1, numbered: bool = True) -> list[Claim]:
    """Claims one per line; blank lines and ``#`` comments are skipped."""
    out: list[Claim] = []
    for k, raw in enumerate(lines):
        text = raw.split("#", 1)[0].strip()
        if text:
            if len(out) == MAX_CLAIMS:
                raise ValueInputError(
                    f"line {first_line + k}: more than {MAX_CLAIMS} claims; a learner's sheet "
                    "holds tens (each wrong number is traced through all the others)"
                )
            for one in split_claims(text):
                out.append(parse_claim(one, first_line + k if numbered else None))
    return out


def read_claims_file(path: str | Path) -> list[Claim]:
    p = Path(path)
    if not p.is_file():
        raise ValueInputError(f"{path}: no such claims file")
    return parse_claims(read_text(p, "claims file").splitlines())
