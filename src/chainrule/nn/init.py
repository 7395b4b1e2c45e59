"""Initial values for weights: the scale that keeps activations from growing or vanishing."""

from __future__ import annotations

from typing import Any

import numpy as np


def uniform(
    shape: tuple[int, ...], bound: float, rng: np.random.Generator, dtype: Any = np.float64
) -> np.ndarray:
    """U(−bound, bound)."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def lecun_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float64
) -> np.ndarray:
    """U(±1/√fan_in): the default of ``Linear`` (as in PyTorch's ``nn.Linear``)."""
    return uniform(shape, 1.0 / np.sqrt(max(shape[0], 1)), rng, dtype)


def he_normal(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float64
) -> np.ndarray:
    """N(0, 2/fan_in): keeps the variance of relu layers steady."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / max(shape[0], 1))).astype(dtype)


def xavier_uniform(
    shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float64
) -> np.ndarray:
    """U(±√(6/(fan_in + fan_out))): for tanh and sigmoid layers."""
    fan_out = shape[1] if len(shape) > 1 else 1
    return uniform(shape, float(np.sqrt(6.0 / (shape[0] + fan_out))), rng, dtype)


INITS = {"lecun": lecun_uniform, "he": he_normal, "xavier": xavier_uniform}

# the seeded generator lives in the core, below the API that draws dropout masks with it
from ..core.seed import generator, manual_seed  # noqa: E402

__all__ = ["INITS", "generator", "manual_seed"]
