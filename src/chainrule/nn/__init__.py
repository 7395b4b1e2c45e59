"""Neural-network building blocks on chainrule's graphs: modules, layers, losses, saving."""

from __future__ import annotations

from . import functional, init
from .layers import (
    ACTIVATIONS,
    GELU,
    MLP,
    Activation,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    accuracy,
    bce_with_logits,
    cross_entropy,
    hinge_loss,
    l2_penalty,
    mse_loss,
)
from .module import Module, parameter

__all__ = [
    "ACTIVATIONS",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "LayerNorm",
    "MSELoss",
    "functional",
    "GELU",
    "MLP",
    "Activation",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "accuracy",
    "bce_with_logits",
    "cross_entropy",
    "hinge_loss",
    "init",
    "l2_penalty",
    "mse_loss",
    "parameter",
]
