"""Two verdicts made fair: a carried number written with few digits follows the learner's own
wrong number (it is not "too few digits"), and a slip copied onto many lines is named once.
True values are computed here by hand from the programs' numbers."""

from __future__ import annotations

from chainrule.check import FIRST_SLIP, FOLLOWS, TOO_FEW, WRONG
from chainrule.check.claims import parse_claim
from chainrule.check.judge import Verdict, judge
from chainrule.check.marked import marked_markdown
from chainrule.check.solution import check_solution
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


def test_a_slip_copied_onto_many_lines_is_named_once() -> None:
    claims = ["z = 0.8"] + ["dL/dz = 1.00"] * 6 + ["dL/db = 1.00"]
    got = verdicts(*claims)
    first = got["dL/dz"][0]
    (db,) = got["dL/db"]
    assert (db.verdict, db.origin) == (WRONG, FOLLOWS)
    assert db.follows == [first]  # the line where the slip was first written, not all six


def test_the_marked_copy_names_three_lines_and_counts_the_rest() -> None:
    # S = 2a + 2b + 2c + 2d = 20 with a, b, c, d = 1, 2, 3, 4; four slips carried into S
    program = "a = 1\nb = 2\nc = 3\nd = 4\np = 2 * a\nq = 2 * b\nr = 2 * c\nt = 2 * d\n"
    program += "S = p + q + r + t\n"
    slips = {"p": 3, "q": 5, "r": 7, "t": 9}
    assert slips != {"p": 2 * 1, "q": 2 * 2, "r": 2 * 3, "t": 2 * 4}
    lines = [f"${k} = {v}$\n" for k, v in slips.items()]
    lines.append(f"$S = p + q + r + t = {sum(slips.values())}$\n")
    text = "\n".join(lines)  # the slips on lines 1, 3, 5, 7; S on line 9
    graph = parse(program)
    result = check_solution(graph, text)
    (s,) = [j for j in result.judged if j.verdict.claim.name == "S"]
    assert (s.verdict.verdict, s.verdict.origin) == (WRONG, FOLLOWS)
    assert len(s.verdict.follows) == 4
    marked = marked_markdown(graph, result)
    assert "✗ follows from line 1, 3, 5 and 1 more" in marked
    assert "line 1, 3, 5, 7" not in marked
