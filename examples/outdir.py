"""Where the example scripts write: a directory given on the command line, by default a fresh
``./chainrule-examples/``; never the repository's own root or its source folders."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT = Path("chainrule-examples")
REPOSITORY = Path(__file__).resolve().parent.parent


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=DEFAULT,
        help=f"directory for the files written (default: ./{DEFAULT}/, created if missing)",
    )


def prepare(parser: argparse.ArgumentParser, out: Path) -> Path:
    """Create the directory; refuse the repository's root and its own folders."""
    here = out.resolve()
    inside = {REPOSITORY, *(REPOSITORY / d for d in ("src", "tests", "docs", "examples"))}
    if here in inside:
        parser.error(f"{out}: that is part of the chainrule repository; choose another folder")
    if here.exists() and not here.is_dir():
        parser.error(f"{out}: exists and is not a directory")
    here.mkdir(parents=True, exist_ok=True)
    return out
