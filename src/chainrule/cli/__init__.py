"""The ``chainrule`` command: arguments in, library calls, output out.

Each subcommand lives in its own module of this package with ``register(subparsers)``; this module
only dispatches and turns user mistakes into one paragraph on stderr with exit status 2, and
a bug that escapes into one paragraph naming a report file, with exit status 1 (``crash``)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import __version__
from ..core.errors import ChainruleError
from .crash import report_internal_error
from .terminal import carry_what_the_encoding_can

SUBCOMMANDS = ("eval", "draw", "explain", "explore", "check", "solve", "generate", "grade")


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (``COLUMNS``, else the
    terminal of standard output, else 80), without loading shutil (and bz2, lzma with it) on
    every command: argparse asks for the width whenever it builds a parser."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, at the width argparse would pick itself (``_columns``)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is a ChainruleError (exit 2, one paragraph)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ChainruleError(f"{message}\n{self.format_usage().strip()}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or with ``command`` of that one only: each command's
    module imports what it needs (drawing, teaching, PDF), and ``chainrule eval`` should not
    wait for the others'."""
    parser = _Parser(
        prog="chainrule",
        description="Computational graphs and backpropagation, every number shown. "
        "Without a command: the reference exercise.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an internal error instead of writing it to a file",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS if command is None else (command,):
        try:
            module = importlib.import_module(f"{__name__}.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}_cmd":
                continue
            raise
        module.register(sub)
    return parser


def _command(args_list: list[str]) -> str:
    """What was being done, for the internal-error message: 'running eval' and the like."""
    words = [a for a in args_list if not a.startswith("-")]
    if not args_list:
        return "running the reference exercise"
    return f"running {words[0]}" if words and words[0] in SUBCOMMANDS else "reading the options"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 done, 1 an internal error (or wrong claims for check), 2 a mistake in
    what the user gave, 130 interrupted."""
    carry_what_the_encoding_can()
    given = list(sys.argv[1:] if argv is None else argv)
    cut = given.index("--") if "--" in given else len(given)
    debug = "--debug" in given[:cut]
    args_list = [a for k, a in enumerate(given) if not (a == "--debug" and k < cut)]
    try:
        if not args_list:
            from .demo import run_demo  # cli imports one command's modules only

            return run_demo()
        first = next((a for a in args_list[:cut] if not a.startswith("-")), None)
        parser = build_parser(first if first in SUBCOMMANDS else None)
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help()
            return 0
        # chainrule reports where a value stopped being finite (anomaly); numpy's own
        # "divide by zero" warnings would only repeat it, in words about numpy's internals
        with np.errstate(all="ignore"):
            return int(args.func(args))
    except ChainruleError as exc:
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: reported, not shown as a traceback
        return report_internal_error(exc, given, _command(args_list), debug=debug)


def entry() -> None:
    sys.exit(main())
