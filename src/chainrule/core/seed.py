"""One seeded generator for every random draw chainrule makes (initial weights, dropout
masks): ``manual_seed`` fixes it as ``torch.manual_seed`` does. It lives in the core because
both the API (``chainrule.tensor.dropout``) and ``nn`` draw from it."""

from __future__ import annotations

import numpy as np

from .errors import ValueInputError

_seeded: np.random.Generator | None = None  # set by manual_seed; None: fresh entropy each time


def manual_seed(seed: int) -> np.random.Generator:
    """Fix every random draw chainrule makes (``nn.Linear``/``MLP`` initial weights, dropout
    masks) from now on, as ``torch.manual_seed`` does: a script run twice gives the same numbers.
    ``np.random.seed`` does not reach these draws (they use numpy Generators). An explicit
    ``rng=`` argument still wins. Returns the generator."""
    global _seeded
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueInputError(f"manual_seed takes a whole number 0 or more, got {seed!r}")
    _seeded = np.random.default_rng(int(seed))
    return _seeded


def generator(rng: np.random.Generator | None = None) -> np.random.Generator:
    """The generator a random draw uses: ``rng`` when given, the one ``manual_seed`` made, or a
    fresh one from the operating system's entropy."""
    if rng is not None:
        return rng
    return _seeded if _seeded is not None else np.random.default_rng()
