"""A random stream that gives the same numbers on every machine and every Python version.

Variants must be reproducible from their seed alone, byte for byte, years later. Python's
``random`` and numpy's generators do not promise the same stream across versions, so draws come
from BLAKE2b of (seed, counter): a fixed, documented function."""

from __future__ import annotations

import hashlib


class Stream:
    """Uniform whole numbers from a seed; ``below(n)`` is exact (rejection, no modulo bias)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.counter = 0

    def _word(self) -> int:
        data = f"chainrule/1:{self.seed}:{self.counter}".encode()
        self.counter += 1
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")

    def below(self, n: int) -> int:
        """A whole number in [0, n), each equally likely."""
        if n <= 0:
            raise ValueError("below(n) needs n ≥ 1")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            w = self._word()
            if w < limit:
                return w % n


def derive_seed(class_seed: int, variant: int, attempt: int) -> int:
    """The seed of one try of one variant: a 9-digit number, so people can type it."""
    data = f"chainrule/variant:{class_seed}:{variant}:{attempt}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") % 10**9
