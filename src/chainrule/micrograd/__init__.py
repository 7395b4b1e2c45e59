"""micrograd's API on chainrule: ``from chainrule.micrograd import Value`` and
``from chainrule.micrograd.nn import Neuron, Layer, MLP`` run micrograd code unchanged, and the
graphs it builds can be drawn (``cr.draw``), explained (``cr.explain``) and checked.

``chainrule.micrograd.engine`` mirrors ``micrograd.engine`` for code that imports from there."""

from __future__ import annotations

from . import engine, nn
from .engine import Value

__all__ = ["Value", "engine", "nn"]
