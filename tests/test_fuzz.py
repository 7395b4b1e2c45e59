"""Fuzzing: every command on every input exits 0 or 2, within time and memory bounds, and float
and exact arithmetic agree wherever both give finite numbers.

The inputs come from ``fuzz/grammar.py`` (valid programs from the language's grammar, mutated
programs, arbitrary text and bytes) and the properties from ``fuzz/harness.py``; ``make fuzz``
runs the same properties for a million inputs. Under CI=true the ``fuzz-ci`` profile runs
5,000 examples in all (derandomized, so a CI run is reproducible); a local run explores 1,000
new ones. Each example has a deadline (SIGALRM) and the process may grow by at most 2 GiB of
address space meanwhile, so a hang or a runaway allocation is a failure, not a stuck run."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz import grammar, harness  # noqa: E402

CI = os.environ.get("CI") == "true"
SECONDS = 20.0  # per example: generous for a loaded CI machine; a hang takes minutes
EXTRA_MEMORY = 2 << 30

_common = dict(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("fuzz-ci", derandomize=True, **_common)  # type: ignore[arg-type]
settings.register_profile("fuzz", **_common)  # type: ignore[arg-type]
PROFILE = settings.get_profile("fuzz-ci" if CI else "fuzz")
# CLI examples + agreement examples: 5,000 under CI (about 50 s of the suite's CPU time; the
# million inputs are `make fuzz`'s)
CLI_EXAMPLES = 3_500 if CI else 700
AGREEMENT_EXAMPLES = 1_500 if CI else 300

WORK = Path(
    tempfile.mkdtemp(
        prefix="chainrule-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
    )
)
PROGRAM = WORK / "program.cr"


@pytest.fixture(scope="module", autouse=True)
def bounded_memory() -> Iterator[None]:
    with harness.limit_memory(EXTRA_MEMORY):
        yield


@st.composite
def cases(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    prog = draw(grammar.sources())
    argv = draw(grammar.command_lines(prog, str(PROGRAM), str(WORK)))
    return grammar.encode(prog), argv


@settings(PROFILE, max_examples=CLI_EXAMPLES)
@given(case=cases())
@example(case=(b"x = 3/7\n" + b"x = x * x\n" * 20, ["eval", str(PROGRAM), "--exact"]))
@example(case=(b"x = 0.5\n" + b"x = tanh(x)\n" * 100, ["eval", str(PROGRAM), "--exact"]))
@example(case=(b"x = 2\ny = x ** (x ** 100)\n", ["eval", str(PROGRAM), "--exact"]))
@example(case=(b"x = 1\ny = tanh(x)\n", ["eval", str(PROGRAM), "--wrt", "x", "--order", "18"]))
# found by make fuzz: an empty vector given with --at (numpy warned "Mean of empty slice")
@example(case=(b"x = [1]\ny = mean(x)\n", ["explain", str(PROGRAM), "--at", "x=[]"]))
@example(case=(b"x = [1]\ny = mean(x)\n", ["eval", str(PROGRAM), "--at", "x=[[1], []]"]))
# found by make fuzz: a number summed to a 10^6 x 10^6 shape (7 TiB)
@example(case=(b"b = 1\nz = sum_to(b, shape=(1000000, 1000000))\n", ["eval", str(PROGRAM)]))
# found by make fuzz: cos(e^(e^100)) asked mpmath for 10^43 digits of π (a hang)
@example(case=(b"h = cos(exp(exp([[-13, 100], [1e-3, 11]])))\n", ["eval", str(PROGRAM), "--exact"]))
# found by make fuzz: sum_to a shape of more axes than the array (IndexError)
@example(
    case=(b"b = sum_to([0.5, 17], shape=(1, 1, 4))\n", ["check", str(PROGRAM), "--claim", "b=1"])
)
# found by make fuzz: 8/log(e^-77 + 1) evaluated at 15 digits divided by zero
@example(
    case=(b"y = softplus([-2, 0.25, -77])\nz = [1, 2, 3] / y\n", ["eval", str(PROGRAM), "--exact"])
)
# found by make fuzz: an exact 3e324 written as a JSON float (OverflowError)
@example(case=(b"x = 15 / 5e-324\ny = x * 2\n", ["eval", str(PROGRAM), "--exact", "--json"]))
@example(
    case=(b"x = 15 / 5e-324\ny = x * 2\n", ["check", str(PROGRAM), "--exact", "--claim", "y=1"])
)
# found by make fuzz: a root of degree 10^296 (the exponent's denominator) exhausted sympy
@example(
    case=(
        b"y = pow([5, 20, 15], [0, 15, -1] / (-403.7994515440689 ** 19))\n",
        ["eval", str(PROGRAM), "--exact"],
    )
)
# found by make fuzz: a worked solution compared an exact 3e324 with floats (OverflowError)
@example(
    case=(b"x = 15 / 5e-324\ny = x * 2\n", ["explain", str(PROGRAM), "--exact", "--format", "tex"])
)
@example(
    case=(b"x = 15 / 5e-324\ny = x * 2\n", ["check", str(PROGRAM), "--exact", "--claim", "y=6e324"])
)
# found by make fuzz: a sign sympy leaves undecided (999 - log(e^999 + e^(1/2) + e^-10))
@example(
    case=(
        "变量 = [[8, 5, 6], [0.5, 999.0, -10]]\n"
        "h = abs(log_softmax(concat(变量, axis=-2)))\n".encode(),
        ["check", str(PROGRAM), "--exact", "--claim", "dh/d变量=[[1,1,1],[1,1,1]]", "--json"],
    )
)
def test_every_command_exits_0_or_2(case: tuple[bytes, list[str]]) -> None:
    program, argv = case
    PROGRAM.write_bytes(program)
    finding = harness.cli_finding(argv, program, SECONDS)
    assert finding is None, f"{finding.kind}: {finding.detail}\nargv: {argv}\nprogram: {program!r}"


@settings(PROFILE, max_examples=AGREEMENT_EXAMPLES)
@given(prog=grammar.programs())
@example(  # the rounding of e ** (e ** e) is judged against the whole graph's largest value
    prog=grammar.Program("x = 0\nx = ((e ** (e ** e)) + x)\ny = 0", {"x": (), "y": ()})
)
@example(  # found by make fuzz: exact log_softmax of 4^18 = 68719476736 built e^(6.9e10) (a hang)
    prog=grammar.Program(
        "L = log_softmax(log_softmax(([-18, 2.5e1, -4] ** [-17, -1.5, 18])))", {"L": (3,)}
    )
)
@example(  # found by make fuzz: log(1 + e^-24) from the rounded sum was off in the 7th digit
    prog=grammar.Program("x = -16\na1 = (9 / log_softmax([19, -5])[0])", {"x": (), "a1": ()})
)
def test_float_and_exact_agree(prog: grammar.Program) -> None:
    finding = harness.agreement_finding(prog.text, SECONDS)
    assert finding is None, f"{finding.kind}: {finding.detail}\nprogram: {prog.text!r}"


def test_the_harness_sees_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The properties can fail: a bug planted in eval is reported as an internal error."""
    import chainrule.cli.eval_cmd as eval_cmd

    def broken(args: object) -> int:
        raise RuntimeError("planted")

    monkeypatch.setattr(eval_cmd, "run", broken)
    PROGRAM.write_bytes(b"x = 1\n")
    parser = __import__("chainrule.cli", fromlist=["build_parser"]).build_parser()
    assert parser.parse_args(["eval", str(PROGRAM)]).func is broken
    finding = harness.cli_finding(["eval", str(PROGRAM)], b"x = 1\n", SECONDS)
    assert finding is not None and finding.kind == "internal-error"
    assert "planted" in finding.detail


def test_the_harness_sees_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import chainrule.cli.eval_cmd as eval_cmd

    def slow(args: object) -> int:
        time.sleep(5)
        return 0

    monkeypatch.setattr(eval_cmd, "run", slow)
    PROGRAM.write_bytes(b"x = 1\n")
    finding = harness.cli_finding(["eval", str(PROGRAM)], b"x = 1\n", 0.2)
    assert finding is not None and finding.kind == "hang"


def test_the_harness_sees_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python warning printed at a user (numpy's, the parser's) is a finding."""
    import warnings

    import chainrule.cli.eval_cmd as eval_cmd

    def noisy(args: object) -> int:
        warnings.warn("planted", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(eval_cmd, "run", noisy)
    PROGRAM.write_bytes(b"x = 1\n")
    finding = harness.cli_finding(["eval", str(PROGRAM)], b"x = 1\n", SECONDS)
    assert finding is not None and finding.kind == "warning"
    assert finding.detail == "RuntimeWarning: planted"


def test_the_harness_sees_a_disagreement() -> None:
    """A wrong exact rule (exp off by 1e-6) is caught by the agreement property."""
    from fractions import Fraction

    import sympy

    from chainrule.core.values import EXACT
    from chainrule.ops import OPS

    op = OPS["exp"]
    saved = op.forward
    forward = dict(saved)
    forward[EXACT] = lambda a: saved[EXACT](a) * (1 + sympy.Rational(Fraction(1, 10**6)))
    object.__setattr__(op, "forward", forward)  # ops are frozen: only a test reaches in
    try:
        finding = harness.agreement_finding("x = 1/2\ny = exp(x)\n", SECONDS)
    finally:
        object.__setattr__(op, "forward", saved)
    assert finding is not None and finding.kind == "disagreement"


def test_the_harness_runs_out_of_memory_cleanly() -> None:
    """Inside the limit, a runaway allocation is a MemoryError, not a machine out of memory."""
    with pytest.raises(MemoryError):
        bytearray(EXTRA_MEMORY + (1 << 30))
