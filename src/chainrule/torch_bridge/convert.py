"""``from_torch``: the computation a PyTorch model ran, as a chainrule graph.

The model is traced with ``torch.export`` (not ``torch.fx.symbolic_trace``): export runs the
model's Python on the example inputs and records the ATen ops that ran, so Python control flow,
helper functions and method calls all come out as one small, fixed set of ops; its graph
signature names every parameter and buffer by its module path (``fc1.weight``), and each node
carries the module stack it ran in. ``symbolic_trace`` sees Python-level calls instead (module
calls, functions, tensor methods: a far larger surface) and fails on shape-dependent control flow.

Each ATen call becomes the native chainrule op when ``aten.HANDLERS`` has one; any other call
becomes an opaque node (``torch_opaque``) whose value and vjps PyTorch computes.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import operator
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.export.graph_signature import InputKind, OutputKind

from .. import tensor as T
from ..core.errors import ValueInputError
from ..core.graph import Graph
from ..core.node import Node, apply, const, var
from ..lang.naming import index_path
from ..ops import OPS
from . import jit_trace, placing, untraceable
from .aten import HANDLERS, Decline
from .memory import METADATA_ONLY, Memory, op_name, writes_self, written_arguments
from .opaque import TorchFunction, to_numpy


class _FunctionModule(torch.nn.Module):
    """A plain function as a module, since torch.export traces modules. The modules the
    function closes over (``lambda x, y: F.cross_entropy(net(x), y)``) are registered under the
    names the function uses, so their parameters are leaves (``net.0.weight``), not constants."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn
        for name, module in seen_modules(fn).items():
            self.add_module(name if name not in ("fn", "forward") else f"{name}_", module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


_HIDDEN_PARAMETER = (
    "from_torch: the function uses {count} tensor(s) that require a gradient (shaped {shapes}) "
    "but are not parameters of a module it names, so torch.export would turn them into "
    "constants and their gradients would be lost. Pass the module itself, or wrap the "
    "computation in one: class Loss(torch.nn.Module): def __init__(self, net): "
    "super().__init__(); self.net = net; def forward(self, x, y): return "
    "F.cross_entropy(self.net(x), y); then cr.from_torch(Loss(net), x, y)"
)


def _refuse_hidden_parameters(module: _FunctionModule, args: tuple[Any, ...], kw: Any) -> None:
    """Run the function once under autograd and follow its ``grad_fn`` graph to the leaves
    that would receive a gradient: each must be an input or a parameter of a module the function
    names (``seen_modules``). A parameter reached another way (``holder.net``, a bare tensor
    with ``requires_grad``) is refused with a message, never silently made a constant."""
    known = {id(p) for p in module.parameters()}
    known.update(id(a) for a in args if isinstance(a, torch.Tensor))
    known.update(id(a) for a in (kw or {}).values() if isinstance(a, torch.Tensor))
    try:
        with torch.random.fork_rng(), torch.enable_grad():  # the run leaves no random draw used
            out = module(*args, **(kw or {}))
    except Exception:  # noqa: BLE001 - export reports the failure in PyTorch's words
        return
    roots: list[Any] = [t.grad_fn for t in _tensors(out) if t.grad_fn is not None]
    hidden: list[torch.Tensor] = []
    seen: set[int] = set()
    while roots:
        fn = roots.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        leaf = getattr(fn, "variable", None)
        if isinstance(leaf, torch.Tensor) and id(leaf) not in known:
            hidden.append(leaf)
        roots.extend(f for f, _ in fn.next_functions)
    if hidden:
        shapes = ", ".join("×".join(map(str, t.shape)) or "scalar" for t in hidden[:4])
        raise ValueInputError(_HIDDEN_PARAMETER.format(count=len(hidden), shapes=shapes))


def _tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []


def seen_modules(fn: Any) -> dict[str, torch.nn.Module]:
    """The ``torch.nn.Module`` objects a function can reach by a name of its own: closed-over
    variables, globals it reads, default arguments and the object of a bound method."""
    found: dict[str, torch.nn.Module] = {}
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, torch.nn.Module):
        found["self"] = owner
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return found
    cells = getattr(fn, "__closure__", None) or ()
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(value, torch.nn.Module):
            found.setdefault(name, value)
    globals_ = getattr(fn, "__globals__", {})
    for name in code.co_names:
        value = globals_.get(name)
        if isinstance(value, torch.nn.Module):
            found.setdefault(name, value)
    for k, value in enumerate(getattr(fn, "__defaults__", None) or ()):
        if isinstance(value, torch.nn.Module):
            found.setdefault(f"default{k}", value)
    return found


def export(fn_or_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``torch.export`` of a module or a function; a model that cannot be traced is one clear
    error naming PyTorch's reason."""
    module = fn_or_module if isinstance(fn_or_module, torch.nn.Module) else None
    if module is None:
        if not callable(fn_or_module):
            got = type(fn_or_module).__name__
            raise ValueInputError(f"from_torch needs a torch.nn.Module or a function, got {got}")
        module = _FunctionModule(fn_or_module)
    for k, a in enumerate(args):
        if not isinstance(a, (torch.Tensor, int, float)):
            raise ValueInputError(
                f"example input {k + 1} is a {type(a).__name__}: give tensors (or numbers)"
            )
    tensors = tuple(torch.tensor(a) if isinstance(a, (int, float)) else a for a in args)
    with quiet_torch():  # a model's own prints are not shown, as export does not show them
        fast = jit_trace.program(module, tensors, kwargs)
    if fast is not None:  # the graph export would give, without loading torch._dynamo
        return fast
    try:
        with quiet_torch():
            ep = torch.export.export(module, tensors, kwargs=kwargs or None, strict=False)
    except Exception as exc:  # noqa: BLE001 - PyTorch raises many kinds; its message says why
        raise ValueInputError(untraceable.message(exc)) from exc
    lifted = any(s.kind == InputKind.CONSTANT_TENSOR for s in ep.graph_signature.input_specs)
    if isinstance(module, _FunctionModule) and lifted:
        _refuse_hidden_parameters(module, tensors, kwargs)
    return ep


def out_of_place(target: Any) -> Any:
    """The out-of-place twin of an in-place ATen call (relu_ → relu, add_.Tensor →
    add.Tensor), or None for any other call. ReLU(inplace=True) and a residual h += x trace as
    in-place calls, which kept as opaque nodes failed in backward ("a leaf Variable that
    requires grad is being used in an in-place operation")."""
    schema = getattr(target, "_schema", None)
    if schema is None or not schema.is_mutable:
        return None
    namespace, _, name = schema.name.partition("::")
    if namespace != "aten" or not name.endswith("_") or name.startswith("_"):
        return None
    packet = getattr(torch.ops.aten, name[:-1], None)
    twin = getattr(packet, getattr(target, "_overloadname", "default"), None)
    twin_schema = getattr(twin, "_schema", None)
    if twin_schema is None or twin_schema.is_mutable:
        return None
    return twin


_TORCH_LOGGERS = ("torch", "torch.fx", "torch._dynamo", "torch.export", "torch._export")


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """PyTorch's logging and warnings silenced while it traces: a model with data-dependent
    control flow printed some 30 lines of PyTorch's log (the graph so far, "Unable to find user
    code") before chainrule's one paragraph, which already names PyTorch's reason."""
    loggers = [logging.getLogger(name) for name in _TORCH_LOGGERS]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL + 1)
        # torch.export also print()s the graph traced so far to stderr when it gives up
        sink = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(sink):
                yield
    finally:
        for lg, level, _, _ in saved:
            lg.setLevel(level)


def from_torch(fn_or_module: Any, *example_inputs: Any, **kwargs: Any) -> Graph:
    """The graph of what ``fn_or_module(*example_inputs, **kwargs)`` computes.

    Parameters are leaves named by their module path (``fc1.weight``), buffers are named
    constants, floating-point inputs are leaves named as the forward's arguments and integer
    inputs (labels, indices) are constants. Every node's value equals PyTorch's; after
    ``graph.backward()`` every leaf's gradient equals ``torch.autograd``'s."""
    ep = export(fn_or_module, tuple(example_inputs), dict(kwargs))
    names = _argument_names(fn_or_module, len(example_inputs)) + list(kwargs)
    return _Converter(ep, tuple(example_inputs), dict(kwargs), names, _tied(fn_or_module)).run()


def _tied(fn_or_module: Any) -> dict[str, list[str]]:
    """Every name of a tensor the model holds under several (tied weights: ``out.weight =
    emb.weight``), each name → all of them, PyTorch's own first (the one ``named_parameters()``
    gives), so the leaf is called as ``model.named_parameters()`` calls it and the other names
    find it too."""
    if isinstance(fn_or_module, torch.nn.Module):
        module = fn_or_module
    elif callable(fn_or_module):
        module = _FunctionModule(fn_or_module)
    else:
        return {}
    groups: dict[int, list[str]] = {}
    held: list[tuple[str, torch.Tensor]] = [*module.named_parameters(remove_duplicate=False)]
    held += module.named_buffers(remove_duplicate=False)
    for name, tensor in held:
        groups.setdefault(id(tensor), []).append(name)
    return {n: g for g in groups.values() if len(g) > 1 for n in g}


def _argument_names(fn: Any, count: int) -> list[str]:
    """The names of the first ``count`` positional parameters (``x``, ``labels``)."""
    given = getattr(fn, "input_names", None)
    if given is not None and len(given) == count:
        return list(given)
    target = fn.forward if isinstance(fn, torch.nn.Module) else fn
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[k] if k < len(names) else f"input{k + 1}" for k in range(count)]


class _Converter:
    def __init__(
        self,
        ep: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        names: list[str],
        tied: dict[str, list[str]] | None = None,
    ) -> None:
        self.ep = ep
        self.tied = tied or {}
        self.aliases: dict[str, Node] = {}
        self.user_values = list(args) + list(kwargs.values())
        self.user_names = names
        self.env: dict[Any, Any] = {}
        self.used_names: set[str] = set()
        self.memory = Memory(list(ep.graph.nodes))
        self.names: dict[Any, str] = {}
        self.state: set[Any] = set()  # placeholders of buffers and constants

    # -------------------------------------------------------------- leaves
    def leaves(self) -> None:
        sig = self.ep.graph_signature
        state = self.ep.state_dict
        constants = getattr(self.ep, "constants", {})
        placeholders = [n for n in self.ep.graph.nodes if n.op == "placeholder"]
        users = iter(zip(self.user_values, self.user_names, strict=True))
        for node, spec in zip(placeholders, sig.input_specs, strict=True):
            if spec.kind == InputKind.PARAMETER:
                self.env[node] = self._held(state[spec.target], spec.target, True)
            elif spec.kind == InputKind.BUFFER:
                value = state[spec.target] if spec.target in state else constants[spec.target]
                self.env[node] = self._held(value, spec.target, False)
                self.state.add(node)
            elif spec.kind == InputKind.CONSTANT_TENSOR:
                self.env[node] = self._leaf(constants[spec.target], spec.target, False)
                self.state.add(node)
            elif spec.kind == InputKind.USER_INPUT:
                value, name = next(users)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = torch.tensor(value)
                if isinstance(value, torch.Tensor):
                    self.env[node] = self._leaf(value, name, value.is_floating_point())
                else:
                    self.env[node] = value
            else:  # a token or custom object: not part of the maths
                self.env[node] = None

    def _held(self, t: Any, target: str, differentiable: bool) -> Node:
        """A parameter or buffer: named by its module path, PyTorch's first name when tied."""
        names = self.tied.get(target, [target])
        leaf = self._leaf(t, index_path(names[0]), differentiable)
        for other in names[1:]:
            self.aliases[index_path(other)] = leaf
        return leaf

    def _leaf(self, t: Any, name: str, differentiable: bool) -> Node:
        self.used_names.add(name)
        value = to_numpy(t)
        return var(value, name) if differentiable else const(value, name)

    # -------------------------------------------------------------- ops
    def run(self) -> Graph:
        self.leaves()
        nodes = list(self.ep.graph.nodes)
        self.names = names = _module_names(nodes)
        modules: dict[Node, str] = {}
        for fx in nodes:
            if fx.op == "placeholder":
                self.memory.made(fx)
            if fx.op != "call_function":
                continue
            out = self.call(fx)
            if isinstance(out, Node) and out.args and out.name is None:
                name = names.get(fx, fx.name)
                if name == fx.name and out_of_place(fx.target) is not None:
                    # h += x ran as add_, now one out-of-place add: add, not add_ (which reads
                    # as PyTorch's in-place method); add__1 is add_1
                    name = re.sub(r"_(?=(_\d+)?$)", "", name)
                out.name = self._unique(name)
            path = _path(fx)
            for made in out if isinstance(out, (list, tuple)) else [out]:
                if isinstance(made, Node) and made.args and path:
                    modules.setdefault(made, path)
            self.env[fx] = out
            self.memory.made(fx)
        outputs = self.outputs(nodes)
        return Graph(outputs, modules=modules, aliases=self.aliases)

    def _unique(self, name: str) -> str:
        base, k = name, 2
        while name in self.used_names:
            name = f"{base}#{k}"
            k += 1
        self.used_names.add(name)
        return name

    def call(self, fx: Any) -> Any:
        target = fx.target
        if target is operator.getitem:
            seq, i = self.env[fx.args[0]], fx.args[1]
            return seq[i]
        args = torch.fx.node.map_arg(fx.args, self.value)
        kwargs = torch.fx.node.map_arg(fx.kwargs, self.value)
        if "val" in fx.meta and fx.meta["val"] is None:
            return None  # a check with no result (_assert_tensor_metadata): not maths
        twin = out_of_place(target)
        if twin is not None and op_name(target) in METADATA_ONLY:
            return self._convert(fx, twin, args, kwargs)  # h.t_(): a new view, no element written
        mutated = fx.args[0] if fx.args else None
        if twin is not None and writes_self(target) and isinstance(mutated, torch.fx.Node):
            # h += x becomes h′ = h + x, and every later reader of h reads h′ (chainrule's
            # nodes never change: the graph shows the new value as a node of its own); a write
            # through a view (h[:, 0] = 0) makes a new value of the tensor the view is part of
            result = self._convert(fx, twin, args, kwargs)
            self._write(mutated, result, fx)
            return result
        self._refuse_lost_write(fx)
        return self._convert(fx, target, args, kwargs)

    # -------------------------------------------------------------- writes through views
    def value(self, fx: Any) -> Any:
        """The value of ``fx`` now: a view read after a write into its memory is taken again."""
        if self.memory.stale(fx):
            self.env[fx] = self._refresh(fx)
            self.memory.made(fx)
        return self.env[fx]

    def _refresh(self, fx: Any) -> Any:
        memory = self.memory
        source = memory.alias.get(fx)
        if source is not None:
            return self.value(source)
        if memory.is_view_call(fx):  # the same view of the written tensor: select, slice ...
            target = fx.target
            twin = out_of_place(target) if op_name(target) in METADATA_ONLY else None
            args = torch.fx.node.map_arg(fx.args, self.value)
            kwargs = torch.fx.node.map_arg(fx.kwargs, self.value)
            made = self._convert(fx, twin or target, args, kwargs)
            if isinstance(made, Node) and made.args and made.name is None:
                made.name = self._unique(self.names.get(fx, fx.name))
            return made
        owner = memory.owner[fx]  # an item of split or unbind: its elements, picked out
        found = memory.index(fx, f"reads {fx.name} after a write into it", write=False)
        base = self.value(owner)
        return apply(OPS["index"], (base,), {"index": placing.index_of(found, tuple(base.shape))})

    def _write(self, view: Any, new: Any, fx: Any) -> None:
        """``new`` written into the elements of ``view``: its owner gets a new value."""
        memory = self.memory
        owner = memory.owner.get(view)
        what = f"writes in place into {view.name} with {op_name(fx.target)}"
        if view in memory.detached:
            raise ValueInputError(
                f"from_torch: the model {what}, a detached view (detach()): PyTorch changes "
                "the values but autograd does not see the write, which chainrule cannot show; "
                "write it out of place"
            )
        if owner is None or owner is view or memory.layout[view] == memory.layout[owner]:
            if owner is not None:
                memory.wrote(view)
                self.env[owner] = new
                memory.made(owner)
            self.env[view] = new
            memory.made(view)
            return
        if not isinstance(new, Node):
            raise ValueInputError(f"from_torch: the model {what}, which chainrule cannot follow")
        found = memory.index(view, what, write=True)
        base = self.value(owner)
        if new.shape != found.shape:
            new = T.broadcast_to(new, list(found.shape))
        placed = placing.placed(new, found, base)
        if placed.name is None:
            placed.name = self._unique(f"{op_name(view.target) or 'index'}_scatter")
        memory.wrote(view)
        self.env[owner] = placed
        memory.made(owner)
        self.env[view] = new
        memory.made(view)

    def _refuse_lost_write(self, fx: Any) -> None:
        """An ATen call that writes into a tensor the maths reads, with no out-of-place twin
        chainrule follows (``out=``, random fills ...): refused, never silently dropped."""
        schema = getattr(fx.target, "_schema", None)
        if schema is None:
            return
        for k in written_arguments(fx.target):
            name = schema.arguments[k].name
            arg = fx.args[k] if k < len(fx.args) else fx.kwargs.get(name)
            owner = self.memory.owner.get(arg)
            if isinstance(arg, torch.fx.Node) and owner is not None and owner not in self.state:
                raise ValueInputError(
                    f"from_torch: the model changes a tensor in place with {op_name(fx.target)} "
                    f"(argument {name}), which chainrule cannot follow; write it out of place"
                )

    def _convert(self, fx: Any, target: Any, args: Any, kwargs: Any) -> Any:
        handler = HANDLERS.get(str(target))
        if handler is not None:
            try:
                return handler(*args, **kwargs)
            except (Decline, TypeError):
                pass
        return self.opaque(fx, target)

    def opaque(self, fx: Any, target: Any) -> Any:
        """The call as opaque nodes: PyTorch computes value and vjps; one node per output."""
        inputs: list[Node] = []
        dtypes: list[Any] = []
        slots: dict[Any, int] = {}

        def collect(a: Any) -> Any:
            value = self.value(a)
            if isinstance(value, Node):
                if a not in slots:
                    slots[a] = len(inputs)
                    inputs.append(value)
                    meta = a.meta.get("val")
                    dtypes.append(getattr(meta, "dtype", None))
                return _Slot(slots[a])
            return value

        args = torch.fx.node.map_arg(fx.args, collect)
        kwargs = torch.fx.node.map_arg(fx.kwargs, collect)
        name = _op_name(target)
        if not inputs:  # made from no tensor (torch.zeros, arange): a constant
            with torch.no_grad():
                made = target(*args, **kwargs)
            if isinstance(made, torch.Tensor):
                return const(to_numpy(made))
            return made
        meta = fx.meta.get("val")
        if isinstance(meta, (tuple, list)):
            return [
                self._opaque_node(name, target, args, kwargs, inputs, dtypes, k)
                if isinstance(m, torch.Tensor)
                else None
                for k, m in enumerate(meta)
            ]
        return self._opaque_node(name, target, args, kwargs, inputs, dtypes, None)

    def _opaque_node(
        self,
        name: str,
        target: Any,
        args: Any,
        kwargs: Any,
        inputs: list[Node],
        dtypes: list[Any],
        index: int | None,
    ) -> Node:
        def call(*tensors: torch.Tensor) -> torch.Tensor:
            ts = [
                t if d is None or t.dtype == d else t.to(d)
                for t, d in zip(tensors, dtypes, strict=True)
            ]
            out = target(*_fill(args, ts), **_fill(kwargs, ts))
            return out if index is None else out[index]

        label = name if index is None else f"{name}[{index}]"
        return apply(OPS["torch_opaque"], tuple(inputs), {"fn": TorchFunction(label, call)})

    def outputs(self, nodes: list[Any]) -> list[Node]:
        out_node = next(n for n in nodes if n.op == "output")
        values = out_node.args[0]
        specs = self.ep.graph_signature.output_specs
        found: list[Node] = []
        for v, spec in zip(values, specs, strict=True):
            if spec.kind != OutputKind.USER_OUTPUT:
                continue  # buffer updates (batch norm's running statistics) are not the output
            result = self.value(v) if isinstance(v, torch.fx.Node) else v
            if isinstance(result, Node):
                found.append(result)
        if not found:
            raise ValueInputError("the model returned no tensor that chainrule can show")
        return found


class _Slot:
    """Where the k-th tensor input goes back into an opaque call's arguments."""

    def __init__(self, k: int) -> None:
        self.k = k


def _fill(tree: Any, tensors: list[torch.Tensor]) -> Any:
    if isinstance(tree, _Slot):
        return tensors[tree.k]
    if isinstance(tree, tuple):
        return tuple(_fill(t, tensors) for t in tree)
    if isinstance(tree, list):
        return [_fill(t, tensors) for t in tree]
    if isinstance(tree, dict):
        return {k: _fill(v, tensors) for k, v in tree.items()}
    return tree


def _op_name(target: Any) -> str:
    """``aten.cumsum.default`` → ``cumsum``: the name people know the op by."""
    text = str(target)
    parts = text.split(".")
    if len(parts) >= 2 and parts[0] == "aten":
        return parts[1]
    return getattr(target, "__name__", text)


def _module_names(nodes: list[Any]) -> dict[Any, str]:
    """Each call's name from the module it ran in: a module's last op takes the module's path
    (``fc1``); other ops inside a module are ``path.op`` (``block.attn.softmax``)."""
    calls = [n for n in nodes if n.op == "call_function"]
    paths = [_path(n) for n in calls]
    out: dict[Any, str] = {}
    for k, (n, path) in enumerate(zip(calls, paths, strict=True)):
        if not path:
            out[n] = n.name
            continue
        nxt = paths[k + 1] if k + 1 < len(calls) else ""
        last = nxt != path and not nxt.startswith((path + ".", path + "["))
        out[n] = path if last else f"{path}.{n.name}"
    return out


def _path(fx: Any) -> str:
    stack = fx.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path, _cls = list(stack.values())[-1]
    return index_path(str(path))  # net.0 → net[0]: a numbered child is an index
