"""What several subcommands share: reading a program, ``--at`` values, and output choices."""

from __future__ import annotations

import argparse
import math
import sys
from fractions import Fraction
from typing import Any, TextIO

import numpy as np

from ..core import limits
from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.values import read_value
from ..io.files import read_text

TORCH_HELP = (
    "a PyTorch model instead of a program: FILE.py:FACTORY names a Python file and a "
    "function in it returning (model, inputs). The file is executed: name only code you trust"
)


def add_program_args(parser: argparse.ArgumentParser, *, torch: bool = False) -> None:
    parser.add_argument(
        "program",
        metavar="PROGRAM",
        nargs="?" if torch else None,
        help="a program file, or - for standard input",
    )
    if torch:
        parser.add_argument("--torch", metavar="FILE.py:FACTORY", help=TORCH_HELP)
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an input (3, -0.25, 4/5, [1,1]); overrides the program's assignment",
    )
    parser.add_argument(
        "--output", metavar="NAME", help="the output node (default: the last assigned)"
    )
    parser.add_argument("--exact", action="store_true", help="exact arithmetic: 4/5 stays 4/5")
    from .documents import add_document_args  # not needed by the demo

    add_document_args(parser)  # exercises written in LaTeX or Markdown (docs/latex.md)


def parse_at(items: list[str], *, exact: bool = False) -> dict[str, Any]:
    """``--at NAME=VALUE`` values, written as a program or a claim writes numbers (−1 with
    the typographic minus, 0,5 with a decimal comma). In float arithmetic a number that would
    become 0 or ±inf is refused rather than changed."""
    values: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueInputError(f"--at {item!r}: expected NAME=VALUE, such as --at x=4/5")
        name, text = item.split("=", 1)
        name = name.strip()
        if not name:
            raise ValueInputError(f"--at {item!r}: the name is missing")
        text = text.replace("\u2212", "-").strip()
        if not text.startswith("[") and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # a decimal comma, as in claims
        try:
            limits.value_text(text)  # before reading: 1e99999999 or 10⁴ brackets never start
            values[name] = read_value(text)
        except ValueInputError as exc:
            raise ValueInputError(f"--at {name}: {exc.message}") from None
        if not exact:
            _fits_a_float(name, text, values[name])
    return values


def _fits_a_float(name: str, text: str, value: Any) -> None:
    stack, numbers = [value], []
    while stack:  # (nested lists, ragged ones too: the program reports those)
        v = stack.pop()
        if isinstance(v, (list, tuple, np.ndarray)):
            stack.extend(v)
        elif isinstance(v, (int, Fraction)):
            numbers.append(v)
    for v in numbers:
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if v != 0 and (f == 0 or math.isinf(f)):
            what, becomes = ("smaller", "0") if f == 0 else ("larger", "inf")
            raise ValueInputError(
                f"--at {name}={text}: {what} than any float (they reach from about 5e-324 to "
                f"1.8e308), so it would become {becomes}; --exact keeps it exact"
            )


def read_program_text(path: str) -> str:
    """The program text from a file or ``-`` (standard input), read the same way for both."""
    return read_text(path, "program")


def load_graph(args: argparse.Namespace) -> Graph:
    """Parse the PROGRAM argument with --at, --output and --exact applied (or, with --torch,
    convert the PyTorch model a factory returns)."""
    from ..lang.language import parse  # the parser: not for --torch

    spec = getattr(args, "torch", None)
    if spec is not None:
        return _torch_graph(args, spec)
    if args.program is None:
        raise ValueInputError("give a PROGRAM file (or - for standard input), or --torch")

    text = read_program_text(args.program)
    from .documents import document_graph, wants_document  # not needed by the demo

    if wants_document(args):
        return document_graph(
            args,
            text,
            exact=bool(getattr(args, "exact", False)),
            at=parse_at(getattr(args, "at", []) or [], exact=bool(getattr(args, "exact", False))),
            output=getattr(args, "output", None),
        )
    return parse(
        text,
        exact=bool(getattr(args, "exact", False)),
        at=parse_at(getattr(args, "at", []) or [], exact=bool(getattr(args, "exact", False))),
        output=getattr(args, "output", None),
        filename=None if args.program == "-" else args.program,
    )


def _torch_graph(args: argparse.Namespace, spec: str) -> Graph:
    if args.program is not None:
        raise ValueInputError("give either a PROGRAM or --torch, not both")
    if getattr(args, "at", None) or getattr(args, "exact", False):
        raise ValueInputError("--at and --exact apply to programs, not to --torch")
    try:
        from ..torch_bridge.load import graph_from_spec  # torch is optional
    except ImportError as exc:
        raise ValueInputError(
            f"--torch needs PyTorch ({exc}); install it with pip install 'chainrule[torch]'"
        ) from None
    graph = graph_from_spec(spec)
    return torch_output(graph, getattr(args, "output", None), sys.stderr)


def torch_output(graph: Graph, name: str | None, notes: TextIO) -> Graph:
    """The graph of the output asked for (``--output``), by default the model's first; a
    model that returns several tensors (``return logits, loss``) is told so, since the
    gradients shown are of one of them."""
    if name is None:
        if len(graph.outputs) > 1:
            shown = ", ".join(graph.label(n) for n in graph.outputs)
            first = graph.label(graph.output)
            notes.write(
                f"note: the model returned {len(graph.outputs)} tensors ({shown}); the "
                f"gradients are of the first, {first} (--output NAME chooses another)\n"
            )
        return graph
    node = graph.find(name)
    if node is None:
        outs = ", ".join(graph.label(n) for n in graph.outputs)
        raise ValueInputError(
            f"--output {name}: no node of the model is named {name!r} (its outputs: {outs})"
        )
    return Graph(node, modules=graph.modules, aliases=graph.aliases, names_from=graph)


def input_files(args: argparse.Namespace) -> list[str | None]:
    """The files a command reads (never to be overwritten by its output)."""
    spec = getattr(args, "torch", None)
    return [args.program, spec.rpartition(":")[0] if spec else None]


def exercise_text() -> str:
    """The reference exercise's program, shipped with the package."""
    from importlib import resources  # only for the reference exercise

    return resources.files("chainrule").joinpath("data/exercise.cr").read_text(encoding="utf-8")
