"""Reliability benchmark: work that used to grow faster than its input.

- A program on one line against the same program on separate lines (the parser re-encoded the
  whole line per node: 93 s against 7 s for 120,000 statements), and the time per statement at
  n and 4n statements on one line (linear: a ratio near 1).
- A flat sum of 50,000 terms (refused at 3,000 before) against 50,000 statements.
- Exact decimals of sum(softmax(sin(x))) for 4 elements (29 s in `eval --exact`: sympy evaluated
  the shared exponentials once per path) against computing the exact values and gradients.

Prints a table and writes it into benchmarks/RESULTS.md between the reliability markers.
Run: .venv/bin/python benchmarks/reliability.py"""

from __future__ import annotations

import platform
import time

from results import write_section

import chainrule as cr
from chainrule.core import values


def best(f, rounds: int = 3) -> float:
    out = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        out = min(out, time.perf_counter() - t)
    return out


def statements(n: int, sep: str) -> str:
    return sep.join(f"a{i} = {i} * 2" for i in range(n))


def main() -> None:
    rows = []
    n = 20_000
    one = best(lambda: cr.parse(statements(n, "; ")))
    lines = best(lambda: cr.parse(statements(n, "\n")))
    rows.append((f"{n:,} statements: one line / separate lines", one, lines))
    four = best(lambda: cr.parse(statements(4 * n, "; ")), rounds=1)
    four_lines = best(lambda: cr.parse(statements(4 * n, "\n")), rounds=1)
    rows.append((f"{4 * n:,} statements: one line / separate lines", four, four_lines))
    terms = 50_000
    flat = best(lambda: cr.parse("x = 1\ny = " + " + ".join(["x"] * terms)), rounds=1)
    stmts = best(lambda: cr.parse("x = 1\n" + "\n".join(f"y{i} = x + 1" for i in range(terms))), 1)
    rows.append((f"a flat sum of {terms:,} terms / {terms:,} statements", flat, stmts))
    prog = "x = [1, 2, 3, 4]\ny = sum(softmax(sin(x)))"

    def decimals(show: bool) -> None:
        g = cr.parse(prog, exact=True).backward()
        for node in g.nodes if show else ():
            values.decimal(node.value)
            if node.grad is not None:
                values.decimal(node.grad)

    shown = best(lambda: decimals(True))
    computed = best(lambda: decimals(False))
    rows.append(("exact softmax: computed and shown as decimals / computed", shown, computed))

    lines_out = [
        "### Reliability: work that grew faster than its input",
        "",
        f"`.venv/bin/python benchmarks/reliability.py` on {platform.machine()}, Python "
        f"{platform.python_version()} (best of 3 where it says so; the machine is shared).",
        "",
        "| measurement | time | reference | ratio |",
        "|---|---:|---:|---:|",
    ]
    for what, t, ref in rows:
        lines_out.append(f"| {what} | {t:.3f} s | {ref:.3f} s | {t / ref:.2f} |")
    text = "\n".join(lines_out)
    print(text)
    write_section("reliability", text)


if __name__ == "__main__":
    main()
