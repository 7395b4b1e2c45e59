"""Ctrl-C while the ``chainrule`` command is still importing (numpy, sympy: about 0.3 s).

The command's ``main`` turns an interrupt into "chainrule: interrupted" and exit status 130,
but an interrupt that comes while the package is being imported, before ``main`` runs, was a
KeyboardInterrupt traceback and a death by signal. This module is imported first by the
package; only when the process is the ``chainrule`` command (``python -m chainrule`` or the
installed script) does it install an exception hook that ends such an interrupt the same way
as ``main``. Importing chainrule as a library changes nothing."""

from __future__ import annotations

import os
import sys
from types import TracebackType


def running_as_command() -> bool:
    """True in ``python -m chainrule …`` and in the installed ``chainrule`` script."""
    orig = list(getattr(sys, "orig_argv", []))
    if "-m" in orig:
        k = orig.index("-m")
        return k + 1 < len(orig) and orig[k + 1] in ("chainrule", "chainrule.cli")
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in ("chainrule", "chainrule.exe")


def _hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        try:
            sys.stderr.write("chainrule: interrupted\n")
            sys.stderr.flush()
        finally:
            os._exit(130)
    _previous(kind, value, tb)


_previous = sys.excepthook
if running_as_command() and not getattr(sys.excepthook, "_chainrule", False):
    _hook._chainrule = True  # type: ignore[attr-defined]
    sys.excepthook = _hook
