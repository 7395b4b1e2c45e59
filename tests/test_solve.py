"""Exercise files → solution bundles, and the bundle of the default run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.core.errors import ChainruleError
from chainrule.exercise import MARKER, load_exercise, solve

ROOT = Path(__file__).resolve().parents[1]
TOML = ROOT / "examples" / "seed-exercise.toml"

YHAT = 1 / (1 + math.exp(-14 / 5))
DL_DZ = 2 * (YHAT - 1) * YHAT * (1 - YHAT)


def test_bundle_holds_solution_answers_and_drawings(tmp_path: Path) -> None:
    out = tmp_path / "sol"
    written, _notes = solve(load_exercise(TOML), out)
    names = {p.name for p in written}
    assert {"solution.md", "solution.tex", "answers.json", "graph.json"} <= names
    pytest.importorskip("chainrule.draw")
    assert {"forward.svg", "forward.png", "gradients.svg", "gradients.png"} <= names
    md = (out / "solution.md").read_text(encoding="utf-8")
    assert "](<forward.svg>)" in md and f"{DL_DZ:.5g}" in md
    assert "forward.png" in (out / "solution.tex").read_text(encoding="utf-8")
    answers = json.loads((out / "answers.json").read_text(encoding="utf-8"))
    assert answers["values"]["z"]["exact"] == "14/5"
    assert answers["values"]["ŷ"]["decimal"] == pytest.approx(YHAT, rel=1e-12)
    assert answers["gradients"]["w"]["decimal"] == pytest.approx([DL_DZ, DL_DZ], rel=1e-12)
    assert answers["gradients"]["x"]["decimal"] == pytest.approx(
        [DL_DZ * 4 / 5, DL_DZ * 7 / 5], rel=1e-12
    )


def test_never_overwrites_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ChainruleError, match="not empty"):
        solve(load_exercise(TOML), tmp_path)
    assert not (tmp_path / "solution.md").exists()
    solve(load_exercise(TOML), tmp_path, force=True)
    assert (tmp_path / "solution.md").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(
    "body",
    [
        'title = "no program"',
        'program = "missing.cr"',
        'source = "x = 1"\nprogram = "seed.cr"',
        'source = "x = 1\\ny = x * 2"\ndigits = 0',
        'source = "x = 1\\ny = x * 2"\n[ask]\ndrawings = ["sideways"]',
        'source = "x = 1\\ny = x * 2"\n[ask]\nvalues = 1',
        'source = "x = 1\\ny = x * 2"\nsurprise = 1',
        "this is not toml",
    ],
)
def test_bad_exercise_files_are_user_errors(tmp_path: Path, body: str) -> None:
    path = tmp_path / "ex.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ChainruleError):
        solve(load_exercise(path), tmp_path / "out")


def test_inline_source_and_values(tmp_path: Path) -> None:
    path = tmp_path / "ex.toml"
    path.write_text(
        'source = """\na = 2\nb = 1\ne = (a + b) * (b + 1)\n"""\n[values]\na = "3"\n'
        '[ask]\ngradients = ["b"]\ndrawings = []\n',
        encoding="utf-8",
    )
    solve(load_exercise(path), tmp_path / "out")
    answers = json.loads((tmp_path / "out" / "answers.json").read_text(encoding="utf-8"))
    # ∂e/∂b = (b + 1) + (a + b) = 2 + 4 at a = 3, b = 1
    assert answers["gradients"]["b"]["decimal"] == 6


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, cwd=cwd
    )


def test_solve_cli(tmp_path: Path) -> None:
    r = run_cli("solve", str(TOML), "-o", "sol", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "sol" / "solution.md").exists()
    # its own bundle is written again; once a file of it is edited, only with --force
    assert run_cli("solve", str(TOML), "-o", "sol", cwd=tmp_path).returncode == 0
    (tmp_path / "sol" / "solution.tex").write_text("edited", encoding="utf-8")
    r = run_cli("solve", str(TOML), "-o", "sol", cwd=tmp_path)
    assert r.returncode == 2 and "--force" in r.stderr and "solution.tex" in r.stderr
    assert run_cli("solve", str(TOML), "-o", "sol", "--force", cwd=tmp_path).returncode == 0


def test_default_run_twice_and_refuses_a_foreign_directory(tmp_path: Path) -> None:
    for _ in range(2):
        r = run_cli(cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "dL/dz = dL/dŷ · ∂ŷ/∂z" in r.stdout
        assert (tmp_path / "chainrule-demo" / MARKER).exists()
    other = tmp_path / "other"
    (other / "chainrule-demo").mkdir(parents=True)
    (other / "chainrule-demo" / "thesis.tex").write_text("precious", encoding="utf-8")
    r = run_cli(cwd=other)
    assert r.returncode == 2 and "not written by chainrule" in r.stderr
    assert sorted(p.name for p in (other / "chainrule-demo").iterdir()) == ["thesis.tex"]


def test_explain_cli_formats(tmp_path: Path) -> None:
    program = str(ROOT / "examples" / "seed-exercise.cr")
    for fmt, marker in (("md", "$$"), ("tex", "\\documentclass"), ("txt", "dL/dz")):
        r = run_cli("explain", program, "--format", fmt, "--exact", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert marker in r.stdout
    r = run_cli("explain", program, "--digits", "3", "--at", "y=0", cwd=tmp_path)
    assert r.returncode == 0 and f"{YHAT**2:.3g}" in r.stdout


def test_an_exercise_may_ask_for_the_backward_drawing_by_name(tmp_path: Path) -> None:
    """draw --view backward exists, so an exercise may ask for it: the bundle holds it and the
    solution shows it; "all" stays the forward and gradients drawings."""
    ex = tmp_path / "ex.toml"
    ex.write_text(
        'source = """\nx = 0.5\nw = 2\ny = tanh(w * x)\nL = (y - 1)^2\n"""\n'
        '[ask]\ndrawings = ["forward", "backward"]\n',
        encoding="utf-8",
    )
    written, notes = solve(load_exercise(ex), tmp_path / "out")
    names = {p.name for p in written}
    assert {"forward.svg", "backward.svg", "backward.png"} <= names, (names, notes)
    assert "gradients.svg" not in names
    md = (tmp_path / "out" / "solution.md").read_text(encoding="utf-8")
    tex = (tmp_path / "out" / "solution.tex").read_text(encoding="utf-8")
    assert "(<backward.svg>)" in md and "{backward.png}" in tex
    ex.write_text('source = "x = 1"\n[ask]\ndrawings = ["sideways"]\n', encoding="utf-8")
    with pytest.raises(ChainruleError, match="forward, gradients, backward"):
        load_exercise(ex)


def test_program_text_written_where_its_file_name_goes_is_told_to_use_source(
    tmp_path: Path,
) -> None:
    ex = tmp_path / "ex.toml"
    ex.write_text('program = """\nx = 0.5\nL = x * x\n"""\n', encoding="utf-8")
    with pytest.raises(ChainruleError, match='source = """'):
        load_exercise(ex)
    (tmp_path / "a=b.cr").write_text("x = 2\nL = x * x\n", encoding="utf-8")
    ex.write_text('program = "a=b.cr"\n', encoding="utf-8")
    assert load_exercise(ex).graph()["L"].value == 4.0  # a real file of that name is read
