"""Reliability through the real command line: internal errors, files kept safe, standard input,
check's verdicts on wrong and non-finite numbers, strict JSON and exercise files.

Every case runs ``chainrule.cli.main`` (or the installed module in a subprocess) and looks at
the exit status, the absence of a traceback, and the files around the command."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import helpers
import pytest
from helpers import snapshot

import chainrule
from chainrule.cli import main
from chainrule.exercise import MARKER

ROOT = helpers.ROOT
EXERCISE = helpers.EXERCISE
SEED_TOML = ROOT / "examples" / "seed-exercise.toml"
SEED_CLAIMS = ROOT / "examples" / "seed-exercise.claims"

YHAT = 1 / (1 + math.exp(-14 / 5))
L = (YHAT - 1) ** 2
DL_DZ = 2 * (YHAT - 1) * YHAT * (1 - YHAT)


def _no_constants(name: str) -> Any:
    raise AssertionError(f"invalid JSON constant {name}")


def strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    ran = helpers.run_main(*args)
    return ran.returncode, ran.stdout, ran.stderr


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


# ------------------------------------------------------------------ one output file


def test_draw_refuses_a_hard_link_to_its_own_program(program: Path, capsys) -> None:
    link = program.parent / "h.txt"
    os.link(program, link)
    before = snapshot(program.parent)
    code, _out, err = run_main(capsys, "draw", str(program), "-o", str(link))
    assert code == 2 and "same file as the input" in err
    assert snapshot(program.parent) == before


def test_outputs_never_replace_their_input(program: Path, capsys) -> None:
    link = program.parent / "h.json"
    os.link(program, link)
    before = snapshot(program.parent)
    for args in (
        ["draw", str(program), "-o", str(link)],
        ["eval", str(program), "--json", "-o", str(link)],
        ["explain", str(program), "-o", str(program)],
    ):
        code, _out, err = run_main(capsys, *args)
        assert code == 2 and "same file as the input" in err
    assert snapshot(program.parent) == before


@pytest.mark.parametrize("dangling", [True, False])
def test_draw_does_not_write_through_a_symbolic_link(
    program: Path, tmp_path: Path, dangling: bool, capsys
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim.svg"
    if not dangling:
        target.write_text("keep me", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "g.svg").symlink_to(target)
    before = snapshot(tmp_path)
    code, _out, err = run_main(capsys, "draw", str(program), "-o", str(work / "g.svg"))
    assert code == 2 and "symbolic link" in err
    assert ("does not exist" in err) == dangling
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("{prog}/g.svg", "not a folder"),
        ("{tmp}/missing/g.svg", "does not exist"),
        ("{tmp}/d.svg", "is a directory"),
        ("/proc/chainrule-test.svg", "cannot create a file in /proc"),
    ],
)
def test_draw_output_paths_that_cannot_be_written(
    program: Path, tmp_path: Path, where: str, fragment: str, capsys
) -> None:
    if where.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc on this system")
    (tmp_path / "d.svg").mkdir()
    before = snapshot(tmp_path)
    out = where.format(prog=program, tmp=tmp_path)
    code, _out, err = run_main(capsys, "draw", str(program), "-o", out)
    assert code == 2 and fragment in err, err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["eval", "explain"])
def test_a_device_is_not_an_output_file(program: Path, command: str, capsys) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    code, _out, err = run_main(capsys, command, str(program), "-o", "/dev/full")
    assert code == 2 and "not a regular file" in err
    assert Path("/dev/full").is_char_device()


def test_a_full_disk_leaves_the_old_file_whole_and_no_temporary(
    program: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    target = tmp_path / "g.svg"
    target.write_text("the old drawing", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("chainrule.io.files.os.fsync", full)
    before = snapshot(tmp_path)
    code, _out, err = run_main(capsys, "draw", str(program), "-o", str(target))
    assert code == 2 and os.strerror(errno.ENOSPC) in err
    assert snapshot(tmp_path) == before


def test_outputs_are_written_whole(program: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "values.json"
    code, out, _err = run_main(capsys, "eval", str(program), "--json", "-o", str(target))
    assert code == 0 and str(target) in out
    assert strict_loads(target.read_text(encoding="utf-8"))["output"] == "L"
    md = tmp_path / "solution.md"
    code, _out, _err = run_main(capsys, "explain", str(program), "--format", "md", "-o", str(md))
    assert code == 0 and "$$" in md.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.cr", "solution.md", "values.json"]


# ------------------------------------------------------------------ bundles


def test_demo_does_not_follow_links_planted_in_its_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("precious", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert run_main(capsys)[0] == 0
    bundle = work / "chainrule-demo"
    for name in ("graph.json", "solution.md"):
        (bundle / name).unlink()
    (bundle / "graph.json").symlink_to(outside / "precious.txt")
    (bundle / "solution.md").symlink_to(outside / "new.md")
    before = snapshot(outside)
    assert run_main(capsys)[0] == 0
    assert snapshot(outside) == before
    for name in ("graph.json", "solution.md"):
        assert not (bundle / name).is_symlink() and (bundle / name).is_file()
    assert strict_loads((bundle / "graph.json").read_text(encoding="utf-8"))["schema"]


def test_demo_refuses_a_linked_bundle_directory_and_a_planted_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("mine", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "chainrule-demo").symlink_to(outside)
    before = snapshot(outside)
    code, _out, err = run_main(capsys)
    assert code == 2 and "symbolic link" in err
    (work / "chainrule-demo").unlink()
    (work / "chainrule-demo").mkdir()
    (work / "chainrule-demo" / MARKER).symlink_to(outside / "notes.txt")
    code, _out, err = run_main(capsys)
    assert code == 2 and "not written by chainrule" in err
    assert snapshot(outside) == before


def test_solve_force_replaces_a_linked_solution_not_its_target(tmp_path: Path, capsys) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "thesis.md").write_text("my thesis", encoding="utf-8")
    out = tmp_path / "sol"
    out.mkdir()
    (out / "solution.md").symlink_to(outside / "thesis.md")
    (out / "notes.txt").write_text("keep", encoding="utf-8")
    code, _out, err = run_main(capsys, "solve", str(SEED_TOML), "-o", str(out))
    assert code == 2 and "--force" in err
    before = snapshot(outside)
    assert run_main(capsys, "solve", str(SEED_TOML), "-o", str(out), "--force")[0] == 0
    assert snapshot(outside) == before
    assert not (out / "solution.md").is_symlink()
    assert "## Answers" in (out / "solution.md").read_text(encoding="utf-8")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_solve_failing_half_way_leaves_nothing_and_a_retry_works(
    tmp_path: Path, crash_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = tmp_path / "deep" / "sol"
    with monkeypatch.context() as m:
        m.setattr("chainrule.exercise.documents", _boom)  # after the drawings are made
        code, _out, err = run_main(capsys, "solve", str(SEED_TOML), "-o", str(out))
    assert code == 1 and "internal error" in err
    assert not (tmp_path / "deep").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with monkeypatch.context() as m:
        m.setattr("chainrule.exercise.documents", _boom)
        assert run_main(capsys, "solve", str(SEED_TOML), "-o", str(empty))[0] == 1
    assert list(empty.iterdir()) == []
    for folder in (out, empty):
        assert run_main(capsys, "solve", str(SEED_TOML), "-o", str(folder))[0] == 0
        names = {p.name for p in folder.iterdir()}
        assert {"solution.md", "answers.json", "graph.json", MARKER} <= names
        assert not any(n.startswith(".chainrule-stage") for n in names)


def test_solve_never_replaces_its_own_inputs(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "ex"
    folder.mkdir()
    program_text = EXERCISE.read_text(encoding="utf-8")
    (folder / "solution.md").write_text(program_text, encoding="utf-8")  # the program
    (folder / "ex.toml").write_text('program = "solution.md"\n', encoding="utf-8")
    before = snapshot(folder)
    code, _out, err = run_main(
        capsys, "solve", str(folder / "ex.toml"), "-o", str(folder), "--force"
    )
    assert code == 2 and "solution.md" in err and "not replaced" in err
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("out", "fragment"),
    [("{prog}/sol", "not a folder"), ("/proc/chainrule-sol", "cannot create the directory")],
)
def test_solve_output_directories_that_cannot_be_written(
    program: Path, tmp_path: Path, out: str, fragment: str, capsys
) -> None:
    if out.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc on this system")
    before = snapshot(tmp_path)
    code, _out, err = run_main(capsys, "solve", str(SEED_TOML), "-o", out.format(prog=program))
    assert code == 2 and fragment in err, err
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------ standard input


def test_invalid_utf8_on_standard_input_is_a_clean_error(tmp_path: Path) -> None:
    data = b"x = 1 # \xff\n"
    piped = subprocess.run(
        [sys.executable, "-m", "chainrule", "eval", "-"], input=data, capture_output=True
    )
    (tmp_path / "bad.cr").write_bytes(data)
    from_file = subprocess.run(
        [sys.executable, "-m", "chainrule", "eval", str(tmp_path / "bad.cr")], capture_output=True
    )
    for r in (piped, from_file):
        assert r.returncode == 2
        assert b"Traceback" not in r.stderr
        assert b"not UTF-8 text: line 1, column 9: byte 0xff" in r.stderr
    assert piped.stderr.startswith(b"chainrule: error: standard input: not UTF-8")
    assert piped.stderr.split(b": not UTF-8")[1] == from_file.stderr.split(b": not UTF-8")[1]


def test_a_byte_order_mark_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    text = "x = 3\ny = x * x\n"
    data = b"\xef\xbb\xbf" + text.encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, out, _err = run_main(capsys, "eval", "-", "--json")
    assert code == 0 and strict_loads(out)["values"] == {"x": 3.0, "y": 9.0}
    (tmp_path / "bom.cr").write_bytes(data)
    code, out, _err = run_main(capsys, "eval", str(tmp_path / "bom.cr"), "--json")
    assert code == 0 and strict_loads(out)["gradients"]["x"] == 6.0


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
    args = ["check", str(EXERCISE), "--json", "--sigfig", "2"]  # at two figures
    for c in ("∂L/∂ŷ=-0,12", "ŷ=0.95", "ŷ=0.93"):
        args += ["--claim", c]
    code, out, _err = run_main(capsys, *args)
    data = strict_loads(out)
    assert code == 0
    assert [c["verdict"] for c in data["claims"]] == ["rounding"] * 3
    assert {c["claim_type"] for c in data["claims"]} == {"gradient", "value"}
    seed = ("check", str(EXERCISE), "--claims", str(SEED_CLAIMS), "--sigfig", "2")
    code, out, _err = run_main(capsys, *seed)
    assert code == 1 and "1 rounding difference" in out


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.cr"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_with_a_nan_true_value(tmp_path: Path, capsys) -> None:
    outside = _write(tmp_path, "x = [4/5, 7/5]\nz = bce(x, x)\n")
    code, _out, err = run_main(capsys, "check", outside, "--claim", "z=1")
    assert code == 2 and "line 2, column 5" in err and "strictly between 0 and 1" in err
    prog = _write(tmp_path, "x = 1e308\ny = x * 10\nz = y - y\n")
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


# ------------------------------------------------------------------ strict JSON


def test_eval_json_is_strict_for_infinite_and_nan_values(tmp_path: Path, capsys) -> None:
    prog = _write(tmp_path, "x = 1e308\ny = x * 10\nz = y - y\n")
    code, out, _err = run_main(capsys, "eval", prog, "--json")
    assert code == 0 and "Infinity" not in out and "NaN" not in out
    data = strict_loads(out)
    assert data["values"] == {"x": 1e308, "y": "inf", "z": "nan"}


def test_solve_writes_strict_json(tmp_path: Path, capsys) -> None:
    _write(tmp_path, "x = 1e308\ny = x * 10\nz = y - y\n")
    (tmp_path / "ex.toml").write_text('program = "p.cr"\n[ask]\ndrawings = []\n', "utf-8")
    code, _out, _err = run_main(
        capsys, "solve", str(tmp_path / "ex.toml"), "-o", str(tmp_path / "s")
    )
    assert code == 0
    answers = strict_loads((tmp_path / "s" / "answers.json").read_text(encoding="utf-8"))
    assert answers["values"]["y"]["decimal"] == "inf"
    assert answers["values"]["z"]["decimal"] == "nan"
    strict_loads((tmp_path / "s" / "graph.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ exercise files


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('title = 5\nsource = "x = 1"', "title must be text"),
        ('source = "x = 1"\nvalues = "abc"', "values must be a table"),
        ('source = "x = 1\\ny = x * 2"\n[values]\nx = "1e999999"', "exponent is too large"),
        ('source = "x = 1\\ny = x * 2"\n[values]\nx = 1e999999', "not a finite number"),
        ('source = "x = 1\\ny = x * 2"\n[values]\nx = true', "[values] x must be"),
        ('source = "x = 1\\ny = x * 2"\n[values]\nx = ["a"]', "[values] x: cannot read"),
        ("source = 5", "source must be text"),
        ('source = "x = 1"\nexact = "yes"', "exact must be true or false"),
        ('source = "x = 1"\ndigits = 99', "digits must be"),
        ('source = "x = 1"\n[ask]\nvalues = [1]', "[ask] values must be"),
        ('source = "x = 1"\n[ask]\nsurprise = 1', "unknown key(s) in [ask]"),
        ('program = "../../etc/passwd"', "must be a path relative"),
        ('program = "/etc/passwd"', "must be a path relative"),
        ('program = "link.cr"', "leads out of the exercise's folder"),
        ('program = "latin1.cr"', "not UTF-8 text: line 1, column 9"),
        ("program = 5", "program must be a file name"),
    ],
)
def test_bad_exercise_files_exit_2(tmp_path: Path, body: str, fragment: str, capsys) -> None:
    outside = tmp_path / "outside.cr"
    outside.write_text("x = 1\ny = x * 2\n", encoding="utf-8")
    folder = tmp_path / "ex"
    folder.mkdir()
    (folder / "link.cr").symlink_to(outside)
    (folder / "latin1.cr").write_bytes("x = 1 # é\ny = x\n".encode("latin-1"))
    (folder / "ex.toml").write_text(body + "\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, _out, err = run_main(capsys, "solve", str(folder / "ex.toml"), "-o", str(tmp_path / "o"))
    assert code == 2 and fragment in err, err
    assert err.startswith("chainrule: error:") and err.count("\n") == 1
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "argv",
    [["eval"], ["eval", "--json"], ["draw", "--view", "gradients"], ["explain"]],
    ids=["eval", "eval --json", "draw gradients", "explain"],
)
def test_an_infinite_partial_is_reported_once_in_chainrules_words(
    tmp_path: Path, argv: list[str]
) -> None:
    """∂√x/∂x at 0 is infinite: chainrule says where (its own warning line), numpy's
    "divide by zero encountered in power" does not reach the user as a second voice, and the
    table shows the infinite gradient instead of an empty cell (``[inf, 0.5]`` is not a
    markup tag)."""
    prog = tmp_path / "root.cr"
    prog.write_text("x = [0, 1]\ny = sum(x^0.5)\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", *argv[:1], str(prog), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "RuntimeWarning" not in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    if argv == ["eval"]:
        assert "[inf, 0.5]" in done.stdout


OFF_PATH = [
    "q = -1\nc = q ** q\nh = 1\n",  # ∂c/∂q through the exponent is c·log q: log of −1
    "w = 0\nx = w ** 0\nb = 1\n",
    "t = 0\nh = ln(1 ** (1/2) + t ^ t)\nθ = 12\n",  # found by make fuzz (Fraction(1, 0))
]


@pytest.mark.parametrize("text", OFF_PATH)
@pytest.mark.parametrize(
    "argv",
    [
        ["explain"],
        ["explain", "--exact", "--format", "tex"],
        ["draw", "--view", "gradients"],
        ["draw", "--exact", "--view", "gradients"],
        ["draw", "--view", "backward"],
        ["eval", "--json"],
        ["check", "--claim", "FIRST=1"],
    ],
)
def test_undefined_partials_off_the_outputs_path_are_no_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, argv: list[str]
) -> None:
    """A local partial that is undefined on a node the output does not depend on carries no
    number (nothing flows along it); every output still comes out, with exit status 0."""
    prog = tmp_path / "p.cr"
    prog.write_text(text, encoding="utf-8")
    argv = [a.replace("FIRST", text.split()[0]) for a in argv]  # the program's first input
    code, out, err = run_main(capsys, argv[0], str(prog), *argv[1:])
    assert code in (0, 1) if argv[0] == "check" else code == 0, err
    assert "internal error" not in err
