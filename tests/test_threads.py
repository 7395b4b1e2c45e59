"""Threads: graphs built and differentiated in several threads at once give the same numbers as
when each is built alone.

Every gallery program (69 programs students write: scalars, vectors, matrices, losses) is
parsed, run backward, and for scalar outputs differentiated twice more as a graph (``grad``), in
float and in exact arithmetic, first one after the other, then all at once on a pool of eight
threads with the interpreter switching threads every microsecond, three rounds over. Node
numbering (a process-wide counter), the op table's caches and sympy's cache are shared by
every thread; the numbers must not notice."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.errors import ChainruleError

GALLERY = sorted((Path(__file__).parent / "gallery").glob("*.cr"))
JOBS = [(p.read_text(encoding="utf-8"), exact) for p in GALLERY for exact in (False, True)]


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return tuple(_plain(x) for x in v.reshape(-1)), v.shape
    return repr(v)  # exact values compare by their exact text, floats bit for bit


def numbers(job: tuple[str, bool]) -> Any:
    """Every named value and gradient, and two more derivatives of a scalar output."""
    text, exact = job
    try:
        graph = cr.parse(text, exact=exact)
        graph.backward()
    except ChainruleError as exc:
        return ("error", str(exc))
    out: list[Any] = []
    for name, node in sorted(graph.names.items()):
        out.append((name, _plain(node.value), _plain(node.grad)))
    inputs = [n for n in cr.topo_order(graph.output) if n.op.name == "input" and not n.shape]
    if graph.output.shape == () and inputs:
        try:
            first = cr.grad(graph.output, inputs[0])
            out.append(("d2", _plain(cr.grad(first, inputs[0]).value)))
        except ChainruleError as exc:
            out.append(("d2-error", str(exc)))
    return out


@pytest.fixture()
def fast_switching() -> Any:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_gallery_programs_in_eight_threads_give_the_numbers_they_give_alone(
    fast_switching: None,
) -> None:
    assert len(JOBS) >= 100
    alone = [numbers(job) for job in JOBS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            order = list(range(len(JOBS)))
            np.random.default_rng(len(order)).shuffle(order)
            together = dict(zip(order, pool.map(numbers, [JOBS[i] for i in order]), strict=True))
            for i, job in enumerate(JOBS):
                assert together[i] == alone[i], f"program {GALLERY[i // 2].name}, exact={job[1]}"


def test_one_graph_differentiated_as_a_graph_in_threads_at_once(fast_switching: None) -> None:
    """``grad`` only reads the graph it differentiates, so threads may share one graph."""
    x = cr.var(0.7, name="x")
    w = cr.var(np.array([0.5, -1.5, 2.0]), name="w")
    y = cr.sum(cr.tanh(w * x) * cr.sigmoid(w)) + cr.log(x * x + 1)
    want = cr.grad(cr.grad(y, x), x).value

    def second() -> float:
        return float(cr.grad(cr.grad(y, x), x).value)

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda _: second(), range(64)))
    assert all(g == want for g in got)


def test_exact_decimals_stay_right_while_other_threads_evaluate_at_other_precisions(
    fast_switching: None,
) -> None:
    """sympy evaluates irrational numbers inside mpmath precision scopes, which are
    process-wide; without chainrule's lock a thread's tanh(1/2) came back at the precision another
    thread had asked for (about 60 wrong floats in 8,000 on two cores)."""
    import sympy

    from chainrule.core.values import decimal, to_float

    half = sympy.tanh(sympy.Rational(1, 2))
    want = to_float(half)
    assert abs(want - np.tanh(0.5)) < 1e-16

    def job(i: int) -> bool:
        if i % 2:
            return bool(to_float(sympy.tanh(sympy.Rational(1, 2))) == want)
        decimal(sympy.tanh(sympy.Rational(i, 7)), 3)
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(job, range(8000)))
    assert results.count(False) == 0
