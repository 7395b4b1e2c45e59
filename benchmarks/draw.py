"""Drawing benchmark: time and size of SVG (and PNG) for graphs of about 1,000 nodes, and
programs of about 200 and 1,000 nodes drawn end to end (parse, build, layout, write).

Prints a table and writes it into benchmarks/RESULTS.md between the draw markers, leaving the
rest of that file as it is. Run: .venv/bin/python benchmarks/draw.py"""

from __future__ import annotations

import os
import random
import resource
import statistics
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


ROUNDS = 5  # runs of each program and format, in this process and through the command line


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of the children it waited for (the
    layout engine runs as a child)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _env() -> dict[str, str]:
    """The environment of a command as a user runs it: chainrule from this checkout, bytecode
    cached (without it each command would compile chainrule's sources anew)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


GOALS = {".svg": 0.3, ".png": 1.0}  # seconds for a program of about 200 nodes (issue 26)
BIG_PNG_GOAL = 3.0  # seconds for a program of about 1,000 nodes to PNG


def program_rows() -> tuple[list[str], list[str]]:
    """Each program to SVG and to PNG in this process (parse, build, layout, write; median of
    ``ROUNDS``, formats interleaved), and through the command line (interpreter start-up and
    imports included; median of ``ROUNDS``); wall and CPU time. Returns the rows and a line
    per goal saying whether it is met."""
    rows: list[str] = []
    goals: list[str] = []
    for name, text in PROGRAMS:
        graph = cr.parse(text)
        walls: dict[str, list[float]] = {".svg": [], ".png": []}
        cpus: dict[str, list[float]] = {".svg": [], ".png": []}
        sizes: dict[str, str] = {}
        for _ in range(ROUNDS):
            for ext in (".svg", ".png"):
                t0, c0 = time.perf_counter(), _cpu()
                try:
                    data = encode(draw.build(cr.parse(text), "forward"), ext)
                except DrawingTooLarge:
                    data = b""
                walls[ext].append(time.perf_counter() - t0)
                cpus[ext].append(_cpu() - c0)
                if ext == ".png":
                    sizes[ext] = (
                        f"{int.from_bytes(data[16:20], 'big')} × "
                        f"{int.from_bytes(data[20:24], 'big')}"
                        if data
                        else "refused (too tall to read at 16,000 px)"
                    )
        wall = {k: statistics.median(v) for k, v in walls.items()}
        cpu = {k: statistics.median(v) for k, v in cpus.items()}
        refused = sizes[".png"].startswith("refused")
        cli_wall, cli_cpu = cli_seconds(text)
        png = "—" if refused else f"{wall['.png']:.2f} / {cpu['.png']:.2f}"
        rows.append(
            f"| {name} | {len(graph)} | {wall['.svg']:.2f} / {cpu['.svg']:.2f} | {png} | "
            f"{sizes['.png']} | {cli_wall['.svg']:.2f} / {cli_cpu['.svg']:.2f} | "
            f"{cli_wall['.png']:.2f} / {cli_cpu['.png']:.2f} |"
        )
        print(rows[-1])
        size = len(graph)
        for ext, limit in GOALS.items() if size < 400 else [(".png", BIG_PNG_GOAL)]:
            if refused and ext == ".png":
                continue
            met = "met" if wall[ext] < limit else "**missed**"
            cpu_met = "met" if cpu[ext] < limit else "missed"
            goals.append(
                f"- {name} ({size} nodes) to {ext[1:].upper()} < {limit:g} s: {met} on the "
                f"wall clock ({wall[ext]:.2f} s); {cpu_met} in CPU time ({cpu[ext]:.2f} s)"
            )
    return rows, goals


def cli_seconds(text: str) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds of ``chainrule draw`` to SVG and to PNG, each a fresh
    process (formats interleaved)."""
    walls: dict[str, list[float]] = {".svg": [], ".png": []}
    cpus: dict[str, list[float]] = {".svg": [], ".png": []}
    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(tmp) / "p.cr"
        prog.write_text(text, encoding="utf-8")
        for k in range(ROUNDS + 1):
            for ext in (".svg", ".png"):
                t0, c0 = time.perf_counter(), _cpu()
                subprocess.run(
                    [sys.executable, "-m", "chainrule", "draw", str(prog), "-o", str(prog) + ext],
                    capture_output=True,
                    env=env,
                    check=False,
                )
                if k:  # the first round writes the bytecode caches
                    walls[ext].append(time.perf_counter() - t0)
                    cpus[ext].append(_cpu() - c0)
    return (
        {k: statistics.median(v) for k, v in walls.items()},
        {k: statistics.median(v) for k, v in cpus.items()},
    )


BREAKDOWN = """
import sys, time
t = [time.process_time()]
import torch
t.append(time.process_time())
import chainrule, chainrule.draw
from chainrule.torch_bridge.load import load_factory
from chainrule.torch_bridge import convert
t.append(time.process_time())
model, args, kwargs = load_factory(sys.argv[1])
t.append(time.process_time())
ep = convert.export(model, args, kwargs)  # the fast path, or torch.export and its imports
t.append(time.process_time())
names = convert._argument_names(model, len(args)) + list(kwargs)
graph = convert._Converter(ep, args, kwargs, names).run()
t.append(time.process_time())
chainrule.draw.to_svg(graph)
t.append(time.process_time())
how = "torch.export" if "torch._dynamo" in sys.modules else "jit fast path"
print(" / ".join(f"{b - a:.3f}" for a, b in zip(t, t[1:])) + f" ({how})")
"""


def torch_rows() -> tuple[list[str], list[str]]:
    """``draw --torch`` and ``explain --torch`` on the zoo's small models against ``python -c
    'import torch'``, interleaved (median of 3 rounds), and where a command's time goes."""
    rows: list[str] = []
    goals: list[str] = []
    env = _env()
    zoo = str(Path(__file__).resolve().parents[1] / "examples" / "torch_models.py")

    def run(cmd: list[str]) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), _cpu()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        return time.perf_counter() - t0, _cpu() - c0

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
            for cmd in cmds.values():  # warm the file cache and the bytecode caches
                run(cmd)
            per: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
            for _ in range(3):
                for k, cmd in cmds.items():
                    per[k].append(run(cmd))
            med = {k: statistics.median(w for w, _ in v) for k, v in per.items()}
            cpu = {k: statistics.median(c for _, c in v) for k, v in per.items()}
            parts = subprocess.run(
                [sys.executable, "-c", BREAKDOWN, spec],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            ).stdout.strip()
            ref, ref_cpu = med["import torch"], cpu["import torch"]
            rows.append(
                f"| {model} | {ref:.2f} / {ref_cpu:.2f} | {med['draw']:.2f} / {cpu['draw']:.2f} "
                f"({med['draw'] / ref:.2f}× / {cpu['draw'] / ref_cpu:.2f}×) | "
                f"{med['explain']:.2f} / {cpu['explain']:.2f} ({med['explain'] / ref:.2f}× / "
                f"{cpu['explain'] / ref_cpu:.2f}×) | {parts} |"
            )
            print(rows[-1])
            for what in ("draw", "explain"):
                ratio, cpu_ratio = med[what] / ref, cpu[what] / ref_cpu
                goals.append(
                    f"- `{what} --torch` on {model} within 1.5× of `import torch`: "
                    f"{'met' if ratio <= 1.5 else '**missed**'} on the wall clock "
                    f"({ratio:.2f}×); {'met' if cpu_ratio <= 1.5 else 'missed'} in CPU time "
                    f"({cpu_ratio:.2f}×)"
                )
    return rows, goals


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
    load_before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    prog_rows, goals = program_rows()
    programs = "\n".join(
        [
            "| program | nodes | to SVG (s) | to PNG (s) | PNG pixels | CLI to SVG (s) "
            "| CLI to PNG (s) |",
            "|---|---:|---:|---:|---|---:|---:|",
            *prog_rows,
        ]
    )
    t_rows, t_goals = torch_rows()
    torch_table = "\n".join(
        [
            "| model | `import torch` (s) | `draw --torch` (s) | `explain --torch` (s) | "
            "where draw's CPU time goes (s): import torch / import chainrule / the factory / "
            "tracing (the fast path, or torch.export with its imports) / conversion / drawing |",
            "|---|---:|---:|---:|---|",
            *t_rows,
        ]
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    section = (
        "## Drawing\n\n`benchmarks/draw.py` — build the drawing model, lay it out "
        "(graphviz-pure), write SVG, then PNG (resvg, at the scale the picture needs: 2 within "
        "4 million pixels, down to 0.75 for bigger ones). Compact detail and split leaves apply "
        "automatically above 150 boxes.\n\n"
        f"{table}\n\n"
        "Programs drawn end to end (parse, build, layout, write), in one process and through "
        f"the command line (interpreter start-up and imports included), median of {ROUNDS} "
        "runs each, formats interleaved; each cell is wall / CPU seconds (CPU: user + system of "
        "the process and of the layout engine it runs). Machine: "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
        f"{load_before} before, {load} after.\n\n"
        f"{programs}\n\n"
        "Goals (issue 26), from the in-process medians above:\n\n" + "\n".join(goals) + "\n\n"
        "PyTorch commands on the zoo's small models (`examples/torch_models.py`), each command "
        "a fresh interpreter (bytecode cached), interleaved with `python -c 'import torch'`, "
        "median of 3 rounds; wall / CPU seconds and their ratios to `import torch` (goal: "
        "within 1.5×). The breakdown is one more run, in CPU seconds:"
        "\n\n"
        f"{torch_table}\n\n" + "\n".join(t_goals) + "\n\n"
        "Where the PyTorch commands' time went: `torch.export` imports `torch._dynamo` (with "
        "sympy and parts of inductor), about as much CPU as `import torch` itself, before it "
        "traces anything (`make_fx` imports it too). `from_torch` now reads a `torch.jit.trace` "
        "as export's graph where the two agree (`docs/torch.md`, the fast path), and drawings "
        "no longer import matplotlib (text widths come from the font file's own tables)."
    )
    write_section("draw", section)


if __name__ == "__main__":
    main()
