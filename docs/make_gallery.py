"""Render a selection of the gallery (tests/gallery/*.cr) into docs/gallery.md.

    .venv/bin/python docs/make_gallery.py

Each drawing is written as SVG (the picture) and as a PNG thumbnail that links to it, into
docs/images/gallery/; docs/gallery.md lists them with each program's text."""

from __future__ import annotations

from pathlib import Path

import chainrule as cr
from chainrule import draw
from chainrule.draw.writers.png import svg_to_png

HERE = Path(__file__).resolve().parent
GALLERY = HERE.parent / "tests" / "gallery"
IMAGES = HERE / "images" / "gallery"
THUMB = 0.75  # PNG scale: crisp enough to read, small enough for a page

# (program, view, options, what to look at)
SELECTION = [
    (
        "fan-out",
        "gradients",
        {},
        "x feeds x · x twice and f once: three arrows, three local "
        "partials, the total df/dx = 3 + 3 + 1 = 7.",
    ),
    ("cs231n", "gradients", {}, "CS231n's first example: df/dx = df/dy = z = −4, df/dz = q = 3."),
    (
        "cs231n",
        "backward",
        {},
        "The same gradient computed as a graph: df/dx and df/dy are the "
        "forward node z itself, df/dz is q; one connected picture.",
    ),
    (
        "exercise",
        "backward",
        {"exact": True},
        "The reference exercise's gradient graph, simplified for reading: one ŷ − y box, no 2 − 1.",
    ),
    (
        "vector-square",
        "gradients",
        {},
        "A vector output: backpropagation starts from a seed of "
        "ones, the gradient of Σy; both edges into y = x · x carry their own ⊙ product.",
    ),
    (
        "vector-broadcast",
        "gradients",
        {},
        "A scalar broadcast over a vector: its edge sums the products, Σ(…).",
    ),
    (
        "cs231n-sigmoid",
        "gradients",
        {},
        "CS231n's sigmoid neuron written out operation by operation.",
    ),
    ("relu-kink", "gradients", {}, "relu at its kink: chainrule takes the subgradient 0."),
    ("reassign", "forward", {}, "A name assigned twice: both nodes are drawn."),
    ("softmax-ce", "gradients", {}, "Softmax and cross-entropy written by hand."),
    (
        "net-2-2-1",
        "gradients",
        {"expand": True, "max_width": 1920},
        "A 2-2-1 network drawn element by element, at most 1920 px wide.",
    ),
    (
        "net-2-3-2-1",
        "forward",
        {"expand": True, "max_width": 1920},
        "A 2-3-2-1 network with tanh, relu and a sigmoid output, element by element.",
    ),
]


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Gallery",
        "",
        "Programs students write, drawn by `chainrule draw`. Every program of the gallery",
        "(`tests/gallery/*.cr`) is run by the test suite through eval, every drawing, every",
        "worked solution and check; this page shows a selection. Click a picture for its SVG.",
        "Regenerate with `.venv/bin/python docs/make_gallery.py`.",
        "",
    ]
    for name, view, options, note in SELECTION:
        source = (GALLERY / f"{name}.cr").read_text(encoding="utf-8")
        program = "\n".join(line for line in source.splitlines() if not line.startswith("#"))
        exact = bool(options.get("exact"))
        drawing_options = {k: v for k, v in options.items() if k != "exact"}
        g = cr.parse(program, exact=exact)
        stem = f"{name}-{view}"
        svg = draw.to_svg(g, view, **drawing_options)
        (IMAGES / f"{stem}.svg").write_text(svg, encoding="utf-8")
        (IMAGES / f"{stem}.png").write_bytes(svg_to_png(svg, THUMB))
        flags = " --exact" if exact else ""
        if drawing_options.get("expand"):
            flags += " --expand"
        if drawing_options.get("max_width"):
            flags += f" --max-width {drawing_options['max_width']}"
        lines += [
            f"## {name} ({view})",
            "",
            note,
            "",
            "```",
            program,
            "```",
            "",
            f"`chainrule draw tests/gallery/{name}.cr --view {view}{flags} -o {stem}.svg`",
            "",
            f"[![{name}, {view} view](images/gallery/{stem}.png)](images/gallery/{stem}.svg)",
            "",
        ]
    (HERE / "gallery.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
