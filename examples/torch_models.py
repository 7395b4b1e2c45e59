"""Small PyTorch models for ``chainrule draw --torch examples/torch_models.py:NAME``.

Each factory returns ``(model, example_inputs)``: a ``torch.nn.Module`` (or a function) and the
tuple of inputs to run it on. Most end in a loss, so the drawing's gradients are those of
training. ``opaque`` uses an op chainrule does not have (cumsum), which PyTorch computes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.fc2(torch.tanh(self.fc1(x))), labels)


def mlp() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """A two-layer perceptron with a cross-entropy loss on a batch of three."""
    torch.manual_seed(0)
    return MLP(), (torch.randn(3, 4), torch.tensor([0, 2, 1]))


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(3 * 3 * 3, 4)
        self.drop = nn.Dropout(0.25)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.pool(F.relu(self.bn(self.conv(x))))
        return F.cross_entropy(self.fc(self.drop(h.flatten(1))), labels)


def cnn() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """Convolution, batch norm (running statistics: evaluation mode), max pooling, dropout."""
    torch.manual_seed(1)
    model = CNN()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.2, 0.2)
        model.bn.running_var.uniform_(0.5, 1.5)
    return model.eval(), (torch.randn(2, 1, 6, 6), torch.tensor([3, 0]))


class RNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.RNNCell(3, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, xs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(xs.shape[1], 4)
        for x in xs:  # unrolled over the sequence: the computation that ran
            h = self.cell(x, h)
        return F.mse_loss(self.out(h), target)


def rnn() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """An Elman RNN cell unrolled over three steps, with a squared-error loss."""
    torch.manual_seed(2)
    return RNN(), (torch.randn(3, 2, 3), torch.randn(2, 1))


class Block(nn.Module):
    """A transformer block: single-head self-attention and an MLP, each with a residual."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, 2 * width)
        self.down = nn.Linear(2 * width, width)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.ln1(x)).split(self.width, dim=-1)
        att = torch.softmax(q @ k.transpose(-2, -1) / self.width**0.5, dim=-1)
        x = x + self.proj(att @ v)
        return x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))


def transformer() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """One transformer block on a batch of two sequences of four tokens."""
    torch.manual_seed(3)
    return Block(), (torch.randn(2, 4, 8),)


def neuron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A micrograd-style expression of numbers (0-d tensors)."""
    c = a * b + b**3
    d = torch.tanh(c) + a.relu() * 2.0
    return (d - 1.0) ** 2


def scalar() -> tuple[object, tuple[torch.Tensor, ...]]:
    """A function of two numbers: what micrograd's README computes, written for PyTorch."""
    return neuron, (torch.tensor(2.0, dtype=torch.float64), torch.tensor(-0.5, dtype=torch.float64))


class Opaque(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(self.fc(x), dim=1).pow(2).mean()


def opaque() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """A model with an op chainrule lacks (cumsum): PyTorch computes that node."""
    torch.manual_seed(4)
    return Opaque(), (torch.randn(2, 3),)


class Residual(nn.Module):
    """x + fc2(tanh(fc1(x))): a block of four operations."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(torch.tanh(self.fc1(x)))


class Stack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(Residual(4), Residual(4), Residual(4))
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.head(self.blocks(x)), target)


def stack() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """Three residual blocks and a head: drawn with one box per block (``--no-collapse`` opens
    them). In float64, as a model whose numbers are studied rather than trained fast."""
    torch.manual_seed(5)
    x, target = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    return Stack().double(), (x, target)


ZOO = {
    "mlp": mlp,
    "cnn": cnn,
    "rnn": rnn,
    "transformer": transformer,
    "scalar": scalar,
    "opaque": opaque,
    "stack": stack,
}
