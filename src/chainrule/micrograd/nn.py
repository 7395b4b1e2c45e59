"""micrograd's ``nn``: ``Module``, ``Neuron``, ``Layer`` and ``MLP`` on chainrule's ``Value``.

The same constructors, the same calls to ``random.uniform`` in the same order (so a seeded
``random`` gives the very weights micrograd would), the same ``parameters``, ``zero_grad`` and
``repr``. A neuron builds micrograd's graph, ``((b + w₀x₀) + w₁x₁) + …`` then ReLU, one node per
operation; its loop is written out instead of going through ``sum`` over a generator.
"""

from __future__ import annotations

import random
from typing import Any

from ..core.node import _ids
from .engine import _ADD, _MUL, _RELU, Value, _new, _unary, _wrap

__all__ = ["MLP", "Layer", "Module", "Neuron"]


class Module:
    """What every micrograd module has: ``zero_grad`` and ``parameters``."""

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    """``relu(Σ wᵢxᵢ + b)`` (or without the relu when ``nonlin=False``)."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Any) -> Any:
        # sum((wi*xi for wi, xi in zip(self.w, x)), self.b), with the nodes built in place
        act = self.b
        new = _new
        V = Value
        ids = _ids
        MUL, ADD = _MUL, _ADD
        for wi, xi in zip(self.w, x):
            if xi.__class__ is not V:
                xi = _wrap(xi)
                if xi is NotImplemented:
                    raise TypeError("a Neuron takes Values or numbers")
            p = new(V)
            p.value = wi.value * xi.value
            p.grad = 0
            p.op = MUL
            p.a0 = wi
            p.a1 = xi
            p._seen = None
            p.id = next(ids)
            s = new(V)
            s.value = act.value + p.value
            s.grad = 0
            s.op = ADD
            s.a0 = act
            s.a1 = p
            s._seen = None
            s.id = next(ids)
            act = s
        if self.nonlin:
            v = act.value
            return _unary(_RELU, v if v > 0 else 0.0, act)
        return act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; one output is returned bare, as in micrograd."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Any) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of ReLU neurons, the last one linear."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin] + nouts
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
        ]

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
