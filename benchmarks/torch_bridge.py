"""PyTorch bridge benchmark: convert, run backward on and draw a model of about 1,000 ops.

The model is a stack of small linear + tanh layers (three chainrule nodes per layer: the
weight's transpose, linear, tanh) ending in a mean. Each measurement is best of a few runs in
this process; PyTorch's own forward + backward of the same model is timed beside it, so the
table gives ratios. The model takes from_torch's fast path (torch.jit.trace read as export's
graph); the same conversion through torch.export is timed after it, its first call (which loads
torch._dynamo) apart. torchviz is not run: it needs Graphviz's `dot` program, which these
machines do not have. Prints a table and writes it into benchmarks/RESULTS.md between the
torch markers.

Run: .venv/bin/python benchmarks/torch_bridge.py [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from results import write_section

import chainrule as cr
from chainrule import draw
from chainrule.draw.render import encode
from chainrule.torch_bridge import jit_trace

LAYERS = 333  # 3 ops per layer: about 1,000 ops


def model() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for _ in range(LAYERS):
        layers += [torch.nn.Linear(4, 4), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers), torch.randn(8, 4)


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    net, x = model()

    t = time.perf_counter()
    cr.from_torch(net, x)
    first = time.perf_counter() - t
    fast_used = "torch._dynamo" not in sys.modules
    convert, g = best(lambda: cr.from_torch(net, x), 3)
    # the same model through torch.export, as every model went before the fast path
    jit_trace.program = lambda *_: None  # type: ignore[assignment]
    t = time.perf_counter()
    cr.from_torch(net, x)
    first_export = time.perf_counter() - t
    exported, _ = best(lambda: cr.from_torch(net, x), 3)
    ops = sum(1 for n in g.nodes if n.args)
    back, _ = best(lambda: g.backward(), 5)

    def drawing() -> bytes:
        return encode(draw.build(g, "gradients"), ".svg")

    drawn, svg = best(drawing, 2)

    def torch_step() -> None:
        net.zero_grad()
        net(x).sum().backward()

    torch_time, _ = best(torch_step, 5)
    rows = [
        (
            "first from_torch in the process ("
            + ("the fast path: torch.jit.trace" if fast_used else "torch.export")
            + ")",
            first,
        ),
        ("from_torch (trace + conversion)", convert),
        ("first torch.export in the process (includes loading torch._dynamo)", first_export),
        ("from_torch through torch.export (export + conversion)", exported),
        ("chainrule backward", back),
        ("draw, gradients view, SVG", drawn),
        ("PyTorch forward + backward of the same model", torch_time),
    ]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [
        "## PyTorch bridge",
        "",
        f"`benchmarks/torch_bridge.py` — {LAYERS} Linear(4, 4) + Tanh layers on a batch of 8: "
        f"{ops} chainrule ops, SVG {len(svg):,} bytes. Best of several runs, seconds; the ratio "
        "is to PyTorch's own forward + backward.",
        "",
        "| step | seconds | × PyTorch step |",
        "|---|---:|---:|",
        *(f"| {name} | {sec:.3f} | {sec / torch_time:.3g} |" for name, sec in rows),
        "",
        f"{os.cpu_count()} cores; Python {platform.python_version()}; torch {torch.__version__}; "
        f"load average when run {load}. torchviz not measured (it needs Graphviz's `dot`).",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section("torch", section)


if __name__ == "__main__":
    main()
