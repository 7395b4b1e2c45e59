"""The command line: exit statuses, one JSON object, errors without tracebacks."""

from __future__ import annotations

import json
import math

import pytest
from helpers import EXERCISE, run

from chainrule.cli import main


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def test_eval_json_is_one_object_with_every_named_node() -> None:
    r = run("eval", str(EXERCISE), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["output"] == "L"
    # every row of the table, by the label the table prints (unnamed ones by their expression)
    assert set(data["values"]) == {"x", "w", "b₀", "y", "w @ x", "z", "ŷ", "ŷ − y", "L"}
    assert set(data["gradients"]) == set(data["values"])
    yhat = sigmoid(2.8)
    dz = 2 * (yhat - 1) * yhat * (1 - yhat)
    assert data["values"]["L"] == pytest.approx((yhat - 1) ** 2, rel=1e-12)
    assert data["gradients"]["w"] == pytest.approx([dz, dz], rel=1e-12)
    assert data["gradients"]["x"] == pytest.approx([0.8 * dz, 1.4 * dz], rel=1e-12)
    assert "derivatives" not in data and "exact" not in data


def test_eval_exact_json_has_exact_strings() -> None:
    r = run("eval", str(EXERCISE), "--json", "--exact")
    data = json.loads(r.stdout)
    assert data["exact"]["z"] == "14/5"
    assert data["exact"]["ŷ"] == "σ(14/5)"
    assert data["exact"]["w"] == "[4/5, 7/5]"


def test_eval_higher_derivatives_match_the_closed_form() -> None:
    r = run("eval", "-", "--wrt", "x", "--order", "4", "--json", stdin="x = 2\ny = tanh(x)\n")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["derivatives"]["x"]
    t = math.tanh(2.0)
    closed = {
        "1": 1 - t**2,
        "2": -2 * t * (1 - t**2),
        "3": (1 - t**2) * (6 * t**2 - 2),
        "4": 8 * t * (1 - t**2) * (2 - 3 * t**2),
    }
    for k, v in closed.items():
        assert d[k] == pytest.approx(v, rel=1e-12)


def test_eval_at_overrides_program_values() -> None:
    r = run("eval", str(EXERCISE), "--json", "--at", "b₀=0", "--at", "w=[0,0]")
    data = json.loads(r.stdout)
    assert data["values"]["z"] == 0.0
    assert data["values"]["ŷ"] == pytest.approx(0.5)


def test_eval_table_output() -> None:
    r = run("eval", str(EXERCISE))
    assert r.returncode == 0
    for fragment in ["σ(z)", "0.942676", "0.00328606", "−0.00619538", "dL/dnode"]:
        assert fragment in r.stdout


def test_default_run_shows_the_exercise() -> None:
    r = run()
    assert r.returncode == 0, r.stderr
    assert "0.00328606" in r.stdout
    assert "−0.00619538" in r.stdout  # typographic minus in tables


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        (["eval", "-"], "x = 1\ny = x ^^ 2\n", "line 2, column 8"),
        (["eval", "-"], "y = q + 1\n", "q is not defined"),
        (["eval", "-"], "y = log(x)\n", "x is not defined"),
        (["eval", "-", "--at", "x=-1"], "y = log(x)\n", "log"),
        (["eval", "-"], "x = 1\ny = x / 0\n", "division by zero"),
        (["eval", "-"], "x = [1, 2]\ny = [1, 2, 3]\nz = x @ y\n", "shapes"),
        (["eval", "-", "--at", "x=abc"], "y = x\n", "cannot read 'abc'"),
        (["eval", "-", "--at", "x"], "y = x\n", "NAME=VALUE"),
        (["eval", "--bogus", "-"], "", "unrecognized arguments"),
        (["frobnicate"], "", "invalid choice"),
        (["eval", "/no/such/file"], None, "no such file"),
        (["eval", "-", "--order", "2"], "x = 1\ny = x\n", "--order needs --wrt"),
        (["eval", "-", "--output", "nope"], "x = 1\ny = x\n", "nope"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    args: list[str], stdin: str | None, fragment: str
) -> None:
    r = run(*args, stdin=stdin)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert fragment in r.stderr
    assert r.stderr.startswith("chainrule: error:")


def test_main_in_process_returns_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(EXERCISE), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == "L"
    assert main(["eval", "/no/such/file"]) == 2
