"""Writes through views convert with PyTorch's numbers: ``h[:, 0] = 0``, ``h.t().mul_(3)``,
``h.diagonal().add_(1)``, a view read after its tensor was changed in place ... For each model
the value and the gradient of every parameter and input equal ``torch.autograd``'s on the same
model and inputs; what chainrule cannot follow is refused with the operation named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import chainrule as cr  # noqa: E402
from chainrule.core.errors import ValueInputError  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


class Probe(torch.nn.Module):
    """A linear layer, then ``body`` on its output ``h`` and the input ``x``, then a score that
    depends on every element of what ``body`` returns (and on its sign)."""

    def __init__(self, body: Callable[[Any, Any], Any]) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.body = body

    def forward(self, x: Any) -> Any:
        out = self.body(self.fc(x), x)
        weights = torch.arange(out.numel(), dtype=out.dtype).reshape(out.shape) - 1.5
        return (out * out).sum() + (out * weights).sum()


def select_assign(h, x):
    h[:, 0] = 0.0
    return h


def slice_add(h, x):
    h[:, :2] += 1
    return h


def transpose_mul(h, x):
    h.t().mul_(3)
    return h


def unsqueeze_mul(h, x):
    h.unsqueeze(0).mul_(3)
    return h


def view_assign(h, x):
    h.view(8)[0] = 5
    return h


def row_relu(h, x):
    h[0].relu_()
    return h


def narrow_zero(h, x):
    h.narrow(1, 0, 2).zero_()
    return h


def diagonal_add(h, x):
    h.diagonal().add_(1)
    return h


def clone_assign(h, x):
    h2 = h.clone()
    h2[:, 0] = 0
    return h * h2


def view_before_write(h, x):
    y = h[:, 0]
    h.mul_(2)
    return y


def slice_from_itself(h, x):
    h[1:] = h[1:] * 2
    return h


def index_fill(h, x):
    h.index_fill_(1, torch.tensor([0, 2]), -1.0)
    return h


def input_clone_slice(h, x):
    x2 = x.clone()
    x2[:, 1:] = 0
    return h + x2.sum(dim=1, keepdim=True)


def row_from_row(h, x):
    h[0] = h[1]
    return h


def write_into_view_of_view(h, x):
    h[0][1:].mul_(-2)
    return h


def other_view_reads_write(h, x):
    column = h[:, 1]
    h[0].mul_(3)
    return column


def masked_write_through_view(h, x):
    part = h[:, :3]
    part[part > 0] = 0
    return h


def masked_fill_view(h, x):
    h[:, 1:].masked_fill_(h[:, 1:] < 0, 0.5)
    return h


def clamp_view(h, x):
    h[1].clamp_(-0.1, 0.1)
    return h


def transposed_row(h, x):
    h.T[1] = x[:, 0]
    return h


def as_strided_write(h, x):
    h.as_strided((2,), (5,)).mul_(3)
    return h


def contiguous_alias(h, x):
    h.contiguous().mul_(2)
    return h


def eval_dropout_alias(h, x):
    F.dropout(h, 0.5, training=False).mul_(2)
    return h


def same_dtype_cast_alias(h, x):
    h.to(h.dtype).add_(1)
    return h


def write_then_view_then_write(h, x):
    h[:, 0] = x[:, 0]
    y = h.t()
    h[1].tanh_()
    return y


def in_place_on_transpose_before(h, x):
    y = h.transpose(0, 1)
    h.mul_(2)
    return y + torch.relu_(h).t()


CASES = [
    select_assign,
    slice_add,
    transpose_mul,
    unsqueeze_mul,
    view_assign,
    row_relu,
    narrow_zero,
    diagonal_add,
    clone_assign,
    view_before_write,
    slice_from_itself,
    index_fill,
    input_clone_slice,
    row_from_row,
    write_into_view_of_view,
    other_view_reads_write,
    masked_write_through_view,
    masked_fill_view,
    clamp_view,
    transposed_row,
    as_strided_write,
    contiguous_alias,
    eval_dropout_alias,
    same_dtype_cast_alias,
    write_then_view_then_write,
    in_place_on_transpose_before,
]


def _compare(model: torch.nn.Module, x: Any) -> None:
    """chainrule's value and gradients against torch.autograd's, on copies of the inputs."""
    g = cr.from_torch(model, x.clone())
    g.backward()
    model.zero_grad(set_to_none=True)
    leaf = x.clone().requires_grad_(True)
    expected = model(leaf)
    expected.backward()
    np.testing.assert_allclose(float(g.output.value), expected.item(), rtol=1e-10, atol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(
            g[name].grad, p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(g["x"].grad, leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("body", CASES, ids=[c.__name__ for c in CASES])
def test_writes_through_views_match_autograd(body: Callable[[Any, Any], Any]) -> None:
    torch.manual_seed(1)
    model = Probe(body).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    _compare(model, x)


def test_tester_example_gives_torchs_value_and_bias_gradient() -> None:
    torch.manual_seed(0)
    model = Probe(select_assign).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    g = cr.from_torch(model, x)
    g.backward()
    expected = model(x)
    expected.backward()
    assert float(g.output.value) == pytest.approx(expected.item(), rel=1e-12)
    assert g["fc.bias"].grad[0] == 0.0  # column 0 was overwritten: no gradient reaches it
    np.testing.assert_allclose(g["fc.bias"].grad, model.fc.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_a_written_view_keeps_infinite_elements_it_does_not_touch() -> None:
    """The untouched elements are carried over as they are, not multiplied by a mask."""

    class Inf(torch.nn.Module):
        def forward(self, x):
            h = torch.log(x)  # log 0 = -inf
            h[:, 1] = 0.0
            return h

    x = torch.tensor([[0.0, 0.0], [2.0, 3.0]], dtype=torch.float64)
    g = cr.from_torch(Inf(), x)
    np.testing.assert_array_equal(g.output.value, Inf()(x).numpy())


class FastPathOps(torch.nn.Module):
    """Only ops torch.jit.trace records as export does; the in-place relu_ changes the tensor a
    transpose was taken of before, so the fast path must not be used as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)

    def forward(self, x):
        h = self.fc(x)
        y = h.transpose(0, 1)
        h.mul_(2)
        z = torch.relu_(h)
        return (y * y).sum() + z.sum()


def test_in_place_call_after_a_transpose_in_the_fast_path_ops() -> None:
    torch.manual_seed(0)
    _compare(FastPathOps().double(), torch.randn(2, 3, dtype=torch.float64))


def test_float32_model_writes_through_a_view() -> None:
    torch.manual_seed(0)
    model = Probe(select_assign)
    x = torch.randn(2, 3)
    g = cr.from_torch(model, x)
    g.backward()
    expected = model(x)
    expected.backward()
    assert float(g.output.value) == pytest.approx(expected.item(), rel=1e-5)
    np.testing.assert_allclose(g["fc.bias"].grad, model.fc.bias.grad.numpy(), rtol=1e-5)


def _detached(h, x):
    h.detach().mul_(2)
    return h


def _expanded(h, x):
    h[0:1].expand(2, 4).mul_(3)
    return h


@pytest.mark.parametrize(
    ("body", "named"), [(_detached, "detach"), (_expanded, "expand")], ids=["detach", "expand"]
)
def test_writes_chainrule_cannot_follow_are_refused_by_name(body: Any, named: str) -> None:
    torch.manual_seed(0)
    with pytest.raises(ValueInputError, match=named):
        cr.from_torch(Probe(body).double(), torch.randn(2, 3, dtype=torch.float64))


MODEL = """
import torch

class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)

    def forward(self, x):
        h = self.fc(x)
        h[:, 0] = 0.0
        return h.sum()

def model():
    torch.manual_seed(0)
    return M(), (torch.randn(2, 3),)
"""


def test_command_line_shows_torchs_numbers(tmp_path: Path) -> None:
    (tmp_path / "views.py").write_text(MODEL)
    r = subprocess.run(
        [sys.executable, "-m", "chainrule", "eval", "--torch", "views.py:model", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "")},
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    namespace: dict[str, Any] = {}
    exec(MODEL, namespace)
    model, (x,) = namespace["model"]()
    expected = model(x)
    expected.backward()
    assert report["values"][report["output"]] == pytest.approx(expected.item(), rel=1e-6)
    got = np.asarray(report["gradients"]["fc.bias"])
    np.testing.assert_allclose(got, model.fc.bias.grad.numpy(), rtol=1e-6)
