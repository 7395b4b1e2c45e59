"""The explorer widget in a real JupyterLab: a server started here on localhost, a notebook
opened in headless Chromium, its cells run one by one; the step and the inputs are changed from
Python and from the page, and each side sees the other's change. The numbers the page sends back
are compared with chainrule's own at the same inputs.

Skips, with the reason, when chromium, Playwright, JupyterLab or anywidget is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import ARGS, CHROMIUM, missing

import chainrule as cr

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = ROOT / "src/chainrule/data/exercise.cr"


def _why_not() -> str | None:
    why = missing()
    if why:
        return why
    for module in ("jupyterlab", "anywidget", "ipykernel"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")

CELLS = [
    f"import chainrule as cr\ng = cr.parse(open({str(EXERCISE)!r}).read())\nw = cr.explore(g)\nw",
    "w.step = 12",
    'w.set("b₀", 0.5)',
    'print("L =", repr(w.value("L")), "| dL/dz =", repr(w.grad("z")))',
    'print("b0 =", repr(w.value("b₀")), "| step =", w.step)',
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, Path]]:
    folder = Path(tempfile.mkdtemp(prefix="chainrule-lab-"))
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in CELLS
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "explore.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    port, token = _free_port(), "chainrule-test"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(folder / ".config")
    env["JUPYTER_RUNTIME_DIR"] = str(folder / ".runtime")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "w"),  # noqa: SIM115
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start: " + (folder / "server.log").read_text()[-2000:])
        yield f"http://127.0.0.1:{port}/lab/tree/explore.ipynb?token={token}", folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _output(page: Any, cell: int) -> str:
    return str(
        page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".jp-OutputArea").inner_text()
    )


def _run(page: Any, cell: int, wait_for: str | None = None) -> str:
    """Run one cell (select it, Shift+Enter) and wait until its output holds ``wait_for``."""
    done = """n => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell')[n];
                  const p = c && c.querySelector('.jp-InputArea-prompt');
                  return p && /\\[\\d+\\]/.test(p.textContent); }"""
    for attempt in range(4):  # a kernel still starting can drop the first request
        try:
            _close_dialogs(page)
            prompt = page.locator(".jp-Notebook .jp-Cell").nth(cell)
            prompt.locator(".jp-InputArea-prompt").click(timeout=30_000)
            page.keyboard.press("Shift+Enter")
            page.wait_for_function(done, arg=cell, timeout=45_000)
            break
        except Exception as exc:
            if attempt == 3:
                said = f"JupyterLab said: {DIALOGS}"
                raise AssertionError(f"cell {cell} did not run; {said}") from exc
    if wait_for is not None:
        page.wait_for_function(
            """([n, t]) => document.querySelectorAll('.jp-Notebook .jp-Cell')[n]
                 .querySelector('.jp-OutputArea').innerText.includes(t)""",
            arg=[cell, wait_for],
            timeout=120_000,
        )
    return _output(page, cell)


DIALOGS: list[str] = []  # what JupyterLab's own dialogs said (a loaded machine's kernel may
# be slow to answer, and JupyterLab then asks about it): closed, and kept for a failure's message


def _close_dialogs(page: Any) -> None:
    dialogs = page.locator(".jp-Dialog")
    for _ in range(3):
        if not dialogs.count():
            return
        DIALOGS.append(dialogs.first.inner_text()[:300])
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)


def _number(text: str, key: str) -> float:
    m = re.search(re.escape(key) + r" = ([-0-9.e+]+)", text)
    assert m, text
    return float(m.group(1))


def test_the_widget_shares_its_state_with_python(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, folder = lab
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    outside: list[str] = []
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            b = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=ARGS,
                headless=True,
                viewport={"width": 1400, "height": 1000},
            )
            try:
                page = b.pages[0] if b.pages else b.new_page()

                def route(r: Any) -> None:
                    if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                        r.continue_()
                    else:
                        outside.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(url)
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
                page.wait_for_selector(
                    ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000
                )
                # the widget appears, rendered by the page's own script
                _run(page, 0)
                widget = page.locator(".chainrule-widget")
                widget.locator("#step-title").wait_for(timeout=120_000)
                assert "Step 1 of" in widget.locator("#step-title").inner_text()
                # Python moves the page
                _run(page, 1)
                page.wait_for_function(
                    "() => document.querySelector('.chainrule-widget #step-title')"
                    ".textContent.startsWith('Step 13 of')",
                    timeout=90_000,
                )
                # Python changes an input; the page computes, Python reads the page's numbers
                _run(page, 2)
                page.wait_for_function(
                    "() => document.querySelector('.chainrule-widget"
                    " input[aria-label=\"value of b₀\"]').value === '0.5'",
                    timeout=90_000,
                )
                out = _run(page, 3, "L =")
                want = cr.parse(EXERCISE.read_text(), at={"b₀": 0.5})
                want.backward()
                assert abs(_number(out, "L") - float(want["L"].value)) <= 1e-12
                assert abs(_number(out, "dL/dz") - float(want["z"].grad)) <= 1e-12
                # the page changes an input and a step; Python sees both
                slider = widget.locator('input[aria-label="slider for b₀"]')
                slider.fill("0.25")
                moved = float(slider.input_value())  # the slider's grid: near 0.25
                assert abs(moved - 0.25) < 0.01
                widget.locator("#next").click()
                page.wait_for_timeout(500)
                out = _run(page, 4, "b0 =")
                assert _number(out, "b0") == moved
                assert "step = 13" in out
            finally:
                b.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert not [e for e in errors if "chainrule" in e or "crExplorer" in e], errors
