"""Several claims on one line, as programs separate statements (``ŷ = 0.943; L = 0.00329``):
each is judged on its own. A line read as one claim took the name of the first and the value
of the last. True values are computed here (math) for the reference neuron."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from chainrule.check import parse_claim, parse_claims
from chainrule.check.claims import split_claims
from chainrule.cli import main

EXERCISE = Path(__file__).resolve().parents[1] / "src" / "chainrule" / "data" / "exercise.cr"
Z = 4 / 5 + 7 / 5 + 3 / 5
Y_HAT = 1 / (1 + math.exp(-Z))
LOSS = (Y_HAT - 1) ** 2


@pytest.mark.parametrize(
    ("line", "pieces"),
    [
        ("ŷ = 0.943; L = 0.00329", ["ŷ = 0.943", "L = 0.00329"]),
        ("ŷ=0.943,L=0.00329", ["ŷ=0.943", "L=0.00329"]),
        ("ŷ = 0,943, L = 0,00329", ["ŷ = 0,943", "L = 0,00329"]),
        ("L = 0,00329", ["L = 0,00329"]),  # a decimal comma
        ("w = [0,8; 1,4]", ["w = [0,8; 1,4]"]),  # a vector's separator
        ("dL/dw = [1, 2], L = 0,003", ["dL/dw = [1, 2]", "L = 0,003"]),
        ("dL/dz = -0.12 · 0.05 = -0.006; z = 14/5", ["dL/dz = -0.12 · 0.05 = -0.006", "z = 14/5"]),
        ("L = 0.003;", ["L = 0.003"]),
    ],
)
def test_a_line_is_split_into_its_claims(line: str, pieces: list[str]) -> None:
    assert split_claims(line) == pieces


def test_two_claims_on_one_command_line_claim_are_both_judged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["check", str(EXERCISE), "--claim", "ŷ = 0.943; L = 0.00329", "--json"])
    out = json.loads(capsys.readouterr().out)
    got = {c["quantity"]: (c["verdict"], c["true"]) for c in out["claims"]}
    assert got == {"ŷ": ("right", pytest.approx(Y_HAT)), "L": ("right", pytest.approx(LOSS))}
    assert status == 0


def test_a_claims_file_line_with_two_claims_keeps_its_line(tmp_path: Path) -> None:
    claims = parse_claims(["# sheet", "z = 2.8, ŷ = 0.5"])
    assert [(c.name, c.line, float(c.numbers[0].value)) for c in claims] == [
        ("z", 2, 2.8),
        ("ŷ", 2, 0.5),
    ]


def test_one_claim_asked_for_but_two_given_is_an_error() -> None:
    with pytest.raises(Exception, match="holds 2 claims"):
        parse_claim("ŷ = 0.943; L = 0.00329")


def test_a_graded_claims_file_with_two_answers_on_a_line(tmp_path: Path) -> None:
    """``z = …; ŷ = …`` in a student's claims file is two answers (it was z with ŷ's number).
    The answers are the variant's own key, independently of how the line is read, so every
    one is right when the line is split and z is wrong when it is not."""
    import subprocess
    import sys

    ex = Path(__file__).resolve().parents[1] / "examples" / "teaching" / "reference.toml"
    cls, subs, out = tmp_path / "class", tmp_path / "subs", tmp_path / "report"
    made = subprocess.run(
        [sys.executable, "-m", "chainrule", "generate", str(ex), "--count", "2", "--seed", "3",
         "-o", str(cls), "--no-pdf", "--no-solutions"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = json.loads((cls / "v01" / "answers.json").read_text(encoding="utf-8"))["answers"]
    lines = [f"{name} = {value:.6g}" for name, value in key.items()]
    subs.mkdir()
    (subs / "ada.claims").write_text(
        "variant = v01\n" + "; ".join(lines[:2]) + "\n" + "\n".join(lines[2:]) + "\n",
        encoding="utf-8",
    )
    ran = subprocess.run(
        [sys.executable, "-m", "chainrule", "grade", str(cls), str(subs), "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    grades = (out / "grades.csv").read_text(encoding="utf-8").splitlines()
    row = dict(zip(grades[0].split(","), grades[1].split(","), strict=False))
    assert (row["score"], row["max_score"]) == (str(len(key)), str(len(key)))
