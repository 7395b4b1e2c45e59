"""``chainrule.compile`` never replays what it cannot see: the seed given to ``backward`` is
read at each call, a Python branch on an argument's values is refused, as are a variable made
inside ``fn`` from something that is not an argument and a dropout generator the plan could not
follow; keyword arguments are bound as ``fn`` would bind them.

Every compiled result is compared with ``fn`` run uncompiled on the same arguments, bit for bit;
a refusal is a ``CompileError`` whose message says what to do instead."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_compile import copied, same_bits

import chainrule as cr
import chainrule.tensor as T
from chainrule import nn
from chainrule.core.compile import CompileError

# ------------------------------------------------------------------ the seed of backward


def test_an_array_seed_passed_as_an_argument_is_read_at_each_call() -> None:
    w = cr.var(np.ones((2, 2)), "w")
    X = np.eye(2)

    def step(X: np.ndarray, G: np.ndarray) -> Any:
        out = cr.const(X) @ w
        out.backward(G, accumulate=False)
        return w.grad

    fast = cr.compile(step)
    for G in (np.ones((2, 2)), np.full((2, 2), 5.0), np.arange(4.0).reshape(2, 2)):
        assert same_bits(copied(fast(X, G)), step(X, G))
    assert fast.traces == 1


def test_a_float_seed_passed_as_an_argument_is_read_at_each_call() -> None:
    w = cr.var(np.array([1.0, -2.0, 0.5]), "w")
    x = np.array([0.3, 0.2, -0.1])

    def step(x: np.ndarray, s: float) -> Any:
        loss = T.sum(cr.tanh(cr.const(x) * w))
        loss.backward(s, accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(step)
    for s in (1.0, 3.0, -0.25):
        assert same_bits(copied(fast(x, s)), step(x, s))
    assert fast.traces == 1


def test_a_seed_computed_in_the_graph_from_an_argument_is_read_at_each_call() -> None:
    w = cr.var(np.ones((2, 3)), "w")

    def step(X: np.ndarray, G: np.ndarray) -> Any:
        out = cr.const(X) @ w
        out.backward(cr.const(G) * 2.0, accumulate=False)
        return w.grad

    fast = cr.compile(step)
    rng = np.random.default_rng(0)
    for _ in range(3):
        X, G = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
        assert same_bits(copied(fast(X, G)), step(X, G))
    assert fast.traces == 1


def test_a_seed_computed_outside_the_graph_is_refused_when_it_changes() -> None:
    w = cr.var(np.ones((2, 2)), "w")

    def same_seed(X: np.ndarray) -> Any:  # the same seed at every call: replayed
        out = cr.const(X) @ w
        out.backward(np.ones((2, 2)), accumulate=False)
        return w.grad

    def other_seed(X: np.ndarray) -> Any:  # numpy makes it from the argument: refused
        out = cr.const(X) @ w
        out.backward(X * 2.0, accumulate=False)
        return w.grad

    fast = cr.compile(same_seed)
    rng = np.random.default_rng(1)
    for _ in range(3):
        X = rng.normal(size=(2, 2))
        assert same_bits(copied(fast(X)), same_seed(X))
    bad = cr.compile(other_seed)
    bad(np.eye(2))
    with pytest.raises(CompileError, match=r"gradient given to backward\(\).*changed"):
        bad(np.full((2, 2), 3.0))


# ------------------------------------------------------------------ branches on arguments


def scaled_step() -> Any:
    w = cr.var(np.ones(3), "w")

    def step(X: np.ndarray) -> Any:
        loss = (cr.const(X) * w).sum()
        if X.max() > 10:
            loss = loss * 0.01
        return loss.value

    return step


SMALL, BIG = np.array([1.0, 2.0, 3.0]), np.array([100.0, 200.0, 300.0])


@pytest.mark.parametrize("first, then", [(SMALL, BIG), (BIG, SMALL)])
def test_a_branch_on_an_arguments_values_is_refused_not_replayed(
    first: np.ndarray, then: np.ndarray
) -> None:
    step = scaled_step()
    fast = cr.compile(step)
    assert same_bits(fast(first), step(first))
    assert same_bits(fast(first.copy()), step(first))  # the same numbers: nothing to learn
    with pytest.raises(CompileError, match="branches on the values of its arguments") as err:
        fast(then)
    assert "mul" in str(err.value)  # names the step one path has and the other not


def test_a_branch_on_a_float_argument_is_refused_and_a_float_used_as_data_is_read() -> None:
    w = cr.var(np.array([0.5, -1.0, 2.0]), "w")
    x = np.array([1.0, 2.0, 3.0])

    def branch(x: np.ndarray, beta: float) -> Any:
        loss = T.sum(cr.const(x) * w)
        if beta > 0.5:
            loss = loss * loss
        return loss.value

    def data(x: np.ndarray, beta: float) -> Any:
        loss = T.sum(cr.const(x) * w) * beta
        loss.backward(accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(branch)
    assert same_bits(fast(x, 0.25), branch(x, 0.25))
    with pytest.raises(CompileError, match="branches on the values of its arguments"):
        fast(x, 0.75)
    good = cr.compile(data)
    for beta in (0.25, 0.75, 2.0, -1.0):
        assert same_bits(copied(good(x, beta)), data(x, beta))
    assert good.traces == 1 and good.checks == 1


def test_a_plan_is_checked_once_with_other_numbers_then_replays_without_fn() -> None:
    w = cr.var(np.ones(3), "w")
    calls = []

    def step(X: np.ndarray) -> Any:
        calls.append(1)
        loss = T.sum(cr.tanh(cr.const(X) * w))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(step)
    rng = np.random.default_rng(2)
    for _ in range(5):
        X = rng.normal(size=3)
        assert same_bits(copied(fast(X)), step(X))
    assert fast.traces == 1 and fast.checks == 1
    assert len(calls) == 2 + 5  # the trace, the check and the five reference calls


# ------------------------------------------------------------------ variables made in fn


def test_a_variable_made_in_fn_from_a_global_array_is_refused_at_the_trace() -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=8)
    W = np.zeros(3)

    def step(X: np.ndarray, Y: np.ndarray) -> Any:
        w = cr.var(W, "w")
        loss = ((cr.const(X) @ w - cr.const(Y)) ** 2).mean()
        loss.backward()
        return loss.value, w.grad

    fast = cr.compile(step)
    with pytest.raises(CompileError, match=r"variable w .*not one of its arguments") as err:
        fast(X, Y)
    assert "outside fn" in str(err.value)
    with pytest.raises(CompileError, match="variable w"):  # mini-batches: the same refusal
        fast(X[:4], Y[:4])

    def given(X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> Any:  # W an argument: read
        w = cr.var(W, "w")
        loss = ((cr.const(X) @ w - cr.const(Y)) ** 2).mean()
        loss.backward()
        return loss.value, w.grad

    runs = []
    for f in (given, cr.compile(given)):
        W, losses = np.zeros(3), []
        for _ in range(4):
            value, g = f(X, Y, W)
            losses.append(value)
            W = W - 0.1 * g
        runs.append(losses)
    assert same_bits(runs[0], runs[1]) and runs[1][-1] < runs[1][0]


def test_a_dropout_generator_fn_does_not_own_is_refused() -> None:
    w = cr.var(np.ones((3, 2)), "w")
    gen = np.random.default_rng(0)

    def step(X: np.ndarray) -> Any:
        loss = T.sum(T.dropout(cr.const(X) @ w, 0.5, rng=gen))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    with pytest.raises(CompileError, match=r"rng=.*generator"):
        cr.compile(step)(np.ones((4, 3)))

    def given(X: np.ndarray, gen: np.random.Generator) -> Any:  # an argument: each its plan
        loss = T.sum(T.dropout(cr.const(X) @ w, 0.5, rng=gen))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(given)
    X = np.random.default_rng(3).normal(size=(4, 3))
    for seed in (0, 0, 1, 0):
        got = copied(fast(X, np.random.default_rng(seed)))
        assert same_bits(got, given(X, np.random.default_rng(seed)))


def test_dropout_draws_from_the_generator_it_would_draw_from_uncompiled(monkeypatch: Any) -> None:
    import chainrule.core.seed as seed_state

    monkeypatch.setattr(seed_state, "_seeded", None)  # (put back after the test)
    w = cr.var(np.ones((3, 2)), "w")

    def step(X: np.ndarray) -> Any:
        loss = T.sum(T.dropout(cr.const(X) @ w, 0.5))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(step)
    X = np.random.default_rng(3).normal(size=(4, 3))
    for seed in (5, 5, 6):
        cr.manual_seed(seed)
        got = copied(fast(X))
        cr.manual_seed(seed)
        assert same_bits(got, step(X))
    # a model made outside fn draws from its own Dropout's generator, as uncompiled
    rng = np.random.default_rng(0)
    models = [
        nn.Sequential(
            nn.Linear(4, 8, rng=np.random.default_rng(1)),
            nn.ReLU(),
            nn.Dropout(0.3, rng=np.random.default_rng(2)),
            nn.Linear(8, 3, rng=np.random.default_rng(3)),
        )
        for _ in range(2)
    ]

    def make(model: Any) -> Any:
        def step(X: np.ndarray, Y: np.ndarray) -> Any:
            loss = nn.cross_entropy(model(cr.const(X)), cr.const(Y))
            loss.backward(accumulate=False)
            return loss.value

        return step

    fast, slow = cr.compile(make(models[0])), make(models[1])
    for _ in range(4):
        X, Y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6).astype(float)
        assert same_bits(fast(X, Y), slow(X, Y))
    assert fast.traces == 1


# ------------------------------------------------------------------ keyword arguments


def test_keyword_arguments_are_bound_as_fn_binds_them() -> None:
    w = cr.var(np.array([1.0, -1.0]), "w")

    def step(X: np.ndarray, scale: float = 1.0, *, shift: float = 0.0) -> Any:
        loss = T.sum(cr.const(X) * w) * scale + shift
        loss.backward(accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(step)
    X = np.array([2.0, 3.0])
    for kwargs in ({"scale": 2.0}, {"scale": 3.0}, {"scale": 0.5, "shift": 1.0}, {}):
        assert same_bits(copied(fast(X, **kwargs)), step(X, **kwargs)), kwargs
    assert same_bits(copied(fast(X=X, scale=4.0)), step(X, 4.0))
    with pytest.raises(TypeError):
        fast(X, nope=1.0)


# ------------------------------------------------------------------ one array passed twice


def test_one_array_passed_twice_then_two_arrays_replays_each_as_uncompiled() -> None:
    """fn(X, X) traces both leaves from one object: a later call with two different arrays
    must not read the same one for both."""
    w = cr.var(np.ones(3), "w")

    def step(A: np.ndarray, B: np.ndarray) -> Any:
        loss = T.sum(cr.const(A) * w - cr.const(B))
        loss.backward(accumulate=False)
        return loss.value, w.grad

    fast = cr.compile(step)
    X, Y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])
    A, B = np.array([1.0, 1.0, 1.0]), np.array([5.0, 5.0, 5.0])
    for args in ((X, X), (Y, Y), (A, B), (X, X), (B, A)):
        assert same_bits(copied(fast(*args)), step(*args))
