"""chainrule grade: a synthetic class with planted slips of each kind, graded round trip from
generate, with error carried forward, feedback, exports and hostile submissions.

Every expected number is computed here from the manifest's answers with plain arithmetic (the
carried values of a slip, a rounding one unit off), never copied from chainrule's output."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core.values import to_float
from chainrule.teach.exports import tolerance
from chainrule.teach.generate import generate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"

FAN_OUT = """
title = "Fan-out <b> & \\"co\\""
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


def sig(x: float, digits: int = 4) -> str:
    return f"{x:#.{digits}g}".rstrip(".")  # trailing zeros kept: 0.01000 claims 4 digits


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("class") / "c"
    generate(REFERENCE, folder, count=4, seed=1, pdfs=False, solutions=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return folder, {v["id"]: v for v in manifest["variants"]}


def _x(program: str) -> list[float]:
    return [float(v) for v in to_float(cr.parse(program)["x"].value)]


def _csv(rows: list[tuple[str, str, str, str]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", "variant", "quantity", "value"])
    w.writerows(rows)
    return out.getvalue()


def _read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _grade(
    tmp_path: Path, folder: Path, text: str, *extra: str, name: str = "subs.csv"
) -> tuple[Path, dict[str, dict[str, str]], dict[tuple[str, str], str]]:
    subs = tmp_path / name
    subs.write_text(text, encoding="utf-8")
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(subs), "-o", str(report), *extra]) == 0
    grades = {r["student"]: r for r in _read(report / "grades.csv")}
    verdicts = {(r["student"], r["quantity"]): r["verdict"] for r in _read(report / "verdicts.csv")}
    return report, grades, verdicts


def _rounding_one_unit_off(t: float) -> str:
    """t to 3 significant digits, then one unit further in the last digit."""
    exponent = math.floor(math.log10(abs(t))) - 2
    unit = 10.0**exponent
    places = max(0, -exponent)
    return f"{round(t / unit) * unit + math.copysign(unit, t):.{places}f}"


def test_a_class_round_trip(tmp_path: Path, klass: tuple[Path, dict[str, Any]]) -> None:
    folder, variants = klass
    v1, v2, v3 = variants["v01"], variants["v02"], variants["v03"]
    rows: list[tuple[str, str, str, str]] = []
    # Ada: every answer right, to 4 significant digits, her name spelled two ways
    for k, (q, a) in enumerate(v1["answers"].items()):
        rows.append(("Ada Lovelace" if k % 2 == 0 else " ada   LOVELACE ", "v01", q, sig(a)))
    # Bob: answers to the 3 significant digits the rule asks, dL/dz one unit off in its third
    # digit, decimal commas
    for q, a in v2["answers"].items():
        value = _rounding_one_unit_off(a) if q == "dL/dz" else sig(a, 3)
        rows.append(("Bob", "v02", q, value.replace(".", ",")))
    # Chen: a wrong sign in the local partial ∂ŷ/∂z, carried into every later gradient
    a3 = v3["answers"]
    x = _x(v3["program"])
    slip = -a3["∂ŷ/∂z"]
    dz = a3["dL/dŷ"] * slip
    chen = dict(a3)
    chen.update({"∂ŷ/∂z": slip, "dL/dz": dz, "dL/dw1": dz * x[0], "dL/dw2": dz * x[1]})
    chen["dL/db₀"] = dz
    for q, a in chen.items():
        rows.append(("Chen", "v03", q.replace("ŷ", "yhat").replace("₀", "0"), sig(a)))
    _, grades, verdicts = _grade(tmp_path, folder, _csv(rows))
    n = len(v1["answers"])
    assert grades["Ada Lovelace"]["score"] == str(n) and grades["Ada Lovelace"]["max_score"] == str(
        n
    )
    assert all(verdicts[("Ada Lovelace", q)] == "right" for q in v1["answers"])
    assert grades["Bob"]["score"] == str(n)
    assert verdicts[("Bob", "dL/dz")] == "rounding"
    assert verdicts[("Bob", "L")] == "right"
    assert verdicts[("Chen", "∂ŷ/∂z")] == "first slip"
    for q in ("dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"):
        assert verdicts[("Chen", q)] == "follows from an earlier slip", q
    for q in ("z", "ŷ", "L", "dL/dŷ"):
        assert verdicts[("Chen", q)] == "right", q
    assert grades["Chen"]["score"] == str(n - 1)  # error carried forward: only the slip costs
    assert grades["Chen"]["first_slip"] == "∂ŷ/∂z"
    assert "z → ŷ" in grades["Chen"]["first_slip_at"]
    assert grades["Chen"]["mistake"] == "sign error"
    assert {g["status"] for g in grades.values()} == {"graded"}


def test_partial_credit_for_carried_errors_is_configurable(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    v = variants["v03"]
    a = dict(v["answers"])
    slip = -a["∂ŷ/∂z"]
    dz = a["dL/dŷ"] * slip
    x = _x(v["program"])
    a.update({"∂ŷ/∂z": slip, "dL/dz": dz, "dL/dw1": dz * x[0], "dL/dw2": dz * x[1]})
    a["dL/db₀"] = dz
    rows = [("Chen", "v03", q, sig(val)) for q, val in a.items()]
    scoring = tmp_path / "scoring.toml"
    scoring.write_text('points = 2\n[quantity_points]\n"L" = 4\n[credit]\nfollows = 0.5\n')
    _, grades, _ = _grade(tmp_path, folder, _csv(rows), "--scoring", str(scoring))
    n = len(a)
    best = 2 * (n - 1) + 4
    # the slip loses its 2 points, each of the 4 carried gradients half of its 2
    assert float(grades["Chen"]["max_score"]) == best
    assert float(grades["Chen"]["score"]) == best - 2 - 4 * 1


def test_rounding_too_early_and_a_copied_value(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    rows = []
    # Eve rounds ŷ to one decimal and carries it into L; pick a variant where it shows
    early = None
    for vid, v in variants.items():
        a = v["answers"]
        y = float(to_float(cr.parse(v["program"])["y"].value))
        yhat1 = round(a["ŷ"], 1)
        loss = (yhat1 - y) ** 2
        if abs(loss - a["L"]) > 0.05 * abs(a["L"]) and yhat1 != y:
            early = vid
            rows += [("Eve", vid, "z", sig(a["z"])), ("Eve", vid, "ŷ", f"{yhat1:.1f}")]
            rows.append(("Eve", vid, "L", sig(loss)))
            break
    assert early is not None, "no variant shows the effect of rounding early"
    # Finn copies L from another variant; the rest of his numbers are his own and right
    a1, a2 = variants["v01"]["answers"], variants["v02"]["answers"]
    assert abs(a1["L"] - a2["L"]) > 0.01 * abs(a1["L"])
    rows += [("Finn", "v01", q, sig(v)) for q, v in a1.items() if q != "L"]
    rows.append(("Finn", "v01", "L", sig(a2["L"])))
    _, grades, verdicts = _grade(tmp_path, folder, _csv(rows))
    assert verdicts[("Eve", "ŷ")] == "too few digits"  # one decimal, where 3 figures are asked
    assert verdicts[("Eve", "L")] == "rounded too early"
    assert verdicts[("Eve", "dL/dz")] == "missing"
    assert verdicts[("Finn", "L")] == "first slip"
    assert sum(v == "right" for (s, _), v in verdicts.items() if s == "Finn") == len(a1) - 1


def test_a_forgotten_fan_out_term(tmp_path: Path) -> None:
    template = tmp_path / "fan.toml"
    template.write_text(FAN_OUT, encoding="utf-8")
    folder = tmp_path / "fan"
    generate(template, folder, count=2, seed=3, pdfs=False, solutions=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    v = manifest["variants"][0]
    a = dict(v["answers"])
    g = cr.parse(v["program"])
    x, w = float(g["x"].value), float(g["w"].value)
    only_through_z = a["dL/dz"] * x  # the term through z; the regulariser's 2w/10 forgotten
    assert abs(only_through_z + 2 * w / 10 - a["dL/dw"]) < 1e-9  # the two terms, by hand
    a["dL/dw"] = only_through_z
    rows = [("Dana", v["id"], q, sig(val)) for q, val in a.items()]
    report, grades, verdicts = _grade(tmp_path, folder, _csv(rows))
    assert verdicts[("Dana", "dL/dw")] == "first slip"
    assert all(verdicts[("Dana", q)] == "right" for q in a if q != "dL/dw")
    page = (report / grades["Dana"]["feedback"]).read_text(encoding="utf-8")
    assert "Where it went wrong" in page and "reaches the output along 2 edges" in page
    assert grades["Dana"]["mistake"] == "missing fan-out term"
    # Moodle: one Cloze question per variant with a NUMERICAL part per quantity, the title
    # escaped, tolerances of the rule (half a unit of the 3rd significant digit)
    xml = (report / "exports" / "moodle.xml").read_text(encoding="utf-8")
    root = ET.fromstring(xml)
    questions = root.findall("question[@type='cloze']")
    assert len(questions) == len(manifest["variants"])
    for q, mv in zip(questions, manifest["variants"], strict=True):
        text = q.findtext("questiontext/text", "")
        assert "<b>" in text and "Fan-out &lt;b&gt; &amp; &quot;co&quot;" in text
        parts = re.findall(r"\{(\d+):NUMERICAL:=([^:]+):([^~}]+)", text)
        assert len(parts) == len(mv["answers"])
        for (_, value, tol), true in zip(parts, mv["answers"].values(), strict=True):
            assert float(value) == pytest.approx(true, rel=1e-11)
            unit = 10.0 ** (math.floor(math.log10(abs(true))) - 2)
            assert float(tol) == pytest.approx(unit / 2)


def test_feedback_shows_the_correct_working_at_the_first_slip(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    a = dict(variants["v02"]["answers"])
    a["∂ŷ/∂z"] = 2 * a["∂ŷ/∂z"]
    name = "Zed | *bold* <script>"
    rows = [(name, "v02", q, sig(v)) for q, v in a.items()]
    report, grades, _ = _grade(tmp_path, folder, _csv(rows))
    row = grades[name]
    assert row["feedback"].startswith("students/001-zed-bold-script")
    page = (report / row["feedback"]).read_text(encoding="utf-8")
    assert page.startswith("# Feedback for Zed \\| \\*bold\\* \\<script\\>")
    assert r"\sigma\left(z\right) \left(1 - \sigma\left(z\right)\right)" in page
    results = json.loads(
        (report / "exports" / "gradescope" / "001-zed-bold-script" / "results.json").read_text(
            encoding="utf-8"
        )
    )
    assert results["score"] == float(row["score"])
    assert len(results["tests"]) == len(a)
    assert {t["status"] for t in results["tests"]} == {"passed", "failed"}
    assert sum(t["max_score"] for t in results["tests"]) == float(row["max_score"])
    png = (report / "first-slips.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "| ∂ŷ/∂z | local partial on the edge z → ŷ | 1 |" in summary


def test_hostile_submissions_are_neutralised(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, variants = klass
    a = variants["v01"]["answers"]
    rows = [
        ('=HYPERLINK("http://evil.example","x")', "v01", "L", sig(a["L"])),
        ("Gus", "v01", "L", "banana"),
        ("Gus", "v01", "z", ""),
        ("Gus", "v01", "ŷ", "1e99999"),
        ("Gus", "v01", "dL/dz", '=cmd|"/c calc"!A1'),
        ("Gus", "v01", "zz", "1"),
        ("Hal", "v99", "L", "1"),
        ("../../../evil", "v01", "L", "1"),
        ("Ivy", "v01", "L=2", "3"),
    ]
    report, grades, verdicts = _grade(tmp_path, folder, _csv(rows))
    err = capsys.readouterr().err
    assert "'v99' is not in the manifest" in err and "'zz'" in err
    assert "'=HYPERLINK" in (report / "grades.csv").read_text(encoding="utf-8")
    assert grades['\'=HYPERLINK("http://evil.example","x")']["score"] == "1"
    assert verdicts[("Gus", "L")] == "wrong" and verdicts[("Gus", "z")] == "missing"
    assert verdicts[("Gus", "ŷ")] == "wrong" and verdicts[("Gus", "dL/dz")] == "wrong"
    assert grades["Hal"]["score"] == "" and "v99" in grades["Hal"]["problems"]
    for path in (report / "grades.csv", report / "verdicts.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            for cell in row:
                assert not cell.startswith(("=", "+", "@")), cell
                assert not cell.startswith("-") or cell.lstrip("-")[:1].isdigit(), cell
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    assert all(p.parts[0] in ("report", "subs.csv") for p in written)
    assert not (tmp_path.parent / "evil").exists()


def test_csv_quirks(tmp_path: Path, klass: tuple[Path, dict[str, Any]]) -> None:
    folder, variants = klass
    a = variants["v01"]["answers"]
    # a spreadsheet's export: byte-order mark, semicolons, capitals, extra column, commas
    lines = ["\ufeffStudent;Variant;Quantity;Value;Comment"]
    lines += [f"Ada;v01;{q};{sig(v).replace('.', ',')};ok" for q, v in a.items()]
    _, grades, _ = _grade(tmp_path, folder, "\r\n".join(lines) + "\r\n")
    assert grades["Ada"]["score"] == str(len(a))
    # commas as the delimiter and an unquoted decimal comma in the last column
    lines = ["student,variant,quantity,value"]
    lines += [f"Ben,v01,{q},{sig(v).replace('.', ',')}" for q, v in a.items()]
    (tmp_path / "b").mkdir()
    _, grades, _ = _grade(tmp_path / "b", folder, "\n".join(lines) + "\n")
    assert grades["Ben"]["score"] == str(len(a))


def test_structural_csv_mistakes_are_one_clear_error(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, _ = klass
    cases = {
        "student,variant,quantity\nAda,v01,L\n": "needs both quantity and value",
        "": "empty",
        "name,answer\n": "lacks the column(s) variant",
    }
    for k, (text, expected) in enumerate(cases.items()):
        subs = tmp_path / f"s{k}.csv"
        subs.write_text(text, encoding="utf-8")
        assert main(["grade", str(folder), str(subs), "-o", str(tmp_path / f"r{k}")]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err
        assert not (tmp_path / f"r{k}").exists()
    latin = tmp_path / "latin.csv"
    latin.write_bytes("student,variant,quantity,value\nJos\xe9,v01,L,1\n".encode("latin-1"))
    assert main(["grade", str(folder), str(latin), "-o", str(tmp_path / "rl")]) == 0
    assert "read as cp1252" in capsys.readouterr().err
    assert "José" in (tmp_path / "rl" / "grades.csv").read_text(encoding="utf-8")
    assert main(["grade", str(tmp_path / "nowhere"), str(latin), "-o", str(tmp_path / "x")]) == 2


def test_a_folder_of_claim_files(tmp_path: Path, klass: tuple[Path, dict[str, Any]]) -> None:
    folder, variants = klass
    subs = tmp_path / "claims"
    subs.mkdir()
    a = variants["v02"]["answers"]
    body = "variant = v02\nstudent = Ada Lovelace\n" + "".join(
        f"{q} = {sig(v)}\n" for q, v in a.items()
    )
    (subs / "ada.txt").write_text(body, encoding="utf-8")
    (subs / "nobody.txt").write_text("L = 1\n", encoding="utf-8")
    (subs / "latin.txt").write_bytes("variant = v01\nstudent = Jos\xe9\nL = 1\n".encode("latin-1"))
    report = tmp_path / "report"
    assert main(["grade", str(folder), str(subs), "-o", str(report)]) == 0
    grades = {r["student"]: r for r in _read(report / "grades.csv")}
    assert grades["Ada Lovelace"]["score"] == str(len(a))
    assert grades["nobody"]["status"] == "not graded"
    assert "variant" in grades["nobody"]["notes"] and grades["nobody"]["score"] == ""
    assert grades["José"]["status"] == "graded"  # latin-1 is read as cp1252, and said
    assert len(grades) == 3
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "no line 'variant = …'" in summary and "latin.txt: read as cp1252" in summary


def test_grading_twice_gives_the_same_bytes(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    a = dict(variants["v01"]["answers"])
    a["dL/dŷ"] = -a["dL/dŷ"]
    text = _csv([("Ada", "v01", q, sig(v)) for q, v in a.items()])
    subs = tmp_path / "s.csv"
    subs.write_text(text, encoding="utf-8")
    trees = []
    for name in ("r1", "r2"):
        assert main(["grade", str(folder), str(subs), "-o", str(tmp_path / name)]) == 0
        root = tmp_path / name
        trees.append(
            {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        )
    assert trees[0] == trees[1]


def test_moodle_tolerance_is_half_a_unit_in_the_third_digit() -> None:
    assert tolerance(0.0032861) == pytest.approx(0.000005)
    assert tolerance(-2.6) == pytest.approx(0.005)
    assert tolerance(123.0) == pytest.approx(0.5)


def test_a_tampered_manifest_is_one_clear_error(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]], capsys
) -> None:
    folder, _ = klass
    copy = tmp_path / "c"
    copy.mkdir()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["variants"][0]["program"] = "x = (\n"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    subs = tmp_path / "s.csv"
    subs.write_text("student,variant,quantity,value\nAda,v01,L,1\n", encoding="utf-8")
    assert main(["grade", str(copy), str(subs), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "manifest.json: variant v01: its program" in err and "Traceback" not in err
    (copy / "manifest.json").write_text('{"variants": [{"id": 3}]}', encoding="utf-8")
    assert main(["grade", str(copy), str(subs), "-o", str(tmp_path / "r")]) == 2
    assert "variants[0]: id must be a text" in capsys.readouterr().err


def test_the_example_class_in_the_repository_is_what_the_commands_write(tmp_path: Path) -> None:
    """examples/teaching/{class,report} are outputs of the documented commands, kept current."""
    here = ROOT / "examples" / "teaching"
    args = ["--count", "3", "--seed", "2024", "--no-pdf", "--no-solutions"]
    assert main(["generate", str(REFERENCE), *args, "-o", str(tmp_path / "class")]) == 0
    for p in sorted((here / "class").rglob("*")):
        # PNG bytes follow the rasteriser's version; exports/ (not kept in the repository)
        # holds a wheel of chainrule itself
        if p.is_file() and p.suffix != ".png" and "exports" not in p.parts:
            assert (
                p.read_bytes() == (tmp_path / "class" / p.relative_to(here / "class")).read_bytes()
            )
    report = tmp_path / "report"
    assert (
        main(["grade", str(here / "class"), str(here / "submissions.csv"), "-o", str(report)]) == 0
    )
    for p in sorted((here / "report").rglob("*")):
        if p.is_file() and p.suffix in (".csv", ".md", ".json", ".xml"):
            assert p.read_bytes() == (report / p.relative_to(here / "report")).read_bytes(), p
    verdicts = {(r["student"], r["quantity"]): r["verdict"] for r in _read(report / "verdicts.csv")}
    assert verdicts[("Chen", "∂ŷ/∂z")] == "first slip"
    assert verdicts[("Dee", "L")] == "wrong"
