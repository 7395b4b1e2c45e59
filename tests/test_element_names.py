"""One rule for naming an element, whatever the program: in brackets as the program indexes
it, from 0 (w[1] is the second element); with digits or subscripts as maths does, from 1 (w1,
w₁, W1,2, W₁,₂, W_{1,2}). A claim dL/dw[1] meant the second element where the program itself
wrote w[1] and the first elsewhere. True values are computed here by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main

# L = 2·w[0] + 3·w[1]: dL/dw = [2, 3]; written with and without the program's own w[1]
PROGRAMS = ("w = [1, 5]\nL = 2*w[0] + 3*w[1]\n", "w = [1, 5]\nL = sum(w * [2, 3])\n")
MATRIX = "W = [[1, 2], [3, 4]]\nx = [1, -1]\nh = W @ x\nL = sum(h * h)\n"


def judged(tmp_path: Path, capsys: pytest.CaptureFixture[str], program: str, *claims: str) -> list:
    (tmp_path / "p.cr").write_text(program, encoding="utf-8")
    args = ["check", str(tmp_path / "p.cr"), "--json"]
    for c in claims:
        args += ["--claim", c]
    status = main(args)
    out = capsys.readouterr()
    assert status in (0, 1), out.err
    return [(c["true"], c["verdict"]) for c in json.loads(out.out)["claims"]]


@pytest.mark.parametrize("program", PROGRAMS)
def test_an_element_means_the_same_in_every_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program: str
) -> None:
    got = judged(tmp_path, capsys, program, "dL/dw[1] = 3", "dL/dw[0] = 2", "dL/dw1 = 2",
                 "dL/dw₂ = 3", "w[1] = 5", "w1 = 1")  # fmt: skip
    assert got == [(3.0, "right"), (2.0, "right"), (2.0, "right"), (3.0, "right"),
                   (5.0, "right"), (1.0, "right")]  # fmt: skip


def test_a_bracket_past_the_end_says_brackets_count_from_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.cr").write_text(PROGRAMS[1], encoding="utf-8")
    assert main(["check", str(tmp_path / "p.cr"), "--claim", "dL/dw[2] = 3"]) == 2
    assert "count from 0" in capsys.readouterr().err


def test_every_spelling_of_a_matrix_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    W, x = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])
    dW = np.outer(2 * (W @ x), x)  # L = Σ h², h = W x
    got = judged(tmp_path, capsys, MATRIX, f"dL/dW[0,1] = {dW[0, 1]:g}",
                 f"dL/dW1,2 = {dW[0, 1]:g}", f"dL/dW₁,₂ = {dW[0, 1]:g}",
                 f"dL/dW[1,0] = {dW[1, 0]:g}")  # fmt: skip
    assert got == [(dW[0, 1], "right")] * 3 + [(dW[1, 0], "right")]
    (tmp_path / "p.cr").write_text(MATRIX, encoding="utf-8")
    assert main(["check", str(tmp_path / "p.cr"), "--claim", "dL/dW12 = 2"]) == 2
    assert "W1,2 (from 1) or W[0,1] (from 0" in capsys.readouterr().err


def test_the_worked_solutions_names_read_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explain's text table names W's elements W₁,₂ …; each name, as a claim, is that element."""
    (tmp_path / "p.cr").write_text(MATRIX, encoding="utf-8")
    assert main(["explain", str(tmp_path / "p.cr"), "--format", "txt"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    rows = [r for r in rows if len(r) == 2 and r[0].startswith("dL/dW")]  # the final table
    claims = [f"{name} = {value.replace('−', '-')}" for name, value in rows]
    assert [c.split(" =")[0] for c in claims] == ["dL/dW₁,₁", "dL/dW₁,₂", "dL/dW₂,₁", "dL/dW₂,₂"]
    assert [v for _, v in judged(tmp_path, capsys, MATRIX, *claims)] == ["right"] * 4


TEMPLATE = '''title = "A matrix"
source = """
W = [[${a}, 2], [3, 4]]
x = [1, -1]
h = W @ x
L = sum(h * h)
"""
[draw]
a = { integers = [5, 9] }
[ask]
values = ["L"]
gradients = ["W"]
'''


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True,
                          text=True)  # fmt: skip


def test_a_class_asks_for_matrix_elements_by_names_students_can_type(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text(TEMPLATE, encoding="utf-8")
    made = run("generate", str(tmp_path / "t.toml"), "--count", "2", "--seed", "1", "-o",
               str(tmp_path / "class"), "--no-pdf", "--no-solutions")  # fmt: skip
    assert made.returncode == 0, made.stderr
    variant = json.loads((tmp_path / "class" / "v01" / "answers.json").read_text("utf-8"))
    program = variant["program"]
    a = float(program.split("[[")[1].split(",")[0])
    W, x = np.array([[a, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])
    dW = np.outer(2 * (W @ x), x)
    names = {f"dL/dW{i + 1},{j + 1}": dW[i, j] for i in range(2) for j in range(2)}
    assert {k: v for k, v in variant["answers"].items() if k != "L"} == pytest.approx(names)
    subs = tmp_path / "subs"
    subs.mkdir()
    lines = ["variant = v01", f"L = {float(np.sum((W @ x) ** 2)):g}"]
    lines += [f"{k} = {v:g}" for k, v in names.items()]
    (subs / "ada.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    graded = run("grade", str(tmp_path / "class"), str(subs), "-o", str(tmp_path / "r"))
    assert graded.returncode == 0, graded.stderr
    assert ",5,5,graded," in (tmp_path / "r" / "grades.csv").read_text("utf-8")


def test_a_class_of_the_first_format_with_elements_in_brackets_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "t.toml").write_text(TEMPLATE, encoding="utf-8")
    made = run("generate", str(tmp_path / "t.toml"), "--count", "1", "--seed", "1", "-o",
               str(tmp_path / "class"), "--no-pdf", "--no-solutions")  # fmt: skip
    assert made.returncode == 0, made.stderr
    manifest = tmp_path / "class" / "manifest.json"
    data = json.loads(manifest.read_text("utf-8"))
    data["format"] = "chainrule.class/1"  # as the earlier chainrule wrote it: W[1,2] from 1
    for v in data["variants"]:
        v["answers"] = {k.replace("W1,2", "W[1,2]"): n for k, n in v["answers"].items()}
    manifest.write_text(json.dumps(data), encoding="utf-8")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ada.txt").write_text("variant = v01\nL = 1\n", encoding="utf-8")
    graded = run("grade", str(tmp_path / "class"), str(subs), "-o", str(tmp_path / "r"))
    assert graded.returncode == 2
    assert "earlier chainrule" in graded.stderr and "Traceback" not in graded.stderr
