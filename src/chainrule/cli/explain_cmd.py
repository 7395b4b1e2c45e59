"""``chainrule explain``: the worked solution of a program, in Markdown (the default), LaTeX or
text; with ``-o FILE`` the extension picks the format, as for ``draw``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ChainruleError
from ..explain import explain
from ..io.files import check_output, write_file
from .common import add_program_args, input_files, load_graph

FORMATS = ("md", "tex", "txt")
DEFAULT_FORMAT = "md"
EXTENSIONS = {".md": "md", ".markdown": "md", ".tex": "tex", ".txt": "txt", ".text": "txt"}


def format_for(fmt: str | None, out: str | None) -> str:
    """The format of a solution: the extension of ``-o`` decides (as ``draw -o`` does), an
    explicit ``--format`` must agree with it, and Markdown is the default."""
    if out is None:
        return fmt or DEFAULT_FORMAT
    ext = Path(out).suffix.lower()
    by_ext = EXTENSIONS.get(ext)
    if by_ext is None:
        if fmt is not None:
            return fmt
        raise ChainruleError(
            f"-o {out}: cannot tell the format from {ext or 'a name without an extension'!r}; "
            "name the file .md, .tex or .txt, or give --format md|tex|txt"
        )
    if fmt is not None and fmt != by_ext:
        raise ChainruleError(
            f"--format {fmt} contradicts -o {out} (a {ext} file is {by_ext}); "
            f"drop --format or name the file .{fmt}"
        )
    return by_ext


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
        choices=FORMATS,
        default=None,
        help="md (the default: Markdown with maths in $…$, for GitHub, Jupyter and most "
        "editors), tex (a document for pdflatex) or txt (plain text); with -o the extension "
        "decides (.md, .tex, .txt), and a --format that contradicts it is an error",
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
    fmt = format_for(args.format, args.out)
    graph = load_graph(args)
    graph.backward()
    text = explain(
        graph,
        fmt,
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
