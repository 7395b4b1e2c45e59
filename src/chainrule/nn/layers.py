"""Layers: Linear, activations as modules, Sequential and MLP."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import tensor as T
from ..core.errors import ValueInputError
from ..core.node import Node
from ..functions import relu, sigmoid, tanh
from .functional import gelu
from .init import INITS
from .init import generator as _generator
from .module import Module, parameter


class Linear(Module):
    """y = x @ weightᵀ + bias, in PyTorch's layout: ``weight`` of shape (out_features,
    in_features), ``bias`` of shape (out_features,), both drawn from U(−1/√in, 1/√in) as
    ``torch.nn.Linear`` initialises them (``init='torch'``).

    ``init='lecun' | 'he' | 'xavier'`` draw the weight with that scale and start the bias at
    zero; ``dtype`` defaults to float64 (PyTorch's default is float32); ``rng`` makes the draw
    repeatable. The old names ``w`` (which had shape (in, out)) and ``b`` still read, with a
    DeprecationWarning."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str = "torch",
        dtype: Any = np.float64,
        rng: np.random.Generator | None = None,
        name: str = "",
    ) -> None:
        super().__init__(name)
        if init != "torch" and init not in INITS:
            raise ValueInputError(f"unknown init {init!r}; choose one of torch, {', '.join(INITS)}")
        if in_features < 0 or out_features < 0:
            raise ValueInputError("a Linear layer needs non-negative sizes")
        rng = _generator(rng)
        dtype = np.float64 if dtype is None else dtype
        self.in_features, self.out_features = in_features, out_features
        if init == "torch":
            bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
            weight = rng.uniform(-bound, bound, size=(out_features, in_features))
            b = rng.uniform(-bound, bound, size=out_features) if bias else None
        else:
            # the scale is read from the (in, out) layout, where the fan-in comes first
            weight = INITS[init]((in_features, out_features), rng, dtype).T
            b = np.zeros(out_features) if bias else None
        # stored column-major: weightᵀ, the matrix the forward multiplies by, is then a
        # row-major (in, out) array, which BLAS multiplies faster than a transposed one, and the
        # gradient (the transpose of xᵀ·g) comes back in the weight's own layout
        self.weight = parameter(np.asfortranarray(weight), dtype=dtype)
        self.bias: Node | None = parameter(b, dtype=dtype) if b is not None else None

    def forward(self, x: Any) -> Node:
        return T.linear(x, self.weight, self.bias, transpose_w=True)

    @property
    def n_in(self) -> int:
        return self.in_features

    @property
    def n_out(self) -> int:
        return self.out_features

    @property
    def w(self) -> Node:
        """Deprecated: ``weight.T`` (shape (in, out), a new node each time)."""
        warnings.warn(
            "Linear.w is deprecated: use Linear.weight, of shape (out_features, "
            "in_features); w is weight.T",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.weight.T

    @property
    def b(self) -> Node | None:
        """Deprecated: ``bias``."""
        warnings.warn("Linear.b is deprecated: use Linear.bias", DeprecationWarning, stacklevel=2)
        return self.bias

    def extra_repr(self) -> str:
        return f"{self.in_features} → {self.out_features}"


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


class GELU(Module):
    """GELU as ``torch.nn.GELU``: exact (``approximate='none'``, through erf) by default, or
    the tanh approximation."""

    def __init__(self, approximate: str = "none", name: str = "") -> None:
        super().__init__(name)
        if approximate not in ("none", "tanh"):
            raise ValueInputError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Node:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    def __init__(
        self, negative_slope: float = 0.01, name: str = "", *, slope: float | None = None
    ) -> None:
        super().__init__(name)
        self.slope = negative_slope if slope is None else slope

    def forward(self, x: Any) -> Node:
        return T.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Softmax(Module):
    def __init__(self, dim: int = -1, name: str = "", *, axis: int | None = None) -> None:
        super().__init__(name)
        self.axis = dim if axis is None else axis

    def forward(self, x: Any) -> Node:
        return T.softmax(x, self.axis)


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x


class Dropout(Module):
    """``torch.nn.Dropout``: in training, each element is zeroed with probability ``p`` and
    the rest scaled by 1/(1 − p) (the 0/1 mask, drawn from ``rng``, is a constant input of the
    graph); after ``eval()`` the input passes through unchanged, as PyTorch's does."""

    def __init__(
        self, p: float = 0.5, *, rng: np.random.Generator | None = None, name: str = ""
    ) -> None:
        super().__init__(name)
        if not 0 <= p < 1:
            raise ValueInputError(f"dropout probability has to be from 0 up to 1 (not 1), got {p}")
        self.p = p
        self._rng = _generator(rng)

    def forward(self, x: Any) -> Any:
        if not self.training or self.p == 0:
            return x
        # the module's generator, looked up at each draw (a compiled step draws each call)
        return T._dropout_from(x, self.p, True, self._generator)

    def _generator(self) -> np.random.Generator:
        return self._rng

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm(Module):
    """``torch.nn.LayerNorm``: normalise over the trailing axes ``normalized_shape``, then
    scale by ``weight`` (ones) and shift by ``bias`` (zeros), both trainable unless
    ``elementwise_affine=False``."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: Any = np.float64,
        name: str = "",
    ) -> None:
        super().__init__(name)
        shape = (
            (int(normalized_shape),)
            if isinstance(normalized_shape, (int, np.integer))
            else tuple(int(k) for k in normalized_shape)
        )
        if not shape or any(k <= 0 for k in shape):
            raise ValueInputError(f"LayerNorm needs positive sizes, got {normalized_shape}")
        self.normalized_shape, self.eps = shape, float(eps)
        self.elementwise_affine = elementwise_affine
        self.weight: Node | None = None
        self.bias: Node | None = None
        if elementwise_affine:
            self.weight = parameter(np.ones(shape), dtype=dtype)
            if bias:
                self.bias = parameter(np.zeros(shape), dtype=dtype)

    def forward(self, x: Any) -> Node:
        return T.layer_norm(
            x, self.weight, self.bias, dims=len(self.normalized_shape), eps=self.eps
        )

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


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
        rng = _generator(rng)
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
