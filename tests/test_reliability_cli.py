"""Reliability through the real command line: internal errors, files kept safe, standard input,
check's verdicts on wrong and non-finite numbers, strict JSON and exercise files.

Every case runs ``chainrule.cli.main`` (or the installed module in a subprocess) and looks at
the exit status, the absence of a traceback, and the files around the command."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

import chainrule
from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "src" / "chainrule" / "data" / "exercise.cr"
SEED_TOML = ROOT / "examples" / "seed-exercise.toml"
SEED_CLAIMS = ROOT / "examples" / "seed-exercise.claims"

YHAT = 1 / (1 + math.exp(-14 / 5))
L = (YHAT - 1) ** 2
DL_DZ = 2 * (YHAT - 1) * YHAT * (1 - YHAT)


def _no_constants(name: str) -> Any:
    raise AssertionError(f"invalid JSON constant {name}")


def strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: file bytes, or the target of a link."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = "-> " + os.readlink(p)
        elif p.is_file():
            out[key] = p.read_bytes()
        else:
            out[key] = "dir"
    return out


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture()
def program(tmp_path: Path) -> Path:
    path = tmp_path / "prog.cr"
    path.write_text(EXERCISE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture()
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ------------------------------------------------------------------ internal errors


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure")


def test_an_escaped_bug_is_one_paragraph_and_a_report_file(
    program: Path, crash_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("chainrule.cli.eval_cmd.print_table", _boom)
    code, out, err = run_main(capsys, "eval", str(program))
    assert code == 1
    assert err.startswith(
        f"chainrule: internal error in chainrule {chainrule.__version__} while running eval"
    )
    assert err.count("\n") == 1  # one paragraph
    reports = list(crash_dir.glob("chainrule-crash-*.txt"))
    assert len(reports) == 1
    assert f"please report it with the file {reports[0]}" in err
    text = reports[0].read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError: injected failure" in text
    assert f"chainrule eval {program}" in text


def test_debug_shows_the_traceback_inline(
    program: Path, crash_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("chainrule.cli.eval_cmd.print_table", _boom)
    for args in (["--debug", "eval", str(program)], ["eval", str(program), "--debug"]):
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "Traceback" in err and "RuntimeError: injected failure" in err
        assert "internal error in chainrule" in err
    assert list(crash_dir.iterdir()) == []


def test_the_default_run_reports_its_bugs_too(
    tmp_path: Path, crash_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("chainrule.cli.eval_cmd.print_table", _boom)
    code, _out, err = run_main(capsys)
    assert code == 1 and "while running the reference exercise" in err
    assert not (tmp_path / "chainrule-demo").exists()


def test_user_mistakes_keep_exit_status_2(program: Path, crash_dir: Path, capsys) -> None:
    code, _out, err = run_main(capsys, "--debug", "eval", str(program), "--output", "nope")
    assert code == 2 and err.startswith("chainrule: error:")
    assert list(crash_dir.iterdir()) == []


def test_debug_is_listed_in_the_help(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert "--debug" in capsys.readouterr().out


# ------------------------------------------------------------------ check


def check_json(capsys, program: str, *claims: str, stdin: str | None = None) -> tuple[int, Any]:
    args = ["check", program, "--json"]
    for c in claims:
        args += ["--claim", c]
    code, out, err = run_main(capsys, *args)
    assert code in (0, 1), err
    return code, strict_loads(out)


@pytest.mark.parametrize("claim", ["dL/dz=1", "L=1", "L=-1", "L=1e20", "ŷ=2", "z=4"])
def test_check_calls_implausible_roundings_wrong(claim: str, capsys) -> None:
    code, data = check_json(capsys, str(EXERCISE), claim)
    assert code == 1
    assert data["claims"][0]["verdict"] == "wrong"


def test_check_keeps_the_real_rounding_differences(capsys) -> None:
    assert round(2 * (YHAT - 1), 2) == -0.11  # the handwritten −0,12 is one unit off
    code, data = check_json(capsys, str(EXERCISE), "∂L/∂ŷ=-0,12", "ŷ=0.95", "ŷ=0.93")
    assert code == 0
    assert [c["verdict"] for c in data["claims"]] == ["rounding"] * 3
    assert {c["claim_type"] for c in data["claims"]} == {"gradient", "value"}
    code, out, _err = run_main(capsys, "check", str(EXERCISE), "--claims", str(SEED_CLAIMS))
    assert code == 1 and "1 rounding difference" in out


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.cr"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_with_a_nan_true_value(tmp_path: Path, capsys) -> None:
    prog = _write(tmp_path, "x = [4/5, 7/5]\nz = bce(x, x)\n")
    code, data = check_json(capsys, prog, "z=1")
    assert code == 1 and data["claims"][0]["verdict"] == "wrong"
    assert data["claims"][0]["true"] == "nan"
    code, data = check_json(capsys, prog, "z=nan")
    assert code == 0 and data["claims"][0]["verdict"] == "right"
    code, out, _err = run_main(capsys, "check", prog, "--claim", "z=1")
    assert code == 1 and "true nan" in out


def test_check_with_an_infinite_true_value(tmp_path: Path, capsys) -> None:
    prog = _write(tmp_path, "x = 1e308\ny = x * 10\n")
    code, data = check_json(capsys, prog, "y=1")
    assert code == 1 and data["claims"][0]["true"] == "inf"
    code, data = check_json(capsys, prog, "y=inf", "dy/dx=10")
    assert code == 0 and [c["verdict"] for c in data["claims"]] == ["right", "right"]
    code, data = check_json(capsys, prog, "y=-inf", "y=∞", "y=nan")
    assert [c["verdict"] for c in data["claims"]] == ["wrong", "right", "wrong"]


@pytest.mark.parametrize("claim", ["L=1e99999999", "L=1e-5000", "L=inf/2"])
def test_check_refuses_numbers_it_cannot_judge(claim: str, capsys) -> None:
    code, _out, err = run_main(capsys, "check", str(EXERCISE), "--claim", claim)
    assert code == 2 and err.startswith("chainrule: error:")
