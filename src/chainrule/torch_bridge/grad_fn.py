"""Drawing the autograd graph a PyTorch training loop already built (torchviz's ``make_dot``).

``from_torch`` traces a model again on example inputs. A PyTorch user often has something else
at hand: a loss whose ``grad_fn`` graph the loop just built, perhaps after ``loss.backward()``.
``draw_grad_fn(loss)`` draws that very graph, without running the model again:

* one box per autograd function (``MulBackward0`` is drawn as ``mul``), one per leaf tensor
  (``AccumulateGrad``), named from ``params`` (``dict(model.named_parameters())``) when given;
* values where the graph holds them: each leaf's value, and the tensors a function saved for
  its backward (``_saved_self``, ``_saved_result`` …; ``backward()`` frees them unless
  ``retain_graph=True``, and the box says so);
* gradients after ``loss.backward()``: every leaf's ``.grad`` (and any tensor that called
  ``retain_grad()``), so the numbers on the drawing are the ones the optimizer will use.

The graph is walked with an explicit stack (no recursion on its depth); every label is plain
text, escaped by each writer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..core.errors import ValueInputError
from ..draw.labels import number
from ..draw.model import Arrow, Box, Drawing, Line
from ..lang.naming import index_path

MAX_SAVED = 4  # saved tensors listed per box
MAX_FUNCTIONS = 20_000  # autograd functions drawn at most (a drawing is for reading)


def _array(t: torch.Tensor) -> np.ndarray:
    return np.asarray(t.detach().to("cpu", torch.float64).numpy())


def _short(t: Any, digits: int) -> str:
    """A tensor as a short decimal, or its shape and a summary when long (``number``)."""
    if isinstance(t, torch.Tensor):
        a = _array(t)
        return number(a if a.ndim else float(a), digits)
    if isinstance(t, (int, float)):
        return number(float(t), digits)
    return str(t)[:60]


def _op_name(fn: Any) -> str:
    """``MulBackward0`` → ``mul``, ``AddmmBackward0`` → ``addmm``: the forward operation."""
    name = type(fn).__name__
    for tail in ("Backward0", "Backward1", "Backward"):
        if name.endswith(tail):
            name = name[: -len(tail)]
            break
    return name.lower() or type(fn).__name__


def _saved(fn: Any, digits: int) -> list[Line]:
    """The tensors (and numbers) a function saved for its backward, freed ones said to be."""
    lines: list[Line] = []
    for attr in sorted(a for a in dir(fn) if a.startswith("_saved_")):
        if len(lines) >= MAX_SAVED:
            lines.append(Line("… more saved values", "note"))
            break
        try:
            value = getattr(fn, attr)
        except RuntimeError:  # freed by backward() (retain_graph=False)
            lines.append(Line(f"{attr[7:]}: freed by backward()", "note"))
            continue
        if isinstance(value, torch.Tensor):  # options (alpha, ignore_index …) are not values
            lines.append(Line(f"{attr[7:]} = {_short(value, digits)}", "value"))
    return lines


def draw_grad_fn(
    tensor: torch.Tensor,
    params: Mapping[str, torch.Tensor] | None = None,
    *,
    name: str = "output",
    digits: int = 5,
    direction: str = "BT",
    max_width: float | None = None,
) -> Drawing:
    """The drawing of the autograd graph that ends at ``tensor`` (a loss), as it stands now:
    values where the graph holds them, and the leaves' gradients once ``backward()`` ran.

    ``params`` names leaf tensors (``dict(model.named_parameters())``, as torchviz takes);
    unnamed leaves are called by their shape. Write it with ``chainrule.draw.write(d, path)``
    (the extension picks the format) or ``chainrule.draw.writers.text``."""
    if not isinstance(tensor, torch.Tensor):
        raise ValueInputError(f"draw_grad_fn needs a torch.Tensor, got {type(tensor).__name__}")
    if tensor.grad_fn is None:
        raise ValueInputError(
            "draw_grad_fn: this tensor has no grad_fn (it is a leaf, or was computed without "
            "gradients: under torch.no_grad(), or from tensors that do not require grad)"
        )
    names = {id(t): index_path(k) for k, t in (params or {}).items()}
    boxes: list[Box] = []
    arrows: list[Arrow] = []
    ids: dict[int, str] = {}
    any_grad = False

    def box_id(fn: Any) -> str:
        return ids.setdefault(id(fn), f"f{len(ids)}")

    out_lines = [
        Line(name, "title"),
        Line(f"{name} = {_short(tensor, digits)}", "value"),
    ]
    if tensor.retains_grad and tensor.grad is not None:
        out_lines.append(Line(f"grad = {_short(tensor.grad, digits)}", "grad"))
    boxes.append(Box("out", out_lines, "output"))
    arrows.append(Arrow(box_id(tensor.grad_fn), "out"))
    stack = [tensor.grad_fn]
    seen: set[int] = set()
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if len(seen) > MAX_FUNCTIONS:
            raise ValueInputError(
                f"draw_grad_fn: the graph has more than {MAX_FUNCTIONS} autograd functions; "
                "draw a smaller part (a loss of one batch, one block's output)"
            )
        me = box_id(fn)
        leaf = getattr(fn, "variable", None)
        if isinstance(leaf, torch.Tensor):  # AccumulateGrad: a leaf that gets .grad
            label = names.get(id(leaf)) or f"leaf {'×'.join(map(str, leaf.shape)) or 'scalar'}"
            lines = [Line(label, "title"), Line(f"{label} = {_short(leaf, digits)}", "value")]
            if leaf.grad is not None:
                any_grad = True
                lines.append(Line(f"grad = {_short(leaf.grad, digits)}", "grad"))
            boxes.append(Box(me, lines, "input"))
            continue
        lines = [Line(_op_name(fn), "title"), *_saved(fn, digits)]
        boxes.append(Box(me, lines, "op", tooltip=type(fn).__name__))
        for k, (child, _index) in enumerate(fn.next_functions):
            if child is None:  # an input that needs no gradient (data, a constant)
                continue
            arrows.append(Arrow(box_id(child), me, tooltip=f"input {k + 1}"))
            stack.append(child)
    view = "gradients" if any_grad else "forward"
    legend = []
    if any(line.text.endswith("freed by backward()") for b in boxes for line in b.lines):
        legend.append(
            Line(
                "backward() frees the values a function saved: call "
                "loss.backward(retain_graph=True) to keep them on the drawing",
                "note",
            )
        )
    title = f"The autograd graph of {name}, as PyTorch built it" + (
        ": leaves show their .grad" if any_grad else " (no backward() yet)"
    )
    return Drawing(
        view, boxes, arrows, direction=direction, title=title, legend=legend, max_width=max_width
    )


__all__ = ["draw_grad_fn"]
