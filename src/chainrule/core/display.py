"""Rich display in notebooks: whoever can draw registers a hook here, so the engine core (nodes,
graphs) shows itself without importing the drawing package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_SVG_HOOKS: list[Callable[[Any], str | None]] = []


def register_svg(hook: Callable[[Any], str | None]) -> None:
    """Add a function that turns a node or a graph into SVG (the drawing package adds one)."""
    if hook not in _SVG_HOOKS:
        _SVG_HOOKS.append(hook)


def svg(obj: Any) -> str | None:
    """The SVG of a node or graph from the first hook that gives one; None without hooks."""
    for hook in _SVG_HOOKS:
        out = hook(obj)
        if out is not None:
            return out
    return None
