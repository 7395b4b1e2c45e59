"""A compiled training step that changes nodes outside its graph: ``opt.zero_grad()``,
``opt.step()``, ``model.zero_grad()``, ``p.grad = None`` inside ``fn``. Each is made again at
every replay where fn made it, so a compiled loop gives the uncompiled loop's numbers to the
last bit (a twin model trained uncompiled is the reference); a change no call can make again
is refused by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.core.compile import CompileError

BATCHES = [np.random.default_rng(k).normal(size=(8, 5)) for k in range(3)]
LABELS = [np.random.default_rng(10 + k).integers(0, 3, 8).astype(float) for k in range(3)]


def twins(make_opt: Callable[[nn.Module], Any]) -> list[tuple[nn.Module, Any]]:
    out = []
    for _ in range(2):
        model = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
        out.append((model, make_opt(model)))
    return out


def loss_of(model: nn.Module, X: np.ndarray, Y: np.ndarray) -> cr.Node:
    return nn.cross_entropy(model(cr.const(X)), cr.const(Y))


def run_both(fn_of: Callable[[nn.Module, Any], Callable[..., Any]], make_opt: Any) -> None:
    """Seven calls on batches that come back (the plan is traced, checked on other numbers,
    then replayed): every result and every parameter the same bits as uncompiled."""
    (m1, o1), (m2, o2) = twins(make_opt)
    plain, fast = fn_of(m1, o1), cr.compile(fn_of(m2, o2))
    for k in range(7):
        X, Y = BATCHES[k % 3], LABELS[k % 3]
        want, got = plain(X, Y), fast(X, Y)
        assert repr(got) == repr(want), f"call {k + 1}"
        for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
            assert np.array_equal(p.value, q.value), f"call {k + 1}: {p.label()}"
            assert (p.grad is None) == (q.grad is None)
    assert fast.traces == 1  # replayed, not traced at each call


OPTIMIZERS = {
    "sgd": lambda m: optim.SGD(m, lr=0.1),
    "momentum": lambda m: optim.SGD(m, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda m: optim.Adam(m, lr=0.01),
}


def pytorch_step(model: nn.Module, opt: Any) -> Callable[..., Any]:
    """The training step as PyTorch users write it, the optimizer inside."""

    def step(X: np.ndarray, Y: np.ndarray) -> Any:
        opt.zero_grad()
        loss = loss_of(model, X, Y)
        loss.backward()
        opt.step()
        return loss.value

    return step


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_pytorch_style_step_trains_as_uncompiled(name: str) -> None:
    run_both(pytorch_step, OPTIMIZERS[name])


def test_the_plan_prints_the_calls_it_makes_again() -> None:
    model = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
    fast = cr.compile(pytorch_step(model, optim.Adam(model, lr=0.01)))
    fast(BATCHES[0], LABELS[0])
    lines = str(fast.plan).splitlines()
    assert lines[0].startswith("Adam.zero_grad()") and "before the sweep" in lines[0]
    assert lines[-1].startswith("Adam.step()") and "gradients are set" in lines[-1]


def test_module_zero_grad_and_a_step_without_zeroing() -> None:
    def fn_of(model: nn.Module, opt: Any) -> Callable[..., Any]:
        def step(X: np.ndarray, Y: np.ndarray) -> Any:
            model.zero_grad()
            loss = loss_of(model, X, Y)
            loss.backward()
            opt.step()
            return float(loss)

        return step

    run_both(fn_of, OPTIMIZERS["sgd"])


@pytest.mark.parametrize("how", ["opt", "module", "by hand", "zeros"])
def test_gradients_cleared_in_fn_are_not_added_to(how: str) -> None:
    """No step: the gradients stay on the parameters between calls, and fn clears them
    first; the plan used to add each call's gradients to the last call's."""

    def fn_direct(model: nn.Module, opt: Any) -> Callable[..., Any]:
        def grads(X: np.ndarray, Y: np.ndarray) -> Any:
            if how == "opt":
                opt.zero_grad()
            elif how == "module":
                model.zero_grad()
            elif how == "zeros":
                opt.zero_grad(set_to_none=False)
            else:
                for p in model.parameters():
                    p.grad = None
            loss = loss_of(model, X, Y)
            loss.backward()
            return loss.value, model.parameters()[0].grad

        return grads

    (m1, o1), (m2, o2) = twins(OPTIMIZERS["sgd"])
    plain, fast = fn_direct(m1, o1), cr.compile(fn_direct(m2, o2))
    for k in range(6):
        X, Y = BATCHES[k % 3], LABELS[k % 3]
        want, got = plain(X, Y), fast(X, Y)
        assert want[0] == got[0]
        assert np.array_equal(want[1], got[1]), f"call {k + 1}"
        # and against the gradient of this batch alone
        m3 = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
        alone = loss_of(m3, X, Y)
        alone.backward()
        assert np.array_equal(got[1], m3.parameters()[0].grad)


def test_grads_returned_before_zero_grad_after_backward() -> None:
    def fn_of(model: nn.Module, opt: Any) -> Callable[..., Any]:
        def step(X: np.ndarray, Y: np.ndarray) -> Any:
            loss = loss_of(model, X, Y)
            loss.backward()
            g = model.parameters()[0].grad
            opt.zero_grad()
            return loss.value, g

        return step

    (m1, o1), (m2, o2) = twins(OPTIMIZERS["sgd"])
    plain, fast = fn_of(m1, o1), cr.compile(fn_of(m2, o2))
    for k in range(5):
        want, got = plain(BATCHES[k % 3], LABELS[k % 3]), fast(BATCHES[k % 3], LABELS[k % 3])
        assert want[0] == got[0] and np.array_equal(want[1], got[1])
        assert all(p.grad is None for p in m2.parameters())


def test_an_optimizer_of_ones_own_is_replayed() -> None:
    class Halving(optim.Optimizer):
        """p ← p − lr·g, the learning rate halved at each step (state a replay must move)."""

        def step(self) -> None:
            for p in self.params:
                if p.grad is not None:
                    p.value = p.value - self.lr * p.grad
                    p.grad = None
            self.lr = self.lr / 2

    def fn_of(model: nn.Module, opt: Any) -> Callable[..., Any]:
        def step(X: np.ndarray, Y: np.ndarray) -> Any:
            loss = loss_of(model, X, Y)
            loss.backward()
            opt.step()
            return loss.value

        return step

    run_both(fn_of, lambda m: Halving(m, lr=0.5))


def test_an_error_in_the_step_is_raised_once_and_the_step_made_once() -> None:
    calls = []

    class Failing(optim.SGD):
        def step(self) -> None:
            calls.append(1)
            if len(calls) == 4:
                raise RuntimeError("the fourth step fails")
            super().step()

    model = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
    opt = Failing(model, lr=0.1)

    def step(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = loss_of(model, X, Y)
        loss.backward()
        opt.step()
        return loss.value

    fast = cr.compile(step)
    for _ in range(3):
        fast(BATCHES[0], LABELS[0])
    with pytest.raises(RuntimeError, match="fourth step"):
        fast(BATCHES[0], LABELS[0])
    assert len(calls) == 4  # not made again by a new trace of fn


def refused(fn: Callable[..., Any], match: str) -> None:
    with pytest.raises(CompileError, match=match):
        cr.compile(fn)(BATCHES[0], LABELS[0])


def test_an_update_in_place_or_an_assignment_is_refused() -> None:
    model = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
    w = model.parameters()[0]

    def in_place(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = loss_of(model, X, Y)
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        return loss.value

    def shrink(X: np.ndarray, Y: np.ndarray) -> Any:  # no gradient read: nothing guards it
        loss = loss_of(model, X, Y)
        with cr.no_grad():
            for p in model.parameters()[:1]:
                p *= 0.5
        return loss.value

    def assigned(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = loss_of(model, X, Y)
        w.value = np.zeros_like(w.value)
        return loss.value

    def grad_set(X: np.ndarray, Y: np.ndarray) -> Any:
        w.grad = np.ones_like(w.value)
        loss = loss_of(model, X, Y)
        loss.backward()
        return loss.value

    refused(in_place, "changes the value of layer1.weight")
    refused(shrink, "changes the value of layer1.weight")
    refused(assigned, "changes the value of layer1.weight")
    refused(grad_set, "gradient of layer1.weight")


def test_a_step_in_the_wrong_place_is_refused() -> None:
    model = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
    opt = optim.SGD(model, lr=0.1)

    def step_first(X: np.ndarray, Y: np.ndarray) -> Any:
        opt.step()
        loss = loss_of(model, X, Y)
        loss.backward()
        return loss.value

    def after_step(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = loss_of(model, X, Y)
        loss.backward()
        opt.step()
        return loss_of(model, X, Y).value  # the loss at the new parameters

    def read_after(X: np.ndarray, Y: np.ndarray) -> Any:
        loss = loss_of(model, X, Y)
        loss.backward()
        opt.step()
        return loss.value, model.parameters()[0].value

    def own_params(X: np.ndarray, Y: np.ndarray) -> Any:
        w = cr.var(X)
        inner = optim.SGD([w], lr=0.1)
        loss = (w * w).sum()
        loss.backward()
        inner.step()
        return loss.value

    refused(step_first, r"SGD.step\(\) before backward")
    refused(after_step, r"after SGD.step\(\)")
    refused(read_after, r"value of layer1.weight after SGD.step\(\)")
    refused(own_params, "a node made in fn")


def test_an_optimizer_set_up_in_fn_is_refused() -> None:
    """The step is the optimizer's as the plan finds it: a learning rate set in fn from an
    argument would stay the first call's."""
    model = nn.MLP(5, [4, 3], rng=np.random.default_rng(1))
    opt = optim.SGD(model, lr=0.1)

    def scheduled(X: np.ndarray, Y: np.ndarray, lr: float = 0.1) -> Any:
        opt.lr = lr
        loss = loss_of(model, X, Y)
        loss.backward()
        opt.step()
        return loss.value

    def group(X: np.ndarray, Y: np.ndarray) -> Any:
        for g in opt.param_groups:
            g["lr"] = 0.05
        loss = loss_of(model, X, Y)
        loss.backward()
        opt.step()
        return loss.value

    def made_here(X: np.ndarray, Y: np.ndarray) -> Any:
        adam = optim.Adam(model, lr=0.01)  # new moments at each call, uncompiled
        loss = loss_of(model, X, Y)
        loss.backward()
        adam.step()
        return loss.value

    refused(scheduled, "optimizer's lr")
    refused(group, "optimizer's lr")
    refused(made_here, "optimizer's params")
