"""Fair grades for a class of 200: a slip carried forward is not another variant's answers,
a file whose columns name no quantity is refused, one student is one row, every file of a
folder has a row, and solve writes its own folder again.

Every expected score is computed here, from the keys in the generated class folder and the
givens of each variant's program (read with fractions, not with chainrule), and the rule
(3 significant figures, checked with ``decimal``); no number is copied from chainrule's
output. Each test failed before the fix it guards."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from chainrule.cli import main
from chainrule.teach.generate import generate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"
ORDER = ["z", "ŷ", "L", "∂ŷ/∂z", "dL/dŷ", "dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"]
ASCII = {"ŷ": "yhat", "∂ŷ/∂z": "dyhat/dz", "dL/dŷ": "dL/dyhat", "dL/db₀": "dL/db0"}


def right(written: float, true: float) -> bool:
    """The rule by hand: |written − true| ≤ half a unit of the 3rd significant digit (a
    rounding, one unit off in the 3rd digit, is credited too)."""
    if true == 0:
        return written == 0
    unit = Decimal(10) ** (Decimal(abs(true)).adjusted() - 2)
    gap = abs(Decimal(repr(written)) - Decimal(repr(true)))
    return gap <= unit * Decimal("1.500000001")


def figures(x: float, n: int = 4) -> str:
    """As a student writes to 4 significant figures, trailing zeros kept (1.000, not 1)."""
    return f"{x:#.{n}g}"


def givens(program: str) -> dict[str, list[Fraction]]:
    """x, w, b₀, y of a variant's program, read with fractions."""
    out = {}
    for line in program.splitlines():
        m = re.fullmatch(r"(x|w|b₀|y) = (.+)", line.strip())
        if m:
            cells = m.group(2).strip("[]").split(",")
            out[m.group(1)] = [Fraction(c.strip()) for c in cells]
    return out


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("fair") / "class"
    generate(REFERENCE, folder, count=200, seed=7, pdfs=False, solutions=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    variants = {}
    for v in manifest["variants"]:
        g = givens(v["program"])
        a = dict(v["answers"])
        x, w, b, y = g["x"], g["w"], g["b₀"][0], g["y"][0]
        exact_z = w[0] * x[0] + w[1] * x[1] + b
        a["z"] = float(exact_z)  # the manifest's float may be −5.6e-17 where z is exactly 0
        yhat = 1 / (1 + math.exp(-a["z"]))
        # the key agrees with plain arithmetic on the givens (the test's own check)
        assert a["ŷ"] == pytest.approx(yhat, rel=1e-9) and a["L"] == pytest.approx(
            (yhat - y) ** 2, rel=1e-9
        )
        variants[v["id"]] = {
            "answers": a,
            "x": [float(t) for t in x],
            "y": float(y),
            "numbers": program_numbers(v["program"]),
        }
    return folder, variants


def carried(a: dict[str, float], x: list[float], **slip: float) -> dict[str, float]:
    """The answers after one slip in the backward pass, carried forward by the chain rule:
    dL/dz = dL/dŷ·∂ŷ/∂z, dL/dwᵢ = dL/dz·xᵢ, dL/db₀ = dL/dz."""
    out = dict(a)
    out.update(slip)
    if "dL/dz" not in slip:
        out["dL/dz"] = out["dL/dŷ"] * out["∂ŷ/∂z"]
    out["dL/dw1"], out["dL/dw2"] = out["dL/dz"] * x[0], out["dL/dz"] * x[1]
    out["dL/db₀"] = out["dL/dz"]
    return out


def slipped(v: dict[str, Any], pattern: str) -> tuple[dict[str, float], str]:
    """A student's answers with one slip of ``pattern`` carried forward, and the slip's quantity."""
    a, x, y = v["answers"], v["x"], v["y"]
    if pattern == "sign at dL/dŷ":
        return carried(a, x, **{"dL/dŷ": -a["dL/dŷ"]}), "dL/dŷ"
    if pattern == "sign at dL/dz":
        return carried(a, x, **{"dL/dz": -a["dL/dz"]}), "dL/dz"
    if pattern == "σ for σ′":
        return carried(a, x, **{"∂ŷ/∂z": a["ŷ"]}), "∂ŷ/∂z"
    if pattern == "dropped 2":
        return carried(a, x, **{"dL/dŷ": a["ŷ"] - y}), "dL/dŷ"
    raise AssertionError(pattern)


PATTERNS = ["sign at dL/dŷ", "sign at dL/dz", "σ for σ′", "dropped 2"]


def program_numbers(program: str) -> list[Fraction]:
    """Every number the program gives: the inputs' values and its constants (the 2 of the
    square)."""
    out = [t for cells in givens(program).values() for t in cells]
    for line in program.splitlines():
        if re.fullmatch(r"(x|w|b₀|y) = (.+)", line.strip()) is None:
            out += [Fraction(n) for n in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", line)]
    return out


# what each number is recomputed from by the chain rule (directly or through others)
FORWARD = ("z", "ŷ")
SOURCES = {
    "L": FORWARD,
    "∂ŷ/∂z": FORWARD,
    "dL/dŷ": FORWARD,
    "dL/dz": (*FORWARD, "∂ŷ/∂z", "dL/dŷ"),
    **{q: (*FORWARD, "∂ŷ/∂z", "dL/dŷ", "dL/dz") for q in ("dL/dw1", "dL/dw2", "dL/db₀")},
}


def given(text: str, numbers: list[Fraction]) -> bool:
    """0, or a given of the program to the digits written."""
    c = Fraction(Decimal(text))
    room = Fraction(10) ** Decimal(text).as_tuple().exponent / 2
    return c == 0 or any(abs(c - g) <= room for g in numbers)


def expected_score(v: dict[str, Any], written: dict[str, str], slip: str) -> int:
    """What a teacher grading by the documented contract gives: a point for each quantity
    right by the rule, none for the slip (wrong by the rule: checked), a point for each number
    carried forward after it, except one that follows only trivially (docs/teaching.md: 0
    where the truth is not 0, or a number of the program's givens copied, within half a unit
    of its last written digit, that is not also the sheet's own wrong number carried on, nor
    recomputed by the chain rule from a wrong number of the sheet that is neither a given
    nor 0)."""
    key = v["answers"]
    assert not right(float(written[slip]), key[slip])
    score = 0
    for q in ORDER:
        if q == slip:
            continue
        text = written[q]
        if right(float(text), key[q]):
            score += 1
            continue
        c = Fraction(Decimal(text))
        room = Fraction(10) ** Decimal(text).as_tuple().exponent / 2
        copied = any(abs(c - g) <= room for g in v["numbers"])
        # a given's value that is also the sheet's own wrong number carried on is not a copy
        # (every sheet here shows working: its right ŷ is no given)
        carried = any(
            p != q and not right(float(written[p]), key[p]) and Fraction(Decimal(written[p])) == c
            for p in ORDER
        )
        # ... nor a number recomputed from the sheet's own wrong number that is no given
        worked = any(
            not right(float(written[p]), key[p]) and not given(written[p], v["numbers"])
            for p in SOURCES.get(q, ())
        )
        trivial = c == 0 or (copied and not carried and not worked)
        score += 0 if trivial else 1
    return score


def another_key_matches(
    variants: dict[str, Any], own: str, written: dict[str, str]
) -> tuple[str, int, int]:
    """The other variant whose key matches most of the written numbers, by the rule, and how
    many numbers match it and the own key."""
    mine = sum(right(float(written[q]), variants[own]["answers"][q]) for q in ORDER)
    best = ("", -1)
    for vid, v in variants.items():
        if vid != own:
            n = sum(right(float(written[q]), v["answers"][q]) for q in ORDER)
            best = max(best, (vid, n), key=lambda t: t[1])
    return best[0], best[1], mine


def long_csv(students: list[tuple[str, str, dict[str, str]]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", "variant", "quantity", "value"])
    for name, vid, written in students:
        for q in ORDER:
            w.writerow([name, vid, q, written[q]])
    return out.getvalue()


def rows(report: Path, name: str = "grades.csv") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((report / name).read_text(encoding="utf-8"))))


def test_a_slip_carried_forward_is_not_another_variants_answers(
    klass: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """v002 with dL/dŷ's sign wrong, carried forward, shares L and ∂ŷ/∂z with v014 (z and ŷ of
    opposite signs) and then v014's signs: the student was told their answers were v014's,
    graded 4/9 with no carried-forward credit, where others with one slip get 8/9."""
    folder, variants = klass
    students = []
    expect: dict[str, tuple[str, int, str]] = {}
    lookalikes = []  # slipped sheets that match another key at least as the old rule counted
    for vid, v in variants.items():
        for pattern in PATTERNS:
            answers, slip = slipped(v, pattern)
            written = {q: figures(answers[q]) for q in ORDER}
            name = f"{vid} {pattern}"
            students.append((name, vid, written))
            expect[name] = (vid, expected_score(v, written, slip), slip)
            other, theirs, mine = another_key_matches(variants, vid, written)
            if 2 * theirs >= len(ORDER) and theirs >= mine + 2:
                lookalikes.append((name, other))
    # the case the teacher met, found in the class rather than written down
    assert ("v002 sign at dL/dŷ", "v014") in lookalikes, lookalikes
    answers_csv = tmp_path / "answers.csv"
    answers_csv.write_text(long_csv(students), encoding="utf-8")
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(answers_csv), "-o", str(report)]) == 0
    grades = {r["student"]: r for r in rows(report)}
    assert len(grades) == len(students)
    for name, (vid, score, slip) in expect.items():
        row = grades[name]
        assert row["variant"] == vid and "these answers are" not in row["notes"], row
        assert float(row["score"]) == score, (name, row)
        assert row["first_slip"] == slip, (name, row)
    # the teacher is told why the look-alike stays with its own variant
    assert "v014's key" in grades["v002 sign at dL/dŷ"]["notes"]
    assert "z, ŷ" in grades["v002 sign at dL/dŷ"]["notes"]


def test_a_neighbours_answers_are_still_caught(
    klass: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Copied answers stay caught: v002 holding v014's whole key (the look-alike pair, where
    L and ∂ŷ/∂z are the same in both keys), and every 10th variant holding the next one's."""
    folder, variants = klass
    ids = list(variants)
    pairs = [("v002", "v014")] + [(ids[k], ids[k + 1]) for k in range(0, 199, 10)]
    students = []
    for own, other in pairs:
        written = {q: figures(variants[other]["answers"][q]) for q in ORDER}
        students.append((f"copy {own} {other}", own, written))
    # the look-alike pair, slipped with carry-forward, in the same file: stays v002's
    answers, _slip = slipped(variants["v002"], "sign at dL/dŷ")
    students.append(("slip v002", "v002", {q: figures(answers[q]) for q in ORDER}))
    answers_csv = tmp_path / "answers.csv"
    answers_csv.write_text(long_csv(students), encoding="utf-8")
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(answers_csv), "-o", str(report)]) == 0
    grades = {r["student"]: r for r in rows(report)}
    verdicts = rows(report, "verdicts.csv")
    for own, other in pairs:
        row = grades[f"copy {own} {other}"]
        assert f"these answers are {other}'s" in row["notes"], row
        # the score by hand: right for the own key, no credit for carried-forward numbers
        written = {q: figures(variants[other]["answers"][q]) for q in ORDER}
        by_hand = sum(right(float(written[q]), variants[own]["answers"][q]) for q in ORDER)
        assert float(row["score"]) == by_hand, row
        carried_ = [
            r
            for r in verdicts
            if r["student"] == row["student"] and r["verdict"] == "follows from an earlier slip"
        ]
        assert all(float(r["points"]) == 0 for r in carried_)
    assert float(grades["slip v002"]["score"]) == expected_score(
        variants["v002"], students[-1][2], "dL/dŷ"
    )
    assert "these answers are" not in grades["slip v002"]["notes"]


def test_the_reported_sheet_is_graded_as_its_own_variants(
    klass: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The teacher's slips.csv, written from v002's key: the sign of dL/dŷ wrong and carried."""
    folder, variants = klass
    a = variants["v002"]["answers"]
    x = variants["v002"]["x"]
    sheet = {
        "z": a["z"],
        "ŷ": a["ŷ"],
        "L": a["L"],
        "∂ŷ/∂z": a["∂ŷ/∂z"],
        "dL/dŷ": -a["dL/dŷ"],
        "dL/dz": -a["dL/dz"],
        "dL/dw1": -a["dL/dz"] * x[0],
        "dL/dw2": -a["dL/dz"] * x[1],
        "dL/db₀": -a["dL/dz"],
    }
    written = {q: figures(t) for q, t in sheet.items()}
    answers_csv = tmp_path / "slips.csv"
    answers_csv.write_text(long_csv([("Sign", "v002", written)]), encoding="utf-8")
    report = tmp_path / "r"
    assert main(["grade", str(folder), str(answers_csv), "-o", str(report)]) == 0
    (row,) = rows(report)
    assert row["variant"] == "v002" and row["first_slip"] == "dL/dŷ", row
    assert row["mistake"] == "sign error"
    assert float(row["score"]) == expected_score(variants["v002"], written, "dL/dŷ") == 8
    assert "these answers are" not in capsys.readouterr().err


def test_columns_that_name_no_quantity_are_refused(
    klass: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An LMS export with columns Q1, Q2, Q3 gave every student 0 and exit status 0."""
    folder, variants = klass
    lines = ["Name,Variant,Q1,Q2,Q3"]
    for name, vid in (("A", "v001"), ("B", "v002")):
        a = variants[vid]["answers"]
        lines.append(f"{name},{vid},{figures(a['z'])},{figures(a['ŷ'])},{figures(a['L'])}")
    lms = tmp_path / "lms.csv"
    lms.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "r"
    capsys.readouterr()
    assert main(["grade", str(folder), str(lms), "-o", str(report)]) == 2
    err = capsys.readouterr().err
    assert not report.exists()
    assert "Traceback" not in err and "lms.csv" in err
    assert all(f"'{c}'" in err for c in ("Q1", "Q2", "Q3")), err
    # the quantities expected, with their ASCII spellings, as the manifest names them
    assert all(q in err for q in variants["v001"]["answers"]), err
    assert all(f"({spelling})" in err for spelling in ASCII.values()), err
    assert main(["grade", str(folder), str(lms), "-o", str(report), "--anyway"]) == 0
    assert "WARNING" in (report / "summary.md").read_text(encoding="utf-8")
    # the long form with names of another exercise is refused the same way
    other = tmp_path / "other.csv"
    other.write_text("student,variant,quantity,value\nA,v001,q1,2.6\nB,v002,q2,1\n")
    assert main(["grade", str(folder), str(other), "-o", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "'q1'" in err and "'q2'" in err and "dL/dw1" in err, err


def test_one_student_with_the_variant_spelled_two_ways_is_one_row(
    klass: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob's answers under v001, then 'bob ' under V1 with other numbers, were two students:
    rows Bob,v001 and bob,v001. V1 names v001: one student who answered twice."""
    folder, variants = klass
    a = variants["v001"]["answers"]
    lines = ["student,variant,quantity,value"]
    lines += [f"Bob,v001,{q},{figures(a[q])}" for q in ORDER]
    lines += [f"bob ,V1,{q},{figures(1.5 * a[q])}" for q in ORDER]
    path = tmp_path / "twice.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "r"
    capsys.readouterr()
    assert main(["grade", str(folder), str(path), "-o", str(report)]) == 0
    err = capsys.readouterr().err
    (row,) = rows(report)
    assert row["variant"] == "v001"
    # the first answers are graded: all right by the rule
    assert float(row["score"]) == sum(right(float(figures(a[q])), a[q]) for q in ORDER)
    assert "answered twice with different numbers" in row["notes"], row
    assert "told apart by their variants" not in err


def test_an_unreadable_file_of_a_folder_has_its_row(
    klass: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A binary bin.txt in a folder of claim files was noted on stderr and left out of
    grades.csv and of the count of students not graded."""
    folder, variants = klass
    subs = tmp_path / "subs"
    subs.mkdir()
    a = variants["v001"]["answers"]
    (subs / "ana.txt").write_text(
        "variant = v001\n" + "".join(f"{ASCII.get(q, q)} = {figures(a[q])}\n" for q in ORDER),
        encoding="utf-8",
    )
    (subs / "bob.claims").write_text("student = Bob\nvariant = v002\nz = 1\n", encoding="utf-8")
    (subs / "empty.txt").write_text("", encoding="utf-8")
    (subs / "notes.md").write_text("# my notes\n", encoding="utf-8")
    (subs / "bin.txt").write_bytes(bytes([0x81, 0x8D, 0x00, 0xFF, 0x90]) * 20)
    report = tmp_path / "r"
    capsys.readouterr()
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    out = capsys.readouterr().out
    grades = {r["student"]: r for r in rows(report)}
    assert set(grades) == {"ana", "Bob", "empty", "notes", "bin"}
    assert grades["bin"]["status"] == "not graded"
    assert "bin.txt" in grades["bin"]["notes"] and "cannot be read" in grades["bin"]["notes"]
    assert "2 students graded, 3 not graded" in out, out
    assert float(grades["ana"]["score"]) == len(ORDER)


def test_solve_writes_its_own_folder_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """solve -o out1, twice: the second run said the folder was not written by chainrule.
    Its own folder is written again; a file of it changed since, or a foreign folder, is
    refused without --force, and files of other names are kept."""
    exercise = ROOT / "examples" / "seed-exercise.toml"
    out = tmp_path / "out1"
    assert main(["solve", str(exercise), "-o", str(out)]) == 0
    first = (out / "solution.md").read_bytes()
    (out / "mine.txt").write_text("kept", encoding="utf-8")
    capsys.readouterr()
    assert main(["solve", str(exercise), "-o", str(out)]) == 0, capsys.readouterr().err
    assert (out / "solution.md").read_bytes() == first
    assert (out / "mine.txt").read_text(encoding="utf-8") == "kept"
    (out / "solution.md").write_text("my own edits", encoding="utf-8")
    assert main(["solve", str(exercise), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "solution.md" in err and "--force" in err and "Traceback" not in err
    assert (out / "solution.md").read_text(encoding="utf-8") == "my own edits"
    assert main(["solve", str(exercise), "-o", str(out), "--force"]) == 0
    assert (out / "solution.md").read_bytes() == first
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "solution.md").write_text("precious", encoding="utf-8")
    capsys.readouterr()
    assert main(["solve", str(exercise), "-o", str(foreign)]) == 2
    assert "not written by chainrule" in capsys.readouterr().err
    assert (foreign / "solution.md").read_text(encoding="utf-8") == "precious"
