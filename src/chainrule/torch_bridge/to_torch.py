"""``to_torch``: a chainrule network or graph as a ``torch.nn.Module``, to go on in PyTorch.

A network of ``chainrule.nn`` layers becomes the same layers in PyTorch, parameters copied and
named as in chainrule (``layer1.weight`` of shape (out, in) and ``layer1.bias``, PyTorch's own
layout). Any graph becomes a ``GraphModule`` that replays the graph's ops with PyTorch's
functions (each op's ``Op.torch`` form, declared beside its rules): its leaves are parameters
(or, for the names given as ``inputs``, the forward's arguments) and its constants are buffers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .. import nn
from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.node import Node
from ..ops import Op
from ..ops.table import Torch
from .opaque import to_tensor


def torch_form(op: Op) -> Torch | None:
    """The op's PyTorch form, declared on the op (``Op.torch``); None when it has none."""
    return op.torch if isinstance(op.torch, Torch) else None


class GraphModule(torch.nn.Module):
    """A chainrule graph replayed with PyTorch's functions; leaves are parameters."""

    def __init__(self, graph: Graph, inputs: Sequence[str] = ()) -> None:
        super().__init__()
        missing = [
            op.name for op in {n.op for n in graph.nodes if n.args} if torch_form(op) is None
        ]
        if missing:
            raise ValueInputError(f"to_torch has no PyTorch form for: {', '.join(sorted(missing))}")
        self._graph_nodes = graph.nodes
        # a program's graph keeps its other named nodes beside the output only for their names
        # (L = ... is the output; x, W1, h are not returned); a model's graph returns them all
        outputs = graph.outputs if graph.text is None else graph.outputs[:1]
        self._outputs = [graph.index(o) for o in outputs]
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
            form = torch_form(n.op)
            assert form is not None  # checked when the module was made
            values.append(form.call(torch, xs, dict(n.params or {})))
        outs = [values[k] for k in self._outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)


class Sequential(torch.nn.Sequential):
    """A ``torch.nn.Sequential`` (``tm[0]``, ``len(tm)``, slicing, ``isinstance`` all work) whose
    children keep the names they had in chainrule (``layer1``, ``act1``; ``0``, ``1``)."""


def _module(m: Any) -> torch.nn.Module:
    """The PyTorch module of ``m``, in ``m``'s own train or eval mode: each module has its own
    (``net.train(); net[1].eval()``), so it is copied module by module, not with ``.eval()``."""
    out = _layer(m)
    out.training = bool(getattr(m, "training", True))
    return out


def _layer(m: Any) -> torch.nn.Module:
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
        return Sequential(OrderedDict((key, _module(m._modules[key])) for key in m._order))
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
    if isinstance(m, nn.Dropout):
        return torch.nn.Dropout(m.p)
    if isinstance(m, nn.LayerNorm):
        ln = torch.nn.LayerNorm(
            m.normalized_shape,
            eps=m.eps,
            elementwise_affine=m.weight is not None,
            bias=m.bias is not None,
            dtype=to_tensor(m.weight.value).dtype if m.weight is not None else None,
        )
        with torch.no_grad():
            if m.weight is not None:
                ln.weight.copy_(to_tensor(m.weight.value))
            if m.bias is not None:
                ln.bias.copy_(to_tensor(m.bias.value))
        return ln
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
