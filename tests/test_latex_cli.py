"""Exercises written as documents on the command line: every subcommand that reads a program
reads them, shows the program it understood first, and keeps its own output as it was."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import run, run_main
from test_latex_reader import FANOUT_MD, SOFTMAX_TEX, seed_text

from chainrule.cli import main


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    p = tmp_path / "seed-exercise.md"
    p.write_text(seed_text(), encoding="utf-8")
    return p


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def test_eval_json_stays_one_object(seed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(seed), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    yhat = sigmoid(14 / 5)
    assert data["values"]["L"] == pytest.approx((yhat - 1) ** 2, rel=1e-12)
    assert data["gradients"]["b₀"] == pytest.approx(2 * (yhat - 1) * yhat * (1 - yhat))
    assert captured.err.startswith("# read from seed-exercise.md\nx = [1, 1]")


def test_print_program_prints_only_the_program(
    seed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["eval", str(seed), "--print-program"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    statements = [line.split("#")[0].strip() for line in out.splitlines()[1:]]
    assert statements == [
        "x = [1, 1]",
        "w = [4/5, 7/5]",
        "b₀ = 3/5",
        "y = 1",
        "z = w.T @ x + b₀",
        "ŷ = σ(z)",
        "L = (ŷ - y)^2",
    ]
    assert "# line 46: z = w^T x + b_0" in out


def test_from_latex_on_standard_input() -> None:
    done = run("eval", "-", "--from", "latex", "--json", stdin=SOFTMAX_TEX)  # a fresh process
    assert done.returncode == 0, done.stderr
    z = [1.0, 3.0, 1.0]
    total = sum(math.exp(v) for v in z)
    assert json.loads(done.stdout)["values"]["L"] == pytest.approx(-math.log(math.exp(3) / total))
    assert "z = W @ x" in done.stderr


def test_draw_explain_and_explore_read_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = tmp_path / "fanout.md"
    ex.write_text(FANOUT_MD, encoding="utf-8")
    assert main(["draw", str(ex), "-o", str(tmp_path / "g.svg")]) == 0
    assert main(["explain", str(ex), "-o", str(tmp_path / "s.md")]) == 0
    assert main(["explore", str(ex), "-o", str(tmp_path / "p.html")]) == 0
    assert (tmp_path / "g.svg").read_text(encoding="utf-8").startswith("<")
    assert "tanh" in (tmp_path / "s.md").read_text(encoding="utf-8")
    assert (tmp_path / "p.html").stat().st_size > 1000
    capsys.readouterr()


def test_solve_writes_the_whole_bundle(seed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["solve", str(seed), "-o", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"solution.md", "solution.tex", "answers.json", "graph.json"} <= names
    assert {"forward.svg", "gradients.svg"} <= names
    answers = json.loads((out / "answers.json").read_text(encoding="utf-8"))
    assert answers["values"]["z"]["exact"] == "14/5"
    assert "# Exercise 3" in (out / "solution.md").read_text(encoding="utf-8")


def test_mistakes_exit_2_and_name_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = tmp_path / "bad.md"
    ex.write_text("$y = 1$\n\n$y = 3$\n\n$L = y^2$\n", encoding="utf-8")
    done = run_main("eval", str(ex))  # no traceback on either stream
    assert done.returncode == 2 and "line 3: y is given twice" in done.stderr
    ex.write_text("$a = 0$\n\n$L = \\log(a - 1)$\n", encoding="utf-8")
    done = run_main("eval", str(ex))
    assert done.returncode == 2 and "line 3" in done.stderr and "log" in done.stderr
    # the program read is shown before it fails
    assert done.stderr.startswith("# read from bad.md\na = 0")
