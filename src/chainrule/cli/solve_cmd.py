"""``chainrule solve``: an exercise file in, its whole solution bundle out."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..exercise import load_exercise, solve
from ..io.files import check_bundle_dir
from ..lang.latex import is_document
from .documents import document_exercise


def register(sub: Any) -> None:
    p = sub.add_parser(
        "solve",
        help="write an exercise's solution bundle (Markdown, LaTeX, drawings, JSON)",
        description="Read an exercise file (TOML) and write solution.md, solution.tex, the "
        "forward and gradient drawings (SVG, PNG) and the answers as JSON into a directory.",
    )
    p.add_argument(
        "exercise",
        metavar="EXERCISE",
        help="an exercise file (.toml), or one written in LaTeX or Markdown with maths (.tex, .md)",
    )
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="the directory to write")
    p.add_argument("--force", action="store_true", help="write into a directory that is not empty")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_bundle_dir(args.out, force=args.force, label=f"-o {args.out}")
    if is_document(args.exercise):  # an exercise written in LaTeX or Markdown (docs/latex.md)
        exercise = document_exercise(args.exercise)
    else:
        exercise = load_exercise(args.exercise)
    written, notes = solve(
        exercise, args.out, force=args.force, inputs=[args.exercise], label=f"-o {args.out}"
    )
    for path in written:
        print(path)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
