"""``chainrule solve``: an exercise file in, its whole solution bundle out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ChainruleError
from ..exercise import MARKER, load_exercise, own_bundle, solve
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
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a directory that is not empty (a bundle solve wrote, with none of its "
        "files changed since, is written again without it)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    label = f"-o {args.out}"
    own = False
    if not args.force:
        changed = own_bundle(args.out)  # an earlier bundle of solve's: written again
        if changed:
            raise ChainruleError(
                f"{label}: holds an earlier solution bundle written by chainrule, but "
                f"{', '.join(changed[:5])}{' …' if len(changed) > 5 else ''} changed since; "
                f"use --force to replace {'it' if len(changed) == 1 else 'them'} (files of "
                "other names are kept)"
            )
        own = changed is not None
        if not own and Path(args.out, MARKER).is_file() and not Path(args.out).is_symlink():
            raise ChainruleError(  # a bundle from before the marker held its files' digests
                f"{label}: holds an earlier solution bundle written by chainrule, which cannot "
                "tell whether its files were changed since; use --force to write it again "
                "(files of other names are kept)"
            )
    check_bundle_dir(args.out, force=args.force, marker=MARKER, replace_marked=own, label=label)
    if is_document(args.exercise):  # an exercise written in LaTeX or Markdown (docs/latex.md)
        exercise = document_exercise(args.exercise)
    else:
        exercise = load_exercise(args.exercise)
    written, notes = solve(
        exercise,
        args.out,
        force=args.force,
        own_marker_ok=own,
        inputs=[args.exercise],
        label=label,
    )
    for path in written:
        print(path)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
