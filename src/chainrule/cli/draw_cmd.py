"""``chainrule draw``: the forward graph, the gradients or the gradient graph of a program.

Without ``-o`` the text drawing is printed; with ``-o FILE`` the extension picks the format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..io.files import check_output, write_file
from .common import add_program_args, input_files, load_graph


def register(sub: Any) -> None:
    from ..draw import FORMATS, VIEWS  # not loaded by --help

    p = sub.add_parser(
        "draw",
        help="draw the graph, its gradients or the gradient graph",
        description="Draw a program's computational graph. The format follows the extension of "
        f"-o FILE ({' '.join(FORMATS)}); without -o the drawing is printed as text.",
    )
    add_program_args(p, torch=True)
    p.add_argument("--view", choices=VIEWS, default="forward", help="what to draw (forward)")
    p.add_argument("-o", "--out", metavar="FILE", help="write the drawing to FILE")
    p.add_argument(
        "--direction",
        choices=("BT", "TB", "LR", "RL"),
        default="BT",
        help="BT: inputs at the bottom (default); TB, LR, RL",
    )
    p.add_argument("--expand", action="store_true", help="one box per element of every vector")
    p.add_argument(
        "--collapse",
        action="append",
        default=None,
        metavar="NAME",
        help="draw the sub-expression NAME (or the module NAME.*) as one box; repeatable "
        "(with --torch, modules of two operations or more are collapsed unless --no-collapse)",
    )
    p.add_argument(
        "--no-collapse",
        action="store_true",
        help="draw every operation of a PyTorch model, its modules opened",
    )
    p.add_argument(
        "--paths-from",
        action="append",
        default=[],
        metavar="NAME",
        help="keep only the paths from input NAME to the output; repeatable",
    )
    colour = p.add_mutually_exclusive_group()
    colour.add_argument(
        "--colour",
        "--color",
        dest="colour",
        action="store_const",
        const=True,
        default=None,
        help="fill boxes by gradient magnitude (vanishing blue, exploding red)",
    )
    colour.add_argument(
        "--no-colour", "--no-color", dest="colour", action="store_const", const=False
    )
    p.add_argument("--detail", choices=("auto", "full", "compact"), default="auto")
    p.add_argument(
        "--max-width",
        type=float,
        metavar="PX",
        help="the widest the drawing may be (pixels, e.g. 1920): wide layers go in rows",
    )
    p.add_argument("--digits", type=int, default=5, help="significant digits (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..draw import build  # not loaded by --help
    from ..draw.render import encode, format_of  # not loaded by --help

    target = Path(args.out) if args.out else None
    if target is not None:
        fmt = format_of(target)
        check_output(target, inputs=input_files(args), label=f"-o {target}")
    graph = load_graph(args)
    drawing = build(
        graph,
        args.view,
        direction=args.direction,
        expand=args.expand,
        collapse=[] if args.no_collapse else args.collapse,
        paths_from=args.paths_from,
        colour=args.colour,
        detail=args.detail,
        digits=args.digits,
        max_width=args.max_width,
    )
    if target is None:
        from ..draw.writers.text import write_text  # one writer per format

        sys.stdout.write(write_text(drawing))
        return 0
    data = encode(drawing, fmt)
    write_file(target, data, inputs=input_files(args), label=f"-o {target}")
    print(f"wrote {target} ({args.view} view, {len(drawing.boxes)} boxes, {len(data)} bytes)")
    if args.max_width:
        _say_if_wider(drawing, float(args.max_width))
    return 0


def _say_if_wider(drawing: Any, max_width: float) -> None:
    """--max-width is met by wrapping labels and laying wide layers out in rows; when that is
    not enough (many labelled arrows into one box), say so rather than let the width pass for
    what was asked."""
    from ..draw.layout import layout  # the drawing modules: only for a drawing

    width = layout(drawing).width
    if width > max_width * 1.02:
        sys.stderr.write(
            f"note: the drawing is {width:.0f} px wide, more than --max-width {max_width:g}: "
            "its widest layer could not be split further (--collapse or --paths-from draw "
            "less of it)\n"
        )
