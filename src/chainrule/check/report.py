"""A check as people read it (one line per claim, then what went wrong) and as JSON."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..explain.formulas import (
    derivative,
    element_derivative,
    element_label,
    element_partial,
    label,
    num,
    partial_label,
)
from ..lang.naming import Naming
from .inert import inert_text
from .judge import (
    CARRIED_ROUNDING,
    FIRST_SLIP,
    FOLLOWS,
    LOCAL,
    ONE_EDGE,
    RIGHT,
    ROUNDING,
    TOO_FEW,
    TRIVIAL,
    WRONG,
    Verdict,
    as_float,
)
from .names import GRADIENT, PARTIAL, Quantity
from .rule import Rule, rounded_text

_MARK = {RIGHT: "right   ", ROUNDING: "rounding", TOO_FEW: "TOO FEW ", WRONG: "WRONG   "}


def quantity_text(q: Quantity, output_name: Any, names: Naming) -> str:
    """The quantity in the notation of the worked solution: ŷ, x₁, dL/dw₁, ∂ŷ/∂z, with the
    labels of the graph's naming (x′, a₁)."""
    if q.claim_type == GRADIENT:
        m = (
            element_derivative(output_name, q.node, q.index, names)
            if q.index is not None
            else derivative(output_name, q.node, names)
        )
    elif q.claim_type == PARTIAL:
        assert q.top is not None
        m = (
            element_partial(q.top, q.node, q.index, names)
            if q.index is not None
            else partial_label(q.top, q.node, names)
        )
    else:
        m = element_label(q.node, q.index, names) if q.index is not None else label(q.node, names)
    return m.text


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [as_float(v) for v in value.reshape(-1)]
    return as_float(value)


def _claimed(v: Verdict) -> str:
    nums = [inert_text(n.text) for n in v.claim.numbers]
    shape = v.claim.shape
    if (
        v.claim.vector
        and shape is not None
        and len(shape) == 2
        and shape[0] * shape[1] == len(nums)
    ):
        rows = [nums[r * shape[1] : (r + 1) * shape[1]] for r in range(shape[0])]
        return "[" + "; ".join("[" + "; ".join(row) + "]" for row in rows) + "]"
    return "[" + "; ".join(nums) + "]" if v.claim.vector else nums[0]


def _rounded_hint(v: Verdict, rule: Rule) -> str:
    """The true value to the digits the rule asks (what the learner should have written)."""
    if v.claim.vector or isinstance(v.true, np.ndarray):
        return ""
    if v.true.__class__ is not Fraction and not np.isfinite(v.true):
        return ""
    shown = rounded_text(v.true, rule)
    if shown is None:
        return ""
    what = f"{rule.sigfig} significant figure" if rule.sigfig else f"{rule.decdig} decimal"
    plural = "s" if (rule.sigfig or rule.decdig) != 1 else ""
    return f" ({shown} to {what}{plural})"


_READING_NOTES = {
    ONE_EDGE: "as the partial along one edge: the operation takes this input more than once, "
    "and all its edges together give another number",
    LOCAL: "as the local partial of the output's own operation, as ∂ beside d for totals writes it",
}


def as_written(v: Verdict) -> bool:
    """Is the recomputation from the learner's own numbers, rounded as they wrote their number,
    their number itself? Only then may a report say "as you wrote"."""
    rec = v.recomputed
    if rec is None:
        return False
    values = np.asarray(rec, dtype=object).reshape(-1).tolist()
    if len(values) != len(v.claim.numbers):
        return False
    for n, r in zip(v.claim.numbers, values, strict=True):
        if not n.finite:
            return False
        try:
            diff = abs(Fraction(n.value) - Fraction(r))
        except (ValueError, OverflowError, TypeError):
            return False  # nan, inf
        exact = Fraction(1, 10**9) * max(Fraction(1), abs(Fraction(r)))
        room = n.quantum / 2 if n.quantum else exact
        if diff > room * (1 + Fraction(1, 10**9)):
            return False
    return True


def _agreement(v: Verdict) -> str:
    """How the learner's number stands to the recomputation it is said to follow."""
    if as_written(v):
        return ", as you wrote"
    return ", and yours agrees with it only within the rounding of your numbers"


def text_report(
    verdicts: list[Verdict],
    output: Any,
    naming: Naming,
    digits: int = 5,
    rule: Rule | None = None,
) -> str:
    rule = rule or Rule()
    lines = []
    names = {id(v): quantity_text(v.quantity, output, naming) for v in verdicts}
    width = max((len(names[id(v)]) + len(_claimed(v)) for v in verdicts), default=0) + 3
    for v in verdicts:
        claim = f"{names[id(v)]} = {_claimed(v)}"
        true = num(v.true, digits).text
        line = f"{_MARK[v.verdict]}  {claim.ljust(width)}  true {true}"
        if v.verdict == ROUNDING:
            line += "  (one unit off in the last digit: a rounding difference, not an error)"
        if v.verdict == TOO_FEW:
            line += "  (right as far as it goes, but fewer digits than the rule asks)"
        if v.reading in _READING_NOTES:
            line += f"  ({_READING_NOTES[v.reading]})"
        lines.append(line.rstrip())
    wrong = [v for v in verdicts if v.verdict == WRONG]
    for v in wrong:
        where = f" (line {v.claim.line})" if v.claim.line is not None else ""
        head = f"{names[id(v)]} = {_claimed(v)}{where} is wrong: the true value is "
        head += f"{num(v.true, digits).text}{_rounded_hint(v, rule)}."
        own = ""
        if v.recomputed is not None:
            own = f" From your own numbers it would be {num(v.recomputed, digits).text}"
        if v.origin == FIRST_SLIP:
            tail = own + ("; so the slip began here." if own else " The slip began here.")
        elif v.origin == FOLLOWS:
            src = ", ".join(dict.fromkeys(f"{names[id(w)]} = {_claimed(w)}" for w in v.follows))
            tail = own + _agreement(v) + f": it follows from your earlier wrong {src}."
        elif v.origin == CARRIED_ROUNDING:
            why = ": it carries the rounding of your earlier numbers"
            tail = own + _agreement(v) + why + "; keep more digits along the way."
        elif v.origin == TRIVIAL:
            bare = ", but only trivially (a 0 carried from a 0, or a number copied from the givens)"
            tail = own + _agreement(v) + bare + ": it shows no working."
        else:
            tail = ""
        lines.append("")
        lines.append(head + tail)
    few = [v for v in verdicts if v.verdict == TOO_FEW]
    for v in few:
        lines.append("")
        lines.append(
            f"{names[id(v)]} = {_claimed(v)} has too few digits: the true value is "
            f"{num(v.true, digits).text}{_rounded_hint(v, rule)}."
        )
    right = sum(v.verdict == RIGHT for v in verdicts)
    rounding = sum(v.verdict == ROUNDING for v in verdicts)
    slips = [v for v in wrong if v.origin == FIRST_SLIP]
    parts = [f"{right} right", f"{rounding} rounding difference{'s' if rounding != 1 else ''}"]
    if few:
        parts.append(f"{len(few)} with too few digits")
    parts.append(f"{len(wrong)} wrong")
    summary = ", ".join(parts)
    if slips:
        summary += " (first slip" + ("s" if len(slips) > 1 else "") + ": "
        summary += ", ".join(names[id(v)] for v in slips) + ")"
    lines.append("")
    lines.append(rule.describe())
    lines.append(summary + ".")
    return "\n".join(lines) + "\n"


def json_report(
    verdicts: list[Verdict], output: Any, naming: Naming, rule: Rule | None = None
) -> dict[str, Any]:
    rule = rule or Rule()
    items = []
    for v in verdicts:
        items.append(
            {
                "claim": v.claim.text,
                "line": v.claim.line,
                "quantity": quantity_text(v.quantity, output, naming),
                "claim_type": v.quantity.claim_type,
                "claimed": [n.text for n in v.claim.numbers]
                if v.claim.vector
                else v.claim.numbers[0].text,
                "true": _plain(v.true),
                "verdict": v.verdict,
                "reading": v.reading,
                "origin": v.origin,
                "follows": [w.claim.text for w in v.follows],
                "recomputed": _plain(v.recomputed),
            }
        )
    return {
        "ok": all(v.ok for v in verdicts),
        "right": sum(v.verdict == RIGHT for v in verdicts),
        "rounding": sum(v.verdict == ROUNDING for v in verdicts),
        "too_few_digits": sum(v.verdict == TOO_FEW for v in verdicts),
        "wrong": sum(v.verdict == WRONG for v in verdicts),
        "rule": rule.as_dict(),
        "first_slips": [v.claim.text for v in verdicts if v.origin == FIRST_SLIP],
        "claims": items,
    }
