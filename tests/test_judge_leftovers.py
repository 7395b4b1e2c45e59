"""A carried number written with few digits follows the learner's own wrong number (it is not
"too few digits"). True values are computed here by hand from the program's numbers."""

from __future__ import annotations

from chainrule.check import FIRST_SLIP, FOLLOWS, TOO_FEW, WRONG
from chainrule.check.claims import parse_claim
from chainrule.check.judge import Verdict, judge
from chainrule.lang.language import parse

# z = w·x + b = 0.8, L = z²/2: dL/dz = z, dL/dw = z·x, dL/db = z
NEURON = "x = 1\nw = 0.5\nb = 0.3\nz = w * x + b\nL = 0.5 * z^2\n"
X, W, B = 1.0, 0.5, 0.3


def verdicts(*claims: str) -> dict[str, list[Verdict]]:
    out: dict[str, list[Verdict]] = {}
    for v in judge(parse(NEURON), [parse_claim(c) for c in claims]):
        out.setdefault(v.claim.name, []).append(v)
    return out


def test_a_carried_number_written_with_few_digits_follows_the_learners_own() -> None:
    z = W * X + B
    true_dw = z * X
    assert round(true_dw) == 1  # "1" is also the truth cut to one digit: too few, until now
    own_dz = 1.0  # the learner's slipped dL/dz, carried: dL/dw = dL/dz · x = 1 exactly
    got = verdicts("z = 0.8", f"dL/dz = {own_dz:.2f}", "dL/dw = 1", "dL/db = 1")
    (dz,) = got["dL/dz"]
    assert (dz.verdict, dz.origin) == (WRONG, FIRST_SLIP)
    assert dz.true == true_dw / X
    for name in ("dL/dw", "dL/db"):
        (v,) = got[name]
        assert (v.verdict, v.origin) == (WRONG, FOLLOWS), name
        assert v.follows == [dz], name
        assert v.recomputed == own_dz * (X if name == "dL/dw" else 1.0), name
    # with no wrong number to carry, the same "1" is the truth cut short: too few digits
    got = verdicts("z = 0.8", "dL/dz = 0.800", "dL/dw = 1")
    (v,) = got["dL/dw"]
    assert (v.verdict, v.origin, v.follows) == (TOO_FEW, None, [])
