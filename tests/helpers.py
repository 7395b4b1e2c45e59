"""What many test modules share: the one copy of the reference exercise, and the one way to run
the ``chainrule`` command (as a user does, in a fresh process, or in this process, which is
faster and lets a test patch the library)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: the reference exercise as the package ships it (``chainrule`` with no command solves it)
EXERCISE = ROOT / "src" / "chainrule" / "data" / "exercise.cr"
EXERCISE_TEXT = EXERCISE.read_text(encoding="utf-8")


def run(
    *args: str, stdin: str | None = None, cwd: Path | str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m chainrule ARGS`` in a fresh process: exit status, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@dataclass
class Ran:
    """What ``run_main`` saw: the exit status and the two streams."""

    returncode: int
    stdout: str
    stderr: str


def run_main(*args: str, stdin: str | None = None) -> Ran:
    """``chainrule ARGS`` in this process (``cli.main``), with stdin given as text (or left as
    the test set it); a traceback on either stream fails the test (a user never sees one)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = old
    ran = Ran(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in ran.stdout + ran.stderr, ran.stderr
    return ran


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: file bytes, the target of a link, or "dir"."""
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
