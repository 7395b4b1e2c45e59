"""The ``chainrule`` command: arguments in, library calls, output out.

Each subcommand lives in its own module of this package with ``register(subparsers)``; this module
only dispatches and turns user mistakes into one paragraph on stderr with exit status 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import ChainruleError

SUBCOMMANDS = ("eval", "draw", "explain", "check", "solve")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is a ChainruleError (exit 2, one paragraph)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ChainruleError(f"{message}\n{self.format_usage().strip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="Computational graphs and backpropagation, every number shown. "
        "Without a command: the reference exercise.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}_cmd":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args_list:
            from .demo import run_demo

            return run_demo()
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help()
            return 0
        return int(args.func(args))
    except ChainruleError as exc:
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    sys.exit(main())
