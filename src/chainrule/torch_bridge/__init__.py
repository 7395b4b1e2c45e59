"""The bridge to PyTorch: ``from_torch`` (a PyTorch computation as a chainrule graph) and
``to_torch`` (a chainrule graph or network as a ``torch.nn.Module``). Needs the ``torch`` extra."""

from __future__ import annotations

from .convert import from_torch
from .grad_fn import draw_grad_fn
from .to_torch import GraphModule, to_torch

__all__ = ["GraphModule", "draw_grad_fn", "from_torch", "to_torch"]
