"""Layers: Linear, activations as modules, Sequential and MLP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import tensor as T
from ..errors import ValueInputError
from ..functions import relu, sigmoid, tanh
from ..node import Node
from .init import INITS
from .module import Module, parameter


class Linear(Module):
    """y = x @ w + b, with w of shape (inputs, outputs): one ``linear`` node per call."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        bias: bool = True,
        init: str = "lecun",
        dtype: Any = np.float64,
        rng: np.random.Generator | None = None,
        name: str = "",
    ) -> None:
        super().__init__(name)
        if init not in INITS:
            raise ValueInputError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        rng = rng if rng is not None else np.random.default_rng()
        self.n_in, self.n_out = n_in, n_out
        self.b: Node | None = None
        self.w = parameter(INITS[init]((n_in, n_out), rng, dtype))
        if bias:
            self.b = parameter(np.zeros(n_out, dtype=dtype))

    def forward(self, x: Any) -> Node:
        return T.linear(x, self.w, self.b)

    def extra_repr(self) -> str:
        return f"{self.n_in} → {self.n_out}"


class Activation(Module):
    """An elementwise function as a module (it has no parameters)."""

    fn: Callable[[Any], Node]

    def forward(self, x: Any) -> Node:
        return type(self).fn(x)


class ReLU(Activation):
    fn = staticmethod(relu)


class Tanh(Activation):
    fn = staticmethod(tanh)


class Sigmoid(Activation):
    fn = staticmethod(sigmoid)


class GELU(Activation):
    fn = staticmethod(T.gelu)


class LeakyReLU(Module):
    def __init__(self, slope: float = 0.01, name: str = "") -> None:
        super().__init__(name)
        self.slope = slope

    def forward(self, x: Any) -> Node:
        return T.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Softmax(Module):
    def __init__(self, axis: int = -1, name: str = "") -> None:
        super().__init__(name)
        self.axis = axis

    def forward(self, x: Any) -> Node:
        return T.softmax(x, self.axis)


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
}


class Sequential(Module):
    """Modules applied one after the other; children are named "0", "1", ... unless given."""

    def __init__(
        self, *modules: Module, names: Sequence[str] | None = None, name: str = ""
    ) -> None:
        super().__init__(name)
        if names is not None and len(names) != len(modules):
            raise ValueInputError("give one name per module")
        keys = list(names) if names is not None else [str(i) for i in range(len(modules))]
        self._order: list[str] = []
        for k, m in zip(keys, modules):
            setattr(self, k, m)
            self._order.append(k)

    def forward(self, x: Any) -> Any:
        for k in self._order:
            x = self._modules[k](x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self._modules[self._order[i]]

    def __len__(self) -> int:
        return len(self._order)


class MLP(Sequential):
    """Linear layers with an activation between them (none after the last layer).

    ``MLP(2, [16, 16, 1])`` has children layer1, act1, layer2, act2, layer3, so its nodes are
    named ``layer1.w``, ``layer1.out``, ``act1.out``, ..."""

    def __init__(
        self,
        n_in: int,
        sizes: Sequence[int],
        *,
        activation: str = "relu",
        init: str | None = None,
        dtype: Any = np.float64,
        rng: np.random.Generator | None = None,
        name: str = "",
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueInputError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        rng = rng if rng is not None else np.random.default_rng()
        init = init or ("he" if activation in ("relu", "leaky_relu", "gelu") else "xavier")
        modules: list[Module] = []
        names: list[str] = []
        dims = [n_in, *sizes]
        for i in range(len(sizes)):
            modules.append(Linear(dims[i], dims[i + 1], init=init, dtype=dtype, rng=rng))
            names.append(f"layer{i + 1}")
            if i < len(sizes) - 1:
                modules.append(ACTIVATIONS[activation]())
                names.append(f"act{i + 1}")
        super().__init__(*modules, names=names, name=name)
