"""``chainrule`` with no arguments: the reference exercise, every number shown."""

from __future__ import annotations

from ..language import parse
from .common import exercise_text


def run_demo() -> int:
    from .eval_cmd import print_table

    graph = parse(exercise_text(), filename="exercise.cr")
    graph.backward()
    print(
        "The reference exercise: L = (σ(wᵀx + b₀) − y)², x = [1, 1], w = [4/5, 7/5], b₀ = 3/5, y = 1"
    )
    print_table(graph)
    return 0
