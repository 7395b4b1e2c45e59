"""Why PyTorch could not trace a model, in words a model's author can act on.

``torch.export`` stops with ``Could not guard on data-dependent expression Eq(u0, 1)`` when the
model's Python looks at a tensor's value (``if x.sum() > 0:``, ``float(t)``, ``t.item()``): the
expression is PyTorch's symbol for that unknown value. The message here says what it means and
where it happened (the deepest frame of the model's own code, or of ``torch.nn``'s).
"""

from __future__ import annotations

import traceback
from pathlib import Path

import torch

_DATA_DEPENDENT = ("GuardOnDataDependentSymNode", "DataDependentOutputException")


def message(exc: BaseException) -> str:
    """One line: PyTorch's reason, explained when it is data-dependent control flow."""
    cause = _data_dependent(exc)
    if cause is None:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        return f"PyTorch could not trace the model: {first}"
    place, code = _where(cause)
    at = f" at {place} (`{code}`)" if place else ""
    hint = ""
    if "num_batches_tracked" in code:
        hint = (
            "; here BatchNorm with momentum=None reads how many batches it has seen from its "
            "num_batches_tracked buffer: give momentum a number, or convert the model after "
            "model.eval()"
        )
    return (
        "PyTorch could not trace the model: its Python code uses the value of a tensor"
        f"{at} (data-dependent control flow: an if on a tensor, or float(), int() or .item() of "
        "one). A traced graph holds the ops of one run, not a choice made on the inputs' "
        "values: write the choice with torch.where(condition, a, b), or make the branch fixed "
        f"for the given inputs (decide it outside the model){hint}"
    )


def _data_dependent(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(c.__name__ in _DATA_DEPENDENT for c in type(current).__mro__):
            return current
        current = current.__cause__ or current.__context__
    return None


def _where(exc: BaseException) -> tuple[str, str]:
    """The deepest frame of the model's code (or of torch.nn's layers) where it stopped."""
    torch_dir = str(Path(torch.__file__).resolve().parent)
    nn_dir = str(Path(torch_dir) / "nn")
    ours = str(Path(__file__).resolve().parents[1])
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = str(Path(frame.filename).resolve()) if not frame.filename.startswith("<") else ""
        if not name or name.startswith(ours):
            continue
        if name.startswith(torch_dir) and not (
            name.startswith(nn_dir) and not name.endswith("module.py")
        ):
            continue
        return f"{Path(name).name} line {frame.lineno}", (frame.line or "").strip()
    return "", ""
