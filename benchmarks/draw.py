"""Drawing benchmark: time and size of SVG (and PNG) for graphs of about 1,000 nodes, and
programs of about 200 and 1,000 nodes drawn end to end (parse, build, layout, write).

Prints a table and writes it into benchmarks/RESULTS.md between the draw markers, leaving the
rest of that file as it is. Run: .venv/bin/python benchmarks/draw.py"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import write_section

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import layout
from chainrule.draw.limits import DrawingTooLarge
from chainrule.draw.render import encode
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


def recurrence_program(steps: int) -> str:
    """A deep program: v ← tanh(w·v + b) + 0.1·x, ``steps`` times (6 nodes a step)."""
    lines = ["x = 0.5", "w = 1.5", "b = -0.25", "v = x"]
    lines += ["v = tanh(w * v + b) + 0.1 * x"] * steps
    return "\n".join([*lines, "y = v * v"]) + "\n"


def mlp_program(h1: int, h2: int) -> str:
    """A wide program: a 2-h1-h2-1 tanh network written out in scalars, weights as numbers."""
    r = random.Random(0)

    def c() -> str:
        return f"{r.uniform(-1, 1):.2f}"

    lines = ["x1 = 0.5", "x2 = -1.0"]
    lines += [f"h{j} = tanh({c()} * x1 + {c()} * x2 + {c()})" for j in range(h1)]
    for k in range(h2):
        terms = " + ".join(f"{c()} * h{j}" for j in range(h1))
        lines.append(f"g{k} = tanh({terms} + {c()})")
    lines.append("y = " + " + ".join(f"{c()} * g{k}" for k in range(h2)))
    return "\n".join(lines) + "\n"


PROGRAMS = [
    ("recurrence, 32 steps", recurrence_program(32)),
    ("MLP 2-7-5-1 in scalars", mlp_program(7, 5)),
    ("MLP 2-16-16-1 in scalars", mlp_program(16, 16)),
    ("recurrence, 160 steps", recurrence_program(160)),
]


def program_rows() -> list[str]:
    """Each program to SVG and to PNG in this process (parse, build, layout, write; best of
    3), and through the command line once (which adds the interpreter's start-up)."""
    rows = []
    for name, text in PROGRAMS:
        graph = cr.parse(text)
        times: dict[str, float] = {}
        sizes: dict[str, str] = {}
        for ext in (".svg", ".png"):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                try:
                    data = encode(draw.build(cr.parse(text), "forward"), ext)
                except DrawingTooLarge:
                    data = b""
                    break
                best = min(best, time.perf_counter() - t0)
            times[ext] = best
            if ext == ".png":
                sizes[ext] = (
                    f"{int.from_bytes(data[16:20], 'big')} × {int.from_bytes(data[20:24], 'big')}"
                    if data
                    else "refused (too tall to read at 16,000 px)"
                )
        cli = cli_seconds(text)
        png = f"{times['.png']:.2f}" if times[".png"] != float("inf") else "—"
        rows.append(
            f"| {name} | {len(graph)} | {times['.svg']:.2f} | {png} | {sizes['.png']} | "
            f"{cli['.svg']:.2f} | {cli['.png']:.2f} |"
        )
        print(rows[-1])
    return rows


def cli_seconds(text: str) -> dict[str, float]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(tmp) / "p.cr"
        prog.write_text(text, encoding="utf-8")
        for ext in (".svg", ".png"):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "chainrule", "draw", str(prog), "-o", str(prog) + ext],
                capture_output=True,
                env=dict(os.environ),
                check=False,
            )
            out[ext] = time.perf_counter() - t0
    return out


BREAKDOWN = """
import sys, time
t = [time.perf_counter()]
import torch
t.append(time.perf_counter())
import chainrule, chainrule.draw
from chainrule.torch_bridge.load import load_factory
from chainrule.torch_bridge import convert
t.append(time.perf_counter())
model, args, kwargs = load_factory(sys.argv[1])
t.append(time.perf_counter())
import torch.export._trace  # what torch.export imports on first use (torch._dynamo among it)
t.append(time.perf_counter())
ep = convert.export(model, args, kwargs)
t.append(time.perf_counter())
names = convert._argument_names(model, len(args)) + list(kwargs)
graph = convert._Converter(ep, args, kwargs, names).run()
t.append(time.perf_counter())
chainrule.draw.to_svg(graph)
t.append(time.perf_counter())
print(" ".join(f"{b - a:.3f}" for a, b in zip(t, t[1:])))
"""


def torch_rows() -> list[str]:
    """``draw --torch`` and ``explain --torch`` on the zoo's small models against ``python -c
    'import torch'``, interleaved (median of 3 rounds), and where a command's time goes."""
    rows = []
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    zoo = str(Path(__file__).resolve().parents[1] / "examples" / "torch_models.py")

    def wall(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        return time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        for model in ("mlp", "cnn"):
            spec = f"{zoo}:{model}"
            cmds = {
                "import torch": [sys.executable, "-c", "import torch"],
                "draw": [
                    sys.executable,
                    "-m",
                    "chainrule",
                    "draw",
                    "--torch",
                    spec,
                    "-o",
                    f"{tmp}/m.svg",
                ],
                "explain": [
                    sys.executable,
                    "-m",
                    "chainrule",
                    "explain",
                    "--torch",
                    spec,
                    "-o",
                    f"{tmp}/m.md",
                ],
            }
            per: dict[str, list[float]] = {k: [] for k in cmds}
            for _ in range(3):
                for k, cmd in cmds.items():
                    per[k].append(wall(cmd))
            med = {k: sorted(v)[1] for k, v in per.items()}
            parts = subprocess.run(
                [sys.executable, "-c", BREAKDOWN, spec],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            ).stdout.split()
            rows.append(
                f"| {model} | {med['import torch']:.2f} | {med['draw']:.2f} "
                f"({med['draw'] / med['import torch']:.2f}×) | {med['explain']:.2f} "
                f"({med['explain'] / med['import torch']:.2f}×) | {' / '.join(parts)} |"
            )
            print(rows[-1])
    return rows


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
    programs = "\n".join(
        [
            "| program | nodes | to SVG (s) | to PNG (s) | PNG pixels | CLI to SVG (s) "
            "| CLI to PNG (s) |",
            "|---|---:|---:|---:|---|---:|---:|",
            *program_rows(),
        ]
    )
    torch_table = "\n".join(
        [
            "| model | `import torch` (s) | `draw --torch` (s) | `explain --torch` (s) | "
            "where draw's time goes (s): import torch / import chainrule / the factory / "
            "torch.export's own imports / export / conversion / drawing |",
            "|---|---:|---:|---:|---|",
            *torch_rows(),
        ]
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    section = (
        "## Drawing\n\n`benchmarks/draw.py` — build the drawing model, lay it out "
        "(graphviz-pure), write SVG, then PNG (resvg, at the scale the picture needs: 2 within "
        "4 million pixels, down to 0.75 for bigger ones). Compact detail and split leaves apply "
        "automatically above 150 boxes.\n\n"
        f"{table}\n\n"
        "Programs drawn end to end (parse, build, layout, write; best of 3 in one process), and "
        "the same command through the command line once (interpreter start-up and imports "
        f"included). Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load "
        f"average when run {load}.\n\n"
        f"{programs}\n\n"
        "PyTorch commands on the zoo's small models (`examples/torch_models.py`), each command "
        "a fresh interpreter, interleaved with `python -c 'import torch'`, median of 3 rounds:"
        "\n\n"
        f"{torch_table}"
    )
    write_section("draw", section)


if __name__ == "__main__":
    main()
