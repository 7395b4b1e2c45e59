"""``Node``: one value in a computational graph, built by operator overloading.

Nodes are created in topological order (an input always exists before the operation that uses
it), so every node carries a creation number and a graph is the set of nodes an output depends
on, sorted by that number: no recursion anywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ops import OPS, Op
from .display import svg
from .errors import ChainruleError, DomainError, ShapeError
from .lazy import is_sympy
from .limits import check_exact_size
from .values import (
    ARRAY,
    EXACT,
    EXACT_ARRAY,
    FLOAT,
    combine_kinds,
    convert,
    decimal,
    kind_of,
    normalize,
)

_ids = itertools.count()
# chainrule.core.autodiff, the reverse sweep: it sits above this module (it imports it), so it
# installs itself here when it loads, and ``Node.backward``/``Node.local`` call it through this
_autodiff: Any = None


_grad_on = True  # False inside ``no_grad()`` (chainrule.core.gradmode): new nodes need no gradient

_INPUT = OPS["input"]
_CONST = OPS["const"]


class _Many:
    """Marks a node with more than two inputs (its ``a1`` then holds the whole tuple)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<more than two inputs>"


MANY: Any = _Many()


# Filled in by the floors above when they load (this module is theirs to build on):
# the op table's functions by name (``chainrule.functions``: ``abs(x)`` and numpy's ufuncs on
# a node), and what ``pickle`` and ``copy`` call for a node and a graph (``core/pickling``)
FUNCTIONS: dict[str, Callable[..., Any]] = {}
REDUCE: dict[str, Callable[[Any], Any]] = {}

REPR_ELEMENTS = 12  # a larger array is shown by its first and last numbers and its shape


def _brief(v: Any) -> str:
    """A value for ``repr``: an array of thousands of numbers hides the node it belongs to."""
    if isinstance(v, np.ndarray) and v.size > REPR_ELEMENTS:
        flat = v.reshape(-1)
        head, tail = decimal(flat[:3]), decimal(flat[-3:])
        shape = "×".join(map(str, v.shape))
        return f"{head[:-1]}, …, {tail[1:]} ({shape}, {v.dtype})"
    return decimal(v)


class Node:
    """A value in a graph: its operation, its inputs, and after ``backward`` its gradient.

    The inputs are kept in two slots, ``a0`` and ``a1`` (``a1`` is None for one input; with
    more than two inputs ``a0`` is ``MANY`` and ``a1`` the tuple), so that building a node
    allocates nothing but the node; ``args`` gives them as a tuple. ``local`` (the local
    partial of each input edge) is computed from the op table when it is read, so that the
    numeric fast path never pays for it.

    It has no ``__init__``: ``new_node`` makes one, and the float fast paths build one field by
    field from a bare ``Node()``, which skips a Python-level call per node."""

    __slots__ = (
        "value",
        "grad",
        "op",
        "a0",
        "a1",
        "name",
        "kind",
        "requires_grad",
        "params",
        "id",
        "_local",
        "__weakref__",
    )

    value: Any
    grad: Any
    op: Op
    a0: Any
    a1: Any
    name: str | None
    kind: int
    requires_grad: bool
    params: dict[str, Any] | None
    id: int
    # memo of what was derived from the current value: (value, gradient, local partials), or
    # (value, KEPT, what the op kept for backward)
    _local: tuple[Any, Any, Any]

    # -------------------------------------------------------------- information
    @property
    def args(self) -> tuple[Node, ...]:
        """The inputs, in order (empty for a leaf)."""
        a = self.a0
        if a is None:
            return ()
        b = self.a1
        if b is None:
            return (a,)
        if a is MANY:
            return b  # type: ignore[no-any-return]
        return (a, b)

    @property
    def is_leaf(self) -> bool:
        return self.a0 is None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.value))

    @property
    def ndim(self) -> int:
        v = self.value
        return v.ndim if v.__class__ is np.ndarray else int(np.ndim(v))

    @property
    def exact(self) -> bool:
        return self.kind in (EXACT, EXACT_ARRAY)

    @property
    def kept(self) -> Any:
        """What this node's op kept for backward (``Op.keeping``), while the node still holds
        the value it came with; None otherwise."""
        try:
            value, mark, kept = self._local
        except AttributeError:
            return None
        return kept if mark is KEPT and value is self.value else None

    @property
    def local(self) -> tuple[Any, ...] | None:
        """∂self/∂input_i for each input edge (None for an input that needs no gradient);
        None before ``backward`` has reached this node. Evaluated from the op table on the
        node's current values when read."""
        try:
            value, grad, local = self._local
            if value is self.value and grad is self.grad:
                return local  # type: ignore[no-any-return]
        except AttributeError:  # never read before (the slot stays empty on the fast path)
            pass
        local = _autodiff.local_partials(self)
        self._local = (self.value, self.grad, local)
        return local

    def label(self) -> str:
        """The name people know this node by (its name, or its creation number)."""
        return self.name if self.name else f"v{self.id}"

    def named(self, name: str) -> Node:
        self.name = name
        return self

    def item(self) -> float:
        if isinstance(self.value, np.ndarray):
            return float(self.value.item())
        return float(self.value)

    def __repr__(self) -> str:
        who = f"{self.name} = " if self.name else ""
        grad = "" if self.grad is None else f", grad={_brief(self.grad)}"
        return f"<Node {who}{self.op.name} value={_brief(self.value)}{grad}>"

    def _repr_svg_(self) -> str | None:  # Jupyter
        return svg(self)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """``pickle`` and ``copy.deepcopy``: the node with everything it depends on, written
        flat (no recursion on the graph's depth; see ``chainrule.core.pickling``)."""
        return REDUCE["node"](self)

    # -------------------------------------------------------------- differentiation
    def backward(
        self, gradient: Any = None, *, accumulate: bool | None = None, seed: Any = None
    ) -> None:
        """Fill ``grad`` on every node this one depends on (reverse mode).

        As in PyTorch, the gradients of leaves (parameters, inputs) *accumulate*: a second
        ``backward`` adds to what the first left, until ``zero_grad`` (or ``opt.step()``, or
        ``p.grad = None``) clears them; every other node holds the gradient of this pass.
        ``accumulate=False`` replaces every gradient, ``accumulate=True`` adds on every node.
        As in PyTorch, a node with more than one element needs ``gradient`` (∂L/∂self, shaped
        like it): there is no single obvious seed, and silently seeding ones would sum the
        outputs."""
        ad = _autodiff
        seed = ad.check_seed(self, gradient if gradient is not None else seed)
        ad.backward(self, seed=seed, accumulate=accumulate)  # None: the leaves accumulate

    # -------------------------------------------------------------- operators
    # (the arithmetic operators are attached below, from the op table, with a float fast path)

    def __neg__(self) -> Node:
        return _neg(self)

    def __pos__(self) -> Node:
        return self

    def __abs__(self) -> Node:
        return FUNCTIONS["abs"](self)  # type: ignore[no-any-return]

    def __matmul__(self, other: Any) -> Node:
        return apply(_MATMUL, (self, lift(other, self)))

    def __rmatmul__(self, other: Any) -> Node:
        return apply(_MATMUL, (lift(other, self), self))

    def __getitem__(self, index: Any) -> Node:
        return apply(OPS["index"], (self,), {"index": index})

    @property
    def T(self) -> Node:
        """The transpose; a vector (or a number) is left as it is, so wᵀx reads as written."""
        if self.ndim < 2:
            return self
        return apply(OPS["transpose"], (self,))

    def __iter__(self) -> Iterator[Node]:
        if not isinstance(self.value, np.ndarray) or self.value.ndim == 0:
            raise TypeError("a scalar node cannot be iterated")
        return (self[i] for i in range(self.value.shape[0]))

    def __len__(self) -> int:
        if not isinstance(self.value, np.ndarray) or self.value.ndim == 0:
            raise TypeError("a scalar node has no length")
        return int(self.value.shape[0])

    def __float__(self) -> float:
        return self.item()

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy meeting a node: ``np.float64(2) * x``, ``array + x`` and ``np.exp(x)`` are the
        node's own operations (numpy would otherwise make an array of objects, one node per
        element, that is not a node and has no ``backward``)."""
        name = _UFUNCS.get(ufunc.__name__)
        if method != "__call__" or kwargs or name is None:
            raise TypeError(
                f"numpy's {ufunc.__name__}{'' if method == '__call__' else '.' + method} "
                "cannot take a chainrule node: use the node's operators and chainrule's "
                "functions (cr.exp, cr.maximum, x.sum() ...), or x.value for its numbers"
            )
        dunder = _DUNDERS.get(name)
        if dunder is not None:  # an operator: the node's own (a subclass's, for Value)
            a, b = inputs
            if isinstance(a, Node):
                return getattr(type(a), f"__{dunder}__")(a, b)
            return getattr(type(b), f"__r{dunder}__")(b, a)
        x = inputs[0]
        if len(inputs) == 1 and type(x) is not Node and callable(getattr(x, name, None)):
            return getattr(x, name)()  # micrograd's Value keeps its own exp, tanh ...
        return FUNCTIONS[name](*inputs)

    def __bool__(self) -> bool:
        raise TypeError(
            "a node has no truth value; compare node.value instead (graphs hold no branches)"
        )

    if TYPE_CHECKING:  # the operators attached below, as the type checker should see them

        def __add__(self, other: Any) -> Node: ...
        def __radd__(self, other: Any) -> Node: ...
        def __sub__(self, other: Any) -> Node: ...
        def __rsub__(self, other: Any) -> Node: ...
        def __mul__(self, other: Any) -> Node: ...
        def __rmul__(self, other: Any) -> Node: ...
        def __truediv__(self, other: Any) -> Node: ...
        def __rtruediv__(self, other: Any) -> Node: ...
        def __pow__(self, other: Any) -> Node: ...
        def __rpow__(self, other: Any) -> Node: ...


# numpy's ufuncs that are ops of the table, by their name in the Python API (Node.__array_ufunc__)
_UFUNCS = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "div",
    "true_divide": "div",
    "power": "power",
    "matmul": "matmul",
    "negative": "neg",
    "absolute": "abs",
    "exp": "exp",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arctan": "atan",
    "maximum": "maximum",
    "minimum": "minimum",
    "sign": "sign",
}

_DUNDERS = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv", "power": "pow"}
_DUNDERS["matmul"] = "matmul"

_ADD = OPS["add"]
_SUB = OPS["sub"]
_MUL = OPS["mul"]
_DIV = OPS["div"]
_POW = OPS["pow"]
_NEG = OPS["neg"]
_MATMUL = OPS["matmul"]


def new_node(
    value: Any,
    op: Op,
    args: tuple[Node, ...],
    kind: int,
    requires_grad: bool,
    params: dict[str, Any] | None = None,
    name: str | None = None,
    cls: type[Node] | None = None,
) -> Node:
    """A node of ``op`` with these inputs and an already computed value (``apply`` computes
    it; this only records it). The one constructor: every module makes its nodes here, except
    the float fast paths below (``_float_const``, ``unary_function``, ``binary_function``) and
    micrograd's ``Value``, which fill the same slots inline to spare a call per node;
    tests/test_sweeps.py checks that they leave the node this function would make. ``cls``: a
    subclass of Node to make (a pickled micrograd ``Value`` read back)."""
    n = Node() if cls is None else cls.__new__(cls)
    n.value = value
    n.op = op
    k = len(args)  # the inputs in two slots (see the class docstring)
    if k == 0:
        n.a0 = n.a1 = None
    elif k == 1:
        n.a0, n.a1 = args[0], None
    elif k == 2:
        n.a0, n.a1 = args
    else:
        n.a0, n.a1 = MANY, tuple(args)
    n.kind = kind
    n.requires_grad = requires_grad
    n.params = params
    n.name = name
    n.grad = None
    n.id = next(_ids)
    return n


# ------------------------------------------------------------------ the float fast path
# A float program builds one node per operation with no generic dispatch: the op's float
# forward is bound once, the node's slots are filled directly, and anything unusual (another
# kind of number, a domain error, a non-float result) falls back to ``apply``, which gives
# the same value or the proper error.


def _float_const(value: float) -> Node:
    n = Node()
    n.value = value
    n.grad = None
    n.op = _CONST
    n.a0 = None
    n.a1 = None
    n.name = None
    n.kind = FLOAT
    n.requires_grad = False
    n.params = None
    n.id = next(_ids)
    return n


def unary_function(op: Op) -> Callable[[Any], Node]:
    """``f(x)`` for a one-input op, with the float fast path."""
    fwd = op.forward[FLOAT]
    differentiable = op.differentiable
    defaults = op.bind(None)  # shared by the nodes it builds; rules only read parameters

    def f(x: Any) -> Node:
        if x.__class__ is Node and x.kind == FLOAT:
            try:
                v = fwd(x.value)
            except Exception:  # noqa: BLE001 - apply reports it properly
                return apply(op, (x,))
            if v.__class__ is float:
                n = Node()
                n.value = v
                n.grad = None
                n.op = op
                n.a0 = x
                n.a1 = None
                n.name = None
                n.kind = FLOAT
                n.requires_grad = x.requires_grad and differentiable and _grad_on
                n.params = defaults
                n.id = next(_ids)
                return n
        return apply(op, (lift(x),))

    return f


def binary_function(op: Op) -> Callable[[Any, Any], Node]:
    """``f(a, b)`` for a two-input op, with the float fast path (numbers become constants)."""
    fwd = op.forward[FLOAT]
    differentiable = op.differentiable
    defaults = op.bind(None)

    def f(a: Any, b: Any) -> Node:
        ac = a.__class__
        bc = b.__class__
        if ac is Node and a.kind == FLOAT:
            if bc is Node:
                if b.kind != FLOAT:
                    return apply(op, (a, b))
            elif bc is float or bc is int:
                b = _float_const(float(b))
            else:
                return apply(op, (a, lift(b, a)))
        elif bc is Node and b.kind == FLOAT and (ac is float or ac is int):
            a = _float_const(float(a))
        else:
            return _slow_pair(op, a, b)
        try:
            v = fwd(a.value, b.value)
        except Exception:  # noqa: BLE001 - apply reports it properly
            return apply(op, (a, b))
        if v.__class__ is not float:
            return apply(op, (a, b))
        n = Node()
        n.value = v
        n.grad = None
        n.op = op
        n.a0 = a
        n.a1 = b
        n.name = None
        n.kind = FLOAT
        n.requires_grad = (a.requires_grad or b.requires_grad) and differentiable and _grad_on
        n.params = defaults
        n.id = next(_ids)
        return n

    return f


def _slow_pair(op: Op, a: Any, b: Any) -> Node:
    if isinstance(a, Node):
        return apply(op, (a, lift(b, a)))
    if isinstance(b, Node):
        return apply(op, (lift(a, b), b))
    return apply(op, (lift(a), lift(b)))


def _operator(op: Op) -> tuple[Callable[[Node, Any], Node], Callable[[Node, Any], Node]]:
    """``__op__`` and ``__rop__`` methods for a binary op (``__op__`` is the function itself:
    ``a + b`` then costs one Python call, not two)."""
    f = binary_function(op)

    def reflected(self: Node, other: Any) -> Node:
        return f(other, self)

    return f, reflected


for _dunder, _op in (
    ("add", _ADD),
    ("sub", _SUB),
    ("mul", _MUL),
    ("truediv", _DIV),
    ("pow", _POW),
):
    _m, _r = _operator(_op)
    _m.__name__, _r.__name__ = f"__{_dunder}__", f"__r{_dunder}__"
    setattr(Node, f"__{_dunder}__", _m)
    setattr(Node, f"__r{_dunder}__", _r)

_neg = unary_function(_NEG)


def compute(
    op: Op,
    args: tuple[Node, ...],
    params: dict[str, Any] | None,
    keep: list[Any] | None = None,
) -> tuple[Any, int]:
    """Run an op's forward on its inputs' values; returns (value, kind). Given a list ``keep``,
    an op with a keeping forward for this kind appends what it kept for its vjps."""
    if len(args) == 1:
        kind = args[0].kind
        vals = [args[0].value]
    else:
        kind = args[0].kind
        for a in args:
            if a.kind != kind:
                kind = combine_kinds([a.kind for a in args])
                vals = [convert(a.value, kind) for a in args]
                break
        else:
            vals = [a.value for a in args]
    try:
        if keep is not None and op.keeping is not None and kind in op.keeping:
            fwd = op.keeping[kind]
            value, kept = fwd(*vals, **params) if params else fwd(*vals)
            keep.append(kept)
        else:
            value = op.forward[kind](*vals, **params) if params else op.forward[kind](*vals)
    except ChainruleError:
        raise
    except ZeroDivisionError as exc:
        raise DomainError(f"division by zero in {op.name}") from exc
    except OverflowError as exc:
        value = _overflowed(op, kind, vals, params)
        if value is None:
            raise DomainError(f"{op.name} overflowed (too large for a float)") from exc
    except np.exceptions.AxisError as exc:  # before ValueError, which it extends
        raise ShapeError(f"{op.name}: {exc}") from exc
    except ValueError as exc:
        if kind in (ARRAY, EXACT_ARRAY):
            shapes = " and ".join(str(np.shape(v)) for v in vals)
            raise ShapeError(f"{op.name} cannot combine shapes {shapes}") from exc
        raise DomainError(f"{op.name} is undefined at {', '.join(map(decimal, vals))}") from exc
    except TypeError as exc:
        raise DomainError(f"{op.name} cannot take these inputs ({exc})") from exc
    except KeyError as exc:
        if kind in (FLOAT, EXACT) and not set(op.forward) & {FLOAT, EXACT}:
            # softmax(2): the op works on vectors; 'not defined for float values' said less
            raise DomainError(
                f"{op.name} needs a vector or a matrix, not a number "
                f"({op.name} is not defined for {KIND_TEXT[kind]} values)"
            ) from exc
        if kind in (EXACT, EXACT_ARRAY) and set(op.forward) & {FLOAT, ARRAY}:
            raise DomainError(
                f"{op.name} is not defined for {KIND_TEXT[kind]} values: it has no exact form "
                "(run without --exact, exact=False)"
            ) from exc
        raise DomainError(f"{op.name} is not defined for {KIND_TEXT[kind]} values") from exc
    if value.__class__ is np.ndarray:
        # the kind follows the result: a vector built from numbers, a number from a vector
        if value.ndim == 0:
            value = value.item() if value.dtype == object else float(value)
            kind = EXACT if value.__class__ is not float else FLOAT
        elif value.dtype == object:
            kind = EXACT_ARRAY
        else:
            kind = ARRAY
    elif kind in (ARRAY, FLOAT):
        if value.__class__ is not float:
            if isinstance(value, Fraction) or is_sympy(value):
                kind = EXACT
            else:
                value = float(value)
                kind = FLOAT
        else:
            kind = FLOAT
    else:
        kind = EXACT if value.__class__ is not float else FLOAT
    if kind == EXACT or kind == EXACT_ARRAY:
        check_exact_size(value, f"the result of {op.name}")
    return value, kind


def _overflowed(op: Op, kind: int, vals: list[Any], params: dict[str, Any] | None) -> Any:
    """A float result too large for a float is ±inf, as in numpy and IEEE arithmetic (and then
    traced to this node by ``anomaly``); None where the array forward cannot say which."""
    if kind != FLOAT or ARRAY not in op.forward:
        return None
    with np.errstate(all="ignore"):
        try:
            r = op.forward[ARRAY](*[np.float64(v) for v in vals], **(params or {}))
        except (ArithmeticError, ValueError, TypeError):
            return None
    r = float(np.asarray(r))
    return r if r != r or r in (np.inf, -np.inf) else None


KIND_TEXT = {FLOAT: "float", EXACT: "exact", ARRAY: "array", EXACT_ARRAY: "exact array"}


def apply(op: Op, args: tuple[Node, ...], params: dict[str, Any] | None = None) -> Node:
    """Create the node of ``op`` applied to ``args``: the one way every operation is built.
    Parameters are checked and completed with the op's declared defaults."""
    if op.params or params:
        params = op.bind(params)
    return apply_bound(op, args, params)


def apply_bound(op: Op, args: tuple[Node, ...], params: dict[str, Any] | None) -> Node:
    """``apply`` with parameters that ``op.bind`` has already checked and completed (a layer
    that builds the same node every step binds its parameters once; nodes share them, as the
    rules only read parameters)."""
    if not args and op.arity != 0:
        raise ShapeError(f"{op.name} needs at least one input")
    rg = False
    for a in args:
        if a.requires_grad:
            rg = True
            break
    if op.keeping is None or not (rg and op.differentiable and _grad_on):  # nothing to keep
        value, kind = compute(op, args, params)
        return new_node(value, op, args, kind, rg and op.differentiable and _grad_on, params)
    box: list[Any] = []
    value, kind = compute(op, args, params, box)
    node = new_node(value, op, args, kind, True, params)
    if box:
        # in the slot of the local partials' memo: both are derived from the node's value and
        # checked against it, and one memo lost to the other is recomputed, never wrong
        node._local = (value, KEPT, box[0])
    return node


KEPT = object()  # marks a node's memo as what its op kept (see Node.kept)


# ------------------------------------------------------------------ leaves


def var(value: Any, name: str | None = None, *, exact: bool = False) -> Node:
    """An input (leaf) whose gradient is wanted. ``exact=True`` keeps rationals exact."""
    if value.__class__ is float and not exact:
        return new_node(value, _INPUT, (), FLOAT, True, None, name)
    v = normalize(value, exact=exact)
    return new_node(v, _INPUT, (), kind_of(v), True, None, name)


def const(value: Any, name: str | None = None, *, exact: bool = False) -> Node:
    """A constant: not differentiated (a literal inside an expression)."""
    v = normalize(value, exact=exact)
    return new_node(v, _CONST, (), kind_of(v), False, None, name)


def lift(x: Any, like: Node | None = None) -> Node:
    """Make a node of ``x``: nodes pass through, numbers become constants of a matching kind."""
    if x.__class__ is Node:
        return x  # type: ignore[no-any-return]
    if isinstance(x, Node):  # a subclass (micrograd's Value)
        return x
    if like is not None and like.kind in (EXACT, EXACT_ARRAY):
        if isinstance(x, (int, float, Fraction, list, tuple, np.ndarray)) or is_sympy(x):
            return const(x, exact=True)
    if x.__class__ is float:
        return new_node(x, _CONST, (), FLOAT, False)
    if x.__class__ is np.ndarray and x.dtype.kind == "f":
        return new_node(x, _CONST, (), ARRAY, False)
    if isinstance(x, Fraction):
        return new_node(x, _CONST, (), EXACT, False)
    return const(x)
