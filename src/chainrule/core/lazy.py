"""sympy (and mpmath under it), loaded the first time a feature needs them.

A float program never touches an exact number, and sympy costs more to import than numpy and
the whole engine together; so the modules that use sympy reach it through ``sympy`` here, a
stand-in that imports the real module on first attribute access (and installs the precision
lock before anything can use mpmath). Code that only asks "is this a sympy number?" calls
``is_sympy``, which never imports: no sympy object can exist before sympy is loaded.

For the type checker ``sympy`` is the real module (the stand-in is ``Any`` at run time)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import precision_lock

_loaded: Any = None


def load_sympy() -> Any:
    """The real sympy module, with mpmath's precision scopes locked for threads."""
    global _loaded
    if _loaded is None:
        import sympy as module  # the one place sympy is imported: exact mode, forms, references

        precision_lock.install()
        _loaded = module
    return _loaded


class _LazySympy:
    """Stands for the sympy module; the first attribute read imports it."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(load_sympy(), name)

    def __repr__(self) -> str:
        return "<sympy, imported on first use>"


def is_sympy(x: object) -> bool:
    """``isinstance(x, sympy.Basic)`` without importing sympy (nothing is a sympy object
    before sympy is loaded)."""
    module = sys.modules.get("sympy")
    if module is None:
        return False
    basic = getattr(module, "Basic", None)
    if basic is None or not isinstance(x, basic):
        return False
    if _loaded is None:  # sympy imported by the caller: lock its precision scopes all the same
        load_sympy()
    return True


def function(name: str) -> Callable[..., Any]:
    """sympy's function ``name`` (``exp``, ``log``, ...), looked up when first called, for
    tables built at import time."""
    found: list[Callable[..., Any]] = []

    def call(*args: Any) -> Any:
        if not found:
            found.append(getattr(load_sympy(), name))
        return found[0](*args)

    call.__name__ = call.__qualname__ = name
    return call


if TYPE_CHECKING:
    import sympy
else:
    sympy = _LazySympy()

__all__ = ["function", "is_sympy", "load_sympy", "sympy"]
