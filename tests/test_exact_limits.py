"""Bounded exact arithmetic and derivatives: the inputs of issue 10 that hung or ran out of
memory now stop with one paragraph (exit status 2) naming the bound, and what stays within the
bounds still works exactly."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from helpers import run_main

import chainrule as cr
from chainrule.cli import main
from chainrule.core.limits import (
    MAX_EXACT_DEPTH,
    MAX_EXACT_DIGITS,
    MAX_ORDER,
    LimitError,
    check_exact_size,
    check_power_size,
)

SQUARINGS = "x = 3/7\n" + "x = x * x\n" * 20
TANH_CHAIN = "x = 1/2\n" + "x = tanh(x)\n" * 100
SIGMOID_CHAIN = "x = 1/2\n" + "x = σ(x)\n" * 12
TOWER = "x = 2\ny = x ** (x ** 100)\n"


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, *args: str):
    path = tmp_path / "p.cr"
    path.write_text(text, encoding="utf-8")
    ran = run_main("eval", str(path), *args)
    return ran.returncode, ran.stderr, ran.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (SQUARINGS, "digits"),
        (TANH_CHAIN, "levels deep"),
        (SIGMOID_CHAIN, "levels deep"),
        (TOWER, "power with exponent"),
    ],
    ids=["squarings", "tanh-chain", "sigmoid-chain", "power-tower"],
)
def test_runaway_exact_programs_stop_with_the_bound_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, words: str
) -> None:
    code, err, _ = run(capsys, tmp_path, text, "--exact")
    assert code == 2
    assert err.startswith("chainrule: error: line ")
    assert words in err and "--exact" in err


def test_the_same_programs_run_in_floats(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    for text in (SQUARINGS, TANH_CHAIN, SIGMOID_CHAIN):
        code, _, _ = run(capsys, tmp_path, text)
        assert code == 0


def test_order_is_capped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = "x = 1\ny = tanh(x)\n"
    code, err, _ = run(capsys, tmp_path, text, "--wrt", "x", "--order", "18")
    assert code == 2 and f"up to order {MAX_ORDER}" in err
    code, _, _ = run(capsys, tmp_path, text, "--wrt", "x", "--order", str(MAX_ORDER))
    assert code == 0


def test_exact_numbers_up_to_the_bound_stay_exact() -> None:
    x = cr.var(Fraction(3, 7), exact=True)
    y = x**1000  # 846 digits in the denominator: within the bound
    assert y.value == Fraction(3**1000, 7**1000)
    y.backward()
    assert x.grad == 1000 * Fraction(3**999, 7**999)
    with pytest.raises(LimitError):
        _ = x**1200  # 1,014 digits


def test_gradients_are_bounded_like_values() -> None:
    """Values within the bounds whose exact gradient is not: the backward pass stops at the
    node where the gradient passed the bound."""
    x = cr.var(Fraction(1, 2), name="x", exact=True)
    y = x
    for _ in range(100):
        y = cr.softplus(y)
    with pytest.raises(LimitError) as info:
        y.backward()
    assert info.value.node is not None and "gradient" in info.value.message


def test_check_exact_size_reads_every_part() -> None:
    big = Fraction(10 ** (MAX_EXACT_DIGITS + 1))
    with pytest.raises(LimitError):
        check_exact_size(big)
    check_exact_size(Fraction(10 ** (MAX_EXACT_DIGITS - 2)))
    import sympy

    nested = sympy.Rational(1, 2)
    for _ in range(MAX_EXACT_DEPTH):
        nested = sympy.tanh(nested)
    with pytest.raises(LimitError):
        check_exact_size(nested)
    check_power_size(Fraction(1), Fraction(10**100))  # 1 ** anything is 1
    check_power_size(Fraction(-1), Fraction(10**100))
    check_power_size(Fraction(0), Fraction(10**100))
    with pytest.raises(LimitError):
        check_power_size(Fraction(2), Fraction(10**100))


def test_derivatives_graph_bound() -> None:
    from chainrule.core import limits

    x = cr.var(0.3, name="x")
    y = cr.tanh(cr.sigmoid(x) * x)
    saved = limits.MAX_DERIVATIVE_NODES
    limits.MAX_DERIVATIVE_NODES = 50
    try:
        with pytest.raises(LimitError, match="nodes"):
            cr.derivatives(y, x, 6)
    finally:
        limits.MAX_DERIVATIVE_NODES = saved
    assert len(cr.derivatives(y, x, 3)) == 3


def test_one_hot_checks_labels_and_size(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    for text in (
        "w = one_hot(-2, classes=3)\n",
        "x = -4\nw = one_hot(x, classes=0)\n",
        "w = one_hot([1, 2.5], classes=3)\n",
        "w = one_hot(1, classes=1000000000)\n",
    ):
        code, err, _ = run(capsys, tmp_path, text)
        assert code == 2 and "one_hot" in err


@pytest.mark.parametrize(
    "text",
    [
        "b = [1, 2]\nz = scatter(b, shape=(1000000, 1000000))\n",
        "b = [1, 2]\nz = broadcast_to(b, shape=(1000000, 1000000, 2))\n",
        "b = [1, 2]\nz = sum_to(mse(b, [6, -7]), shape=(1000000, 1000000))\n",
        "x = 1\nw = one_hot(x, classes=100000000000)\n",
        "x = 1\nz = concat(axis=0)\n",
        "x = [-17, 1]\ny = pow(atan(x), atan(softplus(-2)))\n",
        "L = 10\na = L ** ((L ^ L) / -9)\n",
    ],
    ids=[
        "scatter",
        "broadcast_to",
        "sum_to",
        "one_hot",
        "concat-of-nothing",
        "negative-exact-base",
        "fractional-power-tower",
    ],
)
@pytest.mark.parametrize("exact", [False, True])
def test_fuzzing_findings_are_user_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, exact: bool
) -> None:
    """Inputs the fuzzer found (an allocation of terabytes, an IndexError, a complex number in
    exact JSON) exit 2, or 0 where floats give NaN, and never 1."""
    code, err, _ = run(capsys, tmp_path, text, *(["--exact", "--json"] if exact else ["--json"]))
    assert code in (0, 2), err
    if "pow(" not in text and "L ^ L" not in text or exact:
        assert code == 2 and err.startswith("chainrule: error:")


@pytest.mark.parametrize(
    "text",
    [
        "h = cos(exp(exp(100)))\n",
        "x = 2\nh = sigmoid(-exp(exp(9)))\n",
        "x = 3\nh = x ** exp(50)\n",
        "x = [1, 100]\nh = sum(exp(exp(x)))\n",
        "x = -3000\nh = cos(exp(x))\n",
    ],
)
def test_numbers_past_ten_to_the_thousand_are_refused_before_anything_evaluates_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    """e^(e^100) is a tiny expression for a number of 10^43 digits: its cosine, its decimal,
    even its sign would take hours. Exact numbers are kept up to 10^1000 in size."""
    code, err, _ = run(capsys, tmp_path, text, "--exact")
    assert code == 2 and "beyond 10^±1,000" in err, err


def test_exact_numbers_past_the_float_range_are_shown_by_their_digits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """exp(2000) is about 3.88 × 10^868: exact, finite, shown with its exponent (no "inf",
    no warning that it stopped being finite)."""
    code, err, out = run(capsys, tmp_path, "x = 2\nw = exp(2000)\nv = exp(-2000)\nu = w * x\n",
                         "--exact")  # fmt: skip
    assert code == 0, err
    assert "3.88118e868" in out and "2.57654e-869" in out and "7.76236e868" in out
    assert "inf" not in out and "warning" not in out


def test_decimals_of_exact_numbers_keep_their_tiny_terms(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """softplus(−77) = log(1 + e^−77) ≈ 3.62514e−34: at sympy's default precision 1 + e^−77 is
    1, so its decimal came out 0 and the decimal of its reciprocal a ZeroDivisionError (found
    by make fuzz). Evaluation retries with more digits when a nonzero number comes out 0."""
    import sympy

    from chainrule.core.values import decimal, plain, to_float

    v = sympy.log(1 + sympy.exp(-77))
    want = float(sympy.N(v, 50))
    assert to_float(v) == want and plain(v) == want and decimal(v) == "3.62514e-34"
    assert to_float(1 / v) == float(sympy.N(1 / v, 50))
    code, err, out = run(capsys, tmp_path, "x = -77\ny = 1/softplus(x)\n", "--exact")
    assert code == 0, err
    assert "3.62514e-34" in out and "2.75851e33" in out


def test_signs_of_exact_numbers_whose_terms_cancel() -> None:
    """999 − log(e^999 + e^(1/2) + e^−10) ≈ −2.27e−434: sympy leaves ``x > 0`` undecided (a
    TypeError in relu, abs or step: found by make fuzz); chainrule decides it from enough
    digits, and relu, abs' slope and step follow."""
    from fractions import Fraction

    import sympy

    from chainrule.core.backends import ExactMath
    from chainrule.core.values import sign_of

    x = 999 - sympy.log(sympy.exp(-10) + sympy.exp(sympy.Rational(1, 2)) + sympy.exp(999))
    assert sympy.N(x, 5, maxn=3000) < 0  # about −2.27e−434: below the float range
    assert (sign_of(x), sign_of(-x), sign_of(sympy.Integer(0)), sign_of(Fraction(-1, 3))) == (
        -1, 1, 0, -1,
    )  # fmt: skip
    assert ExactMath.sign(x) == -1 and ExactMath.step(-x) == 1 and ExactMath.ge(x, 0) == 0
    g = cr.parse("a = 999\nb = exp(-10) + exp(1/2) + exp(a)\nh = relu(a - log(b))\n", exact=True)
    g.backward()
    assert g.output.value == 0 and g["a"].grad == 0


@pytest.mark.parametrize(
    "text",
    [
        "y = 20 ** (-65533/524287)\n",  # took 3 seconds inside sympy
        # found by make fuzz: a 297-digit denominator ran sympy out of memory
        "y = pow([5, 20, 15], [0, 15, -1] / (-403.7994515440689 ** 19))\n",
    ],
    ids=["degree-524287", "degree-10^296"],
)
def test_exact_roots_of_huge_degree_are_refused_before_sympy_sees_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    code, err, _ = run(capsys, tmp_path, text, "--exact")
    assert code == 2, err
    assert "takes a root of degree" in err and "kept up to degree 6,644" in err
    code, err, _ = run(capsys, tmp_path, text)  # floats need no root extracted
    assert code == 0, err


def test_exact_roots_within_the_bound_stay_exact() -> None:
    check_power_size(Fraction(20), Fraction(-1, 6644))
    with pytest.raises(LimitError, match="degree 6,645"):
        check_power_size(Fraction(20), Fraction(-1, 6645))
    x = cr.var(Fraction(20), exact=True)
    y = x ** Fraction(-1, 6644)
    y.backward()
    b = sympy.Rational(-1, 6644)
    assert y.value == sympy.Integer(20) ** b
    assert isinstance(x.grad, sympy.Basic)  # b·a^(b−1), a closed form, not a float
    assert sympy.simplify(x.grad - b * sympy.Integer(20) ** (b - 1)) == 0


def test_exact_gradients_in_json_keep_closed_forms(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err, out = run(capsys, tmp_path, "x = 20\nb = 1/3\ny = x ** b\n", "--exact", "--json")
    assert code == 0, err
    import json

    grads = json.loads(out)["exact_gradients"]
    assert grads == {"x": "20^(1/3)/60", "b": "20^(1/3)·log(20)", "y": "1"}


@pytest.mark.parametrize("fmt", ["txt", "md", "tex"])
def test_exact_numbers_past_the_float_range_in_worked_solutions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    """Found by make fuzz: explaining an exact 3e324 (or e^900) compared it with floats
    (OverflowError); the explorer, which computes in floats, says it cannot start there."""
    path = tmp_path / "p.cr"
    path.write_text("x = 15 / 5e-324\ny = x * 2\nz = exp(y / y * 900)\n", encoding="utf-8")
    code = main(["explain", str(path), "--exact", "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 0, err
    if fmt == "txt":
        assert "= 6e324" in out and "≈ 7.3288e390" in out
    else:
        assert "= 6 \\times 10^{324}" in out and "\\approx 7.3288 \\times 10^{390}" in out
    code = main(["explore", str(path), "--exact", "-o", str(tmp_path / "page.html")])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert "node x" in err and "explorer computes in floats" in err
    assert not (tmp_path / "page.html").exists()


@pytest.mark.parametrize(
    ("claim", "verdict"),
    [
        ("y=6e324", "right"),  # was an internal error (float of 6e324)
        ("y=5.9e324", "wrong"),  # 6e324 is 6.00e324 exactly: nothing to round
        ("z=7.34e390", "rounding"),  # one unit off e^900 = 7.3288e390 in the 3rd digit
        ("y=inf", "wrong"),  # an exact 6e324 is finite: it was graded against inf, and right
        ("y=1e500", "wrong"),
        ("z=7.3288e390", "right"),  # e^900, graded from 30 digits
        ("z=inf", "wrong"),
    ],
)
def test_claims_about_exact_numbers_past_the_float_range(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, claim: str, verdict: str
) -> None:
    import json

    path = tmp_path / "p.cr"
    path.write_text("x = 15 / 5e-324\ny = x * 2\nz = exp(y / y * 900)\n", encoding="utf-8")
    code = main(["check", str(path), "--exact", "--claim", claim, "--json"])
    out, err = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in err and not err, err
    assert json.loads(out)["claims"][0]["verdict"] == verdict
    main(["check", str(path), "--exact", "--claim", claim])
    out, _ = capsys.readouterr()
    assert "true inf" not in out
