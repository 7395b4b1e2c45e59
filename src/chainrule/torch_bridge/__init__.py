"""The bridge to PyTorch: ``from_torch`` (a PyTorch computation as a chainrule graph).
Needs the ``torch`` extra."""

from __future__ import annotations

from .convert import from_torch

__all__ = ["from_torch"]
