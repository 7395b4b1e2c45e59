"""Every fast reverse sweep gives the reference sweep's gradients, bit for bit.

``autodiff.reference_backward`` is the chain rule written plainly (one contribution per edge,
summed in arrival order). The sweeps that earn their speed elsewhere — ``backward`` (the chain
at the output, the lean loop for number nodes, the vjp loop), micrograd's ``Value.backward``,
``batch`` and the explorer's program — are run on random programs and must agree with it to
the last bit (micrograd's gradients start at the integer 0, so a −0.0 there reads as 0.0: zeros
are compared by value). The checker's recomputation (``check.world``) runs the reference sweep
itself, with the learner's numbers put in through its hooks."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.check.names import GRADIENT, Quantity
from chainrule.check.world import recompute
from chainrule.core.autodiff import reference_backward, topo_order
from chainrule.core.batch import BatchedGraph
from chainrule.core.errors import ChainruleError
from chainrule.micrograd import Value, engine
from chainrule.ops import OPS

F = cr.functions
UNARY = ["tanh", "exp", "sigmoid", "relu", "neg", "sin", "square", "cube", "log_abs"]
BINARY = ["add", "sub", "mul", "div", "add_const", "mul_const", "rsub_const"]
MICROGRAD_UNARY = ["tanh", "exp", "sigmoid", "relu", "neg", "square", "cube", "log_abs"]

VALUES = st.one_of(
    st.floats(-3, 3, allow_nan=False, width=64),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5]),
)
STEP = st.tuples(
    st.sampled_from(UNARY + BINARY), st.integers(0, 10**6), st.integers(0, 10**6), VALUES
)
PROGRAM = st.tuples(
    st.lists(VALUES, min_size=1, max_size=3), st.lists(STEP, min_size=1, max_size=14)
)


def _apply(kind: str, a: Any, b: Any, c: float, *, micrograd: bool = False) -> Any:
    """One step of a program, written the way each API spells it."""
    if kind == "add":
        return a + b
    if kind == "sub":
        return a - b
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / b
    if kind == "add_const":
        return a + c
    if kind == "mul_const":
        return c * a
    if kind == "rsub_const":
        return c - a
    if kind == "neg":
        return -a
    if kind == "square":
        return a**2
    if kind == "cube":
        return a**3
    if micrograd:
        if kind == "log_abs":
            return (a * a + 0.5).log()
        return getattr(a, kind)()
    if kind == "log_abs":
        return F.log(a * a + 0.5)
    return getattr(F, kind)(a)


def _build(
    program: tuple[list[float], list[Any]], *, micrograd: bool = False
) -> tuple[Any, list[Any]]:
    values, steps = program
    leaf = Value if micrograd else (lambda v: cr.var(v))
    inputs = [leaf(v) for v in values]
    nodes = list(inputs)
    for kind, i, j, c in steps:
        if micrograd and kind == "sin":
            kind = "tanh"
        nodes.append(
            _apply(kind, nodes[i % len(nodes)], nodes[j % len(nodes)], c, micrograd=micrograd)
        )
    return nodes[-1], inputs


def _bits(v: Any, zeros_by_value: bool = False) -> Any:
    if isinstance(v, np.ndarray):
        if zeros_by_value:
            v = v + 0.0
        return (v.dtype.str, v.shape, v.tobytes())
    v = float(v)
    if zeros_by_value:
        v = v + 0.0
    return struct.pack("<d", v)


def _built(program: Any, **kw: Any) -> tuple[Any, list[Any]]:
    try:
        with np.errstate(all="ignore"):
            return _build(program, **kw)
    except ChainruleError:  # a domain error (a division by 0): not a program
        assume(False)
        raise AssertionError("unreachable") from None


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


UNDEFINED = (ZeroDivisionError, OverflowError, ValueError)


def _reference(out: Any) -> Any:
    """The reference gradients, or None where a local partial is undefined (x/x at a tiny x:
    x² is 0); every sweep then stops with an error, which the callers check."""
    try:
        with np.errstate(all="ignore"):
            return reference_backward(out)
    except UNDEFINED:
        return None


@SETTINGS
@given(PROGRAM)
def test_backward_matches_the_reference_sweep(program: Any) -> None:
    out, _ = _built(program)
    want = _reference(out)
    if want is None:
        with pytest.raises(ChainruleError):
            out.backward()
        return
    out.backward()
    for n in topo_order(out):
        if n.requires_grad:
            assert _bits(n.grad) == _bits(want[n]), n


@SETTINGS
@given(PROGRAM, st.integers(0, 7))
def test_accumulating_backward_matches_the_reference_sweep(program: Any, cleared: int) -> None:
    """PyTorch's accumulation, folded into the sweep: after two ``backward`` calls a leaf
    holds old + new (both the reference's numbers), every other node this pass's; a leaf
    cleared between the calls holds this pass's alone; ``accumulate=False`` replaces."""
    out, inputs = _built(program)
    want = _reference(out)
    assume(want is not None)
    out.backward()
    for k, leaf in enumerate(inputs):
        if cleared >> k & 1:
            leaf.grad = None
    out.backward()
    for n in topo_order(out):
        if not n.requires_grad:
            continue
        twice = n.a0 is None and not (n in inputs and cleared >> inputs.index(n) & 1)
        assert _bits(n.grad) == _bits(want[n] + want[n] if twice else want[n]), n
    out.backward(accumulate=False)
    for n in topo_order(out):
        if n.requires_grad:
            assert _bits(n.grad) == _bits(want[n]), n


def _torch_apply(torch: Any, kind: str, a: Any, b: Any, c: float) -> Any:
    """One step of a program in PyTorch (float64), as ``_apply`` spells it in chainrule."""
    simple = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: a / b,
        "add_const": lambda: a + c,
        "mul_const": lambda: c * a,
        "rsub_const": lambda: c - a,
        "neg": lambda: -a,
        "square": lambda: a**2,
        "cube": lambda: a**3,
        "log_abs": lambda: torch.log(a * a + 0.5),
    }
    if kind in simple:
        return simple[kind]()
    return getattr(torch, kind)(a)


@SETTINGS
@given(PROGRAM, st.integers(0, 7))
def test_two_backward_calls_accumulate_as_in_pytorch(program: Any, cleared: int) -> None:
    """The same program, two ``backward`` calls (some leaves cleared between them, as
    ``p.grad = None`` does) in chainrule and in PyTorch: each library's second numbers are
    its first pass's by the same rule (a leaf adds the two passes, a cleared leaf holds the
    second alone, a leaf the loss does not reach holds nothing). The rule is read from
    PyTorch and asked of chainrule to the bit; the two libraries' own numbers may differ in
    the last places, which near a cancellation (x/x at 1e-8) is far from them, so only the
    rule is compared across them."""
    torch = pytest.importorskip("torch")
    values, steps = program
    assume(not any(v == 0.0 for v in values))  # ReLU's kink: conventions may differ there
    out, inputs = _built(program)
    assume(_reference(out) is not None)
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    nodes = list(leaves)
    for kind, i, j, c in steps:
        nodes.append(_torch_apply(torch, kind, nodes[i % len(nodes)], nodes[j % len(nodes)], c))
    assume(nodes[-1].requires_grad)
    ours: list[list[Any]] = []
    theirs: list[list[Any]] = []
    for call in range(2):
        if call == 1:
            for k, (leaf, t) in enumerate(zip(inputs, leaves, strict=True)):
                if cleared >> k & 1:
                    leaf.grad = None
                    t.grad = None
        with np.errstate(all="ignore"):
            out.backward()
        nodes[-1].backward(retain_graph=True)
        ours.append([leaf.grad for leaf in inputs])
        theirs.append([None if t.grad is None else t.grad.item() for t in leaves])
    for k in range(len(values)):
        first, second = theirs[0][k], theirs[1][k]
        if first is None:  # PyTorch leaves a leaf the loss does not reach at None
            assert second is None and ours[1][k] in (None, 0.0)
            continue
        twice = not cleared >> k & 1
        assert _bits(second) == _bits(first + first if twice else first)  # PyTorch's rule
        mine = ours[0][k]
        assert _bits(ours[1][k]) == _bits(mine + mine if twice else mine)  # chainrule's


@SETTINGS
@given(PROGRAM)
def test_micrograd_matches_the_reference_sweep(program: Any) -> None:
    out, _ = _built(program, micrograd=True)
    want = _reference(out)
    if want is None:
        with pytest.raises(UNDEFINED):
            out.backward()
        return
    out.backward()
    for n in topo_order(out):
        if n.requires_grad:
            assert _bits(n.grad, True) == _bits(want[n], True), n


@SETTINGS
@given(PROGRAM, st.lists(VALUES, min_size=3, max_size=3))
def test_batch_matches_the_reference_sweep(program: Any, batch: list[float]) -> None:
    out, inputs = _built(program)
    loss = F.mean(out)
    used = [leaf for leaf in inputs if leaf in set(topo_order(loss))]
    assume(used)
    compiled = BatchedGraph(loss, used[:1])
    feed = np.array(batch)
    try:
        with np.errstate(all="ignore"):
            compiled.run({used[0]: feed})
    except (ChainruleError, *UNDEFINED):
        assume(False)
    got = {n: n.grad for n in compiled.order}
    want = _reference(loss)
    assume(want is not None)
    for n in compiled.order:
        if n.requires_grad:
            assert _bits(got[n]) == _bits(want[n]), n


@SETTINGS
@given(PROGRAM)
def test_checker_recomputation_matches_the_reference_sweep(program: Any) -> None:
    out, _ = _built(program)
    graph = cr.Graph(out)
    wanted = [Quantity(GRADIENT, n) for n in graph.nodes if n.requires_grad]
    want = _reference(out)
    assume(want is not None)
    with np.errstate(all="ignore"):
        got = recompute(graph, [], wanted)
    for q in wanted:
        assert _bits(got[q.key()]) == _bits(want[q.node]), q.node


def test_checker_puts_the_learners_numbers_into_the_sweep() -> None:
    """A learner's gradient of s and local partial ∂s/∂x replace the computed ones for every
    step below them, as they did by hand: x's gradient is the learner's ∂L/∂s times the
    learner's ∂s/∂x (or times the true ∂s/∂x), while the quantities asked for are those
    computed before the learner's numbers were put in."""
    from chainrule.check.names import PARTIAL
    from chainrule.check.world import Given

    x = cr.var(0.7, name="x")
    w = cr.var(-1.3, name="w")
    s = F.sin(x * w)
    L = F.tanh(s) * 2.0 + w
    graph = cr.Graph(L)
    xw = s.args[0]
    dLds, dsd = 0.25, -3.5
    given = [Given(Quantity(GRADIENT, s), dLds), Given(Quantity(PARTIAL, xw, top=s), dsd)]
    wanted = [
        Quantity(GRADIENT, s),
        Quantity(PARTIAL, xw, top=s),
        Quantity(GRADIENT, xw),
        Quantity(GRADIENT, x),
    ]
    got = recompute(graph, given, wanted)
    want = reference_backward(L)
    assert _bits(got[wanted[0].key()]) == _bits(want[s])  # computed, before the claim
    assert _bits(got[wanted[1].key()]) == _bits(math.cos(0.7 * -1.3))
    assert _bits(got[wanted[2].key()]) == _bits(dLds * dsd)
    assert _bits(got[wanted[3].key()]) == _bits(dLds * dsd * -1.3)
    only_gradient = recompute(graph, given[:1], wanted)
    assert _bits(only_gradient[wanted[2].key()]) == _bits(dLds * math.cos(0.7 * -1.3))


def test_tensor_programs_match_the_reference_sweep() -> None:
    """The array loops of ``backward`` (lean elementwise, vjps with kept values, the general
    step for broadcasting), on a small network with a fused loss."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        x = cr.const(rng.normal(size=(4, 3)))
        w = cr.var(rng.normal(size=(3, 2)))
        b = cr.var(rng.normal(size=2))
        h = F.tanh(x @ w + b)
        out = F.mse(F.sigmoid(h) * 2.0 - b, cr.const(rng.normal(size=(4, 2))))
        want = reference_backward(out)
        out.backward()
        for n in topo_order(out):
            if n.requires_grad:
                assert _bits(n.grad) == _bits(want[n])


def test_the_comparison_can_fail() -> None:
    """One ulp off is a difference."""
    assert _bits(0.1) != _bits(np.nextafter(0.1, 1.0))
    assert _bits(np.array([0.1])) != _bits(np.array([np.nextafter(0.1, 1.0)]))


def test_micrograd_writes_out_only_what_the_table_says() -> None:
    """The written-out steps of +, * and ReLU are checked against the op table at import; a
    step that disagrees is refused (the op then takes the table's rule)."""
    assert engine._SUM is OPS["add"] and engine._PRODUCT is OPS["mul"]
    assert engine._GATE is OPS["relu"]
    assert not engine._written_out(OPS["mul"], lambda x, y: (x[0], x[1]))
    assert not engine._written_out(OPS["relu"], lambda x, y: (1.0,))
    assert not engine._written_out(OPS["add"], lambda x, y: (1.0, -1.0))


@pytest.mark.parametrize("seed", [None, 2.5])
def test_reference_sweep_seed(seed: Any) -> None:
    x = cr.var(0.7)
    y = F.sin(x) * x
    got = reference_backward(y, seed)
    s = 1.0 if seed is None else seed
    assert got[x] == pytest.approx(s * (np.cos(0.7) * 0.7 + np.sin(0.7)), rel=1e-15)


# ------------------------------------------------------------------ one way to make a node


def _slots(n: Any) -> dict[str, Any]:
    from chainrule.core.node import Node

    out = {}
    for slot in Node.__slots__:
        if slot in ("__weakref__", "_local", "id"):
            continue
        out[slot] = getattr(n, slot)
    return out


def test_fast_paths_fill_every_slot_as_new_node_does() -> None:
    """``new_node`` is the one constructor; the float fast paths (an op's function, the
    operators, a number made a constant) fill the same slots inline for speed, and must leave
    a node that ``new_node`` would have made."""
    from chainrule.core.node import _float_const, binary_function, new_node, unary_function
    from chainrule.core.values import FLOAT

    x = cr.var(0.5)
    y = cr.var(-1.5)
    tanh, mul = OPS["tanh"], OPS["mul"]
    made = unary_function(tanh)(x)
    want = new_node(made.value, tanh, (x,), FLOAT, True, tanh.bind(None))
    assert _slots(made) == _slots(want)
    made = binary_function(mul)(x, y)
    assert _slots(made) == _slots(new_node(made.value, mul, (x, y), FLOAT, True, None))
    made = x - y
    assert _slots(made) == _slots(new_node(made.value, OPS["sub"], (x, y), FLOAT, True, None))
    c = _float_const(2.0)
    assert _slots(c) == _slots(new_node(2.0, OPS["const"], (), FLOAT, False, None))
    with cr.no_grad():
        made = x * y
    assert made.requires_grad is False


def test_micrograd_values_fill_every_slot_as_new_node_does() -> None:
    """micrograd's ``Value`` (a Node) leaves unset only the slots its defaults stand for, and
    starts its gradient at 0 as micrograd does."""
    from chainrule.core.node import new_node
    from chainrule.core.values import FLOAT

    a, b = Value(0.5), Value(-2.0)
    for made, op, args in (
        (a * b, OPS["mul"], (a, b)),
        (a + b, OPS["add"], (a, b)),
        (a.relu(), OPS["relu"], (a,)),
        (a.tanh(), OPS["tanh"], (a,)),
    ):
        want = _slots(new_node(made.value, op, args, FLOAT, True, None))
        got = _slots(made)
        assert got.pop("grad") == 0 and want.pop("grad") is None
        assert got == want


# ------------------------------------------------------------------ the explorer's sweep

ARITHMETIC = ["add", "sub", "mul", "div", "add_const", "mul_const", "rsub_const", "neg", "relu"]


def _random_program(rng: Any, kinds: list[str]) -> tuple[list[float], list[Any]]:
    values = [float(rng.uniform(-3, 3)) for _ in range(int(rng.integers(1, 4)))]
    steps = [
        (str(rng.choice(kinds)), int(rng.integers(0, 99)), int(rng.integers(0, 99)), 0.75)
        for _ in range(int(rng.integers(1, 12)))
    ]
    return values, steps


def _run_in_node(programs: list[Any]) -> list[list[float]]:
    """Each explorer program run by node as the page runs it: crCompute on the slots, with the
    helper object made as page.js makes it (the program defines the ops' helpers in it)."""
    import json
    import re
    import shutil
    import subprocess

    from helpers import ROOT

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    page = (ROOT / "src/chainrule/explorer/page.js").read_text(encoding="utf-8")
    helper = re.search(r"const cr = \{.*?\};", page, re.S)  # as the page makes it
    assert helper is not None
    parts = [helper.group(0), "const out = [];"]
    for k, p in enumerate(programs):
        parts.append(f"function run{k}(S, cr) {{\n{p.code}\n}}")
        parts.append(
            f"{{ const S = new Float64Array({p.size}); S.set({json.dumps(p.init)});"
            f" run{k}(S, cr); out.push(Array.from(S)); }}"
        )
    parts.append(
        "process.stdout.write(JSON.stringify(out.map(s => s.map(v => "
        "Object.is(v, -0) ? '-0' : Number.isFinite(v) ? v : String(v)))));"
    )
    done = subprocess.run(
        [node, "-e", "\n".join(parts)], capture_output=True, text=True, check=True, timeout=120
    )
    decoded = []
    for slots in json.loads(done.stdout):
        decoded.append([-0.0 if v == "-0" else float(v) for v in slots])
    return decoded


@pytest.mark.parametrize("kinds", [ARITHMETIC, UNARY + BINARY], ids=["arithmetic", "all"])
def test_explorer_matches_the_reference_sweep(kinds: list[str]) -> None:
    """The explorer's program (the table's rules as JavaScript) gives the reference gradients:
    bit for bit where only IEEE arithmetic is involved; within a few units in the last place
    where JavaScript's Math.exp, Math.tanh ... round differently from C's."""
    from chainrule.explorer.program import compile_graph

    rng = np.random.default_rng(20)
    cases = []
    while len(cases) < 40:
        try:
            with np.errstate(all="ignore"):
                out, _ = _build(_random_program(rng, kinds))
        except ChainruleError:  # a division by 0 or a log of 0: not a program
            continue
        want = _reference(out)
        if want is None:
            continue
        out.backward()
        graph = cr.Graph(out)
        program = compile_graph(graph)
        if program.frozen:
            continue
        cases.append((graph, want, program))
    results = _run_in_node([p for _, _, p in cases])
    for (graph, want, program), slots in zip(cases, results, strict=True):
        for k, n in enumerate(graph.nodes):
            if not n.requires_grad or program.grads[k] is None:
                continue
            got = slots[program.grads[k].at[0]]
            if kinds is ARITHMETIC:
                assert _bits(got) == _bits(want[n]), (n, got, want[n])
            else:
                assert got == pytest.approx(want[n], rel=1e-13, abs=1e-300), (n, got, want[n])
