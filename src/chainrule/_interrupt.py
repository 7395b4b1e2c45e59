"""Ctrl-C while the ``chainrule`` command is still starting (importing numpy, sympy: about
0.3 s).

The command's ``main`` turns an interrupt into "chainrule: interrupted" and exit status 130,
but an interrupt that came while the package was being imported, before ``main`` ran, was a
KeyboardInterrupt traceback and a death by signal — or, landing inside numpy's own C import,
an ImportError and exit 1. This module is the package's first import (``chainrule/__init__``
imports it before anything else, for ``python -m chainrule`` and the installed script alike);
only when the process is the ``chainrule`` command does it install a SIGINT handler that ends
the process at once, the same way as ``main``, whatever code is running, until ``main`` runs:
inside ``main`` the handler raises KeyboardInterrupt as Python's own does, so ``main`` and the
bundle commit clean up as before. Importing chainrule as a library changes nothing.

What comes before this module runs is Python's alone (see docs/reliability.md): start-up until
Python installs its handler (the process then dies by the signal, which a shell reports as 130
too), then ``site`` and the ``.pth`` files, ``runpy`` for ``-m``, and the search for the package
(Python's KeyboardInterrupt traceback)."""

from __future__ import annotations

import _signal  # the C module, loaded by Python's start: `signal` would import enum first
import os
import sys

TYPE_CHECKING = False  # typing itself takes milliseconds to import
if TYPE_CHECKING:
    from types import FrameType, TracebackType

MESSAGE = b"chainrule: interrupted\n"


def running_as_command() -> bool:
    """True in ``python -m chainrule …`` and in the installed ``chainrule`` script."""
    orig = list(getattr(sys, "orig_argv", []))
    if "-m" in orig:
        k = orig.index("-m")
        return k + 1 < len(orig) and orig[k + 1] in ("chainrule", "chainrule.cli")
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in ("chainrule", "chainrule.exe")


def _stop() -> None:
    """Say so and end the process with status 130, flushing nothing else (a half-written
    line on standard output is left as it is, as a killed process leaves it)."""
    try:
        os.write(2, MESSAGE)
    finally:
        os._exit(130)


def _in_main(frame: FrameType | None) -> bool:
    """Whether ``chainrule.cli.main`` is on the stack (it handles Ctrl-C itself)."""
    cli = sys.modules.get("chainrule.cli")
    main = getattr(cli, "main", None)
    code = getattr(main, "__code__", None)
    if code is None:
        return False
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _swallows_exceptions(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside the import system's module-lock callback, a weakref
    callback whose exceptions Python prints as "Exception ignored" and drops: an interrupt
    raised there would be lost and the command would go on, so it ends the command at once,
    as before ``main`` (files are committed with Ctrl-C held: ``io/files.py``)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "cb" and code.co_filename == "<frozen importlib._bootstrap>":
            return True
        frame = frame.f_back
    return False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    if _in_main(frame):
        if not _swallows_exceptions(frame):
            raise KeyboardInterrupt
    _stop()


def _hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        _stop()
    _previous(kind, value, tb)


_previous = sys.excepthook
if running_as_command() and not getattr(sys.excepthook, "_chainrule", False):
    _hook._chainrule = True  # type: ignore[attr-defined]
    sys.excepthook = _hook  # a KeyboardInterrupt raised some other way, outside main
    try:
        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, _on_sigint)
    except (ValueError, OSError):  # not the main thread, or not allowed: the hook only
        pass
