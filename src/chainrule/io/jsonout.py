"""Strict JSON out: Python's ``json`` writes ``Infinity`` and ``NaN``, which JSON does not have and
strict parsers reject. chainrule writes a non-finite number as the string ``"inf"``, ``"-inf"`` or
``"nan"`` instead, the same way everywhere (eval --json, check --json, answers.json, graph.json)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite_text(x: float) -> str:
    """The string that stands for a non-finite float."""
    if math.isnan(x):
        return "nan"
    return "inf" if x > 0 else "-inf"


def strict(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its string; lists and dicts are
    rebuilt with an explicit stack (no recursion), other values pass through."""
    if not isinstance(value, (dict, list, tuple, float, np.floating)):
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    while stack:
        parent, key, item = stack.pop()
        if isinstance(item, (float, np.floating)):
            f = float(item)
            parent[key] = f if math.isfinite(f) else finite_text(f)
        elif isinstance(item, dict):
            copy: dict[Any, Any] = dict(item)
            parent[key] = copy
            stack.extend((copy, k, v) for k, v in copy.items())
        elif isinstance(item, (list, tuple)):
            items = list(item)
            parent[key] = items
            stack.extend((items, i, v) for i, v in enumerate(items))
    return root[0]


def strict_dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` that never writes ``Infinity`` or ``NaN`` (and keeps unicode as is)."""
    options.setdefault("ensure_ascii", False)
    return json.dumps(strict(value), allow_nan=False, **options)
