"""Round trips with the systems teachers use, run for real.

- Gradescope: ``gradescope-autograder.zip`` is unpacked into a temporary root laid out as
  Gradescope's ``/autograder``; ``setup.sh`` installs chainrule from the wheel inside the zip
  into a fresh virtual environment (its dependencies are reached through a ``.pth`` file, so no
  package index is used), and ``run_autograder`` grades several submissions.
- PrairieLearn: ``server.py`` is imported and its ``generate`` and ``grade`` are called with
  the ``data`` dictionaries PrairieLearn passes.
- Moodle: ``moodle.xml`` is parsed; every variant is one Cloze question with its program, its
  graph and a NUMERICAL part per quantity, tolerances from the rule.

Expected scores are computed here from the manifest and the rule by hand."""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import json
import os
import random
import re
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.teach.exports import moodle_xml, number_text
from chainrule.teach.generate import generate
from chainrule.teach.grading import ClassKey, KeyVariant

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"
ORDER = ["z", "ŷ", "L", "∂ŷ/∂z", "dL/dŷ", "dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"]


def figures(x: float, n: int = 4) -> str:
    return f"{x:.{n}g}"


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("lms")
    roster = base / "roster.csv"
    roster.write_text(
        "Email,Variant\nada@school.example,v01\nbob@school.example,2\ncy@school.example,V03\n",
        encoding="utf-8",
    )
    folder = base / "c"
    generate(REFERENCE, folder, count=4, seed=5, pdfs=False, solutions=False, roster=roster)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return folder, {v["id"]: v for v in manifest["variants"]}


def exact_answers(v: dict[str, Any]) -> dict[str, float]:
    a = dict(v["answers"])
    a["z"] = float(cr.parse(v["program"], exact=True)["z"].value)
    return a


def test_the_class_folder_holds_the_three_exports_and_a_handout(
    klass: tuple[Path, dict[str, Any]],
) -> None:
    folder, variants = klass
    exports = folder / "exports"
    assert (exports / "gradescope-autograder.zip").is_file()
    assert (exports / "moodle.xml").is_file()
    assert {p.name for p in (exports / "prairielearn").iterdir()} >= {
        "info.json",
        "question.html",
        "server.py",
    }
    handout = folder / "handout"
    names = {p.relative_to(handout).as_posix() for p in handout.rglob("*") if p.is_file()}
    assert all(n.split("/")[-1].startswith(("worksheet.", "graph.", ".chainrule")) for n in names)
    assert {n.split("/")[0] for n in names if "/" in n} == set(variants)
    for path in handout.rglob("*"):  # the very worksheets and graphs, nothing else
        if path.is_file() and not path.name.startswith("."):
            twin = folder / path.relative_to(handout)
            assert path.read_bytes() == twin.read_bytes()
    assert not any(n.endswith(("answers.json", "answer-key.csv", "manifest.json")) for n in names)


def _venv(tmp: Path) -> Path:
    """A fresh virtual environment whose only way to numpy & co is a .pth file."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    (Path(site) / "deps-for-the-test.pth").write_text(deps + "\n", encoding="utf-8")
    return python


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra)
    return env


def _submit(root: Path, email: str, files: dict[str, str]) -> None:
    sub = root / "submission"
    if sub.exists():
        for p in sorted(sub.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    sub.mkdir(exist_ok=True)
    for name, text in files.items():
        (sub / name).write_text(text, encoding="utf-8")
    meta = {"id": 1, "users": [{"email": email, "name": email.split("@")[0].title()}]}
    (root / "submission_metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def _run(root: Path, python: Path) -> dict[str, Any]:
    assert (root / "source" / "python-path").read_text(encoding="utf-8").strip() == str(python)
    results = root / "results" / "results.json"
    if results.exists():
        results.unlink()
    env = _clean_env(AUTOGRADER_ROOT=str(root))  # the Python setup.sh chose, from python-path
    r = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    return json.loads(results.read_text(encoding="utf-8"))


def test_the_gradescope_autograder_installs_offline_and_grades(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    root = tmp_path / "autograder"
    source = root / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(folder / "exports" / "gradescope-autograder.zip") as z:
        names = z.namelist()
        assert "setup.sh" in names and "run_autograder" in names  # at the top, as specified
        assert any(re.fullmatch(r"wheels/chainrule-.*-py3-none-any\.whl", n) for n in names)
        z.extractall(source)
    for script in ("setup.sh", "run_autograder"):
        (source / script).chmod(0o755)
    python = _venv(tmp_path)
    env = _clean_env(CHAINRULE_PYTHON=str(python), PIP_NO_INDEX="1")
    r = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    where = subprocess.run(
        [str(python), "-c", "import chainrule; print(chainrule.__file__)"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel's copy, not the tree's

    # Ada (roster: v01) hands in a CSV, every answer right to 4 figures
    a1 = exact_answers(variants["v01"])
    rows = "quantity,value\n" + "".join(f"{q},{figures(a1[q])}\n" for q in ORDER)
    _submit(root, "ada@school.example", {"answers.csv": rows})
    res = _run(root, python)
    assert res["score"] == 9 and len(res["tests"]) == 9
    assert all(t["status"] == "passed" for t in res["tests"])
    assert "Variant v01" in res["output"] and "3 significant figures" in res["output"]

    # Bob (roster: "2" → v02) writes a claims file with σ(z) where σ′(z) belongs, carried on
    v2 = variants["v02"]
    a2 = exact_answers(v2)
    x = [float(t) for t in cr.parse(v2["program"])["x"].value]
    bob = dict(a2)
    bob["∂ŷ/∂z"] = a2["ŷ"]
    bob["dL/dz"] = a2["dL/dŷ"] * a2["ŷ"]
    bob["dL/dw1"], bob["dL/dw2"], bob["dL/db₀"] = (
        bob["dL/dz"] * x[0],
        bob["dL/dz"] * x[1],
        bob["dL/dz"],
    )
    body = "".join(f"{q} = {figures(bob[q])}\n" for q in ORDER)
    _submit(root, "BOB@school.example", {"work.txt": body})
    res = _run(root, python)
    assert res["score"] == 8  # only the slip costs: error carried forward
    slip = next(t for t in res["tests"] if t["name"] == "∂ŷ/∂z")
    assert slip["score"] == 0 and "first slip" in slip["output"]
    assert "function for its derivative" in slip["output"]

    # Cy's file names another variant than the roster's: graded against the roster's, and said
    a3 = exact_answers(variants["v03"])
    body = "variant = v04\n" + "".join(f"{q} = {figures(a3[q])}\n" for q in ORDER)
    _submit(root, "cy@school.example", {"answers.txt": body})
    res = _run(root, python)
    assert res["score"] == 9 and "the roster" in res["output"]

    # Dee is on no roster and names no variant: not graded, and told why
    _submit(root, "dee@school.example", {"answers.txt": "z = 1\n"})
    res = _run(root, python)
    assert res["score"] == 0 and res["output"].startswith("Not graded: no variant")

    # Eve is not on the roster but names her variant: graded, with a missing answer
    a4 = exact_answers(variants["v04"])
    body = "variant = v4\n" + "".join(f"{q} = {figures(a4[q])}\n" for q in ORDER[:-1])
    _submit(root, "eve@school.example", {"answers.txt": body})
    res = _run(root, python)
    assert res["score"] == 8 and "Not graded" not in res["output"]


def _server(folder: Path) -> Any:
    path = folder / "exports" / "prairielearn" / "server.py"
    spec = importlib.util.spec_from_file_location("pl_server_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pl_data() -> dict[str, Any]:
    return {
        "params": {},
        "correct_answers": {},
        "submitted_answers": {},
        "raw_submitted_answers": {},
        "format_errors": {},
        "partial_scores": {},
        "score": 0,
        "feedback": {},
        "variant_seed": 1,
        "options": {},
    }


def test_the_prairielearn_question_generates_and_grades(
    klass: tuple[Path, dict[str, Any]],
) -> None:
    folder, variants = klass
    pl = folder / "exports" / "prairielearn"
    info = json.loads((pl / "info.json").read_text(encoding="utf-8"))
    assert info["type"] == "v3" and re.fullmatch(r"[0-9a-f-]{36}", info["uuid"])
    html = (pl / "question.html").read_text(encoding="utf-8")
    assert 'comparison="sigfig" digits="3"' in html and "pl-number-input" in html
    server = _server(folder)
    seen = set()
    for seed in range(12):
        random.seed(seed)
        data = _pl_data()
        server.generate(data)
        vid = data["params"]["variant"]
        seen.add(vid)
        v = variants[vid]
        assert data["params"]["program"] == v["program"].strip()
        labels = [q["label"] for q in data["params"]["quantities"]]
        assert labels == list(v["answers"])
        for q in data["params"]["quantities"]:
            assert data["correct_answers"][q["name"]] == v["answers"][q["label"]]
    assert len(seen) > 1  # the variants are drawn, not one for all

    random.seed(3)
    data = _pl_data()
    server.generate(data)
    v = variants[data["params"]["variant"]]
    a = exact_answers(v)
    fields = {q["label"]: q["name"] for q in data["params"]["quantities"]}
    for label, field in fields.items():
        data["raw_submitted_answers"][field] = figures(a[label])
        data["submitted_answers"][field] = float(figures(a[label]))
    server.grade(data)
    assert data["score"] == 1
    # a sign error in dL/dz, carried into dL/dw and dL/db₀: only dL/dz loses its point
    data2 = _pl_data()
    data2["params"] = data["params"]
    for label, field in fields.items():
        value = -a[label] if label in ("dL/dz", "dL/dw1", "dL/dw2", "dL/db₀") else a[label]
        data2["raw_submitted_answers"][field] = figures(value)
    server.grade(data2)
    assert data2["score"] == pytest.approx(8 / 9)
    assert data2["partial_scores"][fields["dL/dz"]]["score"] == 0
    assert "sign error" in data2["partial_scores"][fields["dL/dz"]]["feedback"]
    assert data2["partial_scores"][fields["dL/dw1"]]["score"] == 1
    assert "dL/dz" in data2["feedback"]["first_slip"]
    # a number with too few digits (PrairieLearn's float would hide them; the raw text counts)
    data3 = _pl_data()
    data3["params"] = data["params"]
    for label, field in fields.items():
        data3["raw_submitted_answers"][field] = figures(a[label])
    t = a["ŷ"]
    one = f"{t:.1g}"
    unit = Decimal(10) ** (Decimal(abs(t)).adjusted() - 2)
    if abs(Decimal(one) - Decimal(repr(t))) > unit / 2:  # one figure is not within the rule
        data3["raw_submitted_answers"][fields["ŷ"]] = one
        server.grade(data3)
        assert data3["partial_scores"][fields["ŷ"]]["feedback"].startswith("too few digits")


def test_moodle_cloze_questions_hold_a_whole_variant(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    root = ET.fromstring((folder / "exports" / "moodle.xml").read_text(encoding="utf-8"))
    cats = root.findall("question[@type='category']")
    questions = root.findall("question[@type='cloze']")
    assert len(cats) == 1 and len(questions) == len(variants)
    for q, v in zip(questions, variants.values(), strict=True):
        text = q.findtext("questiontext/text", "")
        for line in v["program"].strip().splitlines():  # the givens and the program
            assert line.replace("@", "@").replace("&", "&amp;") in text or line in text
        (image,) = q.findall("questiontext/file")
        assert base64.b64decode(image.text or "").startswith(b"\x89PNG")
        assert f"@@PLUGINFILE@@/{image.get('name')}" in text
        parts = re.findall(
            r"\{(\d+):NUMERICAL:=([^:}]+):([^~}]+)(?:~%(\d+)%([^:}]+):([^}]+))?\}", text
        )
        assert len(parts) == len(v["answers"])
        truths = exact_answers(v)
        for (_, value, tol, share, _, wide), name in zip(parts, v["answers"], strict=True):
            assert value == number_text(truths[name])
            digits = re.sub(r"\D", "", value.split("e")[0]).lstrip("0")
            assert len(digits) <= 12  # no float noise such as 0.6500000000000001
            true = truths[name]
            if true == 0:
                assert float(tol) == 0
                continue
            unit = 10.0 ** (Decimal(abs(true)).adjusted() - 2)
            assert float(tol) == pytest.approx(unit / 2, rel=1e-9)
            assert share == "100" and float(wide) == pytest.approx(1.5 * unit, rel=1e-9)
    # a title holding characters XML 1.0 forbids still gives well-formed XML
    key = ClassKey(
        "bad \x01 title \x0b here",
        5,
        {"v01": KeyVariant("v01", 1, "x = 1\ny = 2 * x", {"y": 0.65 + 1e-16}, False)},
    )
    xml = moodle_xml(key)
    parsed = ET.fromstring(xml)
    assert "=0.65:" in parsed.findtext("question[@type='cloze']/questiontext/text", "")


def test_the_moodle_gradebook_file_maps_students_by_id_and_email(
    tmp_path: Path, klass: tuple[Path, dict[str, Any]]
) -> None:
    folder, variants = klass
    a = exact_answers(variants["v02"])
    lines = ["id,email,student,variant,quantity,value"]
    lines += [f"7,bob@school.example,Bob,v02,{q},{figures(a[q])}" for q in ORDER]
    lines += ["8,kim@school.example,Kim,v77,z,1", "8,kim@school.example,Kim,v77,L,2"]
    subs = tmp_path / "s.csv"
    subs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "r"
    assert main(["grade", str(folder), str(subs), "-o", str(report), "--anyway"]) == 0
    rows = list(
        csv.DictReader(
            io.StringIO((report / "exports" / "moodle-grades.csv").read_text(encoding="utf-8"))
        )
    )
    by_id = {r["ID number"]: r for r in rows}
    assert by_id["7"]["Email address"] == "bob@school.example" and by_id["7"]["Grade"] == "9"
    assert by_id["8"]["Grade"] == "" and "v77" in by_id["8"]["Feedback"]
    gs = json.loads(
        next((report / "exports" / "gradescope").glob("001-*/results.json")).read_text()
    )
    assert "Not graded" not in gs["output"]
