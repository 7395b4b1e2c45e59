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
    WRONG,
    Verdict,
    judge,
    true_value,
)
from .names import Quantity, Resolver
from .report import json_report, text_report


def check(graph: Graph, claims: list[str] | list[Claim]) -> list[Verdict]:
    """Judge claims such as ``"L=0.06"`` or ``"dL/dz = -0,06"`` against ``graph``."""
    parsed = [c if isinstance(c, Claim) else parse_claim(c) for c in claims]
    return judge(graph, parsed)


def report(graph: Graph, verdicts: list[Verdict], *, as_json: bool = False) -> Any:
    names = graph.naming
    if as_json:
        return json_report(verdicts, graph.output, names)
    return text_report(verdicts, graph.output, names)


__all__ = [
    "CARRIED_ROUNDING",
    "FIRST_SLIP",
    "FOLLOWS",
    "RIGHT",
    "ROUNDING",
    "WRONG",
    "Claim",
    "Number",
    "Quantity",
    "Resolver",
    "Verdict",
    "check",
    "judge",
    "parse_claim",
    "parse_claims",
    "read_claims_file",
    "report",
    "true_value",
]
