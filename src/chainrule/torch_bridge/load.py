"""``--torch FILE.py:FACTORY``: run a user's Python file to get a model and its example inputs.

Loading the file executes it, with the user's permissions: this is code execution the user asks
for by naming the file, unlike program text, which is never evaluated. The factory is called
with no arguments and returns ``(model, inputs)``, where ``inputs`` is a tuple of tensors (or
one tensor), optionally followed by a dict of keyword inputs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ValueInputError
from ..core.graph import Graph
from .convert import from_torch


def split_spec(spec: str) -> tuple[Path, str]:
    """``examples/torch_models.py:mlp`` → (path, factory name), checked."""
    path_text, sep, factory = spec.rpartition(":")
    if not sep or not path_text or not factory.isidentifier():
        raise ValueInputError(
            f"--torch {spec!r}: expected FILE.py:FACTORY, such as examples/torch_models.py:mlp"
        )
    path = Path(path_text)
    if path.suffix != ".py":
        raise ValueInputError(f"--torch {spec!r}: {path} is not a Python file (.py)")
    if not path.is_file():
        raise ValueInputError(f"--torch {spec!r}: no file {path}")
    return path, factory


def load_factory(spec: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """Execute the file and call its factory: (model, inputs, keyword inputs)."""
    path, factory = split_spec(spec)
    name = f"chainrule_user_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ValueInputError(f"--torch {spec!r}: cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's own code: report, never a traceback
        raise ValueInputError(f"--torch: running {path} raised {_brief(exc)}") from exc
    make = getattr(module, factory, None)
    if not callable(make):
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise ValueInputError(
            f"--torch {spec!r}: {path} has no function {factory!r} "
            f"(functions there: {', '.join(found) or 'none'})"
        )
    try:
        made = make()
    except Exception as exc:  # noqa: BLE001
        raise ValueInputError(f"--torch: {factory}() in {path} raised {_brief(exc)}") from exc
    if not isinstance(made, tuple) or len(made) not in (2, 3):
        raise ValueInputError(
            f"--torch: {factory}() must return (model, inputs) or (model, inputs, kwargs), "
            f"got {type(made).__name__}"
        )
    model, inputs = made[0], made[1]
    kwargs = made[2] if len(made) == 3 else {}
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    if not isinstance(kwargs, dict):
        raise ValueInputError(f"--torch: the keyword inputs of {factory}() must be a dict")
    return model, tuple(inputs), kwargs


def graph_from_spec(spec: str) -> Graph:
    """The chainrule graph of the model a factory returns."""
    model, inputs, kwargs = load_factory(spec)
    return from_torch(model, *inputs, **kwargs)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
