"""``to_torch``: a chainrule network or graph as a ``torch.nn.Module``, to go on in PyTorch.

A network of ``chainrule.nn`` layers becomes the same layers in PyTorch, parameters copied and
named as in chainrule (``layer1.weight`` of shape (out, in) and ``layer1.bias``, PyTorch's own
layout). Any graph becomes a ``GraphModule`` that replays the graph's ops with
PyTorch's functions (``TORCH_OPS``, one entry per op of the table): its leaves are parameters
(or, for the names given as ``inputs``, the forward's arguments) and its constants are buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.node import Node
from .opaque import to_tensor

TorchOp = Callable[[list[torch.Tensor], dict[str, Any]], torch.Tensor]


def _axes(axis: Any, nd: int) -> Any:
    if axis is None:
        return tuple(range(nd))
    return tuple(axis) if isinstance(axis, tuple) else (axis,)


def _reduce(fn: Callable[..., torch.Tensor]) -> TorchOp:
    def op(x: list[torch.Tensor], p: dict[str, Any]) -> torch.Tensor:
        a = x[0]
        if a.dim() == 0:
            return a
        return fn(a, dim=_axes(p["axis"], a.dim()), keepdim=p["keepdims"])

    return op


def _sum_to(a: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    lead = a.dim() - len(shape)
    dims = list(range(lead)) + [
        lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1
    ]
    return a.sum(dim=dims, keepdim=True).reshape(tuple(shape)) if dims else a.reshape(shape)


def _index(a: torch.Tensor, index: Any) -> torch.Tensor:
    def conv(i: Any) -> Any:
        return torch.as_tensor(i, dtype=torch.long) if isinstance(i, np.ndarray) else i

    return a[tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)]


def _scatter(x: list[torch.Tensor], p: dict[str, Any]) -> torch.Tensor:
    """Zeros with ``a`` added at ``index`` (repeats add up): the transpose of indexing, taken as
    the vjp of indexing so that it stays differentiable."""
    a = x[0]
    with torch.enable_grad():
        z = torch.zeros(p["shape"], dtype=a.dtype, device=a.device, requires_grad=True)
        (out,) = torch.autograd.grad(_index(z, p["index"]), z, a, create_graph=True)
    return out


def _xent(x: list[torch.Tensor], p: dict[str, Any]) -> torch.Tensor:
    z, t = x
    rows = max(z.numel() // z.shape[-1], 1)
    if t.shape == z.shape:
        return -(t * F.log_softmax(z, -1)).sum() / rows
    return F.cross_entropy(z.reshape(-1, z.shape[-1]), t.reshape(-1).long())


def _bce(x: list[torch.Tensor], p: dict[str, Any]) -> torch.Tensor:
    a, y = x
    return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).mean()


def _batch_norm(x: list[torch.Tensor], p: dict[str, Any]) -> torch.Tensor:
    a, mean, var, w, b = x
    if p["training"]:
        return F.batch_norm(a, None, None, w, b, training=True, eps=p["eps"])
    return F.batch_norm(a, mean, var, w, b, training=False, eps=p["eps"])


def _pool(p: dict[str, Any]) -> tuple[Any, Any]:
    return p["kernel"], p["stride"] or p["kernel"]


TORCH_OPS: dict[str, TorchOp] = {
    "add": lambda x, p: x[0] + x[1],
    "sub": lambda x, p: x[0] - x[1],
    "mul": lambda x, p: x[0] * x[1],
    "div": lambda x, p: x[0] / x[1],
    "neg": lambda x, p: -x[0],
    "pow": lambda x, p: x[0] ** x[1],
    "exp": lambda x, p: torch.exp(x[0]),
    "erf": lambda x, p: torch.erf(x[0]),
    "log": lambda x, p: torch.log(x[0]),
    "sqrt": lambda x, p: torch.sqrt(x[0]),
    "sin": lambda x, p: torch.sin(x[0]),
    "cos": lambda x, p: torch.cos(x[0]),
    "tanh": lambda x, p: torch.tanh(x[0]),
    "atan": lambda x, p: torch.atan(x[0]),
    "sigmoid": lambda x, p: torch.sigmoid(x[0]),
    "relu": lambda x, p: torch.relu(x[0]),
    "abs": lambda x, p: torch.abs(x[0]),
    "softplus": lambda x, p: F.softplus(x[0]),
    "step": lambda x, p: (x[0] > 0).to(x[0].dtype),
    "sign": lambda x, p: torch.sign(x[0]).detach(),
    "ge": lambda x, p: (x[0] >= x[1]).to(x[0].dtype),
    "maximum": lambda x, p: torch.maximum(x[0], x[1]),
    "minimum": lambda x, p: torch.minimum(x[0], x[1]),
    "sum": _reduce(torch.sum),
    "mean": _reduce(torch.mean),
    "reduce_max": _reduce(torch.amax),
    "dot": lambda x, p: (x[0] * x[1]).sum(),
    "matmul": lambda x, p: torch.matmul(x[0], x[1]),
    "transpose": lambda x, p: x[0].permute(*reversed(range(x[0].dim()))),
    "permute": lambda x, p: x[0].permute(
        *(p["axes"] if p["axes"] is not None else reversed(range(x[0].dim())))
    ),
    "reshape": lambda x, p: x[0].reshape(p["shape"]),
    "broadcast_to": lambda x, p: x[0].expand(p["shape"]),
    "sum_to": lambda x, p: _sum_to(x[0], p["shape"]),
    "index": lambda x, p: _index(x[0], p["index"]),
    "scatter": _scatter,
    "stack": lambda x, p: torch.stack(x, dim=p["axis"]),
    "concat": lambda x, p: torch.cat(x, dim=p["axis"]),
    "softmax": lambda x, p: F.softmax(x[0], dim=p["axis"]),
    "log_softmax": lambda x, p: F.log_softmax(x[0], dim=p["axis"]),
    "one_hot": lambda x, p: F.one_hot(x[0].long(), p["classes"]).to(torch.get_default_dtype()),
    "softmax_cross_entropy": _xent,
    "bce_with_logits": lambda x, p: F.binary_cross_entropy_with_logits(x[0], x[1]),
    "hinge": lambda x, p: torch.clamp(1 - x[1] * x[0], min=0).mean(),
    "mse": lambda x, p: ((x[0] - x[1]) ** 2).mean(),
    "bce": _bce,
    "linear": lambda x, p: x[0] @ (x[1].T if p["transpose_w"] else x[1]) + x[2],
    "sum_squares": lambda x, p: torch.stack([(a * a).sum() for a in x]).sum(),
    "leaky_relu": lambda x, p: F.leaky_relu(x[0], p["slope"]),
    "gelu": lambda x, p: F.gelu(x[0], approximate="tanh"),
    "unfold": lambda x, p: F.unfold(
        x[0], p["kernel"], dilation=p["dilation"], padding=p["padding"], stride=p["stride"]
    ),
    "fold": lambda x, p: F.fold(
        x[0],
        p["shape"][2:],
        p["kernel"],
        dilation=p["dilation"],
        padding=p["padding"],
        stride=p["stride"],
    ),
    "conv2d": lambda x, p: F.conv2d(
        x[0], x[1], x[2], stride=p["stride"], padding=p["padding"], dilation=p["dilation"]
    ),
    "max_pool2d": lambda x, p: F.max_pool2d(x[0], *_pool(p)),
    "avg_pool2d": lambda x, p: F.avg_pool2d(x[0], *_pool(p), padding=p["padding"]),
    "layer_norm": lambda x, p: F.layer_norm(
        x[0], tuple(x[0].shape[x[0].dim() - p["dims"] :]), x[1], x[2], p["eps"]
    ),
    "batch_norm": _batch_norm,
    "embedding": lambda x, p: F.embedding(x[1].long(), x[0]),
    "dropout": lambda x, p: x[0] * x[1] / (1 - p["p"]) if p["training"] else x[0],
    "torch_opaque": lambda x, p: p["fn"].fn(*x),
}


class GraphModule(torch.nn.Module):
    """A chainrule graph replayed with PyTorch's functions; leaves are parameters."""

    def __init__(self, graph: Graph, inputs: Sequence[str] = ()) -> None:
        super().__init__()
        missing = [op for op in {n.op.name for n in graph.nodes if n.args} if op not in TORCH_OPS]
        if missing:
            raise ValueInputError(f"to_torch has no PyTorch form for: {', '.join(sorted(missing))}")
        self._graph_nodes = graph.nodes
        self._outputs = [graph.index(o) for o in graph.outputs]
        self._inputs = list(inputs)
        self.input_names = tuple(inputs)  # from_torch names the forward's arguments by these
        self._slots: dict[int, str] = {}
        names = {n.name: n for n in graph.nodes if n.name and not n.args}
        unknown = [k for k in self._inputs if k not in names]
        if unknown:
            raise ValueInputError(f"to_torch: no leaf is named {', '.join(unknown)}")
        for k, n in enumerate(graph.nodes):
            if n.args or (n.name in self._inputs):
                continue
            if isinstance(n.value, np.ndarray) and n.value.dtype == object:
                raise ValueInputError("to_torch needs float values: the graph is exact")
            t = to_tensor(n.value)
            path = n.name or f"_const{k}"
            owner, leaf = self._owner(path)
            if n.op.name == "input":
                owner.register_parameter(leaf, torch.nn.Parameter(t))
            else:
                owner.register_buffer(leaf, t)
            self._slots[k] = path

    def _owner(self, path: str) -> tuple[torch.nn.Module, str]:
        """The submodule that holds ``a.b.c`` as ``c`` (created on the way), so names are kept."""
        parts = path.split(".")
        if any(not p for p in parts):
            parts = [path.replace(".", "_")]
        owner: torch.nn.Module = self
        for p in parts[:-1]:
            child = owner._modules.get(p)
            if child is None:
                child = torch.nn.Module()
                owner.add_module(p, child)
            owner = child
        return owner, parts[-1]

    def _get(self, path: str) -> torch.Tensor:
        owner, leaf = self._owner(path)
        return getattr(owner, leaf)  # type: ignore[no-any-return]

    def forward(self, *args: torch.Tensor) -> Any:
        if len(args) != len(self._inputs):
            raise TypeError(f"expected {len(self._inputs)} inputs ({', '.join(self._inputs)})")
        given = dict(zip(self._inputs, args, strict=True))
        values: list[Any] = []
        index = {n: k for k, n in enumerate(self._graph_nodes)}
        for k, n in enumerate(self._graph_nodes):
            if not n.args:
                values.append(given[n.name] if n.name in given else self._get(self._slots[k]))
                continue
            xs = [values[index[a]] for a in n.args]
            values.append(TORCH_OPS[n.op.name](xs, dict(n.params or {})))
        outs = [values[k] for k in self._outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)


class Sequential(torch.nn.Module):
    """Children applied in order, under the names they had in chainrule."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for m in self._modules.values():
            assert m is not None
            x = m(x)
        return x


def _module(m: Any) -> torch.nn.Module:
    from .. import nn

    if isinstance(m, nn.Linear):  # the same layout as PyTorch's: weight (out, in), bias
        weight = to_tensor(m.weight.value)
        layer = torch.nn.Linear(
            m.in_features, m.out_features, bias=m.bias is not None, dtype=weight.dtype
        )
        with torch.no_grad():
            layer.weight.copy_(weight)
            if m.bias is not None:
                layer.bias.copy_(to_tensor(m.bias.value))
        return layer
    if isinstance(m, nn.Sequential):
        out = Sequential()
        for key in m._order:
            out.add_module(key, _module(m._modules[key]))
        return out
    simple: dict[type, Callable[[], torch.nn.Module]] = {
        nn.ReLU: torch.nn.ReLU,
        nn.Tanh: torch.nn.Tanh,
        nn.Sigmoid: torch.nn.Sigmoid,
        nn.Identity: torch.nn.Identity,
    }
    if type(m) in simple:
        return simple[type(m)]()
    if isinstance(m, nn.GELU):
        return torch.nn.GELU(approximate=m.approximate)
    if isinstance(m, nn.LeakyReLU):
        return torch.nn.LeakyReLU(m.slope)
    if isinstance(m, nn.Softmax):
        return torch.nn.Softmax(dim=m.axis)
    raise ValueInputError(
        f"to_torch cannot convert a {type(m).__name__} module; convert the graph of its "
        "output instead: to_torch(cr.Graph(loss), inputs=[...])"
    )


def to_torch(
    module_or_graph: Any,
    *,
    inputs: Sequence[str] = (),
    device: Any = None,
    dtype: Any = None,
) -> torch.nn.Module:
    """A ``torch.nn.Module`` computing what the chainrule network or graph computes.

    A ``chainrule.nn`` network becomes the same layers (parameters copied, names kept). A
    ``Graph`` (or a node, taken as its graph's output) becomes a ``GraphModule`` whose leaves
    are parameters, except the leaves named in ``inputs``, which are the forward's arguments in
    that order. ``device`` and ``dtype`` are applied as ``Module.to`` applies them."""
    from .. import nn

    if isinstance(module_or_graph, nn.Module):
        out = _module(module_or_graph)
    elif isinstance(module_or_graph, (Graph, Node)):
        g = module_or_graph if isinstance(module_or_graph, Graph) else Graph(module_or_graph)
        out = GraphModule(g, inputs)
    else:
        raise ValueInputError(
            f"to_torch needs a chainrule.nn module or a Graph, got {type(module_or_graph).__name__}"
        )
    if device is not None or dtype is not None:
        out = out.to(device=device, dtype=dtype)
    return out
