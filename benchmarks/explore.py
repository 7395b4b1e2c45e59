"""Explorer benchmark: a page for a graph of about 1,000 nodes in headless Chromium.

Measures, in the same Chromium: loading the explorer page (parse, first computation, first
step drawn) against loading the static `chainrule draw` HTML page of the same graph (the
baseline a reader already waits for), the time of one step, and of one what-if change (every
value, gradient, local partial and contribution recomputed and redrawn). Prints a table and
writes it into benchmarks/RESULTS.md between the explore markers.
Run: .venv/bin/python benchmarks/explore.py (needs chromium and Playwright)."""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import chainrule as cr
from chainrule.draw.render import render

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from chromium import browser, missing  # noqa: E402
from results import write_section


def chain(n: int) -> cr.Graph:
    """A deep scalar recurrence v ← 0.9·sin(v) + x (as benchmarks/draw.py), each step named as
    a program names its assignments (explain writes unnamed deep chains out in full)."""
    x = cr.var(0.5, name="x")
    v = x
    for i in range(n // 3):
        v = (cr.sin(v) * 0.9 + x).named(f"h{i}")
    return cr.Graph(v.named("out"))


def load_ms(s, path: Path, ready: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        s.page.goto(path.resolve().as_uri())
        s.page.wait_for_function(ready)
        best = min(best, (time.perf_counter() - t) * 1000)
    return best


def main() -> None:
    why = missing()
    if why:
        sys.exit(f"explore benchmark: {why}")
    g = chain(1000)
    folder = Path(tempfile.mkdtemp(prefix="chainrule-bench-"))
    t = time.perf_counter()
    page = folder / "explore.html"
    cr.explore(g).save(page)
    build_s = time.perf_counter() - t
    print(f"page built in {build_s:.1f} s", flush=True)
    static = folder / "draw.html"
    render(g, static, "gradients")
    with browser() as s:
        explore_ms = load_ms(s, page, "() => window.chainrule !== undefined")
        draw_ms = load_ms(s, static, "() => document.querySelector('svg') !== null")
        s.open(page)
        n = s.js("() => chainrule.steps()")
        step_ms = s.js(
            """n => { const t = performance.now(); for (let i = 0; i < 20; i++)
                 chainrule.step((i * 37) % n); return (performance.now() - t) / 20; }""",
            n,
        )
        whatif_ms = s.js(
            """() => { const t = performance.now(); for (let i = 0; i < 10; i++)
                 chainrule.set('x', 0.5 + i / 100); return (performance.now() - t) / 10; }"""
        )
        assert not s.errors, s.errors
    rows = [
        ("nodes", f"{len(g.nodes)}"),
        ("steps", f"{n}"),
        ("page size", f"{page.stat().st_size / 1e6:.2f} MB"),
        ("build the page in Python", f"{build_s:.2f} s"),
        ("load the explorer page", f"{explore_ms:.0f} ms"),
        ("load the static draw page (baseline)", f"{draw_ms:.0f} ms"),
        ("explorer / static load", f"{explore_ms / draw_ms:.2f}×"),
        ("one step", f"{step_ms:.1f} ms"),
        ("one what-if change", f"{whatif_ms:.1f} ms"),
    ]
    table = "\n".join(f"| {a} | {b} |" for a, b in rows)
    text = (
        "## Explorer\n\n`benchmarks/explore.py` — a 1,000-node scalar graph (sin "
        "recurrence) in headless Chromium (Debian's chromium through Playwright), best of 3 "
        f"loads. Machine: {platform.machine()}, {platform.python_version()}.\n\n"
        f"| measure | value |\n|---|---|\n{table}"
    )
    print(text)
    write_section("explore", text)


if __name__ == "__main__":
    main()
