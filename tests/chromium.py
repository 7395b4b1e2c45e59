"""Headless Chromium for the explorer's tests: Debian's chromium driven by Playwright for
Python (no browser is ever downloaded). Every request that is not the page's own file is
blocked and recorded, and every console message and page error is kept."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python package) is not installed"
    return None


@dataclass
class Session:
    page: Any
    requests: list[str] = field(default_factory=list)  # every request other than file://
    errors: list[str] = field(default_factory=list)  # console errors and page errors

    def open(self, path: Path, fragment: str = "") -> None:
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_function("() => window.chainrule !== undefined")

    def js(self, code: str, arg: Any = None) -> Any:
        return self.page.evaluate(code, arg)


@contextmanager
def browser(width: int = 1400, height: int = 900) -> Iterator[Session]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    try:
        with sync_playwright() as p:
            # a fresh profile folder (Playwright passes it as --user-data-dir)
            b = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=ARGS,
                headless=True,
                viewport={"width": width, "height": height},
            )
            try:
                page = b.pages[0] if b.pages else b.new_page()
                s = Session(page)

                def route(r: Any) -> None:
                    url = r.request.url
                    if url.startswith("file://") or url.startswith("data:"):
                        r.continue_()
                    else:
                        s.requests.append(url)
                        r.abort()

                page.route("**/*", route)
                page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: s.errors.append(str(e)))
                yield s
            finally:
                b.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
