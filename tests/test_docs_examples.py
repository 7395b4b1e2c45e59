"""Every example in the README and the documentation runs, and shows what it says it shows.

Code blocks are read with Sybil's Markdown lexer. Each block says what it is by its language:

- ``python``: run, in one namespace per page (in order), from a scratch folder that sees the
  repository's folders; a block's own ``assert`` lines check its numbers;
- ``console``: each ``$ command`` runs in bash from the same scratch folder with ``chainrule`` on
  the PATH; the lines after it are its output, compared line by line (trailing spaces ignored; a
  line ``...`` stands for any lines). Output that starts ``chainrule: error`` expects exit status 2,
  any other status 0;
- ``chainrule``: a program, parsed and differentiated (its output must be a number);
- ``text``, ``toml``, ``csv``, ``json``: shown, not run (their kind says so);
- a block without a language is refused: every block says whether it runs. A Python block that
  is a fragment (it needs your data) is marked ``<!-- skip: next "why" -->`` before it.

A command that is meant to fail says so at its end (``# exit 1``); ``…`` inside a shown line
stands for any text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest
from pathlib import Path
from typing import Any

import pytest

sybil = pytest.importorskip("sybil", reason="the docs examples are read with Sybil (dev extra)")
from sybil import Sybil  # noqa: E402
from sybil.parsers.markdown import (  # noqa: E402
    CodeBlockParser,
    PythonCodeBlockParser,
    SkipParser,
)

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGES = [p for p in PAGES if "site" not in p.relative_to(ROOT).parts[1:2]]
SHOWN_ONLY = {"text", "toml", "csv", "json", "latex", "tex", "markdown", "html"}
RUN = {"python", "console", "chainrule"}
FENCE = re.compile(r"^(\s*)```(\S*)")
BIN = Path(sys.executable).parent


def _scratch(tmp: Path) -> Path:
    """A folder to run examples in: the repository's folders are visible (read-only use),
    whatever an example writes lands here."""
    for name in ("src", "examples", "tests", "docs", "benchmarks"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def _compare(shown: list[str], got: list[str]) -> bool:
    got = [g.rstrip() for g in got]
    while got and not got[-1]:
        got.pop()
    i = 0
    for k, line in enumerate(shown):
        if line.strip() == "...":
            rest = shown[k + 1 :]
            if not rest:
                return True
            for j in range(i, len(got) + 1):
                if _compare(rest, got[j:]):
                    return True
            return False
        if i >= len(got) or not _same_line(line.rstrip(), got[i]):
            return False
        i += 1
    return i == len(got)


def _same_line(shown: str, got: str) -> bool:
    if "…" not in shown:
        return shown == got
    pattern = ".*".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, got) is not None


EXIT = re.compile(r"#\s*exit (\d+)\b")


def _console(example: Any) -> None:
    cwd = example.namespace["__scratch__"]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", COLUMNS="100")
    env.setdefault("PYTHONPATH", str(ROOT / "src"))
    commands: list[tuple[str, list[str]]] = []
    for line in example.parsed.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"a console block starts with a command ($ ...), not {line!r}")
    for command, shown in commands:
        run = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        out = (run.stdout + run.stderr).splitlines()
        stated = EXIT.search(command)
        if stated:
            want = int(stated.group(1))
        else:
            want = 2 if shown and shown[0].startswith("chainrule: error") else 0
        assert run.returncode == want, f"{command}: exit {run.returncode}\n{run.stderr[-2000:]}"
        if shown and not _compare(shown, out):
            raise AssertionError(
                f"{command} printed:\n"
                + "\n".join(out)
                + "\n\nthe page shows:\n"
                + "\n".join(shown)
            )


def _program(example: Any) -> None:
    import chainrule as cr

    graph = cr.parse(example.parsed)
    cr.backward(graph.output)


def _examples(page: Path) -> list[Any]:
    doc = Sybil(
        parsers=[
            PythonCodeBlockParser(),
            CodeBlockParser(language="console", evaluator=_console),
            CodeBlockParser(language="chainrule", evaluator=_program),
            SkipParser(),
        ]
    ).parse(page)
    return list(doc)


def _cases(runnable: bool = False) -> list[Any]:
    pages = [p for p in PAGES if not runnable or _examples(p)]
    return [pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in pages]


@pytest.mark.parametrize("page", _cases())
def test_every_code_block_says_whether_it_runs(page: Path) -> None:
    bad = []
    inside = False
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE.match(line)
        if not m:
            continue
        if inside:
            inside = False
            continue
        inside = True
        kind = m.group(2)
        if kind not in RUN | SHOWN_ONLY:
            bad.append(f"line {n}: ```{kind or ''} (say python, console, chainrule or text)")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("page", _cases(runnable=True))
def test_every_example_of_the_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = _examples(page)
    scratch = _scratch(tmp_path)
    monkeypatch.chdir(scratch)
    monkeypatch.syspath_prepend(str(scratch))
    namespace: dict[str, Any] | None = None
    for example in examples:
        if namespace is None:
            namespace = example.namespace
            namespace["__scratch__"] = scratch
        try:
            example.evaluate()
        except unittest.SkipTest:
            continue  # a fragment, marked as such on the page
        except Exception as exc:
            raise AssertionError(f"{page.name}, line {example.line}: {exc}") from exc
