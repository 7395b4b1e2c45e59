"""PyTorch functions as opaque chainrule ops: value and vector–Jacobian products by PyTorch.

A ``TorchFunction`` takes numpy arrays (or floats), runs a PyTorch callable on them as tensors
and gives numpy back. ``vjp(i)`` is the function ``(g, *inputs) ↦ gᵀ ∂f/∂inputᵢ`` computed by
``torch.autograd.grad`` with ``create_graph=True``, itself a ``TorchFunction``: so the vjp of a
vjp is PyTorch's double backward, and higher derivatives through opaque nodes work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def to_tensor(v: Any, requires_grad: bool = False) -> torch.Tensor:
    """A numpy array or float as a tensor of the same dtype (floats become float64)."""
    arr = np.asarray(v)
    if arr.dtype == object:
        raise TypeError("exact numbers cannot go to PyTorch")
    t = torch.from_numpy(arr.copy(order="C"))
    if requires_grad and t.is_floating_point():
        t.requires_grad_(True)
    return t


def to_numpy(t: Any) -> Any:
    """A tensor back as chainrule stores values: an array, or a float for a 0-d tensor."""
    if not isinstance(t, torch.Tensor):
        return float(t)
    a = t.detach().cpu().numpy()
    if a.ndim == 0:
        return float(a)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


class TorchFunction:
    """A PyTorch callable of tensors (the differentiable inputs) as a chainrule opaque function."""

    def __init__(self, name: str, fn: Callable[..., Any], order: int = 0) -> None:
        self.name = name
        self.fn = fn
        self.order = order  # 0: the op itself, 1: its vjp, ...

    def __repr__(self) -> str:
        return f"<torch function {self.name}>"

    def __call__(self, *args: Any) -> Any:
        with torch.no_grad():
            return to_numpy(self.fn(*[to_tensor(a) for a in args]))

    def vjp(self, i: int) -> TorchFunction:
        fn = self.fn

        def grad_of_input(g: torch.Tensor, *xs: torch.Tensor) -> torch.Tensor:
            with torch.enable_grad():
                xs = tuple(
                    x.detach().requires_grad_(True)
                    if k == i and not x.requires_grad and x.is_floating_point()
                    else x
                    for k, x in enumerate(xs)
                )
                out = fn(*xs)
                if not xs[i].requires_grad or not out.requires_grad:
                    return torch.zeros_like(xs[i])
                (d,) = torch.autograd.grad(
                    out,
                    xs[i],
                    grad_outputs=g.to(out.dtype).expand_as(out),
                    create_graph=True,
                    allow_unused=True,
                )
            return torch.zeros_like(xs[i]) if d is None else d

        return TorchFunction(f"{self.name}.vjp{i}", grad_of_input, self.order + 1)
