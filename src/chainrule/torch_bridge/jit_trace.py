"""A fast path to the graph ``torch.export`` would give, for models whose ops allow it.

``torch.export`` imports ``torch._dynamo`` (with sympy and parts of inductor) on first use: as
much CPU time as ``import torch`` itself, before it traces anything; ``make_fx`` imports it
too. ``torch.jit.trace`` needs none of that, and records the same pre-autograd ATen calls as
export's training IR for the common layers (``linear``, ``tanh``, ``cross_entropy_loss`` ...),
each call with the module it ran in. ``program`` turns such a trace into an object the converter
reads as it reads an ``ExportedProgram`` (graph, graph signature, state dict, constants).

It answers None, and the caller exports, whenever the trace may differ from export's graph: a
call outside ``SAME_AS_EXPORT``, a tensor constant, a size read from a tensor, any warning of
the tracer (Python control flow on values, iteration over a tensor), keyword inputs, a
parameter shared by two modules. tests/test_torch_fast_path.py converts every model of the zoo
and of the bridge's tests both ways and compares names, ops, values and gradients.
"""

from __future__ import annotations

import linecache
import operator
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.export.graph_signature import InputKind, OutputKind

#: the ATen calls torch.jit.trace records as export's training IR does (same op, same overload,
#: the same arguments up to defaults written out); ``_convolution`` is read as ``conv2d``
SAME_AS_EXPORT = frozenset(
    {
        "aten::linear",
        "aten::tanh",
        "aten::sigmoid",
        "aten::relu",
        "aten::relu_",
        "aten::leaky_relu",
        "aten::leaky_relu_",
        "aten::gelu",
        "aten::softmax",
        "aten::log_softmax",
        "aten::cross_entropy_loss",
        "aten::mse_loss",
        "aten::add",
        "aten::add_",
        "aten::sub",
        "aten::sub_",
        "aten::mul",
        "aten::mul_",
        "aten::div",
        "aten::div_",
        "aten::pow",
        "aten::neg",
        "aten::exp",
        "aten::log",
        "aten::sum",
        "aten::mean",
        "aten::matmul",
        "aten::flatten",
        "aten::batch_norm",
        "aten::layer_norm",
        "aten::max_pool2d",
        "aten::dropout",
        "aten::transpose",
        "aten::broadcast_tensors",
        "aten::cumsum",
        "aten::split",
    }
)
_STRUCTURE = frozenset(
    {"prim::Constant", "prim::GetAttr", "prim::ListConstruct", "prim::TupleConstruct"}
)
#: calls whose result may share memory with their input: an in-place call on it would change
#: the input too, which the converter does not follow (export is asked instead)
_VIEWS = frozenset({"transpose", "flatten", "broadcast_tensors", "dropout", "split"})
_UNPACK = frozenset({"prim::ListUnpack", "prim::TupleUnpack"})
_DTYPES = {
    "Float": torch.float32,
    "Double": torch.float64,
    "Half": torch.float16,
    "BFloat16": torch.bfloat16,
    "Long": torch.int64,
    "Int": torch.int32,
    "Short": torch.int16,
    "Char": torch.int8,
    "Byte": torch.uint8,
    "Bool": torch.bool,
}


class _Unsure(Exception):
    """The trace may not be export's graph: the caller exports instead."""


@dataclass
class _Spec:
    kind: Any
    target: str | None


@dataclass
class _Signature:
    input_specs: list[_Spec] = field(default_factory=list)
    output_specs: list[_Spec] = field(default_factory=list)


@dataclass
class Program:
    """What the converter reads of an ``ExportedProgram``."""

    graph: torch.fx.Graph
    graph_signature: _Signature
    state_dict: dict[str, torch.Tensor]
    constants: dict[str, Any] = field(default_factory=dict)


def program(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The export-equivalent program of ``module(*args)`` traced by torch.jit, or None."""
    if kwargs or not all(isinstance(a, torch.Tensor) for a in args):
        return None
    try:
        return _Reader(module, args).read()
    except _Unsure:
        return None
    except Exception:  # noqa: BLE001 - any other failure of the fast path: export decides
        return None


class _Reader:
    def __init__(self, module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self.module = module
        self.args = args
        self.graph = torch.fx.Graph()
        self.env: dict[Any, Any] = {}  # TorchScript value -> fx node or Python value
        self.owned: set[Any] = set()  # fx nodes an op made whole (not a view, input or leaf)
        self.paths: dict[Any, str] = {}  # TorchScript value of a module or tensor attribute
        self.group: dict[Any, Any] = {}  # an in-place call's result -> the tensor it changed
        self.viewed: set[Any] = set()  # tensors a view was taken of (their in-place results too)

    def trace(self) -> Any:
        module = self.module
        # the trace runs the model on real tensors (export runs it on fake ones): what the run
        # changes in place (batch norm's statistics, an in-place call on an input or a
        # parameter) is put back, and the inputs it gets are copies
        state = list(module.named_parameters()) + list(module.named_buffers())
        saved = [(t, t.detach().clone()) for _, t in state]
        args = tuple(a.detach().clone().requires_grad_(a.requires_grad) for a in self.args)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with torch.random.fork_rng():  # the run draws no random number the user sees
                    traced = torch.jit.trace(module, args, check_trace=False, strict=False)
        finally:
            with torch.no_grad():
                for t, copy in saved:
                    if not torch.equal(t, copy):
                        t.copy_(copy)
        for w in caught:
            if issubclass(w.category, torch.jit.TracerWarning) and not _compares_sizes(w):
                raise _Unsure(str(w.message))
        return traced.inlined_graph

    def read(self) -> Program:
        ts = self.trace()
        params = list(self.module.named_parameters(remove_duplicate=False))
        if len({id(p) for _, p in params}) != len(params):
            raise _Unsure("a parameter shared by two modules")
        buffers = list(self.module.named_buffers(remove_duplicate=False))
        sig = _Signature()
        state: dict[str, torch.Tensor] = {}
        by_path: dict[str, Any] = {}
        for name, p in params:
            by_path[name] = self.graph.placeholder("p_" + name.replace(".", "_"))
            sig.input_specs.append(_Spec(InputKind.PARAMETER, name))
            state[name] = p
        for name, b in buffers:
            by_path[name] = self.graph.placeholder("b_" + name.replace(".", "_"))
            sig.input_specs.append(_Spec(InputKind.BUFFER, name))
            state[name] = b
        inputs = list(ts.inputs())
        if len(inputs) != len(self.args) + 1:
            raise _Unsure("inputs")
        self.paths[inputs[0]] = ""
        for value in inputs[1:]:
            node = self.graph.placeholder(value.debugName().split(".")[0])
            node.meta["val"] = _meta(value)
            sig.input_specs.append(_Spec(InputKind.USER_INPUT, None))
            self.env[value] = node
        for n in ts.nodes():
            self.step(n, by_path)
        outputs = list(ts.outputs())
        if len(outputs) != 1:
            raise _Unsure("outputs")
        result = self.env[outputs[0]]
        results = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if not all(isinstance(r, torch.fx.Node) for r in results):
            raise _Unsure("an output that is not a tensor")
        self.graph.output(results)
        sig.output_specs = [_Spec(OutputKind.USER_OUTPUT, None) for _ in results]
        return Program(self.graph, sig, state)

    def step(self, n: Any, by_path: dict[str, Any]) -> None:
        kind = n.kind()
        if kind == "prim::GetAttr":
            owner = self.paths.get(n.input())
            if owner is None:
                raise _Unsure("an attribute of something other than a module")
            path = f"{owner}.{n.s('name')}" if owner else n.s("name")
            if path in by_path:
                self.env[n.output()] = by_path[path]
            elif isinstance(_attribute(self.module, path), torch.nn.Module):
                self.paths[n.output()] = path
            else:
                raise _Unsure(f"a tensor attribute that is neither parameter nor buffer: {path}")
            return
        if kind == "prim::Constant":
            value = n.output().toIValue()
            if isinstance(value, torch.Tensor) or not isinstance(
                value, (int, float, bool, str, type(None))
            ):
                raise _Unsure("a constant that is not a number")
            self.env[n.output()] = value
            return
        if kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            items = [self.env[v] for v in n.inputs()]
            self.env[n.output()] = items if kind == "prim::ListConstruct" else tuple(items)
            return
        if kind in _UNPACK:
            seq = self.env[n.input()]
            if not isinstance(seq, torch.fx.Node) or seq.meta.get("val") != []:
                raise _Unsure("an unpacking of something other than a call's list")
            for k, out in enumerate(n.outputs()):
                item = self.graph.call_function(operator.getitem, (seq, k))
                item.meta["val"] = _meta(out)
                seq.meta["val"].append(item.meta["val"])
                self.env[out] = item
            return
        if kind == "aten::_convolution":
            self.convolution(n)
            return
        if kind not in SAME_AS_EXPORT:
            raise _Unsure(f"{kind} is not known to trace as export does")
        target = _overload(n)
        values = [self.env[v] for v in n.inputs()]
        if target._schema.is_mutable and values and values[0] not in self.owned:
            raise _Unsure("an in-place call on an input, a parameter or a view")
        if target._schema.is_mutable and values and self._group(values[0]) in self.viewed:
            # a view of it taken before would see the write: the converter follows shared
            # memory through export's fake tensors, which this trace does not have
            raise _Unsure("an in-place call on a tensor a view was taken of")
        self.call(n, target, values)

    def call(self, n: Any, target: Any, values: list[Any]) -> None:
        schema = target._schema
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for arg, value in zip(schema.arguments, values, strict=True):
            if str(arg.type) in ("ScalarType", "Optional[ScalarType]") and value is not None:
                raise _Unsure("a dtype argument")
            if arg.kwarg_only:
                if not (arg.has_default_value() and value == arg.default_value):
                    kwargs[arg.name] = value
            else:
                args.append(value)
        # export omits trailing positional arguments left at their default
        positional = [a for a in schema.arguments if not a.kwarg_only]
        while args and positional[len(args) - 1].has_default_value():
            default = positional[len(args) - 1].default_value
            last = args[-1]
            if isinstance(last, torch.fx.Node) or not _equal(last, default):
                break
            args.pop()
        # named as export names its nodes: the op's name, numbered when taken (relu, relu_1)
        node = self.graph.create_node(
            "call_function", target, tuple(args), kwargs, name=target.__name__.split(".")[0]
        )
        outs = list(n.outputs())
        if len(outs) != 1:
            raise _Unsure("a call with several outputs")
        # a list of tensors (split): its items' types come with the unpacking that follows
        listed = isinstance(outs[0].type(), torch._C.ListType)
        node.meta["val"] = [] if listed else _meta(outs[0])
        scope = n.scopeName()
        if scope:
            path = scope.split("/")[-1].removeprefix("__module.")
            node.meta["nn_module_stack"] = {path: (path, "")}
        self.env[outs[0]] = node
        if schema.is_mutable and args and isinstance(args[0], torch.fx.Node):
            self.group[node] = self._group(args[0])
        if target.__name__.split(".")[0] not in _VIEWS:
            self.owned.add(node)
        else:
            for value in values:
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(item, torch.fx.Node):
                        self.viewed.add(self._group(item))

    def _group(self, node: Any) -> Any:
        """The tensor an in-place call's result is (itself for any other node)."""
        return self.group.get(node, node)

    def convolution(self, n: Any) -> None:
        """``aten._convolution`` of an ``nn.Conv2d`` (zero padding given as numbers) is the
        ``aten.conv2d`` export records; any other convolution: export."""
        scope = n.scopeName()
        path = scope.split("/")[-1].removeprefix("__module.") if scope else ""
        conv = _attribute(self.module, path) if path else None
        values = [self.env[v] for v in n.inputs()]
        if (
            not isinstance(conv, torch.nn.Conv2d)
            or isinstance(conv.padding, str)
            or conv.padding_mode != "zeros"
            or values[6]  # transposed
        ):
            raise _Unsure("a convolution export may record otherwise")
        x, w, b, stride, padding, dilation = values[:6]
        groups = values[8]
        self.call(
            n,
            torch.ops.aten.conv2d.default,
            [x, w, b, stride, padding, dilation, groups],
        )


_SIZES = re.compile(r"\bif \w+\.size\(\) [!=]= \w+\.size\(\):")


def _compares_sizes(w: warnings.WarningMessage) -> bool:
    """The tracer's warning about a line of torch.nn.functional that compares two tensors'
    sizes (``mse_loss``'s check): its outcome is fixed by the example's shapes, as export's is."""
    if not w.filename.replace("\\", "/").endswith("torch/nn/functional.py"):
        return False
    return bool(_SIZES.search(linecache.getline(w.filename, w.lineno)))


def _overload(n: Any) -> Any:
    schema = torch._C.parse_schema(n.schema())
    packet = getattr(torch.ops.aten, schema.name.split("::")[1])
    return getattr(packet, schema.overload_name or "default")


def _attribute(module: torch.nn.Module, path: str) -> Any:
    obj: Any = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _equal(value: Any, default: Any) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:  # noqa: BLE001 - values that do not compare are not the default
        return False


def _meta(value: Any) -> Any:
    """A tensor of the value's dtype and shape on the meta device (no memory), as export's
    ``meta['val']``: the converter reads dtypes from it."""
    t = value.type()
    if not isinstance(t, torch._C.TensorType):
        return None
    dtype = _DTYPES.get(t.scalarType() or "")
    sizes = t.sizes()
    if dtype is None or sizes is None:
        raise _Unsure("a tensor of unknown type")
    return torch.empty(sizes, dtype=dtype, device="meta")
