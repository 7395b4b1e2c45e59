"""Checking a learner's numbers against the true ones, rounding-aware, and finding where a
slip began (``chainrule check``)."""

from __future__ import annotations

from typing import Any

from ..core.graph import Graph
from .claims import Claim, Number, parse_claim, parse_claims, read_claims_file
from .judge import (
    CARRIED_ROUNDING,
    FIRST_SLIP,
    FOLLOWS,
    RIGHT,
    ROUNDING,
    TOO_FEW,
    TRIVIAL,
    WRONG,
    Verdict,
    judge,
    true_value,
)
from .names import Quantity, Resolver
from .report import json_report, text_report
from .rule import Rule, rule_from_args, rule_from_dict


def check(graph: Graph, claims: list[str] | list[Claim], rule: Rule | None = None) -> list[Verdict]:
    """Judge claims such as ``"L=0.06"`` or ``"dL/dz = -0,06"`` against ``graph`` under
    ``rule`` (default: 3 significant figures)."""
    parsed = [c if isinstance(c, Claim) else parse_claim(c) for c in claims]
    return judge(graph, parsed, rule)


def report(
    graph: Graph, verdicts: list[Verdict], *, as_json: bool = False, rule: Rule | None = None
) -> Any:
    names = graph.naming
    if as_json:
        return json_report(verdicts, graph.output, names, rule)
    return text_report(verdicts, graph.output, names, rule=rule)


__all__ = [
    "CARRIED_ROUNDING",
    "FIRST_SLIP",
    "FOLLOWS",
    "RIGHT",
    "ROUNDING",
    "TOO_FEW",
    "TRIVIAL",
    "WRONG",
    "Claim",
    "Number",
    "Quantity",
    "Resolver",
    "Rule",
    "Verdict",
    "check",
    "judge",
    "parse_claim",
    "parse_claims",
    "read_claims_file",
    "report",
    "rule_from_args",
    "rule_from_dict",
    "true_value",
]
