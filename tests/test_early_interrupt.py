"""Ctrl-C at any instant of the command's start: exit status 130 and "chainrule: interrupted",
never a traceback, from chainrule's first line on (``chainrule/_interrupt.py``, imported
before anything else by the package, for ``python -m chainrule`` and the ``chainrule``
script alike).

Before chainrule's first line only Python runs (its start-up, ``site`` and the ``.pth`` files,
``runpy`` for ``-m``, the search for the package), and only Python's own handling is possible:
killed by the signal before Python installs its handler (the shell's status is 130 then too),
Python's KeyboardInterrupt traceback after. The tests send SIGINT at each import the child
reports (``PYTHONPROFILEIMPORTTIME``) and after fixed delays, and accept exactly that: 130
with the message, or a death or a traceback that never went through chainrule's code past
the ``_interrupt`` import. (Python's start-up interrupted in ``site`` ends in its own "Fatal
Python error: init_import_site", status 1, with no frame; one landing in the import system's
module-lock callback is printed as "Exception ignored" and dropped: Python's own handling too.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SEED = ROOT / "examples" / "seed-exercise.cr"
INIT = SRC / "chainrule" / "__init__.py"
FIRST = 1 + INIT.read_text(encoding="utf-8").splitlines().index(
    "from . import _interrupt  # noqa: F401"
)


def command(how: str) -> list[str]:
    if how == "-m":
        return [sys.executable, "-m", "chainrule", "eval", str(SEED)]
    script = Path(sys.executable).parent / "chainrule"
    if not script.exists():
        pytest.skip("the chainrule script is not installed beside this Python")
    return [str(script), "eval", str(SEED)]


def env(importtime: bool = False) -> dict[str, str]:
    e = {"PYTHONPATH": str(SRC), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if importtime:
        e["PYTHONPROFILEIMPORTTIME"] = "1"
    return e


def judged(code: int, err: bytes) -> str:
    """What happened, failing the test for anything but the three allowed endings."""
    text = b"\n".join(
        line for line in err.splitlines() if not line.startswith(b"import time:")
    ).decode("utf-8", "replace")
    if code == 130:
        assert "Traceback" not in text, text
        assert text.rstrip().endswith("chainrule: interrupted"), text
        return "exit 130"
    if code == -signal.SIGINT and not text.strip():
        return "killed before Python's handler (or after its end, in Python's shutdown)"
    if code == 0 and "Traceback" not in text:
        return "finished before the signal came"
    if code == 0 and text.startswith("Exception ignored in: <function _get_module_lock"):
        # Python's default handler raised in the import system's lock callback, which drops
        # it and goes on; chainrule's handler never raises there (test_reliability_inputs)
        frames = re.findall(r'File "([^"]+)"', text)
        assert frames and set(frames) == {"<frozen importlib._bootstrap>"}, text
        assert text.rstrip().endswith(("KeyboardInterrupt", "KeyboardInterrupt:")), text
        return "dropped by Python in its import system, before chainrule's first line"
    if code == 1 and re.search(r"^Fatal Python error: init_\w+:", text, re.M):
        # Python's start-up itself (``site`` and the .pth files) was interrupted: Python
        # stops with its own fatal error, no Python frame, before any line of chainrule
        assert "KeyboardInterrupt" in text and "chainrule" not in text, text
        return "Python's fatal error in its own start-up, before chainrule's first line"
    # ("KeyboardInterrupt: " when Python itself failed, e.g. "failed to set __main__.__loader__")
    ending = text.rstrip().endswith(("KeyboardInterrupt", "KeyboardInterrupt:"))
    assert "Traceback" in text and ending, (code, text)
    for path, line in re.findall(r'File "([^"]+)", line (\d+)', text):
        p = Path(path)
        if SRC / "chainrule" not in p.parents:
            continue
        # the lines of __init__.py up to the _interrupt import run under Python's own handler
        assert p.name == "_interrupt.py" or (p == INIT and int(line) <= FIRST), (
            f"a traceback from chainrule's code after its first line: {path}:{line}\n{text}"
        )
    return "Python's traceback, before chainrule's first line"


def imports(how: str) -> list[str]:
    """The modules the command imports, in order (one full run)."""
    done = subprocess.run(command(how), capture_output=True, env=env(True), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [
        line.rsplit(b"|", 1)[1].strip().decode()
        for line in done.stderr.splitlines()
        if line.startswith(b"import time:") and b"|" in line and b"imported package" not in line
    ]


def interrupted_at(how: str, module: str) -> str:
    """Run the command and send SIGINT as soon as it reports having imported ``module``."""
    p = subprocess.Popen(
        command(how), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env(True)
    )
    assert p.stderr is not None
    seen = []
    for raw in p.stderr:
        seen.append(raw)
        if raw.startswith(b"import time:") and raw.rsplit(b"|", 1)[-1].strip() == module.encode():
            p.send_signal(signal.SIGINT)
            break
    rest = p.stderr.read()
    p.wait(timeout=120)
    return judged(p.returncode, b"".join(seen) + rest)


@pytest.mark.parametrize("how", ["-m", "script"])
def test_ctrl_c_at_any_import_from_chainrules_first_line_is_exit_130(how: str) -> None:
    command(how)
    names = imports(how)
    first = names.index("chainrule._interrupt")
    before = names[:first]
    after = names[first:]
    assert len(after) > 50  # numpy, sympy: most of the start
    step = max(1, len(after) // 10)
    for module in after[:3] + after[3::step]:
        assert interrupted_at(how, module) == "exit 130", module
    for module in before[:: max(1, len(before) // 4)]:
        interrupted_at(how, module)  # only Python's handling is possible there: judged


@pytest.mark.parametrize("how", ["-m", "script"])
def test_ctrl_c_after_early_delays_is_130_or_pythons_own(how: str) -> None:
    """SIGINT 0 to 400 ms after the start: each ending is one of those allowed."""
    seen = {}
    for delay in (0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.4):
        p = subprocess.Popen(
            command(how), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env()
        )
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
        seen[delay] = judged(p.returncode, err)
    print(seen)


def test_the_script_and_python_m_start_through_the_package() -> None:
    """The entry points import nothing of their own before the package (whose first import
    is ``_interrupt``): the script is ``chainrule.cli:entry``, ``__main__`` imports ``.cli``."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'chainrule = "chainrule.cli:entry"' in text
    main = (SRC / "chainrule" / "__main__.py").read_text(encoding="utf-8")
    assert main.lstrip().startswith("from .cli import entry") or "_interrupt" in main
    lines = [
        ln
        for ln in INIT.read_text(encoding="utf-8").splitlines()
        if ln.startswith(("import ", "from "))
    ]
    assert lines[:2] == [
        "from __future__ import annotations",
        "from . import _interrupt  # noqa: F401",
    ]
