"""``no_grad()``: build nodes that need no gradient, as ``torch.no_grad()`` does.

Inside the block every new operation gets ``requires_grad = False``, so ``backward`` sends
nothing through it, and a leaf may be updated in place (``p -= lr * p.grad``). The nodes still
keep their inputs, so a drawing can show how they were computed."""

from __future__ import annotations

import contextlib
from typing import Any

from . import node as _node


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``."""
    return _node._grad_on


class _GradMode(contextlib.ContextDecorator):
    """Sets the mode on entry and restores the one before on exit (nesting, exceptions and
    recursion through a decorated function included)."""

    on = True

    def __init__(self) -> None:
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(_node._grad_on)
        _node._grad_on = self.on

    def __exit__(self, *exc: Any) -> None:
        _node._grad_on = self._saved.pop()


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """``with cr.no_grad(): ...`` (or ``@cr.no_grad()`` on a function): new nodes need no
    gradient."""

    on = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Gradients on again inside a ``no_grad`` block."""

    on = True


def set_grad_enabled(mode: bool) -> _GradMode:
    """``with set_grad_enabled(False):`` is ``no_grad()``; ``True`` is ``enable_grad()``."""
    return enable_grad() if mode else no_grad()


__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]
