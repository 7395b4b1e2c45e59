"""One working precision at a time for mpmath, the arbitrary-precision library under sympy.

mpmath keeps its working precision in one process-wide context: ``workprec(n)`` sets it on
entry and restores the old value on exit. sympy's numeric evaluation (``float(expr)``,
``sympy.N``, comparisons of irrational numbers) enters such scopes, so two threads evaluating
exact numbers at once interleave them: one thread's ``tanh(1/2)`` is then computed at the
precision the other asked for, and a wrong decimal comes back without a word. Holding one
reentrant lock for the whole of each scope makes scoped precision changes happen one thread at
a time; code that runs outside any scope is untouched, and one thread pays nothing."""

from __future__ import annotations

import functools
import threading
from typing import Any

LOCK = threading.RLock()


def install() -> None:
    """Wrap mpmath's precision scopes (``with workprec(...)`` and their decorator form); called
    by ``lazy.load_sympy`` when sympy is first imported."""
    from mpmath.ctx_mp import PrecisionManager  # mpmath comes with sympy, loaded on first use

    if getattr(PrecisionManager, "_chainrule_locked", False):
        return
    enter, leave, call = (
        PrecisionManager.__enter__,
        PrecisionManager.__exit__,
        PrecisionManager.__call__,
    )

    def locked_enter(self: Any) -> Any:
        LOCK.acquire()
        try:
            return enter(self)
        except BaseException:
            LOCK.release()
            raise

    def locked_exit(self: Any, *exc: Any) -> Any:
        try:
            return leave(self, *exc)
        finally:
            LOCK.release()

    def locked_call(self: Any, f: Any) -> Any:
        inner = call(self, f)

        @functools.wraps(f)
        def g(*args: Any, **kwargs: Any) -> Any:
            with LOCK:
                return inner(*args, **kwargs)

        return g

    PrecisionManager.__enter__ = locked_enter  # type: ignore[method-assign]
    PrecisionManager.__exit__ = locked_exit  # type: ignore[method-assign]
    PrecisionManager.__call__ = locked_call  # type: ignore[method-assign]
    PrecisionManager._chainrule_locked = True  # type: ignore[attr-defined]
