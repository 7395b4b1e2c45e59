"""``chainrule check``: which of a learner's numbers are right, and where a slip began."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..check import judge, parse_claims, read_claims_file, report, rule_from_args
from ..core.errors import ChainruleError
from ..io.jsonout import strict_dumps
from .common import add_program_args, load_graph
from .documents import add_solution_args, run_solution


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="check claimed numbers (L=0.06, dL/dz=-0.06, ...) against the true ones",
        description="Compare claimed values with the true ones under one rule for 'right' "
        "(PrairieLearn's terms; default --sigfig 3: within half a unit of the 3rd significant "
        "digit). One unit off in the last asked digit is a rounding difference; the true value "
        "rounded to fewer digits is 'too few digits'; 0 is never right for a non-zero value. "
        "Exit status 0 when every claim is right (or a rounding difference), 1 otherwise, 2 for "
        "a mistake in the input. Claims may be nan, inf or -inf; vectors [a, b] and matrices "
        "[[a, b], [c, d]].",
    )
    add_program_args(p, torch=True)
    p.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a claim such as L=0.06, yhat=0,94, dL/dz=-0.06, 'grad w1=-0.0062' (repeatable)",
    )
    p.add_argument(
        "--claims",
        metavar="FILE",
        help="a claims file: one NAME=VALUE per line (or several, separated by ;)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_solution_args(p)  # --solution FILE [-o MARKED]: a worked solution as written
    rule = p.add_argument_group("the rule for right (default --sigfig 3)")
    rule.add_argument("--sigfig", type=int, metavar="N", help="N significant figures")
    rule.add_argument("--decdig", type=int, metavar="N", help="N decimal places")
    rule.add_argument("--rtol", type=float, metavar="X", help="relative tolerance")
    rule.add_argument("--atol", type=float, metavar="X", help="absolute tolerance")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.solution:
        return run_solution(args, load_graph(args))
    claims = read_claims_file(args.claims) if args.claims else []
    claims += parse_claims(args.claim, numbered=False)
    if not claims:
        raise ChainruleError("no claims: give --claim NAME=VALUE or --claims FILE")
    rule = rule_from_args(args.sigfig, args.decdig, args.rtol, args.atol)
    graph = load_graph(args)
    verdicts = judge(graph, claims, rule)
    if args.json:
        data = report(graph, verdicts, as_json=True, rule=rule)
        sys.stdout.write(strict_dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(report(graph, verdicts, rule=rule))
    return 0 if all(v.ok for v in verdicts) else 1
