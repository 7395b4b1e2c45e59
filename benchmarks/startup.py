"""Start-up benchmark: ``import chainrule`` and ``chainrule eval`` of a small float program,
each as a fresh process, against ``python -c "import numpy"`` in the same run.

Each round runs the three commands one after the other (interleaved, so a change in the shared
machine's load touches all three alike); the table gives the median wall time of each and its
ratio to numpy's. The goal (issue 26): the eval within 1.5× of importing numpy. Writes its table
into benchmarks/RESULTS.md between the startup markers.

Run: .venv/bin/python benchmarks/startup.py [--rounds N] [--quick] (--quick: 5 rounds, print
only)."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import write_section

SRC = Path(__file__).resolve().parent.parent / "src"
PROGRAM = "x = 2.0\nw = -0.5\nb = 0.1\ny = tanh(w * x + b)\nL = (y - 1) ** 2\n"


def commands(program: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        'python -c "import numpy"': [py, "-c", "import numpy"],
        'python -c "import chainrule"': [py, "-c", "import chainrule"],
        "chainrule eval (5-line float program)": [py, "-m", "chainrule", "eval", str(program)],
    }


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--quick", action="store_true", help="5 rounds, print only")
    ap.add_argument("--src", type=Path, default=SRC, help="the src folder to measure (print only)")
    args = ap.parse_args()
    rounds = 5 if args.quick else args.rounds
    env = dict(os.environ, PYTHONPATH=str(args.src))
    # as a user runs it: bytecode cached (the warm-up writes it); without it every command
    # compiles chainrule's sources each time and measures the compiler, not the start-up
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "small.cr"
        program.write_text(PROGRAM, encoding="utf-8")
        cmds = commands(program)
        for cmd in cmds.values():  # warm the file cache and the bytecode caches
            run_once(cmd, env)
        walls: dict[str, list[float]] = {name: [] for name in cmds}
        cpus: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(rounds):
            for name, cmd in cmds.items():
                wall, cpu = run_once(cmd, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall_m = {name: statistics.median(t) for name, t in walls.items()}
    cpu_m = {name: statistics.median(t) for name, t in cpus.items()}
    ref = 'python -c "import numpy"'
    rows = [
        f"| {name} | {1000 * wall_m[name]:.0f} | {1000 * min(walls[name]):.0f} "
        f"| {wall_m[name] / wall_m[ref]:.2f} | {1000 * cpu_m[name]:.0f} "
        f"| {cpu_m[name] / cpu_m[ref]:.2f} |"
        for name in cmds
    ]
    table = "\n".join(
        [
            "| command (a fresh process) | wall, median (ms) | wall, best (ms) | wall / numpy's "
            "| CPU, median (ms) | CPU / numpy's |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = (
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average {load:.1f}"
    )
    print(table)
    print(f"\n{rounds} interleaved rounds; {machine}")
    if args.quick or args.src != SRC:
        return
    section = (
        "## Start-up\n\n`benchmarks/startup.py` — each command as a fresh process, the three run "
        f"one after the other in each of {rounds} rounds; medians, and the ratio to importing "
        "numpy in the same run (goal: `chainrule eval` of a small float program within 1.5×); "
        "CPU time (user + system of the process) is the steadier figure on a shared machine. "
        "Bytecode is cached, as when a user runs the commands (the warm-up round writes it). "
        "`import chainrule` loads neither sympy, rich nor matplotlib, and a float eval none "
        "of tomllib, pathlib, difflib and shutil, which only other commands use "
        "(`tests/test_imports.py` checks both); exact mode, tables with `rich` and plots load "
        f"them when used.\n\nMachine: {machine}.\n\n{table}"
    )
    write_section("startup", section)


if __name__ == "__main__":
    main()
