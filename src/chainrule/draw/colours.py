"""Fills: one per category of box, and a scale for gradient magnitudes.

The gradient scale is logarithmic and diverging, so that vanishing gradients (pale to deep
blue) and exploding ones (orange to red) stand out from healthy ones (pale yellow)."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .model import Box

FILLS = {
    "input": "#dbe9f6",
    "const": "#f2f2f2",
    "op": "#ffffff",
    "output": "#dff2df",
    "group": "#f3e8f7",
    "gradient": "#fde9dc",
    "result": "#fbd3d3",
}
STROKES = {"data": "#333333", "gradient": "#b2182b", "faint": "#9a9a9a"}
TEXT = {"title": "#111111", "value": "#333333", "grad": "#a50f15", "note": "#666666"}

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@lru_cache(maxsize=1)
def _named() -> dict[str, str]:
    """CSS colour names (the 148 that SVG, HTML and matplotlib all know) → #rrggbb."""
    from matplotlib.colors import CSS4_COLORS  # matplotlib, only when a colour is named

    return {name: str(hexa).lower() for name, hexa in CSS4_COLORS.items()}


def parse_colour(value: object) -> str | None:
    """A colour as ``#rrggbb`` (lower case): from ``#rrggbb`` or a CSS colour name; None for
    anything else, so no text but a colour ever reaches a writer."""
    if not isinstance(value, str):
        return None
    if _HEX.fullmatch(value):
        return value.lower()
    return _named().get(value.strip().lower())


def fill_of(box: Box) -> str:
    """The fill a writer paints a box with: its own colour when valid, else its category's."""
    return parse_colour(box.fill) or FILLS.get(box.category, FILLS["op"])


LOW, HIGH = -6.0, 3.0  # log10 |gradient| at the two ends of the scale
_STOPS = [
    (0.0, (49, 54, 149)),
    (0.25, (116, 173, 209)),
    (0.5, (255, 255, 191)),
    (0.75, (253, 174, 97)),
    (1.0, (215, 48, 39)),
]
ZERO = "#d9d9d9"


def magnitude(value: Any) -> float | None:
    """The largest absolute element of a gradient (None when there is none)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        return float(np.max(np.abs(np.asarray([float(v) for v in value.reshape(-1)]))))
    return abs(float(value))


def gradient_fill(value: Any) -> str | None:
    """The colour for a gradient's magnitude on the log scale (grey for exactly zero)."""
    m = magnitude(value)
    if m is None:
        return None
    if m == 0 or not math.isfinite(m):
        return ZERO if m == 0 else "#67001f"
    t = (math.log10(m) - LOW) / (HIGH - LOW)
    return _at(min(1.0, max(0.0, t)))


def _at(t: float) -> str:
    for (t0, c0), (t1, c1) in zip(_STOPS, _STOPS[1:], strict=False):
        if t <= t1:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            r, g, b = (round(a + (b_ - a) * f) for a, b_ in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = _STOPS[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"
