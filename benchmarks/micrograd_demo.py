"""micrograd's demo training, unchanged, through micrograd 0.1.0 and through chainrule.micrograd.

Run from the repository root:  .venv/bin/python benchmarks/micrograd_demo.py  [--quick] [--no-write]

The code timed is the optimization loop of micrograd's demo.ipynb (the loss function with its
"inline DataLoader", zero_grad, backward, the SGD update with its decaying learning rate),
copied once and run with either library's ``Value`` and ``MLP``: only the import differs. Both
start from the same weights (the same ``random.seed(1337)``), and the losses of every step must
agree to 1e-12 (relative). Steps alternate between the two libraries, each after
gc.collect(); the table gives the best step of each (as benchmarks/scalar.py does: the least
disturbed by other work on the machine) and the median beside it.

Two inputs: the demo as written, whose ``make_moons`` rows are numpy float64 numbers (micrograd
then computes with numpy scalars, which is slow), and the same points as Python floats (the
kinder case for micrograd). Wall time and the process's CPU time are both reported: on a
shared machine the CPU time is the steadier of the two.

The results table is written into benchmarks/RESULTS.md between the micrograd markers.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import micrograd.engine as mg_engine
import micrograd.nn as mg_nn
import numpy as np
from results import RESULTS, write_section

import chainrule as cr
import chainrule.micrograd as crm
import chainrule.micrograd.nn as crm_nn


def demo(Value: Any, MLP: Any, as_floats: bool) -> Callable[[int], float]:
    """micrograd's demo.ipynb, set up as in the notebook; returns its step k."""
    from sklearn.datasets import make_moons

    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # make y be -1 or 1
    if as_floats:
        X, y = X.tolist(), y.tolist()
    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    def loss() -> tuple[Any, float]:
        Xb, yb = X, y
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        # forward the model to get scores
        scores = list(map(model, inputs))
        # svm "max-margin" loss
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    def step(k: int) -> float:
        # forward
        total_loss, acc = loss()
        # backward
        model.zero_grad()
        total_loss.backward()
        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return float(total_loss.data)

    return step


def measure(steps: int, as_floats: bool) -> dict[str, Any]:
    mg = demo(mg_engine.Value, mg_nn.MLP, as_floats)
    cr_ = demo(crm.Value, crm_nn.MLP, as_floats)
    wall: dict[str, list[float]] = {"mg": [], "cr": []}
    cpu: dict[str, list[float]] = {"mg": [], "cr": []}
    worst = 0.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))  # micrograd sorts its graph recursively
    try:
        for k in range(steps):
            losses = {}
            for who, step in (("mg", mg), ("cr", cr_)):
                gc.collect()
                w0, c0 = time.perf_counter(), time.process_time()
                losses[who] = step(k)
                wall[who].append(time.perf_counter() - w0)
                cpu[who].append(time.process_time() - c0)
            worst = max(worst, abs(losses["mg"] - losses["cr"]) / abs(losses["mg"]))
    finally:
        sys.setrecursionlimit(limit)
    assert worst <= 1e-12, f"the losses differ by {worst:.3g} (relative)"
    med = statistics.median
    return {
        "mg_wall": min(wall["mg"]),
        "cr_wall": min(wall["cr"]),
        "mg_cpu": min(cpu["mg"]),
        "cr_cpu": min(cpu["cr"]),
        "mg_wall_med": med(wall["mg"]),
        "cr_wall_med": med(wall["cr"]),
        "worst": worst,
        "loss": losses["cr"],
    }


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}); Python {platform.python_version()}; "
        f"micrograd {metadata.version('micrograd')}; chainrule {cr.__version__}; "
        f"load average when run {load}"
    )


def report(rows: dict[str, dict[str, Any]], steps: int, cmd: str) -> str:
    lines = [
        "### micrograd's demo through chainrule.micrograd (issue 14)",
        "",
        f"- machine: {machine()}",
        f"- command: `{cmd}`",
        f"- demo.ipynb's training step (MLP 2-16-16-1, 100 points, max-margin + L2, SGD),"
        f" unchanged but for the import; best of {steps} alternating steps, each after"
        " gc.collect() (the median's speed-up in the last column)",
        "",
        "| inputs | micrograd ms (wall) | chainrule ms (wall) | speed-up (wall) "
        "| micrograd ms (CPU) | chainrule ms (CPU) | speed-up (CPU) | speed-up (median wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows.items():
        lines.append(
            f"| {label} | {r['mg_wall'] * 1e3:.1f} | {r['cr_wall'] * 1e3:.1f} | "
            f"{r['mg_wall'] / r['cr_wall']:.1f}× | {r['mg_cpu'] * 1e3:.1f} | "
            f"{r['cr_cpu'] * 1e3:.1f} | {r['mg_cpu'] / r['cr_cpu']:.1f}× | "
            f"{r['mg_wall_med'] / r['cr_wall_med']:.1f}× |"
        )
    worst = max(r["worst"] for r in rows.values())
    lines += [
        "",
        f"The losses of every step agree to {worst:.1e} (relative). The demo feeds numpy"
        " float64 numbers (make_moons' rows); with Python floats micrograd is faster, so that"
        " row is the like-for-like figure.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 steps, printed only")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    steps = 3 if args.quick else 25
    rows = {
        "as in the demo (numpy floats)": measure(steps, as_floats=False),
        "Python floats": measure(steps, as_floats=True),
    }
    for label, r in rows.items():
        print(
            f"{label}: micrograd {r['mg_wall'] * 1e3:.1f} ms, chainrule "
            f"{r['cr_wall'] * 1e3:.1f} ms per step; speed-up {r['mg_wall'] / r['cr_wall']:.1f}× "
            f"(wall), {r['mg_cpu'] / r['cr_cpu']:.1f}× (CPU)"
        )
    cmd = " ".join([".venv/bin/python", "benchmarks/micrograd_demo.py", *sys.argv[1:]])
    section = report(rows, steps, cmd)
    if args.quick or args.no_write:
        print(section)
    else:
        write_section("micrograd", section)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
