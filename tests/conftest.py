"""Shared test settings: Hypothesis runs without per-example deadlines (CI machines are slow
and loaded) and prints its statistics on failure only. Under CI=true the examples are derived
from the test itself, so a CI run is reproducible; local runs keep exploring new examples."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("chainrule", deadline=None, print_blob=True)
settings.register_profile("chainrule-ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("chainrule-ci" if os.environ.get("CI") == "true" else "chainrule")


@pytest.fixture(scope="module")
def session():  # type: ignore[no-untyped-def]
    """One headless Chromium for a module's browser tests (``tests/chromium.py``); no page may
    ask the network for anything."""
    from chromium import browser

    with browser() as s:
        yield s
    assert s.requests == [], f"the page asked the network for {s.requests}"
