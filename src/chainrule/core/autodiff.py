"""Reverse mode, forward mode, the gradient as a graph, and a numeric gradient check.

Every algorithm walks the tape (nodes sorted by creation number); none recurses on depth.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from operator import attrgetter
from typing import Any

import numpy as np

from ..ops import MATH, OPS, Op
from . import node as _node_module
from .backends import ArrayMath, Backend, ExactArrayMath, ExactMath, FloatMath, unbroadcast
from .errors import ChainruleError, DomainError, ShapeError, ValueInputError
from .limits import LimitError, check_derivative_graph, check_exact_size
from .node import MANY, Node, apply, compute, const, var
from .node_math import NodeMath
from .values import ARRAY, EXACT, EXACT_ARRAY, FLOAT, combine_kinds, normalize, to_float


def topo_order(outputs: Node | Iterable[Node]) -> list[Node]:
    """Every node the outputs depend on, inputs before the operations that use them.

    A depth-first sweep with an explicit stack collects the nodes; sorting by creation number
    puts them in an order where every input comes before its users (a node is always created
    after its inputs)."""
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    seen = set(outs)
    order = list(seen)
    stack = list(seen)
    pop = stack.pop
    push = stack.append
    add = seen.add
    keep = order.append
    while stack:
        n = pop()
        a = n.a0
        if a is None:
            continue
        b = n.a1
        if a is MANY:
            for a in b:
                if a not in seen:
                    add(a)
                    push(a)
                    keep(a)
            continue
        if a not in seen:
            add(a)
            push(a)
            keep(a)
        if b is not None and b not in seen:
            add(b)
            push(b)
            keep(b)
    order.sort(key=_creation)
    return order


_creation = attrgetter("id")


def filled_like(value: Any, kind: int, n: int) -> Any:
    """The number ``n`` in the shape and kind of ``value`` (0 for resets, 1 for seeds)."""
    if kind == FLOAT:
        return float(n)
    if kind == EXACT:
        return Fraction(n)
    if kind == EXACT_ARRAY:
        z = np.empty(np.shape(value), dtype=object)
        z.reshape(-1)[:] = [Fraction(n)] * z.size
        return z
    return np.full_like(value, n)


def zero_like(value: Any, kind: int) -> Any:
    return filled_like(value, kind, 0)


def one_like(value: Any, kind: int) -> Any:
    return filled_like(value, kind, 1)


def contribution(
    op: Op,
    i: int,
    M: Backend,
    g: Any,
    x: Any,
    y: Any,
    p: Any,
    like: Any,
    local: Any = None,
    kept: Any = None,
) -> Any:
    """The chain rule on one edge, the one place it is written: the upstream gradient ``g``
    times the local partial of input ``i`` (or the op's vector–Jacobian product), reduced to
    the input's shape. ``backward``, ``grad`` (with ``NodeMath``), ``jvp``, batched evaluation
    and the checker all call it; None means "nothing flows along this edge". ``local`` replaces
    the op's partial (the checker replays a learner's own numbers); ``kept`` is what the op
    kept for backward (``Node.kept``), for its ``kept_vjps``."""
    vjps = op.vjps
    kv: Any = op.kept_vjps
    if local is not None:
        c = M.times(g, local)
    elif kept is not None and kv is not None and kv[i] is not None:
        c = kv[i](M, g, kept, x, y, p)
    elif vjps is not None:
        c = vjps[i](M, g, x, y, p)
    else:
        partials = op.partials
        if partials is None:
            raise ChainruleError(f"{op.name} has no derivative rule")
        c = M.times(g, partials[i](M, x, y, p))
    if c is None:
        return None
    return M.unbroadcast(c, like)


def check_seed(output: Node, seed: Any) -> Any:
    """The seed of ``Node.backward``, as PyTorch asks for it: optional for a node with one
    element, required (and shaped like the node) for any other."""
    v = output.value
    if seed is None:
        if isinstance(v, np.ndarray) and v.size != 1:
            who = output.label()
            raise ValueInputError(
                f"backward() on {who}, which has shape {v.shape}, needs the gradient of the "
                f"loss with respect to {who}: call {who}.backward(gradient=...) with an array "
                f"of shape {v.shape} (np.ones({v.shape}) differentiates the sum of its "
                "elements), or reduce it to one number first (.sum(), .mean())",
                node=who,
            )
        return None
    if isinstance(seed, Node):
        seed = seed.value
    if isinstance(v, np.ndarray):
        arr = np.asarray(seed, dtype=v.dtype if v.dtype != object else None)
        if arr.shape != v.shape:
            raise ShapeError(
                f"the gradient given to backward() has shape {arr.shape}, the node {v.shape}",
                node=output.label(),
            )
        if v.dtype == object and arr.dtype != object:
            arr = normalize(arr, exact=True)
        return arr
    if np.ndim(seed) != 0:
        raise ShapeError(
            f"the gradient given to backward() has shape {np.shape(seed)}; the node is a number",
            node=output.label(),
        )
    return float(seed) if output.kind == FLOAT else seed


_INPUT = OPS["input"]
_CONST = OPS["const"]


# ------------------------------------------------------------------ the reference sweep


def reference_backward(
    output: Node,
    seed: Any = None,
    *,
    as_graph: bool = False,
    reached: Callable[[Node, Any], Any] | None = None,
    local: Callable[[Node, int, Any], Any] | None = None,
) -> dict[Node, Any]:
    """Reverse mode written plainly: the definition every faster sweep is tested against, and
    with ``as_graph`` the sweep ``grad`` runs (every rule evaluated with ``NodeMath``, so each
    gradient is a new node).

    ∂output/∂node for every node that needs a gradient, as a dict (the nodes' ``grad`` is not
    touched): outputs first, each node sends ``contribution`` (the chain rule on one edge) to
    each of its inputs, and an input adds up what it receives, in the order it arrives. The
    fast paths (``backward``'s chain and lean loops, micrograd's ``Value``, ``batch``, the
    explorer's sweep) must give the same gradients to the last bit; ``tests/test_sweeps.py``
    holds them to it on random programs.

    Two hooks let a caller step in (the checker puts a learner's numbers in this way):
    ``reached(node, g)`` sees each node's gradient once it is complete and returns the one to
    send on; ``local(node, i, d)`` sees the local partial of edge i (of an op with partials
    and no vjps) and returns the one to multiply by."""
    order = topo_order(output)
    if seed is None:
        seed = one_like(output.value, output.kind)
        if as_graph:
            seed = const(seed, exact=output.kind in (EXACT, EXACT_ARRAY))
    grads: dict[Node, Any] = {output: seed}
    for node in reversed(order):
        g = grads.get(node)
        if g is None:
            continue
        if reached is not None:
            g = grads[node] = reached(node, g)
        if not node.args:
            continue
        op = node.op
        likes: Sequence[Any]
        if as_graph:  # the rules build nodes from the nodes themselves
            M, x, y, likes, kept = NodeMath, node.args, node, node.args, None
        else:  # the backend follows the inputs' kind of number
            M, x = _inputs(node)
            y, likes, kept = node.value, [a.value for a in node.args], node.kept
        for i, a in enumerate(node.args):
            if not a.requires_grad:
                continue
            try:
                d = None
                if local is not None and op.vjps is None and op.partials is not None:
                    d = local(node, i, op.partials[i](M, x, y, node.params))
                c = contribution(op, i, M, g, x, y, node.params, likes[i], local=d, kept=kept)
            except (ZeroDivisionError, OverflowError, ValueError) as exc:
                if not as_graph:
                    raise
                raise _undefined_partial(node, exc) from exc
            if c is not None:
                grads[a] = c if a not in grads else grads[a] + c
    if as_graph:
        return grads
    for node in order:  # reached by no contribution: a zero gradient, as backward leaves it
        if node not in grads and (node.requires_grad or node.op is _INPUT):
            grads[node] = zero_like(node.value, node.kind)
    return grads


def backward(
    output: Node,
    seed: Any = None,
    *,
    accumulate: bool | None = False,
    order: Sequence[Node] | None = None,
) -> list[Node]:
    """Reverse mode: ∂output/∂node on every node the output depends on.

    ``accumulate=False`` replaces every gradient; ``None`` is PyTorch's ``backward``: the
    leaves that need a gradient add this pass's gradient to the one they hold (``old + new``,
    once the pass is complete), every other node holds this pass's; ``True`` adds on every
    node. The local partial of edge i of a node is ``node.local[i]`` (or
    ``local_partial(node, i)``) and the chain-rule contribution it carries is
    ``edge_contribution(node, i)``: both are evaluated from the op table when asked for, so
    the numeric pass never pays for them.
    The chain of one-input float nodes that ends at the output is swept as it is found; then
    float nodes of elementwise ops take a lean loop, every other node the general one. The
    leaves' held gradients are picked up by those same walks (where a leaf's gradient is
    overwritten), so accumulating costs no walk of its own."""
    if accumulate:
        # A fresh pass, then the earlier gradients added back: accumulating into the
        # intermediate nodes during the pass would send the old gradients down a second time.
        order = topo_order(output) if order is None else list(order)
        before = [n.grad for n in order]
        backward(output, seed, order=order)
        for n, old in zip(order, before, strict=True):
            if old is not None:
                n.grad = old if n.grad is None else old + n.grad
        return order
    if seed is None:
        seed = one_like(output.value, output.kind)
    held: list[tuple[Node, Any]] = []  # (leaf, the gradient it held before this pass)
    if order is not None:
        if accumulate is None:
            held = [
                (n, n.grad)
                for n in order
                if n.a0 is None and n.grad is not None and n.requires_grad
            ]
        for n in order:
            n.grad = None
        output.grad = seed
        try:
            _reverse_sweep(order, None)
        except BaseException:
            _restore(held, accumulate)
            raise
        _add_held(held, accumulate)
        return list(order)
    if output.a0 is None and output.grad is not None and output.requires_grad:
        held.append((output, output.grad))
    output.grad = seed
    head: list[Node] = []  # the nodes of the chain at the output, output first
    try:
        top = (
            _sweep_chain(output, head, held, accumulate is None) if output.kind == FLOAT else output
        )
        empty = _Unreached()  # what ``grad`` holds on a node no contribution has reached yet
        order = _mark_order(top, empty, held)
        try:
            _reverse_sweep(order, empty)
        except BaseException:
            for n in order:  # unreached, or a leaf holding part of this pass: cleared
                if n.grad is empty or (accumulate is None and n.a0 is None):
                    n.grad = None
            raise
    except BaseException:
        _restore(held, accumulate)
        raise
    _add_held(held, accumulate)
    if head:
        head.reverse()
        order += head
    return order


def _add_held(held: list[tuple[Node, Any]], accumulate: bool | None) -> None:
    """PyTorch's accumulation into leaves: what a leaf held plus this pass's gradient (a new
    object: never added in place, so an array the caller kept is not changed)."""
    if accumulate is None:
        for leaf, old in held:
            new = leaf.grad
            leaf.grad = old if new is None else old + new


def _restore(held: list[tuple[Node, Any]], accumulate: bool | None) -> None:
    """A pass that fails leaves the leaves' accumulated gradients as they were (the callers
    have cleared what it sent to the others)."""
    if accumulate is None:
        for leaf, old in held:
            leaf.grad = old


def _sweep_chain(
    node: Node, head: list[Node], held: list[tuple[Node, Any]], keep_leaves: bool
) -> Node:
    """Send the gradient down the chain of one-input float nodes that ends at the output, as
    the chain is found; returns the node where the chain stops, gradient complete, for the
    general sweep. A leaf at the chain's end that held a gradient goes into ``held``.

    Such a node's input has no other user the output depends on (that user would close a
    cycle), so its gradient is whole once this node has sent it: a chain needs no order and
    no marks, which a deep chain of ops would otherwise spend most of backward on."""
    fm = FloatMath
    x1: list[Any] = [None]
    g = node.grad
    rule = node.op.lean_unary  # None for a leaf, an op of several inputs, an op with vjps
    if rule is None:
        return node
    try:
        while True:
            a = node.a0
            if node.a1 is not None or node.kind != FLOAT or not a.requires_grad:
                return node
            x1[0] = a.value
            g = g * rule(fm, x1, node.value, node.params)
            head.append(node)
            rule = a.op.lean_unary  # the next node's rule, read once
            if rule is None:  # the chain stops at ``a``
                if a.a0 is None and a.grad is not None:
                    held.append((a, a.grad))  # a leaf that holds a gradient
                a.grad = g
                return a
            a.grad = g
            node = a
    except BaseException as exc:
        if node.a0 is not None:
            for n in topo_order(node.a0):  # unreached by this pass: no stale gradient stays
                if not (keep_leaves and n.a0 is None):  # (a leaf keeps what it held)
                    n.grad = None
        if isinstance(exc, (ZeroDivisionError, OverflowError, ValueError)):
            raise _undefined_partial(node, exc) from exc
        raise


def _undefined_partial(node: Node, exc: Exception) -> DomainError:
    """The error of a partial Python could not compute: undefined (1/x at 0), or defined but
    beyond the range of floats (x**1e308 overflows; at x = 1e-320, 1/x's −1/x² divides by an
    x² that underflowed to 0), which is said as such."""
    name = node.op.name
    if isinstance(exc, OverflowError):
        why = "overflows: it is beyond the largest float (about 1.8e308)"
    elif isinstance(exc, ZeroDivisionError) and _all_nonzero(node):
        why = "is beyond the range of floats: a number in it underflows to 0 (below 5e-324)"
    else:
        return DomainError(
            f"the local partial of {name} is undefined at this value ({exc})", node=node.label()
        )
    return DomainError(f"the local partial of {name} at this value {why}", node=node.label())


def _all_nonzero(node: Node) -> bool:
    for a in node.args:
        v = a.value
        if isinstance(v, (int, float)) and v == 0:
            return False
        if hasattr(v, "dtype") and v.dtype.kind in "fiuc" and not v.all():
            return False
    return True


class _Unreached:
    """A fresh marker per backward call: the nodes it collects carry it as their gradient until
    a contribution arrives, which spares a visited-set and a separate reset pass."""

    __slots__ = ()


def _mark_order(output: Node, mark: _Unreached, held: list[tuple[Node, Any]]) -> list[Node]:
    """``topo_order`` for one output that also marks the gradient of every node but the
    output as unreached (the output's gradient is already known). A leaf whose gradient the
    mark replaces goes into ``held`` with that gradient (what PyTorch's backward adds to)."""
    order = [output]
    stack = [output]
    path = True  # no node so far has a second input: the order found is one chain
    while stack:
        n = stack.pop()
        ng = None  # a popped leaf's held gradient was taken when it was pushed
        while True:  # down the first input without the stack: a chain costs no push or pop
            a = n.a0
            if a is None:
                if ng is not None and n.requires_grad:
                    held.append((n, ng))
                break
            b = n.a1
            if b is not None:
                path = False
                if a is MANY:
                    for a in b:
                        ag = a.grad
                        if ag is not mark:
                            if ag is not None and a.a0 is None and a.requires_grad:
                                held.append((a, ag))
                            a.grad = mark
                            stack.append(a)
                            order.append(a)
                    break
                bg = b.grad
                if bg is not mark:
                    if bg is not None and b.a0 is None and b.requires_grad:
                        held.append((b, bg))
                    b.grad = mark
                    stack.append(b)
                    order.append(b)
            ng = a.grad  # (if ``a`` is a leaf, the next step finds it and keeps this)
            if ng is mark:
                break
            a.grad = mark
            order.append(a)
            n = a
    if path:
        order.reverse()  # one chain, found from its end: every input already precedes its user
    else:
        order.sort(key=_creation)
    return order


def _reverse_sweep(order: Sequence[Node], empty: Any) -> None:
    """Send every node's gradient to its inputs, outputs first (the chain rule, edge by edge)."""
    fm = FloatMath
    am = ArrayMath
    # The inputs are handed to the partials in two reused lists: allocating a tuple per node
    # would also wake the garbage collector, which then walks the whole graph.
    x1: list[Any] = [None]
    x2: list[Any] = [None, None]
    node = None
    try:
        for node in reversed(order):
            g = node.grad
            if g is empty:
                if node.requires_grad or node.op is _INPUT:
                    node.grad = zero_like(node.value, node.kind)
                else:
                    node.grad = None
                continue
            a = node.a0
            if a is None:
                continue
            if node.kind == FLOAT:
                rules = node.op.lean_partials
                if rules is not None:
                    b = node.a1
                    if b is None:
                        if a.requires_grad:
                            x1[0] = a.value
                            c = g * rules[0](fm, x1, node.value, node.params)
                            ag = a.grad
                            a.grad = c if ag is empty else ag + c
                        continue
                    if a is not MANY:
                        x2[0] = a.value
                        x2[1] = b.value
                        if a.requires_grad:
                            c = g * rules[0](fm, x2, node.value, node.params)
                            ag = a.grad
                            a.grad = c if ag is empty else ag + c
                        if b.requires_grad:
                            c = g * rules[1](fm, x2, node.value, node.params)
                            ag = b.grad
                            b.grad = c if ag is empty else ag + c
                        continue
            elif node.kind == ARRAY and a is not MANY:
                # float arrays through an elementwise op: the same step, reduced only where
                # an input was broadcast
                rules = node.op.lean_partials
                b = node.a1
                if rules is not None and a.kind in _NUMERIC and (b is None or b.kind in _NUMERIC):
                    xs = (a.value,) if b is None else (a.value, b.value)
                    if a.requires_grad:
                        _send(a, g * rules[0](am, xs, node.value, node.params), empty)
                    if b is not None and b.requires_grad:
                        _send(b, g * rules[1](am, xs, node.value, node.params), empty)
                    continue
            vjps = node.op.vjps
            if vjps.__class__ is tuple:
                # float inputs through an op with vector-Jacobian products: ``contribution``
                # with its dispatch done once here
                args = (a,) if node.a1 is None else node.a1 if a is MANY else (a, node.a1)
                M = fm
                for arg in args:
                    k = arg.kind
                    if k == ARRAY:
                        M = am
                    elif k != FLOAT:
                        break
                else:
                    x = tuple([arg.value for arg in args])
                    y = node.value
                    p = node.params
                    kv: Any = node.op.kept_vjps
                    kept = node.kept if kv is not None else None
                    for i, arg in enumerate(args):
                        if not arg.requires_grad:
                            continue
                        if kept is not None and kv[i] is not None:
                            c = kv[i](M, g, kept, x, y, p)
                        else:
                            c = vjps[i](M, g, x, y, p)
                        if c is not None:
                            _send(arg, c, empty)
                    continue
            _backward_node(node, g, empty)
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        # (a try block costs nothing until something is raised)
        if node is None:
            raise
        raise _undefined_partial(node, exc) from exc


_NUMERIC = (FLOAT, ARRAY)


def _send(a: Node, c: Any, empty: Any) -> Any:
    """Add a contribution to an input's gradient, reduced to the input's shape and type
    (returned, as reduced)."""
    v = a.value
    if c.__class__ is not v.__class__ or (
        v.__class__ is np.ndarray
        and (c.shape != v.shape or (c.dtype is not v.dtype and c.dtype != v.dtype))
    ):
        c = unbroadcast(c, v)
    ag = a.grad
    a.grad = c if ag is empty else ag + c
    return c


def _inputs(node: Node) -> tuple[Any, tuple[Any, ...]]:
    """The maths backend for a node's partials and its input values as the op saw them.

    The backend follows the inputs, not the result: a loss of two arrays is a float, but its
    partials are arrays. Exact inputs of a float array op are read as floats."""
    args = node.args
    x = tuple([a.value for a in args])
    if not args:
        return MATH[node.kind], x
    kind = args[0].kind
    for a in args:
        if a.kind != kind:  # mixed kinds: exact inputs of a float array op are read as floats
            kind = combine_kinds([a.kind for a in args])
            break
    else:
        return MATH[kind], x
    if kind == ARRAY:
        x = tuple(
            to_float(v) if a.kind in (EXACT, EXACT_ARRAY) else v
            for a, v in zip(args, x, strict=True)
        )
    return MATH[kind], x


def _backward_node(node: Node, g: Any, empty: Any) -> None:
    """The general step: any kind of number, broadcasting, ops with vjps."""
    op = node.op
    M, x = _inputs(node)
    y = node.value
    p = node.params
    exact = M is ExactMath or M is ExactArrayMath
    for i, a in enumerate(node.args):
        if not a.requires_grad:
            continue
        c = contribution(op, i, M, g, x, y, p, a.value)
        if c is None:
            continue
        ag = a.grad
        a.grad = c if ag is empty else ag + c
        if exact:  # exact gradients grow with depth: bounded like exact values
            try:
                check_exact_size(a.grad, f"the gradient of {a.label()}")
            except LimitError as exc:
                raise LimitError(exc.message, node=node.label()) from None


def local_partial(node: Node, i: int) -> Any:
    """∂node/∂input_i at the node's current values, from the op table's generic partial
    (None when input i needs no gradient or the op has no readable local partial)."""
    args = node.args
    if not 0 <= i < len(args):
        raise ChainruleError(f"{node.label()} has no input {i} (it has {len(args)})")
    partials = node.op.partials
    if partials is None or not args[i].requires_grad:
        return None
    M, x = _inputs(node)
    return partials[i](M, x, node.value, node.params)


def local_partials(node: Node) -> tuple[Any, ...] | None:
    """Every local partial of a node (see ``local_partial``); None for a leaf or a node that
    ``backward`` has not reached."""
    if not node.args or node.grad is None:
        return None
    partials = node.op.partials
    if partials is None:
        return (None,) * len(node.args)
    M, x = _inputs(node)
    out: list[Any] = []
    for i, a in enumerate(node.args):
        if not a.requires_grad:
            out.append(None)
            continue
        try:
            out.append(partials[i](M, x, node.value, node.params))
        except (ZeroDivisionError, OverflowError, ValueError, DomainError):
            # undefined at these values (∂qᵖ/∂p = qᵖ·log q at q < 0): no number on that edge;
            # on the output's path backward has already said so, with line and column
            out.append(None)
    return tuple(out)


def edge_contribution(node: Node, i: int) -> Any:
    """The chain-rule product carried by edge i of ``node``: ∂L/∂node · ∂node/∂input_i,
    evaluated as the reverse sweep did (from what the op kept, while the node holds it)."""
    args = node.args
    if node.grad is None or not args:
        return None
    if not 0 <= i < len(args):
        raise ChainruleError(f"{node.label()} has no input {i} (it has {len(args)})")
    if not args[i].requires_grad:
        return None
    M, x = _inputs(node)
    try:
        return contribution(
            node.op, i, M, node.grad, x, node.value, node.params, args[i].value, kept=node.kept
        )
    except (ZeroDivisionError, OverflowError, ValueError, DomainError):
        return None  # the local partial is undefined here (off the output's path: see above)


# ------------------------------------------------------------------ gradient as a graph


def grad(output: Node, wrt: Sequence[Node] | Node) -> Any:
    """∂output/∂wrt built as new graph nodes, so it can be drawn and differentiated again.

    The same reverse step as ``backward``, with the node backend: every rule builds nodes."""

    single = isinstance(wrt, Node)
    targets: list[Node] = [wrt] if isinstance(wrt, Node) else list(wrt)
    grads = reference_backward(output, as_graph=True)
    out = []
    for t in targets:
        g = grads.get(t)
        out.append(
            g
            if g is not None
            else const(zero_like(t.value, t.kind), exact=t.kind in (EXACT, EXACT_ARRAY))
        )
    return out[0] if single else out


def derivatives(output: Node, wrt: Node, order: int) -> list[Any]:
    """Values of the 1st .. order-th derivatives of a scalar output with respect to one input."""
    if order < 1:
        raise ChainruleError("the order of a derivative must be 1 or more")
    values = []
    current = output
    for k in range(order):
        current = grad(current, wrt)
        values.append(current.value)
        if k + 1 < order:  # the next one is built from this graph: bound its size first
            check_derivative_graph(len(topo_order(current)), k + 1)
    return values


# ------------------------------------------------------------------ forward mode


def jvp(output: Node, tangents: dict[Node, Any]) -> Any:
    """Forward mode: the directional derivative of ``output`` along the given input tangents.

    An elementwise op carries a tangent as partial · tangent. Any other op has only its reverse
    step; the tangent comes from it by transposition: the contribution is linear in the
    upstream gradient g, so the derivative of ⟨contribution(g), t⟩ with respect to g is J·t."""
    order = topo_order(output)
    tan: dict[Node, Any] = {}
    for node in order:
        if not node.args:
            if node in tangents:
                tan[node] = tangents[node]
            continue
        ts = [tan.get(a) for a in node.args]
        if all(t is None for t in ts):
            continue
        op = node.op
        M, x = _inputs(node)
        total: Any = None
        for i, t in enumerate(ts):
            if t is None or not node.args[i].requires_grad:
                continue
            if op.elementwise and op.vjps is None and op.partials is not None:
                term = op.partials[i](M, x, node.value, node.params) * t
            else:
                term = _transposed(node, i, x, t)
            total = term if total is None else total + term
        if total is not None:
            tan[node] = total
    return tan.get(output, zero_like(output.value, output.kind))


def _transposed(node: Node, i: int, x: tuple[Any, ...], t: Any) -> Any:
    """J_i · t for input i of ``node``, from the op's reverse step (see ``jvp``)."""

    exact = node.kind in (EXACT, EXACT_ARRAY)
    g = var(zero_like(node.value, node.kind), exact=exact)
    xs = tuple(const(v, exact=exact) for v in x)
    c = contribution(
        node.op, i, NodeMath, g, xs, const(node.value, exact=exact), node.params, xs[i]
    )
    if c is None:
        return zero_like(node.value, node.kind)
    pairing = OPS["sum"]
    s = c * const(t, exact=exact)
    if s.shape:
        s = apply(pairing, (s,))
    return grad(s, g).value


# ------------------------------------------------------------------ numeric check


@dataclass
class LeafCheck:
    name: str
    analytic: Any
    numeric: Any
    max_abs_error: float
    max_rel_error: float
    ok: bool


def evaluate(order: Sequence[Node]) -> None:
    """Recompute every value along a tape (leaves as they stand)."""
    for node in order:
        if node.args:
            node.value, node.kind = compute(node.op, node.args, node.params)


def gradcheck(
    output: Node, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-8
) -> list[LeafCheck]:
    """Compare reverse-mode gradients with central differences for every input leaf."""
    order = topo_order(output)
    leaves = [n for n in order if not n.args and n.requires_grad]
    saved = {n: (n.value, n.kind) for n in order}
    backward(output, order=order)
    results = []
    try:
        for leaf in leaves:
            base = to_float(leaf.value)
            analytic = to_float(leaf.grad)
            if isinstance(base, np.ndarray):
                numeric = np.zeros_like(base, dtype=np.float64)
                for idx in np.ndindex(base.shape):
                    numeric[idx] = _central(order, output, leaf, base, idx, eps)
            else:
                numeric = _central(order, output, leaf, base, None, eps)
            leaf.value, leaf.kind = saved[leaf]
            err = np.abs(np.asarray(analytic, dtype=float) - np.asarray(numeric, dtype=float))
            scale = np.maximum(np.abs(np.asarray(numeric, dtype=float)), 1e-12)
            ok = bool(np.all(err <= atol + rtol * np.abs(np.asarray(numeric, dtype=float))))
            results.append(
                LeafCheck(
                    leaf.label(),
                    analytic,
                    numeric,
                    float(np.max(err)),
                    float(np.max(err / scale)),
                    ok,
                )
            )
    finally:
        for n, (v, k) in saved.items():
            n.value, n.kind = v, k
        evaluate(order)
    return results


def _central(order: Sequence[Node], output: Node, leaf: Node, base: Any, idx: Any, eps: float):
    def at(delta: float) -> float:
        if idx is None:
            leaf.value, leaf.kind = base + delta, FLOAT
        else:
            v = np.array(base, dtype=np.float64)
            v[idx] += delta
            leaf.value, leaf.kind = v, ARRAY
        for n in order:
            if not n.args and n is not leaf:
                n.value, n.kind = (
                    to_float(n.value),
                    (ARRAY if isinstance(n.value, np.ndarray) else FLOAT),
                )
        evaluate(order)
        return float(to_float(output.value))

    return (at(eps) - at(-eps)) / (2 * eps)


# ``Node.backward`` and ``Node.local`` run the sweep above; node.py sits below this module and
# cannot import it, so this module installs itself there (the only call that goes upward)
_node_module._autodiff = sys.modules[__name__]
