"""``chainrule generate``: exercise variants with worksheets, solutions and answer keys."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.errors import ChainruleError
from ..io.files import check_bundle_dir
from ..teach.folders import refuse_own


def register(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="draw exercise variants: worksheets, solutions, answer key, manifest, LMS exports",
        description="Read an exercise template (the TOML that solve reads, with drawn numbers, "
        "structure choices and conditions) and write one folder per variant (worksheet in "
        "Markdown, LaTeX and PDF; the solution bundle; answers.json), an answer key (CSV, "
        "Markdown, LaTeX, PDF), manifest.json, and exports/: a Gradescope autograder zip, "
        "Moodle Cloze questions (moodle.xml) and a PrairieLearn question folder. The same seed "
        "gives the same bytes.",
    )
    p.add_argument("template", metavar="EXERCISE", help="an exercise template (.toml)")
    p.add_argument("--count", type=int, default=30, metavar="N", help="variants (default 30)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="the class seed (default 0)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="the folder to write")
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    pdfs = p.add_mutually_exclusive_group()
    pdfs.add_argument(
        "--pdf", dest="pdf", action="store_true", default=None, help="require PDFs (pdflatex)"
    )
    pdfs.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip the PDFs")
    p.add_argument(
        "--no-solutions", action="store_true", help="skip the per-variant solution bundles"
    )
    p.add_argument(
        "--roster",
        metavar="CSV",
        help="email,variant per student: the Gradescope autograder grades each student's "
        "submission against their variant",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..teach import pdf  # not loaded by --help
    from ..teach.generate import generate  # not loaded by --help

    label = f"-o {args.out}"
    if args.seed < 0:
        raise ChainruleError(f"--seed {args.seed}: give a whole number 0 or more")
    if args.pdf and not pdf.available():
        raise ChainruleError("--pdf: pdflatex is not installed (or use --no-pdf)")
    refuse_own(args.out, "class folder", ".chainrule-class", args.force, label)
    check_bundle_dir(args.out, force=args.force, label=label)
    written = generate(
        args.template,
        args.out,
        count=args.count,
        seed=args.seed,
        force=args.force,
        pdfs=args.pdf,
        solutions=not args.no_solutions,
        label=label,
        roster=args.roster,
    )
    print(f"{len(written.variants)} variants written to {written.directory}")
    for note in written.notes:
        print(f"note: {note}", file=sys.stderr)
    for warning in written.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
