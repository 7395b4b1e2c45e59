"""Drawing benchmark: time and size of SVG (and PNG) for graphs of about 1,000 nodes.

Prints a table and writes it into benchmarks/RESULTS.md between the draw markers, leaving the
rest of that file as it is. Run: .venv/bin/python benchmarks/draw.py"""

from __future__ import annotations

import time

import numpy as np
from results import write_section

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import layout
from chainrule.draw.writers.png import svg_to_png
from chainrule.draw.writers.svg import write_svg


def chain(n: int) -> cr.Graph:
    """A deep scalar recurrence v ← 0.9·sin(v) + x: x is used at every step."""
    x = cr.var(0.5, name="x")
    v = x
    for _ in range(n // 3):
        v = cr.sin(v) * 0.9 + x
    return cr.Graph(v.named("out"))


def mlp() -> cr.Graph:
    """A 2-16-16-1 tanh network with a squared loss (drawn expanded to scalars)."""
    rng = np.random.default_rng(0)
    x = cr.const(np.array([0.5, -1.0]), "x")
    w1 = cr.var(rng.normal(size=(16, 2)), name="W1")
    b1 = cr.var(rng.normal(size=16), name="b1")
    w2 = cr.var(rng.normal(size=(16, 16)) / 4, name="W2")
    b2 = cr.var(rng.normal(size=16), name="b2")
    w3 = cr.var(rng.normal(size=(1, 16)) / 4, name="W3")
    b3 = cr.var(rng.normal(size=1), name="b3")
    h = cr.tanh(w2 @ cr.tanh(w1 @ x + b1) + b2)
    return cr.Graph(cr.sum((w3 @ h + b3 - 1.0) ** 2).named("L"))


CASES = [
    ("chain, forward", chain(1000), "forward", {}),
    ("chain, gradients", chain(1000), "gradients", {}),
    ("MLP 2-16-16-1 scalars, forward", mlp(), "forward", {"expand": True}),
    ("MLP 2-16-16-1 scalars, gradients", mlp(), "gradients", {"expand": True}),
]


def main() -> None:
    rows = []
    for name, graph, view, options in CASES:
        t0 = time.perf_counter()
        drawing = draw.build(graph, view, **options)
        t1 = time.perf_counter()
        lay = layout(drawing)
        svg = write_svg(drawing, lay)
        t2 = time.perf_counter()
        png = svg_to_png(svg, min_scale=0.0)  # time the raster even where users are refused
        t3 = time.perf_counter()
        rows.append(
            f"| {name} | {len(graph)} | {len(drawing.boxes)} | {t1 - t0:.2f} | {t2 - t0:.2f} | "
            f"{len(svg.encode()) / 1e6:.2f} | {t3 - t2:.2f} | {len(png) / 1e6:.2f} |"
        )
    table = "\n".join(
        [
            "| graph | nodes | boxes | build (s) | to SVG, total (s) | SVG (MB) | PNG (s) "
            "| PNG (MB) |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    section = (
        "## Drawing\n\n`benchmarks/draw.py` — build the drawing model, lay it out "
        "(graphviz-pure), write SVG, then PNG (resvg). Compact detail and split leaves apply "
        "automatically above 150 boxes.\n\n"
        f"{table}"
    )
    write_section("draw", section)


if __name__ == "__main__":
    main()
