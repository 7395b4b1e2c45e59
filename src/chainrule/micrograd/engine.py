"""micrograd's ``Value`` on chainrule's graph: the same constructor, attributes and methods.

A ``Value`` is a chainrule ``Node`` (a subclass), so everything chainrule does with a graph
(``cr.draw``, ``cr.explain``, ``cr.check``, ``cr.Graph``) works on it, while code written for
micrograd 0.1.0 and its lecture runs by changing only the import. What stays micrograd's:

* ``backward()`` *adds* into ``.grad`` on every node, seeding the output with 1, exactly as
  micrograd does (chainrule's own nodes reset gradients first); ``zero_grad`` or setting
  ``p.grad = 0`` by hand is the learner's job;
* ``.data`` and ``.grad`` are plain numbers that may be read and written; ``.grad`` starts at 0;
* ``_prev`` (the set of inputs), ``_op`` (a short symbol), ``_backward`` (the node's own step of
  the chain rule, callable by hand as in the lecture) and ``label``.

Each operation is one entry of chainrule's op table (``a - b`` is one subtraction where
micrograd builds ``a + (b * -1)``), so drawings and worked solutions read like the code. The
differences are listed in docs/familiar-api.md.
"""

from __future__ import annotations

import math
import struct
from numbers import Real
from operator import attrgetter
from typing import Any

from ..core.backends import FloatMath
from ..core.errors import ChainruleError, DomainError
from ..core.node import Node, _ids, apply
from ..core.values import FLOAT
from ..ops import OPS, Op

_new = object.__new__

_INPUT = OPS["input"]
_CONST = OPS["const"]
_ADD = OPS["add"]
_SUB = OPS["sub"]
_MUL = OPS["mul"]
_DIV = OPS["div"]
_POW = OPS["pow"]
_NEG = OPS["neg"]
_RELU = OPS["relu"]
_TANH = OPS["tanh"]
_EXP = OPS["exp"]
_LOG = OPS["log"]
_SIGMOID = OPS["sigmoid"]

# micrograd's name for each operation (its graphviz drawings print ``_op``)
SYMBOLS: dict[Op, str] = {
    _ADD: "+",
    _SUB: "-",
    _MUL: "*",
    _DIV: "/",
    _NEG: "neg",
    _RELU: "ReLU",
    _TANH: "tanh",
    _EXP: "exp",
    _LOG: "log",
    _SIGMOID: "sigmoid",
}


class Label(str):
    """micrograd's ``label`` (a string), which chainrule's tools may also call as
    ``node.label()`` to get the name they show (the label, or ``v<number>`` when empty)."""

    fallback: str

    def __call__(self) -> str:
        return str(self) or self.fallback


class Value(Node):
    """A scalar in a computational graph, as micrograd's ``Value``.

    ``Value(data, _children=(), _op='', label='')``: the lecture's constructor. Children are
    accepted only empty: chainrule knows an operation by its entry in the op table, so new
    operations are written with the methods below (or chainrule's functions), not by hand."""

    __slots__ = ("_seen",)  # micrograd's backward marks the nodes it has collected here

    def __init__(self, data: Any, _children: Any = (), _op: str = "", label: str = "") -> None:
        if _children:
            raise ChainruleError(
                "Value(data, _children, _op) cannot build an operation by hand in chainrule: "
                "its derivative would be unknown to the op table. Use the operators and "
                "methods (+, *, **, relu, tanh, exp, ...) instead."
            )
        self.value = _number(data)
        self.grad = 0
        self.op = _INPUT
        self.a0 = None
        self.a1 = None
        self.name = label or None
        self.kind = FLOAT
        self.requires_grad = True
        self.params = None
        self._seen = None
        self.id = next(_ids)

    # -------------------------------------------------------------- micrograd's attributes
    @property
    def data(self) -> float:
        return self.value  # type: ignore[no-any-return]

    @data.setter
    def data(self, v: Any) -> None:
        self.value = _number(v)

    @property  # type: ignore[override]
    def label(self) -> Label:
        text = Label(self.name or "")
        text.fallback = f"v{self.id}"
        return text

    @label.setter
    def label(self, text: str) -> None:
        self.name = str(text) or None

    @property
    def _prev(self) -> set[Node]:
        """The inputs, as micrograd's ``_children``: a number exponent (the 2 of ``x**2``) is
        part of the op (``_op`` is ``**2``), not a node, and is never differentiated; walked
        by the lecture's ``draw_dot`` it would be a box saying grad 0."""
        if self.op is _POW and self.a1 is not None and self.a1.op is _CONST:
            return {self.a0}
        return set(self.args)

    @property
    def _op(self) -> str:
        op = self.op
        if op is _INPUT or op is _CONST:
            return ""
        if op is _POW:
            b = self.a1
            return f"**{_short(b.value)}" if b is not None and b.op is _CONST else "**"
        return SYMBOLS.get(op, op.name)

    @property
    def _backward(self) -> Any:
        """This node's step of the chain rule: add ``grad`` × each local partial into the
        inputs' ``grad`` (nothing for a leaf). The lecture calls it by hand, node by node."""
        return lambda: _step(self)

    # -------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Any:
        o = other if other.__class__ is Value else _wrap(other)
        if o is NotImplemented:
            return o
        return _binary(_ADD, self.value + o.value, self, o)

    def __radd__(self, other: Any) -> Any:
        o = _wrap(other)
        if o is NotImplemented:
            return o
        return _binary(_ADD, o.value + self.value, o, self)

    def __mul__(self, other: Any) -> Any:
        o = other if other.__class__ is Value else _wrap(other)
        if o is NotImplemented:
            return o
        return _binary(_MUL, self.value * o.value, self, o)

    def __rmul__(self, other: Any) -> Any:
        o = _wrap(other)
        if o is NotImplemented:
            return o
        return _binary(_MUL, o.value * self.value, o, self)

    def __sub__(self, other: Any) -> Any:
        o = other if other.__class__ is Value else _wrap(other)
        if o is NotImplemented:
            return o
        return _binary(_SUB, self.value - o.value, self, o)

    def __rsub__(self, other: Any) -> Any:
        o = _wrap(other)
        if o is NotImplemented:
            return o
        return _binary(_SUB, o.value - self.value, o, self)

    def __truediv__(self, other: Any) -> Any:
        o = other if other.__class__ is Value else _wrap(other)
        if o is NotImplemented:
            return o
        return _general(_DIV, self, o)

    def __rtruediv__(self, other: Any) -> Any:
        o = _wrap(other)
        if o is NotImplemented:
            return o
        return _general(_DIV, o, self)

    def __pow__(self, other: Any) -> Any:
        """``self ** k`` for a number k (micrograd's rule); a Value exponent works too."""
        o = other if other.__class__ is Value else _wrap(other)
        if o is NotImplemented:
            return o
        return _general(_POW, self, o)

    def __rpow__(self, other: Any) -> Any:
        o = _wrap(other)
        if o is NotImplemented:
            return o
        return _general(_POW, o, self)

    def __neg__(self) -> Any:
        return _unary(_NEG, -self.value, self)

    # in-place operators build a new node and rebind the name, as in micrograd (``c += 1``)
    __iadd__ = __add__
    __isub__ = __sub__
    __imul__ = __mul__
    __itruediv__ = __truediv__

    def relu(self) -> Any:
        v = self.value
        return _unary(_RELU, v if v > 0 else 0.0, self)

    def tanh(self) -> Any:
        return _unary(_TANH, math.tanh(self.value), self)

    def exp(self) -> Any:
        return _general(_EXP, self)

    def log(self) -> Any:
        return _general(_LOG, self)

    def sigmoid(self) -> Any:
        return _general(_SIGMOID, self)

    # -------------------------------------------------------------- differentiation
    def backward(self, *args: Any, **kwargs: Any) -> None:
        """micrograd's backward: set this node's grad to 1, then, outputs first, add every
        node's grad × local partial into its inputs' grad. Nothing is reset: gradients add
        up over calls until they are zeroed (``zero_grad``, or ``p.grad = 0``)."""
        if args or kwargs:
            raise TypeError(
                "micrograd's Value.backward() takes no arguments (it always starts from 1)"
            )
        order = _order(self)
        self.grad = 1
        _sweep(order)

    # -------------------------------------------------------------- showing
    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def _repr_svg_(self) -> str | None:
        """A Value shows itself as micrograd's text in notebooks; ``cr.draw(v)`` draws it."""
        return None

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, attr: str) -> Any:
        """The slots a new operation leaves unset, read with their defaults: building a node
        then stores only what differs (value, grad, op, inputs, creation number)."""
        try:
            return _UNSET_DEFAULTS[attr]
        except KeyError:
            raise AttributeError(attr) from None


# what an operation's node holds in the slots ``_binary`` and ``_unary`` do not fill
_UNSET_DEFAULTS: dict[str, Any] = {
    "name": None,
    "kind": FLOAT,
    "requires_grad": True,
    "params": None,
}


# ------------------------------------------------------------------ building nodes


def _number(v: Any) -> float:
    if isinstance(v, Node):
        raise TypeError(
            "a Value holds a number; use the node itself in expressions instead of wrapping it"
        )
    if not isinstance(v, Real) and not hasattr(v, "__float__"):
        raise TypeError(f"a Value holds a number, not {type(v).__name__}")
    return float(v)


def _wrap(other: Any) -> Any:
    """micrograd's ``other if isinstance(other, Value) else Value(other)``; a number becomes a
    constant (a leaf that is drawn as a number); anything else is left to its own operator."""
    if isinstance(other, Value):
        return other
    if isinstance(other, Node) or not isinstance(other, Real):
        return NotImplemented
    n = _new(Value)
    n.value = float(other)
    n.grad = 0
    n.op = _CONST
    n.a0 = None
    n.a1 = None
    n.name = None
    n.kind = FLOAT
    n.requires_grad = False
    n.params = None
    n._seen = None
    n.id = next(_ids)
    return n


def _binary(op: Op, value: float, a: Value, b: Value) -> Value:
    n = _new(Value)
    n.value = value
    n.grad = 0
    n.op = op
    n.a0 = a
    n.a1 = b
    n._seen = None
    n.id = next(_ids)
    return n


def _unary(op: Op, value: float, a: Value) -> Value:
    n = _new(Value)
    n.value = value
    n.grad = 0
    n.op = op
    n.a0 = a
    n.a1 = None
    n._seen = None
    n.id = next(_ids)
    return n


def _general(op: Op, *args: Value) -> Value:
    """An op through chainrule's ``apply`` (its domain checks and errors), as a Value."""
    node = apply(op, args)
    if node.value.__class__ is not float:
        raise DomainError(f"{op.name} does not give a real number here", node=None)
    if len(args) == 1:
        return _unary(op, node.value, args[0])
    return _binary(op, node.value, args[0], args[1])


def _short(v: float) -> str:
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else str(v)


# ------------------------------------------------------------------ the chain rule, micrograd's way


def _step(n: Node) -> None:
    """One node's ``_backward``: its grad times each local partial (the op table's), added
    into its inputs."""
    a = n.a0
    if a is None:
        return
    g = n.grad
    op = n.op
    b = n.a1
    rules: Any = op.partials
    x = [a.value] if b is None else [a.value, b.value]
    a.grad += g * rules[0](FloatMath, x, n.value, n.params)
    if b is not None and (b.requires_grad or op is not _POW):
        b.grad += g * rules[1](FloatMath, x, n.value, n.params)


# The sweep below writes out the chain rule of +, * and ReLU instead of calling their partials
# (networks are mostly these, and a call per edge halves the demo's speed). The rules stay the
# op table's: each written-out step is used only if, at import, the table's own partials give
# exactly its numbers at every probe point below; otherwise that op takes the table's rule
# like any other. tests/test_sweeps.py compares the sweep with the reference one bit for bit.
_PROBES = ((-2.5, 3.0), (0.0, -0.0), (-0.0, 1e-300), (4.0, 0.0), (1.5, -7.25), (1e300, -1e-300))


def _written_out(op: Op, step: Any) -> bool:
    """Whether ``step(x, y)`` (the partials as written out in the sweep) is what the table's
    partials of ``op`` give at the probe points, to the last bit."""
    for a, b in _PROBES:
        x = [a] if op.arity == 1 else [a, b]
        y = op.forward[FLOAT](*x)
        table = [_bits(rule(FloatMath, x, y, None)) for rule in op.partials or ()]
        if table != [_bits(d) for d in step(x, y)]:
            return False
    return True


def _bits(v: Any) -> bytes:
    return struct.pack("<d", float(v))


_NEVER = object()  # stands for an op whose written-out step disagreed with the table
_SUM = _ADD if _written_out(_ADD, lambda x, y: (1.0, 1.0)) else _NEVER
_PRODUCT = _MUL if _written_out(_MUL, lambda x, y: (x[1], x[0])) else _NEVER
_GATE = _RELU if _written_out(_RELU, lambda x, y: (1.0 if y > 0 else 0.0,)) else _NEVER


class _Seen:
    """A fresh marker per backward call, kept in the ``_seen`` slot of the
    nodes already collected: a set would cost a hash per edge."""

    __slots__ = ()


def _order(output: Value) -> list[Value]:
    """``topo_order`` for a graph of Values (their ``_seen`` slots hold the marker until
    ``_sweep`` clears them); creation numbers give the order.

    Kept beside core's ``topo_order`` because it is faster here: with ``topo_order`` (and no
    ``_seen`` slot to fill) micrograd's demo step took 4% longer and its backward 14% longer
    (82.3 against 79.0 ms and 41.6 against 36.6 ms of CPU, medians of 8 interleaved runs of the
    65,818-node step), the set of visited nodes costing more than a mark in a slot the sweep
    already reads. ``tests/test_sweeps.py`` holds the result to the reference sweep's."""
    mark: Any = _Seen()
    output._seen = mark
    order = [output]
    stack = [output]
    pop = stack.pop
    push = stack.append
    keep = order.append
    while stack:
        n = pop()
        a = n.a0
        if a is None:
            continue
        if a._seen is not mark:
            a._seen = mark
            push(a)
            keep(a)
        b = n.a1
        if b is not None and b._seen is not mark:
            b._seen = mark
            push(b)
            keep(b)
    order.sort(key=_creation)
    return order


_creation = attrgetter("id")


def _sweep(order: list[Value]) -> None:
    """``_step`` on every node, outputs first, with the steps of +, * and ReLU written out
    (checked against the table at import, see above); it also clears the marks ``_order``
    left."""
    fm = FloatMath
    x1: list[Any] = [None]
    x2: list[Any] = [None, None]
    MUL, ADD, RELU, POW = _PRODUCT, _SUM, _GATE, _POW  # locals: read on every node
    for n in reversed(order):
        n._seen = None
        a = n.a0
        if a is None:
            continue
        g = n.grad
        op = n.op
        b = n.a1
        if op is MUL:
            av = a.value
            a.grad += g * b.value
            b.grad += g * av
        elif op is ADD:
            a.grad += g
            b.grad += g
        elif op is RELU:
            if n.value > 0:
                a.grad += g
            else:
                a.grad += 0.0 * g
        else:
            rules: Any = op.partials
            if b is None:
                x1[0] = a.value
                a.grad += g * rules[0](fm, x1, n.value, n.params)
            else:
                x2[0] = a.value
                x2[1] = b.value
                a.grad += g * rules[0](fm, x2, n.value, n.params)
                # a number's grad accumulates as in micrograd, but an exponent is never
                # differentiated (micrograd has no node for it; ∂/∂k needs log of the base)
                if b.requires_grad or op is not POW:
                    b.grad += g * rules[1](fm, x2, n.value, n.params)
