"""What several subcommands share: reading a program, ``--at`` values, and output choices."""

from __future__ import annotations

import argparse
from importlib import resources
from typing import Any

from .. import limits
from ..errors import ValueInputError
from ..files import read_text
from ..graph import Graph
from ..values import read_value


def add_program_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "program", metavar="PROGRAM", help="a program file, or - for standard input"
    )
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


def parse_at(items: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueInputError(f"--at {item!r}: expected NAME=VALUE, such as --at x=4/5")
        name, text = item.split("=", 1)
        name = name.strip()
        if not name:
            raise ValueInputError(f"--at {item!r}: the name is missing")
        try:
            limits.value_text(text)  # before reading: 1e99999999 or 10⁴ brackets never start
            values[name] = read_value(text)
        except ValueInputError as exc:
            raise ValueInputError(f"--at {name}: {exc.message}") from None
    return values


def read_program_text(path: str) -> str:
    """The program text from a file or ``-`` (standard input), read the same way for both."""
    return read_text(path, "program")


def load_graph(args: argparse.Namespace) -> Graph:
    """Parse the PROGRAM argument with --at, --output and --exact applied."""
    from ..language import parse

    text = read_program_text(args.program)
    return parse(
        text,
        exact=bool(getattr(args, "exact", False)),
        at=parse_at(getattr(args, "at", []) or []),
        output=getattr(args, "output", None),
        filename=None if args.program == "-" else args.program,
    )


def exercise_text() -> str:
    """The reference exercise's program, shipped with the package."""
    return resources.files("chainrule").joinpath("data/exercise.cr").read_text(encoding="utf-8")
