"""``chainrule explore``: one offline HTML page to step through the forward and backward pass,
and change the inputs to watch every number follow."""

from __future__ import annotations

import argparse
import tempfile
import webbrowser
from pathlib import Path
from typing import Any

from ..core.errors import ChainruleError
from ..io.files import check_output, write_file
from .common import add_program_args, input_files, load_graph


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explore",
        help="an interactive page: step through both passes, change inputs (what-if)",
        description="Write one self-contained HTML page (no network access of any kind) that "
        "steps through the forward pass node by node and the backward pass edge by edge, in "
        "the words of `chainrule explain`, with an input box per input that recomputes every "
        "number in the page. Without -o the page is written to a temporary file and opened in "
        "the default browser.",
    )
    add_program_args(p, torch=True)
    p.add_argument("--digits", type=int, default=5, help="significant digits shown (default 5)")
    p.add_argument("-o", "--out", metavar="FILE.html", help="write the page to FILE.html")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--collapse",
        dest="collapse",
        action="store_true",
        default=None,
        help="start with every group (a PyTorch module, a repeated block) closed into one box "
        "(the default above 200 nodes)",
    )
    group.add_argument(
        "--no-collapse",
        dest="collapse",
        action="store_false",
        help="start with every group open (the default up to 200 nodes)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..explorer import explore  # not loaded by --help

    if args.out:
        if not str(args.out).lower().endswith((".html", ".htm")):
            raise ChainruleError(f"-o {args.out}: the page is HTML; give a name ending in .html")
        check_output(args.out, inputs=input_files(args), label=f"-o {args.out}")
    graph = load_graph(args)
    exact = True if args.exact else None
    page = explore(graph, digits=args.digits, exact=exact, collapse=args.collapse)
    if args.out:
        write_file(args.out, page.html, inputs=input_files(args), label=f"-o {args.out}")
        print(f"wrote {args.out}")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="chainrule-explore-"))
    path = folder / "explore.html"
    write_file(path, page.html)
    print(f"wrote {path}")
    webbrowser.open(path.as_uri())
    return 0
