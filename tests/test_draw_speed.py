"""Big drawings stay the size their content needs: a long chain is drawn straight (its width
does not grow with its length), and a big PNG is rasterised at the scale it needs."""

from __future__ import annotations

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import layout
from chainrule.draw.limits import PNG_PIXEL_BUDGET, READABLE_PNG_SCALE
from chainrule.draw.writers.png import needed_scale, svg_to_png


def recurrence(steps: int) -> cr.Graph:
    lines = ["x = 0.5", "w = 1.5", "b = -0.25", "v = x"]
    lines += ["v = tanh(w * v + b) + 0.1 * x"] * steps
    return cr.parse("\n".join([*lines, "y = v * v"]) + "\n")


def test_a_long_chain_is_drawn_straight_not_as_a_staircase() -> None:
    short = layout(draw.build(recurrence(8), "forward"))
    long = layout(draw.build(recurrence(32), "forward"))
    assert long.height > 3 * short.height  # four times the steps, about four times as tall
    # a staircase drifts sideways by about half a box per step (4,420 pt wide at 32 steps)
    assert long.width < short.width + 100


def blank_svg(width: float, height: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect width="{width}" height="{height}" fill="white"/></svg>'
    )


def test_a_small_picture_keeps_scale_two() -> None:
    assert needed_scale(blank_svg(400, 300), 2.0) == 2.0
    png = svg_to_png(blank_svg(400, 300))
    assert int.from_bytes(png[16:20], "big") == 800  # IHDR width


def test_a_big_picture_is_rasterised_within_the_budget_or_at_the_readable_floor() -> None:
    w, h = 2500.0, 1600.0  # 16 million pixels at scale 2
    s = needed_scale(blank_svg(w, h), 2.0)
    assert READABLE_PNG_SCALE <= s < 2.0
    assert abs(w * h * s * s - PNG_PIXEL_BUDGET) < 0.01 * PNG_PIXEL_BUDGET
    png = svg_to_png(blank_svg(w, h))
    assert int.from_bytes(png[16:20], "big") == round(w * s) or (
        abs(int.from_bytes(png[16:20], "big") - w * s) <= 1
    )
    huge = needed_scale(blank_svg(6000, 4000), 2.0)
    assert huge == READABLE_PNG_SCALE  # never below the floor for the budget's sake
    assert svg_to_png(blank_svg(400, 300), fit=False) == svg_to_png(blank_svg(400, 300))
