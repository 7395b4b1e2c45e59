"""Shared test settings: Hypothesis runs without per-example deadlines (CI machines are slow
and loaded), and prints its statistics on failure only."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("chainrule", deadline=None, print_blob=True)
settings.load_profile("chainrule")
