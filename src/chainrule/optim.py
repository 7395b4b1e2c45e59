"""Optimizers: update parameter leaves from their gradients.

Gradient semantics, chosen so that nothing carries over by surprise:

* ``loss.backward()`` *replaces* the gradient of every node the loss depends on (pass
  ``accumulate=True`` to add to what is there, e.g. to sum gradients over several losses);
* ``opt.step()`` applies each parameter's gradient **once** and then clears it (``grad = None``):
  a gradient can never be applied twice, and a later ``backward(accumulate=True)`` starts from zero;
* a parameter whose ``grad`` is ``None`` (the loss did not reach it) is left alone: its momentum
  is not advanced and weight decay is not applied to it;
* ``opt.zero_grad()`` clears every gradient by hand (never needed in the usual loop).

Array parameters are updated in place (their arrays are owned by the module that made them);
a scalar (float) parameter gets a new value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import ValueInputError
from .nn.module import Module
from .node import Node


def _params(params: Module | Iterable[Node]) -> list[Node]:
    ps = params.parameters() if isinstance(params, Module) else list(params)
    if not ps:
        raise ValueInputError("an optimizer needs at least one parameter")
    for p in ps:
        if not isinstance(p, Node) or p.args or not p.requires_grad:
            raise ValueInputError(
                "optimizers update leaves made with var() or nn.parameter()",
                node=getattr(p, "name", None),
            )
    return ps


class Optimizer:
    """Common bookkeeping: the parameters, the learning rate, per-parameter state."""

    def __init__(self, params: Module | Iterable[Node], lr: float) -> None:
        if lr <= 0:
            raise ValueInputError(f"the learning rate must be positive, got {lr}")
        self.params = _params(params)
        self.lr = float(lr)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if isinstance(p.value, np.ndarray) and np.shape(g) != p.value.shape:
                raise ValueInputError(
                    f"the gradient of {p.label()} has shape {np.shape(g)}, its value "
                    f"{p.value.shape}",
                    node=p.label(),
                )
            self._update(p, g, self.state[i])
            p.grad = None

    def _update(self, p: Node, g: Any, state: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _apply(p: Node, delta: Any) -> None:
        """p ← p − delta (in place for arrays)."""
        v = p.value
        if isinstance(v, np.ndarray) and v.flags.writeable:
            v -= delta
        else:
            p.value = v - delta


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay.

    As in PyTorch: g ← g + wd·p;  b ← μ·b + g;  p ← p − lr·b  (or lr·(g + μ·b) with Nesterov)."""

    def __init__(
        self,
        params: Module | Iterable[Node],
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueInputError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueInputError(f"weight decay must not be negative, got {weight_decay}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.nesterov = nesterov

    def _update(self, p: Node, g: Any, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.value
        if self.momentum:
            buf = state.get("momentum")
            if buf is None:
                buf = np.array(g, copy=True) if isinstance(g, np.ndarray) else g
            elif isinstance(buf, np.ndarray):
                buf *= self.momentum
                buf += g
            else:
                buf = self.momentum * buf + g
            state["momentum"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        self._apply(p, self.lr * g)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds wd·p to the gradient,
    ``decoupled=True`` makes it AdamW (p ← p − lr·wd·p apart from the Adam step)."""

    def __init__(
        self,
        params: Module | Iterable[Node],
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueInputError(f"Adam's betas must be in [0, 1), got {betas}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.decoupled = decoupled

    def _update(self, p: Node, g: Any, state: dict[str, Any]) -> None:
        b1, b2 = self.betas
        if self.weight_decay and not self.decoupled:
            g = g + self.weight_decay * p.value
        t = state.get("t", 0) + 1
        state["t"] = t
        m: Any = state.get("m")
        v: Any = state.get("v")
        if isinstance(g, np.ndarray):
            if m is None:
                m, v = np.zeros_like(g), np.zeros_like(g)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom *= 1 / np.sqrt(1 - b2**t)
            denom += self.eps
            step = m / denom
            step *= self.lr / (1 - b1**t)
        else:
            m = b1 * (m or 0.0) + (1 - b1) * g
            v = b2 * (v or 0.0) + (1 - b2) * g * g
            step = self.lr / (1 - b1**t) * m / (np.sqrt(v / (1 - b2**t)) + self.eps)
        state["m"], state["v"] = m, v
        if self.weight_decay and self.decoupled:
            self._apply(p, self.lr * self.weight_decay * p.value)
        self._apply(p, step)
