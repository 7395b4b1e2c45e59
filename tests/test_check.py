"""check: rounding-aware verdicts on hand-made claim sets, and where each slip began.

True values are computed here with ``math``; claims are written by hand."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import run

import chainrule as cr
from chainrule.check import (
    CARRIED_ROUNDING,
    FIRST_SLIP,
    FOLLOWS,
    RIGHT,
    ROUNDING,
    TOO_FEW,
    TRIVIAL,
    WRONG,
    Rule,
    check,
    parse_claim,
)
from chainrule.check.judge import plausible_rounding
from chainrule.core.errors import ChainruleError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def exercise() -> cr.Graph:
    x = cr.var([1, 1], name="x")
    w = cr.var([Fraction(4, 5), Fraction(7, 5)], name="w")
    b0 = cr.var(Fraction(3, 5), name="b₀")
    y = cr.var(1, name="y")
    z = (w.T @ x + b0).named("z")
    yhat = cr.sigmoid(z).named("ŷ")
    return cr.Graph(((yhat - y) ** 2).named("L"))


Z = 14 / 5
YHAT = 1 / (1 + math.exp(-Z))
L = (YHAT - 1) ** 2
DL_DYHAT = 2 * (YHAT - 1)
DL_DZ = DL_DYHAT * YHAT * (1 - YHAT)


def verdicts(*claims: str, rule: Rule | None = None) -> list[str]:
    return [v.verdict for v in check(exercise(), list(claims), rule)]


def test_rounded_correct_values_are_right() -> None:
    # the default rule: 3 significant figures
    assert round(YHAT, 3) == 0.943 and round(L, 5) == 0.00329
    assert (
        verdicts("ŷ=0.943", "yhat=0,943", "L=0.00329", "z=14/5", "z=2.80", "z=2.8") == [RIGHT] * 6
    )
    assert verdicts(f"dL/dz={DL_DZ:.4g}", f"∂L/∂w₁={DL_DZ:.3g}") == [RIGHT] * 2


def test_fewer_digits_than_the_rule_asks_is_a_verdict_of_its_own() -> None:
    # 0.94 is ŷ rounded to 2 digits: right as far as it goes, but the rule asks for 3
    assert verdicts("ŷ=0.94", "L=0.0033", "grad b0=-0.006", "z=3") == [TOO_FEW] * 4
    assert verdicts("ŷ=0.94", "L=0.0033", rule=Rule(sigfig=2)) == [RIGHT, RIGHT]
    # ... and 1.0 is not a rounding of 0.94268 to one decimal
    assert verdicts("ŷ=1.0", "ŷ=0.8") == [WRONG, WRONG]


def test_zero_is_never_right_for_a_value_that_is_not_zero() -> None:
    assert abs(DL_DZ) < 0.5  # "0" would be DL_DZ rounded to no decimals
    assert verdicts("dL/dz=0", "dL/dz=-0", "dL/dz=0.000", "L=0e9", "L=-0e999") == [WRONG] * 5
    assert verdicts("dL/dz=0", rule=Rule(sigfig=None, atol=0.01)) == [RIGHT]


def test_an_exponent_form_carries_its_digits() -> None:
    # 0e9's last digit is worth 10⁹, yet it says nothing of L; 3e-3 has one digit of three
    assert verdicts("L=0e9", "z=0e9", "dL/dx=[0e9,0e9]", "L=3e-3", "L=3.29e-3") == [
        WRONG,
        WRONG,
        WRONG,
        TOO_FEW,
        RIGHT,
    ]


def test_decimal_places_and_tolerance_rules() -> None:
    assert round(YHAT, 2) == 0.94
    assert verdicts("ŷ=0.94", "ŷ=0.943", "ŷ=0.9", rule=Rule(sigfig=None, decdig=2)) == [
        RIGHT,
        RIGHT,
        TOO_FEW,
    ]
    # |0.95 − 0.94268| = 0.0073 ≤ 0.01 · 0.94268; 0.96 is 0.0173 away
    assert verdicts("ŷ=0.95", "ŷ=0.96", rule=Rule(sigfig=None, rtol=0.01)) == [RIGHT, WRONG]


def test_one_unit_in_the_last_digit_is_a_rounding_difference() -> None:
    # 2(0.94 − 1) = −0.12 while the true −0.11465 rounds to −0.11 (two significant figures)
    two = Rule(sigfig=2)
    assert round(DL_DYHAT, 2) == -0.11
    assert verdicts("dL/dyhat=-0.12", rule=two) == [ROUNDING]
    assert verdicts("ŷ=0.95", "ŷ=0.93", rule=two) == [ROUNDING, ROUNDING]
    assert verdicts("ŷ=0.96", rule=two) == [WRONG]
    # at three: −1.53 and −1.544 are both one unit off −1.537 in the 3rd digit
    assert round(DL_DYHAT, 4) == -0.1146
    assert verdicts("dL/dyhat=-0.116", "dL/dyhat=-0.1159", "dL/dyhat=-0.118") == [
        ROUNDING,
        ROUNDING,
        WRONG,
    ]


def test_slips_of_the_handwritten_solution_are_wrong() -> None:
    assert verdicts("L=0.06", "dL/dz=-0.06") == [WRONG, WRONG]


def test_exact_fractions_and_scientific_notation() -> None:
    assert verdicts("z=14/5", "z=13/5") == [RIGHT, WRONG]
    assert verdicts(f"L={L:.3e}", "L=3.29e-3", "L=3.9e-3") == [RIGHT, RIGHT, WRONG]


def test_vector_elements_by_subscript() -> None:
    dx1, dx2 = DL_DZ * 4 / 5, DL_DZ * 7 / 5
    results = check(exercise(), [f"dL/dx1={dx1:.3g}", f"∂L/∂x₂={dx2:.3g}", "x2=1", "w_2=1.4"])
    assert [v.verdict for v in results] == [RIGHT] * 4
    assert results[0].quantity.index == (0,)
    assert verdicts(f"dL/dx1={dx2:.3g}") == [WRONG]
    assert verdicts(f"grad x = [{dx1:.3g}; {dx2:.3g}]", f"grad x = [{dx1:.3g}, {dx2:.3g}]") == [
        RIGHT,
        RIGHT,
    ]


def test_local_partials_are_checked() -> None:
    local = YHAT * (1 - YHAT)
    assert verdicts(f"∂ŷ/∂z={local:.3g}", "dz/db0=1", "dz/dw1=1") == [RIGHT] * 3


def test_first_slip_and_what_follows() -> None:
    results = check(
        exercise(),
        ["ŷ=0,94", "L=0,06", "∂L/∂ŷ=-0,12", "∂ŷ/∂z=0,05", "dL/dz=-0,06", "dL/dw1=-0,06"],
    )
    by = {v.claim.name: v for v in results}
    assert by["L"].origin == FIRST_SLIP
    assert by["dL/dz"].origin == FIRST_SLIP
    # −0.12 · 0.05 = −0.006: the learner's own numbers do not give −0.06
    assert by["dL/dz"].recomputed == pytest.approx(-0.12 * 0.05)
    assert by["dL/dw1"].origin == FOLLOWS
    assert [w.claim.name for w in by["dL/dw1"].follows] == ["dL/dz"]


def test_carried_rounding_is_not_called_a_slip() -> None:
    # from ŷ = 0.94 (right), (0.94 − 1)² = 0.0036 while the true L rounds to 0.0033
    results = check(exercise(), ["ŷ=0.94", "L=0.0036"])
    assert results[1].verdict == WRONG
    assert results[1].origin == CARRIED_ROUNDING


def test_fan_out_gradient_follows_from_a_wrong_upstream_claim() -> None:
    a = cr.var(2, name="a")
    b = cr.var(1, name="b")
    c = (a + b).named("c")
    d = (b + 1).named("d")
    g = cr.Graph((c * d).named("e"))
    # true: ∂e/∂c = d = 2, ∂e/∂d = c = 3, ∂e/∂b = 5; the learner swapped ∂e/∂c to 4
    results = check(g, ["de/dc=4", "de/dd=3", "de/db=7"])
    assert [v.verdict for v in results] == [WRONG, RIGHT, WRONG]
    assert results[0].origin == FIRST_SLIP
    assert results[2].origin == FOLLOWS and results[2].follows[0] is results[0]


@pytest.mark.parametrize(
    "text",
    ["L", "=3", "L=", "L=abc", "L=[1,", "nope=1", "dL/dnope=1", "x=1", "x5=1", "w0=1"],
)
def test_bad_claims_are_user_errors(text: str) -> None:
    with pytest.raises(ChainruleError):
        check(exercise(), [text])


def test_decimal_comma_and_signs() -> None:
    c = parse_claim("∂L/∂ŷ ≈ −0,12")
    assert c.numbers[0].value == Fraction(-12, 100)
    assert c.numbers[0].quantum == Fraction(1, 100)


def test_examples_claims_find_the_two_slips() -> None:
    r = run(
        "check",
        str(EXAMPLES / "seed-exercise.cr"),
        "--claims",
        str(EXAMPLES / "seed-exercise.claims"),
        "--json",
    )
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["first_slips"] == ["L = 0,06", "∂L/∂z = -0,06"]
    wrong = [c for c in data["claims"] if c["verdict"] == WRONG]
    assert {c["origin"] for c in wrong} == {FIRST_SLIP, FOLLOWS, CARRIED_ROUNDING}
    # ∂L/∂ŷ = −0,12 is 2(0,94 − 1): wrong at 3 figures, but carried from the rounded ŷ
    by = {c["claim"]: c for c in data["claims"]}
    assert by["∂L/∂ŷ = -0,12"]["origin"] == CARRIED_ROUNDING
    assert by["ŷ = 0,94"]["verdict"] == TOO_FEW
    assert data["rule"] == {"sigfig": 3}
    assert by["z = 14/5"]["verdict"] == RIGHT


def test_cli_exit_status() -> None:
    program = str(EXAMPLES / "seed-exercise.cr")
    ok = ("--claim", "yhat=0.943", "--claim", "L=0.00329")
    assert run("check", program, *ok).returncode == 0
    assert run("check", program, "--claim", "yhat=0.94").returncode == 1  # too few digits
    assert run("check", program, "--claim", "yhat=0.94", "--sigfig", "2").returncode == 0
    r = run("check", program, "--claim", "yhat=0.94", "--sigfig", "2", "--decdig", "2")
    assert r.returncode == 2 and "not both" in r.stderr
    r = run("check", program, "--claim", "L=0.06")
    assert r.returncode == 1 and "slip began here" in r.stdout
    r = run("check", program, "--claim", "q=1")
    assert r.returncode == 2 and "no quantity is named" in r.stderr
    assert run("check", program).returncode == 2


def test_rounding_needs_a_plausible_rounding_of_the_true_value() -> None:
    # one unit of slack only where the claim keeps two significant digits of the true value
    assert plausible_rounding(Fraction(-12, 100), Fraction(DL_DYHAT), Fraction(1, 100))
    assert not plausible_rounding(Fraction(4), Fraction(Z), Fraction(1))
    assert not plausible_rounding(Fraction(-1), Fraction(L), Fraction(1))
    assert not plausible_rounding(Fraction(1, 100), Fraction(-1, 100), Fraction(1, 1000))
    assert verdicts("z=4", "z=3", "ŷ=2", "ŷ=1", "L=1", "L=0", "dL/dz=1", "dL/dz=-0") == [
        WRONG,
        TOO_FEW,
        WRONG,
        TOO_FEW,
        WRONG,
        WRONG,
        WRONG,
        WRONG,
    ]
    assert round(DL_DZ, 4) == -0.0062
    two = Rule(sigfig=2)
    assert verdicts("dL/dz=-0.0063", "dL/dz=-0.0061", "dL/dz=0.0062", rule=two) == [
        ROUNDING,
        ROUNDING,
        WRONG,
    ]


def test_a_one_digit_claim_is_a_first_slip_not_carried_rounding() -> None:
    results = check(exercise(), ["z=4"])
    assert results[0].verdict == WRONG and results[0].origin == FIRST_SLIP


def test_nan_and_infinity_claims() -> None:
    assert parse_claim("L = nan").numbers[0].finite is False
    assert parse_claim("L = −∞").numbers[0].value == -math.inf
    assert verdicts("L=nan", "L=inf") == [WRONG, WRONG]
    x = cr.var(1e308, name="x")
    g = cr.Graph((x * 10).named("y"))
    assert [v.verdict for v in check(g, ["y=inf", "y=1e308", "dy/dx=10"])] == [
        RIGHT,
        WRONG,
        RIGHT,
    ]


def test_check_leaves_the_caller_graph_alone() -> None:
    g = exercise()
    assert all(n.grad is None for n in g.nodes)
    check(g, ["L=0.06", "dL/dz=-0.06", "∂ŷ/∂z=0.05"])
    assert all(n.grad is None for n in g.nodes)  # no backward behind the caller's back
    g["z"].backward()  # the caller's own gradients, of z rather than of L
    before = {n: n.grad for n in g.nodes}
    results = check(g, ["dL/dz=-0.00620", "dL/dw1=-0.00620"])
    assert [v.verdict for v in results] == [RIGHT, RIGHT]
    assert all(n.grad is before[n] for n in g.nodes)
    assert results[0].quantity.claim_type == "gradient"


def test_slip_tracing_through_a_vector_loss() -> None:
    x = cr.var([0.2, 0.4], name="x")
    y = cr.var([0.5, 0.5], name="y")
    g = cr.Graph(cr.bce(x, y).named("z"))
    results = check(g, ["x=[0.2, 0.4]", "z=5"])
    assert [v.verdict for v in results] == [RIGHT, WRONG]
    assert results[1].origin == FIRST_SLIP


def test_a_claim_beyond_the_largest_float_is_judged_not_a_crash() -> None:
    g = cr.parse((EXAMPLES / "seed-exercise.cr").read_text(encoding="utf-8"))
    verdicts = check(g, ["dL/dz = 1", "∂ŷ/∂z = 5e400"])  # 5e400 feeds dL/dz's recomputation
    assert [v.verdict for v in verdicts] == ["wrong", "wrong"]
    assert verdicts[1].origin == "first slip"


def test_the_report_names_each_quantity_as_the_worked_solution_does() -> None:
    """The report writes z, ŷ, dL/dw₁ — the labels of the caller's graph — for the reference
    exercise's claims (it once wrote the nodes' values, ``2.8 = 14/5``, ``dL/d(2.8)``, because
    the verdicts named the private copy's nodes), and the verdicts point at the caller's nodes."""
    from chainrule.check import check, report

    g = cr.parse((EXAMPLES / "seed-exercise.cr").read_text(encoding="utf-8"))
    claims = (ROOT / "examples/seed-exercise.claims").read_text(encoding="utf-8").splitlines()
    claims = [c for c in claims if c.strip() and not c.lstrip().startswith("#")]
    verdicts = check(g, claims)
    text = report(g, verdicts)
    for line in ("z = 14/5", "ŷ = 0,94", "L = 0,06", "dL/dŷ = -0,12", "∂ŷ/∂z = 0,05",
                 "dL/dz = -0,06", "∂z/∂w₁ = 1", "dL/dw₁ = -0,06"):  # fmt: skip
        assert line in text, line
    assert "2.8 =" not in text and "d(" not in text
    assert all(v.quantity.node in g.nodes for v in verdicts)


def test_rounded_too_early_means_following_from_the_learners_own_rounded_numbers() -> None:
    # z = w·x from exact inputs: nothing upstream to round, so −1.210 for −1.2 is a slip
    x = cr.var(1, name="x")
    w = cr.var(Fraction(-6, 5), name="w")
    g = cr.Graph(((w * x).named("z") ** 2).named("L"))
    (v,) = check(g, ["z=-1.210"])
    assert v.verdict == WRONG and v.origin == FIRST_SLIP
    # dL/db₀ = dL/dz: from the learner's own dL/dz = −0.2734 it is −0.2734 ± 0.00005
    slip = check(exercise(), ["dL/dz=-0.2734", "dL/db0=-0.2760"])
    assert slip[1].verdict == WRONG and slip[1].origin == FIRST_SLIP
    carried = check(exercise(), ["dL/dz=-0.2734", "dL/db0=-0.27345"])
    assert carried[1].origin == FOLLOWS
    # ŷ rounded to 0.94 and carried: (0.94 − 1)² = 0.0036, within what 0.94 ± 0.005 allows
    early = check(exercise(), ["ŷ=0.94", "L=0.0036"])
    assert early[0].verdict == TOO_FEW and early[1].origin == CARRIED_ROUNDING
    # ... but not a number far outside that precision: (0.94 ± 0.005 − 1)² ≤ 0.0042
    assert check(exercise(), ["ŷ=0.94", "L=0.0050"])[1].origin == FIRST_SLIP


def test_carry_forward_never_rewards_an_empty_method() -> None:
    # a sheet of zeros: ŷ = 0 gives ∂ŷ/∂z = ŷ(1 − ŷ) = 0 and every gradient 0 "follows"
    names = ["z", "ŷ", "L", "dL/dŷ", "∂ŷ/∂z", "dL/dz", "dL/dw1", "dL/dw2", "dL/db0"]
    results = check(exercise(), [f"{n}=0" for n in names])
    assert all(v.verdict == WRONG for v in results)
    assert not any(v.origin in (FOLLOWS, CARRIED_ROUNDING) for v in results)
    assert {v.origin for v in results} <= {FIRST_SLIP, TRIVIAL}
    # a sheet that copies the givens (x = [1, 1], w = [4/5, 7/5], b₀ = 3/5)
    copied = check(exercise(), ["z=1", "ŷ=0.8", "∂ŷ/∂z=0.8", "dL/dz=1.4", "dL/db0=1.4"])
    assert all(v.verdict == WRONG for v in copied)
    assert copied[-1].origin == TRIVIAL  # dL/db₀ = dL/dz, but 1.4 is a copied given


def test_matrix_claims_are_read_as_at_reads_them() -> None:
    W = cr.var([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], name="W1")
    x = cr.var([1.0, 2.0], name="x")
    g = cr.Graph(cr.sum((W @ x).named("h") ** 2).named("L"))
    h = [0.1 - 0.4, 0.3 + 0.8, -0.5 + 1.2]  # W1 @ x by hand
    grad = [[2 * hi * xj for xj in (1.0, 2.0)] for hi in h]  # dL/dW1 = 2h xᵀ
    text = "[" + ", ".join("[" + ", ".join(f"{v:.4g}" for v in row) + "]" for row in grad) + "]"
    (v,) = check(g, [f"dL/dW1={text}"])
    assert v.verdict == RIGHT and v.claim.shape == (3, 2)
    flat = "[" + ", ".join(f"{v:.4g}" for row in grad for v in row) + "]"
    with pytest.raises(ChainruleError, match="3×2 matrix; write it row by row"):
        check(g, [f"dL/dW1={flat}"])
    with pytest.raises(ChainruleError, match="a 2×3 matrix given"):
        check(g, ["dL/dW1=[[1, 2, 3], [4, 5, 6]]"])


def test_exact_claims_compare_with_the_exact_value_not_its_float() -> None:
    g = cr.parse("x = 14/5\nz = x * 1\nc = 1/10 + 2/10", exact=True)
    results = check(
        g, ["z=2.80000000000000000000", "c=0.30000000000000000", "z=2.80000000000000000001"]
    )
    assert [v.verdict for v in results] == [RIGHT, RIGHT, RIGHT]  # the last within the rule
    tight = Rule(sigfig=None, atol=1e-25)
    assert [v.verdict for v in check(g, ["z=2.80000000000000000000"], tight)] == [RIGHT]
    assert [v.verdict for v in check(g, ["z=2.80000000000000000001"], tight)] == [WRONG]


def test_the_report_says_what_to_write_under_the_rule() -> None:
    from chainrule.check import report

    g = exercise()
    text = report(g, check(g, ["z=5.0", "dL/dx1=0"]))
    assert "to your" not in text and "decimals" not in text
    assert "(2.80 to 3 significant figures)" in text
    assert "3 significant figures" in text.splitlines()[-2]  # the rule, printed
    zero = cr.Graph((cr.var(2, name="a") * 0).named("b"))
    out = report(zero, check(zero, ["b=1"]))
    assert "the true value is 0." in out and "0 to" not in out


def _kind_of(claims: list[str], name: str) -> str | None:
    from chainrule.check.kinds import mistake_kind

    g = exercise()
    results = check(g, claims)
    v = next(r for r in results if r.claim.name == name)
    assert v.origin == FIRST_SLIP, (name, v.verdict, v.origin)
    return mistake_kind(g, v, results, Rule())


def test_the_kind_of_a_first_slip_is_found_by_the_usual_wrong_rules() -> None:
    sig = YHAT * (1 - YHAT)
    x1, w1 = 1.0, 0.8
    right = [f"ŷ={YHAT:.4g}", f"dL/dŷ={DL_DYHAT:.4g}", f"dL/dz={DL_DZ:.4g}"]
    # σ(z) where σ′(z) belongs
    assert _kind_of([*right[:2], f"∂ŷ/∂z={YHAT:.4g}"], "∂ŷ/∂z") == "function for its derivative"
    # the 2 of the square dropped: dL/dŷ = ŷ − y
    assert _kind_of([right[0], f"dL/dŷ={YHAT - 1:.4g}"], "dL/dŷ") == "dropped constant factor"
    # a sign error
    assert _kind_of([*right, f"dL/dw1={-DL_DZ * x1:.4g}"], "dL/dw1") == "sign error"
    # ∂(w·x)/∂w taken as w: dL/dw₁ = dL/dz · w₁
    assert _kind_of([*right, f"dL/dw1={DL_DZ * w1:.4g}"], "dL/dw1") == "partial of the wrong input"
    # the upstream gradient not carried: dL/dz written as ∂ŷ/∂z alone
    assert _kind_of([*right[:2], f"∂ŷ/∂z={sig:.4g}", f"dL/dz={sig:.4g}"], "dL/dz") == (
        "upstream gradient not carried"
    )
    # ŷ used where ŷ − y belongs: dL/dŷ = 2ŷ
    assert _kind_of([right[0], f"dL/dŷ={2 * YHAT:.4g}"], "dL/dŷ") == "upstream value not carried"
    # no usual rule gives 0.5
    assert _kind_of([*right, "dL/dw1=0.5"], "dL/dw1") == "arithmetic slip"


def test_primes_typed_on_a_keyboard_name_a_reassigned_names_versions() -> None:
    """h = tanh(h) twice is shown h′, h″; a learner types h' and h'' (check said "no quantity
    is named h''" while --output and --wrt found it)."""
    from helpers import run_main

    h1 = math.tanh(0.5)
    h2 = math.tanh(h1)
    program = "h = 0.5\nh = tanh(h)\nh = tanh(h)\nL = h * h\n"
    claims = [f"h'={h1:.4f}", f"dL/dh''={2 * h2:.4f}", f"dL/dh″={2 * h2:.4f}", "h''=0.9"]
    ran = run_main("check", "-", *[a for c in claims for a in ("--claim", c)], stdin=program)
    assert ran.returncode == 1, ran.stderr  # one claim is wrong on purpose
    lines = ran.stdout.splitlines()
    assert sum(line.startswith("right") for line in lines) == 3, ran.stdout
    assert any(line.startswith("WRONG") and "h″ = 0.9" in line for line in lines), ran.stdout
