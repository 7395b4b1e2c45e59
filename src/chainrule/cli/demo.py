"""``chainrule`` with no arguments: the reference exercise's worked solution, and its bundle.

The bundle goes to ``./chainrule-demo/``. Running the demo again replaces its own earlier bundle
(recognised by its marker file) but never writes into a directory it did not create, nor through
a link placed in it (see ``chainrule.io.files``)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..exercise import MARKER, Exercise, solve
from ..explain import explain
from ..io.files import check_bundle_dir
from . import eval_cmd  # its table printer, read when called (a stand-in set on eval_cmd is seen)
from .common import exercise_text

DEMO_DIR = "chainrule-demo"
FOREIGN_HINT = (
    "the demo bundle is not written there (move it away, or run `chainrule solve … -o DIR`)"
)
TITLE = "Exercise 3: backpropagation through a sigmoid neuron"


def demo_exercise() -> Exercise:
    return Exercise(
        source=exercise_text(),
        title=TITLE,
        exact=True,
        digits=5,
        ask_values=["z", "ŷ", "L"],
        ask_gradients=["x", "w", "b₀"],
    )


def run_demo(directory: str | Path = DEMO_DIR) -> int:
    ex = demo_exercise()
    folder = Path(directory)
    check_bundle_dir(folder, marker=MARKER, replace_marked=True, hint=FOREIGN_HINT)
    graph = ex.graph()
    print(
        "The reference exercise: L = (σ(wᵀx + b₀) − y)², "
        "x = [1, 1], w = [4/5, 7/5], b₀ = 3/5, y = 1"
    )
    eval_cmd.print_table(graph)
    print()
    sys.stdout.write(explain(graph, "txt", digits=ex.digits, exact=True, title=TITLE))
    written, notes = solve(ex, folder, own_marker_ok=True, hint=FOREIGN_HINT)
    print()
    print(f"The whole solution (Markdown, LaTeX, drawings, JSON) is in {folder}/:")
    for path in written:
        print(f"  {path.name}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
