"""Plain SGD's one-loop step: the same parameters, bit for bit, as the general update path
(``Optimizer.step`` → ``_update`` → ``_apply``), and numpy's ``v − lr·g`` computed apart."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.core import blas
from chainrule.core.errors import ValueInputError


def _params(rng: np.random.Generator) -> list[tuple[Any, Any]]:
    """(value, gradient) pairs of every kind the loop must handle alike."""
    big = blas.MIN_SIZE + 64
    read_only = rng.normal(size=(5, 3))
    read_only.flags.writeable = False
    return [
        (rng.normal(size=(7, 3)), rng.normal(size=(7, 3))),
        (rng.normal(size=(16,)).astype(np.float32), rng.normal(size=(16,)).astype(np.float32)),
        # large: the one-pass BLAS update (same layouts), and numpy's (other layouts)
        (np.asfortranarray(rng.normal(size=(big // 64, 64)).astype(np.float32)), None),
        (rng.normal(size=(big,)).astype(np.float32), rng.normal(size=(big,)).astype(np.float32)),
        (rng.normal(size=(64, big // 64)), None),
        (read_only, rng.normal(size=(5, 3))),
        (0.75, -1.5),  # a number
        (np.float64(0.5), 2.0),
    ]


def _nodes(pairs: list[tuple[Any, Any]], rng: np.random.Generator) -> list[cr.Node]:
    nodes = []
    for value, grad in pairs:
        p = cr.var(value.copy() if isinstance(value, np.ndarray) else value)
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            p.value.flags.writeable = False
        if grad is None:  # the gradient in the other layout
            grad = np.ascontiguousarray(rng.normal(size=value.shape).astype(value.dtype))
            if value.flags.c_contiguous:
                grad = np.asfortranarray(grad)
        p.grad = grad
        nodes.append(p)
    return nodes


def _bits(v: Any) -> bytes:
    return np.asarray(v).tobytes() + str(np.asarray(v).dtype).encode()


@pytest.mark.parametrize("lr", [0.01, 1.0, 0.3])
def test_plain_sgd_gives_the_general_paths_parameters_bit_for_bit(lr: float) -> None:
    pairs = _params(np.random.default_rng(0))
    lean = _nodes(pairs, np.random.default_rng(1))
    general = _nodes(pairs, np.random.default_rng(1))
    for _ in range(3):
        optim.SGD(lean, lr=lr).step()
        optim.Optimizer.step(optim.SGD(general, lr=lr))  # step → _update → _apply
        for p in lean + general:
            assert p.grad is None  # consumed
        for a, b in zip(lean, general, strict=True):
            assert _bits(a.value) == _bits(b.value)
        rng = np.random.default_rng(2)
        for a, b in zip(lean, general, strict=True):
            g = rng.normal(size=np.shape(a.value))
            g = g.astype(a.value.dtype) if isinstance(a.value, np.ndarray) else float(g)
            a.grad, b.grad = g, g


def test_plain_sgd_on_small_arrays_is_numpys_v_minus_lr_g() -> None:
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        start = rng.normal(size=(12, 5)).astype(dtype)
        g = rng.normal(size=(12, 5)).astype(dtype)
        p = nn.parameter(start.copy())
        own = p.value
        p.grad = g
        optim.SGD([p], lr=0.05).step()
        want = start - np.asarray(0.05, dtype) * g
        assert p.value is own and p.value.tobytes() == want.tobytes()


def test_plain_sgd_keeps_the_checks() -> None:
    p = nn.parameter(np.ones(3))
    q = nn.parameter(np.ones(3))
    opt = optim.SGD([p, q], lr=0.5)
    p.grad = np.full(3, 2.0)
    opt.step()  # q has no gradient: left alone
    np.testing.assert_array_equal(p.value, np.zeros(3))
    np.testing.assert_array_equal(q.value, np.ones(3))
    assert p.grad is None and q.grad is None
    q.grad = np.ones(4)
    with pytest.raises(ValueInputError, match=r"shape \(4,\)"):
        opt.step()


def test_a_subclass_update_or_momentum_takes_the_general_path() -> None:
    class Halved(optim.SGD):
        def _update(self, p: cr.Node, g: Any, state: dict[str, Any]) -> None:
            self._apply(p, g, self.lr / 2)

    p = nn.parameter(np.ones(2))
    p.grad = np.ones(2)
    Halved([p], lr=1.0).step()
    np.testing.assert_array_equal(p.value, [0.5, 0.5])
    q = nn.parameter(np.ones(2))
    opt = optim.SGD([q], lr=0.1, momentum=0.5)
    for _ in range(2):
        q.grad = np.ones(2)
        opt.step()
    np.testing.assert_allclose(q.value, 1 - 0.1 * (1 + 1.5))
