"""``chainrule.compile``: a traced step replayed as a plan gives the uncompiled run's numbers to
the last bit, and is traced again whenever the plan would not describe what ``fn`` does.

The reference is always ``fn`` itself, run without the plan on the same arguments; numbers are
compared as bytes (so −0.0 against 0.0, or a different NaN, would fail). Random programs mix
arrays of two shapes, float64 and float32, broadcasting, reductions, matrix products, dense
layers, ReLU and a cross-entropy, and each is replayed on fresh arguments after the trace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.tensor as T
from chainrule import nn, optim
from chainrule.core.compile import Compiled, CompileError


def same_bits(a: Any, b: Any) -> bool:
    """Equal as stored: type, shape, dtype and every byte."""
    if isinstance(a, (tuple, list)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(same_bits(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
        )
    if isinstance(a, float):
        return type(b) is float and np.float64(a).tobytes() == np.float64(b).tobytes()
    return bool(a == b)


def copied(r: Any) -> Any:
    """A result kept past the next call (the plan's buffers are reused)."""
    if isinstance(r, (tuple, list)):
        return type(r)(copied(x) for x in r)
    return r.copy() if isinstance(r, np.ndarray) else r


# ------------------------------------------------------------------ random programs

UNARY = ["tanh", "sin", "relu", "sigmoid", "neg", "abs", "softplus", "square", "exp_tanh"]
BINARY = ["add", "sub", "mul", "maximum", "div"]
# instructions: ("u", op, i) | ("b", op, i, j) | ("mm", i) | ("lin", i) | ("sum", i, axis)
instr = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(UNARY), st.integers(0, 50)),
    st.tuples(st.just("b"), st.sampled_from(BINARY), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("mm"), st.integers(0, 50)),
    st.tuples(st.just("lin"), st.integers(0, 50)),
    st.tuples(st.just("sum"), st.integers(0, 50), st.sampled_from([0, 1, None])),
)
programs = st.lists(instr, min_size=1, max_size=14)
loss_kinds = st.sampled_from(["sum", "mean", "xent", "sum_squares"])


def unary(op: str, a: cr.Node) -> cr.Node:
    if op == "neg":
        return -a
    if op == "square":
        return a * a
    if op == "exp_tanh":
        return cr.exp(cr.tanh(a))
    if op == "softplus":
        return cr.softplus(a)
    return getattr(cr, op)(a)  # type: ignore[no-any-return]


def binary(op: str, a: cr.Node, b: cr.Node) -> cr.Node:
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "maximum":
        return cr.maximum(a, b)
    return a / (b * b + 1.0)


def make_step(program: list[tuple[Any, ...]], loss_kind: str) -> Any:
    """fn(x, w, b, labels, s): arrays x (4, 3), w (3, 3), b (3,), a scalar s; returns the
    loss's value and every parameter's gradient."""

    def fn(x: np.ndarray, w: np.ndarray, b: np.ndarray, labels: np.ndarray, s0: float) -> Any:
        X, W, B = cr.var(x, "x"), cr.var(w, "w"), cr.var(b, "b")
        s = cr.var(s0, "s")  # (an argument: a variable made in fn from anything else is refused)
        vals: list[cr.Node] = [X, W, B, X * s]
        for ins in program:
            a = vals[ins[-1] % len(vals)] if ins[0] in ("u", "mm", "lin") else None
            if ins[0] == "u":
                assert a is not None
                vals.append(unary(ins[1], a))
            elif ins[0] == "b":
                p, q = vals[ins[2] % len(vals)], vals[ins[3] % len(vals)]
                try:
                    np.broadcast_shapes(p.shape, q.shape)
                except ValueError:
                    continue
                vals.append(binary(ins[1], p, q))
            elif ins[0] == "mm":
                assert a is not None
                if a.shape and a.shape[-1] == 3:
                    vals.append(a @ W)
            elif ins[0] == "lin":
                assert a is not None
                if a.ndim == 2 and a.shape[-1] == 3:
                    vals.append(T.linear(a, W, B))
            else:
                p = vals[ins[1] % len(vals)]
                axis = ins[2] if ins[2] is None or ins[2] < p.ndim else None
                vals.append(T.sum(p, axis=axis))
        last = vals[-1]
        if loss_kind == "xent" and last.ndim == 2 and last.shape == (4, 3):
            loss = nn.cross_entropy(last, cr.const(labels))
        elif loss_kind == "mean":
            loss = T.mean(last) if last.ndim else last
        elif loss_kind == "sum_squares":
            loss = T.sum_squares([last, W]) if last.ndim else last * last
        else:
            loss = T.sum(last) if last.ndim else last
        loss = loss + 0.0 * s  # every parameter is in the graph
        loss.backward()
        return loss.value, [X.grad, W.grad, B.grad, s.grad]

    return fn


def arguments(seed: int, dtype: Any) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(4, 3)).astype(dtype),
        rng.normal(size=(3, 3)).astype(dtype) * 0.5,
        rng.normal(size=3).astype(dtype),
        rng.integers(0, 3, 4).astype(np.float64),
        0.5,
    )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    program=programs,
    loss_kind=loss_kinds,
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_a_random_program_replays_to_the_last_bit(
    program: list[tuple[Any, ...]], loss_kind: str, dtype: Any, seed: int
) -> None:
    fn = make_step(program, loss_kind)
    step = cr.compile(fn)
    with np.errstate(all="ignore"):
        for k in range(3):  # the trace, then two replays on other numbers
            args = arguments(seed + k, dtype)
            got = copied(step(*args))
            want = fn(*args)
            assert same_bits(got, want), (k, str(step.plan))
    assert step.traces == 1


# ------------------------------------------------------------------ the training steps


def mlp_case(dtype: Any) -> tuple[Any, Any, Any, Any]:
    rng = np.random.default_rng(0)
    model = nn.MLP(784, [256, 10], dtype=dtype, rng=rng)
    X = rng.normal(size=(64, 784)).astype(dtype)
    Y = rng.integers(0, 10, 64).astype(np.float64)

    def fn(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = nn.cross_entropy(model(cr.const(X)), cr.const(Y))
        loss.backward()
        return loss.value, [p.grad for p in model.parameters()]

    return model, fn, X, Y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_mlp_training_step_trains_the_same_weights(dtype: Any) -> None:
    # two identical models: one trained through the plan, one without it
    model_a, fn_a, X, Y = mlp_case(dtype)
    model_b, fn_b, _, _ = mlp_case(dtype)
    step = cr.compile(fn_a)
    opt_a, opt_b = optim.SGD(model_a, lr=0.1), optim.SGD(model_b, lr=0.1)
    for _ in range(4):
        got = copied(step(X, Y))
        opt_a.step()  # backward set each parameter's .grad, as it does without a plan
        want = fn_b(X, Y)
        opt_b.step()
        assert same_bits(got, want)
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert same_bits(pa.value, pb.value)
    assert step.traces == 1
    text = str(step.plan)
    assert "layer1.weight" in text and "np.matmul" in text
    assert len(text.splitlines()) == len(step.plan)


def test_micrograds_demo_on_tensors_replays_exactly() -> None:
    from sklearn.datasets import make_moons

    X, labels = make_moons(n_samples=100, noise=0.1, random_state=1)
    y = labels * 2.0 - 1.0
    models = [nn.MLP(2, [16, 16, 1], rng=np.random.default_rng(0)) for _ in range(2)]

    def make(model: Any) -> Any:
        params = model.parameters()

        def fn(X: np.ndarray, y: np.ndarray) -> Any:
            scores = T.reshape(model(cr.const(X)), (-1,))
            loss = nn.hinge_loss(scores, cr.const(y)) + 1e-4 * T.sum_squares(params)
            loss.backward()
            return loss.value, [p.grad for p in params]

        return fn

    step = cr.compile(make(models[0]))
    plain = make(models[1])
    opts = [optim.SGD(m, lr=0.05) for m in models]
    rng = np.random.default_rng(1)
    for k in range(5):
        # new labels at each step: the hinge's margin and its mask change with them
        t = y if k < 2 else np.where(rng.random(100) < 0.3, -y, y)
        assert same_bits(copied(step(X, t)), plain(X, t)), k
        for o in opts:
            o.step()
    assert step.traces == 1
    text = str(step.plan)
    # the fused loss, the L2 term and the reshape run as written-out kernels
    assert "margin" in text and "2·g·x" in text and "ndarray.reshape" in text
    # a loss that is not a single name is bracketed wherever it sits in a derivative
    seed = next(line for line in text.splitlines() if line.endswith("[seed]"))
    assert seed.startswith("∂(") and "/∂(" in seed, seed
    assert not any(" + 0.0001a₃/∂" in line for line in text.splitlines()), text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_at_labels_replays_new_labels_and_refuses_bad_ones(dtype: Any) -> None:
    rng = np.random.default_rng(3)
    w = cr.var(rng.normal(size=(5, 12)).astype(dtype))

    def fn(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = nn.cross_entropy(cr.const(X) @ w, cr.const(Y))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    step = cr.compile(fn)
    for k in range(4):
        X = rng.normal(size=(40, 5)).astype(dtype) * (1 + 3 * k)
        Y = rng.integers(0, 12, 40).astype(np.float64)
        if k == 3:
            X[0] = X[0, 0]  # a row whose every logit ties
        assert same_bits(copied(step(X, Y)), fn(X, Y)), k
    assert step.traces == 1
    assert "softmax cross-entropy at labels, fused" in str(step.plan)
    for bad in (12.0, -1.0, 2.5):
        Y[7] = bad
        with pytest.raises(cr.ChainruleError, match="whole numbers from 0 to 11") as got:
            step(X, Y)
        with pytest.raises(cr.ChainruleError) as want:
            fn(X, Y)
        assert str(got.value) == str(want.value)


def test_a_batched_scalar_graph_replays_exactly() -> None:
    rng = np.random.default_rng(0)
    ws = [cr.var(float(v)) for v in rng.uniform(-1, 1, 6)]

    def fn(x1: np.ndarray, x2: np.ndarray, t: np.ndarray) -> Any:
        a, b = cr.var(x1), cr.var(x2)
        h = [cr.relu(ws[0] * a + ws[1] * b + ws[2]), cr.relu(ws[3] * a + ws[4] * b)]
        s = h[0] * ws[5] + h[1]
        loss = cr.mean(cr.relu(1 - cr.const(t) * s)) + 1e-4 * (ws[0] * ws[0] + ws[5] * ws[5])
        loss.backward()
        return loss.value, [w.grad for w in ws]

    def zero_grad() -> None:  # each step starts from no gradient, as a training loop's does
        for w in ws:
            w.grad = None

    step = cr.compile(fn)
    for k in range(3):
        x1, x2 = rng.normal(size=(2, 50))
        t = np.sign(rng.normal(size=50))
        zero_grad()
        got = copied(step(x1, x2, t))
        zero_grad()
        assert same_bits(got, fn(x1, x2, t)), k


# ------------------------------------------------------------------ retracing


def test_new_shapes_and_dtypes_are_traced_again() -> None:
    def fn(x: np.ndarray) -> Any:
        v = cr.var(x)
        loss = T.sum(cr.tanh(v) * v)
        loss.backward()
        return loss.value, v.grad

    step = cr.compile(fn)
    for shape, dtype in [((3,), np.float64), ((3,), np.float64), ((5,), np.float64)]:
        x = np.linspace(-1, 1, shape[0]).astype(dtype)
        assert same_bits(copied(step(x)), fn(x))
    assert step.traces == 2
    x32 = np.linspace(-1, 1, 5).astype(np.float32)
    assert same_bits(copied(step(x32)), fn(x32))
    assert step.traces == 3 and len(step.plans) == 3


def test_a_branch_on_a_value_is_traced_again_when_the_value_changes() -> None:
    calls = []

    def fn(x: np.ndarray) -> Any:
        v = cr.var(x)
        s = T.sum(v)
        big = s.value > 0  # Python branches on a value: the plan guards it
        calls.append(big)
        y = cr.exp(v) if big else cr.sin(v)
        loss = T.sum(y)
        loss.backward()
        return loss.value, v.grad

    step = cr.compile(fn)
    a, b = np.array([1.0, 2.0]), np.array([-1.0, -2.0])
    assert same_bits(copied(step(a)), fn(a))
    n = len(calls)
    assert same_bits(copied(step(a)), fn(a))  # same value: replayed, fn not run
    assert len(calls) == n + 1  # (only the reference call above ran fn)
    assert same_bits(copied(step(b)), fn(b))  # the guarded value changed: traced again
    assert step.traces == 2


def test_an_outside_parameter_is_read_at_each_call() -> None:
    w = cr.var(np.array([0.5, -1.0]), "w")

    def fn(x: np.ndarray) -> Any:
        loss = T.sum(cr.tanh(cr.const(x) * w))
        loss.backward()
        return loss.value, w.grad

    step = cr.compile(fn)
    x = np.array([1.0, 2.0])
    step(x)
    w.value = np.array([2.0, 3.0])  # replaced, as an optimizer may do
    w.grad = None
    got = copied(step(x))
    w.grad = None
    assert same_bits(got, fn(x))
    w.value = np.array([2.0, 3.0, 4.0])  # another shape: traced again
    x3 = np.array([1.0, 2.0, 3.0])
    w.grad = None
    got = copied(step(x3))
    w.grad = None
    assert same_bits(got, fn(x3))
    assert step.traces == 2


def test_a_parameter_accumulates_across_calls_as_without_a_plan() -> None:
    """backward() adds into a leaf's gradient as PyTorch does; the plan does the same."""

    def run(f: Any) -> Any:
        w = cr.var(np.array([0.5, -1.0]), "w")

        def fn(x: np.ndarray) -> Any:
            loss = T.sum(cr.tanh(cr.const(x) * w))
            loss.backward()
            return loss.value, w.grad

        g = f(fn)
        out = [copied(g(np.array([1.0, k]))) for k in (2.0, 3.0, 4.0)]
        if isinstance(g, Compiled):
            assert g.traces == 1  # a gradient held in an array is added to, not a new trace
        return out

    plain, compiled = run(lambda fn: fn), run(cr.compile)
    assert all(same_bits(a, b) for a, b in zip(compiled, plain, strict=True))
    assert not np.array_equal(plain[1][1], plain[0][1])  # the second call added to the first


def test_integer_arguments_are_part_of_the_signature() -> None:
    def fn(x: np.ndarray, k: int) -> Any:
        v = cr.var(x)
        y = v
        for _ in range(k):
            y = cr.sin(y)
        loss = T.sum(y)
        loss.backward()
        return loss.value, v.grad

    step = cr.compile(fn)
    x = np.array([0.3, 0.7])
    for k in (1, 2, 1):
        assert same_bits(copied(step(x, k)), fn(x, k))
    assert step.traces == 2


def test_a_forward_only_function_is_compiled() -> None:
    def fn(x: np.ndarray) -> Any:
        y = cr.tanh(cr.var(x)) * 2.0
        return y.value, float(T.sum(y))

    step = cr.compile(fn)
    for x in (np.array([0.1, 0.2]), np.array([3.0, -1.0])):
        assert same_bits(copied(step(x)), fn(x))
    assert step.traces == 1


# ------------------------------------------------------------------ what is refused


def test_an_array_computed_outside_the_graph_is_refused() -> None:
    def fn(x: np.ndarray) -> Any:
        v = cr.var(x)
        loss = T.sum(v * v)
        loss.backward()
        return v.grad * 2  # numpy on the gradient: not a node's value

    with pytest.raises(CompileError, match="neither a node's value nor its gradient"):
        cr.compile(fn)(np.array([1.0, 2.0]))


def test_two_backward_calls_are_refused() -> None:
    def fn(x: np.ndarray) -> Any:
        v = cr.var(x)
        T.sum(v).backward()
        T.sum(v * v).backward()
        return v.grad

    with pytest.raises(CompileError, match="more than once"):
        cr.compile(fn)(np.array([1.0]))


def test_exact_programs_are_refused() -> None:
    def fn(x: np.ndarray) -> Any:
        v = cr.var(1, exact=True)
        y = v * v
        y.backward()
        return y.value

    with pytest.raises(CompileError, match="exact"):
        cr.compile(fn)(np.array([1.0]))


def test_the_plan_needs_a_call_first_and_draws() -> None:
    step = cr.compile(lambda x: (cr.var(x) * 2.0).value)
    with pytest.raises(CompileError, match="call the compiled function once"):
        _ = step.plan
    step(np.array([1.0]))
    assert "mul" in str(step.plan)


def test_errors_come_from_fn_itself() -> None:
    def fn(x: np.ndarray) -> Any:
        v = cr.var(x)
        y = T.sum(cr.log(v))
        y.backward()
        return y.value

    step = cr.compile(fn)
    step(np.array([1.0, 2.0]))
    with np.errstate(all="ignore"):
        got = step(np.array([-1.0, 2.0]))
    assert np.isnan(got)  # what fn gives (the engine computes log(−1) as NaN for arrays)


def test_a_returned_activation_keeps_its_value() -> None:
    # the plan reuses an activation's buffer for its gradient only where nobody sees it
    rng = np.random.default_rng(1)
    w1, b1 = rng.normal(size=(5, 4)), rng.normal(size=5)
    w2, b2 = rng.normal(size=(3, 5)), rng.normal(size=3)

    def fn(x: np.ndarray, keep: bool, *ws: np.ndarray) -> Any:
        W1, B1, W2, B2 = (cr.var(w) for w in ws)  # (arguments: read at each call)
        h = cr.relu(T.linear(cr.const(x), W1, B1, transpose_w=True))
        loss = T.sum(T.linear(h, W2, B2, transpose_w=True))
        loss.backward()
        grads = [W1.grad, B1.grad, W2.grad, B2.grad]
        return (loss.value, h.value, grads) if keep else (loss.value, grads)

    for keep in (True, False):
        step = cr.compile(fn)
        for k in range(3):
            x = rng.normal(size=(6, 4))
            got = copied(step(x, keep, w1, b1, w2, b2))
            assert same_bits(got, fn(x, keep, w1, b1, w2, b2)), (keep, k)
        reused = "into its value's buffer" in str(step.plan)
        assert reused is not keep


def test_the_plan_is_drawn(tmp_path: Any) -> None:
    from chainrule import draw

    def fn(x: np.ndarray) -> Any:
        v = cr.var(x, "x")
        loss = T.sum(cr.tanh(v) * v)
        loss.backward()
        return loss.value, v.grad

    step = cr.compile(fn)
    step(np.array([0.5, -1.0]))
    svg = draw.to_svg(step.plan, "gradients")
    assert svg.startswith("<?xml") and "tanh" in svg
    out = step.plan.draw(str(tmp_path / "plan.svg"))
    assert out.read_text(encoding="utf-8").count('<g class="node') == svg.count('<g class="node')
    with pytest.raises(cr.ChainruleError, match="cannot draw"):
        draw.to_svg(object())


def test_a_node_used_twice_by_one_operation() -> None:
    # x·x sends two contributions to x from one reverse step: each from its own buffer
    def fn(x: np.ndarray, s: float) -> Any:
        v, w = cr.var(x), cr.var(s)
        y = v * v + w * w * v
        loss = T.sum(y * y)
        loss.backward()
        return loss.value, v.grad, w.grad

    step = cr.compile(fn)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x, s = rng.normal(size=7), float(rng.normal())
        assert same_bits(copied(step(x, s)), fn(x, s))
    assert step.traces == 1


# ------------------------------------------------------------------ layer batching


def scalar_mlp(sizes: list[int], seed: int) -> tuple[Any, list[cr.Node]]:
    """micrograd's MLP written one scalar at a time, each input leaf holding a batch."""
    rng = np.random.default_rng(seed)
    params: list[cr.Node] = []
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        rows = []
        for _ in range(n_out):
            a = cr.var(float(rng.uniform(-0.1, 0.1)))
            ws = [cr.var(float(rng.uniform(-1, 1))) for _ in range(n_in)]
            params += [a, *ws]
            rows.append((a, ws))
        layers.append(rows)

    def fn(x1: np.ndarray, x2: np.ndarray, t: np.ndarray) -> Any:
        h = [cr.var(x1), cr.var(x2)]
        for k, rows in enumerate(layers):
            nxt = []
            for a, ws in rows:
                for i, w in enumerate(ws):
                    a = a + w * h[i]
                nxt.append(cr.relu(a) if k < len(layers) - 1 else a)
            h = nxt
        reg = params[0] * params[0]
        for p in params[1:]:
            reg = reg + p * p
        loss = cr.mean(cr.relu(1 - cr.const(t) * h[0])) + 1e-4 * reg
        loss.backward()
        return loss.value, [p.grad for p in params]

    return fn, params


def test_a_scalar_mlp_runs_layer_by_layer_and_trains_the_same_weights() -> None:
    fa, pa = scalar_mlp([2, 8, 8, 1], seed=4)
    fb, pb = scalar_mlp([2, 8, 8, 1], seed=4)
    step = cr.compile(fa)
    opt_a, opt_b = optim.SGD(pa, lr=0.05), optim.SGD(pb, lr=0.05)
    rng = np.random.default_rng(5)
    for k in range(4):
        x1, x2 = rng.normal(size=(2, 30))
        t = np.sign(rng.normal(size=30))
        got = copied(step(x1, x2, t))
        opt_a.step()
        want = fb(x1, x2, t)
        opt_b.step()
        assert same_bits(got, want), k
    assert step.traces == 1
    text = str(step.plan)
    # the 8×8 products of the hidden layer are one call forward and one call back
    assert "= 64 × mul    [layer" in text
    assert "64 × mul's partials" in text
    assert len(text.splitlines()) == len(step.plan)
    layers = step.plan.layers  # the arena of rows and its gradients count as kept
    assert layers is not None and step.plan.nbytes() >= layers.A.nbytes + layers.GA.nbytes


# random scalar graphs: layers of nodes over a batch, with shared weights, x·x, subtractions,
# nodes reused across layers and returned input gradients, so that gradients gather many
# contributions from several groups and from single nodes
layer_programs = st.lists(
    st.tuples(
        st.integers(1, 6),  # width
        st.integers(1, 3),  # inputs per node
        st.sampled_from(["relu", "none", "square"]),
        st.booleans(),  # subtract instead of add
        st.booleans(),  # share one weight across the layer
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_programs, st.integers(0, 10_000), st.booleans())
def test_a_random_scalar_graph_replays_layer_by_layer_to_the_last_bit(
    program: list[tuple[int, int, str, bool, bool]], seed: int, reuse: bool
) -> None:
    rng = np.random.default_rng(seed)
    weights = [cr.var(float(v)) for v in rng.uniform(-1, 1, 40)]

    def fn(x1: np.ndarray, x2: np.ndarray) -> Any:
        a, b = cr.var(x1), cr.var(x2)
        h = [a, b]
        pick = np.random.default_rng(seed + 1)
        w_at = 0
        for width, fan_in, act, subtract, shared in program:
            nxt = []
            for j in range(width):
                acc: Any = weights[(w_at + j) % 40]
                for _ in range(fan_in):
                    w = weights[w_at % 40] if shared else weights[(w_at + 7 * j + 3) % 40]
                    src = h[int(pick.integers(len(h)))]
                    term = w * src
                    acc = acc - term if subtract else acc + term
                    w_at += 0 if shared else 1
                if act == "relu":
                    acc = cr.relu(acc)
                elif act == "square":
                    acc = acc * acc
                nxt.append(acc)
            h = nxt + ([a] if reuse else [])
        out = h[0]
        for v in h[1:]:
            out = out + v
        loss = cr.mean(out * out) + 1e-3 * (weights[0] * weights[0] + weights[1] * weights[1])
        loss.backward(accumulate=False)
        return loss.value, [w.grad for w in weights], a.grad, b.grad

    step = cr.compile(fn)
    for k in range(3):
        x1, x2 = rng.normal(size=(2, 7))
        got = copied(step(x1, x2))
        assert same_bits(got, fn(x1, x2)), k
    assert step.traces == 1


@pytest.mark.parametrize("case", ["dot", "squares", "both", "shared", "seen"])
def test_a_long_sum_of_products_runs_as_one_call(case: str) -> None:
    rng = np.random.default_rng(11)
    a = [cr.var(float(v)) for v in rng.normal(size=30)]
    b = [cr.var(float(v)) for v in rng.normal(size=30)]

    def chain(xs: list[cr.Node], ys: list[cr.Node]) -> cr.Node:
        s = xs[0] * ys[0]
        for x, y in zip(xs[1:], ys[1:], strict=True):
            s = s + x * y
        return s

    def fn(x: np.ndarray) -> Any:
        if case == "dot":
            total = chain(a, b)
        elif case == "squares":
            total = chain(a, a)
        elif case == "both":  # a receives from both chains
            total = chain(a, b) * chain(a, a)
        elif case == "shared":  # a[3] twice in one chain: sent node by node
            total = chain([*a[:10], a[3], *a[11:]], b)
        else:  # a partial sum that fn returns ends the fused chain there
            part = chain(a[:12], b[:12])
            total = part
            for u, v in zip(a[12:], b[12:], strict=True):
                total = total + u * v
        loss = cr.mean(cr.var(x) * total)
        loss.backward(accumulate=False)
        out = [loss.value, [p.grad for p in a + b]]
        if case == "seen":
            out.append(part.value)
        return out

    step = cr.compile(fn)
    for k in range(3):
        x = rng.normal(size=5)
        got = copied(step(x))
        assert same_bits(got, fn(x)), k
        for p in a + b:  # new numbers for the next call
            p.value = float(rng.normal())
    assert step.traces == 1
    fused = str(step.plan).count("products")
    # forward and back, each fused chain is one line (the shared weight's is swept node by node)
    assert fused == {"dot": 2, "squares": 2, "both": 4, "shared": 1, "seen": 2}[case]


def test_a_built_graph_replays_as_batched_graph_evaluates_it() -> None:
    from chainrule.core.batch import BatchedGraph
    from chainrule.core.compile import compile_graph

    def build() -> tuple[list[cr.Node], list[cr.Node], cr.Node]:
        rng = np.random.default_rng(8)
        x1, x2, t = cr.var(0.0, "x1"), cr.var(0.0, "x2"), cr.const(0.0, "t")
        params: list[cr.Node] = []
        h = [x1, x2]
        for layer, width in enumerate([6, 5, 1]):
            nxt = []
            for _ in range(width):
                a = cr.var(float(rng.uniform(-0.1, 0.1)))
                params.append(a)
                for hi in h:
                    w = cr.var(float(rng.uniform(-1, 1)))
                    params.append(w)
                    a = a + w * hi
                nxt.append(cr.tanh(a) if layer == 0 else cr.relu(a) if layer == 1 else a)
            h = nxt
        reg = params[0] * params[0]
        for p in params[1:]:
            reg = reg + p * p
        return [x1, x2, t], params, cr.mean(cr.relu(1 - t * h[0])) + 1e-3 * reg

    (ia, pa, la), (ib, pb, lb) = build(), build()
    graph = BatchedGraph(lb, ib)
    step = compile_graph(la, ia)
    opt_a, opt_b = optim.SGD(pa, lr=0.1), optim.SGD(pb, lr=0.1)
    rng = np.random.default_rng(9)
    for k in range(4):
        x1, x2 = rng.normal(size=(2, 25))
        t = np.sign(rng.normal(size=25))
        got = step(x1, x2, t)
        want = graph.run(dict(zip(ib, (x1, x2, t), strict=True)))
        assert same_bits(got, float(want)), k
        assert same_bits([p.grad for p in pa], [p.grad for p in pb]), k
        opt_a.step()
        opt_b.step()
    assert step.traces == 1
    assert "layer" in str(step.plan) and "products" in str(step.plan)
    with pytest.raises(CompileError, match="not a leaf"):
        compile_graph(la, [la.args[0]])


@pytest.mark.parametrize("inline", [True, False])
def test_the_written_out_sweep_and_the_step_by_step_sweep_agree(
    inline: bool, monkeypatch: Any
) -> None:
    """Steps that carry their source run as one written-out function; without it each step's
    own function runs: both give the uncompiled run's numbers, through training steps."""
    import chainrule.core.compile as compile_module

    if not inline:
        monkeypatch.setattr(compile_module, "_inline_sweep", lambda plan, runs: runs)
    for dtype in (np.float32, np.float64):
        model_a, fn_a, X, Y = mlp_case(dtype)
        model_b, fn_b, _, _ = mlp_case(dtype)
        step = cr.compile(fn_a)
        opt_a, opt_b = optim.SGD(model_a, lr=0.1), optim.SGD(model_b, lr=0.1)
        for _ in range(3):
            got = copied(step(X, Y))
            opt_a.step()
            want = fn_b(X, Y)
            opt_b.step()
            assert same_bits(got, want)
        # a function written out from several steps' sources has a comment line per step
        written = [f for f in step.plan.sweep if getattr(f, "source", "").count("\n    # ") > 1]
        assert bool(written) is inline
        if inline:  # the dense layers' reverse steps, one after the other in one function
            assert written[-1].source.count("matmul(") >= 3  # type: ignore[attr-defined]
    assert step.traces == 1


def test_every_kind_of_result_comes_back_as_without_a_plan() -> None:
    """The written-out run builds the result in one expression: a dict, a tuple, a number
    taken with float(), a value, a gradient and a constant, all as fn returns them."""
    rng = np.random.default_rng(5)
    w = cr.var(rng.normal(size=(3, 2)), "w")

    def fn(x: np.ndarray) -> Any:
        h = cr.const(x) @ w
        loss = T.sum(h * h)
        loss.backward(accumulate=False)
        return {"loss": float(loss), "parts": (h.value, w.grad), "tag": "step", "n": 3}

    step = cr.compile(fn)
    for k in range(3):
        x = rng.normal(size=(4, 3))
        got, want = copied(step(x)), fn(x)
        assert list(got) == list(want) and got["tag"] == "step" and got["n"] == 3
        assert same_bits(got["loss"], want["loss"]) and same_bits(got["parts"], want["parts"]), k
    assert step.traces == 1
    assert hasattr(step.plan._runner, "source")  # the written-out run served


def test_no_text_of_the_users_reaches_the_written_out_code() -> None:
    """The written-out functions are made from the plan's own templates: slot numbers and names
    of its own, every value (a node, a key, a constant) bound by name. A hostile name, key or
    string returned by fn never appears in the source, which holds no string literal at all."""
    import ast

    hostile = "__import__('os').system('echo pwned')\n#"
    rng = np.random.default_rng(3)
    w = cr.var(rng.normal(size=(3, 2)), hostile)
    b = cr.var(np.zeros(2), "b'); import os; ('")

    def fn(x: np.ndarray) -> Any:
        h = T.relu(cr.const(x) @ w + b)
        loss = T.sum(h * h)
        loss.backward(accumulate=False)
        return {hostile: loss.value, "'); os.system('x": (w.grad, b.grad), "s": hostile}

    step = cr.compile(fn)
    for _ in range(2):
        got = step(rng.normal(size=(4, 3)))
        assert got["s"] == hostile and hostile in got
    plan = step.plan
    sources = [f.source for f in plan.sweep if hasattr(f, "source")]
    sources.append(plan._runner.source)
    assert len(sources) >= 2, "nothing was written out: the test would prove nothing"
    for src in sources:
        assert "pwned" not in src and "import" not in src and "os" not in src.split()
        strings = [
            n.value
            for n in ast.walk(ast.parse(src))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        assert strings == [], strings


def test_every_compiled_form_of_an_op_is_run_and_writes_clean_source() -> None:
    """Each op's compiled form (``Op.planned``, ``ops/kernels.py``) runs here, forward and
    reverse, bit for bit as without a plan; its source, alone or written out with its
    neighbours, parses and holds no string literal (messages and constants are bound by
    name). A new op's form that nothing here runs fails the test until a case is added."""
    import ast

    from chainrule.ops import OPS

    rng = np.random.default_rng(11)
    mlp = nn.MLP(28, [32, 12], rng=np.random.default_rng(1))  # logits (64, 12)
    mlp_params = mlp.parameters()
    small = nn.MLP(2, [16, 1], rng=np.random.default_rng(2))
    small_params = small.parameters()

    def classify(x: np.ndarray, labels: np.ndarray) -> Any:
        loss = nn.cross_entropy(mlp(cr.const(x)), cr.const(labels))
        loss.backward(accumulate=False)
        return loss.value, [p.grad for p in mlp_params]

    def margin(x: np.ndarray, t: np.ndarray) -> Any:
        scores = T.reshape(small(cr.const(x)), (-1,))
        loss = nn.hinge_loss(scores, cr.const(t)) + 1e-3 * T.sum_squares(small_params)
        loss.backward(accumulate=False)
        return loss.value, [p.grad for p in small_params]

    cases = [
        (classify, lambda: (rng.normal(size=(64, 28)), rng.integers(0, 12, 64) * 1.0)),
        (margin, lambda: (rng.normal(size=(50, 2)), rng.choice([-1.0, 1.0], 50))),
    ]
    seen: set[str] = set()
    for fn, draw in cases:
        step = cr.compile(fn)
        for _ in range(3):
            args = draw()
            assert same_bits(copied(step(*args)), fn(*args))
        assert step.traces == 1
        for f in step.plan.sweep:
            src = getattr(f, "source", "")
            for line in src.splitlines():  # each step's comment: "# relu reverse"
                if line.strip().startswith("# "):
                    seen.add(line.strip()[2:].rsplit(" ", 1)[0])
            strings = [
                n.value
                for n in ast.walk(ast.parse(src))
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            assert strings == [], strings
    forms = {name for name, op in OPS.items() if op.planned is not None}
    assert forms and forms <= seen, forms - seen


def test_dropout_draws_a_new_mask_at_each_call_and_eval_traces_again() -> None:
    """A dropout mask is drawn at random at each call of the step: the plan draws it again,
    from the same generator, as the uncompiled step does (the same numbers, call after call);
    after ``eval()`` (and back after ``train()``) the step is traced again, since the mode
    decides the graph."""

    def make() -> Any:
        model = nn.Sequential(
            nn.Linear(4, 8, rng=np.random.default_rng(0)),
            nn.ReLU(),
            nn.Dropout(0.5, rng=np.random.default_rng(1)),
            nn.Linear(8, 3, rng=np.random.default_rng(2)),
        )
        params = model.parameters()

        def fn(X: np.ndarray, Y: np.ndarray) -> Any:
            loss = nn.cross_entropy(model(cr.const(X)), cr.const(Y))
            loss.backward(accumulate=False)
            return loss.value, [p.grad for p in params]

        return model, fn

    (model_a, fn_a), (model_b, fn_b) = make(), make()
    step = cr.compile(fn_a)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16).astype(float)
    losses = []
    for mode in ("train", "train", "train", "eval", "eval", "train", "train"):
        for m in (model_a, model_b):
            getattr(m, mode)()
        got, want = copied(step(X, Y)), fn_b(X, Y)
        assert same_bits(got, want), mode
        losses.append(got[0])
    assert len(set(losses[:3])) == 3  # a new mask each call, as without a plan
    assert losses[3] == losses[4]  # no dropout in eval
    assert step.traces == 3  # train, eval, train again
    model_a.train()  # already training: nothing changed, nothing traced again
    step(X, Y)
    assert step.traces == 3
    model_a.training = False  # set by hand
    step(X, Y)
    assert step.traces == 4


def test_a_constant_computed_outside_the_graph_is_refused_not_replayed() -> None:
    """``cr.const(X / 2)`` is an array numpy made from the argument: a plan would replay the
    first call's. The first call with other numbers runs fn again, finds the constant changed
    and refuses, naming the fix; the same step built from nodes (``cr.const(X) / 2``,
    ``T.one_hot``) replays bit for bit. Calls with the trace's own numbers run the plan."""
    w = cr.var(np.ones((3, 2)), "w")

    def outside(x: np.ndarray, y: np.ndarray) -> Any:
        loss = T.mse(cr.const(x / 2) @ w, cr.const(np.eye(2)[y.astype(int)]))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    def inside(x: np.ndarray, y: np.ndarray) -> Any:
        loss = T.mse((cr.const(x) / 2) @ w, T.one_hot(cr.const(y), 2))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    rng = np.random.default_rng(4)
    x0, y0 = rng.normal(size=(5, 3)), rng.integers(0, 2, 5).astype(float)
    bad = cr.compile(outside)
    for _ in range(3):  # the trace's numbers again: nothing to learn, the plan runs
        assert same_bits(copied(bad(x0, y0)), outside(x0, y0))
    assert bad.checks == 0
    with pytest.raises(CompileError, match=r"shape \(5, 3\).*computed outside the graph"):
        bad(rng.normal(size=(5, 3)), y0)
    good = cr.compile(inside)
    for k in range(4):
        x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5).astype(float)
        assert same_bits(copied(good(x, y)), inside(x, y)), k
    assert good.traces == 1 and good.checks == 1


def test_batches_of_many_sizes_keep_a_bounded_number_of_plans() -> None:
    """Each batch size is a signature with its own plan and buffers: a compiled function keeps
    the most recent ``MAX_PLANS`` and traces an evicted size again, with the same numbers."""
    from chainrule.core.compile import MAX_PLANS

    w = cr.var(np.ones(3), "w")

    def fn(x: np.ndarray) -> Any:
        loss = T.sum(cr.tanh(cr.const(x) * w))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    step = cr.compile(fn)
    rng = np.random.default_rng(8)
    for n in [*range(1, MAX_PLANS + 11), 1]:
        x = rng.normal(size=(n, 3))
        assert same_bits(copied(step(x)), fn(x)), n
    assert len(step.plans) == MAX_PLANS
    assert step.traces == MAX_PLANS + 11  # size 1 was evicted, then traced again
