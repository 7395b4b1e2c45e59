"""A class of 200, graded as an instructor would grade it by hand.

The students are made here, each with a mistake a real class makes (a sheet of zeros, one
significant digit, two students of one name, a wrong variant id, blank cells, a neighbour's
numbers, σ(z) for σ′(z), a dropped factor 2, a sign error, a vector in one cell, too few
digits, text where a number belongs). Every expected score is computed here from the manifest's
answers and the variant's inputs with plain arithmetic and the rule (3 significant figures,
checked with ``decimal``), never read from chainrule's output."""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core.values import to_float
from chainrule.teach.generate import generate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"
N_VARIANTS = 30
N_STUDENTS = 200
ORDER = ["z", "ŷ", "L", "∂ŷ/∂z", "dL/dŷ", "dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"]


def within_three_figures(written: float, true: float) -> bool:
    """The rule by hand: |written − true| ≤ half a unit of the 3rd significant digit."""
    if true == 0:
        return written == 0
    unit = Decimal(10) ** (Decimal(abs(true)).adjusted() - 2)
    return abs(Decimal(repr(written)) - Decimal(repr(true))) <= unit / 2 * Decimal("1.000000001")


def figures(x: float, n: int) -> str:
    return f"{x:.{n}g}"


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("class200") / "c"
    generate(REFERENCE, folder, count=N_VARIANTS, seed=11, pdfs=False, solutions=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return folder, {v["id"]: v for v in manifest["variants"]}


def inputs(program: str) -> dict[str, Any]:
    g = cr.parse(program)
    return {n: to_float(g[n].value) for n in ("x", "w", "b₀", "y")}


def sigma_for_derivative(a: dict[str, float], x: list[float]) -> dict[str, float]:
    """∂ŷ/∂z written as ŷ, and carried: dL/dz = dL/dŷ·ŷ, dL/dwᵢ = dL/dz·xᵢ, dL/db₀ = dL/dz."""
    out = dict(a)
    out["∂ŷ/∂z"] = a["ŷ"]
    out["dL/dz"] = a["dL/dŷ"] * a["ŷ"]
    out["dL/dw1"], out["dL/dw2"] = out["dL/dz"] * x[0], out["dL/dz"] * x[1]
    out["dL/db₀"] = out["dL/dz"]
    return out


def dropped_two(a: dict[str, float], x: list[float], y: float) -> dict[str, float]:
    """dL/dŷ written as ŷ − y (the 2 of the square dropped), and carried."""
    out = dict(a)
    out["dL/dŷ"] = a["ŷ"] - y
    out["dL/dz"] = out["dL/dŷ"] * a["∂ŷ/∂z"]
    out["dL/dw1"], out["dL/dw2"] = out["dL/dz"] * x[0], out["dL/dz"] * x[1]
    out["dL/db₀"] = out["dL/dz"]
    return out


def sign_error(a: dict[str, float]) -> dict[str, float]:
    """dL/dz with the wrong sign, carried into dL/dw and dL/db₀."""
    out = dict(a)
    for q in ("dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"):
        out[q] = -a[q]
    return out


KINDS = [
    "perfect",
    "zeros",
    "one digit",
    "namesake",
    "wrong id",
    "blank cells",
    "neighbour",
    "sigma",
    "dropped two",
    "sign",
    "spelled variant",
    "vector cell",
    "too few",
    "unreadable",
    "duplicate",
    "no variant",
]


def build_class(variants: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The submissions CSV (long, with id and email) and what a hand grader expects, by id."""
    ids = list(variants)
    rows: list[list[str]] = []
    expect: dict[str, dict[str, Any]] = {}
    for k in range(N_STUDENTS):
        kind = KINDS[k % len(KINDS)]
        sid = f"S{k:04d}"
        vid = ids[k % N_VARIANTS]
        other = ids[(k + 1) % N_VARIANTS]
        v = variants[vid]
        a = dict(v["answers"])
        # z = wᵀx + b₀ in exact numbers (the manifest's float may be −5.6e-17 for 0)
        a["z"] = float(cr.parse(v["program"], exact=True)["z"].value)
        ins = inputs(v["program"])
        x = [float(t) for t in ins["x"]]
        name = "Wei Zhang" if kind == "namesake" else f"Student {k}"
        written_variant = vid
        answers: dict[str, str] = {q: figures(a[q], 4) for q in ORDER}
        e: dict[str, Any] = {"status": "graded", "score": 9}
        if kind == "zeros":
            answers = {q: "0" for q in ORDER}
            e["score"] = sum(a[q] == 0 for q in ORDER)  # 0 is right only for a true 0
        elif kind == "one digit":
            answers = {q: figures(a[q], 1) for q in ORDER}
            e["score"] = sum(within_three_figures(float(answers[q]), a[q]) for q in ORDER)
        elif kind in ("wrong id", "neighbour"):
            theirs = dict(variants[other]["answers"])
            theirs["z"] = float(cr.parse(variants[other]["program"], exact=True)["z"].value)
            answers = {q: figures(theirs[q], 4) for q in ORDER}
            e["other"] = other
            e["score"] = None  # graded against the variant written; the note is what counts
        elif kind == "blank cells":
            answers["L"] = ""
            answers["dL/dw2"] = ""
            e["score"] = 7
            e["missing"] = ["L", "dL/dw2"]
        elif kind == "sigma":
            answers = {q: figures(t, 4) for q, t in sigma_for_derivative(a, x).items()}
            e["score"], e["slip"], e["kind"] = 8, "∂ŷ/∂z", "function for its derivative"
        elif kind == "dropped two":
            y = float(ins["y"])
            answers = {q: figures(t, 4) for q, t in dropped_two(a, x, y).items()}
            e["score"], e["slip"], e["kind"] = 8, "dL/dŷ", "dropped constant factor"
        elif kind == "sign":
            answers = {q: figures(t, 4) for q, t in sign_error(a).items()}
            e["score"], e["slip"], e["kind"] = 8, "dL/dz", "sign error"
        elif kind == "spelled variant":
            written_variant = [vid.upper(), "v" + vid[1:].lstrip("0"), vid[1:].lstrip("0")][k % 3]
        elif kind == "too few":
            for q in ("ŷ", "dL/dz", "dL/dw1"):
                answers[q] = figures(a[q], 2)
            right = sum(within_three_figures(float(answers[q]), a[q]) for q in ORDER)
            e["score"] = right
        elif kind == "unreadable":
            answers["L"] = "about a half"
            e["score"] = 8
        elif kind == "no variant":
            written_variant = ""
            e = {"status": "not graded", "score": None}
        student_rows = []
        if kind == "vector cell":
            vec = f"[{answers.pop('dL/dw1')}, {answers.pop('dL/dw2')}]"
            student_rows.append(["dL/dw", vec])
        student_rows += [[q, val] for q, val in answers.items()]
        if kind == "duplicate":
            student_rows.append(["z", figures(a["z"] + 1, 4)])  # a second, different z
            e["duplicate"] = True
        for q, val in student_rows:
            rows.append([name, sid, f"{sid.lower()}@school.example", written_variant, q, val])
        e["variant"] = vid
        expect[sid] = e
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", "id", "email", "variant", "quantity", "value"])
    w.writerows(rows)
    return out.getvalue(), expect


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_a_class_of_200_is_graded_as_by_hand(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    text, expect = build_class(variants)
    subs = tmp_path / "answers.csv"
    subs.write_text(text, encoding="utf-8")
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    grades = {r["id"]: r for r in read_csv(report / "grades.csv")}
    verdicts: dict[tuple[str, str], dict[str, str]] = {
        (r["id"], r["quantity"]): r for r in read_csv(report / "verdicts.csv")
    }
    # every student accounted for, the two Wei Zhangs included
    assert len(grades) == N_STUDENTS and set(grades) == set(expect)
    assert sum(r["student"] == "Wei Zhang" for r in grades.values()) == len(
        [k for k in range(N_STUDENTS) if KINDS[k % len(KINDS)] == "namesake"]
    )
    for sid, e in expect.items():
        row = grades[sid]
        assert row["status"] == e["status"], (sid, row)
        if e["status"] == "not graded":
            assert row["score"] == "" and "no variant" in row["notes"]
            continue
        assert row["variant"] == e["variant"], (sid, row["variant"])
        assert row["email"] == f"{sid.lower()}@school.example"
        if e["score"] is not None:
            assert float(row["score"]) == e["score"], (sid, row, e)
        if "other" in e:
            assert f"these answers are {e['other']}'s" in row["notes"], (sid, row["notes"])
        else:
            assert "these answers are" not in row["notes"], (sid, row["notes"])
        for q in e.get("missing", []):
            assert verdicts[(sid, q)]["verdict"] == "missing"
        if "slip" in e:
            assert row["first_slip"] == e["slip"] and row["mistake"] == e["kind"], (sid, row)
            later = ORDER[ORDER.index(e["slip"]) + 1 :]
            assert all(
                verdicts[(sid, q)]["verdict"] in ("follows from an earlier slip", "right")
                for q in later
            ), sid
        if e.get("duplicate"):
            assert "z answered again" in row["problems"]
    # the summary counts the kinds of first slips
    summary = (report / "summary.md").read_text(encoding="utf-8")
    for kind in ("function for its derivative", "dropped constant factor", "sign error"):
        planted = sum(e.get("kind") == kind for e in expect.values())
        found = sum(  # students holding another variant's answers are not counted
            r["mistake"] == kind and "these answers are" not in r["notes"] for r in grades.values()
        )
        assert found >= planted and f"| {kind} | {found} |" in summary, kind
    assert (report / "mistake-kinds.png").read_bytes().startswith(b"\x89PNG")
    # zeros and one-digit sheets earn nothing beyond what is right to 3 figures
    zeros = [sid for sid, e in expect.items() if e["score"] == 0]
    assert zeros and all(grades[s]["score"] == "0" for s in zeros)


def test_answers_for_another_class_are_refused_loudly(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, variants = klass
    rows = ["student,variant,quantity,value"]
    for k in range(5):  # softmax answers: quantities this class does not have
        rows += [f"S{k},v0{k + 1},p{j},0.{3 + j}" for j in range(1, 4)] + [f"S{k},v0{k + 1},L,1.2"]
    subs = tmp_path / "other.csv"
    subs.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["grade", str(folder), str(subs), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "another class" in err and not (tmp_path / "r").exists()
    assert main(["grade", str(folder), str(subs), "-o", str(tmp_path / "r"), "--anyway"]) == 0
    assert "WARNING" in capsys.readouterr().err
    assert "WARNING" in (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")


def test_spreadsheet_exports_are_read_and_the_encoding_said(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, variants = klass
    v = variants["v01"]
    a = v["answers"]
    names = ["z", "yhat", "L", "dyhat/dz", "dL/dyhat", "dL/dz", "dL/dw1", "dL/dw2", "dL/db0"]
    # a wide CSV as Google Forms gives it: a timestamp, one column per quantity, decimal commas
    head = ["Timestamp", "Email Address", "Name", "Variant", *names]
    cells = ["2026/01/01", "josé@school.example", "José Núñez", "1"]
    cells += [figures(a[q], 4).replace(".", ",") for q in ORDER]
    text = "sep=;\n" + ";".join(head) + "\n" + ";".join(cells) + "\n"
    for encoding, said in (("cp1252", "cp1252"), ("utf-16", "UTF-16"), ("utf-8-sig", None)):
        subs = tmp_path / f"wide-{encoding}.csv"
        subs.write_bytes(text.encode(encoding))
        out = tmp_path / f"r-{encoding}"
        assert main(["grade", str(folder), str(subs), "-o", str(out), "--anyway"]) == 0
        err = capsys.readouterr().err
        assert (said is None and "read as" not in err) or (said is not None and said in err)
        (row,) = read_csv(out / "grades.csv")
        assert row["student"] == "José Núñez" and row["email"] == "josé@school.example"
        assert row["variant"] == "v01" and row["score"] == "9", row
        # no guard on a decimal-comma number, a guard on a formula
        ver = read_csv(out / "verdicts.csv")
        assert all(not r["claimed"].startswith("'") for r in ver)


def test_names_that_hold_separators_and_escapes_are_written_inert(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, variants = klass
    a = variants["v02"]["answers"]
    hostile = "x;=1+1 \x1b]0;PWNED\x07\x1b[2J $\\alpha$"
    rows = [["student", "variant", "quantity", "value"]]
    rows += [[hostile, "v02", q, figures(a[q], 4)] for q in ORDER]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    subs = tmp_path / "h.csv"
    subs.write_text(out.getvalue(), encoding="utf-8")
    report = tmp_path / "r"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    raw = (report / "grades.csv").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x07" not in raw
    line = raw.splitlines()[1]
    assert line.startswith('"x;=1+1'), line  # quoted: a ;-splitting spreadsheet keeps it whole
    for row in csv.reader(io.StringIO(raw), delimiter=";"):
        assert all(not c.startswith("=") for c in row)
    page = next((report / "students").glob("*.md")).read_text(encoding="utf-8")
    assert "\\$\\\\alpha\\$" in page and "\x1b" not in page  # no maths from a name
    assert math.isfinite(float(read_csv(report / "grades.csv")[0]["score"]))


def test_a_report_folder_is_written_again_with_force(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, variants = klass
    a = variants["v03"]["answers"]
    subs = tmp_path / "s.csv"
    subs.write_text(
        "student,variant,quantity,value\n"
        + "".join(f"Ada,v03,{q},{figures(a[q], 4)}\n" for q in ORDER),
        encoding="utf-8",
    )
    report = tmp_path / "r"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 2
    err = capsys.readouterr().err
    assert "written by chainrule" in err and "not written" not in err
    assert main(["grade", str(folder), str(subs), "-o", str(report), "--force"]) == 0


def test_rows_are_never_dropped_in_silence(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    v = variants["v05"]
    a = dict(v["answers"])
    a["z"] = float(cr.parse(v["program"], exact=True)["z"].value)
    lines = ["student,variant,quantity,value"]
    lines += [f"Ola,v05,{q},{figures(a[q], 4)}" for q in ORDER if q not in ("dL/dw1", "dL/dw2")]
    # a vector with decimal commas, unquoted: the row splits into five cells
    w1, w2 = (figures(a[q], 4).replace(".", ",") for q in ("dL/dw1", "dL/dw2"))
    lines.append(f"Ola,v05,dL/dw,[{w1}, {w2}]")
    lines.append("Ola,v05")  # a row too short to read
    # a slip in one element of a vector: the summary names the element
    lines += [f"Pia,v05,{q},{figures(a[q], 4)}" for q in ORDER if q != "dL/dw2"]
    lines.append(f"Pia,v05,dL/dw2,{figures(a['dL/dw2'] + 1, 4)}")
    subs = tmp_path / "s.csv"
    subs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "r"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    grades = {r["student"]: r for r in read_csv(report / "grades.csv")}
    assert grades["Ola"]["score"] == "9"
    assert "2 cells" in grades["Ola"]["problems"]
    page = (report / grades["Ola"]["feedback"]).read_text(encoding="utf-8")
    assert "2 cells" in page
    assert grades["Pia"]["first_slip"] == "dL/dw2"
    assert grades["Pia"]["first_slip_at"] == "backward, at w₂"
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "| dL/dw2 | backward, at w₂ | 1 |" in summary
