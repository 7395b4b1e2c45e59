"""The fuzzing properties, and running the command line on one input within bounds.

``cli_finding`` runs ``chainrule.cli.main`` in this process (no subprocess: thousands of runs a
minute) on one program and one command line, under a deadline (``SIGALRM``), and says what is
wrong, if anything: an exit status other than 0 or 2 (1 from ``check`` only when claims are
wrong), an internal error, a traceback on the output, a run past the deadline, a
``MemoryError`` under the address-space limit that ``limit_memory`` sets. ``agreement_finding``
builds a program in float and exact arithmetic and compares values and gradients.

Both return ``None`` when all is well and a ``Finding`` otherwise, so the test suite can assert
and the long fuzzing run can record and go on."""

from __future__ import annotations

import contextlib
import io
import re
import resource
import signal
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule.cli
from chainrule.core.errors import ChainruleError
from chainrule.core.values import to_float


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so ``except Exception`` in chainrule lets it by."""


@dataclass
class Finding:
    kind: str  # exit-status, internal-error, traceback, hang, memory, warning, disagreement
    detail: str
    argv: list[str]
    program: bytes

    def signature(self) -> str:
        """What two findings of one bug have in common (for counting distinct ones)."""
        head = self.detail.strip().splitlines()[-1] if self.detail.strip() else ""
        head = re.sub(r"\S*program\.cr(:\d+)?", "PROGRAM", head)  # one bug, any line of it
        return f"{self.kind}: {head[:160]}"


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise ``Hang`` in the main thread after ``seconds`` (wall clock)."""

    def ring(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[0])
    return pages * resource.getpagesize()


@contextlib.contextmanager
def limit_memory(extra_bytes: int) -> Iterator[None]:
    """Let the process grow by at most ``extra_bytes`` of address space meanwhile: past that an
    allocation fails with MemoryError instead of eating the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def reuse_pure_work(size: int = 512) -> None:
    """Make repeated work free in a long fuzzing run, without testing less: three pure steps
    whose cost dominated an input are memoised in this process, so an input that repeats one
    (the same chart of slips, the same drawing rasterised, the same subcommand's parser) gets
    the bytes or the parser the first run made, and every distinct one is still computed.

    - ``chainrule.cli.build_parser(command)``: argparse, rebuilt for each run (70 options);
      parsing does not change the parser (``append`` copies its default list).
    - ``chainrule.teach.report.chart_png``: matplotlib, ~0.1 s a chart, two charts a ``grade``.
    - ``resvg_py.svg_to_bytes``: the rasteriser behind every PNG; chainrule's own size checks
      and refusals around it still run each time.

    A call that raises is not remembered (it raises again next time)."""
    import functools

    import chainrule.cli
    import chainrule.teach.report as report

    if getattr(chainrule.cli.build_parser, "cache_info", None) is None:
        chainrule.cli.build_parser = functools.lru_cache(maxsize=None)(chainrule.cli.build_parser)  # type: ignore[assignment]
    if getattr(report.chart_png, "cache_info", None) is None:
        chart = functools.lru_cache(maxsize=size)(report.chart_png)

        def chart_png(slips: Any, *args: Any) -> bytes:
            return chart(tuple(tuple(s) for s in slips), *args)

        chart_png.cache_info = chart.cache_info  # type: ignore[attr-defined]
        chart_png.__wrapped__ = chart.__wrapped__  # type: ignore[attr-defined]
        report.chart_png = chart_png
    try:
        import resvg_py
    except ImportError:
        return
    if getattr(resvg_py.svg_to_bytes, "cache_info", None) is None:
        original = resvg_py.svg_to_bytes

        @functools.lru_cache(maxsize=size)
        def raster(items: tuple[tuple[str, Any], ...]) -> bytes:
            kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in items}
            return bytes(original(**kwargs))

        def svg_to_bytes(**kwargs: Any) -> bytes:
            items = ((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items())
            return raster(tuple(sorted(items)))

        svg_to_bytes.cache_info = raster.cache_info  # type: ignore[attr-defined]
        svg_to_bytes.__wrapped__ = original  # type: ignore[attr-defined]
        resvg_py.svg_to_bytes = svg_to_bytes


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    internal: BaseException | None
    seconds: float
    warned: list[str]


def run_cli(argv: Sequence[str], seconds: float) -> Outcome:
    """``chainrule.cli.main(argv)`` with its output captured and internal errors recorded."""
    caught: list[BaseException] = []

    def record(exc: BaseException, *args: Any, **kwargs: Any) -> int:
        caught.append(exc)
        return 1

    out, err = io.StringIO(), io.StringIO()
    saved = chainrule.cli.report_internal_error
    chainrule.cli.report_internal_error = record  # type: ignore[assignment]
    start = time.perf_counter()
    code: int | None = None
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # a warning printed to a user is a second voice
        try:
            with (
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
                deadline(seconds),
                np.errstate(all="warn"),
            ):
                code = chainrule.cli.main(list(argv))
        except Hang as exc:
            caught.append(exc)
        finally:
            chainrule.cli.report_internal_error = saved
    warned = [f"{w.category.__name__}: {w.message}" for w in seen]
    return Outcome(
        code, out.getvalue(), err.getvalue(), caught[0] if caught else None,
        time.perf_counter() - start, warned,
    )  # fmt: skip


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)[-12:])


def cli_finding(argv: Sequence[str], program: bytes, seconds: float = 10.0) -> Finding | None:
    """What is wrong with running ``chainrule ARGV`` (program already written), or None."""
    o = run_cli(argv, seconds)

    def finding(kind: str, detail: str) -> Finding:
        return Finding(kind, detail, list(argv), program)

    if isinstance(o.internal, Hang):
        return finding("hang", f"still running after {seconds} s")
    if isinstance(o.internal, MemoryError):
        return finding("memory", _describe(o.internal))
    if o.internal is not None:
        return finding("internal-error", _describe(o.internal))
    if "Traceback (most recent call last)" in o.out + o.err:
        return finding("traceback", (o.out + o.err)[-2000:])
    allowed = (0, 1, 2) if argv and argv[0] == "check" else (0, 2)
    if o.code not in allowed:
        return finding("exit-status", f"exit status {o.code}\n{o.err[-1000:]}")
    if o.code == 2 and not o.err.startswith("chainrule: error:"):
        return finding("exit-status", f"exit status 2 without one error paragraph: {o.err!r}")
    if o.warned:
        return finding("warning", o.warned[0])
    return None


# ------------------------------------------------------------------ float and exact agree

REL = 1e-9
KINKED = {
    "relu", "abs", "step", "sign", "maximum", "minimum", "ge", "leaky_relu", "reduce_max",
    "hinge", "pow",
}  # fmt: skip


def _floats(v: Any) -> np.ndarray:
    """A value as a flat float array."""
    return _shaped(v).reshape(-1)


def _shaped(v: Any) -> np.ndarray:
    """A value as a float array of its own shape. Exact numbers go through chainrule's own
    ``to_float`` (the precision their cancellation needs): sympy's ``float()`` works at 15
    digits and divided by a log(1 + e^−403) it read as 0 (a ZeroDivisionError)."""
    if isinstance(v, np.ndarray) and v.dtype != object:
        return np.asarray(v, dtype=np.float64)
    if isinstance(v, (int, float, np.floating, np.integer)):
        return np.asarray(float(v))
    obj = np.asarray(v, dtype=object)
    return np.asarray(to_float(obj) if obj.ndim else to_float(obj.item()), dtype=np.float64)


def _near_kink(graph: Any, scale: float) -> bool:
    """Whether an op whose value or derivative jumps sees, in float arithmetic, an argument
    within rounding of its jump (there float and exact may rightly take different sides)."""
    tol = 1e-7 * max(scale, 1.0)
    for n in graph.nodes:
        if n.op.name not in KINKED or not n.args:
            continue
        vals = [_shaped(a.value) for a in n.args]
        if n.op.name in ("maximum", "minimum", "ge"):
            a, b = np.broadcast_arrays(vals[0], vals[1])
            if np.any(np.abs(a - b) <= tol):
                return True
        elif n.op.name == "reduce_max":
            s = np.sort(vals[0].reshape(-1))
            if len(s) > 1 and np.any(np.diff(s) <= tol):
                return True
        elif n.op.name == "hinge":
            a, b = np.broadcast_arrays(vals[0], vals[1])
            if np.any(np.abs(1 - a * b) <= tol):
                return True
        elif n.op.name == "pow":
            if np.any(np.abs(vals[0]) <= tol):  # 0 ** y: one-sided
                return True
        elif np.any(np.abs(vals[0]) <= tol):
            return True
    return False


def _values(graph: Any) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    out = {}
    nodes = dict(graph.names)
    nodes.update(getattr(graph, "aliases", {}))
    for k, n in nodes.items():
        out[k] = (_floats(n.value), None if n.grad is None else _floats(n.grad))
    return out


def agreement_finding(text: str, seconds: float = 10.0) -> Finding | None:
    """Float and exact arithmetic on one program: where both build and differentiate it and
    both numbers are finite, they agree to 1e-9 relative to the largest value on the way."""
    from chainrule.lang.language import parse

    program = text.encode("utf-8", errors="surrogateescape")
    results = []
    try:
        with deadline(seconds), np.errstate(all="ignore"):
            for exact in (False, True):
                try:
                    g = parse(text, exact=exact)
                    g.backward()
                except ChainruleError:
                    return None
                results.append(g)
    except Hang:
        return Finding("hang", f"parse and backward past {seconds} s", ["agreement"], program)
    except MemoryError as exc:
        return Finding("memory", _describe(exc), ["agreement"], program)
    except Exception as exc:  # noqa: BLE001 - a bug: reported as a finding
        return Finding("internal-error", _describe(exc), ["agreement"], program)
    fg, xg = results
    every = list(fg.nodes)  # every node of every named value, not only the output's
    scale = _largest(n.value for n in every)
    gscale = _largest(n.grad for n in every if n.grad is not None)
    with np.errstate(all="ignore"):  # inf − inf and the like: compared as non-finite
        return _compare(fg, xg, scale, gscale, program)


def _compare(fg: Any, xg: Any, scale: float, gscale: float, program: bytes) -> Finding | None:
    fv, xv = _values(fg), _values(xg)
    if _near_kink(fg, scale):
        return None
    reach = _sensitivity(fg)
    if reach is None:
        return None
    for key, (fval, fgrad) in fv.items():
        xval, xgrad = xv[key]
        tols = (REL * scale, REL * gscale * scale)  # rounding grows with what went in
        for what, a, b, tol in (
            ("value", fval, xval, tols[0]),
            ("gradient", fgrad, xgrad, tols[1]),
        ):
            if a is None or b is None:
                continue
            if a.shape != b.shape:
                return Finding("disagreement", f"{what} of {key}: shapes", ["agreement"], program)
            both = np.isfinite(a) & np.isfinite(b)
            spread = reach[key][0 if what == "value" else 1]
            if spread is not None and spread.shape == a.shape:
                tol = tol + 1000 * np.nan_to_num(spread, nan=np.inf)  # rounding's reach
            bad = both & (np.abs(a - b) > tol)
            if np.any(bad):
                detail = f"{what} of {key}: float {a.tolist()} exact {b.tolist()}"
                return Finding("disagreement", detail, ["agreement"], program)
    return None


def _largest(values: Any) -> float:
    """The largest finite magnitude among values (at least 1)."""
    best = 1.0
    for v in values:
        a = np.abs(_floats(v))
        a = a[np.isfinite(a)]
        if a.size:
            best = max(best, float(a.max()))
    return best


DELTA = 1e-12  # relative nudge given to every node's value to measure rounding's reach
EPS = 2.2e-16  # the rounding of one float operation


def _sensitivity(graph: Any) -> dict[str, tuple[np.ndarray, np.ndarray | None]] | None:
    """How far rounding can move each named value and gradient: every node's value nudged by
    DELTA (relative) as it is computed, the change in each number, scaled to one rounding
    (EPS / DELTA). σ(25) rounded to a double carries a relative error of 1e-5 into
    1 − σ(25): no float program avoids that, and this sees it. None when the nudged graph
    cannot be run."""
    from chainrule.core.node import compute

    before = _values(graph)
    try:
        for n in graph.nodes:
            if n.args:
                n.value, n.kind = compute(n.op, n.args, n.params)
            if n.kind == 0 or n.kind == 2:  # floats and float arrays
                n.value = n.value * (1 + DELTA)
        graph.backward()
    except Exception:  # noqa: BLE001 - no estimate
        return None
    after = _values(graph)
    out = {}
    for k, (v, g) in before.items():
        v2, g2 = after[k]
        dv = np.abs(v2 - v) * (EPS / DELTA)
        dg = None if g is None or g2 is None else np.abs(g2 - g) * (EPS / DELTA)
        out[k] = (dv, dg)
    return out
