"""When a bug escapes: one paragraph for the user, the traceback in a file for the report.

A user mistake is a ``ChainruleError`` (exit status 2); anything else is chainrule's own fault.
The user then sees one paragraph naming a report file in the temporary directory, and the
command exits with status 1; ``--debug`` prints the traceback instead."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence

from .. import __version__

INTERNAL_ERROR = 1


def _report_text(exc: BaseException, argv: Sequence[str], version: str) -> str:
    lines = [
        f"chainrule {version} internal error",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"command: chainrule {' '.join(argv)}",
        f"python: {sys.version.split()[0]} on {platform.platform()}",
        "",
        "".join(traceback.format_exception(exc)),
    ]
    return "\n".join(lines)


def write_report(exc: BaseException, argv: Sequence[str], version: str) -> str | None:
    """The traceback written to a new file in the temporary directory; its path, or None when
    no file could be written."""
    import tempfile  # (it loads random and shutil): only when a bug has escaped

    try:
        fd, path = tempfile.mkstemp(prefix="chainrule-crash-", suffix=".txt")
    except OSError:
        return None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as out:
            out.write(_report_text(exc, argv, version))
    except OSError:
        return None
    return path


def report_internal_error(
    exc: BaseException, argv: Sequence[str], command: str, *, debug: bool
) -> int:
    """Tell the user a bug escaped (one paragraph, or the traceback with ``--debug``)."""
    what = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    if len(what) > 300:
        what = what[:297] + "..."
    head = f"chainrule: internal error in chainrule {__version__} while {command} ({what})"
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
        print(f"{head}; this is a bug in chainrule, please report it.", file=sys.stderr)
        return INTERNAL_ERROR
    path = write_report(exc, argv, __version__)
    if path is None:
        traceback.print_exception(exc, file=sys.stderr)
        print(f"{head}; please report it with the traceback above.", file=sys.stderr)
        return INTERNAL_ERROR
    print(
        f"{head}; this is a bug in chainrule, not a mistake of yours: please report it with "
        f"the file {path} (run again with --debug to see the traceback here).",
        file=sys.stderr,
    )
    return INTERNAL_ERROR
