"""``chainrule.compile``: trace a step once, replay it as a flat plan of numpy calls.

A training step written with ``var``/``const`` and operators builds a graph, runs ``backward``
and returns arrays (a loss's ``.value``, parameters' ``.grad``). Building the graph and
sorting it costs a Python object per node and a dispatch per edge on every call, while the
numbers are the only thing that changes. ``compile(fn)`` runs ``fn`` once under a tracer,
keeps the graph's shape as a *plan* (one entry per forward call and per chain-rule edge,
each reading and writing numbered slots) and replays the plan on the next calls: no node is
built, no order sorted. Every entry calls what the engine would have called (the op table's
forward for that kind of number, the same partial or vector–Jacobian product, gradients
summed in the same order), so results are bit-identical to running ``fn``; the hottest ops
(dense layers, ReLU, elementwise arithmetic on arrays) write into buffers the plan keeps
(numpy's ``out=``), which computes the same numbers without allocating.

When the plan no longer describes what ``fn`` would do, ``fn`` is traced again:
- another shape, dtype or type of argument (each signature keeps its own plan);
- arguments that were one object at the trace (``f(X, X)``) and are two now;
- a parameter node read from outside ``fn`` whose value changed shape or dtype;
- a value ``fn`` looked at (``node.value``, ``node.grad``, ``float(node)``) other than to
  return it: Python may have branched on it, so the plan is replayed only while that value
  is the same, and ``fn`` runs again when it differs.

What a replay cannot see is checked, read at each call or refused (``CompileError``), never
replayed silently:
- a Python branch on the values of the arguments (``if X.max() > 10``, ``if beta > 0.5``):
  a plan replays without running ``fn`` only once a call with other numbers than the ones
  already seen has run ``fn`` again (``Compiled._check``) and found the same graph (the same
  operations on the same leaves with the same parameters, the same returns) and the same
  constants. Until then calls with the numbers already seen replay, and the first call with
  others is that check; another graph there is refused, naming the operations that differ
  (unless a guarded value or an outside node's shape changed: that is a new trace). Arguments
  that are neither arrays nor floats are part of the plan's key, value and all;
- a constant computed outside the graph (``cr.const(X / 255)``) that comes out different at
  the check is refused; so is a seed given to ``backward`` that is neither an argument nor a
  node (``backward(X * 2)``). A seed that is an argument or a node of the graph is read at
  each call;
- a variable (``cr.var``) made inside ``fn`` from anything but an argument is refused at the
  trace: its value would stay the first call's. Parameters are made outside ``fn`` (their
  values are read at each call) or from an argument;
- a random draw (dropout's mask) is drawn again at each call from the generator the
  uncompiled step would use: chainrule's (``cr.manual_seed``, looked up at each call) or an
  ``nn.Dropout``'s own; a generator ``fn`` gives as ``rng=`` is refused unless it is an
  argument of ``fn`` (a new generator is then a new plan).

What no check sees: a branch the check's call took the same way as the trace and a later call
takes the other way (a threshold the first two batches do not cross); an array changed in
place between calls (the same array to every comparison); state outside the arguments that
``fn`` reads after its plan is checked (a global array made a constant, a global float a
branch depends on). Keep such choices outside ``fn``, or pass them as arguments.

Keyword arguments are bound as ``fn`` binds them (``inspect.signature``): ``f(X, scale=2.0)``
is ``f(X, 2.0)``; keyword-only ones are part of the key by name.

Changes of nodes outside the graph: an optimizer's ``step()``, ``zero_grad()`` (the
optimizer's or a module's) and ``p.grad = None`` in ``fn`` are made again at each call where
``fn`` made them: gradients cleared before ``backward`` are cleared before the sweep, a step
after ``backward`` is made once the gradients are set (the optimizer's own code, so its state
moves as uncompiled; an optimizer subclass's ``step`` too). A step before ``backward``, work on
the parameters after a step (a second forward, reading a parameter), and a change no call can
make again (``w.value = ...``, ``p -= lr * p.grad`` under ``no_grad``) are refused.

What ``fn`` may return: values and gradients of nodes (``loss.value``, ``w.grad``,
``float(loss)``), and numbers that do not come from the graph (returned as they were).
Returned arrays are the plan's buffers: the next call overwrites them (copy what you keep).
"""

from __future__ import annotations

import builtins
import heapq
import inspect
import operator
import re
import sys
import textwrap
import threading
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from itertools import repeat
from operator import attrgetter
from typing import Any, cast

import numpy as np

from ..lang.symbols import in_derivative
from ..ops import MATH, OPS
from . import replay
from .autodiff import check_seed, one_like, topo_order, zero_like
from .backends import ArrayMath, FloatMath, unbroadcast
from .errors import ChainruleError
from .graph import Graph
from .kernels import TEMPLATE_NAMES, Kernel, Site
from .node import MANY, Node, apply_bound, const, var
from .values import ARRAY, FLOAT, combine_kinds, convert

__all__ = ["CompileError", "Compiled", "Plan", "compile", "compile_graph"]


class CompileError(ChainruleError):
    """``fn`` does something a plan cannot replay (says what, and what to do instead)."""


_INPUT = OPS["input"]
_CONST = OPS["const"]
_NUMERIC = (FLOAT, ARRAY)
_EMPTY: Any = type("_Unreached", (), {"__slots__": (), "__repr__": lambda s: "unreached"})()
_EMPTY_ID = id(_EMPTY)
_NONE_ID = id(None)

# ------------------------------------------------------------------ the tracer
# While ``fn`` is traced, ``Node.value``, ``Node.grad``, ``Node.item`` and ``Node.backward``
# are wrapped so that what ``fn`` reads and the node it differentiates are recorded; reads
# from chainrule's own code are not ``fn``'s and are not recorded. The wrappers are installed
# for the trace only (under a lock) and record only in the tracing thread.

_state = threading.local()
_lock = threading.RLock()
_SLOT_VALUE: Any = Node.__dict__["value"]
_SLOT_GRAD: Any = Node.__dict__["grad"]
_ITEM: Any = Node.__dict__["item"]
_BACKWARD: Any = Node.__dict__["backward"]


class _Trace:
    def __init__(self, start: int) -> None:
        self.start = start
        self.reads: list[tuple[Node, str, Any]] = []
        self.items: list[tuple[Node, float]] = []
        self.backward: list[tuple[Node, Any, Any, bool | None]] = []
        self.drawn: dict[Node, Callable[[], Any]] = {}  # constants drawn again at each call
        self.chosen: dict[Node, Any] = {}  # and the generator fn gave to draw them (rng=)
        # changes of nodes outside the graph, in order: (kind, call, where), ``where`` being
        # (the next node id, backward calls, reads, items) when the change was made
        self.effects: list[tuple[str, Callable[[], Any], tuple[int, int, int, int]]] = []
        self.changed: list[tuple[Node, str]] = []  # and those no call can make again
        self.targets: list[set[Node]] = []  # per effect, the nodes its call set
        self.settings: list[str] = []  # optimizers' settings fn changed (opt.lr = ...)
        self.in_backward = False


def _where(t: _Trace) -> tuple[int, int, int, int]:
    from .node import _ids  # the creation counter, as _run_traced reads it

    return (next(_ids), len(t.backward), len(t.reads), len(t.items))


def _note_effect(kind: str, call: Callable[[], Any]) -> None:
    t = getattr(_state, "trace", None)
    if t is not None:
        t.effects.append((kind, call, _where(t)))
        t.targets.append(set())


replay.note_effect = _note_effect


def _note_set(node: Node, what: str, v: Any) -> None:
    """A value or gradient set while ``fn`` is traced: a node being built, a node of fn's
    own graph, the engine's backward and a replayed method's own changes are what a plan
    makes again; a gradient cleared by hand (``p.grad = None`` or zeros) is made again as a
    call; anything else is a change a plan cannot replay."""
    t = getattr(_state, "trace", None)
    if t is None or t.in_backward:
        return
    start = t.start
    nid = getattr(node, "id", start)  # (a node being built has no id yet)
    if replay.in_replayed():
        if t.targets:
            t.targets[-1].add(node)
        return
    if nid >= start:
        return
    if what == "grad" and _cleared(v):
        t.effects.append(("grads", partial(_SLOT_GRAD.__set__, node, v), _where(t)))
        t.targets.append({node})
        return
    t.changed.append((node, what))


def _note_changed(node: Node) -> None:
    t = getattr(_state, "trace", None)
    if t is not None and not replay.in_replayed() and getattr(node, "id", t.start) < t.start:
        t.changed.append((node, "value"))


replay.note_change = _note_changed


def _note_setting(owner: Any, name: str) -> None:
    t = getattr(_state, "trace", None)
    if t is not None and not replay.in_replayed():
        t.settings.append(name)


replay.note_setting = _note_setting


def _cleared(v: Any) -> bool:
    if v is None:
        return True
    if v.__class__ is float or isinstance(v, np.ndarray):
        return not np.any(v)
    return False


def _note_drawn(node: Node, redraw: Callable[[], Any], chosen: Any = None) -> None:
    t = getattr(_state, "trace", None)
    if t is not None:
        t.drawn[node] = redraw
        if chosen is not None:
            t.chosen[node] = chosen


replay.note = _note_drawn


def _users_frame() -> bool:
    name = sys._getframe(2).f_globals.get("__name__", "")
    return not (name == "chainrule" or name.startswith("chainrule."))


def _value_get(self: Node, owner: Any = None) -> Any:
    v = _SLOT_VALUE.__get__(self, Node)
    t = getattr(_state, "trace", None)
    if t is not None and _users_frame() and not replay.in_replayed():
        t.reads.append((self, "value", v))
    return v


def _grad_get(self: Node, owner: Any = None) -> Any:
    v = _SLOT_GRAD.__get__(self, Node)
    t = getattr(_state, "trace", None)
    if t is not None and _users_frame() and not replay.in_replayed():
        t.reads.append((self, "grad", v))
    return v


def _value_set(self: Node, v: Any) -> None:
    _SLOT_VALUE.__set__(self, v)
    _note_set(self, "value", v)


def _grad_set(self: Node, v: Any) -> None:
    _SLOT_GRAD.__set__(self, v)
    _note_set(self, "grad", v)


def _item(self: Node) -> float:
    r = _ITEM(self)
    t = getattr(_state, "trace", None)
    if t is not None:
        t.items.append((self, r))
    return r  # type: ignore[no-any-return]


def _backward(
    self: Node, gradient: Any = None, *, accumulate: bool | None = None, seed: Any = None
) -> None:
    t = getattr(_state, "trace", None)
    if t is None:
        _BACKWARD(self, gradient, accumulate=accumulate, seed=seed)
        return
    t.backward.append((self, gradient, seed, accumulate))
    t.in_backward = True
    try:
        _BACKWARD(self, gradient, accumulate=accumulate, seed=seed)
    finally:
        t.in_backward = False


def _install() -> None:
    setattr(Node, "value", property(_value_get, _value_set))  # noqa: B010
    setattr(Node, "grad", property(_grad_get, _grad_set))  # noqa: B010
    setattr(Node, "item", _item)  # noqa: B010
    setattr(Node, "backward", _backward)  # noqa: B010


def _uninstall() -> None:
    setattr(Node, "value", _SLOT_VALUE)  # noqa: B010
    setattr(Node, "grad", _SLOT_GRAD)  # noqa: B010
    setattr(Node, "item", _ITEM)  # noqa: B010
    setattr(Node, "backward", _BACKWARD)  # noqa: B010


def _run_traced(
    fn: Callable[..., Any], args: tuple[Any, ...], names: tuple[str, ...] = ()
) -> tuple[Any, _Trace]:
    """``fn(*args)`` under the tracer; with ``names``, the last ``len(names)`` arguments are
    passed by those keywords."""
    with _lock:
        from .node import _ids  # the creation counter: nodes numbered from here on are fn's

        trace = _Trace(next(_ids))
        _state.trace = trace
        _install()
        try:
            if names:
                n = len(args) - len(names)
                result = fn(*args[:n], **dict(zip(names, args[n:], strict=True)))
            else:
                result = fn(*args)
        finally:
            _uninstall()
            _state.trace = None
    return result, trace


# ------------------------------------------------------------------ the plan


class Step:
    """One call of the plan: ``run`` (no arguments, reads and writes the plan's slots) and
    the line that ``Plan`` prints for it."""

    __slots__ = ("run", "text")

    def __init__(self, run: Callable[[], None], text: str) -> None:
        self.run = run
        self.text = text


class Plan:
    """A traced step as a flat list of calls into numbered slots (see the module docstring).

    ``str(plan)`` is the plan, one line per call, with the graph's names; ``graph`` is the
    traced graph (values and gradients of the trace), which ``chainrule.draw`` draws."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.graph: Any = None
        self.values: list[Any] = []
        self.grads: list[Any] = []
        self.kept: list[Any] = []
        self.buffers: dict[tuple[str, int], np.ndarray] = {}
        self.buffers_of: dict[int, dict[int, np.ndarray]] = {}  # the reverse steps' buffers
        self.reads: list[tuple[int, Node]] = []  # slots filled from outside nodes' values
        self.kept_reads: list[tuple[int, Node]] = []  # and from what their ops kept
        self.args: list[tuple[int, int, bool]] = []  # (slot, argument, normalise ints)
        # (i, j): arguments i and j were one object at the trace, so a leaf made from it
        # reads one of them; a call where they are two objects is traced again
        self.aliases: tuple[tuple[int, int], ...] = ()
        self.consts: list[tuple[int, Any]] = []
        self.drawn: list[tuple[int, Callable[[], Any]]] = []  # (slot, draw its next value)
        self.signature: list[tuple[Node, Any]] = []  # outside nodes: (node, (type, shape, dtype))
        self.guards: list[tuple[str, int, Any]] = []
        self.set_grads: list[tuple[Node, int]] = []  # outside nodes whose .grad backward sets
        # backward() as PyTorch: leaves add to the gradient they already hold (False: replace)
        self.leaves_accumulate = False
        self.output: Any = None  # a template: ("value"|"grad"|"item", slot) or constant leaves
        self.n_slots = 0
        self.seed: Any = None
        self.sweep: list[Callable[[], None]] = []
        self.slot_of: dict[Node, int] = {}
        self.uses: dict[int, int] = {}  # slot → how many input edges read it
        self.only_user: dict[int, Node] = {}  # slot → the one node reading it, if one
        self.fast_linear: set[int] = set()  # slots whose gradient a dense layer writes fresh
        # slot → a buffer the plan owns that is the first gradient to reach the slot: what
        # comes later is added into it in place (ag + c, the same numbers, no new array)
        self.owned: dict[int, np.ndarray] = {}
        self.visible_values: set[int] = set()  # slots whose value someone sees after a call
        self.visible_grads: set[int] = set()
        self._read_checks: list[tuple[int, Node, type, Any, Any]] | None = None
        self._read_groups: tuple[list[Node], list[int], list[Any]] | None = None
        self.fill: Callable[[], Any] | None = None  # ``output`` as a function of the slots
        self._grad_groups: tuple[list[Node], list[int]] | None = None
        self.layers: _Layers | None = None  # the groups of nodes run as one call each
        self.chain_of: dict[Node, _Chain] = {}  # sums of products run as one call each
        self._blank: list[Any] = []
        self._runner: Callable[[tuple[Any, ...]], Any] | None = None
        # what the graph is, leaf by leaf and op by op (``_structure``): a run of fn on other
        # numbers must make the same (``Compiled._check``)
        self.structure: list[Any] = []
        self.ops: list[str] = []  # the operations of fn's graph, in order (for messages)
        self.seed_const: Any = None  # the seed given to backward, when it is a constant
        # calls that change nodes outside the graph (``replay.replayed``: an optimizer's
        # step, zero_grad): made before the sweep (gradients cleared before backward) or
        # after it (once the gradients are set), as fn made them
        self.before: list[Callable[[], Any]] = []
        self.after: list[Callable[[], Any]] = []
        # compared with a run of fn on other numbers than the trace's, which made the same
        # structure and constants (``Compiled._check``): until then fn runs for other numbers
        self.checked = False

    @property
    def read_checks(self) -> list[tuple[int, Node, type, Any, Any]]:
        """``reads`` with each value's traced type, shape and dtype, for ``run``'s check."""
        checks = self._read_checks
        if checks is None or len(checks) != len(self.reads):
            sig = dict(self.signature)
            checks = []
            for slot, node in self.reads:
                cls, shape, dtype = sig[node]
                checks.append((slot, node, cls, shape, None if dtype is None else np.dtype(dtype)))
            self._read_checks = checks
        return checks

    @property
    def blank(self) -> list[Any]:
        """Every gradient unreached: what ``run`` starts from."""
        if len(self._blank) != len(self.grads):
            self._blank = [_EMPTY] * len(self.grads)
        return self._blank

    def __str__(self) -> str:
        before = [f"{_call_name(c)}    [fn's call, made before the sweep]" for c in self.before]
        after = [
            f"{_call_name(c)}    [fn's call, made once the gradients are set]" for c in self.after
        ]
        return "\n".join([*before, *(s.text for s in self.steps), *after])

    def __repr__(self) -> str:
        return f"<Plan of {len(self.steps)} calls>\n{self}"

    def __len__(self) -> int:
        return len(self.steps)

    def nbytes(self) -> int:
        """Bytes of the arrays the plan keeps between calls: its buffers and what its slots
        hold (arguments, constants and outside nodes' values excepted: the caller owns them)."""
        theirs = {s for s, _ in self.reads} | {s for s, _, _ in self.args}
        theirs |= {s for s, _ in self.consts} | {s for s, _ in self.drawn}
        arrays = [v for i, v in enumerate(self.values) if i not in theirs]
        arrays += [*self.buffers.values(), *self.grads, *self.kept]
        for cells in self.buffers_of.values():
            arrays += list(cells.values())
        held: dict[int, np.ndarray] = {}
        for a in arrays:
            if isinstance(a, np.ndarray):
                base = a.base if isinstance(a.base, np.ndarray) else a
                held[id(base)] = base
        return sum(a.nbytes for a in held.values())

    def draw(self, path: str, view: str = "gradients", **options: Any) -> Any:
        """Draw the traced graph (the nodes the plan's calls stand for) to ``path``."""
        from ..draw import render  # the drawing package, only when a plan is drawn

        return render(self.graph, path, view=view, **options)

    # -------------------------------------------------------------- running
    def run(self, args: tuple[Any, ...]) -> Any:
        """The plan on new arguments; ``_RETRACE`` when it no longer describes ``fn``."""
        return self.runner()(args)

    def runner(self) -> Callable[[tuple[Any, ...]], Any]:
        """``run``'s function, made at its first call (or when the plan is checked)."""
        runner = self._runner
        if runner is None:
            general = self._make_runner()
            runner = self._runner = _written_runner(self, general) or general
        return runner

    def _make_runner(self) -> Callable[[tuple[Any, ...]], Any]:
        """``run`` for this plan, made at its first call: what the plan reads, checks, sets
        and returns, fixed as local lists (the work of a call is then the checks themselves,
        the sweep and the gradients set)."""
        V, G, K = self.values, self.grads, self.kept
        ndarray: Any = np.ndarray
        floats, float_slots, others_ = self.read_groups
        others = tuple(others_)
        kept_reads = tuple(self.kept_reads)
        plain_args = tuple((slot, i) for slot, i, ints in self.args if not ints)
        int_args = tuple((slot, i) for slot, i, ints in self.args if ints)
        blank = list(self.blank)
        grad_nodes, grad_slots = self.grad_groups
        set_grads = tuple(self.set_grads)
        accumulate = self.leaves_accumulate
        guards = tuple(self.guards)
        drawn = tuple(self.drawn)
        before, after = tuple(self.before), tuple(self.after)
        aliases = self.aliases
        sweep = self.sweep
        fill = self.fill
        if fill is None:
            fill = self.fill = _filler(self.output, V, G)
        n_grads = len(grad_nodes)
        float64 = np.float64

        def run(args: tuple[Any, ...]) -> Any:
            if aliases:
                for i, j in aliases:
                    if args[i] is not args[j]:
                        return _RETRACE
            # outside nodes' values, each checked against the traced type, shape and dtype:
            # the numbers all at once (parameters of a scalar graph are many)
            if floats:
                vals = list(map(_GET_VALUE, floats))
                if set(map(type, vals)) != _FLOAT_SET:
                    return _RETRACE
                _drain(map(V.__setitem__, float_slots, vals))
            for slot, node, cls, shape, dtype in others:
                v: Any = node.value
                if v.__class__ is cls and (
                    cls is not ndarray or (v.shape == shape and v.dtype is dtype)
                ):
                    V[slot] = v  # (as traced: the common case, checked first)
                    continue
                if cls is ndarray:
                    if (
                        not isinstance(v, np.ndarray)
                        or v.shape != shape
                        or (v.dtype is not dtype and v.dtype != dtype)
                    ):
                        return _RETRACE
                elif v.__class__ is not cls:
                    return _RETRACE
                V[slot] = v
            for slot, node in kept_reads:
                K[slot] = node.kept
            for slot, i in plain_args:
                V[slot] = args[i]
            for slot, i in int_args:
                V[slot] = args[i].astype(float64)
            for slot, redraw in drawn:
                V[slot] = redraw()
            for call in before:
                call()
            G[:] = blank
            held: dict[int, Any] = {}  # slot → what a leaf held (copied: it may be a buffer)
            if accumulate and list(map(id, map(_GET_GRAD, grad_nodes))).count(_NONE_ID) != n_grads:
                for node, slot in set_grads:
                    old = node.grad
                    if old is not None and node.a0 is None and node.requires_grad:
                        held[slot] = old.copy() if isinstance(old, np.ndarray) else old
            for step in sweep:
                step()
            for what, slot, old in guards:
                new = V[slot] if what == "value" else G[slot]
                if not _same(new, old):
                    return _RETRACE
            if held:
                for node, slot in set_grads:
                    g = G[slot]
                    if slot in held:  # as Node.backward: old + new, a new object
                        old = held[slot]
                        G[slot] = g = old if g is _EMPTY else old + g
                    node.grad = None if g is _EMPTY else g
            elif grad_nodes:
                gs = list(map(G.__getitem__, grad_slots))
                if _empties(gs):
                    gs = [None if g is _EMPTY else g for g in gs]
                _drain(map(setattr, grad_nodes, repeat("grad"), gs))
            if after:
                _make_calls(after)
            return fill()

        return run

    @property
    def read_groups(self) -> tuple[list[Node], list[int], list[Any]]:
        """``read_checks`` split: outside nodes holding numbers, their slots, the others."""
        groups = self._read_groups
        if groups is None or len(groups[0]) + len(groups[2]) != len(self.reads):
            floats, slots, others = [], [], []
            for check in self.read_checks:
                if check[2] is float:
                    floats.append(check[1])
                    slots.append(check[0])
                else:
                    others.append(check)
            groups = self._read_groups = (floats, slots, others)
        return groups

    @property
    def grad_groups(self) -> tuple[list[Node], list[int]]:
        """``set_grads`` as two lists: the nodes, their slots."""
        groups = self._grad_groups
        if groups is None or len(groups[0]) != len(self.set_grads):
            groups = self._grad_groups = (
                [n for n, _ in self.set_grads],
                [s for _, s in self.set_grads],
            )
        return groups


_RETRACE: Any = object()


_WRITTEN_READS = 64  # outside nodes a written-out ``run`` reads one by one (more: a loop)


def _written_runner(
    plan: Plan, general: Callable[[tuple[Any, ...]], Any]
) -> Callable[[tuple[Any, ...]], Any] | None:
    """``run``'s common case written out as one function: each outside node's value as
    traced, no gradient held from before, then the sweep, the guards, the gradients set and
    the result built, with no loop or lookup left to make. Anything else (a value to check
    further, a gradient to accumulate into) is ``general``'s, from the start: nothing has
    been computed when it takes over."""
    floats, float_slots, others = plan.read_groups
    if len(floats) + len(others) + len(plan.set_grads) > _WRITTEN_READS:
        return None
    env: dict[str, Any] = {
        "V": plan.values,
        "G": plan.grads,
        "K": plan.kept,
        "EMPTY": _EMPTY,
        "RETRACE": _RETRACE,
        "general": general,
        "same": _same,
        "float64": np.float64,
        "blank": list(plan.blank),
        "sweep": plan.sweep,
        "item": _item_of,
        "before": tuple(plan.before),
        "after": tuple(plan.after),
        "make_calls": _make_calls,
    }
    lines = ["def run(args):"]
    for i, j in plan.aliases:
        lines += [f"    if args[{i}] is not args[{j}]:", "        return general(args)"]
    for k, (node, slot) in enumerate(zip(floats, float_slots, strict=True)):
        env[f"f{k}"] = node
        lines += [f"    v = f{k}.value", "    if v.__class__ is not float:"]
        lines += ["        return general(args)", f"    V[{slot}] = v"]
    for k, (slot, node, cls, shape, dtype) in enumerate(others):
        env[f"o{k}"], env[f"c{k}"], env[f"s{k}"], env[f"d{k}"] = node, cls, shape, dtype
        check = f"v.__class__ is not c{k}"
        if cls is np.ndarray:
            check += f" or v.shape != s{k} or v.dtype is not d{k}"
        lines += [f"    v = o{k}.value", f"    if {check}:", "        return general(args)"]
        lines.append(f"    V[{slot}] = v")
    for k, (slot, node) in enumerate(plan.kept_reads):
        env[f"kn{k}"] = node
        lines.append(f"    K[{slot}] = kn{k}.kept")
    for slot, i, ints in plan.args:
        lines.append(f"    V[{slot}] = args[{i}]" + (".astype(float64)" if ints else ""))
    for k, (slot, redraw) in enumerate(plan.drawn):
        env[f"draw{k}"] = redraw
        lines.append(f"    V[{slot}] = draw{k}()")
    if plan.before:
        lines += ["    for call in before:", "        call()"]
    lines.append("    G[:] = blank")
    grad_nodes, grad_slots = plan.grad_groups
    for k, node in enumerate(grad_nodes):
        env[f"g{k}"] = node
    if plan.leaves_accumulate and grad_nodes:
        held = " or ".join(f"g{k}.grad is not None" for k in range(len(grad_nodes)))
        lines += [f"    if {held}:", "        return general(args)"]
    lines += ["    for step in sweep:", "        step()"]
    for k, (what, slot, old) in enumerate(plan.guards):
        env[f"old{k}"] = old
        lines += [f"    if not same({'V' if what == 'value' else 'G'}[{slot}], old{k}):"]
        lines.append("        return RETRACE")
    for k, slot in enumerate(grad_slots):
        lines += [f"    g = G[{slot}]", f"    g{k}.grad = None if g is EMPTY else g"]
    if plan.after:
        lines.append("    make_calls(after)")
    lines.append(f"    return {_fill_source(plan.output, env)}")
    code = builtins.compile("\n".join(lines), "<chainrule plan>", "exec")
    exec(code, env)  # noqa: S102 - the plan's own run, written out
    run: Callable[[tuple[Any, ...]], Any] = env["run"]
    run.source = "\n".join(lines)  # type: ignore[attr-defined]
    return run


class _Raised(Exception):
    """An exception of a call a plan makes after its sweep (an optimizer's step): it is the
    caller's, not a reason to trace fn again (which would make the call twice)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _make_calls(calls: tuple[Callable[[], Any], ...]) -> None:
    try:
        for call in calls:
            call()
    except Exception as e:
        raise _Raised(e) from e


def _item_of(v: Any) -> float:
    return float(v.item()) if isinstance(v, np.ndarray) else float(v)


def _fill_source(template: Any, env: dict[str, Any]) -> str:
    """``_fill`` of a template as one Python expression (constants by name in ``env``)."""
    kind = template[0]
    if kind == "value":
        return f"V[{template[1]}]"
    if kind == "grad":
        return f"G[{template[1]}]"
    if kind == "item":
        return f"item(V[{template[1]}])"
    if kind == "const":
        name = f"const{len(env)}"
        env[name] = template[1]
        return name
    if kind == "tuple":
        return "(" + "".join(_fill_source(t, env) + ", " for t in template[1]) + ")"
    if kind == "list":
        return "[" + ", ".join(_fill_source(t, env) for t in template[1]) + "]"
    if kind == "dict":
        parts = []
        for key, t in template[1].items():
            name = f"key{len(env)}"
            env[name] = key
            parts.append(f"{name}: {_fill_source(t, env)}")
        return "{" + ", ".join(parts) + "}"
    raise AssertionError(kind)


_GET_VALUE = attrgetter("value")
_GET_GRAD = attrgetter("grad")
_FLOAT_SET = {float}


def _empties(xs: list[Any]) -> int:
    """How many of ``xs`` are the unreached marker (by identity: arrays compare elementwise)."""
    return list(map(id, xs)).count(_EMPTY_ID)


def _drain(it: Any) -> None:
    """Run an iterator of calls to its end (a loop in C)."""
    deque(it, maxlen=0)


def _mark(fn: Callable[[], None], spec: tuple[Any, ...]) -> Callable[[], None]:
    """Note on a step what it does with numbers (``_fused_sweep`` runs such steps in a loop)."""
    fn.fuse = spec  # type: ignore[attr-defined]
    return fn


def _fused_sweep(plan: Plan) -> list[Callable[[], None]]:
    """The plan's calls with each run of consecutive steps on numbers (Python floats: a chain
    of sums, the reverse partials of +, − and ·) made one loop: the same operations in the
    same order, without a call per node."""
    V, G = plan.values, plan.grads
    out: list[Callable[[], None]] = []
    run: list[tuple[Any, ...]] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            out.append(run[0][0])
        elif run[0][1][0] == "f":
            out.append(_float_forward(V, [spec[1:] for _, spec in run]))
        else:
            out.append(_float_reverse(V, G, [spec[1:] for _, spec in run]))
        run.clear()

    for step in plan.steps:
        spec = getattr(step.run, "fuse", None)
        if spec is None or (run and run[0][1][0] != spec[0]):
            flush()
        if spec is None:
            out.append(step.run)
        else:
            run.append((step.run, spec))
    flush()
    return out


def _code(fn: Callable[[], None], src: str, **env: Any) -> Callable[[], None]:
    """Note on a step the same calls as Python source (``_inline_sweep`` writes consecutive
    such steps out as one function): ``$name`` is ``env[name]``; V, G, K, EMPTY and the
    numpy functions of ``_INLINE_ENV`` are the plan's; a line ``SEND(d)`` is ``_send(G, V,
    d, c)``, its common case (the first gradient to reach d, of d's shape and dtype) written
    out."""
    text = textwrap.dedent(src).strip("\n")
    fn.code = (_SEND.sub(_send_source, text), env)  # type: ignore[attr-defined]
    return fn


_SEND = re.compile(r"^( *)SEND\((\$?\w+)\)$", re.M)


def _send_source(m: re.Match[str]) -> str:
    pad, d = m.group(1), m.group(2)
    return "\n".join(
        pad + line
        for line in (
            f"v = V[{d}]",
            f"if G[{d}] is EMPTY and c.__class__ is ndarray and v.__class__ is ndarray and (",
            "    c.shape == v.shape and (c.dtype is v.dtype or c.dtype == v.dtype)",
            "):",
            f"    G[{d}] = c",
            "else:",
            f"    send(G, V, {d}, c)",
        )
    )


_INLINE_ENV: dict[str, Any] = {
    **TEMPLATE_NAMES,
    "send": None,  # _send, set below
    "zero_like": zero_like,
    "one_like": one_like,
}
_INLINE_CHUNK = 256  # steps per written-out function (a plan of thousands stays a list)
_DOLLAR = re.compile(r"\$([A-Za-z_]\w*)")


def _inline_sweep(plan: Plan, runs: list[Callable[[], None]]) -> list[Callable[[], None]]:
    """The sweep with each run of consecutive steps that carry their source (``_code``)
    written out as one Python function: the same numpy calls on the same buffers, in the
    same order, without a call per step, its loop and the branches the trace has settled
    (which edge, which layout, which buffer)."""
    out: list[Callable[[], None]] = []
    run: list[Callable[[], None]] = []

    def flush() -> None:
        if len(run) < 2:
            out.extend(run)
        else:
            out.append(_written_out(plan, run))
        run.clear()

    for f in runs:
        if getattr(f, "code", None) is None:
            flush()
            out.append(f)
        else:
            run.append(f)
            if len(run) == _INLINE_CHUNK:
                flush()
    flush()
    return out


def _name(k: int, env: dict[str, Any], m: re.Match[str]) -> str:
    """Step ``k``'s ``$name`` in the written-out function: a slot number as itself, anything
    else by a name of its own."""
    name = m.group(1)
    value = env[name]
    return str(value) if value.__class__ is int else f"k{k}_{name}"


def _written_out(plan: Plan, steps: list[Callable[[], None]]) -> Callable[[], None]:
    codes = [(*f.code, getattr(f, "__qualname__", "?")) for f in steps]  # type: ignore[attr-defined]
    return _function_of(plan, codes)


def _function_of(plan: Plan, codes: list[tuple[str, dict[str, Any], str]]) -> Callable[[], None]:
    """One function running the steps' sources in order (each step's ``$names`` its own)."""
    env: dict[str, Any] = dict(_INLINE_ENV)
    env.update(V=plan.values, G=plan.grads, K=plan.kept, EMPTY=_EMPTY, send=_send)
    lines = ["def sweep():"]
    for k, (src, names, label) in enumerate(codes):
        for name, value in names.items():
            env[f"k{k}_{name}"] = value
        body = _DOLLAR.sub(partial(_name, k, names), src)
        lines.append(f"    # {label.replace('<locals>.', '')}")
        lines += ["    " + line for line in body.splitlines()]
    code = builtins.compile("\n".join(lines), "<chainrule plan>", "exec")
    exec(code, env)  # noqa: S102 - the plan's own steps, written out
    sweep: Callable[[], None] = env["sweep"]
    sweep.source = "\n".join(lines)  # type: ignore[attr-defined]
    return sweep


def _kernel_step(plan: Plan, n: Node, kernel: Kernel, way: str) -> Callable[[], None]:
    """An op's compiled form (``core/kernels.py``) as the plan's step: its source made a
    function, which also carries the source (``_inline_sweep`` writes it out with its
    neighbours), so the source is the step's one copy."""
    if kernel.run is not None:
        return kernel.run
    text = textwrap.dedent(kernel.source).strip("\n")
    text = _SEND.sub(_send_source, text)
    step = _function_of(plan, [(text, kernel.env, f"{n.op.name} {way}")])
    step.code = (text, kernel.env)  # type: ignore[attr-defined]
    step.__qualname__ = f"{n.op.name} {way}"
    return step


_INLINE_FLOAT_RUN = 64  # a longer run of steps on numbers stays a loop
_OPERATORS = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}


def _float_forward(V: list[Any], items: list[tuple[Any, ...]]) -> Callable[[], None]:
    def run() -> None:
        for f, o, a, b in items:
            V[o] = f(V[a]) if b is None else f(V[a], V[b])

    if len(items) > _INLINE_FLOAT_RUN:
        return run
    lines, env = [], {}
    for e, (f, o, a, b) in enumerate(items):
        sign = _OPERATORS.get(f)
        if b is None:
            env[f"f{e}"] = f
            lines.append(f"V[{o}] = $f{e}(V[{a}])")
        elif sign is not None:  # Python's own operator on two numbers
            lines.append(f"V[{o}] = V[{a}] {sign} V[{b}]")
        else:
            env[f"f{e}"] = f
            lines.append(f"V[{o}] = $f{e}(V[{a}], V[{b}])")
    return _code(run, "\n".join(lines), **env)


def _float_reverse(V: list[Any], G: list[Any], items: list[tuple[Any, ...]]) -> Callable[[], None]:
    empty = _EMPTY

    def run() -> None:
        for o, edges, zero in items:
            g = G[o]
            if g is empty:  # nothing reached it: 0 (or None), and nothing to send
                G[o] = zero
                continue
            for other, k, d in edges:
                c = g * (V[other] if other is not None else k)
                ag = G[d]
                G[d] = c if ag is empty else ag + c

    if len(items) > _INLINE_FLOAT_RUN:
        return run
    lines: list[str] = []
    env: dict[str, Any] = {}
    for e, (o, edges, zero) in enumerate(items):
        env[f"z{e}"] = zero
        lines += [f"g = G[{o}]", "if g is EMPTY:", f"    G[{o}] = $z{e}"]
        if edges:
            lines.append("else:")
        for j, (other, k, d) in enumerate(edges):
            if other is not None:
                lines.append(f"    c = g * V[{other}]")
            else:
                env[f"k{e}_{j}"] = k
                lines.append(f"    c = g * $k{e}_{j}")
            lines += [f"    ag = G[{d}]", f"    G[{d}] = c if ag is EMPTY else ag + c"]
    return _code(run, "\n".join(lines), **env)


def _fill(template: Any, V: list[Any], G: list[Any]) -> Any:
    kind = template[0]
    if kind == "value":
        return V[template[1]]
    if kind == "grad":
        return G[template[1]]
    if kind == "item":
        v = V[template[1]]
        return float(v.item()) if isinstance(v, np.ndarray) else float(v)
    if kind == "const":
        return template[1]
    if kind == "tuple":
        return tuple(_fill(t, V, G) for t in template[1])
    if kind == "list":
        return [_fill(t, V, G) for t in template[1]]
    if kind == "dict":
        return {k: _fill(t, V, G) for k, t in template[1].items()}
    raise AssertionError(kind)


def _filler(template: Any, V: list[Any], G: list[Any]) -> Callable[[], Any]:
    """``_fill`` of one template as a function without arguments (built once per plan): a
    value or gradient is one list lookup, a list of gradients one ``map``."""
    kind = template[0]
    if kind == "value":
        s = template[1]
        return lambda: V[s]
    if kind == "grad":
        s = template[1]
        return lambda: G[s]
    if kind in ("tuple", "list"):
        parts = template[1]
        getter = G.__getitem__
        if kind == "list" and parts and all(t[0] == "grad" for t in parts):
            slots = [t[1] for t in parts]
            return lambda: list(map(getter, slots))
        fills = [_filler(t, V, G) for t in parts]
        if kind == "tuple":
            return lambda: tuple([f() for f in fills])
        return lambda: [f() for f in fills]
    return lambda: _fill(template, V, G)


def _signature(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return (np.ndarray, v.shape, v.dtype.str)
    return (type(v), None, None)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if a is None or b is None or a is _EMPTY or b is _EMPTY:
        return a is b
    return bool(a == b or (a != a and b != b))


# ------------------------------------------------------------------ compiling


# plans a compiled function keeps at most (one per signature of its arguments: batches of many
# sizes would otherwise keep a plan and its buffers each, without end)
MAX_PLANS = 32


class Compiled:
    """``fn`` traced once per signature of its arguments and replayed as a ``Plan`` (the
    ``MAX_PLANS`` most recently traced are kept)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.plans: dict[Any, Plan] = {}
        self.traces = 0  # how many times fn was traced for a plan (retraces included)
        self.checks = 0  # and run again to check a plan on other numbers (see ``_check``)
        self._unchecked: dict[Any, tuple[Any, ...]] = {}  # key → the arguments last seen
        self._last: Plan | None = None
        self._busy = threading.RLock()  # a plan's buffers serve one call at a time
        self._mode = replay.mode()
        self._signature: inspect.Signature | None = None
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    @property
    def plan(self) -> Plan:
        """The plan of the last call (call the compiled function once first)."""
        if self._last is None:
            raise CompileError("nothing traced yet: call the compiled function once first")
        return self._last

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        names: tuple[str, ...] = ()
        if kwargs:
            args, names = self._bind(args, kwargs)
        with self._busy:  # (the replay in this frame: a call per step is felt on small steps)
            if replay._modes[0] != self._mode:  # a model's train/eval mode changed
                self.plans.clear()
                self._unchecked.clear()
                self._mode = replay._modes[0]
            key = _key(args) if args else ()
            if names:
                key = (("keywords", names), *key)
            plan = self.plans.get(key)
            if plan is not None and not plan.checked:
                seen = self._unchecked.get(key)
                if seen is None or not all(map(operator.is_, args, seen)):
                    checked = self._check(plan, args, key, names)
                    if checked is not _RETRACE:
                        return checked
            if plan is not None:
                runner = plan._runner
                try:
                    out = plan.run(args) if runner is None else runner(args)
                except _Raised as raised:
                    raise raised.error from None
                except (ArithmeticError, ValueError, TypeError, ChainruleError):
                    out = _RETRACE  # fn itself reports it, with the engine's messages
                if out is not _RETRACE:
                    self._last = plan
                    return out
            return self._trace(args, key, names)

    def _bind(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], tuple[str, ...]]:
        """Keyword arguments bound as ``fn`` binds them: those a position can take join the
        positional ones (``f(X, scale=2.0)`` is ``f(X, 2.0)``, the same plan); the others
        (keyword-only, ``**kwargs``) follow them, their names part of the plan's key."""
        sig = self._signature
        if sig is None:
            try:
                sig = self._signature = inspect.signature(self.fn)
            except (TypeError, ValueError):
                raise CompileError(
                    "keyword arguments need fn's signature, which Python cannot give for this "
                    "function: pass the arguments by position"
                ) from None
        bound = sig.bind(*args, **kwargs)  # (a TypeError, as fn's call would raise)
        rest = bound.kwargs
        return (*bound.args, *rest.values()), tuple(rest)

    def _check(
        self, plan: Plan, args: tuple[Any, ...], key: Any, names: tuple[str, ...] = ()
    ) -> Any:
        """A call with other numbers than the plan has been checked with: ``fn`` run (traced)
        again, and the graph it makes compared with the plan's.

        Another structure (other operations, leaves, parameters or returns) for arguments of
        the same signature means fn took another path on their values (``if X.max() > 10``,
        ``if beta > 0.5``), which a replay cannot see: refused, unless a value fn looked at
        (a guard) or an outside node's shape changed, which would have traced it again anyway.
        The same structure with a constant that changed was computed outside the graph from
        the arguments (``cr.const(X / 255)``, ``np.eye(3)[y]``): refused too. The same
        structure and constants: the plan is checked, and replayed from then on without
        running fn. ``_RETRACE`` while the arguments are the last ones seen (the same arrays,
        or equal ones: nothing to learn yet, the plan runs; an array changed in place between
        calls is the same array, which this cannot see)."""
        before = self._unchecked.get(key, args)
        if all(_same(a, b) for a, b in zip(args, before, strict=True)):
            self._unchecked[key] = args  # (the objects of this call: the next compares fast)
            return _RETRACE
        result, trace = _run_traced(self.fn, args, names)
        new = _build(trace, args, result)
        self._last = new
        if new.structure != plan.structure:
            if not _retraced_anyway(plan, new):
                raise CompileError(_branched(plan, new))
            self.traces += 1  # (a guarded value changed: this is the plan's trace again)
            self.plans[key] = new
            self._unchecked[key] = args
            return result
        self.checks += 1
        for (slot, was), (_, now) in zip(plan.consts, new.consts, strict=True):
            if not _same(was, now):
                raise CompileError(_made_outside(new, slot, now))
        if not _same(plan.seed_const, new.seed_const):
            raise CompileError(_seed_made_outside(new.seed_const))
        self._unchecked.pop(key, None)
        if all(_same(a[2], b[2]) for a, b in zip(plan.guards, new.guards, strict=True)):
            plan.checked = True  # (the plan itself: its buffers kept)
        else:
            plan = self.plans[key] = new  # (its guards hold this call's values)
            plan.checked = True
        self._last = plan
        plan.runner()  # (what the next call runs, made now)
        return result

    def _trace(self, args: tuple[Any, ...], key: Any, names: tuple[str, ...] = ()) -> Any:
        """``fn`` run under the tracer, its plan kept for ``key``."""
        result, trace = _run_traced(self.fn, args, names)
        self.traces += 1
        plan = _build(trace, args, result)
        self.plans[key] = plan
        self._last = plan
        while len(self.plans) > MAX_PLANS:  # the oldest first: each keeps its buffers
            oldest = next(iter(self.plans))
            del self.plans[oldest]
            self._unchecked.pop(oldest, None)
        if not plan.checked:
            self._unchecked[key] = args
        return result


def _retraced_anyway(plan: Plan, new: Plan) -> bool:
    """Would ``plan`` have given way to a new trace on ``new``'s arguments? A value fn looked
    at (a guard) came out different, an outside node's value changed type, shape or dtype, or
    arguments passed as one object are two (or the other way)."""
    if plan.aliases != new.aliases:  # (one object passed twice, then two: the plan retraces)
        return True
    if len(plan.guards) != len(new.guards) or len(plan.signature) != len(new.signature):
        return True
    for (what, _, old), (what2, _, now) in zip(plan.guards, new.guards, strict=True):
        if what != what2 or not _same(old, now):
            return True
    return any(
        n is not m or a != b for (n, a), (m, b) in zip(plan.signature, new.signature, strict=True)
    )


def _branched(plan: Plan, new: Plan) -> str:
    """Why ``new`` (a run of fn on other numbers) is refused: what differs from ``plan``."""
    a, b = plan.ops, new.ops

    def listed(ops: list[str]) -> str:
        return ", ".join(ops) if len(ops) <= 12 else ", ".join(ops[:12]) + ", ..."

    if a != b:
        k = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )
        what = (
            f"the first call's graph has {len(a)} operations ({listed(a)}), this call's "
            f"{len(b)} ({listed(b)}), the first difference at operation {k + 1}"
        )
    elif plan.structure[-1] != new.structure[-1]:
        what = "what fn returns that is not from the graph changed"
    else:
        what = "the same operations, on other leaves or with other parameters"
    return (
        f"fn builds another graph for arguments of the same shapes and dtypes ({what}): it "
        "branches on the values of its arguments (an if on X.max() or on a float argument), "
        "or on other state that changes between calls, and a compiled plan would replay the "
        "first call's path for every call. Make the choice outside fn: compile one function "
        "per path and call the one you need, or pass the choice as an int or a string "
        "argument (each value gets its own plan); a number that only scales the graph can be "
        "a float argument used in it (loss * beta), which is read at each call"
    )


def _made_outside(plan: Plan, slot: int, value: Any) -> str:
    node = next(n for n, s in plan.slot_of.items() if s == slot)
    users = sorted({u.op.name for u in plan.slot_of if any(a is node for a in u.args)})
    what = (
        f"an array of shape {value.shape} ({value.dtype})"
        if isinstance(value, np.ndarray)
        else f"the number {value!r}"
    )
    kind = "a variable" if node.requires_grad else "a constant"
    return (
        f"fn puts {what} into the graph as {kind} (used by {', '.join(users) or 'nothing'}) "
        "that changed from one call to the next: it is computed outside the graph, from the "
        "arguments or other state, and a compiled plan would keep the first call's. Build it "
        "from nodes (cr.const(X) / 255 rather than cr.const(X / 255); T.one_hot(...) rather "
        "than np.eye(k)[y]), or compute it before the call and pass it as an argument"
    )


def _seed_made_outside(value: Any) -> str:
    what = f"an array of shape {value.shape}" if isinstance(value, np.ndarray) else f"{value!r}"
    return (
        f"the gradient given to backward() ({what}) changed from one call to the next: it is "
        "computed outside the graph, and a compiled plan would keep the first call's. Pass it "
        "as an argument of fn (read at each call), or build it from nodes "
        "(out.backward(cr.const(G) * 2))"
    )


def _variable_made_in_fn(name: str, value: Any) -> str:
    what = f"an array of shape {value.shape}" if isinstance(value, np.ndarray) else f"{value!r}"
    return (
        f"fn creates the variable {name} (cr.var, a leaf whose gradient is wanted) from {what} "
        "that is not one of its arguments: a compiled plan would keep this call's value at "
        "every call, and an update between calls (W = W - lr * grad) would not be seen. Create "
        "parameters outside fn (cr.var(W) once, or an nn module: their values are read at "
        "each call, and optimizers update them), or pass the array as an argument of fn and "
        "make the variable from it"
    )


def _chosen_generator(name: str) -> str:
    return (
        f"fn draws {name} at random from a generator it passes as rng= (T.dropout(..., "
        "rng=gen)) that is not one of its arguments: a compiled plan draws every call's mask "
        "from the generator of its trace, so a generator made anew in fn or replaced between "
        "calls would not be seen. Pass the generator as an argument of fn (a new generator is "
        "traced again), use nn.Dropout (its generator is read at each call), or leave rng out "
        "(the generator cr.manual_seed makes is read at each call)"
    )


def _static_arg(v: Any, args: tuple[Any, ...]) -> bool:
    """Is ``v`` one of the arguments that are part of the plan's key (not arrays or floats)?"""
    for a in args:
        if isinstance(a, np.ndarray) or a.__class__ is float:
            continue
        try:
            if a is v or bool(a == v):
                return True
        except (TypeError, ValueError):
            continue
    return False


def _comparable(x: Any) -> Any:
    """``x`` (an op's parameters, a returned template) as something ``==`` compares exactly:
    arrays by their bytes, numbers by their text (so -0.0 and nan compare as written)."""
    if isinstance(x, np.ndarray):
        return ("array", x.shape, x.dtype.str, x.tobytes())
    if isinstance(x, float):
        return ("float", repr(x))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple([_comparable(v) for v in x]))
    if isinstance(x, dict):
        return ("dict", tuple([(repr(k), _comparable(v)) for k, v in x.items()]))
    if x is None or isinstance(x, (bool, int, str, bytes, np.dtype, type)):
        return x
    return ("object", type(x).__qualname__)


def compile(fn: Callable[..., Any]) -> Compiled:  # noqa: A001 - chainrule.compile, by design
    """``fn`` traced once and replayed as a flat plan of numpy calls into kept buffers.

    ``fn`` takes arrays (and numbers), builds its graph with ``var``/``const`` and operators,
    may call ``backward()`` on one scalar, and returns values and gradients of the graph's
    nodes. ``compile(fn)(*arrays)`` returns what ``fn(*arrays)`` returns, to the last bit;
    ``compile(fn).plan`` prints the plan. See ``chainrule.core.compile``."""
    return Compiled(fn)


def compile_graph(output: Node, inputs: Sequence[Node]) -> Compiled:
    """A graph already built, replayed as a plan: ``f(*batches)`` (one array per node of
    ``inputs``, in that order) evaluates ``output`` with those values in the inputs, runs the
    reverse sweep and returns ``output``'s value; the graph's other leaves (weights, read at
    each call) get their ``.grad``, replaced as ``backward(accumulate=False)`` does.

    This is ``BatchedGraph``'s evaluation (a scalar graph with a batch in its input leaves) as
    a compiled step: each layer's nodes one numpy call (see ``_Layers``) where ``BatchedGraph``
    makes one per node. The graph's own nodes keep their values (``BatchedGraph.run`` sets a
    value and a gradient on every node)."""
    order = topo_order(output)
    at = {leaf: k for k, leaf in enumerate(inputs)}
    members = set(order)
    for leaf in inputs:
        if leaf.a0 is not None or leaf not in members:
            raise CompileError(f"{leaf.label()} is not a leaf of the graph of {output.label()}")

    def replay(*batches: Any) -> Any:
        mirror: dict[Node, Node] = {}
        for n in order:
            k = at.get(n)
            if k is not None:
                mirror[n] = (var if n.requires_grad else const)(batches[k])
            elif n.a0 is None:
                mirror[n] = n  # a weight or a constant of the graph: read at each call
            else:
                mirror[n] = apply_bound(n.op, tuple([mirror[a] for a in n.args]), n.params)
        out = mirror[output]
        out.backward(accumulate=False)
        return out.item()  # (item is traced from any module; .value only from fn's own)

    return Compiled(replay)


def _key(args: tuple[Any, ...]) -> Any:
    out: list[Any] = []
    for a in args:
        if isinstance(a, np.ndarray):
            out.append((a.shape, a.dtype.str))
        elif a.__class__ is float:
            out.append(float)
        else:  # ints, strings, None ...: fn may branch on them, so each value has its plan
            try:
                hash(a)
            except TypeError:
                raise CompileError(
                    f"argument {len(out) + 1} is a {type(a).__name__}: a compiled function "
                    "takes arrays and numbers"
                ) from None
            out.append(("static", type(a), a))
    return tuple(out)


def _build(trace: _Trace, args: tuple[Any, ...], result: Any) -> Plan:
    if len(trace.backward) > 1:
        raise CompileError("fn calls backward() more than once: a plan holds one reverse sweep")
    loss: Node | None = None
    seed: Any = None
    leaves_accumulate = False
    arg_at = {id(a): i for i, a in enumerate(args) if isinstance(a, (np.ndarray, float))}
    first_at: dict[int, int] = {}
    aliases = []
    for k, a in enumerate(args):
        if isinstance(a, (np.ndarray, float)):
            first = first_at.setdefault(id(a), k)
            if first != k:
                aliases.append((first, k))
    # where the seed of backward comes from at each call: a node of the graph, an argument,
    # or neither (a constant, compared as the graph's constants are)
    seed_node: Node | None = None
    seed_arg: int | None = None
    if trace.backward:
        loss, gradient, seed_given, accumulate = trace.backward[0]
        if accumulate:
            raise CompileError("backward(accumulate=True) adds to earlier gradients: not compiled")
        leaves_accumulate = accumulate is None
        given = gradient if gradient is not None else seed_given
        seed = check_seed(loss, given)
        if isinstance(given, Node):
            seed_node = given
        elif given is not None:
            seed_arg = arg_at.get(id(given))
    roots: list[Node] = [n for n, _, _ in trace.reads] + [n for n, _ in trace.items]
    if seed_node is not None:
        roots.append(seed_node)
    if loss is not None:
        roots.append(loss)
    order = topo_order(roots) if roots else []
    for n in order:
        if n.kind not in _NUMERIC:
            raise CompileError(f"{n.label()} holds exact numbers: only float programs are compiled")
    slot = {n: i for i, n in enumerate(order)}
    plan = Plan()
    plan.leaves_accumulate = loss is not None and leaves_accumulate
    plan.slot_of = slot
    plan.aliases = tuple(aliases)
    size = len(order) + (seed_arg is not None)  # (one slot more: the seed argument's)
    plan.n_slots = size
    plan.values = [None] * size
    plan.grads = [_EMPTY] * size
    plan.kept = [None] * size
    plan.graph = Graph([loss] if loss is not None else roots[-1:]) if order else None
    names = _namer(plan.graph, slot, arg_at, trace.start)
    seed_from: int | None = None  # the slot the seed is read from at each call
    if seed_node is not None:
        seed_from = slot[seed_node]
    elif seed_arg is not None:
        seed_from = len(order)
        plan.args.append((seed_from, seed_arg, False))
        plan.values[seed_from] = args[seed_arg]
    elif seed is not None:
        plan.seed_const = seed

    try:
        _effects(plan, trace, order, names)
    except CompileError as e:  # (fn has run: say so, the user's parameters may have moved)
        ran = "this call ran fn once as written: its changes are made"
        raise CompileError(f"{e} ({ran})") from None

    # -- outputs (and which reads were only returned)
    swept = set(topo_order(loss)) if loss is not None else set()
    returned: set[Any] = set()
    plan.output = _template(result, trace, slot, returned, swept)

    # -- leaves and outside nodes
    start = trace.start
    V = plan.values
    structure = plan.structure
    for n in order:
        i = slot[n]
        if n.id < start:
            plan.reads.append((i, n))
            plan.signature.append((n, _signature(n.value)))
            if n.op.kept_vjps is not None:
                plan.kept_reads.append((i, n))
            V[i] = n.value
            structure.append(("outside", n.id))
            continue
        if n.a0 is not None:
            structure.append((n.op.name, n.requires_grad, tuple([slot[a] for a in n.args])))
            plan.ops.append(n.op.name)
            structure.append(_comparable(n.params))
            continue
        v = n.value
        redraw = trace.drawn.get(n)
        if redraw is not None:  # drawn at random in fn: drawn again at each call
            chosen = trace.chosen.get(n)
            if chosen is not None and not any(a is chosen for a in args):
                raise CompileError(_chosen_generator(names(n)))
            plan.drawn.append((i, redraw))
            V[i] = v
            structure.append(("drawn", n.requires_grad))
            continue
        j = arg_at.get(id(v))
        if j is not None:
            plan.args.append((i, j, False))
            structure.append(("argument", n.requires_grad, j))
        elif isinstance(v, np.ndarray):
            j = _normalised_arg(v, args)
            if j is not None:
                plan.args.append((i, j, True))
                structure.append(("argument", n.requires_grad, j, "as floats"))
            else:
                for k, a in enumerate(args):
                    if isinstance(a, np.ndarray) and np.shares_memory(a, v):
                        raise CompileError(
                            f"{names(n)} is a view of argument {k + 1}: pass the argument "
                            "itself to var/const and index the node"
                        )
                if n.requires_grad:
                    raise CompileError(_variable_made_in_fn(names(n), v))
                plan.consts.append((i, v))
                structure.append(("constant", False))
        else:
            if n.requires_grad and not _static_arg(v, args):
                raise CompileError(_variable_made_in_fn(names(n), v))
            plan.consts.append((i, v))
            structure.append(("constant", n.requires_grad))
        V[i] = v

    # -- guards: what fn read and did not return
    for k, (n, what, v) in enumerate(trace.reads):
        if k in returned or n not in slot or (what == "grad" and n not in swept):
            continue  # (backward never sets the gradient of a node outside its graph)
        if n.id < start and what == "value":
            continue  # an outside node's value is read at each call anyway (and signed)
        plan.guards.append((what, slot[n], _frozen(v)))
    for k, (n, _r) in enumerate(trace.items):
        if ("item", k) not in returned:
            plan.guards.append(("value", slot[n], _frozen(n.value)))

    # -- who reads what after the sweep (buffers nobody reads again can be reused)
    def seen(t: Any) -> None:
        if t[0] in ("value", "item"):
            plan.visible_values.add(t[1])
        elif t[0] == "grad":
            plan.visible_grads.add(t[1])
        elif t[0] in ("tuple", "list"):
            for x in t[1]:
                seen(x)
        elif t[0] == "dict":
            for x in t[1].values():
                seen(x)

    seen(plan.output)
    if seed_node is not None:
        plan.visible_values.add(slot[seed_node])  # (its buffer is the seed: not reused)
    for what, s_, _ in plan.guards:
        (plan.visible_values if what == "value" else plan.visible_grads).add(s_)
    for n in order:
        for a in n.args:
            plan.uses[slot[a]] = plan.uses.get(slot[a], 0) + 1
            plan.only_user[slot[a]] = n
        if n.id < start:
            plan.visible_values.add(slot[n])
            plan.visible_grads.add(slot[n])
    plan.only_user = {k: u for k, u in plan.only_user.items() if plan.uses[k] == 1}

    # -- forward calls (nodes doing one op on rows of one layer run as one call: _Layers)
    sweep = plan.sweep
    chains = _Chain.find(plan, order, slot, start)
    plan.chain_of = {m: c for c in chains for m in c.nodes}

    def make(n: Node) -> Step | None:
        chain = plan.chain_of.get(n)
        if chain is None:
            return _forward_step(plan, n, slot, names)
        return chain.forward_step(plan, slot, names) if n is chain.last else None

    layers = _Layers.find(plan, order, slot, start, names)
    if layers is not None:
        plan.layers = layers
        forward = layers.forward(order, make)
    else:
        made = [make(n) for n in order if n.id >= start and n.a0 is not None]
        forward = [step for step in made if step is not None]
    for step in forward:
        plan.steps.append(step)
        sweep.append(step.run)

    # -- the reverse sweep
    if loss is not None:
        _reverse(plan, loss, seed, seed_from, topo_order(loss), slot, names, trace, start)
        seed_source = (seed_from, seed_arg)
        structure.append(("backward", slot[loss], seed_source, plan.leaves_accumulate))
    plan.sweep[:] = _inline_sweep(plan, _fused_sweep(plan))
    structure.append(("guards", [(what, s_) for what, s_, _ in plan.guards]))
    structure.append(("aliases", plan.aliases))
    structure.append(("returns", _comparable(plan.output)))
    # arguments that are not arrays or floats are in the plan's key, value and all: nothing
    # fn could branch on is left to see
    plan.checked = not any(isinstance(a, np.ndarray) or a.__class__ is float for a in args)
    return plan


def _effects(plan: Plan, trace: _Trace, order: list[Node], names: Callable[[Node], str]) -> None:
    """``trace``'s changes of nodes outside the graph, placed before or after the sweep, or
    refused when no place gives fn's numbers: a change no call can make again (an assignment,
    an update in place), a step before backward, work on the parameters after a step."""
    start = trace.start
    if trace.changed:
        node, what = trace.changed[0]
        raise CompileError(_changed_in_fn(node.label(), what))
    for (kind, call, (at, backwards, reads, items)), targets in zip(
        trace.effects, trace.targets, strict=True
    ):
        what = _call_name(call)
        mine = sorted(n.label() for n in targets if n.id >= start)
        if mine:
            raise CompileError(
                f"{what} changes {mine[0]}, a node made in fn: a plan reads the parameters it "
                "updates from outside fn at each call; make the parameters (and the optimizer) "
                "outside fn"
            )
        if not backwards:
            if kind == "grads":
                plan.before.append(call)
                plan.structure.append(("before", kind, _call_key(call)))
                continue
            raise CompileError(
                f"fn calls {what} before backward(): a plan runs the parameters' update after "
                "the reverse sweep; call it after backward() in fn, or outside fn"
            )
        if kind == "values":
            late = [n for n in order if n.id > at]
            if late:
                raise CompileError(
                    f"fn computes {names(late[0])} after {what}: a plan updates the parameters "
                    "after the whole sweep; compute before the step, or after the compiled call"
                )
        for n, w, _ in trace.reads[reads:]:
            if n.id < start:
                raise CompileError(_read_after(n.label(), w, what))
        for n, _ in trace.items[items:]:
            if n.id < start:
                raise CompileError(_read_after(n.label(), "value", what))
        plan.after.append(call)
        plan.structure.append(("after", kind, _call_key(call)))
    if trace.settings:
        raise CompileError(
            f"fn sets an optimizer's {trace.settings[0]} (an optimizer made or set up in fn): "
            "a plan makes the step with the optimizer as it finds it; make and set it up "
            "outside the compiled call (a learning-rate schedule between calls)"
        )


def _call_name(call: Callable[[], Any]) -> str:
    func = getattr(call, "func", call)
    owner: Any = getattr(call, "args", (None,))[0]
    if func is _SLOT_GRAD.__set__:
        return f"setting {owner.label()}.grad"
    name = getattr(func, "__name__", "the call")
    return f"{type(owner).__name__}.{name}()" if owner is not None else f"{name}()"


def _call_key(call: Callable[[], Any]) -> tuple[Any, ...]:
    func = getattr(call, "func", call)
    args = getattr(call, "args", ())
    return (getattr(func, "__qualname__", repr(func)), *map(id, args[:1]))


def _changed_in_fn(name: str, what: str) -> str:
    if what == "grad":
        return (
            f"fn sets the gradient of {name} to a value a plan cannot set again (only None or "
            "zeros, as zero_grad does): set it outside fn"
        )
    return (
        f"fn changes the value of {name} (an assignment or an update in place), which a plan "
        "does not replay: update parameters with an optimizer (opt.step() in fn is replayed) "
        "or outside the compiled call"
    )


def _read_after(name: str, what: str, call: str) -> str:
    return (
        f"fn reads the {'gradient' if what == 'grad' else 'value'} of {name} after {call}: a "
        f"plan returns what the sweep computed; read it before {call}, or after the compiled "
        "call"
    )


def _frozen(v: Any) -> Any:
    return v.copy() if isinstance(v, np.ndarray) else v


def _normalised_arg(v: np.ndarray, args: tuple[Any, ...]) -> int | None:
    for k, a in enumerate(args):
        if (
            isinstance(a, np.ndarray)
            and a.dtype.kind in "iub"
            and a.shape == v.shape
            and v.dtype == np.float64
            and np.array_equal(a.astype(np.float64), v)
        ):
            return k
    return None


def _template(
    result: Any, trace: _Trace, slot: dict[Node, int], returned: set[Any], swept: set[Node]
) -> Any:
    """Where each returned thing comes from: a slot's value or gradient, a number taken with
    ``float(node)``, or a constant (what the plan cannot change, such as the gradient of a
    node outside the graph that backward swept)."""
    if isinstance(result, (tuple, list)):
        return (
            type(result).__name__,
            [_template(r, trace, slot, returned, swept) for r in result],
        )
    if isinstance(result, dict):
        return (
            "dict",
            {k: _template(r, trace, slot, returned, swept) for k, r in result.items()},
        )
    if isinstance(result, Node):
        raise CompileError(
            "fn returns a node: return its value or gradient (node.value, node.grad)"
        )
    if isinstance(result, (np.ndarray, float, np.floating)) and not (
        result is None or isinstance(result, bool)
    ):
        for k in range(len(trace.reads) - 1, -1, -1):
            n, what, v = trace.reads[k]
            if v is result and n in slot:
                returned.add(k)
                if what == "grad" and n not in swept:
                    return ("const", v)
                return (what, slot[n])
        for k in range(len(trace.items) - 1, -1, -1):
            n, r = trace.items[k]
            if r is result and n in slot:
                returned.add(("item", k))
                return ("item", slot[n])
        if isinstance(result, np.ndarray):
            raise CompileError(
                "fn returns an array that is neither a node's value nor its gradient (computed "
                "outside the graph?): build it from nodes and return node.value"
            )
        raise CompileError(
            f"fn returns the number {result!r}, which is neither a node's value nor its "
            "gradient: return node.value or float(node)"
        )
    return ("const", result)


def _namer(
    graph: Any, slot: dict[Node, int], arg_at: dict[int, int], start: int
) -> Callable[[Node], str]:
    """The graph's names, short: an argument of fn is arg1, arg2 ...; an unnamed constant or a
    name longer than a line's share is the slot's number (v12)."""

    def name(n: Node) -> str:
        if n.a0 is None and n.id >= start and not n.name:
            j = arg_at.get(id(_SLOT_VALUE.__get__(n, Node)))
            if j is not None:
                return f"arg{j + 1}"
            if n.op is _CONST:
                return f"const{slot[n]}"
        try:
            text = str(graph.label(n))
        except (KeyError, ChainruleError, AttributeError):
            text = n.label()
        return text if len(text) <= 24 else f"v{slot[n]}"

    return name


# ------------------------------------------------------------------ forward entries


def _forward_step(plan: Plan, n: Node, slot: dict[Node, int], names: Callable[[Node], str]) -> Step:
    V = plan.values
    K = plan.kept
    op = n.op
    params = n.params or {}
    ins = n.args
    src = [slot[a] for a in ins]
    o = slot[n]
    kinds = [a.kind for a in ins]
    kind = kinds[0]
    mixed = any(k != kind for k in kinds)
    if mixed:
        kind = combine_kinds(kinds)
    keep = op.keeping is not None and n.requires_grad and kind in op.keeping
    text = f"{names(n)} = {op.name}({', '.join(names(a) for a in ins)})"
    form = op.planned
    if form is not None and form.forward is not None:
        values = [_SLOT_VALUE.__get__(a, Node) for a in ins]
        site = Site(plan, n, values, _SLOT_VALUE.__get__(n, Node), src, o, params, keep)
        kernel = form.forward(site)
        if kernel is not None:
            return Step(_kernel_step(plan, n, kernel, "forward"), f"{text}    [{kernel.text}]")
    if not keep and (not mixed or set(kinds) <= {FLOAT, ARRAY}):
        # (convert leaves floats and float arrays as they are: a mixed op sees its inputs)
        fast = _fast_forward(plan, n, src, o, params)
        if fast is not None:
            return Step(fast[0], f"{text}    {fast[1]}")
    fwd = op.keeping[kind] if keep else op.forward[kind]  # type: ignore[index]

    def run() -> None:
        if mixed:
            vals = [convert(V[i], kind) for i in src]
        else:
            vals = [V[i] for i in src]
        r: Any = fwd(*vals, **params) if params else fwd(*vals)
        if keep:
            r, K[o] = r
        if r.__class__ is np.ndarray:
            if r.ndim == 0:
                r = float(r)
        elif r.__class__ is not float:
            r = float(r)
        V[o] = r

    how = "kept for backward" if keep else "op table"
    return Step(run, f"{text}    [{how}: {getattr(fwd, '__name__', op.name)}]")


def _fast_forward(
    plan: Plan, n: Node, src: list[int], o: int, params: dict[str, Any]
) -> tuple[Callable[[], None], str] | None:
    """A forward written into a kept buffer, computing the op table's numbers exactly: the
    same numpy call with ``out=`` (the buffer has the traced result's shape and dtype)."""
    V = plan.values
    y = _SLOT_VALUE.__get__(n, Node)
    ins = [_SLOT_VALUE.__get__(a, Node) for a in n.args]
    name = n.op.name
    if y.__class__ is float and all(v.__class__ is float for v in ins) and name in _FLOAT_OPS:
        f = n.op.forward[FLOAT]
        if len(src) == 2 and not params:
            a_, b_ = src

            def run_f2() -> None:
                V[o] = f(V[a_], V[b_])

            _code(run_f2, "V[$o] = $f(V[$a], V[$b])", o=o, f=f, a=a_, b=b_)
            return _mark(run_f2, ("f", f, o, a_, b_)), "[float]"
        if len(src) == 1 and not params:
            a_ = src[0]

            def run_f1() -> None:
                V[o] = f(V[a_])

            _code(run_f1, "V[$o] = $f(V[$a])", o=o, f=f, a=a_)
            return _mark(run_f1, ("f", f, o, a_, None)), "[float]"
        return None
    ufunc = _UFUNCS.get(name)
    if (
        ufunc is not None
        and len(ins) == 2
        and y.__class__ is np.ndarray
        and y.dtype == np.float64
        and y.flags.c_contiguous
        and all(
            v.__class__ is float or (v.__class__ is np.ndarray and v.dtype == np.float64)
            for v in ins
        )
    ):
        a_, b_ = src
        buf64 = np.empty_like(y)
        plan.buffers[("forward", o)] = buf64
        uf: Any = ufunc

        def run_mixed() -> None:
            V[o] = uf(V[a_], V[b_], out=buf64)

        _code(run_mixed, "V[$o] = $uf(V[$a], V[$b], out=$buf)", o=o, uf=uf, a=a_, b=b_, buf=buf64)
        return run_mixed, f"[np.{uf.__name__}(a, b, out=)]"
    if not (y.__class__ is np.ndarray and y.dtype.kind == "f" and y.flags.c_contiguous):
        return None
    if any(v.__class__ is not np.ndarray or v.dtype.kind != "f" for v in ins):
        return None
    buf = np.empty_like(y)
    plan.buffers[("forward", o)] = buf
    ufunc = _UFUNCS.get(name)
    if ufunc is not None and len(ins) == 2:
        a_, b_ = src

        def run_u() -> None:
            V[o] = ufunc(V[a_], V[b_], out=buf)

        _code(run_u, "V[$o] = $uf(V[$a], V[$b], out=$buf)", o=o, uf=ufunc, a=a_, b=b_, buf=buf)
        return run_u, f"[np.{ufunc.__name__}(a, b, out=)]"
    if name == "matmul" and len(ins) == 2 and y.ndim >= 1:
        a_, b_ = src

        def run_mm() -> None:
            V[o] = np.matmul(V[a_], V[b_], out=buf)

        _code(run_mm, "V[$o] = matmul(V[$a], V[$b], out=$buf)", o=o, a=a_, b=b_, buf=buf)
        return run_mm, "[np.matmul(a, b, out=)]"
    return None


_UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}
_FLOAT_OPS = {"add", "sub", "mul", "div", "neg"}  # float forwards that are Python's operators
# an elementwise op's partials as (input 0, input 1): a number, or the other input's value
_ARITH_PARTIALS: dict[str, tuple[Any, Any]] = {"add": (1, 1), "sub": (1, -1), "mul": (1, 0)}


# ------------------------------------------------------------------ the reverse sweep


def _reverse(
    plan: Plan,
    loss: Node,
    seed: Any,
    seed_from: int | None,
    order: list[Node],
    slot: dict[Node, int],
    names: Callable[[Node], str],
    trace: _Trace,
    start: int,
) -> None:
    V, G = plan.values, plan.grads
    # which gradients someone sees: returned ones, read ones, and every outside node's
    # (backward sets .grad on them, as it does without a plan)
    wanted: set[int] = set()

    def collect(t: Any) -> None:
        if t[0] == "grad":
            wanted.add(t[1])
        elif t[0] in ("tuple", "list"):
            for s in t[1]:
                collect(s)
        elif t[0] == "dict":
            for s in t[1].values():
                collect(s)

    collect(plan.output)
    for _, s, _ in plan.guards:
        wanted.add(s)  # a guarded gradient must be computed to be compared
    for n in order:
        if n.id < start:
            wanted.add(slot[n])
            plan.set_grads.append((n, slot[n]))
    need: dict[Node, bool] = {}
    for n in order:
        need[n] = slot[n] in wanted or any(a.requires_grad and need.get(a, False) for a in n.args)
    o = slot[loss]
    seed_value = seed
    sweep = plan.sweep
    name_of_loss = names(loss)
    seed_step = _seed_step(V, G, o, loss.kind, seed_value, seed_from, loss.value)
    top = in_derivative(name_of_loss)  # ∂(a + b)/∂a, never ∂a + b/∂a
    text = f"∂{top}/∂{top} = 1    [seed]"
    if seed_from is not None:
        text = f"∂{top}/∂{top} = the gradient given to backward    [seed, read at each call]"
    plan.steps.append(Step(seed_step, text))
    sweep.append(seed_step)
    fm, am = FloatMath, ArrayMath

    chains = list({id(c): c for c in plan.chain_of.values()}.values())
    for c in chains:
        c.reverse_ok = c.reversible(need)
    if chains and not _moved_sends_ok(order, need, [c for c in chains if c.reverse_ok]):
        for c in chains:
            c.reverse_ok = False

    def single(n: Node) -> Step | None:
        chain = plan.chain_of.get(n)
        if chain is not None and chain.reverse_ok:
            return chain.reverse_step(plan, slot, name_of_loss) if n is chain.last else None
        s = slot[n]
        zero = n.requires_grad or n.op is _INPUT
        kind = n.kind
        step = _unreached(G, V, s, zero, kind)
        if kind == FLOAT:
            _mark(step, ("r", s, (), 0.0 if zero else None))
        text = f"∂{top}/∂{in_derivative(names(n))}"
        if n.a0 is None:
            return Step(step, f"{text}: 0 if nothing reached it")
        edges = [(i, a) for i, a in enumerate(n.args) if a.requires_grad and need[a]]
        if not edges:
            return Step(step, f"{text}: 0 if nothing reached it")
        entry = _edge_steps(plan, n, edges, slot, fm, am)
        ins = ", ".join(f"∂{top}/∂{in_derivative(names(a))}" for _, a in edges)
        return Step(entry[0], f"{ins} += {text} · ∂{in_derivative(names(n))}    [{entry[1]}]")

    steps = None
    if plan.layers is not None:
        steps = plan.layers.reverse(order, need, single, name_of_loss)
    if steps is None:
        made = [single(n) for n in reversed(order) if need[n]]
        steps = [step for step in made if step is not None]
    for step in steps:
        plan.steps.append(step)
        sweep.append(step.run)


def _seed_step(
    V: list[Any], G: list[Any], o: int, kind: int, seed: Any, seed_from: int | None, value: Any
) -> Callable[[], None]:
    """The reverse sweep's first step: the loss's gradient is 1, the constant ``seed`` given
    to backward, or what slot ``seed_from`` holds at each call (an argument, a node), made
    what ``check_seed`` makes of it (a float, or an array of the loss's dtype)."""
    if seed_from is not None and kind == FLOAT:
        s = seed_from

        def given_number() -> None:
            G[o] = float(V[s])

        return _code(given_number, "G[$o] = float(V[$s])", o=o, s=s)
    if seed_from is not None:
        s, dtype, asarray = seed_from, value.dtype, np.asarray

        def given_array() -> None:
            G[o] = asarray(V[s], dtype=dtype)

        src = "G[$o] = $asarray(V[$s], dtype=$dtype)"
        return _code(given_array, src, o=o, s=s, asarray=asarray, dtype=dtype)

    def seed_step() -> None:
        G[o] = one_like(V[o], kind) if seed is None else seed

    if seed is None and kind == FLOAT:
        return _code(seed_step, "G[$o] = 1.0", o=o)  # one_like of a number
    if seed is None:
        return _code(seed_step, "G[$o] = one_like(V[$o], $kind)", o=o, kind=kind)
    return _code(seed_step, "G[$o] = $seed", o=o, seed=seed)


def _unreached(G: list[Any], V: list[Any], s: int, zero: bool, kind: int) -> Callable[[], None]:
    def step() -> None:
        if G[s] is _EMPTY:
            G[s] = zero_like(V[s], kind) if zero else None

    source = f"""
        if G[$s] is EMPTY:
            G[$s] = {"zero_like(V[$s], $kind)" if zero else "None"}
    """
    return _code(step, source, s=s, kind=kind)


def _edge_steps(
    plan: Plan,
    n: Node,
    edges: list[tuple[int, Node]],
    slot: dict[Node, int],
    fm: Any,
    am: Any,
) -> tuple[Callable[[], None], str]:
    """The chain rule from node ``n`` to the inputs in ``edges``, as the engine's reverse
    sweep takes it (the same rule, backend and order of sums)."""
    V, G, K = plan.values, plan.grads, plan.kept
    op = n.op
    s = slot[n]
    p = n.params
    args = n.args
    src = [slot[a] for a in args]
    dst = [(i, slot[a], a.kind) for i, a in edges]
    a0 = n.a0
    kinds = [a.kind for a in args]
    kept_rules: Any = op.kept_vjps
    vjps = op.vjps
    zero = n.requires_grad or op is _INPUT
    k = n.kind

    def unreached() -> bool:
        if G[s] is _EMPTY:
            G[s] = zero_like(V[s], k) if zero else None
            return True
        return False

    fast = _fast_edges(plan, n, edges, src, dst, unreached)
    if fast is not None:
        return fast
    if k == FLOAT and op.lean_partials is not None and a0 is not MANY:
        rules = op.lean_partials
        if len(args) == 1:
            x1: list[Any] = [None]
            i0, d0, _ = dst[0]
            r0 = rules[0]

            def run1() -> None:
                if unreached():
                    return
                x1[0] = V[src[0]]
                c = G[s] * r0(fm, x1, V[s], p)
                ag = G[d0]
                G[d0] = c if ag is _EMPTY else ag + c

            return run1, "float partial"
        x2: list[Any] = [None, None]
        pairs = [(rules[i], d) for i, d, _ in dst]

        def run2() -> None:
            if unreached():
                return
            g = G[s]
            x2[0] = V[src[0]]
            x2[1] = V[src[1]]
            y = V[s]
            for rule, d in pairs:
                c = g * rule(fm, x2, y, p)
                ag = G[d]
                G[d] = c if ag is _EMPTY else ag + c

        return run2, "float partials"
    if (
        k == ARRAY
        and a0 is not MANY
        and op.lean_partials is not None
        and all(kk in _NUMERIC for kk in kinds)
    ):
        rules = op.lean_partials
        pairs = [(rules[i], d) for i, d, _ in dst]

        def run_arr() -> None:
            if unreached():
                return
            g = G[s]
            xs = tuple([V[i] for i in src])
            y = V[s]
            for rule, d in pairs:
                _send(G, V, d, g * rule(am, xs, y, p))

        return run_arr, "array partials"
    if vjps.__class__ is tuple and all(kk in _NUMERIC for kk in kinds):
        M = am if ARRAY in kinds else fm
        rules_v = [
            (i, vjps[i], kept_rules[i] if kept_rules is not None else None, d) for i, d, _ in dst
        ]
        keeps = op.keeping is not None and n.requires_grad

        def run_vjp() -> None:
            if unreached():
                return
            g = G[s]
            x = tuple([V[i] for i in src])
            y = V[s]
            kept = K[s] if keeps else None
            for _i, rule, krule, d in rules_v:
                if kept is not None and krule is not None:
                    c = krule(M, g, kept, x, y, p)
                else:
                    c = rule(M, g, x, y, p)
                if c is not None:
                    _send(G, V, d, c)

        return run_vjp, "vjp" if kept_rules is None else "vjp, kept"
    # the general step (broadcast partials, ops of many inputs): ``contribution``
    from .autodiff import contribution

    kind = kinds[0]
    if any(kk != kind for kk in kinds):
        kind = combine_kinds(kinds)
    M = MATH[kind]

    def run_general() -> None:
        if unreached():
            return
        g = G[s]
        x = tuple([V[i] for i in src])
        y = V[s]
        for i, d, _ in dst:
            c = contribution(op, i, M, g, x, y, p, V[d])
            if c is None:
                continue
            ag = G[d]
            G[d] = c if ag is _EMPTY else ag + c

    return run_general, "contribution"


def _fast_edges(
    plan: Plan,
    n: Node,
    edges: list[tuple[int, Node]],
    src: list[int],
    dst: list[tuple[int, int, int]],
    unreached: Callable[[], bool],
) -> tuple[Callable[[], None], str] | None:
    """The reverse step written out for the traced shapes: arithmetic's partials, or the
    op's own compiled form (``Op.planned``: a dense layer, a ReLU, the fused losses ...),
    the numpy calls its rule makes with ``out=`` into kept buffers. The buffers are the first
    replay's own results, so they have its shapes, dtypes and layouts; ``_send`` then adds
    them up exactly as the engine does."""
    ins = [_SLOT_VALUE.__get__(a, Node) for a in n.args]
    y = _SLOT_VALUE.__get__(n, Node)
    arith = _arith_edges(plan, n, ins, y, src, dst, unreached)
    if arith is not None:
        return arith
    form = n.op.planned
    if form is None or form.reverse is None:
        return None
    params = n.params or {}
    site = Site(plan, n, ins, y, src, plan.slot_of[n], params, False, dst, unreached, _send)
    kernel = form.reverse(site)
    return None if kernel is None else (_kernel_step(plan, n, kernel, "reverse"), kernel.text)


def _arith_edges(
    plan: Plan,
    n: Node,
    ins: list[Any],
    y: Any,
    src: list[int],
    dst: list[tuple[int, int, int]],
    unreached: Callable[[], bool],
) -> tuple[Callable[[], None], str] | None:
    """+, − and · of numbers and float64 arrays, the reverse step written out: g·1, g·(−1),
    g·(the other input), summed over the batch for a number's gradient (``unbroadcast``'s
    ``c.sum()``), as the op table's partials give them."""
    partials = _ARITH_PARTIALS.get(n.op.name)
    if partials is None or len(ins) != 2 or n.a0 is MANY:
        return None
    shape = y.shape if y.__class__ is np.ndarray else None
    if not all(
        v.__class__ is float
        or (v.__class__ is np.ndarray and v.dtype == np.float64 and v.ndim and v.shape == shape)
        for v in [*ins, y]
    ):
        return None  # (an array broadcast against another is summed back by unbroadcast)
    V, G = plan.values, plan.grads
    o = plan.slot_of[n]
    # (the other input's slot, or None and a constant factor; whether the target is a number)
    edges = []
    for i, d, _ in dst:
        k = partials[i]
        other = src[1 - i] if n.op.name == "mul" else None
        edges.append((other, k, d, ins[i].__class__ is float))
    if y.__class__ is float:  # numbers only: Python's arithmetic, as the float sweep

        def run_float() -> None:
            if unreached():
                return
            g = G[o]
            for other, k, d, _number in edges:
                c = g * (V[other] if other is not None else k)
                ag = G[d]
                G[d] = c if ag is _EMPTY else ag + c

        if n.kind == FLOAT:
            zv = 0.0 if n.requires_grad or n.op is _INPUT else None
            spec = ("r", o, tuple((other, k, d) for other, k, d, _ in edges), zv)
            _mark(run_float, spec)
        return run_float, "float partials, written out"
    bufs: dict[int, np.ndarray] = {}
    plan.buffers_of[o] = bufs

    def run_array() -> None:
        if unreached():
            return
        g = G[o]
        if g.__class__ is not np.ndarray or g.shape != y.shape or g.dtype != np.float64:
            raise ValueError("not the traced gradient")  # replayed by fn instead
        for e, (other, k, d, number) in enumerate(edges):
            buf = bufs.get(e)  # one buffer per edge: x·x sends twice to x
            if buf is None:
                buf = bufs[e] = np.empty_like(g)
            c: Any = np.multiply(g, V[other] if other is not None else k, out=buf)
            if number:
                c = float(c.sum())  # unbroadcast to a number: the batch's sum
                ag = G[d]
                G[d] = c if ag is _EMPTY else ag + c
            else:
                ag = G[d]
                G[d] = c if ag is _EMPTY else ag + c

    return run_array, "partials written out, into buffers"


def _slot_of(plan: Plan, n: Node) -> int:
    return plan.slot_of[n]


def _send(G: list[Any], V: list[Any], d: int, c: Any, own: Any = None) -> None:
    """c added to the gradient of slot d (reduced to its value's shape first), as the
    engine adds: the first contribution is stored, later ones make ``ag + c``. When the
    gradient held is ``own`` (a buffer of the plan nobody else holds), ``ag + c`` is
    written into it."""
    v = V[d]
    if c.__class__ is not v.__class__ or (
        v.__class__ is np.ndarray
        and (c.shape != v.shape or (c.dtype is not v.dtype and c.dtype != v.dtype))
    ):
        c = unbroadcast(c, v)
    ag = G[d]
    if ag is _EMPTY:
        G[d] = c
    elif ag is own and c.__class__ is np.ndarray and c.dtype == ag.dtype and c.shape == ag.shape:
        np.add(ag, c, out=ag)
    else:
        G[d] = ag + c


# ------------------------------------------------------------------ layer batching
# A graph written one scalar at a time (micrograd's style: a neuron is a chain of w·h + a,
# then a ReLU) and evaluated with a batch in its input leaves has, at each depth, many nodes
# doing the same op on rows of the same length: a layer's 16 ReLUs, its 16×16 products. Such
# a group runs as one numpy call over a 2-D array whose rows are the nodes' values (the
# *arena*); the rows it reads are views of the arena (or one gather), found at compile time.
# Elementwise arithmetic gives each row the numbers its node would get alone, and the reverse
# sweep adds each gradient's contributions in the engine's order (a group's contributions to
# one node are folded in that order; every other gradient is sent as the engine sends it,
# and the schedule is checked to deliver them in the same order), so results stay
# bit-identical. Where the check fails, the reverse sweep runs node by node.

_LAYER_OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "relu": None}
_LAYER_MIN = 2  # nodes in a group worth one call
# rows longer than this gain little from one call (the per-call overhead is small beside the
# arithmetic) and their copies into the arena cost: such nodes run one by one
_LAYER_WIDTH = 16384


def _affine(idx: list[int], r1: int, r2: int) -> tuple[int, int] | None:
    """Steps (s1, s2) ≥ 0 with idx[a·r2 + b] = idx[0] + a·s1 + b·s2, or None."""
    base = idx[0]
    s1 = idx[r2] - base if r1 > 1 else 0
    s2 = idx[1] - base if r2 > 1 else 0
    if s1 < 0 or s2 < 0:
        return None
    for a in range(r1):
        for b in range(r2):
            if idx[a * r2 + b] != base + a * s1 + b * s2:
                return None
    return s1, s2


def _shape_of(idx: list[int]) -> tuple[int, int]:
    """The (r1, r2) that the row numbers ``idx`` fall into as a grid (runs of one step)."""
    k = len(idx)
    if k < 3:
        return 1, k
    step = idx[1] - idx[0]
    run = 1
    while run < k and idx[run] - idx[run - 1] == step:
        run += 1
    return (k // run, run) if k % run == 0 else (1, k)


def _grid(A: np.ndarray, idx: list[int], r1: int, r2: int, write: bool) -> np.ndarray | None:
    """Rows ``idx`` of ``A`` as an (r1, r2, columns) view, or None where they are no grid."""
    steps = _affine(idx, r1, r2)
    if steps is None or (write and len(set(idx)) != len(idx)):
        return None
    rs = A.strides[0]
    return np.lib.stride_tricks.as_strided(
        A[idx[0] :],
        shape=(r1, r2, A.shape[1]),
        strides=(steps[0] * rs, steps[1] * rs, A.strides[1]),
        writeable=write,
    )


class _Group:
    __slots__ = (
        "members",
        "name",
        "pattern",
        "lo",
        "k",
        "level",
        "floats",
        "grid",
        "reads",
        "gathers",
    )

    def __init__(self, members: list[Node], name: str, pattern: tuple[str, ...], level: int):
        self.members = members
        self.name = name
        self.pattern = pattern
        self.level = level
        self.lo = 0
        self.k = len(members)
        self.floats: dict[int, np.ndarray] = {}  # operand → its numbers, gathered per call
        self.grid = (1, len(members))
        self.reads: dict[int, np.ndarray] = {}  # operand → the (r1, r2, B) rows it reads
        self.gathers: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, buffer) per call


class _Layers:
    """The groups of a plan and the arena of their values and gradients (see above)."""

    def __init__(
        self,
        plan: Plan,
        slot: dict[Node, int],
        names: Callable[[Node], str],
        groups: list[_Group],
        rows: dict[Node, int],
        A: np.ndarray,
        outside: list[Node],
        start: int,
    ) -> None:
        self.plan = plan
        self.start = start
        self.modes: dict[Node, int] = {}
        self.slot = slot
        self.names = names
        self.groups = groups
        self.rows = rows
        self.A = A
        self.GA = np.zeros_like(A)
        plan.buffers[("arena", -1)] = A  # (kept between calls: Plan.nbytes counts them)
        plan.buffers[("arena-grad", -1)] = self.GA
        self.outside = outside  # nodes not in a group whose values a group reads (copied in)

    @classmethod
    def find(
        cls,
        plan: Plan,
        order: list[Node],
        slot: dict[Node, int],
        start: int,
        names: Callable[[Node], str],
    ) -> _Layers | None:
        level: dict[Node, int] = {}
        found: dict[Any, list[Node]] = {}
        for n in order:
            lv = 0
            if n.id >= start and n.a0 is not None:
                lv = 1 + max((level.get(a, 0) for a in n.args), default=0)
            level[n] = lv
            key = cls._key(plan, n, slot, start)
            if key is not None:
                found.setdefault((lv, *key), []).append(n)
        groups = [
            _Group(ms, key[1], key[2], key[0]) for key, ms in found.items() if len(ms) >= _LAYER_MIN
        ]
        if not groups:
            return None
        groups.sort(key=lambda g: (g.level, g.members[0].id))
        rows: dict[Node, int] = {}
        for g in groups:
            g.lo = len(rows)
            for m in g.members:
                rows[m] = len(rows)
        outside: list[Node] = []
        for g in groups:
            for m in g.members:
                for a, pat in zip(m.args, g.pattern, strict=True):
                    if pat == "a" and a not in rows:
                        rows[a] = len(rows)
                        outside.append(a)
        width = _SLOT_VALUE.__get__(groups[0].members[0], Node).shape[0]
        A = np.empty((len(rows), width))
        for n, r in rows.items():
            A[r] = _SLOT_VALUE.__get__(n, Node)
        layers = cls(plan, slot, names, groups, rows, A, outside, start)
        V = plan.values
        for g in groups:
            for m in g.members:
                V[slot[m]] = A[rows[m]]  # a node's value is its row, for every other step
            layers._operands(g)
        return layers

    @staticmethod
    def _key(plan: Plan, n: Node, slot: dict[Node, int], start: int) -> Any:
        name = n.op.name
        if (
            name not in _LAYER_OPS
            or n.id < start
            or n.a0 is None
            or n.a0 is MANY
            or n.params
            or n.op.keeping is not None
            or n.kind != ARRAY
        ):
            return None
        s = slot[n]
        if s in plan.visible_values or s in plan.visible_grads:
            return None
        y = _SLOT_VALUE.__get__(n, Node)
        if not (
            y.__class__ is np.ndarray
            and y.dtype == np.float64
            and y.ndim == 1
            and y.flags.c_contiguous
            and y.size <= _LAYER_WIDTH
        ):
            return None
        if len(n.args) != (1 if name == "relu" else 2):
            return None
        pattern = []
        for a in n.args:
            v = _SLOT_VALUE.__get__(a, Node)
            if v.__class__ is float and a.kind == FLOAT:
                pattern.append("f")
            elif v.__class__ is np.ndarray and v.dtype == np.float64 and v.shape == y.shape:
                pattern.append("a")
            else:
                return None
        if "a" not in pattern:
            return None
        return name, tuple(pattern), y.shape

    def _operands(self, g: _Group) -> None:
        """The grid the group runs on and, per operand, its rows as a view of that grid (a
        gather into a buffer where they form none), or its numbers' buffer."""
        arrays = {
            p: [self.rows[m.args[p]] for m in g.members]
            for p, pat in enumerate(g.pattern)
            if pat == "a"
        }
        best, fits = (1, g.k), -1
        for idx in arrays.values():
            shape = _shape_of(idx)
            n = sum(_affine(i, *shape) is not None for i in arrays.values())
            if n > fits:
                best, fits = shape, n
        g.grid = best
        r1, r2 = best
        for p, pat in enumerate(g.pattern):
            if pat == "f":
                g.floats[p] = np.empty(g.k)
                g.reads[p] = g.floats[p].reshape(r1, r2, 1)
                continue
            view = _grid(self.A, arrays[p], r1, r2, write=False)
            if view is None:
                buf = np.empty((g.k, self.A.shape[1]))
                self.plan.buffers[(f"gather{p}", self.slot[g.members[0]])] = buf
                g.gathers.append((np.array(arrays[p], dtype=np.intp), buf))
                view = buf.reshape(r1, r2, -1)
            g.reads[p] = view

    def _text(self, g: _Group) -> str:
        first, last = g.members[0], g.members[-1]
        op = g.name if g.name != "relu" else "relu"
        return (
            f"{self.names(first)} … {self.names(last)} = {g.k} × {op}    "
            f"[layer: one np call over arena rows {g.lo}–{g.lo + g.k - 1}]"
        )

    # -------------------------------------------------------------- forward
    def forward(self, order: list[Node], make: Callable[[Node], Step | None]) -> list[Step]:
        """The forward calls: each group one step, scheduled after what it reads."""
        units: list[Any] = []
        unit_of: dict[Node, int] = {}
        for g in self.groups:
            for m in g.members:
                unit_of[m] = len(units)
            units.append(g)
        for n in order:
            if n.a0 is not None and n not in unit_of and n.id >= self.start:
                unit_of[n] = len(units)
                units.append(n)
        after: list[set[int]] = [set() for _ in units]
        for u, unit in enumerate(units):
            members = unit.members if isinstance(unit, _Group) else [unit]
            for m in members:
                for a in m.args:
                    v = unit_of.get(a)
                    if v is not None and v != u:
                        after[u].add(v)
        steps: list[Step] = []
        copies: dict[int, list[Node]] = {}
        prologue: list[Node] = []
        for e in self.outside:
            ue = unit_of.get(e)
            if ue is None:
                prologue.append(e)
            else:
                copies.setdefault(ue, []).append(e)
        if prologue:
            steps.append(self._copy_in(prologue))
        for u in _kahn(after, [_first_id(x) for x in units]):
            unit = units[u]
            step = self._forward_group(unit) if isinstance(unit, _Group) else make(unit)
            if step is not None:
                steps.append(step)
            if u in copies:
                steps.append(self._copy_in(copies[u]))
        return steps

    def _copy_in(self, nodes: list[Node]) -> Step:
        V, A = self.plan.values, self.A
        pairs = [(self.slot[n], A[self.rows[n]]) for n in nodes]
        copyto = np.copyto

        def run() -> None:
            for s, row in pairs:
                copyto(row, V[s])

        text = ", ".join(self.names(n) for n in nodes)
        return Step(run, f"arena ← {text}    [copied into the layers' rows]")

    def _forward_group(self, g: _Group) -> Step:
        V, A = self.plan.values, self.A
        r1, r2 = g.grid
        out = A[g.lo : g.lo + g.k].reshape(r1, r2, -1)
        floats = [(buf, [self.slot[m.args[p]] for m in g.members]) for p, buf in g.floats.items()]
        gathers = g.gathers
        x = [g.reads[p] for p in range(len(g.pattern))]
        uf = _LAYER_OPS[g.name]
        take = A.take

        if g.name == "relu":
            maximum = np.maximum
            x0 = x[0]

            def run() -> None:
                for idx, buf in gathers:
                    take(idx, axis=0, out=buf)
                maximum(x0, 0, out=out)

        else:
            x0, x1 = x
            ufunc: Any = uf

            def run() -> None:
                for buf, slots in floats:
                    buf[:] = [V[i] for i in slots]
                for idx, gbuf in gathers:
                    take(idx, axis=0, out=gbuf)
                ufunc(x0, x1, out=out)

        return Step(run, self._text(g))

    # -------------------------------------------------------------- reverse
    def reverse(
        self,
        order: list[Node],
        need: dict[Node, bool],
        single: Callable[[Node], Step | None],
        loss_name: str,
    ) -> list[Step] | None:
        """The reverse sweep with each group as one step, or None where the engine's order
        of sums cannot be kept that way (the caller then runs it node by node)."""
        # the engine's contributions to each node, in the order it adds them
        sends: dict[Node, list[tuple[Node, int]]] = {}
        for n in reversed(order):
            if not need[n] or n.a0 is None:
                continue
            for i, a in enumerate(n.args):
                if a.requires_grad and need[a]:
                    sends.setdefault(a, []).append((n, i))
        batched: list[_Group] = []
        for g in self.groups:
            ok = all(need.get(m) and m in sends for m in g.members)
            edges = None
            if ok:
                edges = [tuple(a.requires_grad and need[a] for a in m.args) for m in g.members]
                ok = all(e == edges[0] for e in edges)
            if ok:
                batched.append(g)
        rb = {m: g for g in batched for m in g.members}
        self.modes = mode = cast(dict[Node, int], {})
        # how each batched node's gradient arrives: written by its one sender's group (1),
        # folded by the one group that sends all of it (2), or gathered from the slots (3)
        for m in rb:
            senders = sends[m]
            if all(s in rb for s, _ in senders):
                senders_groups = {id(rb[s]) for s, _ in senders}
                if len(senders) == 1:
                    mode[m] = 1
                elif len(senders_groups) == 1:
                    mode[m] = 2
                else:
                    mode[m] = 3
            else:
                mode[m] = 3
        units: list[Any] = []
        unit_of: dict[Node, int] = {}
        for g in batched:
            for m in g.members:
                unit_of[m] = len(units)
            units.append(g)
        for n in order:
            if need[n] and n not in unit_of:
                unit_of[n] = len(units)
                units.append(n)
        after: list[set[int]] = [set() for _ in units]
        for n in order:
            u = unit_of.get(n)
            if u is None or n.a0 is None:
                continue
            for a in n.args:
                v = unit_of.get(a)
                if v is not None and v != u:
                    after[v].add(u)  # a's gradient is complete once n has sent
        schedule = _kahn(after, [-_last_id(x) for x in units])
        # the order in which slots receive contributions, against the engine's
        got: dict[Node, list[tuple[Node, int]]] = {}
        plans: dict[int, Any] = {}
        for u in schedule:
            unit = units[u]
            if isinstance(unit, _Group):
                plans[u] = self._reverse_plan(unit, sends, mode, rb)
                for m, i, a in plans[u]["slot_sends"]:
                    got.setdefault(a, []).append((m, i))
            elif unit.a0 is not None:
                chain = self.plan.chain_of.get(unit)
                if chain is not None and chain.reverse_ok:
                    if unit is chain.last:  # the chain sends all of its own at its end
                        for sender, i, a in chain.sends(need):
                            got.setdefault(a, []).append((sender, i))
                    continue
                for i, a in enumerate(unit.args):
                    if a.requires_grad and need[a]:
                        got.setdefault(a, []).append((unit, i))
        for a, want in sends.items():
            if a in rb and mode[a] != 3:
                continue
            have = got.get(a, [])
            if have != want and not (
                len(want) >= 2 and have[:2] == want[1::-1] and have[2:] == want[2:]
            ):
                return None  # (two contributions add the same either way: a + b = b + a)
        steps = []
        for u in schedule:
            unit = units[u]
            if isinstance(unit, _Group):
                steps.append(self._reverse_group(unit, plans[u], loss_name))
            else:
                step = single(unit)
                if step is not None:
                    steps.append(step)
        return steps

    def _reverse_plan(
        self,
        g: _Group,
        sends: dict[Node, list[tuple[Node, int]]],
        mode: dict[Node, Any],
        rb: dict[Node, _Group],
    ) -> dict[str, Any]:
        """Where each of the group's contributions goes: into its target's row (mode 1), into
        a fold (mode 2), or to the target's slot, in the engine's order."""
        row_in = {m: r for r, m in enumerate(g.members)}
        out: dict[str, Any] = {"edges": [], "slot_sends": [], "folds": {}}
        for p in range(len(g.pattern)):
            first = g.members[0].args[p]
            if not (first.requires_grad and first in sends):
                continue
            out["edges"].append(p)
        # a node that the group sends to in mode 2: its contributions, all from this group
        for p in out["edges"]:
            for m in g.members:
                a = m.args[p]
                if a in rb and mode[a] == 2 and a not in out["folds"]:
                    out["folds"][a] = [(q, row_in[s]) for s, q in sends[a]]
        # slot sends, in the engine's order (its sweep: later nodes first, edges in order)
        ss = []
        for p in out["edges"]:
            for m in g.members:
                a = m.args[p]
                if a in rb and mode[a] in (1, 2):
                    continue
                ss.append((m, p, a))
        ss.sort(key=lambda t: (-t[0].id, t[1]))
        out["slot_sends"] = ss
        return out

    def _reverse_group(self, g: _Group, how: dict[str, Any], loss_name: str) -> Step:
        G, A, GA = self.plan.grads, self.A, self.GA
        rows, slot = self.rows, self.slot
        r1, r2 = g.grid
        k, width = g.k, A.shape[1]
        lo = g.lo
        grad = GA[lo : lo + k].reshape(r1, r2, width)
        modes = self.modes
        gathers = [(GA[rows[m]], slot[m]) for m in g.members if modes[m] == 3]
        edges: list[int] = how["edges"]
        contrib = np.empty((max(len(g.pattern), 1), k, width))
        self.plan.buffers[("layer-grad", slot[g.members[0]])] = contrib
        # per edge: where its product goes (a view of the targets' rows, or the buffer)
        into: dict[int, np.ndarray] = {}
        scatter: list[tuple[np.ndarray, np.ndarray, int]] = []
        for p in edges:
            targets = [m.args[p] for m in g.members]
            direct = all(modes.get(t) == 1 for t in targets)
            view = None
            if direct and g.pattern[p] == "a":
                view = _grid(GA, [rows[t] for t in targets], r1, r2, write=True)
            if view is not None:
                into[p] = view
                continue
            into[p] = contrib[p].reshape(r1, r2, width)
            sel = [r for r, t in enumerate(targets) if modes.get(t) == 1]
            if sel:
                scatter.append(
                    (
                        np.array([rows[targets[r]] for r in sel], dtype=np.intp),
                        np.array(sel, dtype=np.intp),
                        p,
                    )
                )
        folds = []
        flat = contrib.reshape(-1, width)
        by_count: dict[int, list[Node]] = {}
        for a, parts in how["folds"].items():
            by_count.setdefault(len(parts), []).append(a)
        for _count, targets in by_count.items():
            dest_rows = [rows[a] for a in targets]
            dest = _grid(GA, dest_rows, 1, len(dest_rows), write=True)
            cols = list(zip(*[how["folds"][a] for a in targets], strict=True))
            terms: list[tuple[np.ndarray | None, np.ndarray]] = []
            for col in cols:
                idx = [q * k + r for q, r in col]
                view = _grid(flat, idx, 1, len(idx), write=False)
                terms.append((view, np.array(idx, dtype=np.intp)))
            folds.append((dest, np.array(dest_rows, dtype=np.intp), terms))
        # slot sends: (edge, row, target slot, whether a number)
        row_in = {m: r for r, m in enumerate(g.members)}
        sends = [(p, row_in[m], slot[a], g.pattern[p] == "f") for m, p, a in how["slot_sends"]]
        floats_of = {p for p, _r, _s, f in sends if f}
        # numbers sent to distinct slots: one vector sum per edge, added to what the slots
        # hold in one call (each slot's ag + c, as the engine adds); the rest one by one
        vector: list[tuple[int, np.ndarray, list[int]]] = []
        distinct = len({d for _p, _r, d, _f in sends}) == len(sends)
        if sends and distinct and all(f for _p, _r, _s, f in sends):
            for p in sorted(floats_of):
                mine = [(r, d) for q, r, d, _f in sends if q == p]
                at = np.array([r for r, _ in mine], dtype=np.intp)
                vector.append((p, at, [d for _, d in mine]))
            sends = []
        x = [g.reads[p] for p in range(len(g.pattern))]
        name = g.name
        mask = np.empty((r1, r2, width), bool) if name == "relu" else None
        if mask is not None:
            self.plan.buffers[("layer-mask", slot[g.members[0]])] = mask
        multiply, add, greater, copyto = np.multiply, np.add, np.greater, np.copyto
        reduce_rows = np.add.reduce
        EMPTY = _EMPTY

        # each edge's partial, the engine's g · (∂ of the op): the other input, 1, −1, x > 0
        calls: list[tuple[Any, Any, np.ndarray]] = []
        for p in edges:
            if name == "mul":
                factor: Any = x[1 - p]
            elif name == "relu":
                factor = mask
            else:
                factor = -1 if name == "sub" and p == 1 else 1
            calls.append((grad, factor, into[p]))
        x0 = x[0]

        def run() -> None:
            for row, s in gathers:
                gs = G[s]
                if gs is EMPTY or gs.__class__ is not np.ndarray:
                    raise ValueError("a gradient the trace had")  # replayed by fn instead
                copyto(row, gs)
            if mask is not None:
                greater(x0, 0, out=mask)
            for gv, factor, dst in calls:
                multiply(gv, factor, out=dst)
            for dest_idx, src_idx, p in scatter:
                GA[dest_idx] = contrib[p][src_idx]
            for dest, dest_idx, terms in folds:
                parts = [flat[i] if v is None else v.reshape(-1, width) for v, i in terms]
                if dest is None:
                    acc = parts[0].copy() if len(parts) == 1 else add(parts[0], parts[1])
                    for t in parts[2:]:
                        add(acc, t, out=acc)
                    GA[dest_idx] = acc
                    continue
                d2 = dest.reshape(-1, width)
                if len(parts) == 1:
                    copyto(d2, parts[0])
                    continue
                add(parts[0], parts[1], out=d2)
                for t in parts[2:]:
                    add(d2, t, out=d2)
            for p, at, ds in vector:
                cv = reduce_rows(contrib[p], axis=1).take(at)
                ags = [G[d] for d in ds]
                if _empties(ags):
                    cs = cv.tolist()
                    new = [c_ if a_ is EMPTY else a_ + c_ for a_, c_ in zip(ags, cs, strict=True)]
                else:
                    new = (np.array(ags, dtype=np.float64) + cv).tolist()
                _drain(map(G.__setitem__, ds, new))
            if sends:
                sums = {p: reduce_rows(contrib[p], axis=1).tolist() for p in floats_of}
                for p, r, d, number in sends:
                    c: Any = sums[p][r] if number else contrib[p][r]
                    ag = G[d]
                    if ag is EMPTY:
                        G[d] = c
                    else:
                        G[d] = ag + c

        first, last = g.members[0], g.members[-1]
        return Step(
            run,
            f"∂{in_derivative(loss_name)}/∂(inputs of {self.names(first)} … {self.names(last)}) += "
            f"{g.k} × {g.name}'s partials    [layer: one np call per input, sums in the "
            "engine's order]",
        )


def _first_id(unit: Any) -> int:
    return int(unit.members[0].id) if isinstance(unit, _Group) else int(unit.id)


def _last_id(unit: Any) -> int:
    return int(unit.members[-1].id) if isinstance(unit, _Group) else int(unit.id)


def _kahn(after: list[set[int]], priority: list[int]) -> list[int]:
    """The units in an order that puts each after the ones in its ``after`` set, the one of
    lowest priority first among those ready."""
    waiting = [len(a) for a in after]
    users: list[list[int]] = [[] for _ in after]
    for u, deps in enumerate(after):
        for v in deps:
            users[v].append(u)
    ready = [(priority[u], u) for u in range(len(after)) if waiting[u] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, u = heapq.heappop(ready)
        out.append(u)
        for w in users[u]:
            waiting[w] -= 1
            if waiting[w] == 0:
                heapq.heappush(ready, (priority[w], w))
    if len(out) != len(after):
        raise AssertionError("the layers' schedule has a cycle")
    return out


# ------------------------------------------------------------------ sums of products
# An L2 penalty written one number at a time (reg = p₀·p₀; reg = reg + pₖ·pₖ …) is a chain
# of hundreds of float nodes. Its products are one np.multiply; its running sum is
# np.add.accumulate, which adds left to right exactly as the chain does; backward, every
# product receives the chain's gradient unchanged (g·1 = g) and sends g·bₖ and g·aₖ.

_CHAIN_MIN = 8  # terms worth one call


class _Chain:
    """t₀ + t₁ + … + t_N with tₖ = aₖ·bₖ, every partial sum used only by the next."""

    def __init__(self, first: Node) -> None:
        self.terms: list[Node] = [first]  # the products tₖ
        self.sums: list[Node] = []  # r₁ … r_N
        self.reverse_ok = False

    @property
    def last(self) -> Node:
        return self.sums[-1]

    @property
    def nodes(self) -> list[Node]:
        return [*self.terms, *self.sums]

    @staticmethod
    def find(plan: Plan, order: list[Node], slot: dict[Node, int], start: int) -> list[_Chain]:
        def number(n: Node) -> bool:
            return n.kind == FLOAT and _SLOT_VALUE.__get__(n, Node).__class__ is float

        def private(n: Node) -> bool:  # one user, and nobody sees it
            s = slot[n]
            return (
                plan.uses.get(s, 0) == 1
                and s not in plan.visible_values
                and s not in plan.visible_grads
            )

        def product(n: Node) -> bool:
            return (
                n.id >= start
                and n.op.name == "mul"
                and n.a0 is not None
                and n.a0 is not MANY
                and not n.params
                and len(n.args) == 2
                and number(n)
                and all(number(a) for a in n.args)
                and private(n)
            )

        chains: list[_Chain] = []
        open_: dict[Node, _Chain] = {}  # a chain's current end → the chain
        for n in order:
            if not (
                n.id >= start
                and n.op.name == "add"
                and n.a0 is not None
                and n.a0 is not MANY
                and not n.params
                and len(n.args) == 2
                and number(n)
            ):
                continue
            left, right = n.args
            if left is right or not product(right):
                continue
            chain = open_.pop(left, None)
            if chain is None:
                if not product(left):
                    continue
                chain = _Chain(left)
                chains.append(chain)
            elif not private(left):
                continue
            chain.terms.append(right)
            chain.sums.append(n)
            open_[n] = chain
        # an end that goes on into another sum was closed there: keep what is long enough
        return [c for c in chains if len(c.terms) >= _CHAIN_MIN]

    def sends(self, need: dict[Node, bool]) -> list[tuple[Node, int, Node]]:
        """The chain's contributions in the engine's order: (sender, edge, target)."""
        out = []
        for n in sorted(self.nodes, key=lambda m: -m.id):
            for i, a in enumerate(n.args):
                if a.requires_grad and need.get(a, False):
                    out.append((n, i, a))
        return out

    def forward_step(self, plan: Plan, slot: dict[Node, int], names: Callable[[Node], str]) -> Step:
        V = plan.values
        a_slots = [slot[t.args[0]] for t in self.terms]
        b_slots = [slot[t.args[1]] for t in self.terms]
        squares = a_slots == b_slots
        o = slot[self.last]
        multiply, accumulate = np.multiply, np.add.accumulate

        def run() -> None:
            a = np.array([V[i] for i in a_slots], dtype=np.float64)
            b = a if squares else np.array([V[i] for i in b_slots], dtype=np.float64)
            if a.ndim != 1 or b.ndim != 1:
                raise ValueError("not the traced numbers")  # replayed by fn instead
            V[o] = float(accumulate(multiply(a, b))[-1])

        first, last = self.terms[0], self.last
        return Step(
            run,
            f"{names(last)} = Σ of {len(self.terms)} products ({names(first)} …)    "
            "[np.multiply, np.add.accumulate: the chain's left-to-right sums]",
        )

    def reversible(self, need: dict[Node, bool]) -> bool:
        """Whether the reverse step can send as one: every node of the chain swept, the
        products' inputs all distinct leaves of the sweep (or each product a square)."""
        if not all(need.get(n, False) for n in self.nodes):
            return False
        a = [t.args[0] for t in self.terms]
        b = [t.args[1] for t in self.terms]
        if not all(x.requires_grad and need.get(x, False) for x in (*a, *b)):
            return False
        if all(x is y for x, y in zip(a, b, strict=True)):
            return len(set(a)) == len(a)
        return len(set(a) | set(b)) == 2 * len(a)

    def reverse_step(self, plan: Plan, slot: dict[Node, int], loss_name: str) -> Step:
        V, G = plan.values, plan.grads
        a_slots = [slot[t.args[0]] for t in self.terms]
        b_slots = [slot[t.args[1]] for t in self.terms]
        squares = a_slots == b_slots
        # the engine sends from the last product to the first
        a_rev, b_rev = a_slots[::-1], b_slots[::-1]
        o = slot[self.last]
        empty = _EMPTY
        multiply, add = np.multiply, np.add

        def fold(targets: list[int], *parts: np.ndarray) -> None:
            ags = [G[d] for d in targets]
            n_empty = _empties(ags)
            if n_empty == len(ags):
                total = parts[0]
                for p in parts[1:]:
                    total = add(total, p)
            elif not n_empty:
                total = np.array(ags, dtype=np.float64)
                for p in parts:
                    total = add(total, p)
            else:
                lists = [p.tolist() for p in parts]
                news = []
                for j, ag in enumerate(ags):
                    acc = ag
                    for q in lists:
                        acc = q[j] if acc is empty else acc + q[j]
                    news.append(acc)
                _drain(map(G.__setitem__, targets, news))
                return
            _drain(map(G.__setitem__, targets, total.tolist()))

        def run() -> None:
            g = G[o]
            if g is empty:
                return  # nothing reached the chain: no node of it sends
            if g.__class__ is not float:
                raise ValueError("not the traced gradient")  # replayed by fn instead
            a = np.array([V[i] for i in a_rev], dtype=np.float64)
            b = a if squares else np.array([V[i] for i in b_rev], dtype=np.float64)
            to_a = multiply(b, g)  # edge 0: g · bₖ
            to_b = multiply(a, g)  # edge 1: g · aₖ
            if squares:
                fold(a_rev, to_a, to_b)
            else:
                fold(a_rev, to_a)
                fold(b_rev, to_b)

        return Step(
            run,
            f"∂{in_derivative(loss_name)}/∂(inputs of the {len(self.terms)} products) "
            "+= g·b, g·a    "
            "[np.multiply: the chain passes g unchanged]",
        )


def _moved_sends_ok(order: list[Node], need: dict[Node, bool], chains: list[_Chain]) -> bool:
    """Whether each node still receives its contributions in the engine's order when every
    chain sends all of its own at its last node's turn (a + b = b + a: the first two may
    swap)."""
    member = {m: c for c in chains for m in c.nodes}
    want: dict[Node, list[Any]] = {}
    got: dict[Node, list[Any]] = {}
    for n in reversed(order):
        if not need[n] or n.a0 is None:
            continue
        for i, a in enumerate(n.args):
            if a.requires_grad and need[a]:
                want.setdefault(a, []).append((n, i))
        c = member.get(n)
        if c is None:
            for i, a in enumerate(n.args):
                if a.requires_grad and need[a]:
                    got.setdefault(a, []).append((n, i))
        elif n is c.last:
            for s, i, a in c.sends(need):
                got.setdefault(a, []).append((s, i))
    for a, w in want.items():
        h = got.get(a, [])
        if h != w and not (len(w) >= 2 and h[:2] == w[1::-1] and h[2:] == w[2:]):
            return False
    return True
