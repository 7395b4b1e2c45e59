"""Losses, each one node of the op table (numerically stable, averaged over the batch)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import tensor as T
from ..core.node import Node
from ..functions import mse
from . import functional as F
from .functional import _reduction
from .module import Module


def mse_loss(prediction: Any, target: Any) -> Node:
    """mean((ŷ − y)²) over every element."""
    return mse(prediction, target)


def cross_entropy(logits: Any, labels: Any) -> Node:
    """Softmax cross-entropy from logits: class indices, or probabilities shaped like logits."""
    return T.cross_entropy(logits, labels)


def bce_with_logits(logits: Any, target: Any) -> Node:
    """Binary cross-entropy from logits (targets in [0, 1])."""
    return T.bce_with_logits(logits, target)


def hinge_loss(scores: Any, labels: Any) -> Node:
    """Max-margin loss mean(max(0, 1 − y·s)) for labels ±1 (micrograd's demo loss)."""
    return T.hinge(scores, labels)


def l2_penalty(params: Module | Iterable[Node]) -> Node:
    """Σ p² over every element of every parameter (weight decay as a term of the loss)."""
    ps = params.parameters() if isinstance(params, Module) else list(params)
    return T.sum_squares(ps)


def accuracy(logits: Any, labels: Any) -> float:
    """The share of rows whose largest logit is the label (a number, not a node)."""
    z = np.asarray(logits.value if isinstance(logits, Node) else logits)
    y = np.asarray(labels.value if isinstance(labels, Node) else labels)
    if z.ndim == 1 or z.shape[-1] == 1:
        pred = np.sign(z.reshape(y.shape)) if np.any(y < 0) else (z.reshape(y.shape) > 0)
        return float(np.mean(pred == y))
    return float(np.mean(np.argmax(z, axis=-1) == y))


class _Loss(Module):
    """A loss as a module, as ``torch.nn``'s loss classes: ``loss_fn(prediction, target)``."""

    def __init__(self, reduction: str = "mean", name: str = "") -> None:
        super().__init__(name)
        self.reduction = _reduction(reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """``torch.nn.MSELoss``: squared error, averaged (or summed, or elementwise)."""

    def forward(self, input: Any, target: Any) -> Node:
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """``torch.nn.CrossEntropyLoss``: softmax cross-entropy from logits and class indices (or
    class probabilities)."""

    def forward(self, input: Any, target: Any) -> Node:
        return F.cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``torch.nn.BCEWithLogitsLoss``: binary cross-entropy computed from logits."""

    def forward(self, input: Any, target: Any) -> Node:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)
