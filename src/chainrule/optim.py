"""Optimizers: update parameter leaves from their gradients.

Gradient semantics, chosen so that nothing carries over by surprise:

* ``loss.backward()`` *accumulates* into leaves as PyTorch does (two calls add up, which sums
  gradients over several losses; ``accumulate=False`` replaces them);
* ``opt.step()`` applies each parameter's gradient **once** and then clears it (``grad = None``):
  a gradient can never be applied twice, and a later ``backward(accumulate=True)`` starts from zero;
* a parameter whose ``grad`` is ``None`` (the loss did not reach it) is left alone: its momentum
  is not advanced and weight decay is not applied to it;
* ``opt.zero_grad()`` clears every gradient by hand (PyTorch's loop; not needed after a step).

Array parameters are updated in place (their arrays are owned by the module that made them);
a scalar (float) parameter gets a new value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

import numpy as np

from .core import replay
from .core.blas import MIN_SIZE, axpy
from .core.errors import ValueInputError
from .core.node import Node
from .nn.module import Module


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


class _Settings(dict[str, Any]):
    """An optimizer's settings (PyTorch's param group): a change is told to a compiled step's
    trace, which cannot make it again (a plan steps with the settings it finds)."""

    def __setitem__(self, key: str, value: Any) -> None:
        if replay.note_setting is not None:
            replay.note_setting(self, key)
        super().__setitem__(key, value)


class Optimizer:
    """Common bookkeeping: the parameters, the learning rate, per-parameter state.

    ``param_groups`` is PyTorch's view of the settings (one group): a learning-rate schedule
    written ``for g in opt.param_groups: g["lr"] = ...`` changes ``opt.lr``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # a subclass's own step or zero_grad is replayed by a compiled step as the base's are
        super().__init_subclass__(**kwargs)
        for name, kind in (("step", "values"), ("zero_grad", "grads")):
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, replay.replayed(kind)(method))

    def __setattr__(self, name: str, value: Any) -> None:
        if replay.note_setting is not None:
            replay.note_setting(self, name)
        object.__setattr__(self, name, value)

    def __init__(self, params: Module | Iterable[Node], lr: float) -> None:
        if lr <= 0:
            raise ValueInputError(f"the learning rate must be positive, got {lr}")
        self.params = _params(params)
        self.group: dict[str, Any] = _Settings(params=self.params, lr=float(lr))
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    @property
    def lr(self) -> float:
        return float(self.group["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        self.group["lr"] = float(value)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [self.group]

    @replay.replayed("grads")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every gradient (None; zeros with ``set_to_none=False``)."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.value) if isinstance(p.value, np.ndarray) else 0.0

    @replay.replayed("values")
    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            v = p.value
            if (
                v.__class__ is np.ndarray
                and (g.shape if g.__class__ is np.ndarray else np.shape(g)) != v.shape
            ):
                self._wrong_shape(p, g)
            self._update(p, g, self.state[i])
            p.grad = None

    @staticmethod
    def _wrong_shape(p: Node, g: Any) -> NoReturn:
        raise ValueInputError(
            f"the gradient of {p.label()} has shape {np.shape(g)}, its value {np.shape(p.value)}",
            node=p.label(),
        )

    def _update(self, p: Node, g: Any, state: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _apply(p: Node, delta: Any, scale: float = 1.0) -> None:
        """p ← p − scale·delta (in place for arrays; large ones in one pass, see ``blas``)."""
        v = p.value
        if isinstance(v, np.ndarray) and v.flags.writeable:
            if not axpy(-scale, delta, v):
                v -= delta if scale == 1.0 else scale * delta
        else:
            p.value = v - (delta if scale == 1.0 else scale * delta)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
    decay, with PyTorch's signature, defaults (lr=1e-3) and update:
    g ← g + wd·p;  b ← g on the first step, then μ·b + (1 − dampening)·g;
    p ← p − lr·b  (or lr·(g + μ·b) with Nesterov)."""

    def __init__(
        self,
        params: Module | Iterable[Node],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueInputError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueInputError(f"weight decay must not be negative, got {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueInputError("Nesterov momentum requires a momentum and zero dampening")
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = nesterov

    def step(self) -> None:
        """Plain SGD (no momentum, no weight decay) in one loop: the arithmetic of
        ``_update`` and ``_apply`` (p ← p − lr·g, in place), without a call per parameter; a
        training step of small arrays spends as long in those calls as in the update."""
        if self.momentum or self.weight_decay or type(self)._update is not SGD._update:
            super().step()
            return
        lr = float(self.group["lr"])
        ndarray, multiply, subtract = np.ndarray, np.multiply, np.subtract
        for p in self.params:
            g = p.grad
            if g is None:
                continue
            v = p.value
            if isinstance(v, ndarray):
                if (
                    v.__class__ is ndarray
                    and (g.shape if g.__class__ is ndarray else np.shape(g)) != v.shape
                ):
                    self._wrong_shape(p, g)
                if not v.flags.writeable:
                    p.value = v - (g if lr == 1.0 else lr * g)
                elif v.size < MIN_SIZE or not axpy(-lr, g, v):
                    if g.__class__ is ndarray and lr != 1.0:
                        subtract(v, multiply(g, lr), out=v)  # v -= lr·g, called directly
                    else:
                        v -= g if lr == 1.0 else lr * g
            else:
                p.value = v - (g if lr == 1.0 else lr * g)
            p.grad = None

    def _update(self, p: Node, g: Any, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.value
        if self.momentum:
            buf = state.get("momentum")
            if buf is None:
                buf = np.array(g, copy=True) if isinstance(g, np.ndarray) else g
            elif isinstance(buf, np.ndarray):
                buf *= self.momentum
                buf += g if not self.dampening else (1 - self.dampening) * g
            else:
                buf = self.momentum * buf + (1 - self.dampening) * g
            state["momentum"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        self._apply(p, g, self.lr)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, PyTorch's signature, defaults and update;
    ``weight_decay`` adds wd·p to the gradient, ``decoupled=True`` (PyTorch's
    ``decoupled_weight_decay``) makes it AdamW (p ← p − lr·wd·p apart from the Adam step);
    ``amsgrad`` divides by the largest second moment seen so far."""

    def __init__(
        self,
        params: Module | Iterable[Node],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueInputError(f"Adam's betas must be in [0, 1), got {betas}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.decoupled = decoupled or decoupled_weight_decay
        self.amsgrad = amsgrad

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
            if self.amsgrad:
                vmax = state.get("vmax")
                vmax = v.copy() if vmax is None else np.maximum(vmax, v, out=vmax)
                state["vmax"] = vmax
                denom = np.sqrt(vmax)
            else:
                denom = np.sqrt(v)
            denom /= (1 - b2**t) ** 0.5  # as PyTorch: √v / √(1 − β₂ᵗ) + ε
            denom += self.eps
            step = m / denom
            step *= self.lr / (1 - b1**t)
        else:
            m = b1 * (m or 0.0) + (1 - b1) * g
            v = b2 * (v or 0.0) + (1 - b2) * g * g
            vhat = v
            if self.amsgrad:
                vhat = state["vmax"] = max(state.get("vmax", v), v)
            step = self.lr / (1 - b1**t) * (m / (np.sqrt(vhat) / (1 - b2**t) ** 0.5 + self.eps))
        state["m"], state["v"] = m, v
        if self.weight_decay and self.decoupled:
            self._apply(p, p.value * (self.lr * self.weight_decay))
        self._apply(p, step)


class AdamW(Adam):
    """Adam with decoupled weight decay, PyTorch's defaults (weight_decay=0.01)."""

    def __init__(
        self,
        params: Module | Iterable[Node],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled=True)
