"""How verdicts become points: points per quantity, and the share of them each verdict earns.

The default follows the rule most exam boards use, error carried forward: a number that follows
correctly from the student's own earlier slip earns its points; only the slip itself loses them.
A scoring file (TOML) changes any of it::

    points = 1                 # every quantity
    [quantity_points]          # some quantities, by the names of the answer key
    L = 2
    "dL/dw1" = 2
    [credit]                   # share of the points for each verdict, from 0 to 1
    follows = 0.5              # half credit for error carried forward
    too_few_digits = 0.5       # the true value rounded to fewer digits than the rule asks
    follows_another_variant = 1  # carried forward in answers that are another variant's
    [rule]                     # the rule for right (default: the class's, from its template)
    sigfig = 3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..check.names import canon
from ..check.rule import Rule, rule_from_dict
from ..core.errors import ValueInputError
from ..io.files import load_toml, read_text

RIGHT = "right"
ROUNDING = "rounding"
TOO_FEW = "too few digits"
EARLY = "rounded too early"
FIRST_SLIP = "first slip"
FOLLOWS = "follows from an earlier slip"
WRONG = "wrong"
MISSING = "missing"
VERDICTS = (RIGHT, ROUNDING, TOO_FEW, EARLY, FIRST_SLIP, FOLLOWS, WRONG, MISSING)
# Not a verdict but a credit: "follows" in answers that match another variant's key (a copied
# neighbour, or a wrong variant id). Carried-forward credit rewards the student's own working
# after their own slip; another variant's numbers are no slip of theirs, so by default it is
# withheld there, the grade saying why (the teacher restores it here, or corrects the id).
FOLLOWS_OTHER = "follows, in another variant's answers"
CREDIT_KEYS = {
    "right": RIGHT,
    "rounding": ROUNDING,
    "too_few_digits": TOO_FEW,
    "rounded_too_early": EARLY,
    "first_slip": FIRST_SLIP,
    "follows": FOLLOWS,
    "follows_another_variant": FOLLOWS_OTHER,
    "wrong": WRONG,
    "missing": MISSING,
}
DEFAULT_CREDIT = {
    RIGHT: 1.0,
    ROUNDING: 1.0,
    TOO_FEW: 0.0,
    EARLY: 1.0,
    FIRST_SLIP: 0.0,
    FOLLOWS: 1.0,
    FOLLOWS_OTHER: 0.0,
    WRONG: 0.0,
    MISSING: 0.0,
}


@dataclass
class Scoring:
    points: float = 1.0
    quantity_points: dict[str, float] = field(default_factory=dict)  # by canonical name
    written: dict[str, str] = field(default_factory=dict)  # canonical name → as written
    credit: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CREDIT))
    rule: Rule | None = None  # None: the class's rule (its manifest's)

    def points_for(self, quantity: str) -> float:
        return self.quantity_points.get(canon(quantity.replace("∂", "d")), self.points)

    def score(self, quantity: str, verdict: str) -> float:
        return self.points_for(quantity) * self.credit[verdict]


def _points(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1e6:
        raise ValueInputError(f"{where} must be a number from 0 to 1000000")
    return float(value)


def scoring_from_dict(data: dict[str, Any], where: str) -> Scoring:
    unknown = sorted(set(data) - {"points", "quantity_points", "credit", "rule"})
    if unknown:
        raise ValueInputError(f"{where}: unknown key(s) {', '.join(unknown)}")
    s = Scoring()
    if "points" in data:
        s.points = _points(data["points"], f"{where}: points")
    qp = data.get("quantity_points", {})
    if not isinstance(qp, dict):
        raise ValueInputError(f"{where}: [quantity_points] must be a table of name = points")
    for name, value in qp.items():
        s.quantity_points[canon(name.replace("∂", "d"))] = _points(
            value, f"{where}: [quantity_points] {name}"
        )
        s.written[canon(name.replace("∂", "d"))] = name
    credit = data.get("credit", {})
    if not isinstance(credit, dict):
        raise ValueInputError(f"{where}: [credit] must be a table such as follows = 0.5")
    for key, value in credit.items():
        if key not in CREDIT_KEYS:
            raise ValueInputError(
                f"{where}: [credit] {key}: unknown (known: {', '.join(CREDIT_KEYS)})"
            )
        share = _points(value, f"{where}: [credit] {key}")
        if share > 1:
            raise ValueInputError(f"{where}: [credit] {key} must be from 0 to 1")
        s.credit[CREDIT_KEYS[key]] = share
    if "rule" in data:
        s.rule = rule_from_dict(data["rule"], f"{where}: [rule]")
    return s


def check_names(scoring: Scoring, quantities: set[str], where: str) -> None:
    """Every name of [quantity_points] must be a quantity of the class (any variant's): a typo
    would otherwise leave that quantity at the default points without a word."""
    known = {canon(q.replace("∂", "d")) for q in quantities}
    unknown = [w for c, w in scoring.written.items() if c not in known]
    if unknown:
        shown = ", ".join(repr(w[:40]) for w in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ValueInputError(
            f"{where}: [quantity_points] {shown}: no quantity of this class has that name "
            f"(its quantities: {', '.join(sorted(quantities)[:12])}"
            f"{' …' if len(quantities) > 12 else ''})"
        )


def load_scoring(path: str | Path | None) -> Scoring:
    if path is None:
        return Scoring()
    text = read_text(path, "scoring file")
    data = load_toml(text, str(path))
    return scoring_from_dict(data, str(path))
