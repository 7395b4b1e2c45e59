"""Building the explorer page in Python: seconds for chains of tanh neurons of about 1,000 to
20,000 nodes, split by phase, in this process.

The phases are the functions ``chainrule.explorer.page`` calls, each timed where it is called
(``derive``: the private copy of the graph with its gradients, and the worked solution's
derivation; ``steps``: the page's steps and groups read off
it; ``program``: the JavaScript of the what-if computation; ``drawing``: draw's boxes and
labels; ``layout``: the layout's Python, each drawing's in a thread of its own from the moment
it is drawn, while the derivation and the steps are worked out;
``graphviz``: the CPU time of Graphviz's processes; ``svg``: draw's SVG writer; ``write``:
everything else, the page's data and the document written). CPU time of the thread each phase
runs in, and wall time of the whole build; best of a few rounds, sizes interleaved. The cost
should grow linearly: the last column is CPU seconds per 1,000 nodes.
Prints a table and writes it into benchmarks/RESULTS.md between the explore-build markers.
Run: .venv/bin/python benchmarks/explore_build.py [--quick] [--no-write] [--sizes 200,2000]"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from explore import tanh_chain  # noqa: E402
from results import write_section  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.explorer import page  # noqa: E402

PHASES = {
    "copy": "with_gradients",
    "derive": "derive",
    "steps": "build_steps",
    "program": "compile_graph",
    "groups": "find_groups",
    "drawing": "build_drawing",
    "layout": "layout",
    "svg": "svg_parts",
}
COLUMNS = ["derive", "steps", "program", "drawing", "layout", "graphviz", "svg", "write"]


def _children() -> float:
    """CPU seconds of this process's finished children (Graphviz)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


@contextmanager
def timed_phases(spent: dict[str, list[float]]) -> Iterator[None]:
    """Each phase's function in ``chainrule.explorer.page`` wrapped to add its [cpu, wall]:
    the CPU time of the thread that runs it (the layouts run in threads of their own, beside
    the steps), Graphviz apart."""
    saved = {name: getattr(page, attr) for name, attr in PHASES.items()}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            c, w = time.thread_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name][0] += time.thread_time() - c
                spent[name][1] += time.perf_counter() - w

        return run

    for name, fn in saved.items():
        setattr(page, PHASES[name], wrap(name, fn))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(page, PHASES[name], fn)


def build_once(g: cr.Graph) -> tuple[dict[str, list[float]], list[float], int]:
    """One page built whole; returns each phase's [cpu, wall], the total (this process and
    Graphviz) and the page size."""
    spent = {name: [0.0, 0.0] for name in PHASES}
    gc.collect()
    main, kids = time.thread_time(), _children()
    c, w = time.process_time(), time.perf_counter()
    with timed_phases(spent):
        html = cr.explore(g).html
    graphviz = _children() - kids
    total = [time.process_time() - c + graphviz, time.perf_counter() - w]
    in_main = sum(spent[k][0] for k in PHASES if k != "layout")
    spent["write"] = [time.thread_time() - main - in_main, 0.0]
    spent["graphviz"] = [graphviz, 0.0]
    groups, copy = spent.pop("groups"), spent.pop("copy")
    spent["steps"] = [spent["steps"][i] + groups[i] for i in (0, 1)]
    spent["derive"] = [spent["derive"][i] + copy[i] for i in (0, 1)]
    return spent, total, len(html)


def measure(sizes: list[int], rounds: int) -> list[dict[str, Any]]:
    graphs = {n: tanh_chain(n) for n in sizes}
    best: dict[int, dict[str, Any]] = {}
    for r in range(rounds):
        for n in sizes if r % 2 == 0 else list(reversed(sizes)):  # interleaved rounds
            spent, total, size = build_once(graphs[n])
            row = best.get(n)
            if row is None or total[0] < row["total"][0]:
                best[n] = {"nodes": len(graphs[n].nodes), "phases": spent, "total": total}
                best[n]["mb"] = size / 1e6
            print(f"  round {r + 1}: {len(graphs[n].nodes)} nodes {total[1]:.2f} s", flush=True)
    return [best[n] for n in sizes]


def table(rows: list[dict[str, Any]]) -> str:
    head = "| nodes | " + " | ".join(COLUMNS) + " | total CPU | total wall | CPU s per 1k nodes |"
    out = [head, "|" + "---:|" * (len(COLUMNS) + 4)]
    for row in rows:
        cells = [f"{row['phases'][k][0]:.2f}" for k in COLUMNS]
        cpu, wall = row["total"]
        per = cpu / row["nodes"] * 1000
        out.append(
            f"| {row['nodes']} | " + " | ".join(cells) + f" | {cpu:.2f} | {wall:.2f} | {per:.3f} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1k and 2k nodes, one round")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--sizes", help="neurons, comma-separated (five nodes a neuron)")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    sizes = [200, 400, 1000, 2000, 4000]
    rounds = a.rounds
    if a.quick:
        sizes, rounds = [200, 400], 1
    if a.sizes:
        sizes = [int(s) for s in a.sizes.split(",")]
    load = os.getloadavg()
    rows = measure(sizes, rounds)
    load_after = os.getloadavg()
    text = (
        "## Building the explorer page\n\n`benchmarks/explore_build.py` — `cr.explore(g).html` "
        "for chains of tanh neurons (`tanh_chain` of `explore.py`, five nodes a neuron, the "
        "page as it opens), in one process; seconds of CPU time by phase, each in its own "
        "thread (each drawing is laid out in a thread of its own from the moment it is drawn, "
        "while the derivation and the steps are worked out), best of "
        f"{rounds} interleaved rounds, and that build's wall time. derive: the private copy "
        "with its gradients and explain's derivation; steps: the page's steps and groups; "
        "program: the what-if JavaScript; drawing, layout, graphviz, svg: draw's boxes, the "
        "layout's Python, Graphviz's processes, the SVG writer (two views); write: the rest, "
        "the page's data and the document. Total CPU: the process's and Graphviz's. Goals: "
        "10,000 nodes under 5 s wall, 1,000 under 0.6 s; "
        f"linear in nodes. Machine: {platform.machine()}, {os.cpu_count()} cores shared, Python "
        f"{platform.python_version()}, load average {load[0]:.1f} before, {load_after[0]:.1f} "
        f"after.\n\n{table(rows)}"
    )
    print(text)
    if not a.no_write and not a.quick and not a.sizes:
        write_section("explore-build", text)


if __name__ == "__main__":
    main()
