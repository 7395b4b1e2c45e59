"""Inputs at fault are exit status 2 with one paragraph, never an internal error (exit 1):
unbounded input, TOML and JSON that Python's readers choke on, numbers past the float range in
templates and manifests, file names that are not UTF-8, a standard output that is not UTF-8,
lone surrogates in saved graphs and drawings, empty elements in vectors, and Ctrl-C while the
command is still importing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core import limits
from chainrule.core.values import read_value

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
SEED = ROOT / "examples" / "seed-exercise.cr"
TEACH = ROOT / "examples" / "teaching"


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None, **kw):
    base = {"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args],
        input=stdin,
        capture_output=True,
        env={**base, **(env or {})},
        timeout=300,
        **kw,
    )


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def one_paragraph_error(code: int, err: str) -> None:
    assert code == 2, err
    assert err.startswith("chainrule: error:"), err
    assert "internal error" not in err


# ------------------------------------------------------------------ unbounded input


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_refused_by_its_size() -> None:
    r = cli("eval", "/dev/zero")
    assert r.returncode == 2
    assert b"more than 16 MiB" in r.stderr and b"Traceback" not in r.stderr


def test_an_endless_pipe_is_refused_by_its_size() -> None:
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "chainrule", "eval", "-"],
            stdin=yes.stdout,
            capture_output=True,
            env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "")},
            timeout=300,
        )
    finally:
        yes.kill()
        yes.wait()
    assert p.returncode == 2
    assert b"standard input: more than 16 MiB" in p.stderr


def test_a_file_one_byte_over_the_bound_is_refused(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_INPUT_BYTES", 100)
    prog = tmp_path / "p.cr"
    prog.write_text("x = 1\n" + "#" * 95)  # 101 bytes
    code, _, err = run(capsys, "eval", str(prog))
    one_paragraph_error(code, err)
    assert "more than" in err
    prog.write_text("x = 1\n" + "#" * 93 + "\n")  # exactly 100 bytes: read
    code, _, err = run(capsys, "eval", str(prog))
    assert code == 0, err


# ------------------------------------------------------------------ TOML, JSON and numbers

BIG = "9" * 5000
DEEP = "[" * 1000 + "]" * 1000


def _exercise(tmp_path: Path, extra: str) -> Path:
    shutil.copy(SEED, tmp_path / "seed-exercise.cr")
    p = tmp_path / "ex.toml"
    p.write_text(f'title = "t"\nprogram = "seed-exercise.cr"\n{extra}\n', encoding="utf-8")
    return p


@pytest.mark.parametrize("extra", [f"digits = {BIG}", f"x = {DEEP}"], ids=["5000 digits", "deep"])
def test_solve_refuses_unreadable_toml(tmp_path, capsys, extra: str) -> None:
    code, _, err = run(capsys, "solve", str(_exercise(tmp_path, extra)), "-o", str(tmp_path / "o"))
    one_paragraph_error(code, err)
    assert "ex.toml" in err


def _template(tmp_path: Path, old: str, new: str) -> Path:
    text = (TEACH / "neuron-pool.toml").read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "t.toml"
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "old,new,says",
    [
        ("min_gradient = 1e-3", f"min_gradient = {BIG}", "4,300 digits"),
        ("distinct_numbers = false", f"distinct_numbers = false\nzz = {DEEP}", "nested"),
        ("min_gradient = 1e-3", "min_gradient = 1" + "0" * 400, "beyond the range of a float"),
        ("min_gradient = 1e-3", "min_gradient = 1e400", "beyond the range of a float"),
        ('"ŷ" = [0.05, 0.95]', '"ŷ" = [0, 1' + "0" * 400 + "]", "beyond the range of a float"),
    ],
    ids=["5000 digits", "deep", "10**400", "1e400", "range 10**400"],
)
def test_generate_refuses_templates_past_what_python_reads(tmp_path, capsys, old, new, says):
    t = _template(tmp_path, old, new)
    code, _, err = run(capsys, "generate", str(t), "--count", "2", "-o", str(tmp_path / "c"))
    one_paragraph_error(code, err)
    assert says in err


@pytest.mark.parametrize("text", [f"right = {BIG}", f"x = {DEEP}"], ids=["5000 digits", "deep"])
def test_grade_refuses_unreadable_scoring(tmp_path, capsys, text: str) -> None:
    s = tmp_path / "s.toml"
    s.write_text(text)
    code, _, err = run(
        capsys,
        "grade",
        str(TEACH / "class"),
        str(TEACH / "submissions.csv"),
        "-o",
        str(tmp_path / "r"),
        "--scoring",
        str(s),
    )
    one_paragraph_error(code, err)


def _class_with_manifest(tmp_path: Path, text: str | None, answer: object = None) -> Path:
    folder = tmp_path / "cls"
    shutil.copytree(TEACH / "class", folder)
    m = folder / "manifest.json"
    if text is None:
        data = json.loads(m.read_text(encoding="utf-8"))
        v = data["variants"][0]
        v["answers"][next(iter(v["answers"]))] = answer
        text = json.dumps(data)
    m.write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "text,answer",
    [(None, 10**400), ("[" * 100_000 + "]" * 100_000, None), (None, float("inf"))],
    ids=["10**400", "100000 brackets", "Infinity"],
)
def test_grade_refuses_a_manifest_past_what_it_can_hold(tmp_path, capsys, text, answer):
    folder = _class_with_manifest(tmp_path, text, answer)
    code, _, err = run(
        capsys, "grade", str(folder), str(TEACH / "submissions.csv"), "-o", str(tmp_path / "r")
    )
    one_paragraph_error(code, err)
    assert "manifest.json" in err


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names are always UTF-8")
def test_a_claims_file_name_that_is_not_utf8(tmp_path) -> None:
    """grade reads a folder of claim files and names a student after the file; a name with
    the byte 0xff was an internal error when the report (UTF-8) was written."""
    subs = tmp_path / "subs"
    subs.mkdir()
    name = os.fsdecode(b"ad\xffa.txt")
    (subs / name).write_text("variant = v01\nz = -1.2\n", encoding="utf-8")
    r = cli("grade", str(TEACH / "class"), str(subs), "-o", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    grades = (tmp_path / "r" / "grades.csv").read_text(encoding="utf-8")
    assert "ad\ufffda" in grades


@pytest.mark.parametrize(
    "env",
    [{"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"}],
    ids=["ascii", "latin-1"],
)
def test_stdout_that_is_not_utf8_gets_the_nearest_text(env: dict) -> None:
    r = cli("eval", str(SEED), "--exact", env=env)
    assert r.returncode == 0, r.stderr
    enc = env["PYTHONIOENCODING"]
    text = r.stdout.decode(enc)
    assert "sigma(14/5) ~ 0.942676" in text or "σ(14/5) ~ 0.942676" in text
    assert "-0.0573242" in text  # − written as -


def test_the_nearest_text_of_chainrule_notation() -> None:
    from chainrule.cli.terminal import HANDLER

    assert "ŷ − y = x₁·w² ≈ σ(z)".encode("ascii", HANDLER) == b"y^ - y = x1*w^2 ~ sigma(z)"


def test_a_lone_surrogate_in_a_saved_graph_or_drawing_is_refused() -> None:
    g = cr.parse("x = 1\ny = x * 2")
    text = g.to_json()
    bad = text.replace('"name": "x"', '"name": "x\\ud800"')
    assert bad != text
    with pytest.raises(cr.ValueInputError, match="surrogate"):
        cr.Graph.from_json(bad)
    from chainrule.draw.model import Drawing
    from chainrule.draw.views import build

    d = build(g, view="forward").to_dict()
    d["boxes"][0]["lines"][0]["text"] = "a\ud800"
    with pytest.raises(cr.ValueInputError, match="surrogate"):
        Drawing.from_dict(d).check()


# ------------------------------------------------------------------ empty elements


@pytest.mark.parametrize(
    "text,column",
    [("[1,,2]", 4), ("[,1,2]", 2), ("[1,2,]", 6), ("[[1],,[2]]", 6), ("[[1, 2], [3, 4],]", 17)],
)
def test_an_empty_element_is_an_error_with_its_column(text: str, column: int) -> None:
    with pytest.raises(cr.ValueInputError, match=f"empty element at column {column}"):
        read_value(text)
    assert text[column - 1] in ",]"


def test_vectors_with_every_element_still_read() -> None:
    assert read_value("[ 1 , 2 ]") == [1, 2]
    assert read_value("[[1, 2], [3, 4]]") == [[1, 2], [3, 4]]


def test_at_and_claims_refuse_empty_elements(tmp_path, capsys) -> None:
    prog = tmp_path / "p.cr"
    prog.write_text("x = [1, 2]\ny = sum(x * x)\n")
    code, _, err = run(capsys, "eval", str(prog), "--at", "x=[1,,2]")
    one_paragraph_error(code, err)
    assert "column 4" in err
    code, _, err = run(capsys, "check", str(prog), "--claim", "x=[,1,2]")
    one_paragraph_error(code, err)
    assert "empty element at column 4" in err


# ------------------------------------------------------------------ Ctrl-C while importing


def test_ctrl_c_while_the_command_imports_is_exit_130() -> None:
    """The interrupt is sent once the child is importing chainrule's own modules (seen in
    `-X importtime`'s lines on standard error), before ``main`` runs."""
    p = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "chainrule", "eval", str(SEED)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "")},
    )
    assert p.stderr is not None
    seen = []
    for raw in p.stderr:
        seen.append(raw)
        if b"chainrule.core" in raw:
            p.send_signal(signal.SIGINT)
            break
    rest = p.stderr.read()
    p.wait(timeout=60)
    err = b"".join(seen) + rest
    assert p.returncode == 130, err[-2000:]
    assert b"Traceback" not in err
    assert err.rstrip().endswith(b"chainrule: interrupted")


def test_the_interrupt_hook_is_only_for_the_command() -> None:
    """Importing chainrule as a library leaves sys.excepthook alone."""
    from chainrule import _interrupt

    assert sys.excepthook is not _interrupt._hook
    assert not _interrupt.running_as_command()


def test_an_interrupt_in_the_import_lock_callback_inside_main_ends_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python drops an exception raised in the import system's module-lock callback (a
    weakref callback: "Exception ignored"), so a Ctrl-C landing there while ``main`` imports
    a module lazily was lost and the command went on. There the handler ends the command
    (exit 130, as before ``main``) instead of raising."""
    import types

    import chainrule.cli as cli
    from chainrule import _interrupt

    stopped: list[str] = []
    monkeypatch.setattr(_interrupt, "_stop", lambda: stopped.append("exit 130"))

    def cb(handler, frame_of):  # type: ignore[no-untyped-def]
        handler(2, frame_of())
        return "returned"

    code = cb.__code__.replace(co_filename="<frozen importlib._bootstrap>", co_name="cb")
    lock_callback = types.FunctionType(code, cb.__globals__, "cb")
    elsewhere = cb  # the same code under its own name: an ordinary function of main's

    def main() -> list[object]:
        seen: list[object] = []
        for function in (lock_callback, elsewhere):
            try:
                seen.append(function(_interrupt._on_sigint, sys._getframe))
            except KeyboardInterrupt:
                seen.append("KeyboardInterrupt")
        return seen

    monkeypatch.setattr(cli, "main", main)
    assert main() == ["returned", "KeyboardInterrupt"]
    assert stopped == ["exit 130"]


# ------------------------------------------------------------------ generate's budget


def _impossible(tmp_path: Path, tries: int = 100_000) -> Path:
    """ŷ = σ(z) in [2, 3]: no draw can meet it."""
    return _template(
        tmp_path,
        'range = { "ŷ" = [0.05, 0.95] }',
        f'range = {{ "ŷ" = [2, 3] }}\nmax_tries = {tries}',
    )


def test_generate_stops_an_impossible_run_early_with_its_numbers(tmp_path, capsys, monkeypatch):
    """--count 1000 with a condition no draw meets ran for hours (max_tries per variant); the
    run's budget projects from the first draws and stops with how many met the conditions."""
    from chainrule.teach import variants

    monkeypatch.setattr(variants, "EARLY_DRAWS", 300)
    t = _impossible(tmp_path)
    code, _, err = run(capsys, "generate", str(t), "--count", "1000", "-o", str(tmp_path / "c"))
    one_paragraph_error(code, err)
    assert "stopped after 299 draws, of which 0 met the conditions" in err
    assert "ŷ in [2, 3]" in err
    assert not (tmp_path / "c").exists()


def test_generate_run_budget_counts_every_variant(tmp_path, monkeypatch) -> None:
    """A condition met often enough passes the projection but the run's total is bounded."""
    from chainrule.teach import variants
    from chainrule.teach.template import load_template

    template = load_template(TEACH / "neuron-pool.toml")
    found = variants.generate_variants(template, 3, 1)
    assert len(found) == 3
    monkeypatch.setattr(variants, "MAX_RUN_DRAWS", 4)
    monkeypatch.setattr(variants, "EARLY_DRAWS", 10**9)
    with pytest.raises(cr.ValueInputError, match="one run takes at most 4 draws"):
        variants.generate_variants(template, 30, 1)


def test_generate_time_budget(tmp_path, monkeypatch) -> None:
    """The wall-clock safety net, with a clock that runs a minute per call."""
    from chainrule.teach import variants
    from chainrule.teach.template import load_template

    clock = iter(range(0, 10**9, 60))
    monkeypatch.setattr(variants, "_clock", lambda: float(next(clock)))
    template = load_template(_impossible(tmp_path, 1000))
    with pytest.raises(cr.ValueInputError, match=r"drawing ran past 60 s"):
        variants.generate_variants(template, 1, 1)
