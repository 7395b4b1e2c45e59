"""Exact values whose terms cancel, against mpmath at a precision far past the cancellation.

sympy's own float() works at 15 digits and read what was left of a cancellation as digits:
atan(10³⁰⁰) − π/2 came out 2.4e−125 (true −1e−300), cos(10³⁰⁰)² + sin(10³⁰⁰)² − 1 as −1.8e−127
(true 0). chainrule now evaluates exact numbers at the precision their cancellation needs and,
where no precision settles the digits, prints a bound instead of digits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.core import values as V

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _ref(f, dps: int = 4000) -> mpmath.mpf:
    with mpmath.workdps(dps):
        return +f()


def _close(text: str, true: mpmath.mpf, digits: int) -> None:
    """The decimal printed is the true value rounded to the digits shown, never a wrong digit;
    where no digit is known, the bound printed (``0 ± B``) holds the true value."""
    if "±" in text:
        bound = mpmath.mpf(text.split("±")[1].strip().replace("−", "-"))
        assert text.split("±")[0].strip() == "0", text
        with mpmath.workdps(60):
            assert abs(true) <= bound, (text, true)
        return
    shown = mpmath.mpf(text.replace("−", "-"))
    sig = len(re.sub(r"[^0-9]", "", text.split("e")[0]).lstrip("0")) or 1
    assert sig <= digits
    with mpmath.workdps(60):
        assert abs(shown - true) <= abs(true) * mpmath.mpf(10) ** (1 - sig) / 2 * 1.0001, (
            text,
            true,
        )


# program (with {k}), the node read, its true value at 10^k as an mpmath thunk
FAMILIES = [
    ("x = 10**{k}\ny = atan(x) - π/2", lambda k: mpmath.atan(mpmath.mpf(10) ** k) - mpmath.pi / 2),
    (
        "x = 10**{k}\ny = (π/2 - atan(x)) * x",
        lambda k: (mpmath.pi / 2 - mpmath.atan(mpmath.mpf(10) ** k)) * mpmath.mpf(10) ** k,
    ),
    (
        "x = 10**{k}\ny = sqrt(x*x + 1) - x",
        lambda k: mpmath.sqrt(mpmath.mpf(10) ** (2 * k) + 1) - mpmath.mpf(10) ** k,
    ),
    ("x = {k}\ny = log(1 + exp(-x))", lambda k: mpmath.log(1 + mpmath.exp(-k))),
    (
        "x = 1/10**{k}\ny = exp(x) - 1 - x",
        lambda k: mpmath.exp(mpmath.mpf(10) ** -k) - 1 - mpmath.mpf(10) ** -k,
    ),
    ("x = {k}\ny = tanh(x) - 1", lambda k: mpmath.tanh(k) - 1),
]


@settings(max_examples=40, deadline=None)
@given(fam=st.sampled_from(FAMILIES), k=st.integers(1, 600), digits=st.integers(1, 17))
def test_cancelling_values_against_mpmath(fam, k: int, digits: int) -> None:
    text, true_fn = fam
    try:
        g = cr.parse(text.format(k=k), exact=True)
    except cr.LimitError:  # x·x past the documented 1,000 digits of an exact number
        assert "x*x" in text and 2 * k + 1 > 1000
        return
    y = g.find("y").value
    true = _ref(lambda: true_fn(k), 3 * k + 60)
    with mpmath.workdps(60):
        f = V.to_float(y)
        if abs(true) > mpmath.mpf("1e-300"):
            assert abs(mpmath.mpf(f) - true) <= abs(true) * mpmath.mpf("1e-15"), (k, f, true)
        _close(V.decimal(y, digits), true, digits)


def test_the_reported_values() -> None:
    cases = [
        ("x = 1e-300\ny = atan(1/x) - π/2", "y", -mpmath.mpf("1e-300")),
        ("x = 10**300\ny = cos(x)**2 + sin(x)**2 - 1", "y", mpmath.mpf(0)),
    ]
    for text, name, true in cases:
        y = cr.parse(text, exact=True).find(name).value
        got = V.to_float(y)
        assert got == pytest.approx(float(true), rel=1e-15, abs=0)
    # dy/dx of (π/2 − atan x)·x at 10^100 is π/2 − atan x − x/(1 + x²) ≈ 6.67e−301
    g = cr.parse("x = 10**100\ny = (π/2 - atan(x)) * x", exact=True).backward()
    with mpmath.workdps(500):
        x = mpmath.mpf(10) ** 100
        true = mpmath.pi / 2 - mpmath.atan(x) - x / (1 + x * x)
        assert V.to_float(g.find("x").grad) == pytest.approx(float(true), rel=1e-15)


def test_unknown_digits_are_a_bound_not_digits() -> None:
    """cos(x)² + sin(x)² − 1 is 0, which sympy cannot prove: no digit of it is printed, only a
    bound, and its float is 0 (the bound is far below the smallest float)."""
    y = cr.parse("x = 10**300\ny = cos(x)**2 + sin(x)**2 - 1", exact=True).find("y").value
    text = V.decimal(y, 6)
    m = re.fullmatch(r"0 ± (\d)e-(\d+)", text)
    assert m, text
    assert int(m.group(2)) > 1000
    assert V.to_float(y) == 0.0
    assert V.sign_of(y) == 0


def test_a_zero_gradient_of_softmax_prints_no_digits() -> None:
    """sum(softmax(z)) is 1, so its gradient is 0 exactly; sympy cannot prove it. Before, the
    table showed "0e-5022" (a digit that is not known) after 29 s."""
    g = cr.parse("x = [1, 2, 3, 4]\ny = sum(softmax(sin(x)))", exact=True).backward()
    gx = g.find("x").grad
    texts = [V.decimal(v, 6) for v in np.asarray(gx).reshape(-1)]
    assert all(t.startswith("0 ± ") for t in texts), texts
    assert V.decimal(g.find("y").value, 6) == "1"


def test_shared_subexpressions_are_evaluated_once() -> None:
    """The estimate walks the expression as a graph: a chain that doubles a shared term 60
    times (2⁶⁰ paths through it as a tree) is evaluated in one pass per precision."""
    t = sympy.sin(sympy.Integer(1))
    for _ in range(60):
        t = sympy.Add(t, t, evaluate=False)
    est = V.estimate(t, 10)
    assert est.known == 10
    with mpmath.workdps(40):
        assert abs(est.mid - mpmath.sin(1) * 2**60) < mpmath.mpf(10) ** 8


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_eval_json_and_check_through_the_command_line(tmp_path: Path) -> None:
    prog = tmp_path / "p.cr"
    prog.write_text("x = 1e-300\ny = atan(1/x) - π/2\n")
    r = _cli("eval", str(prog), "--exact", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["values"]["y"] == pytest.approx(-1e-300, rel=1e-15)
    r = _cli("check", str(prog), "--exact", "--claim", "y=-1e-300")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 right" in r.stdout
