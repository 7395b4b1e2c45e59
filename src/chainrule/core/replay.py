"""What a compiled plan cannot see in the graph it traces, told to it by the code that knows.

A plan replays the numpy calls of one traced run; two things of a step are decided outside its
graph: a constant drawn at random at each call (a dropout mask), which a replay must draw again
as the uncompiled step would, from the same generator; and the mode a model runs in
(``Module.train()``/``eval()``), which decides what the graph is. ``drawn`` tells a trace in
progress how to draw a constant again; ``mode_changed`` counts changes of mode, and a compiled
function traces again after one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# set by ``core/compile.py`` when it loads: ``note(node, redraw, chosen)`` records the node in
# the trace running in this thread, if any
note: Callable[[Any, Callable[[], Any], Any], None] | None = None
_modes = [0]


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
