"""``chainrule grade``: a class's answers graded against the variants generate wrote."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..io.files import check_bundle_dir
from ..teach.folders import refuse_own


def register(sub: Any) -> None:
    p = sub.add_parser(
        "grade",
        help="grade a class's answers: verdicts, feedback on the first slip, exports",
        description="Grade submissions (a CSV student,variant,quantity,value, a wide CSV with one "
        "column per quantity, or a folder of per-student claim files or worked solutions in "
        "Markdown or LaTeX; optional id and email columns) against the variants in DIR (what "
        "generate wrote), under the class's rule for right (default 3 significant figures). "
        "Writes grades.csv (every student, with a status), verdicts.csv, one feedback page per "
        "student, summary.md with the most common first slips and mistakes by kind, charts, "
        "and exports for Gradescope and Moodle.",
    )
    p.add_argument("directory", metavar="DIR", help="the folder chainrule generate wrote")
    p.add_argument("submissions", metavar="SUBMISSIONS", help="a CSV file or a folder")
    p.add_argument("-o", "--out", required=True, metavar="REPORT_DIR", help="the folder to write")
    p.add_argument("--scoring", metavar="FILE", help="points and credit per verdict (TOML)")
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    p.add_argument(
        "--anyway",
        action="store_true",
        help="grade even when the answers match nothing in DIR (another class's answers?)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..teach.report import write_report  # matplotlib: not loaded by --help

    label = f"-o {args.out}"
    refuse_own(args.out, "report", ".chainrule-report", args.force, label)
    check_bundle_dir(args.out, force=args.force, label=label)
    report = write_report(
        args.directory,
        args.submissions,
        args.out,
        scoring_file=args.scoring,
        force=args.force,
        label=label,
        anyway=args.anyway,
    )
    done = [g for g in report.graded if g.graded]
    missed = len(report.graded) - len(done)
    print(
        f"{len(done)} students graded"
        + (f", {missed} not graded (see grades.csv)" if missed else "")
        + f"; report in {report.directory}"
    )
    if report.warning:
        print(f"WARNING: {report.warning}", file=sys.stderr)
    for problem in report.problems:
        print(f"note: {problem}", file=sys.stderr)
    for g in report.graded:
        for problem in g.problems:
            print(f"note: {g.student}: {problem}", file=sys.stderr)
        for note in g.notes:
            print(f"note: {g.student}: {note}", file=sys.stderr)
    return 0
