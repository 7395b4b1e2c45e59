"""``chainrule explain``: the worked solution of a program, in Markdown, LaTeX or text."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..explain import explain
from ..io.files import check_output, write_file
from .common import add_program_args, input_files, load_graph


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="a worked solution: forward pass, backpropagation step by step, gradients",
        description="Explain how backpropagation computes the gradient of a program's output: "
        "every value, local partial, chain-rule product and fan-out sum.",
    )
    add_program_args(p, torch=True)
    p.add_argument(
        "--format",
        choices=("md", "tex", "txt"),
        default="txt",
        help="md (maths in $…$ for GitHub and Jupyter), tex (a document for pdflatex) or "
        "txt (default)",
    )
    p.add_argument("--digits", type=int, default=5, help="significant digits shown (default 5)")
    p.add_argument("--title", help="a title for the solution")
    p.add_argument(
        "--drawing",
        action="append",
        default=[],
        metavar="VIEW=PATH",
        help="embed a drawing: forward=forward.svg, gradients=gradients.png",
    )
    p.add_argument("-o", "--out", metavar="FILE", help="write the solution to FILE")
    p.set_defaults(func=run)


def _drawings(items: list[str]) -> dict[str, str]:
    from ..core.errors import ChainruleError

    out = {}
    for item in items:
        view, sep, path = item.partition("=")
        if not sep or view not in ("forward", "gradients") or not path:
            raise ChainruleError(f"--drawing {item!r}: expected forward=PATH or gradients=PATH")
        out[view] = path
    return out


def run(args: argparse.Namespace) -> int:
    if args.out:
        check_output(args.out, inputs=input_files(args), label=f"-o {args.out}")
    graph = load_graph(args)
    graph.backward()
    text = explain(
        graph,
        args.format,
        digits=args.digits,
        exact=True if args.exact else None,
        title=args.title,
        drawings=_drawings(args.drawing),
    )
    if args.out:
        write_file(args.out, text, inputs=input_files(args), label=f"-o {args.out}")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
