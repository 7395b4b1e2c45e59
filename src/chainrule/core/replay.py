"""What a compiled plan cannot see in the graph it traces, told to it by the code that knows.

A plan replays the numpy calls of one traced run; two things of a step are decided outside its
graph: a constant drawn at random at each call (a dropout mask), which a replay must draw again
as the uncompiled step would, from the same generator; and the mode a model runs in
(``Module.train()``/``eval()``), which decides what the graph is. ``drawn`` tells a trace in
progress how to draw a constant again; ``mode_changed`` counts changes of mode, and a compiled
function traces again after one.

A step may also change nodes outside its graph: an optimizer's ``step()`` updates the
parameters, ``zero_grad()`` clears their gradients. ``replayed`` marks such a method: a trace
records the call, and the plan makes the same call again where ``fn`` made it (the method's
own Python runs, so its state, a momentum or Adam's moments, moves on as uncompiled)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

# set by ``core/compile.py`` when it loads: ``note(node, redraw, chosen)`` records the node in
# the trace running in this thread, if any
note: Callable[[Any, Callable[[], Any], Any], None] | None = None
# set by ``core/compile.py``: ``note_effect(kind, call)`` records ``call`` in the trace running
# in this thread, if any
note_effect: Callable[[str, Callable[[], Any]], None] | None = None
# and ``note_change(node)``: a leaf's value changed in place (``p -= x`` under ``no_grad``)
note_change: Callable[[Any], None] | None = None
# and ``note_setting(owner, name)``: an optimizer's setting changed (``opt.lr = ...``)
note_setting: Callable[[Any, str], None] | None = None
_modes = [0]


class _Depth(threading.local):
    n = 0  # replayed methods running in this thread (one inside another: the outer one counts)


_depth = _Depth()
F = TypeVar("F", bound=Callable[..., Any])


def replayed(kind: str) -> Callable[[F], F]:
    """Mark a method that changes nodes outside the graph: ``kind`` is ``"values"`` (it
    updates parameters: an optimizer's step) or ``"grads"`` (it only sets gradients:
    ``zero_grad``). Inside another replayed method (``SGD.step`` calling ``Optimizer.step``)
    nothing more is recorded."""

    def wrap(method: F) -> F:
        if getattr(method, "replayed", None):
            return method

        @functools.wraps(method)
        def noted(self: Any, *args: Any, **kwargs: Any) -> Any:
            if note_effect is not None and not _depth.n:
                note_effect(kind, functools.partial(method, self, *args, **kwargs))
            _depth.n += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                _depth.n -= 1

        noted.replayed = kind  # type: ignore[attr-defined]
        return noted  # type: ignore[return-value]

    return wrap


def in_replayed() -> bool:
    """Is a replayed method running in this thread (its changes are recorded as its call)?"""
    return _depth.n > 0


def drawn(node: Any, redraw: Callable[[], Any], chosen: Any = None) -> Any:
    """``node`` is a constant drawn at random: ``redraw()`` draws its next value (the same
    calls on the same generator as drawing it again in the uncompiled step). ``chosen`` is a
    generator the caller of the op gave (``rng=``): a plan can draw from it again only if it
    is one of the traced function's arguments (a generator made anew or replaced between calls
    would not be seen)."""
    if note is not None:
        note(node, redraw, chosen)
    return node


def mode_changed() -> None:
    """A model's mode changed (a module's ``training`` flag): plans traced before may hold
    another graph."""
    _modes[0] += 1


def mode() -> int:
    """How many times a mode has changed (a compiled function compares it with its trace's)."""
    return _modes[0]
