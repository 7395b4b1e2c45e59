"""PyTorch's in-place idioms convert (ReLU(inplace=True), a residual h += x, x.mul_(2), ...):
every value and every parameter's gradient equals PyTorch's; and a model that cannot be traced
is one paragraph, without PyTorch's own log and graph dump before it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import chainrule as cr  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = nn.Linear(3, 3)
        self.l2 = nn.Linear(3, 3)

    def forward(self, x):
        h = self.l1(x)
        h += x  # the residual, in place
        h = torch.relu_(h)
        out = self.l2(h)
        out.mul_(2).add_(x, alpha=0.5)
        return (out * out).sum()


class InplaceChain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
        self.act = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x):
        y = self.net(x)
        y.sub_(1.0).div_(3.0)
        return self.act(y).pow(2).mean()


@pytest.mark.parametrize("model_cls", [Residual, InplaceChain])
def test_in_place_models_convert_with_pytorchs_numbers(model_cls) -> None:
    torch.manual_seed(3)
    model = model_cls().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    g = cr.from_torch(model, x)
    g.backward()
    expected = model(x.clone())
    expected.backward()
    assert float(g.output.value) == pytest.approx(expected.item(), rel=1e-12)
    for name, p in model.named_parameters():
        node = g.find(name)
        assert node is not None, name
        np.testing.assert_allclose(node.grad, p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


MODELS = """
import torch, torch.nn as nn

def sequential():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    return model, (torch.randn(5, 3),)

class Res(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(3, 3)
    def forward(self, x):
        h = self.l(x)
        h += x
        return h.sum()

def residual():
    torch.manual_seed(0)
    return Res(), (torch.randn(5, 3, requires_grad=True),)

class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x

def branchy():
    return Branchy(), (torch.randn(5, 3),)

def batch_norm_without_momentum():
    return nn.BatchNorm2d(3, momentum=None), (torch.randn(2, 3, 4, 4),)
"""


def _cli(tmp_path: Path, factory: str) -> subprocess.CompletedProcess:
    (tmp_path / "models.py").write_text(MODELS)
    return subprocess.run(
        [sys.executable, "-m", "chainrule", "eval", "--torch", f"models.py:{factory}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "")},
        timeout=300,
    )


@pytest.mark.parametrize("factory", ["sequential", "residual"])
def test_in_place_models_through_the_command_line(tmp_path: Path, factory: str) -> None:
    r = _cli(tmp_path, factory)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


def test_untraceable_model_is_one_paragraph_without_pytorchs_log(tmp_path: Path) -> None:
    r = _cli(tmp_path, "branchy")
    assert r.returncode == 2
    assert r.stderr.startswith("chainrule: error: PyTorch could not trace the model"), r.stderr
    assert "def forward" not in r.stderr and "symbolic_shapes" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # what it means, where, and what to do; not PyTorch's symbols (Eq(u0, 1))
    assert "value of a tensor at models.py line" in r.stderr and "if x.sum() > 0:" in r.stderr
    assert "data-dependent control flow" in r.stderr and "torch.where" in r.stderr
    assert "u0" not in r.stderr


def test_batch_norm_without_momentum_in_training_names_its_count_of_batches(
    tmp_path: Path,
) -> None:
    r = _cli(tmp_path, "batch_norm_without_momentum")
    assert r.returncode == 2
    assert "data-dependent control flow" in r.stderr and "num_batches_tracked" in r.stderr
    assert "momentum" in r.stderr and "u0" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
