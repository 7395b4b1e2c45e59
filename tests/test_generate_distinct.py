"""generate hands out no two variants that grading cannot tell apart (docs/teaching.md,
"Variants that grading cannot tell apart"), and says so where the draws are too few.

The check here is grading's own, not generate's: each variant's one-slip sheets are made in
this file from the variant's givens (read with fractions) by the chain rule written out for
the exercise, and given to ``grade`` (its test for another variant's key, and the whole
command for a sample). Each test failed before generate checked for look-alikes."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from chainrule.check.claims import read_number
from chainrule.cli import main
from chainrule.teach.generate import manifest
from chainrule.teach.grading import load_class, whose_answers
from chainrule.teach.stream import derive_seed
from chainrule.teach.template import template_from_dict
from chainrule.teach.variants import draw_class

# a tanh neuron with three inputs drawn as decimals: enough draws for 200 variants apart
TANH = """
title = "A tanh neuron"
source = '''
x = ${x}
w = ${w}
b = ${b}
y = ${y}
z = w.T @ x + b
a = tanh(z)
L = (a - y)^2
'''
[draw]
x = { decimals = [-2, 2], places = 1, size = 3 }
w = { decimals = [-1, 1], places = 2, size = 3 }
b = { decimals = [-0.5, 0.5], places = 1 }
y = { choices = [-1, 0, 1] }
[conditions]
min_gradient = 1e-3
range = { "a" = [-0.95, 0.95] }
[ask]
values = ["z", "a", "L"]
partials = ["∂a/∂z"]
gradients = ["a", "z", "w", "b"]
drawings = []
"""
ORDER = ["z", "a", "L", "∂a/∂z", "dL/da", "dL/dz", "dL/dw1", "dL/dw2", "dL/dw3", "dL/db"]

# x from {1, 2, 3} and w from 21 fifths: far too few draws for 20 variants apart
FAN_OUT = """
title = "Fan-out"
exact = true
source = '''
x = ${x}
w = ${w}
y = 1
z = w * x
ŷ = σ(z)
L = (ŷ - y)^2 + w^2 / 10
'''
[draw]
x = { integers = [1, 3] }
w = { fractions = [-2, 2], denominator = 5 }
[conditions]
min_gradient = 1e-3
[ask]
values = ["z", "ŷ", "L"]
gradients = ["ŷ", "z", "w"]
"""


def givens(program: str) -> dict[str, list[float]]:
    """The drawn numbers of a program, read with fractions."""
    out = {}
    for line in program.splitlines():
        m = re.fullmatch(r"(x|w|b|y) = (.+)", line.strip())
        if m:
            out[m.group(1)] = [
                float(Fraction(c.strip())) for c in m.group(2).strip("[]").split(",")
            ]
    return out


def tanh_sheet(g: dict[str, list[float]], slip: str) -> dict[str, float]:
    """The tanh neuron's numbers with one slip, every later number carried by the chain
    rule from it: ∂a/∂z = 1 − a², dL/da = 2(a − y), dL/dz = dL/da·∂a/∂z, dL/dwᵢ = dL/dz·xᵢ."""
    x, w, b, y = g["x"], g["w"], g["b"][0], g["y"][0]
    z = sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b
    z = {"sign at z": -z, "twice z": 2 * z}.get(slip, z)
    a = math.tanh(z)
    dadz = a if slip == "a for ∂a/∂z" else 1 - a * a
    dlda = 2 * (a - y)
    dlda = {"sign at dL/da": -dlda, "dropped 2": a - y}.get(slip, dlda)
    dldz = -dlda * dadz if slip == "sign at dL/dz" else dlda * dadz
    out = {"z": z, "a": a, "L": (a - y) ** 2, "∂a/∂z": dadz, "dL/da": dlda, "dL/dz": dldz}
    out.update({f"dL/dw{k + 1}": dldz * x[k] for k in range(3)})
    out["dL/db"] = dldz
    return out


TANH_SLIPS = ["sign at z", "twice z", "a for ∂a/∂z", "sign at dL/da", "dropped 2", "sign at dL/dz"]


def written(values: dict[str, float]) -> dict[str, str]:
    """As a student writes them: 4 significant figures."""
    return {q: f"{v:#.4g}" for q, v in values.items()}


def drawn(folder: Path, template: str, count: int, seed: int) -> Path:
    """The class's manifest.json as generate writes it (without worksheets and exports)."""
    import tomllib

    t = template_from_dict(tomllib.loads(template), "t.toml")
    folder.mkdir(parents=True)
    data = manifest(t, draw_class(t, count, seed).variants, seed)
    (folder / "manifest.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def class7(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return drawn(tmp_path_factory.mktemp("c") / "class", TANH, 200, 7)


def generate(tmp_path: Path, template: str, count: int, seed: int, name: str = "c") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(template, encoding="utf-8")
    out = tmp_path / name
    args = ["generate", str(path), "--count", str(count), "--seed", str(seed), "-o", str(out)]
    assert main([*args, "--no-pdf", "--no-solutions"]) == 0
    return out


def variants(folder: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {v["id"]: v for v in manifest["variants"]}


def others_named(folder: Path, sheets: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    """The sheets (student, variant, numbers) whose numbers grading takes for another
    variant's key (its first rule for naming one, which the note and the name follow)."""
    key = load_class(folder)
    named = []
    for student, vid, numbers in sheets:
        read = {q: read_number(t, t) for q, t in numbers.items()}
        match = whose_answers(key, read, vid, key.rule)
        if match is not None:
            named.append(f"{student}: {match.variant}")
    return named


@pytest.mark.parametrize("seed", [7, 2024])
def test_no_one_slip_sheet_of_a_class_of_200_passes_for_another_variant(
    tmp_path: Path, class7: Path, seed: int
) -> None:
    """Before, seed 7 gave pairs such as a sign error at z on one sheet writing another
    variant's z, a, L, dL/da, dL/dz and dL/db (grading noted the match, or named it)."""
    folder = class7 if seed == 7 else drawn(tmp_path / "class", TANH, 200, seed)
    sheets = []
    for vid, v in variants(folder).items():
        g = givens(v["program"])
        key = tanh_sheet(g, "")
        assert key == pytest.approx({q: v["answers"][q] for q in ORDER}, rel=1e-9)
        for slip in TANH_SLIPS:
            sheets.append((f"{vid} {slip}", vid, written(tanh_sheet(g, slip))))
    assert others_named(folder, sheets) == []


def test_a_sample_of_slipped_sheets_is_graded_as_its_own_with_carried_credit(
    tmp_path: Path, class7: Path
) -> None:
    """The whole grade command on every 20th variant's sheets: its own variant, no note of
    another's key, every number after the slip credited as carried forward."""
    folder = class7
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", "variant", "quantity", "value"])
    for vid, v in list(variants(folder).items())[::20]:
        for slip in ("sign at z", "sign at dL/da", "a for ∂a/∂z"):
            for q, text in written(tanh_sheet(givens(v["program"]), slip)).items():
                w.writerow([f"{vid} {slip}", vid, q, text])
    answers = tmp_path / "answers.csv"
    answers.write_text(out.getvalue(), encoding="utf-8")
    assert main(["grade", str(folder), str(answers), "-o", str(tmp_path / "r")]) == 0
    grades = list(csv.DictReader(io.StringIO((tmp_path / "r" / "grades.csv").read_text("utf-8"))))
    assert len(grades) == 30
    for row in grades:
        vid, slip = row["student"].split(" ", 1)
        assert row["variant"] == vid and "'s key" not in row["notes"], row
        assert "these answers are" not in row["notes"], row
        first = {"sign at z": "z", "sign at dL/da": "dL/da", "a for ∂a/∂z": "∂a/∂z"}[slip]
        assert row["first_slip"] == first, row
        assert float(row["score"]) == len(ORDER) - 1, row  # all but the slip itself


def test_the_same_seed_gives_the_same_class_redrawn_only_where_it_looked_alike(
    tmp_path: Path, class7: Path
) -> None:
    """Twice the same bytes; against the class drawn without the check (no_lookalikes =
    false, as before), only some variants differ, each drawn from a later seed of its own."""
    once = class7
    twice = drawn(tmp_path / "twice", TANH, 200, 7)
    assert (once / "manifest.json").read_bytes() == (twice / "manifest.json").read_bytes()
    off = TANH.replace("[conditions]", "[conditions]\nno_lookalikes = false")
    before = drawn(tmp_path / "before", off, 200, 7)
    new, old = variants(once), variants(before)
    changed = [vid for vid in new if new[vid]["seed"] != old[vid]["seed"]]
    assert 0 < len(changed) < 100, changed
    for k, vid in enumerate(new):
        if vid in changed:
            tries = [derive_seed(7, k, t) for t in range(1000)]
            assert tries.index(new[vid]["seed"]) > tries.index(old[vid]["seed"]), vid
        else:
            assert new[vid]["program"] == old[vid]["program"], vid
    # the variants drawn before the check that the check set aside were look-alikes there
    sheets = [
        (f"{vid} {slip}", vid, written(tanh_sheet(givens(v["program"]), slip)))
        for vid, v in old.items()
        for slip in TANH_SLIPS
    ]
    assert others_named(before, sheets), "the class drawn as before has no look-alike"


# the factors of each kind of slip at z, as docs/teaching.md lists them
FACTORS = {"a sign error at z": (-1, -2, -0.5), "a dropped constant factor at z": (2, 0.5)}


def fan_out_sheet(g: dict[str, list[float]], factor: float) -> dict[str, float]:
    """z = w·x, ŷ = σ(z), L = (ŷ − 1)² + w²/10 with z written times ``factor``, carried
    forward; w is used twice, so dL/dw = dL/dz·x + w/5."""
    x, w = g["x"][0], g["w"][0]
    z = factor * w * x
    yhat = 1 / (1 + math.exp(-z))
    dldy = 2 * (yhat - 1)
    dldz = dldy * yhat * (1 - yhat)
    values = {"z": z, "ŷ": yhat, "L": (yhat - 1) ** 2 + w * w / 10}
    values.update({"dL/dŷ": dldy, "dL/dz": dldz, "dL/dw": dldz * x + w / 5})
    return values


def test_too_few_draws_warn_naming_the_pairs_and_draw_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """x from {1, 2, 3}: 20 variants cannot be kept apart. The class is written as before,
    the warning names the pairs, lookalikes.csv holds them, and grading sees each pair as
    the warning says."""
    capsys.readouterr()
    folder = generate(tmp_path, FAN_OUT, 20, 1)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(r"warning: \d+ pairs? of variants look alike to grading", err), err
    rows = list(csv.DictReader(io.StringIO((folder / "lookalikes.csv").read_text("utf-8"))))
    assert rows and f"{rows[0]['variant']} and {rows[0]['other']}: {rows[0]['slip']}" in err
    assert "widen the [draw] ranges" in err
    # drawn as before: the same class as without the check
    before = generate(
        tmp_path, FAN_OUT.replace("[conditions]", "[conditions]\nno_lookalikes = false"), 20, 1, "b"
    )
    assert (folder / "manifest.json").read_bytes() == (before / "manifest.json").read_bytes()
    # each slip at z named, made by hand on its variant's sheet, passes for another variant's
    # key with grading (written in full or to 3 figures), most often the one named
    made = [r for r in rows if r["slip"] in FACTORS]
    assert made, rows
    vs = variants(folder)
    hits = 0
    for r in made:
        named = [
            others_named(folder, [("", r["variant"], {q: form(v) for q, v in values.items()})])
            for factor in FACTORS[r["slip"]]
            for values in [fan_out_sheet(givens(vs[r["variant"]]["program"]), factor)]
            for form in (repr, lambda v: f"{v:.3g}")
        ]
        assert any(named), r
        hits += [f": {r['other']}"] in named
    assert hits, made
