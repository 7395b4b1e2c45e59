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

_seeded: np.random.Generator | None = None  # set by manual_seed; None: fresh entropy each time


def manual_seed(seed: int) -> np.random.Generator:
    """Fix every random draw chainrule makes (``nn.Linear``/``MLP`` initial weights, dropout
    masks) from now on, as ``torch.manual_seed`` does: a script run twice gives the same numbers.
    ``np.random.seed`` does not reach these draws (they use numpy Generators). An explicit
    ``rng=`` argument still wins. Returns the generator."""
    global _seeded
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        from ..core.errors import ValueInputError

        raise ValueInputError(f"manual_seed takes a whole number 0 or more, got {seed!r}")
    _seeded = np.random.default_rng(int(seed))
    return _seeded


def generator(rng: np.random.Generator | None = None) -> np.random.Generator:
    """The generator a random draw uses: ``rng`` when given, the one ``manual_seed`` made, or a
    fresh one from the operating system's entropy."""
    if rng is not None:
        return rng
    return _seeded if _seeded is not None else np.random.default_rng()
