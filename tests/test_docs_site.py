"""The documentation site: built with --strict from the sources, and every page loaded in
headless Chromium with no console error, no failed request and no request to another host;
the explorers embedded in the gallery step."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from chromium import ARGS, CHROMIUM, missing

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("mkdocs", reason="the documentation site needs mkdocs (the dev extra)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_the_site_has_every_page_it_promises(site: Path) -> None:
    for page in (
        "index.html",
        "tutorials/reference-exercise.html",
        "tutorials/neuron-to-mlp.html",
        "tutorials/micrograd.html",
        "tutorials/pytorch.html",
        "tutorials/teachers.html",
        "reference/ops.html",
        "reference/api.html",
        "gallery/index.html",
        "architecture.html",
        "benchmarks.html",
    ):
        assert (site / page).is_file(), page
    gallery = sorted(p.stem for p in (ROOT / "tests" / "gallery").glob("*.cr"))
    for name in gallery:
        assert (site / "gallery" / f"{name}.html").is_file(), name
        assert (site / "gallery" / f"{name}-explorer.html").is_file(), name


def test_the_op_reference_lists_every_function_of_the_table(site: Path) -> None:
    from chainrule.ops import OPS

    text = (site / "reference" / "ops.html").read_text(encoding="utf-8")
    for op in OPS.values():
        if op.in_programs:
            assert f'id="{op.name}"' in text, op.name
    # a partial as chainrule prints it, from the table's own rule
    assert "1 / (1 + x²)" in text


def test_the_api_reference_is_generated_from_docstrings(site: Path) -> None:
    text = (site / "reference" / "api.html").read_text(encoding="utf-8")
    assert "chainrule.core.autodiff.backward" in text
    assert "chainrule.functions" in text


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_every_page_loads_offline_without_errors_and_the_explorers_step(
    site: Path, served: str
) -> None:
    from playwright.sync_api import sync_playwright

    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    pages = [p for p in pages if not p.endswith("-explorer.html")]  # loaded inside their pages
    assert len(pages) > 80
    host = urlparse(served).netloc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context()
            foreign: list[str] = []
            failed: list[str] = []

            def elsewhere(url: str) -> bool:
                return urlparse(url).netloc not in (host, "")

            def refuse(r):  # type: ignore[no-untyped-def]
                foreign.append(r.request.url)
                r.abort()

            # only requests to another host pass through Python (every one is refused)
            context.route(elsewhere, refuse)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            # a request cut short by going to the next page is aborted, not failed
            page.on(
                "requestfailed",
                lambda r: (
                    failed.append(f"{r.failure} {r.url}")
                    if "ERR_ABORTED" not in str(r.failure)
                    else None
                ),
            )
            page.on(
                "response",
                lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            stepped = 0
            for rel in pages:
                page.goto(served + rel, wait_until="load")
                for frame in page.frames:
                    if urlparse(frame.url).path.endswith("-explorer.html"):
                        frame.wait_for_function("() => window.chainrule !== undefined")
                        n = frame.evaluate("() => window.chainrule.steps()")
                        assert n > 0, rel
                        frame.evaluate("(i) => window.chainrule.step(i)", n - 1)
                        assert frame.evaluate("() => window.chainrule.names().length") > 0
                        stepped += 1
                assert not errors, (rel, errors)
            assert not foreign, foreign
            assert not failed, failed
            assert stepped >= len(list((ROOT / "tests" / "gallery").glob("*.cr")))
        finally:
            browser.close()
