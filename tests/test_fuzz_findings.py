"""What this round's long fuzzing run found, each closed as a class.

- ``mean(z, axis=0)`` of a number (a 0-d value): the forward pass accepted axis 0 (as PyTorch
  does, a 0-d tensor having one axis of length 1) and the backward pass stopped with an
  IndexError (exit 1). Every op with an ``axis`` on a 0-d value, float and exact, against
  PyTorch.
- The harness turned exact values into floats through sympy's 15-digit ``float()``, which read
  log(1 + e^−403) as 0 and divided by it (a ZeroDivisionError of the harness's own), and
  through ``float(Fraction)``, which raises OverflowError past the float range; it uses
  chainrule's ``values.to_float`` now, which evaluates to the precision needed and gives ±inf
  past the range, as the command line does."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from helpers import run_main

import chainrule as cr
from chainrule.core import values
from fuzz import harness

torch = pytest.importorskip("torch")

TWINS = {
    "sum": lambda t, k: torch.sum(t, dim=0, keepdim=k),
    "mean": lambda t, k: torch.mean(t, dim=0, keepdim=k),
    "amax": lambda t, k: torch.amax(t, dim=0, keepdim=k),
    "amin": lambda t, k: torch.amin(t, dim=0, keepdim=k),
    "reduce_max": lambda t, k: torch.amax(t, dim=0, keepdim=k),
    "reduce_min": lambda t, k: torch.amin(t, dim=0, keepdim=k),
}


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", sorted(TWINS))
def test_a_reduction_over_axis_0_of_a_number_is_pytorchs(
    name: str, keepdims: bool, exact: bool
) -> None:
    g = cr.parse(f"z = 3/2\nt = {name}(z * z, axis=0, keepdims={keepdims})\nL = t * 5", exact=exact)
    g.backward()
    z = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    t = TWINS[name](z * z, keepdims)
    (t.sum() * 5).backward()
    assert float(g["t"].value if not hasattr(g["t"].value, "shape") else g["t"].value.sum()) == (
        pytest.approx(t.sum().item(), rel=1e-15)
    )
    assert float(g["z"].grad) == pytest.approx(z.grad.item(), rel=1e-15)


@pytest.mark.parametrize(
    "program",
    [  # 1/Δ past the float range: float(Fraction) raised OverflowError in the harness
        "Δ = [1., -1.639364065118958e-254]\n"
        "z = (([[4/5, -0.1, -11], [-1.5, 5, -3]] @ [2.5e1, 19, 1_0])[0] / Δ)  # note\n",
    ],
)
def test_the_agreement_check_reads_exact_values_past_the_float_range(program: str) -> None:
    assert harness.agreement_finding(program, 60.0) is None
    g = cr.parse(program, exact=True)
    g.backward()  # dz₁/dΔ₁ = 91.9/Δ₁² ≈ 3.4e509, an exact fraction
    grad = harness._shaped(g["Δ"].grad)
    assert grad[1] == float("inf") and grad[0] == pytest.approx(91.9)
    assert harness._shaped(Fraction(10**400, 3)) == float("inf")


def test_the_agreement_check_reads_exact_values_at_the_precision_they_need() -> None:
    program = (
        "y = [[5, -3, -3], [-12, -2, 15]]\nout = [-14, -19, 0.25]\nb = 0\n"
        "b = softplus(-exp(6))\nmax = asinh(out)\nL = (cosh(e) / b)\n"
    )
    assert harness.agreement_finding(program, 60.0) is None
    assert float(harness._shaped(cr.parse(program, exact=True)["b"].value)) == pytest.approx(
        6.210136486566067e-176, rel=1e-12
    )


@pytest.mark.parametrize("fn", ["cosh", "sinh"])
@pytest.mark.parametrize("x", ["11375", "-11375", "[3, 2400]"])
def test_exact_cosh_and_sinh_past_10_to_the_1000_are_refused_when_made(
    fn: str, x: str, tmp_path: Path
) -> None:
    """Found by the long run: `draw --exact` of cosh(224.9³) (about 10^4,900,000) stopped in
    the decimal module (exit 1); exp and powers were bounded, cosh and sinh were not."""
    prog = tmp_path / "p.cr"
    prog.write_text(f"x = {x}\ny = {fn}(x) * 2\n", encoding="utf-8")
    for argv in (["eval", str(prog), "--exact"], ["draw", str(prog), "--exact"]):
        ran = run_main(*argv)
        assert ran.returncode == 2, ran.stderr
        assert ran.stderr.startswith("chainrule: error:") and "beyond 10^±1,000" in ran.stderr


def test_exact_cosh_within_the_bound_is_computed() -> None:
    """cosh(2000) ≈ 3.9e868, inside the bound: its decimals are mpmath's."""
    import mpmath

    g = cr.parse("x = 2000\ny = cosh(x)\n", exact=True)
    g.backward()
    with mpmath.workdps(30):
        want = mpmath.cosh(2000)
        grad = mpmath.sinh(2000)
    assert float(mpmath.mpf(values.decimal(g["y"].value, 12)) / want) == pytest.approx(1, abs=1e-11)
    assert float(mpmath.mpf(values.decimal(g["x"].grad, 12)) / grad) == pytest.approx(1, abs=1e-11)
