"""A student's one slip, carried forward, is explained in full by their own key, even where a
carried number happens to equal a given of the exercise (docs/teaching.md, "Verdicts":
"follows", and "Another variant's answers", rule 3).

With seed 7 the reference class of 200 has v194 (x = [−2, 1], w = [9/5, 7/5], b₀ = 0, y = 0).
A sign error at z carried forward writes dL/dŷ = 2σ(2.2) = 1.80049…, to 4 figures 1.800 and
to 3 figures 1.80: w₁ = 9/5 to the digits written. That number was taken for a copied given
("follows trivially"), so v194's key explained 8 of the 9 numbers, v148's key (z = 2.2,
x₂ = 2) explained 9, and the sheet was named as v148's with its carried-forward credit
withheld. Every number below is computed here from the givens, with fractions and ``math``."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tomllib
from fractions import Fraction
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.check import FIRST_SLIP, FOLLOWS, RIGHT, TRIVIAL, check
from chainrule.check.claims import read_number
from chainrule.cli import main
from chainrule.teach.generate import manifest
from chainrule.teach.grading import explained, load_class
from chainrule.teach.template import template_from_dict
from chainrule.teach.variants import draw_class

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"
ORDER = ["z", "ŷ", "L", "∂ŷ/∂z", "dL/dŷ", "dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"]

# v194 of the reference class, seed 7, 200 variants
X, W, B, Y = [-2, 1], [Fraction(9, 5), Fraction(7, 5)], Fraction(0), Fraction(0)


def neuron(x: list[int], w: list[Fraction], b: Fraction, y: Fraction) -> cr.Graph:
    xs = cr.var(x, name="x")
    ws = cr.var(w, name="w")
    b0 = cr.var(b, name="b₀")
    ys = cr.var(y, name="y")
    z = (ws.T @ xs + b0).named("z")
    yhat = cr.sigmoid(z).named("ŷ")
    return cr.Graph(((yhat - ys) ** 2).named("L"))


def sign_at_z(
    x: list[Fraction], w: list[Fraction], b: Fraction, y: Fraction, figures: int
) -> dict[str, str]:
    """z written with the wrong sign, every later number carried from it by the chain rule
    (∂ŷ/∂z = ŷ(1 − ŷ), dL/dŷ = 2(ŷ − y), dL/dz = dL/dŷ·∂ŷ/∂z, dL/dwᵢ = dL/dz·xᵢ), written
    to ``figures`` significant figures."""
    z = -(w[0] * x[0] + w[1] * x[1] + b)
    yhat = 1 / (1 + math.exp(-float(z)))
    dyhat = 2 * (yhat - float(y))
    dz = dyhat * yhat * (1 - yhat)
    values = [float(z), yhat, (yhat - float(y)) ** 2, yhat * (1 - yhat), dyhat, dz]
    values += [dz * float(x[0]), dz * float(x[1]), dz]
    return {q: f"{v:#.{figures}g}" for q, v in zip(ORDER, values, strict=True)}


def givens(program: str) -> tuple[list[Fraction], list[Fraction], Fraction, Fraction]:
    found = {}
    for line in program.splitlines():
        m = re.fullmatch(r"(x|w|b₀|y) = (.+)", line.strip())
        if m:
            found[m.group(1)] = [Fraction(c.strip()) for c in m.group(2).strip("[]").split(",")]
    return found["x"], found["w"], found["b₀"][0], found["y"][0]


@pytest.mark.parametrize("figures", [3, 4])
def test_a_carried_number_that_equals_a_given_follows(figures: int) -> None:
    sheet = sign_at_z([Fraction(t) for t in X], W, B, Y, figures)
    # the coincidence itself: dL/dŷ as written is the given w₁ = 9/5
    assert Fraction(sheet["dL/dŷ"]) == W[0]
    claims = [f"{q}={t}" for q, t in sheet.items()]
    results = {v.claim.name: v for v in check(neuron(X, W, B, Y), claims)}
    assert results["z"].origin == FIRST_SLIP
    assert results["∂ŷ/∂z"].verdict == RIGHT  # σ′(2.2) = σ′(−2.2)
    for q in ORDER:
        if q not in ("z", "∂ŷ/∂z"):
            assert results[q].origin == FOLLOWS, (q, results[q].origin)


def test_a_given_carried_from_copied_givens_still_follows_only_trivially() -> None:
    # ∂ŷ/∂z right (working on the sheet), dL/dz = 1 (x₂ copied), dL/dw₁ = x₁·1 = −2 = x₁:
    # recomputed from nothing but a copied given, it is a given copied
    d = 1 / (1 + math.exp(-2.2))
    d = d * (1 - d)
    claims = [f"∂ŷ/∂z={d:#.4g}", "dL/dz=1", "dL/dw1=-2"]
    results = {v.claim.name: v for v in check(neuron(X, W, B, Y), claims)}
    assert results["dL/dz"].origin == FIRST_SLIP
    assert results["dL/dw1"].origin == TRIVIAL


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference class, seed 7, 200 variants: its manifest, as generate writes it."""
    t = template_from_dict(tomllib.loads(REFERENCE.read_text(encoding="utf-8")), "r.toml")
    folder = tmp_path_factory.mktemp("own") / "class"
    folder.mkdir()
    data = manifest(t, draw_class(t, 200, 7).variants, 7)
    (folder / "manifest.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return folder


def test_a_sign_error_at_z_on_v194_is_graded_as_its_own(tmp_path: Path, klass: Path) -> None:
    programs = {
        v["id"]: v["program"]
        for v in json.loads((klass / "manifest.json").read_text(encoding="utf-8"))["variants"]
    }
    x, w, b, y = givens(programs["v194"])
    assert (x, w, b, y) == ([Fraction(t) for t in X], W, B, Y)
    key = load_class(klass)
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\n")
    rows.writerow(["student", "variant", "quantity", "value"])
    for figures in (3, 4):
        sheet = sign_at_z(x, w, b, y, figures)
        numbers = {q: read_number(t, t) for q, t in sheet.items()}
        # v194's key explains every number: the slip (a sign error) and all it carried
        assert explained(key.variants["v194"], numbers, key.rule) == len(ORDER)
        for q, t in sheet.items():
            rows.writerow([f"sign at z {figures}", "v194", q, t])
    answers = tmp_path / "answers.csv"
    answers.write_text(out.getvalue(), encoding="utf-8")
    assert main(["grade", str(klass), str(answers), "-o", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "grades.csv").read_text(encoding="utf-8")
    grades = list(csv.DictReader(io.StringIO(text)))
    assert len(grades) == 2
    for row in grades:
        assert row["variant"] == "v194" and "these answers are" not in row["notes"], row
        assert row["first_slip"] == "z", row
        assert float(row["score"]) == len(ORDER) - 1, row  # all but the slip itself


def factor_2_at_z(
    x: list[Fraction], w: list[Fraction], b: Fraction, y: Fraction, figures: int
) -> dict[str, str]:
    """z written twice too large, every later number carried from it (no right number left
    on the sheet), written to ``figures`` significant figures."""
    z = 2 * (w[0] * x[0] + w[1] * x[1] + b)
    yhat = 1 / (1 + math.exp(-float(z)))
    dyhat = 2 * (yhat - float(y))
    d = yhat * (1 - yhat)
    dz = dyhat * d
    values = [float(z), yhat, (yhat - float(y)) ** 2, d, dyhat, dz]
    values += [dz * float(x[0]), dz * float(x[1]), dz]
    return {q: f"{v:#.{figures}g}" for q, v in zip(ORDER, values, strict=True)}


def test_a_slip_at_the_first_quantity_is_working_enough(tmp_path: Path, klass: Path) -> None:
    """v169 of the same class, a factor of 2 at z at 3 figures: dL/dŷ carried from it is
    −1.20, the given w₂ = −6/5, and no number on the sheet is right. The slipped z (not a
    given) is the student's own working: dL/dŷ follows, and the sheet stays v169's."""
    programs = {
        v["id"]: v["program"]
        for v in json.loads((klass / "manifest.json").read_text(encoding="utf-8"))["variants"]
    }
    x, w, b, y = givens(programs["v169"])
    sheet = factor_2_at_z(x, w, b, y, 3)
    assert Fraction(sheet["dL/dŷ"]) in w  # the coincidence with a given
    graph = neuron([int(t) for t in x], w, b, y)
    results = {v.claim.name: v for v in check(graph, [f"{q}={t}" for q, t in sheet.items()])}
    assert results["z"].origin == FIRST_SLIP
    assert all(results[q].origin == FOLLOWS for q in ORDER[1:]), {
        q: results[q].origin for q in ORDER
    }
    key = load_class(klass)
    numbers = {q: read_number(t, t) for q, t in sheet.items()}
    assert explained(key.variants["v169"], numbers, key.rule) == len(ORDER)
    answers = tmp_path / "answers.csv"
    rows = ["student,variant,quantity,value"] + [f"a,v169,{q},{t}" for q, t in sheet.items()]
    answers.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["grade", str(klass), str(answers), "-o", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "grades.csv").read_text(encoding="utf-8")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["variant"] == "v169" and "these answers are" not in row["notes"], row
    assert row["first_slip"] == "z" and float(row["score"]) == len(ORDER) - 1, row
