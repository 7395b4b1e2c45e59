"""Exercise templates: an exercise file whose numbers (and, optionally, structure) are drawn.

A template is the TOML that ``chainrule solve`` reads, with ``${name}`` placeholders in its
``source`` and three more tables::

    [choose]                      # structure: one item of each list per variant
    activation = ["σ", "tanh"]
    inputs = [{ x = "[${x1}, ${x2}]" }, { x = "[${x1}, ${x2}, ${x3}]" }]

    [draw]                        # numbers
    x1 = { integers = [-3, 3] }
    w = { fractions = [-2, 2], denominator = 5, size = 2 }
    b = { decimals = [-1, 1], places = 1 }
    y = { choices = [0, 1] }

    [conditions]                  # every variant must meet them
    min_gradient = 1e-3
    range = { "ŷ" = [0.05, 0.95] }

Choices are put in first (their text may hold number placeholders), then the drawn numbers.
Every possible number of a draw is listed up front, so a draw is one index into a list."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..check.claims import read_number
from ..check.rule import Rule, rule_from_dict
from ..core.errors import ValueInputError
from ..core.values import decimal_text
from ..exercise import ask_table, header, read_toml
from .stream import Stream

# a name: no $, brace or line break inside, so a scan stops at the next one (an unclosed
# "${${${…" line is read in linear time, not one scan to the end per "${")
PLACEHOLDER = re.compile(r"\$\{([^${}\n]*)\}")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_OPTIONS = 100_000  # numbers one draw may choose among
MAX_SIZE = 16  # elements of a drawn vector
MAX_TRIES = 100_000
TEMPLATE_KEYS = {"title", "source", "exact", "digits", "ask", "choose", "draw", "conditions"}
TEMPLATE_KEYS |= {"worksheet", "rule"}
ASK_KEYS = {"values", "gradients", "partials", "drawings"}


@dataclass(frozen=True)
class Option:
    """One number a draw may give: its value and how it is written in the program."""

    value: Fraction
    text: str


@dataclass(frozen=True)
class Draw:
    """A drawn number (or vector of ``size`` numbers) and every value it may take."""

    name: str
    options: tuple[Option, ...]
    size: int | None = None

    def sample(self, stream: Stream) -> tuple[str, list[Fraction]]:
        picks = [self.options[stream.below(len(self.options))] for _ in range(self.size or 1)]
        values = [p.value for p in picks]
        if self.size is None:
            return picks[0].text, values
        return "[" + ", ".join(p.text for p in picks) + "]", values


@dataclass(frozen=True)
class Conditions:
    """What every variant must satisfy; see docs/teaching.md."""

    min_gradient: float | None = None
    gradient_of: tuple[str, ...] | None = None  # None: every named input
    ranges: tuple[tuple[str, float, float], ...] = ()
    defined: bool = True
    no_kinks: bool = True
    distinct: bool = True
    no_lookalikes: bool = True  # no one-slip look-alikes (teach.lookalikes); needs distinct
    distinct_numbers: bool = False
    max_tries: int = 1000


@dataclass
class Template:
    """A parsed template; ``render`` turns a seed into one variant's program text."""

    source: str
    title: str | None
    exact: bool
    digits: int
    ask: dict[str, Any]
    partials: list[str]
    choices: list[tuple[str, list[dict[str, str]]]]
    draws: list[Draw]
    conditions: Conditions
    instructions: str | None = None
    where: str = "template"
    graph_sheet: bool = False  # [worksheet] graph = true: the forward graph without numbers
    rule: Rule = Rule()  # [rule]: when an answer is right (default 3 significant figures)

    def render(self, seed: int) -> tuple[str, list[Fraction]]:
        """The program text of the variant drawn from ``seed``, and the numbers it used."""
        stream = Stream(seed)
        text = self.source
        fills: dict[str, str] = {}
        for _, items in self.choices:
            fills.update(items[stream.below(len(items))])
        text = PLACEHOLDER.sub(lambda m: fills.get(m.group(1), m.group(0)), text)
        numbers: dict[str, tuple[str, list[Fraction]]] = {}
        for d in self.draws:
            numbers[d.name] = d.sample(stream)
        used: list[Fraction] = []

        def put(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in numbers:
                raise ValueInputError(
                    f"{self.where}: ${{{_shown(key)}}} is neither a [choose] nor a [draw] entry"
                )
            written, values = numbers[key]
            used.extend(values)
            return written

        return PLACEHOLDER.sub(put, text), used


# ------------------------------------------------------------------ reading


def _number(raw: Any, where: str) -> Option:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueInputError(f'{where}: expected a number such as 3, 0.5 or "4/5"')
    text = raw if isinstance(raw, str) else repr(raw)
    try:
        n = read_number(text, text)
    except ValueInputError as exc:
        raise ValueInputError(f"{where}: {exc.message}") from None
    if not n.finite:
        raise ValueInputError(f"{where}: {text} is not a finite number")
    assert isinstance(n.value, Fraction)
    return Option(n.value, _write(n.value))


def _write(v: Fraction) -> str:
    """A number as the program language reads it exactly: 3, -2, 4/5, -1/2."""
    if v.denominator == 1:
        return str(v.numerator)
    return f"{v.numerator}/{v.denominator}"


def _range(spec: dict[str, Any], key: str, where: str) -> tuple[Fraction, Fraction]:
    pair = spec[key]
    if not isinstance(pair, list) or len(pair) != 2:
        raise ValueInputError(f"{where}: {key} must be [low, high], such as {key} = [-2, 2]")
    lo = _number(pair[0], f"{where}: {key}").value
    hi = _number(pair[1], f"{where}: {key}").value
    if lo > hi:
        raise ValueInputError(f"{where}: {key} = [{pair[0]}, {pair[1]}]: low is above high")
    return lo, hi


def _whole(spec: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
    v = spec[key]
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ValueInputError(f"{where}: {key} must be a whole number from {low} to {high}")
    return v


def _grid(lo: Fraction, hi: Fraction, step: Fraction, where: str) -> list[Fraction]:
    first = -((-lo) // step)  # ceil
    last = hi // step
    count = last - first + 1
    if count <= 0:
        raise ValueInputError(f"{where}: no number of this kind lies in the range")
    if count > MAX_OPTIONS:
        raise ValueInputError(
            f"{where}: {count} possible numbers; at most {MAX_OPTIONS} (narrow the range)"
        )
    return [k * step for k in range(int(first), int(last) + 1)]


def _draw(name: str, spec: Any, where: str) -> Draw:
    w = f"{where}: [draw] {name}"
    if not IDENTIFIER.fullmatch(name):
        raise ValueInputError(f"{w}: a draw's name must be letters, digits and _ (such as w1)")
    if not isinstance(spec, dict):
        raise ValueInputError(f"{w}: must be a table such as {{ integers = [-3, 3] }}")
    kinds = [k for k in ("integers", "fractions", "decimals", "choices") if k in spec]
    if len(kinds) != 1:
        raise ValueInputError(f"{w}: give exactly one of integers, fractions, decimals, choices")
    kind = kinds[0]
    extra = {"fractions": {"denominator"}, "decimals": {"places"}}.get(kind, set())
    allowed = {kind, "size"} | extra
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueInputError(f"{w}: unknown key(s) {', '.join(unknown)}")
    size = _whole(spec, "size", w, 1, MAX_SIZE) if "size" in spec else None
    options: list[Option]
    if kind == "integers":
        lo, hi = _range(spec, kind, w)
        options = [Option(v, _write(v)) for v in _grid(lo, hi, Fraction(1), w)]
    elif kind == "fractions":
        if "denominator" not in spec:
            raise ValueInputError(f"{w}: fractions need a denominator, such as denominator = 5")
        den = _whole(spec, "denominator", w, 1, 10**6)
        lo, hi = _range(spec, kind, w)
        options = [Option(v, _write(v)) for v in _grid(lo, hi, Fraction(1, den), w)]
    elif kind == "decimals":
        if "places" not in spec:
            raise ValueInputError(f"{w}: decimals need places, such as places = 2")
        places = _whole(spec, "places", w, 0, 12)
        lo, hi = _range(spec, kind, w)
        grid = _grid(lo, hi, Fraction(1, 10**places), w)
        options = [Option(v, _decimal(v, places)) for v in grid]
    else:
        items = spec[kind]
        if not isinstance(items, list) or not items:
            raise ValueInputError(f"{w}: choices must be a non-empty list of numbers")
        options = [_number(item, f"{w}: choices") for item in items]
        if len(options) > MAX_OPTIONS:
            raise ValueInputError(f"{w}: at most {MAX_OPTIONS} choices")
    return Draw(name, tuple(options), size)


def _decimal(v: Fraction, places: int) -> str:
    scaled = v * 10**places
    assert scaled.denominator == 1
    n = scaled.numerator
    sign = "-" if n < 0 else ""
    digits = str(abs(n)).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def _choice(name: str, items: Any, where: str) -> list[dict[str, str]]:
    w = f"{where}: [choose] {name}"
    if not IDENTIFIER.fullmatch(name):
        raise ValueInputError(f"{w}: a choice's name must be letters, digits and _")
    if not isinstance(items, list) or not items:
        raise ValueInputError(f"{w}: must be a non-empty list of texts (or of tables of texts)")
    out: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, str):
            out.append({name: item})
        elif isinstance(item, dict) and item and all(isinstance(v, str) for v in item.values()):
            for key in item:
                if not IDENTIFIER.fullmatch(key):
                    raise ValueInputError(f"{w}: {key!r} is not a placeholder name")
            out.append(dict(item))
        else:
            raise ValueInputError(f"{w}: each item must be text, or a table of texts")
    return out


def _float(v: Any, where: str) -> float:
    """A bound of a condition as the float it is compared with: 1e400 or 10**400 is refused
    (every float is below it), never an OverflowError or a condition no draw can meet."""
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise ValueInputError(
            f"{where}: {decimal_text(v)} is beyond the range of a float (about ±1.8e308)"
        )
    return f


def _conditions(raw: Any, where: str) -> Conditions:
    w = f"{where}: [conditions]"
    if not isinstance(raw, dict):
        raise ValueInputError(f"{w} must be a table")
    known = {"min_gradient", "gradient_of", "range", "defined", "no_kinks", "distinct"}
    known |= {"distinct_numbers", "no_lookalikes", "max_tries"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueInputError(f"{w}: unknown key(s) {', '.join(unknown)}")
    mg = raw.get("min_gradient")
    if mg is not None and (isinstance(mg, bool) or not isinstance(mg, (int, float)) or mg < 0):
        raise ValueInputError(f"{w}: min_gradient must be a number ≥ 0, such as 1e-3")
    of = raw.get("gradient_of")
    if of is not None and (not isinstance(of, list) or not all(isinstance(s, str) for s in of)):
        raise ValueInputError(f"{w}: gradient_of must be a list of names")
    ranges = []
    rng = raw.get("range", {})
    if not isinstance(rng, dict):
        raise ValueInputError(f'{w}: range must be a table, such as {{ "ŷ" = [0.05, 0.95] }}')
    for name, pair in rng.items():
        lo, hi = _range({"range": pair}, "range", f"{w} range {name}")
        ranges.append((name, _float(lo, f"{w} range {name}"), _float(hi, f"{w} range {name}")))
    flags = {}
    for key in ("defined", "no_kinks", "distinct", "no_lookalikes", "distinct_numbers"):
        if key in raw and not isinstance(raw[key], bool):
            raise ValueInputError(f"{w}: {key} must be true or false")
        flags[key] = raw.get(key, key != "distinct_numbers")
    tries = _whole(raw, "max_tries", w, 1, MAX_TRIES) if "max_tries" in raw else 1000
    return Conditions(
        min_gradient=None if mg is None else _float(mg, f"{w}: min_gradient"),
        gradient_of=None if of is None else tuple(of),
        ranges=tuple(ranges),
        defined=flags["defined"],
        no_kinks=flags["no_kinks"],
        distinct=flags["distinct"],
        no_lookalikes=flags["no_lookalikes"],
        distinct_numbers=flags["distinct_numbers"],
        max_tries=tries,
    )


def template_from_dict(data: dict[str, Any], where: str) -> Template:
    """Check every key of a template; a mistake names the table and key."""
    unknown = sorted(set(data) - TEMPLATE_KEYS)
    if unknown:
        hint = ""
        if "values" in unknown:
            hint = " ([values] is not used in templates: write or draw the numbers in source)"
        if "program" in unknown:
            hint = ' (a template writes its program inline: source = """…""")'
        raise ValueInputError(f"{where}: unknown key(s) {', '.join(unknown)}{hint}")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueInputError(f'{where}: source must be the program text, source = """…"""')
    title, exact, digits = header(data, where, exact=True)
    ask = ask_table(data, where, set(ASK_KEYS))
    partials = ask.get("partials", [])
    if not isinstance(partials, list) or not all(isinstance(p, str) for p in partials):
        raise ValueInputError(f'{where}: [ask] partials must be a list such as ["∂ŷ/∂z"]')
    ask = {k: v for k, v in ask.items() if k != "partials"}
    raw_choose = data.get("choose", {})
    if not isinstance(raw_choose, dict):
        raise ValueInputError(f"{where}: [choose] must be a table")
    choices = [(k, _choice(k, v, where)) for k, v in raw_choose.items()]
    raw_draw = data.get("draw", {})
    if not isinstance(raw_draw, dict):
        raise ValueInputError(f"{where}: [draw] must be a table")
    draws = [_draw(k, v, where) for k, v in raw_draw.items()]
    conditions = _conditions(data.get("conditions", {}), where)
    sheet = data.get("worksheet", {})
    if not isinstance(sheet, dict) or sorted(set(sheet) - {"instructions", "graph"}):
        raise ValueInputError(
            f'{where}: [worksheet] takes instructions = "…" and graph = true or false'
        )
    graph_sheet = sheet.get("graph", False)
    if not isinstance(graph_sheet, bool):
        raise ValueInputError(f"{where}: [worksheet] graph must be true or false")
    instructions = sheet.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise ValueInputError(f"{where}: [worksheet] instructions must be text")
    template = Template(
        source,
        title,
        exact,
        digits,
        ask,
        partials,
        choices,
        draws,
        conditions,
        instructions,
        where,
        graph_sheet=graph_sheet,
        rule=rule_from_dict(data.get("rule", {}), f"{where}: [rule]"),
    )
    _check_placeholders(template)
    return template


def _shown(key: str, limit: int = 40) -> str:
    return key if len(key) <= limit else key[: limit - 1] + "…"


def _check_placeholders(t: Template) -> None:
    chosen = {key for _, items in t.choices for item in items for key in item}
    drawn = {d.name for d in t.draws}
    both = sorted(chosen & drawn)
    if both:
        raise ValueInputError(f"{t.where}: {', '.join(both)} is both chosen and drawn")
    texts = [t.source] + [v for _, items in t.choices for item in items for v in item.values()]
    for k, text in enumerate(texts):
        for m in PLACEHOLDER.finditer(text):
            key = m.group(1)
            if key in drawn or (k == 0 and key in chosen):
                continue
            line = t.source.count("\n", 0, m.start()) + 1 if k == 0 else None
            at = f" (source line {line})" if line else " (in a [choose] text)"
            raise ValueInputError(
                f"{t.where}: ${{{_shown(key)}}}{at} is neither a [draw] entry"
                + (" nor a [choose] entry" if k == 0 else "")
            )


def load_template(path: str | Path) -> Template:
    """Read a template file; every mistake is one ``ValueInputError`` naming the file."""
    return template_from_dict(read_toml(path, "exercise template"), str(path))


__all__ = [
    "Conditions",
    "Draw",
    "Option",
    "Template",
    "load_template",
    "template_from_dict",
]
