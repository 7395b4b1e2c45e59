"""Random programs: gradients agree with sympy's exact differentiation.

Hypothesis draws expression trees over three inputs with the scalar ops. Each tree is built
twice from the same description: as a chainrule graph (through the Python API, and for some
trees through program text and ``chainrule.parse``) and as a sympy expression. Values and every
input's gradient must agree with sympy, evaluated at the same (exactly represented) inputs, to
1e-10 relative. Inputs stay in-domain by construction: log and sqrt only see positive
arguments (log(softplus(t)), log(exp(t)), sqrt(t² + 1)), divisors are t² + 1, power bases are
t² + 1 or the exponent is a small integer. Points near a kink of relu, abs, max or min are
skipped, since there the derivative is a convention."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import sympy
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import chainrule as cr

N_INPUTS = 3
SYMS = sympy.symbols(f"x0:{N_INPUTS}", real=True)
REL = 1e-10
KINK = 1e-6  # how far from a kink an argument must be
UNARY = ["neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "softplus"]
BINARY = ["add", "sub", "mul", "div", "pow", "max", "min"]
CONSTANTS = [0.5, 1.5, -2.0, 3.0, 0.25, -0.75]

Tree = tuple[Any, ...]

leaves = st.one_of(
    st.tuples(st.just("x"), st.integers(0, N_INPUTS - 1)),
    st.tuples(st.just("c"), st.sampled_from(CONSTANTS)),
)


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), st.integers(0, 1), children),
        st.tuples(st.sampled_from(BINARY), st.integers(0, 1), children, children),
    )


trees = _extend(st.recursive(leaves, _extend, max_leaves=10))  # at least one operation
points = st.tuples(*[st.floats(-2.0, 2.0, allow_nan=False, width=64)] * N_INPUTS)


class Backend:
    """The maths one side of the comparison is written in."""

    def __init__(self, sym: bool) -> None:
        self.sym = sym
        m: Any = sympy if sym else cr
        self.exp, self.log, self.sqrt = m.exp, m.log, m.sqrt
        self.sin, self.cos, self.tanh = m.sin, m.cos, m.tanh

    def sigmoid(self, t: Any) -> Any:
        return 1 / (1 + sympy.exp(-t)) if self.sym else cr.sigmoid(t)

    def relu(self, t: Any) -> Any:
        return sympy.Piecewise((t, t > 0), (0, True)) if self.sym else cr.relu(t)

    def abs(self, t: Any) -> Any:
        return sympy.Abs(t) if self.sym else cr.abs(t)

    def softplus(self, t: Any) -> Any:
        return sympy.log(1 + sympy.exp(t)) if self.sym else cr.softplus(t)

    def max(self, a: Any, b: Any) -> Any:
        return sympy.Max(a, b) if self.sym else cr.maximum(a, b)

    def min(self, a: Any, b: Any) -> Any:
        return sympy.Min(a, b) if self.sym else cr.minimum(a, b)


def build(tree: Tree, M: Backend, inputs: list[Any], kinks: list[Any] | None = None) -> Any:
    """The tree's expression in backend M; ``kinks`` collects the arguments of kinked ops."""
    tag = tree[0]
    if tag == "x":
        return inputs[tree[1]]
    if tag == "c":
        return sympy.Rational(Fraction(tree[1])) if M.sym else tree[1]
    variant = tree[1]
    if tag in UNARY:
        t = build(tree[2], M, inputs, kinks)
        if tag == "neg":
            return -t
        if tag == "log":
            return M.log(M.softplus(t)) if variant == 0 else M.log(M.exp(M.tanh(t)))
        if tag == "sqrt":
            return M.sqrt(t * t + 1)
        if tag in ("relu", "abs") and kinks is not None:
            kinks.append(t)
        return getattr(M, tag)(t)
    a = build(tree[2], M, inputs, kinks)
    b = build(tree[3], M, inputs, kinks)
    if tag == "add":
        return a + b
    if tag == "sub":
        return a - b
    if tag == "mul":
        return a * b
    if tag == "div":
        return a / (b * b + 1)
    if tag == "pow":
        return (a * a + 1) ** M.tanh(b) if variant == 0 else a ** (2 + variant)
    if kinks is not None:
        kinks.append(a - b)
    return getattr(M, tag)(a, b)


def text_of(tree: Tree) -> str:
    """The same tree as program text (inputs named x0, x1, x2)."""
    tag = tree[0]
    if tag == "x":
        return f"x{tree[1]}"
    if tag == "c":
        return f"({tree[1]!r})"
    variant = tree[1]
    if tag in UNARY:
        t = text_of(tree[2])
        if tag == "neg":
            return f"(-{t})"
        if tag == "log":
            return f"log(softplus({t}))" if variant == 0 else f"log(exp(tanh({t})))"
        if tag == "sqrt":
            return f"sqrt({t} * {t} + 1)"
        return f"{tag}({t})"
    a, b = text_of(tree[2]), text_of(tree[3])
    if tag in ("add", "sub", "mul"):
        return f"({a} {dict(add='+', sub='-', mul='*')[tag]} {b})"
    if tag == "div":
        return f"({a} / ({b} * {b} + 1))"
    if tag == "pow":
        return f"(({a} * {a} + 1) ** tanh({b}))" if variant == 0 else f"({a} ** {2 + variant})"
    return f"{tag}({a}, {b})"


def exact(expr: sympy.Expr, at: dict[sympy.Symbol, sympy.Rational]) -> float:
    """The value at exact rational inputs, to 40 digits. Where sympy cannot compare exact
    expressions for Max/Min/Heaviside (one that differs from a rational by 1e-120; x − sin(x)
    at a subnormal x, about x³/6 = 1e-939), they are decided on 1,200-digit numbers."""
    try:
        return float(sympy.N(expr.xreplace(at), 40))
    except (ValueError, TypeError):
        # the inputs as 1,200-digit floats (each double exactly), computed at that precision
        wide = {s: sympy.Float(v, 1200) for s, v in at.items()}
        return float(sympy.N(expr.xreplace(wide), 40))


def agree(got: float, want: float, scale: float = 0.0) -> bool:
    """Relative agreement; ``scale`` is the largest term that went into the number (a sum of
    terms that cancel can only be as accurate as its largest term)."""
    return math.isclose(got, want, rel_tol=REL, abs_tol=REL * scale)


def scales(out: cr.Node) -> tuple[float, float]:
    """How accurate floats can be here: the largest value on the graph (rounding in the forward
    pass is relative to it), and for gradients the largest chain-rule product on any edge or
    that value scale times the largest gradient (a local partial that reads a rounded value,
    such as x · log(exp(t)) with a tiny t, carries that rounding)."""
    order = cr.topo_order(out)
    value = max(abs(n.value) for n in order)
    edge = value * max(abs(n.grad) for n in order if n.grad is not None)
    for n in order:
        for i in range(len(n.args)):
            c = cr.edge_contribution(n, i)
            if c is not None:
                edge = max(edge, abs(c))
    return value, edge


def reference(tree: Tree, xs: tuple[float, ...]) -> tuple[float, list[float]]:
    """Value and gradient from sympy, exactly at the float inputs."""
    expr = build(tree, Backend(True), list(SYMS))
    at = {s: sympy.Rational(Fraction(v)) for s, v in zip(SYMS, xs, strict=True)}
    return exact(expr, at), [exact(sympy.diff(expr, s), at) for s in SYMS]


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(tree=trees, xs=points, as_text=st.booleans())
@example(  # sympy could not compare max(1, 1/2 − σ(3e-120)) when substituted exactly
    tree=("max", 0, ("x", 0), ("sub", 0, ("c", 0.5), ("sigmoid", 0, ("x", 1)))),
    xs=(1.0, 2.9052566901310914e-120, 0.0),
    as_text=False,
)
@example(  # nor max(−1.2, x − sin x) at a subnormal x at 40 digits
    tree=("max", 0, ("x", 0), ("sub", 0, ("x", 2), ("sin", 0, ("x", 2)))),
    xs=(-1.2000504924954514, -1.857659956852082, 2.2250738585e-313),
    as_text=False,
)
def test_random_program_gradients_match_sympy(
    tree: Tree, xs: tuple[float, ...], as_text: bool
) -> None:
    inputs = [cr.var(v, name=f"x{i}") for i, v in enumerate(xs)]
    kinks: list[Any] = []
    try:
        out = build(tree, Backend(False), inputs, kinks)
    except (cr.DomainError, OverflowError):
        assume(False)
        return
    if not isinstance(out, cr.Node):
        out = cr.const(out)  # a tree of constants only
    assume(all(abs(k.value if isinstance(k, cr.Node) else k) > KINK for k in kinks))
    out.backward()
    value_scale, grad_scale = scales(out)
    assume(value_scale < 1e6)  # beyond that a 1e-10 check says little
    value, gradient = reference(tree, xs)
    assert agree(out.value, value, value_scale), (out.value, value)
    used = set(cr.topo_order(out))
    for node, want in zip(inputs, gradient, strict=True):
        if node not in used:  # an input the program does not use gets no gradient at all
            assert node.grad is None and want == 0
            continue
        assert agree(node.grad, want, grad_scale), (node.label(), node.grad, want)

    if as_text:
        program = "\n".join(f"x{i} = {v!r}" for i, v in enumerate(xs))
        program += f"\nout = {text_of(tree)}\n"
        graph = cr.parse(program)
        graph.backward()
        assert agree(graph.output.value, value, value_scale)
        names = graph.names
        for i, want in enumerate(gradient):
            node = names.get(f"x{i}")
            got = 0.0 if node is None else node.grad
            assert agree(got, want, grad_scale), (program, f"x{i}", got, want)
