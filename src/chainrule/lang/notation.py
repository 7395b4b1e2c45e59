"""How expressions, definitions and local partials are written for people, in text and LaTeX.

The op table says how each op is written (style, symbol, precedence); this module walks an
expression (iteratively) and puts the pieces together. The formulas of local partials come from
the op table's own generic partials evaluated on placeholder nodes, so the formula shown is
exactly the rule the engine uses. Numbers, names and one op over its inputs' texts are written
by ``writing``, below ``naming``; this module adds a graph's labels."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ..core.autodiff import topo_order
from ..core.lazy import is_sympy
from ..core.node import Node, apply, new_node
from ..core.node_math import NodeMath
from ..ops import OPS
from .naming import Naming, definition, naming_of
from .typography import latex_array, latex_text
from .writing import (
    ATOM,
    MAX_EXPRESSION,
    SUPERSCRIPTS,
    _atom,
    _write,
    index_text,
    latex_name,
    number_text,
    typographic,
    write_one_level,
)

_INPUT = OPS["input"]


def expression(
    root: Node,
    style: str = "text",
    *,
    expand_unnamed: bool = True,
    stop: set[Node] | None = None,
    digits: int = 6,
    names: Naming | None = None,
) -> str:
    """Write ``root`` as an expression. Named nodes (and nodes in ``stop``) are atoms; unnamed
    intermediate nodes are written out, so a formula reads like maths. With ``names`` (a graph's
    ``Naming``) every node the graph labels is written by its label."""
    if names is None and not expand_unnamed:
        names = naming_of(root)
    return _write(
        root,
        style,
        expand_unnamed,
        stop or set(),
        digits,
        top=True,
        names=names,
        make_names=naming_of,
    )[0]


def partial_formula(
    node: Node, i: int, style: str = "text", names: Naming | None = None
) -> str | None:
    """The local partial ∂node/∂input_i as a formula in the inputs' labels, e.g. σ(z)(1 − σ(z)),
    and for q·z with respect to z just q (an input is written by its label, never expanded).

    Built by running the op table's own partial on placeholder nodes (NodeMath)."""
    op = node.op
    if op.partials is None or i >= len(node.args):
        return None
    args = tuple(node.args)
    out = apply(op, args, node.params)  # an unnamed twin, so that σ(z) is written out
    try:
        d = op.partials[i](NodeMath, args, out, node.params)
    except Exception:  # noqa: BLE001 - a formula we cannot build is simply not shown
        return None
    if d is None:
        return None
    if not isinstance(d, Node):
        return number_text(d, style)
    if names is None:
        given = {id(a): (_atom(a, style, 6, None, naming_of), ATOM) for a in args if a.name}
    else:
        given = {id(a): f for a in args if (f := names.form(a, style)) is not None}
    return _write(
        d, style, True, set(), 6, top=True, given=given, names=names, make_names=naming_of
    )[0]


_EXACT_CACHE: weakref.WeakKeyDictionary[Node, tuple[Any, Naming | None, tuple[str, int] | None]] = (
    weakref.WeakKeyDictionary()
)
EXACT_FORM_MAX = 48


def exact_form(
    node: Node, style: str = "text", digits: int = 6, names: Naming | None = None
) -> str | None:
    """The exact value of a node as people write it: 14/5, or σ(14/5) for an irrational result,
    written through the node's own operation with its inputs' exact forms substituted
    ((σ(14/5) − 1)²) while that stays short; longer inputs are referred to by their label in
    ``names``, so closed forms never swell. None when the value is not exact."""
    if style != "text":  # not cached: LaTeX forms are asked for once, by a document
        latex: dict[Node, tuple[str, int] | None] = {}
        for n in topo_order(node):
            latex[n] = _exact_form_one(n, style, digits, latex, names)
        one = latex[node]
        return None if one is None else one[0]
    cached = _EXACT_CACHE.get(node)
    if cached is not None and cached[0] is node.value and cached[1] is names:
        return None if cached[2] is None else cached[2][0]
    # Fill the cache for the irrational ancestors first, inputs before users (no recursion).
    forms: dict[Node, tuple[str, int] | None] = {}
    for n in topo_order(node):
        c = _EXACT_CACHE.get(n)
        if c is not None and c[0] is n.value and c[1] is names:
            forms[n] = c[2]
            continue
        forms[n] = _exact_form_one(n, style, digits, forms, names)
        _EXACT_CACHE[n] = (n.value, names, forms[n])
    result = forms[node]
    return None if result is None else result[0]


def _exact_form_one(
    node: Node,
    style: str,
    digits: int,
    forms: dict[Node, tuple[str, int] | None],
    names: Naming | None,
) -> tuple[str, int] | None:
    v = node.value
    if isinstance(v, Fraction):
        return number_text(v, style), (ATOM if v >= 0 and v.denominator == 1 else 70)
    if isinstance(v, np.ndarray) and v.dtype == object:
        if all(isinstance(x, Fraction) for x in v.reshape(-1)):
            return nested_text(v, lambda x: number_text(x, style), style), ATOM
        return None
    if not is_sympy(v):
        return None
    if not node.args:
        return number_text(v, style, digits), ATOM
    stand_ins: list[Node] = []
    given: dict[int, tuple[str, int]] = {}
    for a in node.args:
        if isinstance(a.value, Fraction):
            stand_ins.append(new_node(a.value, OPS["const"], (), a.kind, False))
            continue
        form = forms.get(a)
        if form is None or len(form[0]) > EXACT_FORM_MAX:
            if names is None:
                names = naming_of(node)
            form = names.form(a, style) or (number_text(a.value, style, digits), ATOM)
        s = new_node(a.value, _INPUT, (), a.kind, True)
        given[id(s)] = form
        stand_ins.append(s)
    shown = apply(node.op, tuple(stand_ins), node.params)
    return _write(shown, style, True, set(), digits, top=True, given=given, make_names=naming_of)


ROUNDING = 2.0**-50  # relative size below which a float term adds nothing to a sum (4 ulp)


def rounding_noise(values: list[Any]) -> list[Any]:
    """For float terms of one sum: a mask (True or an array of booleans) of the terms that are
    zero up to rounding next to the largest term (−5.5511e-17 beside −0.87287): such a term
    changes nothing at double precision and is shown as 0, not as a number. Exact terms are
    never noise (exact mode has the true value)."""
    if len(values) == 1 and type(values[0]) is float:  # one term: noise only when infinite
        a = abs(values[0])
        return [a > 0 and a <= ROUNDING * a]
    out: list[Any] = []
    try:
        arrays = [np.abs(np.asarray(v, dtype=float)) for v in values]
        scale = np.maximum.reduce(np.broadcast_arrays(*arrays)) if arrays else 0.0
    except (TypeError, ValueError, OverflowError):
        return [False for _ in values]
    for v, a in zip(values, arrays, strict=True):
        if isinstance(v, Fraction) or (isinstance(v, np.ndarray) and v.dtype == object):
            out.append(False)
            continue
        noise = (a > 0) & (a <= ROUNDING * scale)
        out.append(noise if np.ndim(noise) else bool(noise))
    return out


def cancelled(total: Any, values: list[Any]) -> bool:
    """Whether a float sum is zero up to rounding relative to the terms that made it
    (1 − 1 + 1e-17 gives 1.1e-16, not a number worth showing). Elementwise for arrays: True
    when every element is."""
    if isinstance(total, Fraction) or (isinstance(total, np.ndarray) and total.dtype == object):
        return False
    try:
        t = np.abs(np.asarray(total, dtype=float))
        size = sum(np.abs(np.asarray(v, dtype=float)) for v in values)
    except (TypeError, ValueError, OverflowError):
        return False
    bound = len(values) * 2.0**-52 * size
    return bool(np.all(t <= bound)) and bool(np.any(t > 0))


def cancelled_value(node: Node) -> bool:
    """Whether a float sum or difference node (a + b − c, sum(x), mean(x)) is zero up to
    rounding relative to what was added: 0.1 + 0.2 − 0.3 is 5.6e-17, which is rounding."""
    name = node.op.name
    if node.exact or not node.args:
        return False
    if name in ("add", "sub"):
        return cancelled(node.value, [a.value for a in node.args])
    if name in ("sum", "mean") and isinstance(node.args[0].value, np.ndarray):
        x = node.args[0].value
        if x.dtype == object or np.ndim(node.value) != 0:
            return False
        total = float(node.value) * (x.size if name == "mean" else 1)
        return cancelled(total, list(x.reshape(-1)))
    return False


def nested_text(v: Any, write: Callable[[Any], str], style: str = "text") -> str:
    """An array written with its shape kept: [[1, 2], [3, 4]] for a matrix (in LaTeX a
    bmatrix), never flattened (a flat list of a matrix's elements reads as a vector). Rows are
    written without recursion."""
    a = np.asarray(v, dtype=object)
    if a.ndim == 0:
        return write(a.item())
    if style != "text":
        return latex_array([write(x) for x in a.reshape(-1)], a.shape)
    if a.size == 0:
        return str(a.tolist())
    opening, closing = "[", "]"
    rows = [write(x) for x in a.reshape(-1)]
    for size in reversed(a.shape):  # innermost axis first
        rows = [
            opening + ", ".join(rows[k : k + size]) + closing for k in range(0, len(rows), size)
        ]
    return rows[0]


__all__ = [
    "ATOM",
    "MAX_EXPRESSION",
    "SUPERSCRIPTS",
    "definition",
    "exact_form",
    "expression",
    "index_text",
    "latex_name",
    "latex_text",
    "nested_text",
    "naming_of",
    "number_text",
    "partial_formula",
    "typographic",
    "write_one_level",
]
